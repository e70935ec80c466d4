/*
 * test_store.c: the store room against a temporary database: schema version, rows, the legacy
 * view and report in all three formats, the ndjson export, read-only and error opens. Records
 * are built by hand, so no capture or dissector state is involved.
 */
#define _GNU_SOURCE /* posix_openpt and friends */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sqlite3.h>

#include "addr.h"
#include "ciphers.h"
#include "idcache.h"
#include "store.h"
#include "text.h"
#include "tc_test.h"
#include "tlscensus/fingerprint.h"

/* The hostile name of the brief: a CSV formula, HTML, an ANSI colour escape, and 0xff, which is
 * never valid UTF-8. */
static const char hostile_sni[] = "=cmd|' /C calc'!A0<script>\x1b[31m\xff";
static const char hostile_stored[] = "=cmd|' /C calc'!A0<script>\\x1b[31m\\xff";

static char dir[] = "/tmp/tc_test_storeXXXXXX";
static char db_path[256];

struct conn {
	struct tc_client_hello *ch;
	struct tc_server_hello *sh;
	struct tc_handshake hs;
	struct tc_record r;
};

static void set_ciphers(struct tc_client_hello *ch, const uint32_t *v, size_t n)
{
	memcpy(ch->ciphers, v, n * sizeof *v);
	ch->cipher_n = (uint16_t)n;
}

static void set_alpn(struct tc_client_hello *ch, const char *const *names, size_t n)
{
	ch->has_alpn = 1;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		ch->alpn[ch->alpn_len++] = (uint8_t)len;
		memcpy(ch->alpn + ch->alpn_len, names[i], len);
		ch->alpn_len += (uint16_t)len;
	}
}

static void set_sni(struct tc_client_hello *ch, const char *sni)
{
	ch->has_sni = 1;
	ch->sni_len = (uint16_t)strlen(sni);
	memcpy(ch->sni, sni, ch->sni_len);
}

/* A connection with a plain TLS ClientHello (and a ServerHello when sh_version is non-zero). */
static void conn_init(struct conn *c, const char *client, uint16_t cport, const char *server,
                      uint16_t sport, uint64_t ts, uint16_t ch_version, uint16_t sh_version,
                      uint32_t cipher)
{
	static const uint16_t exts[] = {0, 10, 11, 13, 16, 43, 51};
	static const uint16_t groups[] = {0x001d, 0x0017};
	static const uint8_t pointfmts[] = {0};

	memset(c, 0, sizeof *c);
	tc_addr_parse(client, &c->r.client);
	tc_addr_parse(server, &c->r.server);
	c->r.client_port = cport;
	c->r.server_port = sport;
	c->r.first_ts = ts;
	c->r.last_ts = ts + 250000;
	c->r.transport = 6;
	c->r.ip_version = strchr(client, ':') ? 6 : 4;
	c->r.packets[0] = 5, c->r.packets[1] = 4;
	c->r.bytes[0] = 517, c->r.bytes[1] = 1400;
	c->r.hs = &c->hs;
	c->r.status = TC_CONN_OK;
	c->hs.client_dir = 0;
	if (!ch_version)
		return;
	c->ch = calloc(1, sizeof *c->ch);
	tc_client_hello_alloc(c->ch, &(struct tc_hello_room){64, 64, 64, 64, 64, 64, 64, 64, 512});
	c->ch->legacy_version = ch_version;
	c->ch->session_id_len = 32;
	c->ch->has_extensions = 1;
	memcpy(c->ch->exts, exts, sizeof exts);
	c->ch->ext_n = sizeof exts / sizeof exts[0];
	c->ch->has_groups = 1;
	memcpy(c->ch->groups, groups, sizeof groups);
	c->ch->group_n = 2;
	c->ch->has_pointfmt = 1;
	memcpy(c->ch->pointfmts, pointfmts, sizeof pointfmts);
	c->ch->pointfmt_n = 1;
	c->ch->compress_n = 1;
	c->hs.ch = c->ch;
	c->hs.ch_count = 1;
	if (!sh_version)
		return;
	c->sh = calloc(1, sizeof *c->sh);
	tc_server_hello_alloc(c->sh, 64);
	c->sh->legacy_version = sh_version;
	c->sh->cipher = cipher;
	c->sh->has_extensions = 1;
	c->sh->exts[0] = 0xff01;
	c->sh->ext_n = 1;
	c->hs.sh = c->sh;
}

/* Stores c as the census hands a record over: with its fingerprints computed. */
static int64_t put(struct store *s, const struct conn *c)
{
	struct tc_handshake hs = c->hs;
	struct tc_record r = c->r;
	struct tc_prints fp;
	int64_t id;

	if (tc_prints_compute(hs.ch, hs.sh, &fp))
		return -1;
	hs.prints = &fp;
	r.hs = &hs;
	id = store_put(s, &r);
	tc_prints_free(&fp);
	return id;
}

/* A new database of that name in the test's directory (its path in path), opened to write;
 * a failure is a failed check, said with SQLite's reason. */
static struct store *open_new(const char *name, char *path, size_t len)
{
	char err[512];

