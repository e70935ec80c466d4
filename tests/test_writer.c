/*
 * test_writer.c: the queue between the packet thread and the database. Blocking mode loses
 * nothing; dropping mode never makes the caller wait on a locked database and counts what it
 * drops; touches find their rows by token, or join a record not yet written; sync makes
 * everything visible.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
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

/* Connection i's record as a touch carries it: only its first TC_RECORD_TOUCHED bytes are
 * set (census.c), so the rest is garbage here, and a writer that read any of it (the hellos'
 * pointer, the addresses) would crash or write the garbage. */
static void make_touch(uint32_t i, struct tc_record *r)
{
	struct tc_handshake hs;

	make(i, r, &hs);
	tc_client_hello_clear(hs.ch);
	free(hs.ch);
	memset((char *)r + TC_RECORD_TOUCHED, 0xa5, sizeof *r - TC_RECORD_TOUCHED);
}

/* A new store in the test's directory, its path in path. */
static struct store *open_store(const char *name, char *path, size_t len)
{
	char err[512];
	struct store *st;

	snprintf(path, len, "%s/%s", dir, name);
	st = store_open(path, STORE_READ_WRITE, err, sizeof(err));
	CHECK(st != NULL);
	return st;
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
	char path[300];
	struct tc_record r;
	struct tc_handshake hs;

	struct store *st = open_store("block.db", path, sizeof(path));
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
	make_touch(7, &r);
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
	/* the records went STORE_ROWS to a statement (the touch of 7 found its row among them) */
	CHECK(store_rows_batched(st) >= N - N / 8);
	writer_stop(w);
	store_close(st);
}

/* Another process holds the database's write lock: the writer thread waits on it, the queue
 * fills, and a live capture must still never wait. */
