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

#include "read.h"
#include "store.h"
#include "tlscensus/hello.h"

/* The columns both row readers return, in this order. */
enum {
	R_CLIENT,
	R_SERVER,
	R_PORT,
	R_SNI,
	R_VERSION,
	R_CIPHER,
	R_CH_MAX,
	R_JA3,
	R_JA4,
	R_ALERT,
	R_SCSV,
	R_RETRY,
	R_STATUS,
	R_CONNS,
	R_FIRST,
	R_LAST,
	R_GROUPS,
	R_KEY_SHARES,
	R_SH_GROUP,
	R_HRR,
};

#define PAIR_KEY_COLUMNS                                                                           \
	"client_ip, server_ip, server_port, sni, version, cipher, ch_max_version, ja3, ja4, "      \
	"alert_desc, fallback_scsv, retry, parse_status"
/* The key-exchange facts, after the counts: NULL in the inventory for rows --retain folded.
 * Views made by an older tlscensus lack them (read-only opens leave the views as they are):
 * then every pair comes without them (NULLs), and a warning says how to get them. */
#define PAIR_KX_COLUMNS "groups, key_shares, sh_group, hrr"
#define PAIR_NO_KX      "NULL, NULL, NULL, NULL"

/* Bound on the groups read from one stored list: the dissector keeps no more (hello.h). */
#define PAIR_MAX_GROUPS STORE_PAIR_GROUPS

/* The inventory: a row overlapping the window counts whole (its connections are not dated
 * one by one any more). */
#define INVENTORY_SQL(kx)                                                                          \
	"SELECT " PAIR_KEY_COLUMNS ", connections, first_seen, last_seen, " kx                     \
	" FROM inventory WHERE last_seen >= ?1 AND first_seen <= ?2 AND (?3 = 0 OR "               \
	"server_port = ?3)"

/* The connection rows, grouped like the inventory: exact for a window they cover. */
#define CONNECTIONS_SQL(kx, group)                                                                 \
	"SELECT " PAIR_KEY_COLUMNS ", count(*), min(first_ts), max(first_ts), " kx                 \
	" FROM inventory_keys WHERE first_ts >= ?1 AND first_ts <= ?2 AND (?3 = 0 OR "             \
	"server_port = ?3) GROUP BY " PAIR_KEY_COLUMNS group

/* [0] with the key-exchange columns, [1] without them (older views) */
static const char *const inventory_sql[2] = {INVENTORY_SQL(PAIR_KX_COLUMNS),
                                             INVENTORY_SQL(PAIR_NO_KX)};
static const char *const connections_sql[2] = {
    CONNECTIONS_SQL(PAIR_KX_COLUMNS, ", " PAIR_KX_COLUMNS), CONNECTIONS_SQL(PAIR_NO_KX, "")};

/* Connections without any hello (the capture began mid-stream): no inventory row has them. */
static const char midstream_sql[] =
    "SELECT client_ip, server_ip, count(*) FROM connections "
    "WHERE ch_version IS NULL AND sh_version IS NULL "
    "AND first_ts >= ?1 AND first_ts <= ?2 AND (?3 = 0 OR server_port = ?3) "
    "GROUP BY client_ip, server_ip";

/* Stored text; NULL for SQL NULL and, with empty_is_null, for the '' that means none. */
static const char *col_text(sqlite3_stmt *st, int col, int empty_is_null)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return !t || (empty_is_null && !*t) ? NULL : t;
}

/* parse_status as stored ('ok' when NULL); TC_CONN_STATUS_COUNT for one this build does not
 * know. */
static enum tc_conn_status status_of(const char *text)
{
	if (!text)
		return TC_CONN_OK;
	for (int i = 0; i < TC_CONN_STATUS_COUNT; i++)
		if (!strcmp(text, tc_conn_status_name((enum tc_conn_status)i)))
			return (enum tc_conn_status)i;
	return TC_CONN_STATUS_COUNT;
}

/* A stored JSON array of integers ("[4588,29,23]", as the writer makes it) into v; the count.
 * '' or NULL (no such extension) is none; anything past the bound or not a number ends it. */
