/*
 * logstream.c: the --log stream (logstream.h). Two buffers: the writer thread appends whole
 * lines to the pending one under a lock; the stream's thread swaps it for the empty one and
 * writes it out with write(2) (O_APPEND, so a rotated-away file and its successor never
 * interleave partial lines). The thread wakes when 64 KiB are pending and at least four times
 * a second, so a line reaches the file within a quarter of a second; it also opens the file
 * again when SIGHUP asked (logrotate's postrotate).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logstream.h"
#include "read.h"
#include "records.h"

/* Bytes pending that wake the stream's thread before its timer. */
#define LOGSTREAM_WAKE (64u << 10)

struct buf {
	char *p;
	size_t len;
};

struct logstream {
	char *path;
	int fd, own_fd; /* own_fd 0 for standard output */
	int may_wait;
	volatile sig_atomic_t *reopen;
	const struct legacy_query *q;
	/* the writer thread's */
	struct store_exporter *x;
	struct record_judge *judge;
	FILE *line; /* one line at a time, into line_buf */
	char *line_buf;
	size_t line_cap;
	int broken; /* the exporter or judge could not be made: every line is lost */
	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake, drained;
	struct buf pending;
	int stopping;
	uint64_t dropped;
	/* the stream thread's */
	struct buf out;
	pthread_t thread;
	int warned;
};

static void warn_once(struct logstream *ls, const char *what, int err)
{
	if (ls->warned)
		return;
	ls->warned = 1;
	fprintf(stderr,
	        "tlscensus: --log %s: %s: %s; lines are dropped and counted until it can be "
	        "written (free space, or fix the reader)\n",
	        ls->path, what, strerror(err));
}

static int open_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		snprintf(err, errlen,
		         "--log %s: cannot open it for appending: %s (is its directory "
		         "writable by this user?)",
		         path, strerror(errno));
	return fd;
}

static uint64_t count_lines(const char *p, size_t n)
{
	uint64_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

/* Writes ls->out whole; what cannot be written is counted as lost lines. */
static void write_out(struct logstream *ls)
{
	size_t done = 0;

	while (done < ls->out.len) {
		ssize_t w = write(ls->fd, ls->out.p + done, ls->out.len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			uint64_t lost = count_lines(ls->out.p + done, ls->out.len - done);

			warn_once(ls, "cannot write", w < 0 ? errno : EIO);
			pthread_mutex_lock(&ls->lock);
			ls->dropped += lost;
			pthread_mutex_unlock(&ls->lock);
			break;
		}
		done += (size_t)w;
	}
	ls->out.len = 0;
}

static void reopen_file(struct logstream *ls)
{
	char err[512];
	int fd;

	if (!ls->own_fd)
		return;
	fd = open_file(ls->path, err, sizeof err);
	if (fd < 0) { /* keep writing to the file as it was */
		fprintf(stderr, "tlscensus: %s; still writing to the file it had open\n", err);
		return;
	}
	close(ls->fd);
	ls->fd = fd;
	ls->warned = 0; /* a new file: say again if it fails */
}

static void *stream_main(void *arg)
{
	struct logstream *ls = arg;

	pthread_setname_np(pthread_self(), "tlscensus-log");
	pthread_mutex_lock(&ls->lock);
	for (;;) {
		if (!ls->pending.len && !ls->stopping && !(ls->reopen && *ls->reopen)) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 250 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&ls->wake, &ls->lock, &until);
		}
		int stopping = ls->stopping;
		struct buf t = ls->pending; /* the full buffer out, the empty one in */
		ls->pending = ls->out;
		ls->out = t;
		pthread_cond_broadcast(&ls->drained);
		pthread_mutex_unlock(&ls->lock);
		if (ls->reopen && *ls->reopen) {
			*ls->reopen = 0;
			write_out(ls); /* what was recorded before the signal, to the old file */
			reopen_file(ls);
		}
		write_out(ls);
		pthread_mutex_lock(&ls->lock);
		if (stopping && !ls->pending.len)
			break;
	}
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

struct logstream *logstream_open(const struct logstream_config *cfg, char *err, size_t errlen)
{
	struct logstream *ls = calloc(1, sizeof *ls);

