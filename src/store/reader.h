/*
 * reader.h: a census store as the legacy and report commands ask it: the pairs for the judge
 * (read.h) and the report's figures (report_read.h), behind one table of functions. SQLite
 * (store_reader, below) and ClickHouse (src/fleet/ch_read.c) each fill one in, so the judge and
 * the printers run the same code whichever store holds the records.
 */
#ifndef TLSCENSUS_STORE_READER_H
#define TLSCENSUS_STORE_READER_H

#include "read.h"
#include "report_read.h"

struct census_reader_ops {
	/* Records this process still holds commit first (a no-op where nothing is queued). */
	int (*flush)(void *self);
	int (*pairs)(void *self, const struct filter *f, store_pair_fn fn, void *ctx,
	             int *from_connections);
	int (*totals)(void *self, const struct store_scope *sc, struct store_totals *out);
	int (*versions)(void *self, const struct store_scope *sc, struct store_count **out,
	                size_t *n);
	int (*ciphers)(void *self, const struct store_scope *sc, struct store_count **out,
	               size_t *n);
	int (*trend)(void *self, const struct store_scope *sc, double start, double span_seconds,
	             struct store_trend_count **out, size_t *n);
	int (*group_trend)(void *self, const struct store_scope *sc, double start,
	                   double span_seconds, struct store_trend_count **out, size_t *n);
	int (*client_connections)(void *self, const struct store_scope *sc,
	                          const char *const *clients, size_t n, uint64_t *out);
	int (*coverage)(void *self, double since, double until, double now,
	                struct store_coverage *out);
	int (*previous)(void *self, const char *policy, const char *scope,
	                struct store_report_prev *out);
	int (*save)(void *self, const struct store_report_row *row, char *err, size_t errlen);
};

/* Each function has the contract of its store_read_pairs / store_report_* namesake. */
struct census_reader {
	const struct census_reader_ops *ops;
	void *self;
	const char *name; /* the database file or the server, for messages */
};

/* The SQLite store as a reader; valid while s is open. */
struct census_reader store_reader(struct store *s);

#endif
