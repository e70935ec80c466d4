/*
 * reader.c: the SQLite store behind struct census_reader (reader.h): each entry passes its
 * arguments on to the store's own reader functions, which keep all the SQL.
 */
#include "reader.h"
#include "store.h"

static int sq_flush(void *self)
{
	return store_flush(self);
}

static int sq_pairs(void *self, const struct filter *f, store_pair_fn fn, void *ctx,
                    int *from_connections)
{
	return store_read_pairs(self, f, fn, ctx, from_connections);
}

static int sq_totals(void *self, const struct store_scope *sc, struct store_totals *out)
{
	return store_report_totals(self, sc, out);
}

static int sq_versions(void *self, const struct store_scope *sc, struct store_count **out,
                       size_t *n)
{
	return store_report_versions(self, sc, out, n);
}

static int sq_ciphers(void *self, const struct store_scope *sc, struct store_count **out, size_t *n)
{
	return store_report_ciphers(self, sc, out, n);
}

static int sq_trend(void *self, const struct store_scope *sc, double start, double span,
                    struct store_trend_count **out, size_t *n)
{
	return store_report_trend(self, sc, start, span, out, n);
}

static int sq_group_trend(void *self, const struct store_scope *sc, double start, double span,
                          struct store_trend_count **out, size_t *n)
{
	return store_report_group_trend(self, sc, start, span, out, n);
}

static int sq_clients(void *self, const struct store_scope *sc, const char *const *clients,
                      size_t n, uint64_t *out)
{
	return store_report_client_connections(self, sc, clients, n, out);
}

static int sq_coverage(void *self, double since, double until, double now,
                       struct store_coverage *out)
{
	return store_report_coverage(self, since, until, now, out);
}

static int sq_previous(void *self, const char *policy, const char *scope,
                       struct store_report_prev *out)
{
	return store_report_previous(self, policy, scope, out);
}

static int sq_save(void *self, const struct store_report_row *row, char *err, size_t errlen)
{
	return store_report_save(self, row, err, errlen);
}

static const struct census_reader_ops sqlite_ops = {
    .flush = sq_flush,
    .pairs = sq_pairs,
    .totals = sq_totals,
    .versions = sq_versions,
    .ciphers = sq_ciphers,
    .trend = sq_trend,
    .group_trend = sq_group_trend,
    .client_connections = sq_clients,
    .coverage = sq_coverage,
    .previous = sq_previous,
    .save = sq_save,
};

struct census_reader store_reader(struct store *s)
{
	return (struct census_reader){&sqlite_ops, s, store_path(s)};
}