	if (!ls || !(ls->path = strdup(cfg->path)) || !(ls->pending.p = malloc(LOGSTREAM_BUFFER)) ||
	    !(ls->out.p = malloc(LOGSTREAM_BUFFER))) {
		snprintf(err, errlen, "--log %s: out of memory", cfg->path);
		goto fail;
	}
	ls->may_wait = cfg->may_wait;
	ls->reopen = cfg->reopen;
	ls->q = cfg->q;
	if (!strcmp(cfg->path, "-")) {
		ls->fd = STDOUT_FILENO;
	} else {
		if ((ls->fd = open_file(cfg->path, err, errlen)) < 0)
			goto fail;
		ls->own_fd = 1;
	}
	/* A reader that went away must cost lines (EPIPE, counted), not the capture. */
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->wake, NULL);
	pthread_cond_init(&ls->drained, NULL);
	if (pthread_create(&ls->thread, NULL, stream_main, ls) != 0) {
		snprintf(err, errlen, "--log %s: cannot start its thread", cfg->path);
		pthread_mutex_destroy(&ls->lock);
		pthread_cond_destroy(&ls->wake);
		pthread_cond_destroy(&ls->drained);
		if (ls->own_fd)
			close(ls->fd);
		goto fail;
	}
	return ls;
fail:
	if (ls) {
		free(ls->pending.p);
		free(ls->out.p);
		free(ls->path);
	}
	free(ls);
	return NULL;
}

static int make_line(void *ctx, const struct store_export_row *row)
{
	struct logstream *ls = ctx;

	return record_write(ls->judge, row, ls->line);
}

/* The writer's resources on st: made on its thread at the first record, freed at row -1. */
static int writer_side(struct logstream *ls, struct store *st)
{
	if (ls->broken)
		return -1;
	if (ls->x)
		return 0;
	ls->line = open_memstream(&ls->line_buf, &ls->line_cap);
	ls->judge = ls->line ? record_judge_new(ls->q) : NULL;
	ls->x = ls->judge ? store_exporter_new(st) : NULL;
	if (ls->x)
		return 0;
	fprintf(stderr, "tlscensus: --log %s: cannot make the lines; none will be written\n",
	        ls->path);
	ls->broken = 1;
	return -1;
}

void logstream_record(void *arg, struct store *st, int64_t row)
{
	struct logstream *ls = arg;
	size_t n;

	if (row < 0) {
		store_exporter_free(ls->x);
		record_judge_free(ls->judge);
		if (ls->line)
			fclose(ls->line);
		free(ls->line_buf);
		ls->x = NULL;
		ls->judge = NULL;
		ls->line = NULL;
		ls->line_buf = NULL;
		ls->broken = 1; /* nothing after the writer's end */
		return;
	}
	if (writer_side(ls, st))
		goto lost;
	rewind(ls->line);
	/* A row without any hello is not exported, and so not logged either. */
	if (store_export_id(ls->x, row, make_line, ls) != 0)
		goto lost;
	if (fflush(ls->line) || (n = (size_t)ftell(ls->line)) == 0)
		return;
	pthread_mutex_lock(&ls->lock);
	while (ls->may_wait && ls->pending.len + n > LOGSTREAM_BUFFER && !ls->stopping)
		pthread_cond_wait(&ls->drained, &ls->lock);
	if (ls->pending.len + n > LOGSTREAM_BUFFER) {
		ls->dropped++;
	} else {
		memcpy(ls->pending.p + ls->pending.len, ls->line_buf, n);
		/* Woken for a good bunch only (a wake-up per line cost the writer a futex call per
		 * connection); the stream's quarter-second timer takes the rest. */
		if (ls->pending.len < LOGSTREAM_WAKE && ls->pending.len + n >= LOGSTREAM_WAKE)
			pthread_cond_signal(&ls->wake);
		ls->pending.len += n;
	}
	pthread_mutex_unlock(&ls->lock);
	return;
lost:
	pthread_mutex_lock(&ls->lock);
	ls->dropped++;
	pthread_mutex_unlock(&ls->lock);
}

uint64_t logstream_dropped(struct logstream *ls)
{
	uint64_t n;

	pthread_mutex_lock(&ls->lock);
	n = ls->dropped;
	pthread_mutex_unlock(&ls->lock);
	return n;
}

uint64_t logstream_close(struct logstream *ls)
{
	uint64_t lost;

	if (!ls)
		return 0;
	pthread_mutex_lock(&ls->lock);
	ls->stopping = 1;
	pthread_cond_signal(&ls->wake);
	pthread_mutex_unlock(&ls->lock);
	pthread_join(ls->thread, NULL);
	lost = ls->dropped;
	if (ls->own_fd && close(ls->fd) != 0)
		fprintf(stderr, "tlscensus: --log %s: %s\n", ls->path, strerror(errno));
	pthread_mutex_destroy(&ls->lock);
	pthread_cond_destroy(&ls->wake);
	pthread_cond_destroy(&ls->drained);
	free(ls->pending.p);
	free(ls->out.p);
	free(ls->path);
	free(ls);
	return lost;
}
