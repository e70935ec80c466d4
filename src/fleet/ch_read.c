/*
 * ch_read.c: the ClickHouse census reader. Each question is one query grouped by the columns
 * the answer needs; rows come back as TabSeparated and go through the code SQLite's rows go
 * through: pair_from_row for the judge's pairs, filter_match and the report's scope test for
 * the filters (addresses and SNI globs are matched here, in C, as SQLite's readers match them).
 * Every count reads connections FINAL: a record shipped twice counts once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch_read.h"
#include "ch_schema.h"
#include "pair_row.h"
#include "ship.h"
#include "store.h"
#include "text.h"
#include "util.h"

struct ch_reader {
	struct ch *ch;
	char *sensors;      /* " AND sensor IN ('a', 'b')", or "" for the whole fleet */
	char *sensors_text; /* "a,b" or "": part of a remembered report's key */
	char name[1200];
};

/* ---------------------------------------------------------------- queries */

static int oom(struct ch_reader *r)
{
	fprintf(stderr, "tlscensus: ClickHouse at %s: out of memory for the answer\n",
	        ch_url(r->ch));
	return -1;
}

/* Runs sql (FORMAT TabSeparated appended) into out; -1 after a message. */
static int fetch(struct ch_reader *r, struct sbuf *sql, struct sbuf *out)
{
	char err[1024];

	ch_sqlf(sql, " FORMAT TabSeparated");
	if (sql->failed)
		return oom(r);
	if (ch_query(r->ch, sql->p, NULL, 0, out, err, sizeof err)) {
		fprintf(stderr, "tlscensus: %s\n", err);
		return -1;
	}
	return 0;
}

/* Calls row for each row of sql's answer (fields unescaped; NULL for \N); row's nonzero
 * return stops (and is returned). */
static int each_row(struct ch_reader *r, struct sbuf *sql,
                    int (*row)(void *ctx, char **f, size_t n), void *ctx)
{
	struct sbuf out = {0};
	char *f[64];
	size_t n;
	int rc = fetch(r, sql, &out);

	for (struct ch_rows rows = {out.p, out.p + out.len};
	     rc == 0 && (n = ch_rows_next(&rows, f, COUNT_OF(f))) > 0;)
		rc = row(ctx, f, n);
	sb_free(&out);
	sb_free(sql);
	return rc;
}

static int64_t num(const char *t)
{
	return t ? strtoll(t, NULL, 10) : 0;
}

static double real(const char *t)
{
	return t ? strtod(t, NULL) : 0;
}

/* A TabSeparated row's cells for pair_from_row. */
struct tsv_row {
	char **f;
	size_t n;
};

static const char *tsv_text(void *row, int col)
{
	struct tsv_row *t = row;

	return (size_t)col < t->n ? t->f[col] : NULL;
}

static int64_t tsv_integer(void *row, int col)
{
	return num(tsv_text(row, col));
}

static double tsv_real(void *row, int col)
{
	return real(tsv_text(row, col));
}

static const struct pair_cells tsv_cells = {tsv_text, tsv_integer, tsv_real};

/* " AND col >= since AND col <= until", the ends that are set. */
static void window(struct sbuf *b, const char *col, double since, double until)
{
	if (since > 0)
		ch_sqlf(b, " AND %s >= %.17g", col, since);
	if (until > 0)
		ch_sqlf(b, " AND %s <= %.17g", col, until);
}

/* count() and min(col) of a query's single row: 1 and *min when there were rows. */
struct min_row {
	double min;
	int have;
};

static int min_row(void *ctx, char **f, size_t n)
{
	struct min_row *m = ctx;

	if (n >= 2 && num(f[0]) > 0) {
		m->have = 1;
		m->min = real(f[1]);
	}
	return 0;
}

static int oldest_connection(struct ch_reader *r, struct min_row *m)
{
	struct sbuf sql = {0};

	memset(m, 0, sizeof *m);
	ch_sqlf(&sql, "SELECT count(), min(first_ts) FROM ");
	ch_conn_rows(&sql, r->ch, r->sensors, NULL);
	return each_row(r, &sql, min_row, m);
}

static int oldest_inventory(struct ch_reader *r, struct min_row *m)
{
	struct sbuf sql = {0};

	memset(m, 0, sizeof *m);
	ch_sqlf(&sql, "SELECT count(), min(first_seen) FROM (");
	ch_inventory_rows(&sql, r->ch, r->sensors);
	ch_sqlf(&sql, ")");
	return each_row(r, &sql, min_row, m);
}

