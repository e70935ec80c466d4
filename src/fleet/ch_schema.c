/*
 * ch_schema.c: DDL and the shared subqueries of the census in ClickHouse (ch_schema.h). The
 * SQL is what ClickHouse 18.16 (Debian 12) understands: custom partitioning and
 * ReplacingMergeTree with a version column, FINAL; no TTL clause (19.6 added it), so --ttl
 * drops whole months (ship.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ch_schema.h"
#include "pair_row.h"

void ch_table(struct sbuf *b, const struct ch *c, const char *table)
{
	ch_sqlf(b, "`%s`.`%s`", ch_database(c), table);
}

static void column_type(struct sbuf *b, const struct outbox_column *col)
{
	const char *base = col->kind == OUTBOX_INT    ? "Int64"
	                   : col->kind == OUTBOX_REAL ? "Float64"
	                                              : "String";

	if (col->not_null)
		ch_sqlf(b, "%s", base);
	else
		ch_sqlf(b, "Nullable(%s)", base);
}

static void create_table(struct sbuf *b, const struct ch *c, const struct outbox_table *t,
                         const char *lead, const char *engine)
{
	ch_sqlf(b, "CREATE TABLE IF NOT EXISTS ");
	ch_table(b, c, t->name);
	ch_sqlf(b, " (%s`sensor` String", lead);
	for (size_t i = 0; i < t->ncols; i++) {
		ch_sqlf(b, ", `%s` ", t->cols[i].name);
		column_type(b, &t->cols[i]);
	}
	ch_sqlf(b, ", `shipped_at` UInt64) ENGINE = %s", engine);
}

static int run(struct ch *c, struct sbuf *sql, char *err, size_t errlen)
{
	int rc;

	if (sql->failed) {
		snprintf(err, errlen, "out of memory for a ClickHouse query");
		return -1;
	}
	rc = ch_query(c, sql->p, NULL, 0, NULL, err, errlen);
	sb_reset(sql);
	return rc;
}

/* Columns a table lacks (a newer tlscensus added them to the view): ALTER TABLE ADD COLUMN. */
static int add_missing(struct ch *c, const struct outbox_table *t, char *err, size_t errlen)
{
	struct sbuf sql = {0}, out = {0};
	int rc;

	ch_sqlf(&sql, "SELECT name FROM system.columns WHERE database = ");
	ch_quote(&sql, ch_database(c));
	ch_sqlf(&sql, " AND table = ");
	ch_quote(&sql, t->name);
	ch_sqlf(&sql, " FORMAT TabSeparated");
	rc = sql.failed ? -1 : ch_query(c, sql.p, NULL, 0, &out, err, errlen);
	sb_reset(&sql);
	for (size_t i = 0; rc == 0 && i < t->ncols; i++) {
		struct ch_rows rows = {out.p, out.p + out.len};
		char *f[1];
		int found = 0;
		char *copy = out.len ? malloc(out.len) : NULL;

		/* ch_rows_next unescapes in place: walk a copy. */
		if (copy) {
			memcpy(copy, out.p, out.len);
			rows = (struct ch_rows){copy, copy + out.len};
		}
		while (!found && ch_rows_next(&rows, f, 1) == 1)
			found = f[0] && !strcmp(f[0], t->cols[i].name);
		free(copy);
		if (found)
			continue;
		ch_sqlf(&sql, "ALTER TABLE ");
		ch_table(&sql, c, t->name);
		ch_sqlf(&sql, " ADD COLUMN `%s` ", t->cols[i].name);
		column_type(&sql, &t->cols[i]);
		rc = run(c, &sql, err, errlen);
	}
	sb_free(&sql);
	sb_free(&out);
	return rc;
}