	snprintf(path, len, "%s/%s", dir, name);
	struct store *s = store_open(path, STORE_READ_WRITE, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		fprintf(stderr, "store_open %s: %s\n", path, err);
	return s;
}

static void conn_free(struct conn *c)
{
	tc_client_hello_clear(c->ch);
	tc_server_hello_clear(c->sh);
	free(c->ch);
	free(c->sh);
}

/* The test records: ids 1..5 in this order. */
enum { R_TLS10 = 1, R_3DES, R_TLS13, R_OFFERED11, R_MIDSTREAM, R_COUNT = 5 };

static void build(struct conn c[R_COUNT])
{
	static const uint32_t old_ciphers[] = {0x002f, 0x0035, 0x000a};
	static const uint32_t ciphers12[] = {0xc02f, 0x000a};
	static const uint32_t ciphers13[] = {0x7a7a, 0x1301, 0x1302, 0xc02f};
	static const char *const alpn13[] = {"h2", "http/1.1"};
	/* A quote, and the two bytes 0xba 0xad (not UTF-8) of the corpus' non-ASCII ALPN. */
	static const char *const alpn_odd[] = {"x\"y", "\xba\xad"};
	static const uint16_t versions13[] = {0x7a7a, TC_V_TLS13, TC_V_TLS12};
	const uint64_t t0 = 1704164645000000ULL; /* 2024-01-02T03:04:05Z */

	/* Listed out of client order, so the report's numeric IP order is visible. */
	conn_init(&c[0], "10.0.0.10", 40001, "192.0.2.10", 443, t0, TC_V_TLS10, TC_V_TLS10, 0x002f);
	set_ciphers(c[0].ch, old_ciphers, 3);
	set_sni(c[0].ch, "old.example");
	set_alpn(c[0].ch, alpn_odd, 2);

	conn_init(&c[1], "10.0.0.2", 40002, "192.0.2.20", 8443, t0 + 1000000, TC_V_TLS12,
	          TC_V_TLS12, 0x000a);
	set_ciphers(c[1].ch, ciphers12, 2);
	set_sni(c[1].ch, "a\"b,c.example");

	conn_init(&c[2], "2001:db8::1", 50000, "2001:db8:0:0:1::443", 443, t0 + 2000000, TC_V_TLS12,
	          TC_V_TLS12, 0x1301);
	set_ciphers(c[2].ch, ciphers13, 4);
	set_sni(c[2].ch, "new.example");
	set_alpn(c[2].ch, alpn13, 2);
	c[2].ch->has_versions = 1;
	memcpy(c[2].ch->versions, versions13, sizeof versions13);
	c[2].ch->version_n = 3;
	c[2].sh->selected_version = TC_V_TLS13;
	c[2].r.first_ts += 123456; /* microseconds survive the REAL column */
	c[2].r.app_label = "TLS.Google";

	/* Client-only: offers at most TLS 1.1, the server answers with an alert. */
	conn_init(&c[3], "10.0.0.2", 40003, "192.0.2.30", 443, t0 + 3000000, TC_V_TLS11, 0, 0);
	set_ciphers(c[3].ch, old_ciphers, 3);
	set_sni(c[3].ch, hostile_sni);
	c[3].ch->fallback_scsv = 1;
	c[3].hs.alert = (struct tc_alert){.seen = 1, .level = 2, .desc = 70, .dir = 1};

	/* No hello at all: stored, but neither exported nor legacy. */
	conn_init(&c[4], "10.0.0.3", 40004, "192.0.2.40", 443, t0 + 4000000, 0, 0, 0);
	c[4].r.status = TC_CONN_MIDSTREAM;
}

/* ---------------------------------------------------------------- helpers */

static char *capture(struct store *s, int (*fn)(struct store *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	if (!f)
		return NULL;
	CHECK_EQ(fn(s, f), 0);
	fclose(f);
	return buf;
}

/* No byte a terminal acts on: only printable text, LF and (for CSV) CR. */
static int inert(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\r') || *p == 0x7f)
			return 0;
	return 1;
}

static sqlite3 *open_raw_at(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static sqlite3 *open_raw(void)
{
	sqlite3 *db = NULL;

	CHECK_EQ(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* First column of the first row as text (malloc'd), NULL when none. */
static char *sql_text(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	char *out = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "sql: %s: %s\n", sql, sqlite3_errmsg(db));
		return NULL;
	}
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static int sql_is(sqlite3 *db, const char *sql, const char *arg, const char *want)
{
	char *got = sql_text(db, sql, arg);
	int ok = got && want ? strcmp(got, want) == 0 : got == want;

	if (!ok)
		fprintf(stderr, "  %s\n    got  %s\n    want %s\n", sql, got ? got : "NULL",
		        want ? want : "NULL");
	free(got);
	return ok;
}

static long long sql_int(sqlite3 *db, const char *sql)
{
	char *t = sql_text(db, sql, NULL);
	long long v = t ? atoll(t) : -1;

	free(t);
	return v;
}

/* ---------------------------------------------------------------- checks */

static void check_schema(sqlite3 *db)
{
	char want[16];

	snprintf(want, sizeof want, "%d", STORE_SCHEMA_VERSION);
	CHECK_EQ(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	CHECK(sql_is(db, "SELECT value FROM meta WHERE key = 'schema_version'", NULL, want));
	CHECK(sql_is(db, "PRAGMA journal_mode", NULL, "wal"));
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM meta WHERE key = 'views_hash'"), 1);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM cipher_suites"), (long long)cipher_count());
	CHECK(sql_is(db, "SELECT weakness FROM cipher_suites WHERE value = 10", NULL, "3DES"));
	CHECK(sql_is(db, "SELECT group_concat(name) FROM tls_versions WHERE legacy = 1", NULL,
	             "SSLv2,SSLv3,TLSv1.0,TLSv1.1,DTLSv1.0"));
	CHECK(sql_is(db, "SELECT name FROM alert_descriptions WHERE value = 86", NULL,
	             "inappropriate_fallback"));
	/* failed (partial: the retry test of inventory_keys) only; time goes by conn_minutes */
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
	                     "name LIKE 'conn_%'"),
	         1);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'conn_minutes'"), 1);
}

static void check_rows(sqlite3 *db)
{
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections"), R_COUNT);
	CHECK(sql_is(db,
	             "SELECT group_concat(id || ':' || reason, '|') FROM "
	             "(SELECT id, reason FROM legacy_connections ORDER BY id)",
	             NULL, "1:TLSv1.0|2:3DES cipher|4:TLSv1.1 offered, no ServerHello"));
	CHECK(sql_is(db, "SELECT sni FROM connections WHERE id = 4", NULL, hostile_stored));
	CHECK(sql_is(db, "SELECT sni FROM connections WHERE id = 2", NULL, "a\"b,c.example"));
	CHECK(sql_is(db, "SELECT alpn FROM connections WHERE id = 1", NULL,
	             "[\"x\\\"y\",\"\\\\xba\\\\xad\"]"));
	CHECK(sql_is(db, "SELECT json_extract(alpn, '$[1]') FROM connections WHERE id = 1", NULL,
	             "\\xba\\xad"));
	CHECK(sql_is(db,
	             "SELECT ch_versions || ch_max_version || ciphers || alpn FROM connections "
	             "WHERE id = 3",
	             NULL, "[31354,772,771]772[31354,4865,4866,49199][\"h2\",\"http/1.1\"]"));
	CHECK(sql_is(db,
	             "SELECT version_name || '/' || cipher_name || '/' || ch_max_version_name "
	             "FROM connections_named WHERE id = 1",
	             NULL, "TLSv1.0/TLS_RSA_WITH_AES_128_CBC_SHA/TLSv1.0"));
	CHECK(sql_is(db,
	             "SELECT alert_name || '/' || alert_from FROM connections_named WHERE id = 4",
	             NULL, "protocol_version/server"));
	/* Nothing seen, nothing stored: no ClientHello means every ch_* is NULL. */
	CHECK_EQ(sql_int(db,
	                 "SELECT count(*) FROM connections WHERE id = 5 AND ch_version IS NULL "
	                 "AND ciphers IS NULL AND sni IS NULL AND version IS NULL AND hrr IS NULL "
	                 "AND parse_status = 'midstream'"),
	         1);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections WHERE id = 4 AND sh_version IS NULL "
	                     "AND version IS NULL AND cipher IS NULL AND ja3s IS NULL AND "
	                     "ch_versions IS NULL AND ja3 IS NOT NULL"),
	         1);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM runs WHERE ended IS NOT NULL AND "
	                     "packets = 1234 AND handshakes = 5 AND source = 'test.pcap'"),
	         1);
}

/* The TLS 1.3 record, whole, as a string: FORMAT.md keys in order, then ours. */
static void check_export_record(const char *line, const struct conn *c)
{
	char ja3[33], ja3s[33], ja3_str[4096], ja3s_str[512], want[4096 + 2048];

	CHECK(tc_ja3(c->ch, ja3_str, sizeof ja3_str, ja3));
	CHECK(tc_ja3s(c->sh, ja3s_str, sizeof ja3s_str, ja3s));
	snprintf(want, sizeof want,
	         "{\"transport\": \"tcp\", \"client_ip\": \"2001:db8::1\", \"client_port\": 50000, "
	         "\"server_ip\": \"2001:db8::1:0:0:443\", \"server_port\": 443, "
	         "\"sni\": \"new.example\", \"client_version\": \"TLSv1.2\", "
	         "\"client_versions\": [\"0x7a7a\", \"TLSv1.3\", \"TLSv1.2\"], "
	         "\"client_max_version\": \"TLSv1.3\", "
	         "\"ciphers\": [\"0x7a7a\", \"0x1301\", \"0x1302\", \"0xc02f\"], "
	         "\"alpn\": [\"h2\", \"http/1.1\"], \"version\": \"TLSv1.3\", "
	         "\"cipher\": \"0x1301\", \"ja3\": \"%s\", \"ja3s\": \"%s\", "
	         "\"first_ts\": 1704164647.123456, \"last_ts\": 1704164647.250000, "
	         "\"alert\": null, \"app\": \"TLS.Google\", \"parse_status\": \"ok\", "
	         "\"parse_error\": null, \"ja3_str\": \"%s\", \"ja3s_str\": \"%s\", "
	         "\"hrr\": false, \"fallback_scsv\": false, "
	         "\"ja4\": \"t13d0307h2_40b44b994229_382ae0674ce5\"}",
	         ja3, ja3s, ja3_str, ja3s_str);
	if (strcmp(line, want))
		fprintf(stderr, "  export line\n    got  %s\n    want %s\n", line, want);
	CHECK(strcmp(line, want) == 0);
}

