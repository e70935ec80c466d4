/*
 * outbox.h: the database as the outbox of a central store (src/fleet ships it to ClickHouse).
 * The rows to send are read here, as plain values in the order of a column table, and the
 * ship_state table (schema.c) remembers, per destination, what was acknowledged. Nothing here
 * speaks HTTP; the SQL stays in the store's room.
 */
#ifndef TLSCENSUS_STORE_OUTBOX_H
#define TLSCENSUS_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum outbox_kind { OUTBOX_INT, OUTBOX_REAL, OUTBOX_TEXT };

struct outbox_column {
	const char *name; /* as the view (or table) names it, and the central table too */
	enum outbox_kind kind;
	int not_null;
};

struct outbox_table {
	const char *name; /* the central table's name */
	const struct outbox_column *cols;
	size_t ncols;
};

/* connections: every column of the view `connections`, then retry and summarized as the view
 * inventory_keys says, and has_hello (the connection is in the inventory). runs: the runs
 * table. inventory_kept: what pruning folded before shipping began (its id first). */
extern const struct outbox_table outbox_connections, outbox_runs, outbox_inventory;

/* One cell; text is not NUL-terminated-safe to keep (valid until the row callback returns). */
struct outbox_value {
	int null;
	int64_t i;
	double d;
	const char *text;
	size_t len;
};

/* Takes one row (the table's ncols values); nonzero stops the reading. */
typedef int (*outbox_row_fn)(void *ctx, const struct outbox_value *row);

struct outbox_state {
	char sensor[128];
	int64_t last_id;    /* conn rows up to this id are acknowledged */
	int inventory_done; /* inventory_kept's rows from before shipping are acknowledged */
	int64_t runs_from;  /* runs from this id on are sent again */
	int64_t shipped;    /* conn rows acknowledged, in all */
};

/* The destination's state; a new destination starts at nothing acknowledged, under sensor.
 * -1 with the reason in err, also when the destination already took this database's rows
 * under another sensor name (they would be counted twice). */
int outbox_state_get(struct store *s, const char *destination, const char *sensor,
                     struct outbox_state *out, char *err, size_t errlen);
/* Records an acknowledgement (error NULL) or a failed attempt (state then unchanged). */
int outbox_state_put(struct store *s, const char *destination, const struct outbox_state *st,
                     const char *error);

/* Up to limit connection rows after id `after`, in id order, stopping before the first row
 * that started at or after hold_from (0: no hold). *last: the id of the last row given.
 * Returns the rows given, or -1 (message on stderr). */
int outbox_connections_read(struct store *s, int64_t after, int limit, double hold_from,
                            outbox_row_fn fn, void *ctx, int64_t *last);
/* The runs from id `from` on; *next_from: the first of them still running (or the next id). */
int outbox_runs_read(struct store *s, int64_t from, outbox_row_fn fn, void *ctx,
                     int64_t *next_from);
int outbox_inventory_read(struct store *s, outbox_row_fn fn, void *ctx);
/* Connection rows after `after`; -1 on error. */
int64_t outbox_pending(struct store *s, int64_t after);

/* One destination as ship_state keeps it, with the rows still to send. */
struct outbox_status {
	const char *destination, *sensor, *last_error; /* last_error NULL: none */
	int64_t last_id, shipped, pending;
	double last_success, last_attempt; /* 0: never */
};

/* Calls fn for every destination this database ships to; 0 (also when it never shipped), or
 * -1 with a message on stderr. Works on a read-only store. */
int outbox_status_read(struct store *s, void (*fn)(void *ctx, const struct outbox_status *st),
                       void *ctx);

#endif
