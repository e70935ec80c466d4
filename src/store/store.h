/*
 * store.h: the SQLite room. Applies the schema (versioned), writes connection records in
 * batched transactions through prepared statements, records each run, and answers the
 * front end's queries. Nothing here knows about packets or dissectors.
 */
#ifndef TLSCENSUS_STORE_H
#define TLSCENSUS_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "tlscensus/record.h"

#define STORE_SCHEMA_VERSION 8
/* Rows per transaction; a batch is also committed after 1 s. 65536 made bench-flows 5 % faster
 * and wrote 41 % fewer bytes (a page dirtied by several batches is written once per batch), but
 * a full disk then takes a batch four times larger with it, and the storage test's 3 MiB disk
 * kept nothing of a read: the smaller loss won. */
#define STORE_BATCH 16384

/*
 * SQL for the conn rows that may have started between since and until (unix seconds, both
 * included; SQL parameters or expressions): a row id range from conn_minutes (schema.c,
 * version 7), for a query to AND with its own test of first_ts. SQLite then reads only that
 * range of conn. id names the conn row id in the query (c.id).
 */
#define STORE_CONN_MINUTES(op, since, until)                                                       \
	"(SELECT " op " FROM conn_minutes WHERE minute BETWEEN CAST((" since ") / 60 AS INTEGER) " \
	"AND CAST((" until ") / 60 AS INTEGER))"
#define STORE_CONN_IDS(id, since, until)                                                           \
	" " id " BETWEEN " STORE_CONN_MINUTES("min(lo)", since, until) " AND " STORE_CONN_MINUTES( \
	    "max(hi)", since, until) " "
/* SQL for the earliest first_ts of all conn rows (NULL when there is none), through
 * conn_minutes: the first minute that still holds a row of its own. */
#define STORE_CONN_FIRST_TS                                                                        \
	"(SELECT t FROM (SELECT m.minute, (SELECT min(c.first_ts) FROM conn c WHERE c.id "         \
	"BETWEEN m.lo AND m.hi AND CAST(c.first_ts / 60 AS INTEGER) = m.minute) AS t "             \
	"FROM conn_minutes m) WHERE t IS NOT NULL ORDER BY minute LIMIT 1)"

struct store;

enum store_mode { STORE_READ_WRITE, STORE_READ_ONLY };

/* Opens (creating and migrating when writable) the database. On failure returns NULL and writes
 * a message that names the file into err. */
struct store *store_open(const char *path, enum store_mode mode, char *err, size_t errlen);
void store_close(struct store *s);
/* Checkpoints the WAL on a thread of the store's own from now on, not on the committing one
 * (the writer starts it). -1 when it cannot start: SQLite then checkpoints as before. */
int store_checkpoint_thread(struct store *s);

/* A run groups the records of one invocation; source names the files or interface. */
int store_run_begin(struct store *s, const char *source, const char *command);
int store_run_end(struct store *s, const struct run_stats *st);
/* Refreshes the current run's counters inside the open batch (a live capture does this every
 * minute, so a killed capture still leaves its coverage figures). */
int store_run_update(struct store *s, const struct run_stats *st);
/* The counters of packet thread `worker` of the current run (run_workers), inside the open
 * batch (the writer thread writes them with each run update of a run of several). */
int store_run_worker(struct store *s, unsigned worker, const struct run_stats *st);

/* Queues one record; commits every STORE_BATCH rows and at store_flush/run_end/close.
 * Returns the new row id, or -1 (message on stderr, naming the database). */
int64_t store_put(struct store *s, const struct tc_record *r);
/* store_put in two steps, for a writer with records queued: store_put_ahead works out what
 * the record's row refers to (its hellos' shapes, its SNI's key) and starts the loads of their
 * cache slots; store_put_with, a few records later, writes it (the same as store_put). */
