/*
 * writer.h: the only thread that touches the database while packets are read. The census hands
 * it finished records through a bounded queue, so a slow disk never stalls the capture; the
 * writer commits at least once a second. Reading files blocks on a full queue (nothing may be
 * lost); a live capture drops and counts instead (the capture must never wait).
 */
#ifndef TLSCENSUS_WRITER_H
#define TLSCENSUS_WRITER_H

#include <signal.h>
#include <stdint.h>

#include "store.h"
#include "tlscensus/sink.h"

enum writer_mode {
	WRITER_BLOCK, /* a full queue makes the caller wait */
	WRITER_DROP,  /* a full queue drops the record and counts it */
};

/* Records in flight at most (~15 MiB): bounds the memory held by the queue. */
#define WRITER_QUEUE 32768

struct writer;

/* Starts the writer thread over an open, writable store. NULL when the thread cannot start. */
struct writer *writer_start(struct store *st, enum writer_mode mode);

/*
 * Queues a connection record. token names the connection for a later writer_touch. The writer
 * takes ownership of hs->ch and hs->sh (they are set to NULL in *hs); everything else in r is
 * copied. Returns 0, or -1 when the record was dropped (WRITER_DROP and a full queue).
 */
int writer_put(struct writer *w, uint64_t token, const struct tc_record *r,
               struct tc_handshake *hs);

/* The connection saw packets after it was recorded: move last_ts and the counters. changed = 0
 * just lets the writer forget the token. */
int writer_touch(struct writer *w, uint64_t token, const struct tc_record *r, int changed);

/* Run counters to store now (a live capture refreshes them, so reports see coverage even after
 * a crash). */
int writer_run_stats(struct writer *w, const struct run_stats *st);

/* Deletes connection rows last seen before the given time, a bounded batch at a time (the
 * inventory keeps their summary). */
int writer_prune(struct writer *w, double before_unix);

/* The run starts (done 0) or has finished (done 1) reading this file (store_input_mark), in
 * order with the records around it. */
int writer_input(struct writer *w, const struct store_input *in, int done);

/* Blocks until everything queued so far is committed. */
void writer_sync(struct writer *w);

/* Switches between dropping and waiting on a full queue: a capture that is stopping has no
 * packets left to protect, so what it still records must not be dropped. */
void writer_set_mode(struct writer *w, enum writer_mode mode);

/* Records dropped because the queue was full. */
uint64_t writer_dropped(struct writer *w);
/* Reading files: the first write that fails (disk full, I/O error) stops every later write and
 * sets *flag, so the reader stops too. Without it (a capture) the writer goes on, retrying. */
void writer_stop_on_failure(struct writer *w, volatile sig_atomic_t *flag);
int writer_failed(struct writer *w);
/* Connection records committed, and lost to writes that failed (rolled back, or not written
 * after the failure that stopped a read). */
uint64_t writer_committed(struct writer *w);
uint64_t writer_lost(struct writer *w);
/* Database errors met by the writer thread (each also reported on stderr). */
uint64_t writer_errors(struct writer *w);

/* The writer as a census sink (put, touch, run_stats, prune, sync, dropped above). */
const struct tc_sink *writer_sink(struct writer *w);

/* Drains the queue, commits, stops the thread and frees the writer (the store stays open). */
void writer_stop(struct writer *w);

#endif