static void check_export(struct store *s, sqlite3 *db, const struct conn c[R_COUNT])
{
	char *out = capture(s, store_export_ndjson);
	char *save = NULL;
	int lines = 0;

	if (!out)
		return;
	CHECK(inert(out));
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		/* SQLite's JSON parser stands in for a consumer's. */
		CHECK(sql_is(db, "SELECT json_valid(?1)", line, "1"));
		if (lines == 1) {
			CHECK(strstr(line, "\"alpn\": [\"x\\\"y\", \"\\\\xba\\\\xad\"], ") != NULL);
			CHECK(sql_is(db, "SELECT json_extract(?1, '$.alpn[0]')", line, "x\"y"));
		}
		if (lines == 3)
			check_export_record(line, &c[2]);
		if (lines == 4) {
			CHECK(sql_is(db, "SELECT json_extract(?1, '$.sni')", line, hostile_stored));
			CHECK(sql_is(db, "SELECT json_extract(?1, '$.alert')", line,
			             "fatal:protocol_version"));
			CHECK(sql_is(db, "SELECT json_type(?1, '$.version')", line, "null"));
			CHECK(sql_is(db, "SELECT json_extract(?1, '$.client_max_version')", line,
			             "TLSv1.1"));
			CHECK(sql_is(db, "SELECT json_extract(?1, '$.fallback_scsv')", line, "1"));
		}
	}
	CHECK_EQ(lines, 4); /* the midstream row has no hello */
	free(out);
}

/* ---------------------------------------------------------------- opens */

static void check_open_errors(void)
{
	char err[512], path[300], missing[300];
	struct store *s;
	struct stat sb;
	FILE *f;

	snprintf(missing, sizeof missing, "%s/missing.db", dir);
	err[0] = '\0';
	s = store_open(missing, STORE_READ_ONLY, err, sizeof err);
	CHECK(s == NULL);
	CHECK(strstr(err, missing) != NULL);
	CHECK(strstr(err, "run 'tlscensus read FILE' first") != NULL);
	CHECK(stat(missing, &sb) != 0 && errno == ENOENT); /* never created */
	store_close(s);

	snprintf(path, sizeof path, "%s/notes.txt", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		for (int i = 0; i < 64; i++)
			fputs("these are notes, not a database\n", f);
		fclose(f);
	}
	for (int mode = 0; mode < 2; mode++) {
		err[0] = '\0';
		s = store_open(path, mode ? STORE_READ_ONLY : STORE_READ_WRITE, err, sizeof err);
		CHECK(s == NULL);
		CHECK(strstr(err, path) != NULL);
		CHECK(strstr(err, "not a SQLite database") != NULL);
		store_close(s);
	}
	CHECK(stat(path, &sb) == 0 && sb.st_size == 64 * 32); /* left as it was */

	snprintf(path, sizeof path, "%s/no/such/dir/x.db", dir);
	err[0] = '\0';
	s = store_open(path, STORE_READ_WRITE, err, sizeof err);
	CHECK(s == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "directory exists") != NULL);
	store_close(s);
}

/* Rows are committed in batches of STORE_BATCH without any flush: a reader sees them. */
static void check_batches(const struct conn *c)
{
	char path[300];
	struct store *s;
	sqlite3 *db = NULL;

	s = open_new("bulk.db", path, sizeof path);
	if (!s)
		return;
	{
		int ids_ok = 0;

		for (int i = 0; i < STORE_BATCH + 10; i++)
			ids_ok += put(s, c) == i + 1;
		CHECK_EQ(ids_ok, STORE_BATCH + 10);
	}
	CHECK_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	{
		long long seen = sql_int(db, "SELECT count(*) FROM connections");

		/* A full batch, or less when the one-second commit came first (slow runs). */
		CHECK(seen > 0 && seen <= STORE_BATCH + 10);
	}
	store_close(s); /* close commits the rest */
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections"), STORE_BATCH + 10);
	sqlite3_close(db);
}

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Writes rows in commits of 5000 until the WAL has passed the checkpoint thread's bound (4000
 * pages) by half, short of SQLite's autocheckpoint (8192 pages); returns the database file's size
 * then (with wait, after giving a checkpoint thread up to 5 s to catch up). In WAL mode only a
 * checkpoint writes the database file itself. */
static long long size_after_writes(struct store *s, const char *path, const struct conn *c,
                                   int wait)
{
	for (int i = 1; i <= 250000; i++) {
		put(s, c);
		if (i % 5000 == 0)
			store_flush(s);
	}
	store_flush(s);
	for (int i = 0; wait && i < 50 && file_size(path) < (1 << 20); i++)
		usleep(100 * 1000);
	return file_size(path);
}

/* The checkpoint thread copies the WAL into the database while rows are written, so the close
 * (after a read's last packet) finds little left to copy; without it, SQLite's autocheckpoint
 * (8192 pages) has not run yet at this size. Either way the close leaves every row and no WAL. */
static void check_checkpoints(const struct conn *c)
{
	char err[512], path[300], wal[310];
	sqlite3 *db = NULL;

	for (int threaded = 0; threaded < 2; threaded++) {
		snprintf(path, sizeof path, "%s/ckpt%d.db", dir, threaded);
		snprintf(wal, sizeof wal, "%s-wal", path);
		struct store *s = store_open(path, STORE_READ_WRITE, err, sizeof err);
		CHECK(s != NULL);
		if (!s)
			return;
		if (threaded)
			CHECK_EQ(store_checkpoint_thread(s), 0);
		long long size = size_after_writes(s, path, c, threaded);
		if (threaded)
			CHECK(size >= (1 << 20));
		else
			CHECK(size >= 0 && size < (1 << 20));
		store_close(s);
		CHECK_EQ(file_size(wal), -1);
		CHECK_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections"), 250000);
		sqlite3_close(db);
	}
}

/* A writer that never pauses: rows in commits of 5000, one after the other, until the database
 * holds 100 MB. The WAL must be started over again and again, so it stays near the checkpoint
 * bound (4,000 pages, 16 MiB, and what comes while the thread copies); checkpoints only beside
 * the writer never copied the whole WAL, and it grew with the database (to 64 MiB here, where
 * the writer's own fallback, STORE_CHECKPOINT_MAX, stops it). */
static void check_wal_bounded(const struct conn *c)
{
	char path[300], wal[310];
	long long most = 0;
	int rows = 0;

	struct store *s = open_new("ckptrun.db", path, sizeof path);
	snprintf(wal, sizeof wal, "%s-wal", path);
	if (!s)
		return;
	CHECK_EQ(store_checkpoint_thread(s), 0);
	while (rows < 3000000 && file_size(path) + file_size(wal) < 100ll << 20) {
		for (int i = 0; i < 5000; i++)
			put(s, c);
		rows += 5000;
		store_flush(s);
		if (file_size(wal) > most)
			most = file_size(wal);
	}
	printf("store: %d rows written without a pause, the WAL at most %lld bytes\n", rows, most);
	CHECK(most > 0 && most < 40ll << 20);
	store_close(s);
	CHECK_EQ(file_size(wal), -1);
}

/* A database from a newer tlscensus, and another program's database, are refused untouched. */
static void check_foreign_schemas(void)
{
	char err[512], path[300];
	struct store *s;
	sqlite3 *db = NULL;

	snprintf(path, sizeof path, "%s/newer.db", dir);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "CREATE TABLE connections (id INTEGER); PRAGMA user_version = 99",
	                      NULL, NULL, NULL),
	         SQLITE_OK);
	sqlite3_close(db);
	for (int mode = 0; mode < 2; mode++) {
		err[0] = '\0';
		s = store_open(path, mode ? STORE_READ_ONLY : STORE_READ_WRITE, err, sizeof err);
		CHECK(s == NULL);
		CHECK(strstr(err, path) && strstr(err, "newer"));
		store_close(s);
	}

	snprintf(path, sizeof path, "%s/other.db", dir);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "CREATE TABLE songs (title TEXT)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	s = store_open(path, STORE_READ_WRITE, err, sizeof err);
	CHECK(s == NULL);
	CHECK(strstr(err, path) && strstr(err, "another program"));
	store_close(s);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK(sql_is(db, "SELECT group_concat(name) FROM sqlite_master", NULL, "songs"));
	sqlite3_close(db);
}

