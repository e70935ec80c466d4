/*
 * ship.c: the outbox to ClickHouse (ship.h). Order of a pass: the central tables (once per
 * process), then what the sensor pruned before shipping began (inventory_kept, once per
 * destination), the runs (again while they run), the connection rows in batches, and, with
 * --ttl, dropping the months that are older. Each step is acknowledged in ship_state before the
 * next, so a crash or kill -9 resumes at the step and batch it was in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ch_schema.h"
#include "outbox.h"
#include "pair_row.h"
#include "ship.h"
#include "store.h"
#include "util.h"

#define TTL_EVERY_S 3600.0 /* months are checked for --ttl at most this often */

struct shipper {
	struct ship_config cfg;
	struct store *store;
	struct ch *ch;
	char destination[1024];
	int schema_ready;
	double ttl_checked; /* monotonic */
	struct ship_stats stats;
	/* the batch being built */
	struct sbuf rows;
	const struct outbox_table *table;
	uint64_t shipped_at;
	size_t nrows;
};

int ship_sensor_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._:-", s[i])))
			return 0;
	return 1;
}

struct shipper *ship_open(const struct ship_config *cfg, int *db_failed, char *err, size_t errlen)
{
	struct shipper *sh;
	struct stat sb;

	*db_failed = 0;
	if (!ship_sensor_valid(cfg->sensor)) {
		snprintf(
		    err, errlen,
		    "sensor name '%s': use 1 to 64 letters, digits and . _ : - (--sensor NAME)",
		    cfg->sensor);
		return NULL;
	}
	/* Shipping creates nothing: a missing file is a mistyped path. */
	if (stat(cfg->db_path, &sb) != 0) {
		snprintf(err, errlen, "no database '%s': %s", cfg->db_path, strerror(errno));
		*db_failed = 1;
		return NULL;
	}
	sh = calloc(1, sizeof *sh);
	if (!sh) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sh->cfg = *cfg;
	if (!sh->cfg.batch_rows)
		sh->cfg.batch_rows = SHIP_BATCH_ROWS;
	sh->stats.pending = -1;
	sh->ch = ch_open(&cfg->ch, err, errlen);
	if (sh->ch && !(sh->store = store_open(cfg->db_path, STORE_READ_WRITE, err, errlen)))
		*db_failed = 1;
	if (!sh->ch || !sh->store) {
		ship_close(sh);
		return NULL;
	}
	snprintf(sh->destination, sizeof sh->destination, "%s/%s", ch_url(sh->ch),
	         ch_database(sh->ch));
	return sh;
}

void ship_close(struct shipper *sh)
{
	if (!sh)
		return;
	store_close(sh->store);
	ch_close(sh->ch);
	sb_free(&sh->rows);
	free(sh);
}

void ship_set_hold(struct shipper *sh, double hold_s)
{
	sh->cfg.hold_s = hold_s;
}

const struct ship_stats *ship_stats(const struct shipper *sh)
{
	return &sh->stats;
}

const char *ship_destination(const struct shipper *sh)
{
	return sh->destination;
}

/* ---------------------------------------------------------------- rows as TabSeparated */

static void put_value(struct sbuf *b, const struct outbox_column *col, const struct outbox_value *v)
{
	char num[40];

	if (v->null) {
		sb_put(b, "\\N", 2);
		return;
	}
	switch (col->kind) {
	case OUTBOX_INT:
		snprintf(num, sizeof num, "%lld", (long long)v->i);
		sb_put(b, num, strlen(num));
		break;
	case OUTBOX_REAL:
		/* 17 digits: ClickHouse reads back the same double */
		snprintf(num, sizeof num, "%.17g", v->d);
		sb_put(b, num, strlen(num));
		break;
	case OUTBOX_TEXT:
		ch_tsv_put(b, v->text, v->len);
		break;
	}
}

/* One row: sensor, the table's columns, shipped_at. */
static int add_row(void *ctx, const struct outbox_value *row)
{
	struct shipper *sh = ctx;
	char num[24];

	ch_tsv_put(&sh->rows, sh->cfg.sensor, strlen(sh->cfg.sensor));
	for (size_t i = 0; i < sh->table->ncols; i++) {
		sb_putc(&sh->rows, '\t');
		put_value(&sh->rows, &sh->table->cols[i], &row[i]);
	}
	snprintf(num, sizeof num, "\t%llu\n", (unsigned long long)sh->shipped_at);
	sb_put(&sh->rows, num, strlen(num));
	sh->nrows++;
	return sh->rows.failed;
}

