/*
 * logstream.h: the --log stream of read and capture: one NDJSON line per connection as it is
 * recorded (the keys of `export`, records.h), for Filebeat, Vector or Fluent Bit to ship to a
 * SIEM. Lines are made on the writer thread (writer_on_record) and written by a thread of
 * their own, so neither a full disk nor a slow reader ever reaches the capture: a live capture
 * drops and counts what the stream cannot take, reading files waits.
 */
#ifndef TLSCENSUS_LOGSTREAM_H
#define TLSCENSUS_LOGSTREAM_H

#include <signal.h>
#include <stdint.h>

#include "legacy.h"
#include "store.h"

/* Bytes of lines buffered at most before the stream drops (or waits). */
#define LOGSTREAM_BUFFER (4u << 20)

struct logstream_config {
	const char *path; /* appended to, created 0640 (with the umask); "-": standard output */
	int may_wait;     /* 1: a full buffer makes the writer wait (reading files) */
	/* set (by a SIGHUP handler) to have the file opened again by name, for logrotate */
	volatile sig_atomic_t *reopen;
	const struct legacy_query *q; /* the judge's policy, catalog, hints; outlives the stream */
};

struct logstream;

/* Opens the file and starts the stream's thread; NULL with a message naming the file in err. */
struct logstream *logstream_open(const struct logstream_config *cfg, char *err, size_t errlen);
/* writer_record_fn (writer.h): the line of connection row into the stream. */
void logstream_record(void *ls, struct store *st, int64_t row);
/* Writes what is buffered, stops the thread, closes the file, and frees the stream. Returns the
 * lines lost (dropped for a full buffer, or not written: the message said why). */
uint64_t logstream_close(struct logstream *ls);
/* Lines lost so far. */
uint64_t logstream_dropped(struct logstream *ls);

#endif
