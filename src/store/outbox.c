/*
 * outbox.c: the rows a ship destination has not acknowledged, read in id order as plain values
 * (outbox.h), and the ship_state table. A batch is read in one transaction, so its connection
 * rows and their inventory facts are one snapshot. Reads never block the writer (WAL).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "outbox.h"
#include "text.h"
#include "util.h"

#define I(n)                                                                                       \
	{                                                                                          \
#n, OUTBOX_INT, 0                                                                  \
	}
#define IN(n)                                                                                      \
	{                                                                                          \
#n, OUTBOX_INT, 1                                                                  \
	}
#define R(n)                                                                                       \
	{                                                                                          \
#n, OUTBOX_REAL, 0                                                                 \
	}
#define RN(n)                                                                                      \
	{                                                                                          \
#n, OUTBOX_REAL, 1                                                                 \
	}
#define T(n)                                                                                       \
	{                                                                                          \
#n, OUTBOX_TEXT, 0                                                                 \
	}
#define TN(n)                                                                                      \
	{                                                                                          \
#n, OUTBOX_TEXT, 1                                                                 \
	}

/* The view's columns by name; a column added to the view is one line here (and is added to the
 * central table by the shipper). retry, summarized and has_hello come last, from
 * inventory_keys. */
static const struct outbox_column conn_cols[] = {
    IN(id),
    I(run_id),
    RN(first_ts),
    RN(last_ts),
    T(transport),
    I(ip_version),
    TN(client_ip),
    IN(client_port),
    TN(server_ip),
    IN(server_port),
    I(client_packets),
    I(server_packets),
    I(client_bytes),
    I(server_bytes),
    I(client_stream_trunc),
    I(server_stream_trunc),
    I(ch_version),
    I(ch_sslv2),
    T(ch_versions),
    I(ch_max_version),
    T(ciphers),
    T(extensions),
    T(groups),
    T(key_shares),
    T(sig_algs),
    T(point_formats),
    T(compression),
    T(sni),
    T(alpn),
    I(session_id_len),
    I(fallback_scsv),
    I(session_ticket),
    I(ch_trunc),
    T(ja3),
    T(ja3_str),
    T(ja4),
    I(sh_version),
    I(sh_selected_version),
    I(version),
    I(cipher),
    T(sh_extensions),
    T(sh_alpn),
    T(ja3s),
    T(ja3s_str),
    I(hrr),
    I(alert_level),
    I(alert_desc),
    T(alert_from),
    T(app_label),
    T(parse_status),
    T(parse_error),
    I(hello_count),
    I(sh_group),
    I(quic_version),
    IN(retry),
    IN(summarized),
    IN(has_hello),
};
#define CONN_COMPUTED 3 /* the last columns, not the view's */

static const struct outbox_column run_cols[] = {
    IN(id),          RN(started),        R(ended),           T(command),      T(source),
    T(tool_version), I(packets),         I(bytes),           I(not_ip),       I(undecodable),
    I(fragments),    I(reassembled),     I(tcp_packets),     I(flows),        I(flows_evicted),
    I(handshakes),   I(hello_truncated), I(hello_malformed), I(kernel_drops), I(queue_drops),
};

/* id first: the row's identity centrally, whatever the key's columns become */
static const struct outbox_column inventory_cols[] = {
    IN(id),         TN(client_ip),     TN(server_ip),      IN(server_port),  TN(sni),
    IN(version),    IN(cipher),        IN(ch_max_version), TN(ja3),          TN(ja4),
    IN(alert_desc), IN(fallback_scsv), IN(retry),          TN(parse_status), IN(connections),
    RN(first_seen), RN(last_seen),
};

const struct outbox_table outbox_connections = {"connections", conn_cols, COUNT_OF(conn_cols)};
const struct outbox_table outbox_runs = {"runs", run_cols, COUNT_OF(run_cols)};
const struct outbox_table outbox_inventory = {"inventory_kept", inventory_cols,
                                              COUNT_OF(inventory_cols)};

