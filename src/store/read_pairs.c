/*
 * read_pairs.c: the pairs the judge asks about, read from the inventory or the connection
 * rows. Only reads; knows no policy and judges nothing: it hands each row over as a plain
 * struct (tlscensus/pair.h).
 *
 * Which rows answer: the inventory without a window (it is small and outlives --retain); with a
 * window, the connection rows when they still cover it (nothing was pruned from its start on),
 * since they date every connection; otherwise the inventory rows that overlap the window. Both
 * see a connection through the view inventory_keys (store.c), so a retry means the same in
 * both. A connection without any hello (the capture began mid-stream) has no inventory row: it
 * is counted from the connection rows, so --retain pruning forgets it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pair_row.h"
#include "read.h"
#include "store.h"

/* The columns both row readers return are pair_row.h's: the key (%1$s), the counts, the
 * key-exchange facts (%2$s). Views made by an older tlscensus lack the latter (read-only
 * opens leave the views as they are): then every pair comes without them (NULLs), and a
 * warning says how to get them. */
#define PAIR_NO_KX "NULL, NULL, NULL, NULL"

/* The inventory: a row overlapping the window counts whole (its connections are not dated
 * one by one any more). */
static const char inventory_sql[] =
    "SELECT %1$s, connections, first_seen, last_seen, %2$s FROM inventory "
    "WHERE last_seen >= ?1 AND first_seen <= ?2 AND (?3 = 0 OR server_port = ?3)";

/* The rows the window's minutes span (store.h). */
#define WINDOW_IDS STORE_CONN_IDS("id", "?1", "?2")

/* The connection rows, grouped like the inventory: exact for a window they cover. */
static const char connections_sql[] =
    "SELECT %1$s, count(*), min(first_ts), max(first_ts), %2$s FROM inventory_keys "
    "WHERE first_ts >= ?1 AND first_ts <= ?2 AND (?3 = 0 OR server_port = ?3) "
    "AND" WINDOW_IDS "GROUP BY %1$s%3$s";

/* Connections without any hello (the capture began mid-stream): no inventory row has them. */
static const char midstream_sql[] =
    "SELECT client_ip, server_ip, count(*) FROM connections "
    "WHERE ch_version IS NULL AND sh_version IS NULL "
    "AND first_ts >= ?1 AND first_ts <= ?2 AND (?3 = 0 OR server_port = ?3) "
    "AND" WINDOW_IDS "GROUP BY client_ip, server_ip";

/* Stored text; NULL for SQL NULL and, with empty_is_null, for the '' that means none. */
static const char *col_text(sqlite3_stmt *st, int col, int empty_is_null)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return !t || (empty_is_null && !*t) ? NULL : t;
}

/* A statement's cells for pair_from_row. */
static const char *cell_text(void *row, int col)
{
	return col_text(row, col, 0);
}

static int64_t cell_integer(void *row, int col)
{
	return sqlite3_column_int64(row, col);
}

static double cell_real(void *row, int col)
{
	return sqlite3_column_double(row, col);
}

static const struct pair_cells sqlite_cells = {cell_text, cell_integer, cell_real};

static void bind_window(sqlite3_stmt *st, const struct filter *f)
{
	sqlite3_bind_double(st, 1, f->since > 0 ? f->since : -1e300);
	sqlite3_bind_double(st, 2, f->until > 0 ? f->until : 1e300);
	sqlite3_bind_int(st, 3, f->port);
}

/* sql: inventory_sql or connections_sql; old: the views lack the key-exchange columns. */
static int read_rows(struct store *s, const char *sql_format, int old, const struct filter *f,
                     store_pair_fn fn, void *ctx, int *stopped)
{
	char keys[PAIR_KEY_NAMES_MAX], kx[PAIR_KEY_NAMES_MAX], group[PAIR_KEY_NAMES_MAX + 2];
	char sql[4 * PAIR_KEY_NAMES_MAX + 512];
	struct pair_lists lists;
	sqlite3_stmt *st = NULL;
	int rc;

	pair_key_names(keys);
	pair_kx_names(kx);
	snprintf(group, sizeof group, "%s%s", old ? "" : ", ", old ? "" : kx);
	/* The formats are this file's own: %1$s the key, %2$s the facts, %3$s more grouping. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(sql, sizeof sql, sql_format, keys, old ? PAIR_NO_KX : kx, group);
#pragma GCC diagnostic pop
	rc = sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		bind_window(st, f);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tc_pair p;
		int whole = pair_from_row(&p, &sqlite_cells, st, &lists) == 0;

		rc = SQLITE_OK;
		/* The addresses are NOT NULL: without text, SQLite ran out of memory. */
		if (!whole)
			rc = SQLITE_NOMEM;
		else if (filter_match(f, p.client_ip, p.server_ip, p.sni) && fn(ctx, &p))
			*stopped = 1;
		if (*stopped)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || *stopped ? SQLITE_OK : rc;
}

