/*
 * report_read.c: the report's questions to the store, as SQL, answered with the plain structs
 * of report_read.h. It reads the census through the store's handle and never writes it; its one
 * write is a row of the reports table, through store_db_write. The report's filters reach the
 * SQL as one function, tc_report_scope, registered for each query.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "filter.h"
#include "report_read.h"
#include "store.h"
#include "text.h"

/* Every census query of the report is over this window and the filters, bounds included as
 * legacy_collect counts them, so the two agree on what "a connection in the window" is; among
 * the rows the window's minutes span (store.h), so SQLite reads no others. */
#define WINDOW_IDS STORE_CONN_IDS("c.id", "?1", "?2")
#define WINDOW                                                                                     \
	" c.first_ts >= ?1 AND c.first_ts <= ?2 AND" WINDOW_IDS                                    \
	"AND tc_report_scope(c.client_ip, c.server_ip, c.server_port, c.sni) "

static void db_error(struct store *s, const char *what)
{
	fprintf(stderr, "tlscensus: database '%s': %s: %s\n", store_path(s), what,
	        sqlite3_errmsg(store_db(s)));
}

static int oom(struct store *s)
{
	fprintf(stderr, "tlscensus: database '%s': out of memory for the report\n", store_path(s));
	return -1;
}

/* The filters of a struct store_scope as an SQL function, so every count of the report is over
 * the same hosts as the legacy list. */
static void scope_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct store_scope *sc = sqlite3_user_data(ctx);
	const char *client = (const char *)sqlite3_value_text(argv[0]);
	const char *server = (const char *)sqlite3_value_text(argv[1]);
	const char *sni = (const char *)sqlite3_value_text(argv[3]);
	int ok = 1;

	(void)argc;
	if (sc->client && sc->client->set)
		ok = client && cidr_match(sc->client, client);
	if (ok && sc->server && sc->server->set)
		ok = server && cidr_match(sc->server, server);
	if (ok && sc->port)
		ok = sqlite3_value_int(argv[2]) == sc->port;
	if (ok && sc->sni_glob)
		ok = filter_glob_match(sc->sni_glob, sni);
	sqlite3_result_int(ctx, ok);
}

/* Prepares sql; with a scope, ?1 and ?2 are its window and tc_report_scope its filters until
 * done(). NULL (message written) on failure. */
static sqlite3_stmt *prepare(struct store *s, const struct store_scope *sc, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sc && sqlite3_create_function(store_db(s), "tc_report_scope", 4,
	                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC, (void *)sc, scope_fn,
	                                  NULL, NULL) != SQLITE_OK) {
		db_error(s, "cannot set up the report's filters");
		return NULL;
	}
	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(s, "report query failed");
		sqlite3_finalize(st);
		return NULL;
	}
	if (sc) {
		sqlite3_bind_double(st, 1, sc->since);
		sqlite3_bind_double(st, 2, sc->until);
	}
	return st;
}

/* Finalizes st and forgets the filters, whose scope belongs to the caller. */
static void done(struct store *s, sqlite3_stmt *st)
{
	sqlite3_finalize(st);
	sqlite3_create_function(store_db(s), "tc_report_scope", 4, SQLITE_UTF8, NULL, NULL, NULL,
	                        NULL);
}

/* Steps st to its end, handing each row to row (which returns nonzero when out of memory);
 * then done(). */