/* ---------------------------------------------------------------- pairs */

struct pair_ctx {
	const struct filter *f;
	store_pair_fn fn;
	void *ctx;
	int stopped, bad;
};

static int pair_row(void *ctx, char **f, size_t n)
{
	struct pair_ctx *pc = ctx;
	struct tsv_row row = {f, n};
	struct pair_lists lists;
	struct tc_pair p;

	if (n != pair_column_count || pair_from_row(&p, &tsv_cells, &row, &lists)) {
		pc->bad = 1;
		return 1;
	}
	if (filter_match(pc->f, p.client_ip, p.server_ip, p.sni) && pc->fn(pc->ctx, &p)) {
		pc->stopped = 1;
		return 1;
	}
	return 0;
}

static int midstream_row(void *ctx, char **f, size_t n)
{
	struct pair_ctx *pc = ctx;
	struct tc_pair p = {
	    .client_ip = n > 0 ? f[0] : NULL,
	    .server_ip = n > 1 ? f[1] : NULL,
	    .version = -1,
	    .cipher = -1,
	    .ch_max_version = -1,
	    .alert_desc = -1,
	    .server_group = -1,
	    .parse_status = TC_CONN_MIDSTREAM,
	    .connections = n > 2 ? (uint64_t)num(f[2]) : 0,
	};

	if (n != 3 || !p.client_ip || !p.server_ip) {
		pc->bad = 1;
		return 1;
	}
	/* No hello, so no SNI: a --sni filter excludes these. */
	if (filter_match(pc->f, p.client_ip, p.server_ip, NULL) && pc->fn(pc->ctx, &p)) {
		pc->stopped = 1;
		return 1;
	}
	return 0;
}

/* As store_read_pairs decides (read_pairs.c): the connection rows answer for a window when
 * nothing older was pruned or dropped, or when the window starts after the oldest row. */
static int use_connections(struct ch_reader *r, const struct filter *f, int *out)
{
	struct min_row conn, inv;

	*out = 0;
	if (f->since <= 0 && f->until <= 0)
		return 0;
	if (oldest_connection(r, &conn) || oldest_inventory(r, &inv))
		return -1;
	if (!(inv.have && (!conn.have || inv.min < conn.min)))
		*out = 1;
	else
		*out = conn.have && f->since > 0 && f->since >= conn.min;
	return 0;
}

static int chr_pairs(void *self, const struct filter *f, store_pair_fn fn, void *ctx,
                     int *from_connections)
{
	struct ch_reader *r = self;
	struct pair_ctx pc = {f, fn, ctx, 0, 0};
	struct sbuf sql = {0}, where = {0};
	char keys[PAIR_KEY_NAMES_MAX], kx[PAIR_KEY_NAMES_MAX], kx_order[2 * PAIR_KEY_NAMES_MAX];
	int rc;

	if (use_connections(r, f, from_connections))
		return -1;
	pair_key_names(keys);
	pair_kx_names(kx);
	kx_order[0] = '\0';
	for (size_t i = 0, n = 0; i < pair_kx_count && n < sizeof kx_order; i++)
		n += (size_t)snprintf(kx_order + n, sizeof kx_order - n, "%s%s NULLS FIRST",
		                      i ? ", " : "",
		                      pair_columns[pair_key_count + PAIR_COUNTS + i].name);
	ch_sqlf(&where, "1");
	window(&where, "first_ts", f->since, f->until);
	if (f->port)
		ch_sqlf(&where, " AND server_port = %d", f->port);
	if (where.failed)
		return oom(r);
	/* SQLite's GROUP BY order, NULLs first, so the judge meets the pairs in the same order */
	if (*from_connections) {
		ch_sqlf(&sql, "SELECT %s, toInt64(count()), min(first_ts), max(first_ts), %s FROM ",
		        keys, kx);
		ch_key_rows(&sql, r->ch, r->sensors, where.p);
		ch_sqlf(&sql, " GROUP BY %s, %s ORDER BY %s, %s", keys, kx, keys, kx);
	} else {
		ch_sqlf(&sql,
		        "SELECT %s, sum(connections) AS n_, min(first_seen) AS fs_, "
		        "max(last_seen) AS ls_, %s FROM (",
		        keys, kx);
		ch_inventory_rows(&sql, r->ch, r->sensors);
		ch_sqlf(&sql, ") GROUP BY %s, %s HAVING 1", keys, kx);
		window(&sql, "ls_", f->since, 0);
		window(&sql, "fs_", 0, f->until);
		if (f->port)
			ch_sqlf(&sql, " AND server_port = %d", f->port);
		ch_sqlf(&sql, " ORDER BY %s, %s", keys, kx_order);
	}
	rc = each_row(r, &sql, pair_row, &pc);
	if (rc == 0 || (pc.stopped && !pc.bad)) {
		rc = 0;
		if (!pc.stopped) {
			ch_sqlf(&where, " AND ch_version IS NULL AND sh_version IS NULL");
			ch_sqlf(&sql, "SELECT client_ip, server_ip, toInt64(count()) FROM ");
			ch_conn_rows(&sql, r->ch, r->sensors, where.p);
			ch_sqlf(&sql,
			        " GROUP BY client_ip, server_ip ORDER BY client_ip, server_ip");
			rc = each_row(r, &sql, midstream_row, &pc);
			if (pc.stopped && !pc.bad)
				rc = 0;
		}
	}
	sb_free(&where);
	if (pc.bad) {
		fprintf(stderr,
		        "tlscensus: ClickHouse at %s: an answer row is not what was asked for (is "
		        "the database '%s' a tlscensus one?)\n",
		        ch_url(r->ch), ch_database(r->ch));
		return -1;
	}
	return rc < 0 ? -1 : pc.stopped;
}