/* SSLv2-format hello: every cipher in 6 digits, client_version "SSLv2", no ja3. */
/* Regression: version names were written into 8-byte buffers, so "DTLSv1.2" came out cut. */
static void check_dtls_export(void)
{
	char path[300];
	struct conn c;

	struct store *s = open_new("dtls.db", path, sizeof path);
	if (!s)
		return;
	conn_init(&c, "10.1.0.1", 5000, "10.1.0.2", 4433, 1000000, 0xfefd, 0xfefd, 0xc02b);
	c.r.transport = 17;
	CHECK(put(s, &c) > 0);
	char *out = capture(s, store_export_ndjson);
	CHECK(out && strstr(out, "\"transport\": \"udp\""));
	CHECK(out && strstr(out, "\"client_version\": \"DTLSv1.2\""));
	CHECK(out && strstr(out, "\"version\": \"DTLSv1.2\""));
	free(out);
	store_close(s);
	conn_free(&c);
}

/* The census hands records without fingerprints: the store computes them for a new hello row,
 * and later records of the same hellos share the row, with or without fingerprints of their
 * own. Fingerprints a caller computed with shape 0 (none) get rows of their own, shape NULL
 * and no fingerprint, which nothing shares. */
static void check_no_prints(void)
{
	char path[300];
	struct conn c;
	sqlite3 *db;

	struct store *s = open_new("noprints.db", path, sizeof path);
	if (!s)
		return;
	conn_init(&c, "10.2.0.1", 5000, "10.2.0.2", 443, 1000000, 0x0303, 0x0303, 0xc02f);
	CHECK(store_put(s, &c.r) > 0); /* c.hs.prints is NULL */
	CHECK(put(s, &c) > 0);
	CHECK(store_put(s, &c.r) > 0);
	struct tc_prints none;
	memset(&none, 0, sizeof none);
	c.hs.prints = &none;
	CHECK(store_put(s, &c.r) > 0);
	c.hs.prints = NULL;
	store_close(s);
	conn_free(&c);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM client_hellos WHERE shape IS NOT NULL AND "
	                     "ja3 IS NOT NULL AND ja4 IS NOT NULL"),
	         1);
	CHECK_EQ(
	    sql_int(db, "SELECT count(*) FROM client_hellos WHERE shape IS NULL AND ja3 IS NULL"),
	    1);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections WHERE ja3 IS NOT NULL"), 3);
	CHECK_EQ(sql_int(db, "SELECT count(DISTINCT ch) FROM conn"), 2);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM server_hellos"), 2);
	/* the store's fingerprints are the ones the census used to compute */
	CHECK_EQ(sql_int(db, "SELECT count(DISTINCT ja3 || ja4 || ja3s) FROM connections "
	                     "WHERE ja3 IS NOT NULL"),
	         1);
	sqlite3_close(db);
}

/* store_put in two steps: store_put_ahead works out the hellos' shapes (the given prints',
 * when there are some) and the SNI's key, and store_put_with writes what store_put would. */
static void check_put_ahead(void)
{
	char path[300];
	struct store_ahead a;
	struct tc_prints fp;
	struct conn c;

	struct store *s = open_new("ahead.db", path, sizeof path);
	if (!s)
		return;
	conn_init(&c, "10.3.0.1", 5000, "10.3.0.2", 443, 1000000, 0x0303, 0x0303, 0xc02f);
	c.ch->has_sni = 0;
	store_put_ahead(s, &c.r, &a);
	CHECK(a.ch_shape != 0 && a.ch_shape == tc_client_hello_shape(c.ch));
	CHECK(a.sh_shape != 0 && a.sh_shape == tc_server_hello_shape(c.sh));
	CHECK_EQ(a.sni_key, 0);
	CHECK_EQ(store_put_with(s, &c.r, &a), 1);
	struct store_ahead first = a;
	set_sni(c.ch, "ahead.example.test");
	store_put_ahead(s, &c.r, &a);
	CHECK(a.sni_key != 0 && a.sni_key == idcache_text_key("ahead.example.test", 18));
	CHECK(a.ch_shape != first.ch_shape); /* the SNI is part of the shape */
	/* What was worked out ahead is what is used: the first hello's shape finds its row. */
	CHECK_EQ(store_put_with(s, &c.r, &first), 2);
	/* Given prints: their shapes, not worked out again. */
	CHECK_EQ(tc_prints_compute(c.ch, c.sh, &fp), 0);
	fp.ch_shape ^= 1;
	fp.sh_shape ^= 1;
	c.hs.prints = &fp;
	store_put_ahead(s, &c.r, &a);
	CHECK(a.ch_shape == fp.ch_shape && a.sh_shape == fp.sh_shape);
	c.hs.prints = NULL;
	tc_prints_free(&fp);
	/* A hello carrying the shape its parser worked out: that one, not worked out again. */
	c.ch->shape = 0x5eed;
	c.sh->shape = 0x5eee;
	store_put_ahead(s, &c.r, &a);
	CHECK(a.ch_shape == 0x5eed && a.sh_shape == 0x5eee);
	c.ch->shape = c.sh->shape = 0;
	/* Nothing worked out ahead: store_put_with works it out. */
	memset(&a, 0, sizeof a);
	CHECK_EQ(store_put_with(s, &c.r, &a), 3);
	store_close(s);
	sqlite3 *db = open_raw_at(path);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM client_hellos"), 2); /* with an SNI: another */
	CHECK(sql_is(db, "SELECT group_concat(ch, ',') FROM (SELECT ch FROM conn ORDER BY id)",
	             NULL, "1,1,2"));
	CHECK(sql_is(db, "SELECT group_concat(coalesce(sni, '-'), ',') FROM connections", NULL,
	             "-,ahead.example.test,ahead.example.test"));
	sqlite3_close(db);
	conn_free(&c);
}

/* n records of store_put_rows: ports 6000 + i, a new SNI every third, a label on odd ones. */
static void rows_init(struct conn *c, char (*sni)[32], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		conn_init(&c[i], "10.4.0.1", (uint16_t)(6000 + i), "10.4.0.2", 443,
		          1000000 + i * 1000, 0x0303, i % 2 ? 0x0303 : 0x0304, 0xc02f);
		snprintf(sni[i], sizeof sni[i], "rows%zu.example.test", i / 3);
		set_sni(c[i].ch, sni[i]);
		c[i].r.app_label = i % 2 ? "TLS.Example" : NULL;
	}
}

/* Every row of conn and what it refers to, in id order: one string to compare databases. */
static int same_rows(const char *a, const char *b)
{
	static const char q[] =
	    "SELECT group_concat(id || ':' || quote(first_ts) || ':' || client_port || ':' ||"
	    " coalesce(sni, '') || ':' || coalesce(app_label, '') || ':' || coalesce(version, '')"
	    " || ':' || coalesce(ja4, ''), ';') FROM (SELECT * FROM connections ORDER BY id)";
	sqlite3 *da = open_raw_at(a), *db = open_raw_at(b);
	sqlite3_stmt *sa = NULL, *sb = NULL;
	int same = da && db && sqlite3_prepare_v2(da, q, -1, &sa, NULL) == SQLITE_OK &&
	           sqlite3_prepare_v2(db, q, -1, &sb, NULL) == SQLITE_OK &&
	           sqlite3_step(sa) == SQLITE_ROW && sqlite3_step(sb) == SQLITE_ROW &&
	           sqlite3_column_text(sa, 0) && sqlite3_column_text(sb, 0) &&
	           strcmp((const char *)sqlite3_column_text(sa, 0),
	                  (const char *)sqlite3_column_text(sb, 0)) == 0;

	sqlite3_finalize(sa);
	sqlite3_finalize(sb);
	sqlite3_close(da);
	sqlite3_close(db);
	return same;
}

/* The first STORE_ROWS records of c through store_put_rows into path, with a trigger that
 * refuses port 6003 by RAISE(how): the ids in ids, and the rows the INSERT took (-1 when the
 * store cannot be opened). */
