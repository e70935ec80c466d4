/*
 * ship.h: a sensor's database shipped to ClickHouse. The database is the outbox: rows are read
 * in id order after what the destination acknowledged (store/outbox.h), sent as one INSERT per
 * batch, and the mark moves only once ClickHouse said yes. A batch sent again after a lost
 * answer is the same (sensor, id) rows, which the central tables count once. Used by
 * `tlscensus ship` and by the shipping thread of `capture --ship`.
 */
#ifndef TLSCENSUS_FLEET_SHIP_H
#define TLSCENSUS_FLEET_SHIP_H

#include <signal.h>
#include <stdint.h>

#include "clickhouse.h"

#define SHIP_BATCH_ROWS 10000

struct ship_config {
	struct ch_config ch;
	const char *db_path;
	const char *sensor; /* the name this database's rows carry centrally */
	int batch_rows;     /* 0: SHIP_BATCH_ROWS */
	double hold_s;      /* rows that started less than this ago wait (capture --ship) */
	double ttl_s;       /* months of connections older than this are dropped centrally */
};

struct ship_stats {
	uint64_t shipped; /* connection rows acknowledged by this process */
	uint64_t batches;
	int64_t pending;   /* rows not yet acknowledged, after the last pass; -1: unknown */
	uint64_t failures; /* passes that failed (server down, refused) */
	double busy_s;     /* seconds spent in passes that shipped rows */
};

struct shipper;

/* Opens the database (it must exist) and prepares the connection to ClickHouse; no request
 * yet. NULL with the reason in err, and *db_failed set when the database was the reason
 * (else the configuration: URL, credentials, sensor name). */
struct shipper *ship_open(const struct ship_config *cfg, int *db_failed, char *err, size_t errlen);
void ship_close(struct shipper *sh);

/* Ships everything pending now, batch after batch, until nothing is left or *stop is set.
 * 0 when all was acknowledged; -1 when ClickHouse could not be reached or refused (worth
 * trying again later), -2 when the database failed; the reason in err. Either way the rows
 * not acknowledged stay in the outbox. */
int ship_pass(struct shipper *sh, const volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Changes hold_s (capture --ship ends with a pass that holds nothing back). */
void ship_set_hold(struct shipper *sh, double hold_s);

const struct ship_stats *ship_stats(const struct shipper *sh);
/* The destination as ship_state keys it: URL and database. */
const char *ship_destination(const struct shipper *sh);

/* A sensor name is [A-Za-z0-9._:-], 1 to 64 characters: 1 when s is one. */
int ship_sensor_valid(const char *s);

#endif
