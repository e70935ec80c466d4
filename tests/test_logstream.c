/*
 * test_logstream.c: the --log stream behind the writer. Against a reader that does not read (a
 * FIFO nobody drains), a capture's stream never makes the writer wait: it drops and counts, and
 * every line is either written whole or counted; a file read's stream waits and loses nothing;
 * SIGHUP's flag sends the lines after it to a new file of the same name.
 */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "logstream.h"
#include "store.h"
#include "tc_test.h"

#define ROWS  8
#define LINES 8000

static char dir[] = "/tmp/tc_test_logstreamXXXXXX";
static int64_t ids[ROWS];

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* ROWS TLS 1.0 connections (legacy under the default policy), their ids in ids[]. */
static struct store *make_store(void)
{
	char db[300], err[512];
	struct store *st;

	path_of(db, sizeof db, "log.db");
	if (!(st = store_open(db, STORE_READ_WRITE, err, sizeof err))) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	for (int i = 0; i < ROWS; i++) {
		struct tc_record r;
		struct tc_handshake hs;
		char ip[32];

		memset(&r, 0, sizeof r);
		tc_handshake_init(&hs);
		snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
		tc_addr_parse(ip, &r.client);
		tc_addr_parse("192.0.2.1", &r.server);
		r.client_port = (uint16_t)(40000 + i);
		r.server_port = 443;
		r.transport = 6;
		r.ip_version = 4;
		r.first_ts = r.last_ts = 1704067200000000ULL + (uint64_t)i;
		hs.ch = calloc(1, sizeof *hs.ch);
		tc_client_hello_alloc(hs.ch, &(struct tc_hello_room){.ciphers = 1});
		hs.ch->legacy_version = TC_V_TLS10;
		hs.ch->cipher_n = 1;
		hs.ch->ciphers[0] = 0x002f;
		r.hs = &hs;
		ids[i] = store_put(st, &r);
		tc_client_hello_clear(hs.ch);
		free(hs.ch);
		CHECK(ids[i] > 0);
	}
	return st;
}

struct drain {
	int fd;
	size_t lines, bad, bytes;
	useconds_t pause; /* between reads: a slow reader */
};

/* Reads the FIFO to its end, counting whole lines that look like records. */
static void *drain_main(void *arg)
{
	struct drain *d = arg;
	char buf[65536], line[8192];
	size_t fill = 0;
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (fill < sizeof line)
				line[fill++] = buf[i];
			if (buf[i] != '\n')
				continue;
			d->lines++;
			if (fill < 20 || strncmp(line, "{\"transport\": \"tcp\"", 19) ||
			    strncmp(line + fill - 2, "}\n", 2) ||
			    !memmem(line, fill, "\"verdict\"", 9))
				d->bad++;
			fill = 0;
		}
		d->bytes += (size_t)n;
		if (d->pause)
			usleep(d->pause);
	}
	d->bad += fill != 0; /* a cut line at the end */
	return NULL;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* may_wait 0: a reader that reads nothing until the lines are all handed over. 1: a slow one. */
static void test_fifo(struct store *st, int may_wait)
{
	char fifo[300], err[512];
	struct drain d = {0};
	pthread_t reader;
	struct legacy_query q = {0};

	path_of(fifo, sizeof fifo, may_wait ? "wait.fifo" : "drop.fifo");
	CHECK(mkfifo(fifo, 0600) == 0);
	d.fd = open(fifo, O_RDONLY | O_NONBLOCK); /* so the stream's open does not block */
	fcntl(d.fd, F_SETFL, 0);
	struct logstream_config c = {fifo, may_wait, NULL, &q};
	struct logstream *ls = logstream_open(&c, err, sizeof err);
	CHECK(ls != NULL);
	if (!ls)
		return;
	if (may_wait) {
		d.pause = 200;
		pthread_create(&reader, NULL, drain_main, &d);
	}
	double t0 = mono();
	for (int i = 0; i < LINES; i++)
		logstream_record(ls, st, ids[i % ROWS]);
	double spent = mono() - t0;
	if (!may_wait) {
		/* Nobody read: the pipe and the buffer are full, the rest was dropped and counted,
		 * and the calls came back (this would hang otherwise). */
		CHECK(logstream_dropped(ls) > 0);
		CHECK(logstream_dropped(ls) < LINES);
		pthread_create(&reader, NULL, drain_main, &d);
	}
	logstream_record(ls, st, -1); /* the writer's end: its statements go before the store */
	uint64_t lost = logstream_close(ls);
	pthread_join(reader, NULL);
	close(d.fd);
	unlink(fifo);
	CHECK_EQ(d.bad, 0);
	CHECK_EQ(d.lines + lost, LINES);
	if (may_wait)
		CHECK_EQ(lost, 0);
	else
		CHECK(lost > 0);
	printf("logstream %s: %zu lines written, %llu dropped, %.2f s handing over\n",
	       may_wait ? "wait" : "drop", d.lines, (unsigned long long)lost, spent);
}

static size_t file_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int wait_until(int (*cond)(const char *, size_t), const char *path, size_t n)
{
	for (int i = 0; i < 400; i++) { /* up to 20 s */
		if (cond(path, n))
			return 1;
		usleep(50000);
	}
	return 0;
}

static int has_lines(const char *path, size_t n)
{
	return file_lines(path) >= n;
}

static int exists(const char *path, size_t n)
{
	(void)n;
	return access(path, F_OK) == 0;
}

static void test_reopen(struct store *st)
{
	char log[300], old[300], err[512];
	volatile sig_atomic_t reopen = 0;
	struct legacy_query q = {0};

	path_of(log, sizeof log, "x.ndjson");
	path_of(old, sizeof old, "x.ndjson.1");
	struct logstream_config c = {log, 0, &reopen, &q};
	struct logstream *ls = logstream_open(&c, err, sizeof err);
	CHECK(ls != NULL);
	if (!ls)
		return;
	for (int i = 0; i < 3; i++)
		logstream_record(ls, st, ids[i]);
	/* Written while the stream runs, within a second or so (no close yet). */
	CHECK(wait_until(has_lines, log, 3));
	CHECK(rename(log, old) == 0);
	reopen = 1;
	CHECK(wait_until(exists, log, 0));
	for (int i = 3; i < 5; i++)
		logstream_record(ls, st, ids[i]);
	logstream_record(ls, st, -1);
	CHECK_EQ(logstream_close(ls), 0);
	CHECK_EQ(file_lines(old), 3);
	CHECK_EQ(file_lines(log), 2);
	struct stat sb;
	CHECK(stat(log, &sb) == 0 && (sb.st_mode & 0777 & ~0640) == 0);
	unlink(log);
	unlink(old);
	/* A file that cannot be opened is named. */
	struct logstream_config bad = {"/nonexistent-dir/x.ndjson", 0, NULL, &q};
	CHECK(logstream_open(&bad, err, sizeof err) == NULL &&
	      strstr(err, "/nonexistent-dir/x.ndjson") != NULL);
}

int main(void)
{
	char path[300];
	struct store *st;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (!(st = make_store()))
		return 1;
	test_fifo(st, 0);
	test_fifo(st, 1);
	test_reopen(st);
	store_close(st);
	static const char *const names[] = {"log.db", "log.db-wal", "log.db-shm"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		path_of(path, sizeof path, names[i]);
		unlink(path);
	}
	rmdir(dir);
	TEST_DONE("logstream");
}