/* ---------------------------------------------------------------- the report's figures */

/* The report's filters, as report_read.c's tc_report_scope applies them. */
static int in_scope(const struct store_scope *sc, char **f)
{
	const char *client = f[0], *server = f[1], *sni = f[3]; /* S_CLIENT, S_SERVER, S_SNI */
	int ok = 1;

	if (sc->client && sc->client->set)
		ok = client && cidr_match(sc->client, client);
	if (ok && sc->server && sc->server->set)
		ok = server && cidr_match(sc->server, server);
	if (ok && sc->port)
		ok = num(f[2]) == sc->port; /* S_PORT */
	if (ok && sc->sni_glob)
		ok = filter_glob_match(sc->sni_glob, sni);
	return ok;
}

/* The columns every scoped row starts with: what the filters test. */
enum { S_CLIENT, S_SERVER, S_PORT, S_SNI, S_FIRST_EXTRA };

struct scoped_ctx {
	const struct store_scope *sc;
	int (*row)(void *ctx, char **f); /* the whole row; its own columns from S_FIRST_EXTRA */
	void *ctx;
	size_t want;
};

static int scoped_row(void *ctx, char **f, size_t n)
{
	struct scoped_ctx *s = ctx;

	if (n != s->want)
		return 1;
	return in_scope(s->sc, f) && s->row(s->ctx, f) ? 1 : 0;
}

/*
 * The connections in the scope's window, grouped by client, server, port and SNI (what the
 * filters test) and by `extra` (NULL: nothing more; group: how GROUP BY names it), with `aggs`;
 * rows outside the filters are skipped; row gets each row, extra and aggregate columns from
 * S_FIRST_EXTRA on.
 */
static int scoped(struct ch_reader *r, const struct store_scope *sc, const char *extra,
                  const char *group, size_t nextra, const char *aggs, size_t naggs,
                  const char *cond, int (*row)(void *ctx, char **f), void *ctx)
{
	struct scoped_ctx s = {sc, row, ctx, S_FIRST_EXTRA + nextra + naggs};
	struct sbuf sql = {0}, where = {0};
	int rc;

	/* both ends as the report binds them: 0 is a bound too */
	ch_sqlf(&where, "first_ts >= %.17g AND first_ts <= %.17g%s%s", sc->since, sc->until,
	        cond ? " AND " : "", cond ? cond : "");
	if (where.failed)
		return oom(r);
	ch_sqlf(&sql, "SELECT client_ip, server_ip, server_port, sni, %s%s%s FROM ",
	        extra ? extra : "", extra ? ", " : "", aggs);
	ch_conn_rows(&sql, r->ch, r->sensors, where.p);
	ch_sqlf(&sql, " GROUP BY client_ip, server_ip, server_port, sni%s%s", group ? ", " : "",
	        group ? group : "");
	rc = each_row(r, &sql, scoped_row, &s);
	sb_free(&where);
	if (rc < 0)
		return -1;
	return rc ? oom(r) : 0;
}