static void db_error(struct store *s, const char *what)
{
	fprintf(stderr, "tlscensus: database '%s': %s: %s\n", store_path(s), what,
	        sqlite3_errmsg(store_db(s)));
}

/* "SELECT a, b, c FROM from" over the first n columns of a table. */
static char *select_sql(const struct outbox_column *cols, size_t n, const char *prefix,
                        const char *from)
{
	struct sbuf b = {0};

	sb_put(&b, "SELECT ", 7);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_putc(&b, ',');
		sb_put(&b, prefix, strlen(prefix));
		sb_put(&b, cols[i].name, strlen(cols[i].name));
	}
	sb_putc(&b, ' ');
	sb_put(&b, from, strlen(from));
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static void cell(sqlite3_stmt *st, int col, struct outbox_value *v)
{
	memset(v, 0, sizeof *v);
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		v->null = 1;
		break;
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(st, col);
		v->d = (double)v->i;
		break;
	case SQLITE_FLOAT:
		v->d = sqlite3_column_double(st, col);
		v->i = (int64_t)v->d;
		break;
	default:
		v->text = (const char *)sqlite3_column_text(st, col);
		v->len = (size_t)sqlite3_column_bytes(st, col);
		if (!v->text)
			v->null = 1;
	}
}

static int begin_read(struct store *s)
{
	if (sqlite3_exec(store_db(s), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(s, "cannot read the outbox");
		return -1;
	}
	return 0;
}

static void end_read(struct store *s)
{
	sqlite3_exec(store_db(s), "COMMIT", NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- ship_state */

int outbox_state_get(struct store *s, const char *destination, const char *sensor,
                     struct outbox_state *out, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	rc = sqlite3_prepare_v2(db,
	                        "INSERT INTO ship_state (destination, sensor, last_id, "
	                        "inventory_done, runs_from, shipped) VALUES (?1, ?2, 0, 0, 0, 0) "
	                        "ON CONFLICT (destination) DO NOTHING",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, destination, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sensor, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK)
		rc =
		    sqlite3_prepare_v2(db,
		                       "SELECT sensor, last_id, inventory_done, runs_from, shipped "
		                       "FROM ship_state WHERE destination = ?1",
		                       -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, destination, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
	}
	if (rc == SQLITE_OK) {
		const char *was = (const char *)sqlite3_column_text(st, 0);

		snprintf(out->sensor, sizeof out->sensor, "%s", was ? was : "");
		out->last_id = sqlite3_column_int64(st, 1);
		out->inventory_done = sqlite3_column_int(st, 2);
		out->runs_from = sqlite3_column_int64(st, 3);
		out->shipped = sqlite3_column_int64(st, 4);
	} else {
		snprintf(err, errlen, "database '%s': cannot read the ship state: %s",
		         store_path(s), sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && strcmp(out->sensor, sensor)) {
		snprintf(err, errlen,
		         "database '%s' was shipped to %s as sensor '%s': shipping it as '%s' "
		         "would count its records twice; pass --sensor %s",
		         store_path(s), destination, out->sensor, sensor, out->sensor);
		return -1;
	}
	return rc == SQLITE_OK ? 0 : -1;
}

int outbox_state_put(struct store *s, const char *destination, const struct outbox_state *st,
                     const char *error)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(
	    store_db(s),
	    error
	        ? "UPDATE ship_state SET last_attempt = ?6, last_error = ?7 WHERE destination = ?1"
	        : "UPDATE ship_state SET last_id = ?2, inventory_done = ?3, runs_from = ?4, "
	          "shipped = ?5, last_success = ?6, last_attempt = ?6, last_error = NULL "
	          "WHERE destination = ?1",
	    -1, &q, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, destination, -1, SQLITE_STATIC);
		if (!error) {
			sqlite3_bind_int64(q, 2, st->last_id);
			sqlite3_bind_int(q, 3, st->inventory_done);
			sqlite3_bind_int64(q, 4, st->runs_from);
			sqlite3_bind_int64(q, 5, st->shipped);
		}
		sqlite3_bind_double(q, 6, tc_now_unix());
		if (error)
			sqlite3_bind_text(q, 7, error, -1, SQLITE_STATIC);
		rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	if (rc != SQLITE_OK)
		db_error(s, "cannot record the ship state");
	sqlite3_finalize(q);
	return rc == SQLITE_OK ? 0 : -1;
}

/* ---------------------------------------------------------------- connections */

/* inventory_keys' facts of the connections in (after, last], in id order. */
struct facts {
	int64_t *id;
	int *retry, *summarized;
	size_t n;
};

static int read_facts(struct store *s, int64_t after, int64_t last, struct facts *f)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc = sqlite3_prepare_v2(store_db(s),
	                            "SELECT id, retry, summarized FROM inventory_keys "
	                            "WHERE id > ?1 AND id <= ?2 ORDER BY id",
	                            -1, &st, NULL);

	memset(f, 0, sizeof *f);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, last);
	}
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (f->n == cap) {
			size_t c = cap ? cap * 2 : 1024;
			int64_t *id = realloc(f->id, c * sizeof *id);
			int *r = id ? realloc(f->retry, c * sizeof *r) : NULL;
			int *m = r ? realloc(f->summarized, c * sizeof *m) : NULL;

			if (id)
				f->id = id;
			if (r)
				f->retry = r;
			if (!m) {
				rc = SQLITE_NOMEM;
				break;
			}
			f->summarized = m;
			cap = c;
		}
		f->id[f->n] = sqlite3_column_int64(st, 0);
		f->retry[f->n] = sqlite3_column_int(st, 1);
		f->summarized[f->n] = sqlite3_column_int(st, 2);
		f->n++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void facts_free(struct facts *f)
{
	free(f->id);
	free(f->retry);
	free(f->summarized);
}

/* The rows that may have started at or after ?3 (store.h). */
#define HELD_IDS STORE_CONN_IDS("id", "?3", "1e300")

/* The last id of the next batch: at most limit rows after `after`, none started at or after
 * hold_from. 0 when there is none. */
static int batch_end(struct store *s, int64_t after, int limit, double hold_from, int64_t *last)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    store_db(s),
	    hold_from > 0
	        ? "SELECT max(id) FROM (SELECT id FROM conn WHERE id > ?1 AND id < coalesce("
	          "(SELECT min(id) FROM conn WHERE id > ?1 AND" HELD_IDS "AND first_ts >= ?3), "
	          "9223372036854775807) ORDER BY id LIMIT ?2)"
	        : "SELECT max(id) FROM (SELECT id FROM conn WHERE id > ?1 ORDER BY id LIMIT ?2)",
	    -1, &st, NULL);

	*last = 0;
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int(st, 2, limit);
		if (hold_from > 0)
			sqlite3_bind_double(st, 3, hold_from);
		rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
	}
	if (rc == SQLITE_OK)
		*last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