int ch_schema_ensure(struct ch *c, char *err, size_t errlen)
{
	struct sbuf sql = {0};
	int rc;

	ch_sqlf(&sql, "CREATE DATABASE IF NOT EXISTS `%s`", ch_database(c));
	rc = run(c, &sql, err, errlen);
	if (rc == 0) {
		create_table(&sql, c, &outbox_connections, "",
		             "ReplacingMergeTree(shipped_at) "
		             "PARTITION BY toYYYYMM(toDateTime(toUInt32(greatest(first_ts, 0)))) "
		             "ORDER BY (client_ip, server_ip, server_port, sensor, id)");
		rc = run(c, &sql, err, errlen);
	}
	if (rc == 0) {
		create_table(&sql, c, &outbox_runs, "",
		             "ReplacingMergeTree(shipped_at) ORDER BY (sensor, id)");
		rc = run(c, &sql, err, errlen);
	}
	if (rc == 0) {
		create_table(&sql, c, &outbox_inventory, "",
		             "ReplacingMergeTree(shipped_at) ORDER BY (sensor, id)");
		rc = run(c, &sql, err, errlen);
	}
	if (rc == 0) {
		/* the kept rows' columns but their sensor-local id: a fold is keyed by its month
		 * and a hash of the key columns, whichever they are when it is made */
		const struct outbox_table folded = {"inventory_folded", outbox_inventory.cols + 1,
		                                    outbox_inventory.ncols - 1};

		create_table(&sql, c, &folded, "`month` UInt32, `key_hash` UInt64, ",
		             "ReplacingMergeTree(shipped_at) ORDER BY (month, sensor, key_hash)");
		rc = run(c, &sql, err, errlen);
	}
	if (rc == 0) {
		ch_sqlf(&sql, "CREATE TABLE IF NOT EXISTS ");
		ch_table(&sql, c, "reports");
		ch_sqlf(&sql,
		        " (`generated_at` Float64, `seq` UInt64, `since` Nullable(Float64), "
		        "`until` Float64, `policy` String, `scope` String, `sensors` String, "
		        "`format` String, `path` Nullable(String), `legacy_clients` String) "
		        "ENGINE = MergeTree ORDER BY (policy, scope, sensors, generated_at, seq)");
		rc = run(c, &sql, err, errlen);
	}
	if (rc == 0)
		rc = add_missing(c, &outbox_connections, err, errlen);
	if (rc == 0)
		rc = add_missing(c, &outbox_runs, err, errlen);
	if (rc == 0)
		rc = add_missing(c, &outbox_inventory, err, errlen);
	sb_free(&sql);
	return rc;
}

int ch_schema_present(struct ch *c, char *err, size_t errlen)
{
	struct sbuf sql = {0}, out = {0};
	int rc;

	ch_sqlf(&sql, "SELECT count() FROM system.tables WHERE database = ");
	ch_quote(&sql, ch_database(c));
	ch_sqlf(&sql, " AND name IN ('connections', 'runs', 'inventory_kept', "
	              "'inventory_folded') FORMAT TabSeparated");
	rc = sql.failed ? -1 : ch_query(c, sql.p, NULL, 0, &out, err, errlen);
	if (rc == 0)
		rc = out.p && atoi(out.p) == 4;
	sb_free(&sql);
	sb_free(&out);
	return rc;
}

void ch_conn_rows(struct sbuf *b, const struct ch *c, const char *sensors, const char *where)
{
	ch_sqlf(b, "(SELECT * FROM ");
	ch_table(b, c, "connections");
	ch_sqlf(b, " FINAL WHERE 1%s%s%s)", sensors, where ? " AND " : "", where ? where : "");
}

/* pair_columns[i] as the inventory sees it: NULL as the column's "none" */
static void key_column(struct sbuf *b, const struct pair_column *p)
{
	if (p->none)
		ch_sqlf(b, ", ifNull(`%s`, %s) AS `%s`", p->name, p->none, p->name);
	else
		ch_sqlf(b, ", `%s`", p->name);
}

void ch_key_rows(struct sbuf *b, const struct ch *c, const char *sensors, const char *where)
{
	ch_sqlf(b, "(SELECT sensor, id, first_ts");
	for (size_t i = 0; i < pair_key_count; i++)
		key_column(b, &pair_columns[i]);
	for (size_t i = 0; i < pair_kx_count; i++)
		key_column(b, &pair_columns[pair_key_count + PAIR_COUNTS + i]);
	ch_sqlf(b, ", summarized FROM ");
	ch_table(b, c, "connections");
	ch_sqlf(b, " FINAL WHERE has_hello = 1%s%s%s)", sensors, where ? " AND " : "",
	        where ? where : "");
}

void ch_inventory_rows(struct sbuf *b, const struct ch *c, const char *sensors)
{
	static const char *const kept[] = {"inventory_kept", "inventory_folded"};
	char keys[PAIR_KEY_NAMES_MAX];

	pair_key_names(keys);
	/* what was folded has no key-exchange facts: NULL, as in SQLite's view inventory */
	for (size_t i = 0; i < 2; i++) {
		ch_sqlf(b, "SELECT %s, connections, first_seen, last_seen", keys);
		for (size_t k = 0; k < pair_kx_count; k++) {
			const struct pair_column *p =
			    &pair_columns[pair_key_count + PAIR_COUNTS + k];

			ch_sqlf(b, ", CAST(NULL AS Nullable(%s)) AS `%s`",
			        p->cell == PAIR_GROUPS ? "String" : "Int64", p->name);
		}
		ch_sqlf(b, " FROM ");
		ch_table(b, c, kept[i]);
		ch_sqlf(b, " FINAL WHERE 1%s UNION ALL ", sensors);
	}
	ch_sqlf(b, "SELECT %s, toInt64(1), first_ts, first_ts", keys);
	for (size_t k = 0; k < pair_kx_count; k++)
		ch_sqlf(b, ", toNullable(`%s`)",
		        pair_columns[pair_key_count + PAIR_COUNTS + k].name);
	ch_sqlf(b, " FROM ");
	ch_key_rows(b, c, sensors, "summarized = 0");
}