/* A set of strings, counted at the end. */
struct strset {
	char **v;
	size_t n, cap;
};

static int strset_add(struct strset *s, const char *t)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof *v);

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	return (s->v[s->n++] = strdup(t ? t : "")) ? 0 : -1;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t strset_distinct(struct strset *s)
{
	uint64_t n = 0;

	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, str_cmp);
	for (size_t i = 0; i < s->n; i++)
		n += !i || strcmp(s->v[i - 1], s->v[i]);
	return n;
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

struct totals_ctx {
	struct store_totals *t;
	struct strset clients, servers;
	int have;
};

/* after the scope's columns: count, min(first_ts), max(first_ts), TCP, DTLS, QUIC */
static int totals_row(void *ctx, char **f)
{
	struct totals_ctx *c = ctx;
	char **a = f + S_FIRST_EXTRA;
	double first = real(a[1]), last = real(a[2]);

	c->t->connections += (uint64_t)num(a[0]);
	c->t->tcp += (uint64_t)num(a[3]);
	c->t->dtls += (uint64_t)num(a[4]);
	c->t->quic += (uint64_t)num(a[5]);
	if (!c->have || first < c->t->first)
		c->t->first = first;
	if (!c->have || last > c->t->last)
		c->t->last = last;
	c->have = 1;
	return strset_add(&c->clients, f[S_CLIENT]) || strset_add(&c->servers, f[S_SERVER]);
}

static int chr_totals(void *self, const struct store_scope *sc, struct store_totals *out)
{
	struct totals_ctx c = {.t = out};
	int rc;

	memset(out, 0, sizeof *out);
	/* by transport as report_read.c counts them */
	rc = scoped(self, sc, NULL, NULL, 0,
	            "toInt64(count()), min(first_ts), max(first_ts), "
	            "toInt64(sum(ifNull(transport = 'tcp', 0))), "
	            "toInt64(sum(ifNull(transport = 'udp' AND quic_version IS NULL, 0))), "
	            "toInt64(sum(quic_version IS NOT NULL))",
	            6, NULL, totals_row, &c);
	out->clients = strset_distinct(&c.clients);
	out->servers = strset_distinct(&c.servers);
	strset_free(&c.clients);
	strset_free(&c.servers);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

/* Counts per value (versions, suites), summed over the groups. */
struct counts {
	struct store_count *v;
	size_t n;
};

static int count_add(struct counts *c, int64_t value, uint64_t n)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].value == value) {
			c->v[i].n += n;
			return 0;
		}
	struct store_count *v = realloc(c->v, (c->n + 1) * sizeof *v);
	if (!v)
		return -1;
	c->v = v;
	v[c->n++] = (struct store_count){value, 0, n};
	return 0;
}

/* after the scope's columns: the value (NULL: -1), count */
static int count_row(void *ctx, char **f)
{
	char **a = f + S_FIRST_EXTRA;

	return count_add(ctx, a[0] ? num(a[0]) : -1, (uint64_t)num(a[1]));
}

/* report_read.c's order: newest known version first (rank), unknown ones by value, no
 * ServerHello last. */
static int version_cmp(const void *a, const void *b)
{
	const struct store_count *x = a, *y = b;
	int xr = 0, yr = 0, xl, yl;
	int xk = x->value >= 0 && store_version_info(x->value, &xr, &xl);
	int yk = y->value >= 0 && store_version_info(y->value, &yr, &yl);

	if ((x->value < 0) != (y->value < 0))
		return x->value < 0 ? 1 : -1;
	if (xk != yk)
		return xk ? -1 : 1;
	if (xk && xr != yr)
		return xr > yr ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

static int chr_versions(void *self, const struct store_scope *sc, struct store_count **out,
                        size_t *n)
{
	struct counts c = {0};
	int rc =
	    scoped(self, sc, "version", "version", 1, "toInt64(count())", 1, NULL, count_row, &c);

	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		int rank, legacy = 0;

		if (c.v[i].value >= 0 && store_version_info(c.v[i].value, &rank, &legacy))
			c.v[i].legacy = legacy;
	}
	if (rc == 0 && c.n > 1)
		qsort(c.v, c.n, sizeof *c.v, version_cmp);
	if (rc) {
		free(c.v);
		c = (struct counts){0};
	}
	*out = c.v;
	*n = c.n;
	return rc;
}