struct store_ahead {
	uint64_t ch_shape, sh_shape, sni_key; /* 0: none, or worked out by store_put_with */
};
void store_put_ahead(struct store *s, const struct tc_record *r, struct store_ahead *a);
int64_t store_put_with(struct store *s, const struct tc_record *r, const struct store_ahead *a);
/* Records written STORE_ROWS at a time (store.c says why): store_put_rows writes n records
 * (each with its store_put_ahead) as store_put_with would one by one, and puts each one's row
 * id or -1 in ids. It returns how many it handled: fewer than n when a write fault lost the
 * transaction, after which the caller decides about the rest as after a store_put_with that
 * failed. Fewer than STORE_ROWS records go one by one. */
#define STORE_ROWS 16
size_t store_put_rows(struct store *s, const struct tc_record *const *r,
                      const struct store_ahead *a, size_t n, int64_t *ids);
/* For the tests: rows store_put_rows wrote STORE_ROWS to a statement (not one by one). */
uint64_t store_rows_batched(const struct store *s);
/* A record already written saw later packets: move last_ts and the counters. */
int store_touch(struct store *s, int64_t id, const struct tc_record *r);
int store_flush(struct store *s);
/* How many rows of names the writer keeps in memory at most (STORE_NAMES_HELD in store.c):
 * past them, names are looked up through the index names_name, made then. For tests, which
 * reach that path with a few names. */
void store_names_held(struct store *s, size_t max);
/* Keys the set by these bits of a name's hash only, so that names share keys and each is told
 * apart by its row's text. For tests, before the first write. */
void store_names_key(struct store *s, uint64_t mask);

/* A capture file as a read remembers it (the inputs table). */
struct store_input {
	char path[1024];
	char hash[65]; /* SHA-256 hex of size, first and last MiB */
	int64_t size, mtime, dev, ino;
};

/* What the database remembers of the latest read of a file with this hash. */
struct store_input_seen {
	int64_t id, run, conn_from;
	char status[16]; /* "read", "reading" (cut: disk full, signal, kill), "redone" */
	char path[1024];
	char when[32]; /* the run's start, UTC */
};

/* 1 and *seen filled when a file with hash was read before, 0 when not, -1 on error. */
int store_input_lookup(struct store *s, const char *hash, struct store_input_seen *seen);
/* Deletes the connections a cut read of seen committed, so it can be read again whole (in one
 * transaction; the inputs row becomes 'redone'). The number deleted, or -1. */
int64_t store_input_redo(struct store *s, const struct store_input_seen *seen);
/* The current run starts (done = 0) or finishes (done = 1) reading a file. */
int store_input_mark(struct store *s, const struct store_input *in, int done);
/* Connection rows committed, and rows lost to transactions that could not commit (disk
 * full, I/O error: rolled back, so what was committed before stays). store_failure: why the
 * last write failed, NULL once a commit succeeds again. store_committed_max_id: rows above
 * it are not committed (their ids may be given again after a rollback). */
uint64_t store_committed(const struct store *s);
uint64_t store_lost(const struct store *s);
const char *store_failure(const struct store *s);
int64_t store_committed_max_id(const struct store *s);
/* Deletes up to limit connection rows whose last_ts is before the given time (the inventory
 * keeps their summary) and commits. Returns the rows deleted, or -1. */
int64_t store_prune(struct store *s, double before_unix, int limit);

/* The tls_versions table's facts about a version: 1 and its rank and legacy flag when the
 * table names it, else 0 (readers of other stores order and flag versions the same way). */
int store_version_info(int64_t v, int *rank, int *legacy);

/* Every connection row as NDJSON to out; 0, or -1 with a message on stderr. */
int store_export_ndjson(struct store *s, FILE *out);

/* For the store's readers (export.c, read_pairs.c, report_read.c): the open handle and the
 * file name it was opened from. */
struct sqlite3;
struct sqlite3 *store_db(struct store *s);
const char *store_path(const struct store *s);

/*
 * A handle that may write, for the rows a reader keeps of its own (the report's reports table):
 * the store's own when it was opened read-write; else a second connection to the file, opened on
 * first use (never creating it) and closed with the store, so the census data stays behind the
 * read-only handle. The tables added to schema version 1 late exist on it. NULL when the file
 * may not be written, with SQLite's reason in err.
 */
struct sqlite3 *store_db_write(struct store *s, char *err, size_t errlen);

#endif