static int64_t put_refused(const char *path, const char *how, struct conn *c, int64_t *ids)
{
	const struct tc_record *r[STORE_ROWS];
	struct store_ahead a[STORE_ROWS];
	char sql[200], err[512];
	sqlite3 *db = NULL;
	struct store *s;

	snprintf(sql, sizeof sql,
	         "DROP TRIGGER IF EXISTS refuse; CREATE TRIGGER refuse BEFORE INSERT ON conn WHEN "
	         "NEW.client_port = 6003 BEGIN SELECT RAISE(%s, 'refused'); END",
	         how);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	if (!(s = store_open(path, STORE_READ_WRITE, err, sizeof err))) {
		CHECK(s != NULL);
		return -1;
	}
	for (size_t j = 0; j < STORE_ROWS; j++) {
		r[j] = &c[j].r;
		store_put_ahead(s, r[j], &a[j]);
	}
	fprintf(stderr, "test_store: the next line is expected (a refused row):\n");
	CHECK_EQ(store_put_rows(s, r, a, STORE_ROWS, ids), STORE_ROWS);
	int64_t took = (int64_t)store_rows_batched(s);
	store_close(s);
	return took;
}

/* store_put_rows writes what store_put would, one by one, with the same ids; a row SQLite
 * refuses fails alone (the others go one by one), and the ids said are the rows'. */
static void check_put_rows(void)
{
	enum { N = 2 * STORE_ROWS + 5 };
	static struct conn c[N];
	static char sni[N][32];
	const struct tc_record *r[STORE_ROWS];
	struct store_ahead a[STORE_ROWS];
	int64_t ids[STORE_ROWS];
	char one[300], rows[300];
	size_t i, j, k;

	rows_init(c, sni, N);
	struct store *s = open_new("one_by_one.db", one, sizeof one);
	if (!s)
		return;
	for (i = 0; i < N; i++)
		CHECK_EQ(store_put(s, &c[i].r), (int64_t)i + 1);
	store_close(s);
	if (!(s = open_new("rows.db", rows, sizeof rows)))
		return;
	for (i = 0; i < N; i += k) {
		k = N - i < STORE_ROWS ? N - i : STORE_ROWS;
		for (j = 0; j < k; j++) {
			r[j] = &c[i + j].r;
			store_put_ahead(s, r[j], &a[j]);
		}
		CHECK_EQ(store_put_rows(s, r, a, k, ids), k);
		for (j = 0; j < k; j++)
			CHECK_EQ(ids[j], (int64_t)(i + j) + 1);
	}
	CHECK_EQ(store_rows_batched(s), 2 * STORE_ROWS); /* the last 5 went one by one */
	store_close(s);
	CHECK(same_rows(one, rows));
	sqlite3 *db = open_raw_at(rows);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn"), N);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM names"), (N + 2) / 3 + 1);
	/* every row inside its minute's span */
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn c JOIN conn_minutes m ON m.minute = "
	                     "CAST(c.first_ts / 60 AS INTEGER) AND c.id BETWEEN m.lo AND m.hi"),
	         N);
	sqlite3_close(db);
	/* A row the database refuses (a trigger here; a constraint elsewhere) is the only one
	 * lost from its statement, and the ids said are where the others went: with
	 * RAISE(ABORT) SQLite undoes the statement and all sixteen go one by one; with
	 * RAISE(FAIL) the three before the refused row stay in with the ids the INSERT gave
	 * them, and are not written again. */
	CHECK_EQ(put_refused(rows, "ABORT", c, ids), 0);
	for (j = 0; j < STORE_ROWS; j++)
		CHECK_EQ(ids[j], (j == 3 ? -1 : (int64_t)(N + j + (j > 3 ? 0 : 1))));
	int64_t base = N + STORE_ROWS - 1; /* the rows so far */
	CHECK_EQ(put_refused(rows, "FAIL", c, ids), 3);
	for (j = 0; j < STORE_ROWS; j++)
		CHECK_EQ(ids[j], (j == 3 ? -1 : base + (int64_t)j + (j > 3 ? 0 : 1)));
	db = open_raw_at(rows);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn"), base + STORE_ROWS - 1);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn WHERE client_port = 6000"), 3);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn WHERE client_port = 6003"), 1);
	for (j = 0; j < STORE_ROWS; j++) {
		char q[64];

		if (j == 3)
			continue;
		snprintf(q, sizeof q, "SELECT client_port FROM conn WHERE id = %lld",
		         (long long)ids[j]);
		CHECK_EQ(sql_int(db, q), (int64_t)(6000 + j));
	}
	/* every row inside its minute's span */
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn c JOIN conn_minutes m ON m.minute = "
	                     "CAST(c.first_ts / 60 AS INTEGER) AND c.id BETWEEN m.lo AND m.hi"),
	         base + STORE_ROWS - 1);
	sqlite3_close(db);
	for (i = 0; i < N; i++)
		conn_free(&c[i]);
}

/* A sixteen-row INSERT that SQLite cannot prepare again (another connection added a trigger
 * naming a table that does not exist) fails before it runs: none of its rows is taken for
 * written, though sqlite3_changes still says sixteen (the statement before's), and the rows go
 * one by one, each refused. */
static void check_put_rows_unprepared(void)
{
	enum { N = 2 * STORE_ROWS };
	static struct conn c[N];
	static char sni[N][32];
	const struct tc_record *r[STORE_ROWS];
	struct store_ahead a[STORE_ROWS];
	int64_t ids[STORE_ROWS];
	char path[300];
	sqlite3 *db = NULL;
	size_t i, j;

	rows_init(c, sni, N);
	struct store *s = open_new("unprepared.db", path, sizeof path);
	if (!s)
		return;
	for (i = 0; i < N; i += STORE_ROWS) {
		for (j = 0; j < STORE_ROWS; j++) {
			r[j] = &c[i + j].r;
			store_put_ahead(s, r[j], &a[j]);
		}
		if (i) {
			CHECK_EQ(store_flush(s), 0);
			CHECK(sqlite3_open(path, &db) == SQLITE_OK);
			CHECK(sqlite3_exec(db,
			                   "CREATE TRIGGER broken BEFORE INSERT ON conn BEGIN "
			                   "INSERT INTO nosuch VALUES (1); END",
			                   NULL, NULL, NULL) == SQLITE_OK);
			sqlite3_close(db);
			fprintf(stderr,
			        "test_store: the next %d lines are expected (a broken "
			        "trigger):\n",
			        STORE_ROWS);
		}
		CHECK_EQ(store_put_rows(s, r, a, STORE_ROWS, ids), STORE_ROWS);
		for (j = 0; j < STORE_ROWS; j++)
			CHECK_EQ(ids[j], i ? -1 : (int64_t)j + 1);
	}
	CHECK_EQ(store_rows_batched(s), STORE_ROWS);
	store_close(s);
	db = open_raw_at(path);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn"), STORE_ROWS);
	sqlite3_close(db);
	for (i = 0; i < N; i++)
		conn_free(&c[i]);
}

/* A commit that fails for want of space in the middle of records going one by one (fewer
 * than STORE_ROWS): store_put_rows stops at the row that lost the transaction, so nothing is
 * written after it in a transaction of its own; every row given is committed or lost. Needs
 * root for a small tmpfs, and says so when it cannot have one. */