static void test_drop(void)
{
	enum { N = 3 * WRITER_QUEUE };
	char path[300];
	struct tc_record r;
	struct tc_handshake hs;
	sqlite3 *locker;

	struct store *st = open_store("drop.db", path, sizeof(path));
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
	/* the writer thread holds WRITER_PENDING records before its first write waits */
	CHECK(dropped >= N - WRITER_QUEUE - WRITER_PENDING - 64);
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

/* Fills the file system of path with a file until it is full; returns its name's length. */
static int fill_up(const char *path)
{
	static char junk[64 * 1024];
	FILE *f = fopen(path, "wb");
	int full = 0;

	if (!f)
		return 0;
	memset(junk, 0x5a, sizeof junk);
	while (fwrite(junk, 1, sizeof junk, f) == sizeof junk)
		;
	/* The last bytes that fit, one at a time. */
	while (fputc(0x5a, f) != EOF && fflush(f) == 0)
		;
	full = 1;
	fclose(f);
	return full;
}

/*
 * A capture's disk fills up (a 2 MiB tmpfs, as root; skipped when mount is refused): the
 * writer goes on, each failed commit is rolled back and its records counted as lost (never
 * more than were in flight), nothing committed before is touched, and once space is freed the
 * next commits succeed: every record after that is in the database.
 */
static void test_disk_full_capture(void)
{
	char mnt[200], path[300], filler[300], cmd[700], err[512];
	struct tc_record r;
	struct tc_handshake hs;

	snprintf(mnt, sizeof mnt, "%s/full", dir);
	snprintf(path, sizeof path, "%s/census.db", mnt);
	snprintf(filler, sizeof filler, "%s/filler", mnt);
	if (mkdir(mnt, 0700) != 0)
		return;
	snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=2m tmpfs '%s' 2>/dev/null", mnt);
	if (system(cmd) != 0) {
		printf("writer: cannot mount a tmpfs; the disk-full capture case is skipped\n");
		rmdir(mnt);
		return;
	}
	struct store *st = store_open(path, STORE_READ_WRITE, err, sizeof err);
	CHECK(st != NULL);
	struct writer *w = st ? writer_start(st, WRITER_DROP) : NULL;
	CHECK(w != NULL);
	if (w) {
		uint32_t i = 1;
		for (; i <= 2000; i++) {
			make(i, &r, &hs);
			writer_put(w, i, &r, &hs);
		}
		writer_sync(w);
		CHECK_EQ(writer_committed(w), 2000);
		CHECK(fill_up(filler));
		for (; i <= 12000; i++) {
			make(i, &r, &hs);
			if (writer_put(w, i, &r, &hs)) {
				tc_client_hello_clear(hs.ch);
				free(hs.ch);
			}
		}
		writer_sync(w);
		uint64_t lost = writer_lost(w);
		CHECK(lost > 0 && lost <= 10000);
		CHECK(!writer_failed(w)); /* a capture does not stop */
		CHECK_EQ(writer_committed(w) + lost, 12000);
		unlink(filler);
		uint64_t before = writer_committed(w);
		for (; i <= 13000; i++) {
			make(i, &r, &hs);
			writer_put(w, i, &r, &hs);
		}
		writer_sync(w);
		CHECK_EQ(writer_committed(w), before + 1000);
		CHECK_EQ(writer_lost(w), lost);
		CHECK_EQ(count(path, "SELECT count(*) FROM connections"), writer_committed(w));
		CHECK_EQ(count(path, "SELECT count(*) FROM connections WHERE first_ts >= "
		                     "1704067200.012001"),
		         1000);
		writer_stop(w);
	}
	store_close(st);
	snprintf(cmd, sizeof cmd, "umount '%s'", mnt);
	if (system(cmd) != 0)
		fprintf(stderr, "writer: %s failed\n", cmd);
	rmdir(mnt);
}

/* A touch of a record the writer still holds goes into its INSERT (no UPDATE runs); one of a
 * record already written updates it; ids follow the order records came in, past the bound of
 * held records. A trigger on the table counts the UPDATEs. */
static void test_pending(void)
{
	enum { N = WRITER_PENDING + 500 };
	char path[300];
	struct tc_record r;
	struct tc_handshake hs;

	struct store *st = open_store("pending.db", path, sizeof(path));
	sqlite3 *db;
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db,
	                      "CREATE TABLE updates (id INTEGER);"
	                      "CREATE TRIGGER count_updates AFTER UPDATE ON conn BEGIN"
	                      "  INSERT INTO updates VALUES (new.id); END;",
	                      NULL, NULL, NULL),
	         SQLITE_OK);
	sqlite3_close(db);

	struct writer *w = writer_start(st, WRITER_BLOCK);
	for (uint32_t i = 1; i <= 3; i++) {
		make(i, &r, &hs);
		CHECK_EQ(writer_put(w, i, &r, &hs), 0);
	}
	make_touch(2, &r);
	r.last_ts += 2000000;
	r.packets[1] = 9;
	r.bytes[0] = 1234;
	r.stream_trunc[1] = 1;
	writer_touch(w, 2, &r, 1); /* while record 2 is held: merged */
	writer_touch(w, 3, &r, 0); /* unchanged: the record is written as it came */
	writer_sync(w);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections"), 3);
	CHECK_EQ(count(path, "SELECT count(*) FROM updates"), 0);
	CHECK_EQ(count(path, "SELECT server_packets * 100000 + client_bytes FROM connections "
	                     "WHERE first_ts = 1704067200.000002"),
	         9 * 100000 + 1234);
	CHECK_EQ(count(path, "SELECT server_stream_trunc FROM connections "
	                     "WHERE first_ts = 1704067200.000002"),
	         1);
	CHECK_EQ(count(path, "SELECT round((last_ts - first_ts) * 1000) FROM connections "
	                     "WHERE first_ts = 1704067200.000002"),
	         2000);
	CHECK_EQ(count(path, "SELECT server_packets FROM connections "
	                     "WHERE first_ts = 1704067200.000003"),
	         3);

	/* Written by the sync: a touch now is an UPDATE of its row. */
	make_touch(1, &r);
	r.packets[0] = 77;
	writer_touch(w, 1, &r, 1);
	/* More records than the writer holds, each touched right after its put. */
	for (uint32_t i = 4; i <= N; i++) {
		make(i, &r, &hs);
		CHECK_EQ(writer_put(w, i, &r, &hs), 0);
		r.packets[0] = 5;
		writer_touch(w, i, &r, 1);
	}
	writer_sync(w);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections"), N);
	CHECK_EQ(count(path, "SELECT count(*) FROM updates"), 1);
	CHECK_EQ(count(path, "SELECT client_packets FROM connections "
	                     "WHERE first_ts = 1704067200.000001"),
	         77);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections WHERE first_ts > 1704067200.000003 "
	                     "AND client_packets = 5"),
	         N - 3);
	/* ids in the order the records came */
	CHECK_EQ(count(path, "SELECT count(*) FROM (SELECT first_ts, lag(first_ts) OVER (ORDER BY "
	                     "id) AS before FROM conn) WHERE first_ts < before"),
	         0);
	CHECK_EQ(writer_errors(w), 0);
	writer_stop(w);
	store_close(st);
}

