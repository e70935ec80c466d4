/*
 * writer.h: the only thread that touches the database while packets are read. The census hands
 * it finished records through a bounded queue, so a slow disk never stalls the capture; the
 * writer commits at least once a second. Reading files blocks on a full queue (nothing may be
 * lost); a live capture drops and counts instead (the capture must never wait).
 */
#ifndef TLSCENSUS_WRITER_H
#define TLSCENSUS_WRITER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "tlscensus/sink.h"

enum writer_mode {
	WRITER_BLOCK, /* a full queue makes the caller wait */
	WRITER_DROP,  /* a full queue drops the record and counts it */
};

/* Records in flight at most: bounds the memory held by the queue (about 15 MiB of items, and
 * the hellos they hold: up to ~6 KiB each for a ClientHello's lists). */
#define WRITER_QUEUE 32768
/* The same for a writer started in WRITER_BLOCK mode (reading files). 4096 made the packet
 * thread wait whenever the writer paused (a commit, a checkpoint step, its core taken): perf
 * sched put those waits at 40-60 ms of a 0.55 s bench-1G read. 16384 keeps bench-flows' peak
 * RSS at 141 MiB (133 with 4096); 32768 was no faster. */
#define WRITER_QUEUE_BLOCK 16384
/* Records the writer thread holds back, for the connection's end to come and be written with
 * them in one INSERT (writer.c); written before every commit. */
#define WRITER_PENDING 2048

/* Packet threads one writer serves at most (--workers). */
#define WRITER_MAX_PORTS 64

struct writer;
struct writer_port;

/* Starts the writer thread over an open, writable store. NULL when the thread cannot start. */
struct writer *writer_start(struct store *st, enum writer_mode mode);

/*
 * The same with nports producers: each packet thread hands its records to its own port (its
 * own staging and its own memory to free), and the run's counters are the sum of what each
 * port last reported. Tokens are per port. writer_put() and the rest below use port 0.
 */
struct writer *writer_start_ports(struct store *st, enum writer_mode mode, unsigned nports);
struct writer_port *writer_port(struct writer *w, unsigned i);
int writer_port_put(struct writer_port *p, uint64_t token, const struct tc_record *r,
                    struct tc_handshake *hs);
int writer_port_touch(struct writer_port *p, uint64_t token, const struct tc_record *r,
                      int changed);
int writer_port_run_stats(struct writer_port *p, const struct run_stats *st);
int writer_port_prune(struct writer_port *p, double before_unix);
void writer_port_sync(struct writer_port *p);
/* A port as a census sink. */
const struct tc_sink *writer_port_sink(struct writer_port *p);

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
 * packets left to protect, so what it still records must not be dropped. Call it while no
 * producer is running (it flushes every port's staging). */
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

/*
 * A reader of what is written, on the writer thread (the log stream): fn is called after each
 * connection row is written, with its id (read it back through st: the row is in the open
 * batch, visible on this connection), and once with row -1 when the writer stops, to release
 * what it holds on st. fn must not block for long: the queue fills meanwhile (a live capture
 * then drops records). Set it before records are queued.
 */
typedef void (*writer_record_fn)(void *ctx, struct store *st, int64_t row);
void writer_on_record(struct writer *w, writer_record_fn fn, void *ctx);

/*
 * Names the labels of records that carry label_by_sni (the census left them to the writer, so
 * nDPI's host-name matching runs on this thread, not on the one that sets a read's pace): fn
 * writes the label of the ClientHello's SNI (raw bytes, len of them) into out (outlen bytes,
 * "" for none). Called on the writer thread only. Set it before records are queued; without
 * it such records keep no label.
 */
typedef void (*writer_label_fn)(void *ctx, const char *sni, size_t len, uint64_t key, char *out,
                                size_t outlen);
/* ahead (may be NULL) is called a few records before fn, with the same SNI: it may start the
 * loads fn will wait for, and what it returns is fn's key (0 without ahead): work on the SNI
 * that fn need not do again. */
typedef uint64_t (*writer_label_ahead_fn)(void *ctx, const char *sni, size_t len);
void writer_on_label(struct writer *w, writer_label_fn fn, writer_label_ahead_fn ahead, void *ctx);

/* Drains the queue, commits, stops the thread and frees the writer (the store stays open). */
void writer_stop(struct writer *w);

#endif
