/*
 * test_writer.c: the queue between the packet thread and the database. Blocking mode loses
 * nothing; dropping mode never makes the caller wait on a locked database and counts what it
 * drops; touches find their rows by token; sync makes everything visible.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "store.h"
#include "tc_test.h"
#include "writer.h"

static char dir[] = "/tmp/tc_test_writerXXXXXX";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One TLS 1.0 connection from 10.0.x.y, numbered i. The hello is malloc'd: the writer takes it. */
static void make(uint32_t i, struct tc_record *r, struct tc_handshake *hs)
{
	char ip[32];

	memset(r, 0, sizeof(*r));
	tc_handshake_init(hs);
	snprintf(ip, sizeof(ip), "10.0.%u.%u", (i >> 8) & 0xff, i & 0xff);
	tc_addr_parse(ip, &r->client);
	tc_addr_parse("192.0.2.1", &r->server);
	r->client_port = (uint16_t)(1024 + i % 50000);
	r->server_port = 443;
	r->transport = 6;
	r->ip_version = 4;
	r->first_ts = r->last_ts = 1704067200000000ULL + i;
	r->packets[0] = r->packets[1] = 3;
	hs->ch = calloc(1, sizeof(*hs->ch));
	tc_client_hello_alloc(hs->ch, &(struct tc_hello_room){.ciphers = 1});
	hs->ch->legacy_version = TC_V_TLS10;
	hs->ch->cipher_n = 1;
	hs->ch->ciphers[0] = 0x002f;
	hs->client_dir = 0;
	r->hs = hs;
}

static long long count(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

static void test_block(void)
{
	enum { N = 20000 };
	char path[300], err[512];
	struct tc_record r;
	struct tc_handshake hs;

	snprintf(path, sizeof(path), "%s/block.db", dir);
	struct store *st = store_open(path, STORE_READ_WRITE, err, sizeof(err));
	CHECK(st != NULL);
	struct writer *w = writer_start(st, WRITER_BLOCK);
	int put_failed = 0, kept = 0;
	for (uint32_t i = 1; i <= N; i++) {
		make(i, &r, &hs);
		put_failed += writer_put(w, i, &r, &hs) != 0;
		kept += hs.ch != NULL; /* ownership must have moved to the writer */
	}
	CHECK_EQ(put_failed, 0);
	CHECK_EQ(kept, 0);
	/* Later packets on connection 7: the touch finds its row by token. */
	make(7, &r, &hs);
	tc_client_hello_clear(hs.ch);
	free(hs.ch);
	r.last_ts += 5000000;
	r.packets[0] = 42;
	writer_touch(w, 7, &r, 1);
	writer_touch(w, 8, &r, 0); /* unchanged: forgotten, no SQL */
	writer_sync(w);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections"), N);
	CHECK_EQ(count(path,
	               "SELECT client_packets FROM connections WHERE first_ts = 1704067200.000007"),
	         42);
	CHECK_EQ(count(path,
	               "SELECT client_packets FROM connections WHERE first_ts = 1704067200.000008"),
	         3);
	CHECK_EQ(writer_dropped(w), 0);
	CHECK_EQ(writer_errors(w), 0);
	writer_stop(w);
	store_close(st);
}

/* Another process holds the database's write lock: the writer thread waits on it, the queue
 * fills, and a live capture must still never wait. */
static void test_drop(void)
{
	enum { N = 3 * WRITER_QUEUE };
	char path[300], err[512];
	struct tc_record r;
	struct tc_handshake hs;
	sqlite3 *locker;

	snprintf(path, sizeof(path), "%s/drop.db", dir);
	struct store *st = store_open(path, STORE_READ_WRITE, err, sizeof(err));
	CHECK(st != NULL);
	CHECK_EQ(sqlite3_open(path, &locker), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(locker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	struct writer *w = writer_start(st, WRITER_DROP);
	double t0 = now();
	int dropped = 0;
	for (uint32_t i = 1; i <= N; i++) {
		make(i, &r, &hs);
		if (writer_put(w, i, &r, &hs) != 0) {
			dropped++;
			tc_client_hello_clear(hs.ch); /* a dropped record leaves the hello with */
			free(hs.ch);                  /* the caller */
		}
	}
	double took = now() - t0;
	/* The database stays locked for far longer than the puts take: they did not wait. */
	CHECK(took < 2.0);
	CHECK(dropped >= N - WRITER_QUEUE - 64);
	CHECK_EQ(writer_dropped(w), (uint64_t)dropped);

	sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(locker);
	writer_set_mode(w, WRITER_BLOCK);
	writer_sync(w);
	/* Everything that was not dropped is written: nothing is lost silently. */
	CHECK_EQ(count(path, "SELECT count(*) FROM connections") + dropped, N);
	writer_stop(w);
	store_close(st);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_block();
	test_drop();
	static const char *const names[] = {"block.db", "block.db-wal", "block.db-shm",
	                                    "drop.db",  "drop.db-wal",  "drop.db-shm"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[300];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	TEST_DONE("writer");
}