/* A label function for the test: the SNI's length and bytes, and how often it ran; and how
 * often the writer called ahead of it, on which SNI last. */
static int labels_named, labels_ahead;
static char ahead_last[64];

static int keys_wrong;

/* The key ahead gives a name, which the label function gets back with the same name. */
static uint64_t key_of(const char *sni, size_t len)
{
	uint64_t k = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < len; i++)
		k = (k ^ (uint8_t)sni[i]) * 0x100000001b3ULL;
	return k | 1;
}

static uint64_t label_ahead(void *ctx, const char *sni, size_t len)
{
	(void)ctx;
	labels_ahead++;
	snprintf(ahead_last, sizeof ahead_last, "%.*s", (int)len, sni);
	return key_of(sni, len);
}

static void label_len(void *ctx, const char *sni, size_t len, uint64_t key, char *out,
                      size_t outlen)
{
	(void)ctx;
	labels_named++;
	keys_wrong += key != key_of(sni, len);
	snprintf(out, outlen, "TLS.%zu.%.*s", len, (int)len, sni);
}

/*
 * Records the census left to the writer to label (label_by_sni) are named by the writer's
 * label function from their SNI, on the writer thread, before they are written; a record with
 * a label of its own, or without an SNI, is written as it came, and without a function such a
 * record has no label.
 */
static void test_labels(void)
{
	char path[300];
	struct tc_record r;
	struct tc_handshake hs;

	struct store *st = open_store("labels.db", path, sizeof(path));
	struct writer *w = writer_start(st, WRITER_BLOCK);
	writer_on_label(w, label_len, label_ahead, NULL);
	for (uint32_t i = 1; i <= 4; i++) {
		make(i, &r, &hs);
		if (i != 3) {
			hs.ch->has_sni = 1;
			hs.ch->sni_len = (uint16_t)snprintf(hs.ch->sni, sizeof hs.ch->sni,
			                                    "h%u.example.test", i);
		}
		r.label_by_sni = i != 2;
		r.app_label = i == 2 ? "TLS.Own" : NULL;
		CHECK_EQ(writer_put(w, i, &r, &hs), 0);
	}
	writer_sync(w);
	CHECK_EQ(labels_named, 2); /* 1 and 4: 2 has its own, 3 no SNI */
	CHECK_EQ(labels_ahead, 2); /* the same two, ahead of them */
	CHECK_EQ(keys_wrong, 0);   /* each with its own key from ahead */
	CHECK(!strcmp(ahead_last, "h4.example.test"));
	CHECK_EQ(count(path, "SELECT count(*) FROM connections WHERE app_label = "
	                     "'TLS.15.h1.example.test' AND first_ts = 1704067200.000001"),
	         1);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections WHERE app_label = 'TLS.Own' AND "
	                     "first_ts = 1704067200.000002"),
	         1);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections WHERE app_label IS NULL AND "
	                     "first_ts = 1704067200.000003"),
	         1);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections WHERE app_label = "
	                     "'TLS.15.h4.example.test'"),
	         1);
	writer_stop(w);

	/* No label function: the record is written without a label. */
	w = writer_start(st, WRITER_BLOCK);
	make(5, &r, &hs);
	hs.ch->has_sni = 1;
	hs.ch->sni_len = (uint16_t)snprintf(hs.ch->sni, sizeof hs.ch->sni, "h5.example.test");
	r.label_by_sni = 1;
	CHECK_EQ(writer_put(w, 5, &r, &hs), 0);
	writer_stop(w);
	CHECK_EQ(labels_named, 2);
	CHECK_EQ(count(path, "SELECT count(*) FROM connections WHERE app_label IS NULL AND "
	                     "first_ts = 1704067200.000005"),
	         1);
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
	test_pending();
	test_disk_full_capture();
	test_labels();
	static const char *const names[] = {"block.db",   "block.db-wal",   "block.db-shm",
	                                    "drop.db",    "drop.db-wal",    "drop.db-shm",
	                                    "pending.db", "pending.db-wal", "pending.db-shm",
	                                    "labels.db",  "labels.db-wal",  "labels.db-shm"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[300];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	TEST_DONE("writer");
}
