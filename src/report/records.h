/*
 * records.h: connection records as NDJSON lines with the judge's word on each, for the export
 * command and the log stream (logstream.h). The store gives each record's keys (store/read.h);
 * this room adds the names and the verdict of one policy through the same judge as `legacy`
 * (legacy_judge_one), and the Community ID, so both outputs carry the same keys.
 */
#ifndef TLSCENSUS_RECORDS_H
#define TLSCENSUS_RECORDS_H

#include <stdio.h>

#include "legacy.h"
#include "read.h"

struct record_judge;

/* The judge of q (its policy, catalog and hints; q must outlive it); NULL after a message on
 * stderr naming the file. */
struct record_judge *record_judge_new(const struct legacy_query *q);
void record_judge_free(struct record_judge *rj);

/* Writes row to out as one line: the store's keys, then community_id, cipher_name, policy,
 * verdict ("legacy", "ok", or "unknown" when the hellos could not be judged), reason,
 * attribution, service, deadline and software. 0, or -1 when out of memory. */
int record_write(struct record_judge *rj, const struct store_export_row *row, FILE *out);

#endif