static void check_rows_after_fault(void)
{
	enum { K = 5 };
	char full[300], path[320], cmd[700];
	const struct tc_record *r[K];
	struct store_ahead a[K];
	int64_t ids[K];
	struct conn c[K];
	uint64_t given = 0;
	size_t handled = K;

	snprintf(full, sizeof full, "%s/full", dir);
	snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=256k tmpfs %s 2>/dev/null", full);
	if (mkdir(full, 0700) != 0 || geteuid() != 0 || system(cmd) != 0) {
		fprintf(stderr,
		        "test_store: no tmpfs (not root?): the write-fault case is skipped\n");
		return;
	}
	snprintf(path, sizeof path, "%s/f.db", full);
	char err[512];
	struct store *s = store_open(path, STORE_READ_WRITE, err, sizeof err);
	CHECK(s != NULL);
	for (int j = 0; j < K; j++)
		conn_init(&c[j], "10.5.0.1", (uint16_t)(7000 + j), "10.5.0.2", 443, 1000000, 0x0303,
		          0x0303, 0xc02f);
	fprintf(stderr, "test_store: a full disk is expected next:\n");
	for (int round = 0; s && round < 20000 && handled == K && !store_failure(s); round++) {
		for (int j = 0; j < K; j++) {
			c[j].r.client_port = (uint16_t)(round * K + j);
			r[j] = &c[j].r;
			store_put_ahead(s, r[j], &a[j]);
		}
		handled = store_put_rows(s, r, a, K, ids);
		given += handled;
	}
	CHECK(s && store_failure(s) != NULL);
	CHECK(handled < K && ids[handled - 1] == -1); /* the batch's 16384th row, the 4th of 5 */
	CHECK_EQ(s ? store_committed(s) + store_lost(s) : 0, given);
	store_close(s);
	for (int j = 0; j < K; j++)
		conn_free(&c[j]);
	snprintf(cmd, sizeof cmd, "umount %s", full);
	CHECK(system(cmd) == 0);
}

/* c with sni on client port port, written: its row id. */
static int64_t put_named(struct store *s, struct conn *c, const char *sni, uint16_t port)
{
	set_sni(c->ch, sni);
	c->r.client_port = port;
	return put(s, c);
}

/* The names rows, each text once, and no index on them (0) or names_name (1): the count. */
static long long names_rows(const char *path, int indexed)
{
	sqlite3 *db = open_raw_at(path);
	long long n = sql_int(db, "SELECT count(*) FROM names");

	CHECK_EQ(sql_int(db, "SELECT count(DISTINCT name) FROM names"), n);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
	                     "tbl_name = 'names'"),
	         indexed);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'names_name'"),
	         indexed);
	/* every row's name is there */
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn c LEFT JOIN names n ON n.id = c.sni "
	                     "WHERE c.sni IS NOT NULL AND n.name IS NULL"),
	         0);
	sqlite3_close(db);
	return n;
}

/*
 * Schema 8: names has no index on its text; the writer keeps every row in memory (nameset.h).
 * Names stored escaped are found again after a reopen; two writers on one file find each
 * other's names; a rolled-back transaction takes its names along and they are written again;
 * past the bound the index names_name is made and used, also by the next writer. No text is
 * ever written twice.
 */
static void check_names(struct conn *c)
{
	static const char *const sni[] = {"plain.example.test",     hostile_sni,
	                                  "back\\slash.test",       "ctl\x01\x7f.test",
	                                  "\xc3\xa9t\xc3\xa9.test", ""};
	enum { N = sizeof sni / sizeof sni[0] };
	char path[300], err[512], name[64];
	uint16_t port = 1;
	const char *label = c->r.app_label;
	struct store *a = open_new("names.db", path, sizeof path), *b;

	if (!a)
		return;
	c->r.app_label = NULL; /* names are the SNIs alone */
	for (int i = 0; i < N; i++)
		CHECK(put_named(a, c, sni[i], port++) > 0);
	CHECK_EQ(store_flush(a), 0);
	/* A second writer on the same file finds them, and adds its own. */
	CHECK((b = store_open(path, STORE_READ_WRITE, err, sizeof err)) != NULL);
	for (int i = 0; b && i < N; i++)
		CHECK(put_named(b, c, sni[i], port++) > 0);
	for (int i = 0; b && i < 3; i++) {
		snprintf(name, sizeof name, "b%d.example.test", i);
		CHECK(put_named(b, c, name, port++) > 0);
	}
	CHECK(b && store_flush(b) == 0);
	/* The first writer, in its next transaction, finds the second's. */
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "b%d.example.test", i);
		CHECK(put_named(a, c, name, port++) > 0);
	}
	CHECK_EQ(store_flush(a), 0);
	store_close(b);
	store_close(a);
	CHECK_EQ(names_rows(path, 0), N + 3);
	{
		sqlite3 *db = open_raw_at(path);
		char want[128];

		snprintf(want, sizeof want, "%s", hostile_stored);
		CHECK(sql_is(db, "SELECT name FROM names WHERE id = 2", NULL, want));
		CHECK(
		    sql_is(db, "SELECT name FROM names WHERE id = 3", NULL, "back\\x5cslash.test"));
		CHECK(
		    sql_is(db, "SELECT name FROM names WHERE id = 4", NULL, "ctl\\x01\\x7f.test"));
		/* each connection row names what it was given */
		CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn WHERE sni = 2"), 2);
		CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn WHERE sni = 7"), 2);
		sqlite3_close(db);
	}
	/* Reopened: every name is read from the file, escaped ones too. */
	CHECK((a = store_open(path, STORE_READ_WRITE, err, sizeof err)) != NULL);
	for (int i = 0; a && i < N; i++)
		CHECK(put_named(a, c, sni[i], port++) > 0);
	/* A transaction rolled back (a trigger here; a full disk elsewhere) takes its new names
	 * along: they are written again after it. */
	if (a) {
		sqlite3 *db = NULL;

		CHECK_EQ(store_flush(a), 0);
		CHECK(sqlite3_open(path, &db) == SQLITE_OK);
		CHECK(sqlite3_exec(
		          db,
		          "CREATE TRIGGER refuse BEFORE INSERT ON conn WHEN "
		          "NEW.client_port = 9999 BEGIN SELECT RAISE(ROLLBACK, 'refused'); END",
		          NULL, NULL, NULL) == SQLITE_OK);
		sqlite3_close(db);
		CHECK(put_named(a, c, "lost.example.test", port++) > 0);
		CHECK(put_named(a, c, "lost2.example.test", 9999) < 0); /* the batch is lost */
		CHECK(put_named(a, c, "lost.example.test", port++) > 0);
		CHECK(put_named(a, c, "lost2.example.test", port++) > 0);
		CHECK_EQ(store_flush(a), 0);
		store_close(a);
	}
	CHECK_EQ(names_rows(path, 0), N + 5);

	/* Past the bound: the index, then the next writer uses it. */
	if (!(a = open_new("names_indexed.db", path, sizeof path)))
		goto out;
	store_names_held(a, 4);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 10; i++) {
			snprintf(name, sizeof name, "n%d.example.test", i);
			CHECK(put_named(a, c, name, port++) > 0);
		}
	store_close(a);
	CHECK_EQ(names_rows(path, 1), 10);
	CHECK((a = store_open(path, STORE_READ_WRITE, err, sizeof err)) != NULL);
	for (int i = 0; a && i <= 10; i++) {
		snprintf(name, sizeof name, "n%d.example.test", i);
		CHECK(put_named(a, c, name, port++) > 0);
	}
	store_close(a);
	CHECK_EQ(names_rows(path, 1), 11);

	/* A file with more names than the writer keeps (a v7 file migrated, a bound lowered):
	 * the index is made when the set is read, and used. */
	if (!(a = open_new("names_many.db", path, sizeof path)))
		goto out;
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "m%d.example.test", i);
		CHECK(put_named(a, c, name, port++) > 0);
	}
	store_close(a);
	CHECK_EQ(names_rows(path, 0), 10);
	if (!(a = store_open(path, STORE_READ_WRITE, err, sizeof err)))
		goto out;
	store_names_held(a, 4);
	for (int i = 0; i <= 10; i++) {
		snprintf(name, sizeof name, "m%d.example.test", i);
		CHECK(put_named(a, c, name, port++) > 0);
	}
	store_close(a);
	CHECK_EQ(names_rows(path, 1), 11);

	/* Names of one key (the hash cut to 2 bits): each told apart by its row's text, also
	 * after a reopen, where the set is read from the file. */
	uint16_t first = port;
	for (int round = 0; round < 3; round++) {
		if (!(a = round ? store_open(path, STORE_READ_WRITE, err, sizeof err)
		                : open_new("names_keys.db", path, sizeof path)))
			goto out;
		store_names_key(a, 3);
		for (int i = 0; i < 20; i++) {
			snprintf(name, sizeof name, "k%d.example.test", (i * 7 + round) % 20);
			CHECK(put_named(a, c, name, port++) > 0);
		}
		store_close(a);
		CHECK_EQ(names_rows(path, 0), 20);
	}
	{
		sqlite3 *db = open_raw_at(path);
		char q[96], want[32];
		int wrong = 0;

		/* every row names the name it was given (its port says which) */
		for (int k = 0; k < 60; k++) {
			snprintf(q, sizeof q, "SELECT sni FROM connections WHERE client_port = %d",
			         first + k);
			snprintf(want, sizeof want, "k%d.example.test",
			         ((k % 20) * 7 + k / 20) % 20);
			wrong += !sql_is(db, q, NULL, want);
		}
		CHECK_EQ(wrong, 0);
		sqlite3_close(db);
	}