static int each_row(struct store *s, sqlite3_stmt *st, int (*row)(void *ctx, sqlite3_stmt *st),
                    void *ctx)
{
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(ctx, st)) {
			rc = SQLITE_NOMEM;
			break;
		}
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			oom(s);
		else
			db_error(s, "report query failed");
	}
	done(s, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- totals and tallies */

static int totals_row(void *ctx, sqlite3_stmt *st)
{
	struct store_totals *t = ctx;

	t->connections = (uint64_t)sqlite3_column_int64(st, 0);
	t->clients = (uint64_t)sqlite3_column_int64(st, 1);
	t->servers = (uint64_t)sqlite3_column_int64(st, 2);
	t->first = sqlite3_column_double(st, 3);
	t->last = sqlite3_column_double(st, 4);
	t->tcp = (uint64_t)sqlite3_column_int64(st, 5);
	t->dtls = (uint64_t)sqlite3_column_int64(st, 6);
	t->quic = (uint64_t)sqlite3_column_int64(st, 7);
	return 0;
}

int store_report_totals(struct store *s, const struct store_scope *sc, struct store_totals *out)
{
	memset(out, 0, sizeof *out);
	return each_row(s,
	                prepare(s, sc,
	                        "SELECT count(*), count(DISTINCT c.client_ip), "
	                        "count(DISTINCT c.server_ip), min(c.first_ts), max(c.first_ts), "
	                        "total(c.transport = 'tcp'), "
	                        "total(c.transport = 'udp' AND c.quic_version IS NULL), "
	                        "total(c.quic_version IS NOT NULL) "
	                        "FROM connections c WHERE" WINDOW),
	                totals_row, out);
}

struct counts {
	struct store_count *v;
	size_t n;
};

/* Columns: the value (NULL: -1), the legacy flag (versions only), the count. */
static int count_row(void *ctx, sqlite3_stmt *st)
{
	struct counts *c = ctx;
	int last = sqlite3_column_count(st) - 1;
	struct store_count *v = realloc(c->v, (c->n + 1) * sizeof *v);

	if (!v)
		return -1;
	c->v = v;
	v[c->n].value =
	    sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
	v[c->n].legacy = last == 2 ? sqlite3_column_int(st, 1) : 0;
	v[c->n].n = (uint64_t)sqlite3_column_int64(st, last);
	c->n++;
	return 0;
}

static int counts(struct store *s, const struct store_scope *sc, const char *sql,
                  struct store_count **out, size_t *n)
{
	struct counts c = {0};
	int rc = each_row(s, prepare(s, sc, sql), count_row, &c);

	if (rc) {
		free(c.v);
		c = (struct counts){0};
	}
	*out = c.v;
	*n = c.n;
	return rc;
}

int store_report_versions(struct store *s, const struct store_scope *sc, struct store_count **out,
                          size_t *n)
{
	return counts(s, sc,
	              "SELECT c.version, coalesce(v.legacy, 0), count(*) "
	              "FROM connections c LEFT JOIN tls_versions v ON v.value = c.version "
	              "WHERE" WINDOW "GROUP BY c.version "
	              "ORDER BY c.version IS NULL, v.rank IS NULL, v.rank DESC, c.version",
	              out, n);
}

int store_report_ciphers(struct store *s, const struct store_scope *sc, struct store_count **out,
                         size_t *n)
{
	return counts(s, sc,
	              "SELECT c.cipher, count(*) AS n FROM connections c WHERE" WINDOW
	              "AND c.cipher IS NOT NULL GROUP BY c.cipher ORDER BY n DESC, c.cipher",
	              out, n);
}

/* ---------------------------------------------------------------- trend */

struct trend {
	struct store_trend_count *v;
	size_t n;
};

static int trend_row(void *ctx, sqlite3_stmt *st)
{
	struct trend *t = ctx;
	struct store_trend_count *v = realloc(t->v, (t->n + 1) * sizeof *v);

	if (!v)
		return -1;
	t->v = v;
	v[t->n].span = sqlite3_column_int64(st, 0);
	v[t->n].version =
	    sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
	v[t->n].n = (uint64_t)sqlite3_column_int64(st, 2);
	t->n++;
	return 0;
}

static int trend_by(struct store *s, const struct store_scope *sc, const char *sql, double start,
                    double span_seconds, struct store_trend_count **out, size_t *n)
{
	struct trend t = {0};
	sqlite3_stmt *st = prepare(s, sc, sql);
	int rc;

	if (st) {
		sqlite3_bind_double(st, 3, start);
		sqlite3_bind_double(st, 4, span_seconds);
	}
	rc = each_row(s, st, trend_row, &t);
	if (rc) {
		free(t.v);
		t = (struct trend){0};
	}
	*out = t.v;
	*n = t.n;
	return rc;
}

int store_report_trend(struct store *s, const struct store_scope *sc, double start,
                       double span_seconds, struct store_trend_count **out, size_t *n)
{
	return trend_by(s, sc,
	                "SELECT CAST((c.first_ts - ?3) / ?4 AS INTEGER) AS b, "
	                "c.version, count(*) FROM connections c WHERE " WINDOW
	                "GROUP BY b, c.version",
	                start, span_seconds, out, n);
}

int store_report_group_trend(struct store *s, const struct store_scope *sc, double start,
                             double span_seconds, struct store_trend_count **out, size_t *n)
{
	return trend_by(s, sc,
	                "SELECT CAST((c.first_ts - ?3) / ?4 AS INTEGER) AS b, "
	                "c.sh_group, count(*) FROM connections c WHERE " WINDOW
	                "GROUP BY b, c.sh_group",
	                start, span_seconds, out, n);
}

/* ---------------------------------------------------------------- clients */

int store_report_client_connections(struct store *s, const struct store_scope *sc,
                                    const char *const *clients, size_t n, uint64_t *out)
{
	sqlite3_stmt *st = prepare(
	    s, sc, "SELECT count(*) FROM connections c WHERE" WINDOW "AND c.client_ip = ?3");
	int rc = 0;

	if (!st)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(st, 3, clients[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			db_error(s, "report query failed");
			rc = -1;
			break;
		}
		out[i] = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	done(s, st);
	return rc;
}

/* ---------------------------------------------------------------- coverage */

static int coverage_row(void *ctx, sqlite3_stmt *st)
{
	struct store_coverage *c = ctx;
	uint64_t *v[] = {&c->runs,         &c->unfinished,  &c->packets,      &c->undecodable,
	                 &c->kernel_drops, &c->queue_drops, &c->flows_evicted};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		*v[i] = (uint64_t)sqlite3_column_int64(st, (int)i);
	return 0;
}

static int oldest_row(void *ctx, sqlite3_stmt *st)
{
	struct store_coverage *c = ctx;

	c->oldest_row = sqlite3_column_double(st, 0);
	c->oldest_inventory = sqlite3_column_double(st, 1);
	return 0;
}

int store_report_coverage(struct store *s, double since, double until, double now,
                          struct store_coverage *out)
{
	const struct store_scope window = {.since = since, .until = until};
	sqlite3_stmt *st =
	    prepare(s, &window,
	            "SELECT count(*), coalesce(sum(ended IS NULL), 0), coalesce(sum(packets), 0), "
	            "coalesce(sum(undecodable), 0), coalesce(sum(kernel_drops), 0), "
	            "coalesce(sum(queue_drops), 0), coalesce(sum(flows_evicted), 0) FROM runs "
	            "WHERE id IN (SELECT c.run_id FROM connections c "
	            "             WHERE c.first_ts >= ?1 AND c.first_ts <= ?2 AND" WINDOW_IDS ") "
	            "OR (command = 'capture' AND started < ?2 AND coalesce(ended, ?3) >= ?1)");

	memset(out, 0, sizeof *out);
	if (st)
		sqlite3_bind_double(st, 3, now);
	if (each_row(s, st, coverage_row, out))
		return -1;
	return each_row(s,
	                prepare(s, NULL,
	                        "SELECT " STORE_CONN_FIRST_TS ", "
	                        "(SELECT min(first_seen) FROM inventory)"),
	                oldest_row, out);
}

/* ---------------------------------------------------------------- the reports table */

/* A database opened read-only may predate the reports table: it has no previous report. */
static int reports_table_exists(struct store *s)
{
	sqlite3_stmt *st = prepare(s, NULL,
	                           "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
	                           "name = 'reports'");
	int found = st && sqlite3_step(st) == SQLITE_ROW;

	sqlite3_finalize(st);
	return found;
}

struct strings {
	char **v;
	size_t n;
};

static int client_row(void *ctx, sqlite3_stmt *st)
{
	struct strings *sv = ctx;
	const char *text = (const char *)sqlite3_column_text(st, 0);
	char **v = realloc(sv->v, (sv->n + 1) * sizeof *v);

	if (!v)
		return -1;
	sv->v = v;
	if (!text || !(v[sv->n] = strdup(text)))
		return -1;
	sv->n++;
	return 0;
}

/* The legacy clients of a row, a JSON array of strings. */
static int previous_clients(struct store *s, sqlite3_value *json, struct store_report_prev *out)
{
	struct strings sv = {0};
	sqlite3_stmt *keys =
	    prepare(s, NULL, "SELECT value FROM json_each(?1) WHERE type = 'text'");
	int rc;

	if (keys)
		sqlite3_bind_value(keys, 1, json);
	rc = each_row(s, keys, client_row, &sv);
	out->clients = sv.v;
	out->nclients = sv.n;
	return rc;
}

int store_report_previous(struct store *s, const char *policy, const char *scope,
                          struct store_report_prev *out)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	memset(out, 0, sizeof *out);
	if (!reports_table_exists(s))
		return 0;
	st = prepare(s, NULL,
	             "SELECT generated_at, since, until, path, legacy_clients FROM reports "
	             "WHERE policy = ?1 AND scope = ?2 ORDER BY id DESC LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, policy, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 3);

		found = 1;
		out->generated = sqlite3_column_double(st, 0);
		out->since = sqlite3_column_double(st, 1);
		out->until = sqlite3_column_double(st, 2);
		out->path = path ? strdup(path) : NULL;
		rc = previous_clients(s, sqlite3_column_value(st, 4), out) ? SQLITE_ERROR
		                                                           : SQLITE_DONE;
	} else if (rc != SQLITE_DONE) {
		db_error(s, "cannot read the previous report");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? found : -1;
}

void store_report_prev_free(struct store_report_prev *p)
{
	free(p->path);
	for (size_t i = 0; i < p->nclients; i++)
		free(p->clients[i]);
	free(p->clients);
	memset(p, 0, sizeof *p);
}

/* The legacy clients as a JSON array; the addresses are inert text, so only '"' and '\' could
 * need escaping. */
static char *clients_json(const char *const *clients, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		char *clean = text_inert(clients[i], strlen(clients[i]), 0);

		fputs(i ? ",\"" : "\"", f);
		for (const char *p = clean ? clean : ""; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputc('"', f);
		free(clean);
	}
	fputc(']', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int store_report_save(struct store *s, const struct store_report_row *row, char *err, size_t errlen)
{
	char *json = clients_json(row->clients, row->nclients);
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int rc;

	if (!json) {
		snprintf(err, errlen, "%s", sqlite3_errstr(SQLITE_NOMEM));
		return -1;
	}
	db = store_db_write(s, err, errlen);
	if (!db) {
		free(json);
		return -1;
	}
	rc = sqlite3_prepare_v2(db,
	                        "INSERT INTO reports (generated_at, since, until, policy, scope, "
	                        "format, path, legacy_clients) "
	                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_double(st, 1, row->generated);
		if (row->since)
			sqlite3_bind_double(st, 2, row->since);
		sqlite3_bind_double(st, 3, row->until);
		sqlite3_bind_text(st, 4, row->policy, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, row->scope, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, row->format, -1, SQLITE_STATIC);
		if (row->path)
			sqlite3_bind_text(st, 7, row->path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, json, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	free(json);
	return rc == SQLITE_OK ? 0 : -1;
}