static int cipher_cmp(const void *a, const void *b)
{
	const struct store_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

static int chr_ciphers(void *self, const struct store_scope *sc, struct store_count **out,
                       size_t *n)
{
	struct counts c = {0};
	int rc = scoped(self, sc, "cipher", "cipher", 1, "toInt64(count())", 1,
	                "cipher IS NOT NULL", count_row, &c);

	if (rc == 0 && c.n > 1)
		qsort(c.v, c.n, sizeof *c.v, cipher_cmp);
	if (rc) {
		free(c.v);
		c = (struct counts){0};
	}
	*out = c.v;
	*n = c.n;
	return rc;
}

struct trend {
	struct store_trend_count *v;
	size_t n;
};

/* after the scope's columns: span, version (NULL: -1), count */
static int trend_row(void *ctx, char **f)
{
	struct trend *t = ctx;
	char **a = f + S_FIRST_EXTRA;
	int64_t span = num(a[0]), version = a[1] ? num(a[1]) : -1;
	uint64_t k = (uint64_t)num(a[2]);

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].span == span && t->v[i].version == version) {
			t->v[i].n += k;
			return 0;
		}
	struct store_trend_count *v = realloc(t->v, (t->n + 1) * sizeof *v);
	if (!v)
		return -1;
	t->v = v;
	v[t->n++] = (struct store_trend_count){span, version, k};
	return 0;
}

/* Connections per span and `by` (version, or the server's key_share group). */
static int trend_by(void *self, const struct store_scope *sc, const char *by, double start,
                    double span_seconds, struct store_trend_count **out, size_t *n)
{
	struct trend t = {0};
	char extra[192], group[64];
	int rc;

	/* CAST(... AS INTEGER) in SQLite and toInt64 here both round toward zero */
	snprintf(extra, sizeof extra, "toInt64((first_ts - %.17g) / %.17g) AS b_, %s", start,
	         span_seconds, by);
	snprintf(group, sizeof group, "b_, %s", by);
	rc = scoped(self, sc, extra, group, 2, "toInt64(count())", 1, NULL, trend_row, &t);
	if (rc) {
		free(t.v);
		t = (struct trend){0};
	}
	*out = t.v;
	*n = t.n;
	return rc;
}

static int chr_trend(void *self, const struct store_scope *sc, double start, double span_seconds,
                     struct store_trend_count **out, size_t *n)
{
	return trend_by(self, sc, "version", start, span_seconds, out, n);
}

static int chr_group_trend(void *self, const struct store_scope *sc, double start,
                           double span_seconds, struct store_trend_count **out, size_t *n)
{
	return trend_by(self, sc, "sh_group", start, span_seconds, out, n);
}

struct clients_ctx {
	const char *const *clients;
	size_t n;
	uint64_t *out;
};

/* after the scope's columns: count */
static int clients_row(void *ctx, char **f)
{
	struct clients_ctx *c = ctx;

	for (size_t i = 0; i < c->n; i++)
		if (f[S_CLIENT] && !strcmp(f[S_CLIENT], c->clients[i]))
			c->out[i] += (uint64_t)num(f[S_FIRST_EXTRA]);
	return 0;
}

static int chr_clients(void *self, const struct store_scope *sc, const char *const *clients,
                       size_t n, uint64_t *out)
{
	struct clients_ctx c = {clients, n, out};

	memset(out, 0, n * sizeof *out);
	if (!n)
		return 0;
	return scoped(self, sc, NULL, NULL, 0, "toInt64(count())", 1, NULL, clients_row, &c);
}

static int coverage_row(void *ctx, char **f, size_t n)
{
	struct store_coverage *c = ctx;
	uint64_t *v[] = {&c->runs,         &c->unfinished,  &c->packets,      &c->undecodable,
	                 &c->kernel_drops, &c->queue_drops, &c->flows_evicted};

	if (n != COUNT_OF(v))
		return 1;
	for (size_t i = 0; i < COUNT_OF(v); i++)
		*v[i] = (uint64_t)num(f[i]);
	return 0;
}

static int chr_coverage(void *self, double since, double until, double now,
                        struct store_coverage *out)
{
	struct ch_reader *r = self;
	struct sbuf sql = {0}, in_window = {0};
	struct min_row conn, inv;
	int rc;