out:
	c->r.app_label = label;
}

static void check_sslv2_export(void)
{
	static const uint32_t kinds[] = {0x010080, 0x0700c0, 0x00002f};
	char path[300];
	struct store *s;
	struct conn c;
	char *out;

	s = open_new("sslv2.db", path, sizeof path);
	if (!s)
		return;
	conn_init(&c, "10.1.0.1", 1025, "10.1.0.2", 443, 1000000, TC_V_SSL2, 0, 0);
	c.ch->sslv2 = 1;
	c.ch->has_extensions = 0;
	c.ch->has_groups = 0;
	c.ch->has_pointfmt = 0;
	set_ciphers(c.ch, kinds, 3);
	CHECK(put(s, &c) > 0);
	out = capture(s, store_export_ndjson);
	CHECK(out && strstr(out, "\"client_version\": \"SSLv2\", \"client_versions\": null, "
	                         "\"client_max_version\": \"SSLv2\", "
	                         "\"ciphers\": [\"0x010080\", \"0x0700c0\", \"0x00002f\"], "
	                         "\"alpn\": null, \"version\": null, \"cipher\": null, "
	                         "\"ja3\": null"));
	free(out);
	store_flush(s);
	sqlite3 *db = open_raw_at(path);
	CHECK(sql_is(db, "SELECT reason FROM legacy_connections", NULL,
	             "SSLv2 offered, no ServerHello"));
	sqlite3_close(db);
	store_close(s);
	conn_free(&c);
}

static void cleanup(void)
{
	static const char *const names[] = {
	    "t.db",           "t.db-wal",    "t.db-shm",     "modern.db",    "modern.db-wal",
	    "modern.db-shm",  "sslv2.db",    "sslv2.db-wal", "sslv2.db-shm", "bulk.db",
	    "bulk.db-wal",    "bulk.db-shm", "dtls.db",      "dtls.db-wal",  "dtls.db-shm",
	    "newer.db",       "other.db",    "notes.txt",    "minutes.db",   "minutes.db-wal",
	    "minutes.db-shm",
	};
	char path[300];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* One inventory row per distinct (client, server, SNI, version, cipher, ...): the legacy report
 * reads it, and it outlives pruned connection rows. */
static void check_inventory(sqlite3 *db)
{
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM inventory"), R_COUNT - 1);
	CHECK_EQ(sql_int(db, "SELECT sum(connections) FROM inventory"), R_COUNT - 1);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM inventory WHERE version = -1"), 1);
}

/* A second identical connection folds into the same inventory row; pruning removes connection
 * rows but keeps the inventory. */
static void check_prune(const struct conn *c)
{
	char path[300];
	struct store *s = open_new("prune.db", path, sizeof path);
	if (!s)
		return;
	CHECK(put(s, c) > 0);
	CHECK(put(s, c) > 0);
	CHECK_EQ(store_prune(s, 1e12, 1), 1);
	CHECK_EQ(store_prune(s, 1e12, 100), 1);
	CHECK_EQ(store_prune(s, 1e12, 100), 0);
	store_close(s);
	sqlite3 *db;
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections"), 0);
	CHECK_EQ(sql_int(db, "SELECT connections FROM inventory"), 2);
	sqlite3_close(db);
}

/* A database that ships is its own outbox: pruning deletes only rows every destination has
 * acknowledged (ship_state.last_id), and never the newest row, whose id SQLite would reuse. */
static void check_prune_outbox(const struct conn *c)
{
	char path[300];
	struct store *s = open_new("outbox.db", path, sizeof path);
	if (!s)
		return;
	for (int i = 0; i < 4; i++)
		CHECK(put(s, c) > 0);
	CHECK_EQ(store_flush(s), 0);
	CHECK_EQ(sqlite3_exec(store_db(s),
	                      "INSERT INTO ship_state (destination, sensor, last_id, "
	                      "inventory_done, runs_from, shipped) VALUES "
	                      "('http://a/tlscensus', 'x', 2, 1, 0, 2), "
	                      "('http://b/tlscensus', 'x', 4, 1, 0, 4)",
	                      NULL, NULL, NULL),
	         SQLITE_OK);
	CHECK_EQ(store_prune(s, 1e12, 100), 2); /* rows 1 and 2: acknowledged by both */
	CHECK_EQ(sqlite3_exec(store_db(s), "UPDATE ship_state SET last_id = 4", NULL, NULL, NULL),
	         SQLITE_OK);
	CHECK_EQ(store_prune(s, 1e12, 100), 1); /* row 3; row 4 is the newest */
	CHECK_EQ(sql_int(store_db(s), "SELECT min(id) FROM conn"), 4);
	CHECK_EQ(sql_int(store_db(s), "SELECT sum(connections) FROM inventory"), 4);
	store_close(s);
	for (const char *ext = ""; ext; ext = !*ext                  ? "-wal"
	                                      : !strcmp(ext, "-wal") ? "-shm"
	                                                             : NULL) {
		char file[320];

		snprintf(file, sizeof file, "%s%s", path, ext);
		unlink(file);
	}
}

/* 1 when the query plan of sql has a step that reads as want. */
static int plan_has(sqlite3 *db, const char *sql, const char *want)
{
	char q[2048];
	sqlite3_stmt *st = NULL;
	int found = 0;

	snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "  plan: %s: %s\n", sql, sqlite3_errmsg(db));
		return 0;
	}
	while (!found && sqlite3_step(st) == SQLITE_ROW) {
		const char *step = (const char *)sqlite3_column_text(st, 3);

		found = step && strcmp(step, want) == 0;
		if (!found && step)
			fprintf(stderr, "  plan step: %s\n", step);
	}
	sqlite3_finalize(st);
	return found;
}

/* Rows whose first_ts is outside their minute's span in conn_minutes: must be none. */
static long long minutes_uncovered(sqlite3 *db)
{
	return sql_int(db, "SELECT count(*) FROM conn c WHERE NOT EXISTS (SELECT 1 FROM "
	                   "conn_minutes m WHERE m.minute = CAST(c.first_ts / 60 AS INTEGER) AND "
	                   "c.id BETWEEN m.lo AND m.hi)");
}

/* 1 when a window [a, b] counts the same rows through STORE_CONN_IDS as by first_ts alone. */
static int window_agrees(sqlite3 *db, double a, double b)
{
	static const char *const sql[] = {
	    "SELECT count(*) FROM conn WHERE first_ts >= ?1 AND first_ts <= ?2",
	    "SELECT count(*) FROM conn c WHERE c.first_ts >= ?1 AND c.first_ts <= ?2 "
	    "AND" STORE_CONN_IDS("c.id", "?1", "?2"),
	};
	long long n[2] = {-1, -2};

	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK)
			return 0;
		sqlite3_bind_double(st, 1, a);
		sqlite3_bind_double(st, 2, b);
		if (sqlite3_step(st) == SQLITE_ROW)
			n[i] = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (n[0] != n[1])
		fprintf(stderr, "  window [%.6f, %.6f]: %lld rows by first_ts, %lld by the spans\n",
		        a, b, n[0], n[1]);
	return n[0] == n[1];
}

