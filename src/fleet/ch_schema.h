/*
 * ch_schema.h: the census's tables in ClickHouse, made from the outbox's column tables
 * (store/outbox.h) so they mirror the SQLite view `connections` column for column, and the SQL
 * both the shipper and the ClickHouse reader build on: which rows count (FINAL, the sensor
 * filter) and a connection as the inventory keys it (the view inventory_keys, in ClickHouse).
 *
 *   connections     ReplacingMergeTree(shipped_at), PARTITION BY month of first_ts,
 *                   ORDER BY (client_ip, server_ip, server_port, sensor, id): (sensor, id) is
 *                   a record, sent again after a lost acknowledgement and counted once (FINAL)
 *   runs            ReplacingMergeTree(shipped_at) ORDER BY (sensor, id): the latest counters
 *   inventory_kept  ReplacingMergeTree(shipped_at) ORDER BY (sensor, id): what a sensor had
 *                   pruned before it began shipping
 *   inventory_folded  the same per month dropped by --ttl (ORDER BY (month, sensor, key_hash))
 *   reports         MergeTree: the reports over the fleet (--since last, changes)
 */
#ifndef TLSCENSUS_FLEET_CH_SCHEMA_H
#define TLSCENSUS_FLEET_CH_SCHEMA_H

#include "clickhouse.h"
#include "outbox.h"

/* Creates the database and what is missing of the tables and their columns. 0, or -1 with
 * the reason in err. */
int ch_schema_ensure(struct ch *c, char *err, size_t errlen);

/* 1 when the database holds the census tables, 0 when not, -1 on error (err). */
int ch_schema_present(struct ch *c, char *err, size_t errlen);

/* "`db`.`table`" */
void ch_table(struct sbuf *b, const struct ch *c, const char *table);

/* A subquery (parenthesized) over connections FINAL with the sensor condition (" AND ..."
 * or "") and `where` (an SQL condition or NULL): every column. */
void ch_conn_rows(struct sbuf *b, const struct ch *c, const char *sensors, const char *where);

/* The same as the inventory sees a connection: sensor, id, first_ts, the pair key columns and
 * key-exchange columns by their names ('' and -1 for none, pair_row.h) and summarized; only
 * connections with a hello. */
void ch_key_rows(struct sbuf *b, const struct ch *c, const char *sensors, const char *where);

/* The inventory: rows (pair key columns, connections, first_seen, last_seen, key-exchange
 * columns, NULL for folded rows) from what sensors kept, what --ttl folded, and the
 * connections not already counted there (UNION ALL, not yet grouped). */
void ch_inventory_rows(struct sbuf *b, const struct ch *c, const char *sensors);

#endif