static void batch_begin(struct shipper *sh, const struct outbox_table *t)
{
	sb_reset(&sh->rows);
	sh->rows.failed = 0;
	sh->table = t;
	sh->nrows = 0;
	/* microseconds: a batch sent again replaces the earlier copy (ReplacingMergeTree) */
	sh->shipped_at = (uint64_t)(tc_now_unix() * 1e6);
}

/* INSERT INTO `db`.`table` (sensor, columns, shipped_at) FORMAT TabSeparated, the rows as the
 * body. An INSERT this size is one block, which ClickHouse writes whole or not at all. */
static int batch_send(struct shipper *sh, const char *table, const char *lead, char *err,
                      size_t errlen)
{
	struct sbuf sql = {0};
	int rc;

	if (!sh->nrows)
		return 0;
	if (sh->rows.failed) {
		snprintf(err, errlen, "out of memory for a batch of %zu rows", sh->nrows);
		return -1;
	}
	ch_sqlf(&sql, "INSERT INTO ");
	ch_table(&sql, sh->ch, table);
	ch_sqlf(&sql, " (%s`sensor`", lead);
	for (size_t i = 0; i < sh->table->ncols; i++)
		ch_sqlf(&sql, ", `%s`", sh->table->cols[i].name);
	ch_sqlf(&sql, ", `shipped_at`) FORMAT TabSeparated");
	rc = sql.failed ? -1 : ch_query(sh->ch, sql.p, sh->rows.p, sh->rows.len, NULL, err, errlen);
	sb_free(&sql);
	return rc;
}

/* ---------------------------------------------------------------- steps */

/* Each step returns -1 when ClickHouse failed (try again later), -2 when the database did. */
static int db_failed(struct shipper *sh, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "database '%s': %s (the message above says why)", sh->cfg.db_path,
	         what);
	return -2;
}

static int ship_inventory(struct shipper *sh, struct outbox_state *st, char *err, size_t errlen)
{
	batch_begin(sh, &outbox_inventory);
	if (outbox_inventory_read(sh->store, add_row, sh))
		return db_failed(sh, err, errlen, "cannot read the inventory to ship");
	if (batch_send(sh, "inventory_kept", "", err, errlen))
		return -1;
	st->inventory_done = 1;
	if (outbox_state_put(sh->store, sh->destination, st, NULL))
		return db_failed(sh, err, errlen, "cannot record what ClickHouse acknowledged");
	return 0;
}

static int ship_runs(struct shipper *sh, struct outbox_state *st, char *err, size_t errlen)
{
	int64_t next = st->runs_from;

	batch_begin(sh, &outbox_runs);
	if (outbox_runs_read(sh->store, st->runs_from, add_row, sh, &next))
		return db_failed(sh, err, errlen, "cannot read the runs to ship");
	if (batch_send(sh, "runs", "", err, errlen))
		return -1;
	if (next == st->runs_from)
		return 0;
	st->runs_from = next;
	if (outbox_state_put(sh->store, sh->destination, st, NULL))
		return db_failed(sh, err, errlen, "cannot record what ClickHouse acknowledged");
	return 0;
}

/* One batch of connection rows: 1 sent, 0 nothing left, -1 failed. */
static int ship_batch(struct shipper *sh, struct outbox_state *st, char *err, size_t errlen)
{
	double hold = sh->cfg.hold_s > 0 ? tc_now_unix() - sh->cfg.hold_s : 0;
	int64_t last;
	int n;

	batch_begin(sh, &outbox_connections);
	n = outbox_connections_read(sh->store, st->last_id, sh->cfg.batch_rows, hold, add_row, sh,
	                            &last);
	if (n < 0)
		return db_failed(sh, err, errlen, "cannot read the connections to ship");
	if (n == 0)
		return 0;
	if (batch_send(sh, "connections", "", err, errlen))
		return -1;
	st->last_id = last;
	st->shipped += n;
	sh->stats.shipped += (uint64_t)n;
	sh->stats.batches++;
	if (outbox_state_put(sh->store, sh->destination, st, NULL))
		return db_failed(sh, err, errlen, "cannot record what ClickHouse acknowledged");
	return 1;
}

/* --ttl: months whose last day is older than the limit are folded into inventory_folded (the
 * inventory keeps them, as --retain does locally), then dropped. 18.16 has no TTL clause. */