size_t store_parse_groups(const char *text, uint16_t *v, size_t cap)
{
	size_t n = 0;
	const char *p = text ? strchr(text, '[') : NULL;

	while (p && n < cap) {
		char *end;
		long g;

		p++;
		while (*p == ' ')
			p++;
		g = strtol(p, &end, 10);
		if (end == p || g < 0 || g > 0xffff)
			break;
		v[n++] = (uint16_t)g;
		p = strchr(end, ',');
	}
	return n;
}

static void bind_window(sqlite3_stmt *st, const struct filter *f)
{
	sqlite3_bind_double(st, 1, f->since > 0 ? f->since : -1e300);
	sqlite3_bind_double(st, 2, f->until > 0 ? f->until : 1e300);
	sqlite3_bind_int(st, 3, f->port);
}

/* An SQLite result code; *stopped set when fn asked to stop. */
static int read_rows(struct store *s, const char *sql, const struct filter *f, store_pair_fn fn,
                     void *ctx, int *stopped)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		bind_window(st, f);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint16_t groups[PAIR_MAX_GROUPS], shares[PAIR_MAX_GROUPS];
		struct tc_pair p = {
		    .client_ip = col_text(st, R_CLIENT, 0),
		    .server_ip = col_text(st, R_SERVER, 0),
		    .sni = col_text(st, R_SNI, 1),
		    .ja3 = col_text(st, R_JA3, 1),
		    .ja4 = col_text(st, R_JA4, 1),
		    .server_port = sqlite3_column_int(st, R_PORT),
		    .version = sqlite3_column_int(st, R_VERSION),
		    .cipher = sqlite3_column_int(st, R_CIPHER),
		    .ch_max_version = sqlite3_column_int(st, R_CH_MAX),
		    .alert_desc = sqlite3_column_int(st, R_ALERT),
		    .fallback_scsv = sqlite3_column_int(st, R_SCSV),
		    .retry = sqlite3_column_int(st, R_RETRY),
		    .parse_status = status_of(col_text(st, R_STATUS, 0)),
		    .connections = (uint64_t)sqlite3_column_int64(st, R_CONNS),
		    .first_seen = sqlite3_column_double(st, R_FIRST),
		    .last_seen = sqlite3_column_double(st, R_LAST),
		    .groups = groups,
		    .key_shares = shares,
		    .server_group = sqlite3_column_int(st, R_SH_GROUP),
		    .hrr = sqlite3_column_int(st, R_HRR),
		    .kx_known = sqlite3_column_type(st, R_HRR) != SQLITE_NULL,
		};

		p.n_groups = store_parse_groups(col_text(st, R_GROUPS, 1), groups, PAIR_MAX_GROUPS);
		p.n_key_shares =
		    store_parse_groups(col_text(st, R_KEY_SHARES, 1), shares, PAIR_MAX_GROUPS);
		if (!p.kx_known)
			p.server_group = -1;
		rc = SQLITE_OK;
		/* The addresses are NOT NULL: without text, SQLite ran out of memory. */
		if (!p.client_ip || !p.server_ip)
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

/* 1 when the views have the key-exchange columns (see PAIR_KX_COLUMNS). */
static int views_have_kx(struct store *s)
{
	static const char *const probe[] = {
	    "SELECT " PAIR_KX_COLUMNS " FROM inventory_keys LIMIT 0",
	    "SELECT " PAIR_KX_COLUMNS " FROM inventory LIMIT 0",
	};
	int ok = 1;

	for (size_t i = 0; ok && i < sizeof probe / sizeof probe[0]; i++) {
		sqlite3_stmt *st = NULL;

		ok = sqlite3_prepare_v2(store_db(s), probe[i], -1, &st, NULL) == SQLITE_OK;
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
	have_conn = query_double(s, "SELECT min(first_ts) FROM connections", &conn_min);
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
	rc = read_rows(s, *from_connections ? connections_sql[old] : inventory_sql[old], f, fn, ctx,
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
