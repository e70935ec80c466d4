/*
 * sink.h: where finished connection records go. The capture room hands records to a sink and
 * never learns what is behind it (the SQLite writer thread today; another store later), so the
 * packet path has no database include in sight. main wires a store's sink into the census.
 */
#ifndef TLSCENSUS_SINK_H
#define TLSCENSUS_SINK_H

#include <stdint.h>

#include "tlscensus/record.h"

struct tc_sink_ops {
	/* Queues a record; token names the connection for a later touch. The sink takes the
	 * hellos (hs->ch, hs->sh are set to NULL); everything else in r is copied. 0, or -1 when
	 * the record was dropped (a live capture's full queue: counted by the sink). */
	int (*put)(void *ctx, uint64_t token, const struct tc_record *r, struct tc_handshake *hs);
	/* The connection saw packets after it was recorded; changed = 0 only forgets the token.
	 * Only r's first TC_RECORD_TOUCHED bytes are set (last_ts, the counters, stream_trunc). */
	int (*touch)(void *ctx, uint64_t token, const struct tc_record *r, int changed);
	/* Run counters to keep now (a live capture refreshes them every minute). */
	int (*run_stats)(void *ctx, const struct run_stats *st);
	/* Removes connection rows last seen before this time (unix seconds). */
	int (*prune)(void *ctx, double before_unix);
	/* Blocks until every record handed over so far is durable. */
	void (*sync)(void *ctx);
	/* Records lost: the sink could not keep up (a full queue), or could not write them (a
	 * failed commit, rolled back). */
	uint64_t (*dropped)(void *ctx);
};

struct tc_sink {
	const struct tc_sink_ops *ops;
	void *ctx;
};

#endif