static int read_midstream(struct store *s, const struct filter *f, store_pair_fn fn, void *ctx,
                          int *stopped)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store_db(s), midstream_sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		bind_window(st, f);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tc_pair p = {
		    .client_ip = col_text(st, 0, 0),
		    .server_ip = col_text(st, 1, 0),
		    .version = -1,
		    .cipher = -1,
		    .ch_max_version = -1,
		    .alert_desc = -1,
		    .server_group = -1,
		    .parse_status = TC_CONN_MIDSTREAM,
		    .connections = (uint64_t)sqlite3_column_int64(st, 2),
		};

		rc = SQLITE_OK;
		/* No hello, so no SNI: a --sni filter excludes these. */
		if (filter_match(f, p.client_ip, p.server_ip, NULL) && fn(ctx, &p)) {
			*stopped = 1;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || *stopped ? SQLITE_OK : rc;
}

static int query_double(struct store *s, const char *sql, double *out)
{
	sqlite3_stmt *st = NULL;
	int have = 0;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_double(st, 0);
		have = 1;
	}
	sqlite3_finalize(st);
	return have;
}

/* 1 when the views have the key-exchange columns (see PAIR_NO_KX). */
static int views_have_kx(struct store *s)
{
	static const char *const views[] = {"inventory_keys", "inventory"};
	char kx[PAIR_KEY_NAMES_MAX], sql[PAIR_KEY_NAMES_MAX + 64];
	int ok = 1;

	pair_kx_names(kx);
	for (size_t i = 0; ok && i < sizeof views / sizeof views[0]; i++) {
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof sql, "SELECT %s FROM %s LIMIT 0", kx, views[i]);
		ok = sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) == SQLITE_OK;
		sqlite3_finalize(st);
	}
	return ok;
}

/* 1 when the connection rows answer for f's window (see the head of this file). */
static int use_connections(struct store *s, const struct filter *f)
{
	double conn_min, inv_min;
	int have_conn, pruned;

	if (f->since <= 0 && f->until <= 0)
		return 0;
	have_conn = query_double(s, "SELECT " STORE_CONN_FIRST_TS, &conn_min);
	pruned = query_double(s, "SELECT min(first_seen) FROM inventory", &inv_min) &&
	         (!have_conn || inv_min < conn_min);
	if (!pruned)
		return 1;
	return have_conn && f->since > 0 && f->since >= conn_min;
}

int store_read_pairs(struct store *s, const struct filter *f, store_pair_fn fn, void *ctx,
                     int *from_connections)
{
	int stopped = 0, rc, old = !views_have_kx(s);

	if (old)
		fprintf(
		    stderr,
		    "tlscensus: warning: database '%s' has the views of an older tlscensus, "
		    "without the key-exchange columns: key-exchange rules cannot judge its "
		    "connections. Run 'tlscensus migrate --db %s' (as a user who may write it)\n",
		    store_path(s), store_path(s));
	*from_connections = use_connections(s, f);
	rc = read_rows(s, *from_connections ? connections_sql : inventory_sql, old, f, fn, ctx,
	               &stopped);
	if (rc == SQLITE_OK && !stopped)
		rc = read_midstream(s, f, fn, ctx, &stopped);
	if (rc == SQLITE_NOMEM) {
		fprintf(stderr, "tlscensus: database '%s': out of memory reading the report\n",
		        store_path(s));
		return -1;
	}
	if (rc != SQLITE_OK) {
		fprintf(stderr, "tlscensus: database '%s': legacy query failed: %s\n",
		        store_path(s), sqlite3_errmsg(store_db(s)));
		return -1;
	}
	return stopped;
}

size_t store_parse_groups(const char *text, uint16_t *v, size_t cap)
{
	return pair_parse_groups(text, v, cap);
}