/*
 * Schema v7: conn_minutes stands in for the time index. Rows stored out of time order (an older
 * capture read after a newer one, stragglers, many minutes in one batch, batches of every size)
 * are all inside their minute's span; windows give the same rows through the spans as by
 * first_ts; the earliest first_ts comes out right after the earliest rows are deleted; SQLite
 * reads a window as a row id range; pruning keeps the spans of the rows left.
 */
static void check_minutes(struct conn *c)
{
	char err[512], path[300];
	const uint64_t base = 1704067200ULL * 1000000; /* 2024-01-01 */
	uint64_t saved_first = c->r.first_ts, saved_last = c->r.last_ts;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int n = 0, ok = 0;
	sqlite3 *db = NULL;

	struct store *s = open_new("minutes.db", path, sizeof path);
	if (!s)
		return;
	for (int i = 0; i < 6000; i++) {
		uint64_t t;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (i < 2000) /* a day in order, 40 s apart, jittered by up to 90 s */
			t = base + (uint64_t)i * 40000000 + x % 90000000;
		else if (i < 3000) /* an older capture, read after it */
			t = base - 86400000000ULL + (uint64_t)(i - 2000) * 7000000;
		else if (i < 3500) /* 500 rows over 500 hours: hundreds of minutes in one batch */
			t = base + (x % 500) * 3600000000ULL + x % 60000000;
		else /* on, with stragglers from an hour back */
			t = base + 90000000000ULL + (uint64_t)i * 1000000 -
			    (i % 97 == 0 ? 3600000000ULL : 0);
		c->r.first_ts = t;
		c->r.last_ts = t + 2000000;
		ok += put(s, c) > 0;
		n++;
		if (i % 777 == 0 || i == 3499)
			CHECK_EQ(store_flush(s), 0);
	}
	CHECK_EQ(ok, n);
	c->r.first_ts = saved_first, c->r.last_ts = saved_last;
	store_close(s);

	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM conn"), n);
	CHECK_EQ(minutes_uncovered(db), 0);
	CHECK(sql_int(db, "SELECT count(*) FROM conn_minutes") > 500);
	{
		int agree = 0, windows = 0;
		const double lo = (double)(base / 1000000) - 90000, hi = lo + 90000 + 2000 * 3600;

		for (int i = 0; i < 300; i++, windows++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			double a =
			    lo + (double)(x % (uint64_t)(hi - lo)) + (double)(x % 1000) / 1000;
			double w = i % 3 == 0 ? 30 : i % 3 == 1 ? 3600 : 86400 * 3;

			agree += window_agrees(db, a, a + w);
		}
		agree += window_agrees(db, -1e300, 1e300);
		agree += window_agrees(db, lo + 90000, lo + 90000); /* base, to the microsecond */
		agree += window_agrees(db, 0, 1);                   /* nothing */
		CHECK_EQ(agree, windows + 3);
	}
	CHECK(sql_is(db,
	             "SELECT printf('%.6f', " STORE_CONN_FIRST_TS ") = printf('%.6f', "
	             "(SELECT min(first_ts) FROM conn))",
	             NULL, "1"));
	/* The earliest rows gone (as a user's DELETE or a cut read's redo leaves it): their span
	 * stays, and the earliest first_ts is still found. */
	CHECK_EQ(sqlite3_exec(db,
	                      "DELETE FROM conn WHERE first_ts < (SELECT min(first_ts) + 3600 FROM "
	                      "conn)",
	                      NULL, NULL, NULL),
	         SQLITE_OK);
	CHECK(sql_is(db,
	             "SELECT printf('%.6f', " STORE_CONN_FIRST_TS ") = printf('%.6f', "
	             "(SELECT min(first_ts) FROM conn))",
	             NULL, "1"));
	sqlite3_close(db);

	/* Pruning: the rows before a time go, the spans of those left stay whole. */
	s = store_open(path, STORE_READ_WRITE, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	{
		const double cut = (double)(base / 1000000) + 40000;
		long long left, want;
		int64_t pruned = 0, k;

		want =
		    sql_int(store_db(s), "SELECT count(*) FROM conn WHERE last_ts >= 1704107200");
		while ((k = store_prune(s, cut, 1000)) > 0)
			pruned += k;
		CHECK_EQ(k, 0);
		left = sql_int(store_db(s), "SELECT count(*) FROM conn");
		CHECK_EQ(left, want);
		CHECK(pruned > 1000);
		CHECK_EQ(minutes_uncovered(store_db(s)), 0);
		CHECK_EQ(sql_int(store_db(s),
		                 "SELECT count(*) FROM conn_minutes WHERE hi < (SELECT "
		                 "min(id) FROM conn)"),
		         0);
	}
	/* SQLite reads a window as a range of row ids, not the whole table. */
	CHECK(plan_has(store_db(s),
	               "SELECT count(*) FROM connections c WHERE c.first_ts >= 1 AND "
	               "c.first_ts <= 2 AND" STORE_CONN_IDS("c.id", "1", "2"),
	               "SEARCH c USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"));
	store_close(s);
}

int main(void)
{
	struct conn c[R_COUNT];
	struct run_stats stats = {.packets = 1234, .handshakes = 5};
	char err[512];
	struct store *s;
	sqlite3 *db;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db_path, sizeof db_path, "%s/t.db", dir);
	build(c);

	s = store_open(db_path, STORE_READ_WRITE, err, sizeof err);
	if (!s) {
		fprintf(stderr, "store_open: %s\n", err);
		cleanup();
		return 1;
	}
	CHECK_EQ(store_run_begin(s, "test.pcap", "read"), 0);
	for (int i = 0; i < R_COUNT; i++)
		CHECK_EQ(put(s, &c[i]), i + 1);
	/* Later packets on connection 1. */
	c[0].r.last_ts = 1704164700500000ULL;
	c[0].r.packets[0] = 9;
	CHECK_EQ(store_touch(s, R_TLS10, &c[0].r), 0);
	CHECK(store_touch(s, 999, &c[0].r) != 0);
	CHECK_EQ(store_run_end(s, &stats), 0);

	/* Committed: visible to another connection while the writer is still open. */
	db = open_raw();
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections"), R_COUNT);
	CHECK(sql_is(db,
	             "SELECT printf('%.6f/%d', last_ts, client_packets) FROM connections "
	             "WHERE id = 1",
	             NULL, "1704164700.500000/9"));
	store_close(s);

	check_schema(db);
	check_rows(db);
	check_inventory(db);

	/* The query commands open read-only, and a second writer-free reopen works. */
	s = store_open(db_path, STORE_READ_ONLY, err, sizeof err);
	CHECK(s != NULL);
	if (s) {
		CHECK(put(s, &c[0]) < 0);
		check_export(s, db, c);
		store_close(s);
	}
	/* Reopening for writing finds the schema in place and keeps the rows. */
	s = store_open(db_path, STORE_READ_WRITE, err, sizeof err);
	CHECK(s != NULL);
	store_close(s);
	CHECK_EQ(sql_int(db, "SELECT count(*) FROM connections"), R_COUNT);
	sqlite3_close(db);

	check_open_errors();
	check_sslv2_export();
	check_dtls_export();
	check_no_prints();
	check_put_ahead();
	check_put_rows();
	check_put_rows_unprepared();
	check_rows_after_fault();
	check_batches(&c[2]);
	check_checkpoints(&c[2]);
	check_wal_bounded(&c[2]);
	check_prune(&c[0]);
	check_prune_outbox(&c[0]);
	check_minutes(&c[2]);
	check_names(&c[2]);
	/* Regression: empty text came back unterminated (seen by the CSV printer on ""). */
	char *empty = text_inert("", 0, 0);
	CHECK(empty && empty[0] == '\0');
	free(empty);
	check_foreign_schemas();

	for (int i = 0; i < R_COUNT; i++)
		conn_free(&c[i]);
	cleanup();
	TEST_DONE("store");
}