	memset(out, 0, sizeof *out);
	ch_sqlf(&in_window, "first_ts >= %.17g AND first_ts <= %.17g", since, until);
	ch_sqlf(&sql, "SELECT count(), sum(isNull(ended)), sum(ifNull(packets, 0)), "
	              "sum(ifNull(undecodable, 0)), sum(ifNull(kernel_drops, 0)), "
	              "sum(ifNull(queue_drops, 0)), sum(ifNull(flows_evicted, 0)) FROM ");
	ch_table(&sql, r->ch, "runs");
	ch_sqlf(&sql,
	        " FINAL WHERE 1%s AND ((sensor, id) IN (SELECT sensor, ifNull(run_id, -1) "
	        "FROM ",
	        r->sensors);
	ch_conn_rows(&sql, r->ch, r->sensors, in_window.p ? in_window.p : "0");
	ch_sqlf(&sql,
	        ") OR (command = 'capture' AND started < %.17g AND ifNull(ended, %.17g) >= "
	        "%.17g))",
	        until, now, since);
	sb_free(&in_window);
	rc = each_row(r, &sql, coverage_row, out);
	if (rc > 0)
		rc = oom(r);
	if (rc == 0)
		rc = oldest_connection(r, &conn) || oldest_inventory(r, &inv) ? -1 : 0;
	if (rc == 0) {
		out->oldest_row = conn.have ? conn.min : 0;
		out->oldest_inventory = inv.have ? inv.min : 0;
	}
	return rc;
}

/* ---------------------------------------------------------------- the reports table */

/* The JSON array of strings a report row keeps (written by clients_json below). */
static int parse_clients(const char *json, struct store_report_prev *out)
{
	const char *p = json ? strchr(json, '[') : NULL;

	while (p && *p && *p != ']') {
		struct sbuf s = {0};
		char **v;

		p = strchr(p, '"');
		if (!p)
			break;
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			sb_putc(&s, *p);
		}
		if (*p == '"')
			p++;
		v = realloc(out->clients, (out->nclients + 1) * sizeof *v);
		if (!v || s.failed) {
			free(s.p);
			return -1;
		}
		out->clients = v;
		v[out->nclients] = s.p ? s.p : strdup("");
		if (!v[out->nclients])
			return -1;
		out->nclients++;
	}
	return 0;
}

static int previous_row(void *ctx, char **f, size_t n)
{
	struct store_report_prev *p = ctx;

	if (n != 5)
		return 2;
	p->generated = real(f[0]);
	p->since = real(f[1]);
	p->until = real(f[2]);
	p->path = f[3] ? strdup(f[3]) : NULL;
	if ((f[3] && !p->path) || parse_clients(f[4], p))
		return 2;
	return 1; /* found: one row is enough */
}

static int chr_previous(void *self, const char *policy, const char *scope,
                        struct store_report_prev *out)
{
	struct ch_reader *r = self;
	struct sbuf sql = {0};
	int rc;

	memset(out, 0, sizeof *out);
	ch_sqlf(&sql, "SELECT generated_at, since, until, path, legacy_clients FROM ");
	ch_table(&sql, r->ch, "reports");
	ch_sqlf(&sql, " WHERE policy = ");
	ch_quote(&sql, policy);
	ch_sqlf(&sql, " AND scope = ");
	ch_quote(&sql, scope);
	ch_sqlf(&sql, " AND sensors = ");
	ch_quote(&sql, r->sensors_text);
	ch_sqlf(&sql, " ORDER BY generated_at DESC, seq DESC LIMIT 1");
	rc = each_row(r, &sql, previous_row, out);
	if (rc < 0 || rc > 1) {
		store_report_prev_free(out);
		return rc < 0 ? -1 : oom(r);
	}
	return rc; /* 1: found, 0: none */
}

static void clients_json(struct sbuf *b, const char *const *clients, size_t n)
{
	sb_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		char *clean = text_inert(clients[i], strlen(clients[i]), 0);

		sb_put(b, i ? ",\"" : "\"", i ? 2 : 1);
		for (const char *p = clean ? clean : ""; *p; p++) {
			if (*p == '"' || *p == '\\')
				sb_putc(b, '\\');
			sb_putc(b, *p);
		}
		sb_putc(b, '"');
		free(clean);
	}
	sb_putc(b, ']');
}

static void tsv_text_cell(struct sbuf *b, const char *t, int last)
{
	ch_tsv_put(b, t, t ? strlen(t) : 0);
	sb_putc(b, last ? '\n' : '\t');
}

