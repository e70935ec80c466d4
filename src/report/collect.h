/*
 * collect.h: a store's pairs through the judge: the one place where the two meet. The report
 * command and the legacy command ask here; neither the store nor the judge knows the other.
 */
#ifndef TLSCENSUS_COLLECT_H
#define TLSCENSUS_COLLECT_H

#include "legacy.h"
#include "reader.h"

/* Reads the pairs within q's scope from r (SQLite or ClickHouse) and judges them under q into
 * out (cleared first).
 * 0, or -1 after a message on stderr naming the database or the data file; out is then
 * empty. */
int legacy_collect(const struct census_reader *r, const struct legacy_query *q,
                   struct legacy_result *out);

#endif