int outbox_connections_read(struct store *s, int64_t after, int limit, double hold_from,
                            outbox_row_fn fn, void *ctx, int64_t *last)
{
	const size_t nview = COUNT_OF(conn_cols) - CONN_COMPUTED;
	struct outbox_value row[COUNT_OF(conn_cols)];
	struct facts f = {0};
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	int n = 0, rc = -1;
	size_t k = 0;

	*last = after;
	if (begin_read(s))
		return -1;
	if (batch_end(s, after, limit, hold_from, last) || read_facts(s, after, *last, &f))
		goto out;
	if (*last <= after) {
		*last = after;
		rc = 0;
		goto out;
	}
	sql = select_sql(conn_cols, nview, "",
	                 "FROM connections WHERE id > ?1 AND id <= ?2 ORDER BY id");
	if (!sql || sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, *last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		for (size_t i = 0; i < nview; i++)
			cell(st, (int)i, &row[i]);
		while (k < f.n && f.id[k] < id)
			k++;
		int known = k < f.n && f.id[k] == id;
		struct outbox_value *extra = row + nview;

		memset(extra, 0, CONN_COMPUTED * sizeof *extra);
		extra[0].i = known ? f.retry[k] : 0;
		extra[1].i = known ? f.summarized[k] : 0;
		extra[2].i = known;
		n++;
		if (fn(ctx, row)) {
			rc = SQLITE_DONE;
			*last = id;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : -1;
out:
	if (rc)
		db_error(s, "cannot read the connections to ship");
	sqlite3_finalize(st);
	free(sql);
	facts_free(&f);
	end_read(s);
	return rc ? -1 : n;
}

/* ---------------------------------------------------------------- runs, inventory */

/* Rows of t; with next_from (runs), ?1 is arg and *next_from the first run still open
 * (ended NULL) among them, else the id after the last. */
static int read_table(struct store *s, const struct outbox_table *t, const char *from, int64_t arg,
                      outbox_row_fn fn, void *ctx, int64_t *next_from)
{
	struct outbox_value row[32];
	sqlite3_stmt *st = NULL;
	char *sql = select_sql(t->cols, t->ncols, "", from);
	int64_t first_open = -1, last = arg - 1;
	int rc = -1;

	if (t->ncols > COUNT_OF(row) || !sql ||
	    sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (next_from)
		sqlite3_bind_int64(st, 1, arg);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t i = 0; i < t->ncols; i++)
			cell(st, (int)i, &row[i]);
		if (next_from) {
			last = row[0].i;                   /* id */
			if (row[2].null && first_open < 0) /* ended */
				first_open = row[0].i;
		}
		if (fn(ctx, row)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : -1;
	if (next_from)
		*next_from = first_open >= 0 ? first_open : last + 1;
out:
	if (rc)
		db_error(s, "cannot read the rows to ship");
	sqlite3_finalize(st);
	free(sql);
	return rc;
}

int outbox_runs_read(struct store *s, int64_t from, outbox_row_fn fn, void *ctx, int64_t *next_from)
{
	return read_table(s, &outbox_runs, "FROM runs WHERE id >= ?1 ORDER BY id", from, fn, ctx,
	                  next_from);
}

int outbox_inventory_read(struct store *s, outbox_row_fn fn, void *ctx)
{
	return read_table(s, &outbox_inventory, "FROM inventory_kept ORDER BY id", 0, fn, ctx,
	                  NULL);
}

int64_t outbox_pending(struct store *s, int64_t after)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(store_db(s), "SELECT count(*) FROM conn WHERE id > ?1", -1, &st,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, after);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	if (n < 0)
		db_error(s, "cannot count the connections to ship");
	sqlite3_finalize(st);
	return n;
}

int outbox_status_read(struct store *s, void (*fn)(void *ctx, const struct outbox_status *st),
                       void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* A database that never shipped, opened read-only, may not have the table yet. */
	rc = sqlite3_prepare_v2(store_db(s),
	                        "SELECT count(*) FROM sqlite_master WHERE name = 'ship_state'", -1,
	                        &st, NULL);
	rc = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	st = NULL;
	if (rc <= 0) {
		if (rc < 0)
			db_error(s, "cannot read the ship state");
		return rc;
	}
	rc = sqlite3_prepare_v2(store_db(s),
	                        "SELECT destination, sensor, last_error, last_id, shipped, "
	                        "(SELECT count(*) FROM conn WHERE id > last_id), "
	                        "coalesce(last_success, 0), coalesce(last_attempt, 0) "
	                        "FROM ship_state ORDER BY destination",
	                        -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_status o = {
		    .destination = (const char *)sqlite3_column_text(st, 0),
		    .sensor = (const char *)sqlite3_column_text(st, 1),
		    .last_error = (const char *)sqlite3_column_text(st, 2),
		    .last_id = sqlite3_column_int64(st, 3),
		    .shipped = sqlite3_column_int64(st, 4),
		    .pending = sqlite3_column_int64(st, 5),
		    .last_success = sqlite3_column_double(st, 6),
		    .last_attempt = sqlite3_column_double(st, 7),
		};

		fn(ctx, &o);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		db_error(s, "cannot read the ship state");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