static int chr_save(void *self, const struct store_report_row *row, char *err, size_t errlen)
{
	struct ch_reader *r = self;
	struct sbuf sql = {0}, data = {0}, json = {0};
	char num_text[64];
	int rc;

	clients_json(&json, row->clients, row->nclients);
	snprintf(num_text, sizeof num_text, "%.17g\t%llu\t", row->generated,
	         (unsigned long long)(tc_now_unix() * 1e6));
	sb_put(&data, num_text, strlen(num_text));
	if (row->since)
		snprintf(num_text, sizeof num_text, "%.17g\t%.17g\t", row->since, row->until);
	else
		snprintf(num_text, sizeof num_text, "\\N\t%.17g\t", row->until);
	sb_put(&data, num_text, strlen(num_text));
	tsv_text_cell(&data, row->policy, 0);
	tsv_text_cell(&data, row->scope, 0);
	tsv_text_cell(&data, r->sensors_text, 0);
	tsv_text_cell(&data, row->format, 0);
	tsv_text_cell(&data, row->path, 0);
	tsv_text_cell(&data, json.p ? json.p : "[]", 1);
	ch_sqlf(&sql, "INSERT INTO ");
	ch_table(&sql, r->ch, "reports");
	ch_sqlf(&sql, " (generated_at, seq, since, until, policy, scope, sensors, format, path, "
	              "legacy_clients) FORMAT TabSeparated");
	if (sql.failed || data.failed || json.failed) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	} else {
		rc = ch_query(r->ch, sql.p, data.p, data.len, NULL, err, errlen);
	}
	sb_free(&sql);
	sb_free(&data);
	sb_free(&json);
	return rc;
}

static int chr_flush(void *self)
{
	(void)self;
	return 0; /* nothing is queued in this process */
}

static const struct census_reader_ops ch_ops = {
    .flush = chr_flush,
    .pairs = chr_pairs,
    .totals = chr_totals,
    .versions = chr_versions,
    .ciphers = chr_ciphers,
    .trend = chr_trend,
    .group_trend = chr_group_trend,
    .client_connections = chr_clients,
    .coverage = chr_coverage,
    .previous = chr_previous,
    .save = chr_save,
};

/* ---------------------------------------------------------------- open */

struct ch_reader *ch_reader_open(const struct ch_config *cfg, const char *const *sensors,
                                 size_t nsensors, char *err, size_t errlen)
{
	struct ch_reader *r = calloc(1, sizeof *r);
	struct sbuf cond = {0}, text = {0};
	int present;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < nsensors; i++) {
		if (!ship_sensor_valid(sensors[i])) {
			snprintf(
			    err, errlen,
			    "--sensor '%s': a sensor name is 1 to 64 letters, digits and . _ : -",
			    sensors[i]);
			goto fail;
		}
		ch_sqlf(&cond, "%s", i ? ", " : " AND sensor IN (");
		ch_quote(&cond, sensors[i]);
		ch_sqlf(&text, "%s%s", i ? "," : "", sensors[i]);
	}
	if (nsensors)
		ch_sqlf(&cond, ")");
	r->sensors = cond.p ? cond.p : strdup("");
	r->sensors_text = text.p ? text.p : strdup("");
	cond.p = text.p = NULL;
	if (!r->sensors || !r->sensors_text || cond.failed || text.failed) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->ch = ch_open(cfg, err, errlen);
	if (!r->ch)
		goto fail;
	snprintf(r->name, sizeof r->name, "%s (database %s%s%s)", ch_url(r->ch), ch_database(r->ch),
	         nsensors ? ", sensors " : "", r->sensors_text);
	present = ch_schema_present(r->ch, err, errlen);
	if (present < 0)
		goto fail;
	if (!present) {
		snprintf(err, errlen,
		         "ClickHouse at %s: database '%s' holds no tlscensus records yet: ship a "
		         "sensor's database first (tlscensus ship --db FILE --to %s)",
		         ch_url(r->ch), ch_database(r->ch), ch_url(r->ch));
		goto fail;
	}
	return r;
fail:
	free(cond.p);
	free(text.p);
	ch_reader_close(r);
	return NULL;
}

void ch_reader_close(struct ch_reader *r)
{
	if (!r)
		return;
	ch_close(r->ch);
	free(r->sensors);
	free(r->sensors_text);
	free(r);
}

struct census_reader ch_reader(struct ch_reader *r)
{
	return (struct census_reader){&ch_ops, r, r->name};
}