static int apply_ttl(struct shipper *sh, char *err, size_t errlen)
{
	struct sbuf sql = {0}, out = {0};
	time_t limit = (time_t)(tc_now_unix() - sh->cfg.ttl_s);
	struct tm tm;
	char keys[PAIR_KEY_NAMES_MAX], *f[1];
	int rc;

	gmtime_r(&limit, &tm);
	/* a month is dropped when it ended before the limit: its number is below the limit's */
	unsigned before = (unsigned)(tm.tm_year + 1900) * 100 + (unsigned)tm.tm_mon + 1;
	ch_sqlf(&sql, "SELECT DISTINCT partition FROM system.parts WHERE active AND database = ");
	ch_quote(&sql, ch_database(sh->ch));
	ch_sqlf(&sql, " AND table = 'connections' FORMAT TabSeparated");
	rc = sql.failed ? -1 : ch_query(sh->ch, sql.p, NULL, 0, &out, err, errlen);
	pair_key_names(keys);
	for (struct ch_rows r = {out.p, out.p + out.len}; rc == 0 && ch_rows_next(&r, f, 1);) {
		unsigned month = f[0] ? (unsigned)strtoul(f[0], NULL, 10) : 0;
		char cond[96];

		if (!month || month >= before)
			continue;
		snprintf(cond, sizeof cond,
		         "toYYYYMM(toDateTime(toUInt32(greatest(first_ts, 0)))) = %u", month);
		sb_reset(&sql);
		ch_sqlf(&sql, "INSERT INTO ");
		ch_table(&sql, sh->ch, "inventory_folded");
		ch_sqlf(&sql,
		        " (month, key_hash, sensor, %s, connections, first_seen, last_seen, "
		        "shipped_at) SELECT %u, cityHash64(%s), sensor, %s, toInt64(count()), "
		        "min(first_ts), max(first_ts), toUInt64(%llu) FROM ",
		        keys, month, keys, keys, (unsigned long long)(tc_now_unix() * 1e6));
		ch_key_rows(&sql, sh->ch, "", cond);
		ch_sqlf(&sql, " WHERE summarized = 0 GROUP BY sensor, %s", keys);
		rc = sql.failed ? -1 : ch_query(sh->ch, sql.p, NULL, 0, NULL, err, errlen);
		sb_reset(&sql);
		ch_sqlf(&sql, "ALTER TABLE ");
		ch_table(&sql, sh->ch, "connections");
		ch_sqlf(&sql, " DROP PARTITION %u", month);
		if (rc == 0)
			rc = sql.failed ? -1 : ch_query(sh->ch, sql.p, NULL, 0, NULL, err, errlen);
		if (rc == 0)
			fprintf(stderr,
			        "tlscensus: ClickHouse at %s: dropped the connections of %u "
			        "(--ttl); the inventory keeps them\n",
			        ch_url(sh->ch), month);
	}
	sb_free(&sql);
	sb_free(&out);
	return rc;
}

int ship_pass(struct shipper *sh, const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct outbox_state st = {0};
	double t0 = tc_now_mono();
	uint64_t before = sh->stats.shipped;
	int rc = 0, n = 0;

	err[0] = '\0';
	if (!sh->schema_ready && (rc = ch_schema_ensure(sh->ch, err, errlen)))
		goto failed;
	sh->schema_ready = 1;
	if (outbox_state_get(sh->store, sh->destination, sh->cfg.sensor, &st, err, errlen))
		return -2;
	if ((!st.inventory_done && (rc = ship_inventory(sh, &st, err, errlen))) ||
	    (rc = ship_runs(sh, &st, err, errlen)))
		goto failed;
	while (!(stop && *stop) && (n = ship_batch(sh, &st, err, errlen)) > 0)
		;
	if (!(stop && *stop) && n < 0) {
		rc = n;
		goto failed;
	}
	if (sh->cfg.ttl_s > 0 && (!sh->ttl_checked || t0 - sh->ttl_checked > TTL_EVERY_S)) {
		if ((rc = apply_ttl(sh, err, errlen)))
			goto failed;
		sh->ttl_checked = t0;
	}
	goto done;
failed:
	if (rc == -1) {
		sh->stats.failures++;
		if (!*err)
			snprintf(err, errlen, "ClickHouse at %s: the batch failed", ch_url(sh->ch));
		outbox_state_put(sh->store, sh->destination, NULL, err);
	}
done:
	sh->stats.pending = outbox_pending(sh->store, st.last_id);
	if (sh->stats.shipped > before)
		sh->stats.busy_s += tc_now_mono() - t0;
	return rc;
}
