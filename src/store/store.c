/*
 * store.c: the SQLite room's write side. Creates and migrates the versioned schema, keeps the
 * reference tables (cipher suites, versions, alerts) filled, and writes connection records through
 * statements prepared once, in batched transactions. It reads no packets and formats no reports.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "addr.h"
#include "alerts.h"
#include "ciphers.h"
#include "groups.h"
#include "idcache.h"
#include "nameset.h"
#include "schema.h"
#include "store.h"
#include "text.h"
#include "util.h"
#include "tlscensus/fingerprint.h"

#ifndef TC_VERSION
#define TC_VERSION "unknown"
#endif

/* A commit costs an fsync of the WAL at most (synchronous=NORMAL); batching (STORE_BATCH rows)
 * keeps that off the per-row path, and the time bound keeps a slow live capture from holding
 * rows uncommitted. */
#define STORE_COMMIT_SECONDS 1.0
#define STORE_CLOCK_EVERY    32 /* rows between looks at the clock */
#define STORE_BUSY_MS        5000
/* WAL pages past which the checkpoint thread copies the WAL into the database: 16 MiB. SQLite's
 * own autocheckpoint default, 1,000 pages, made the thread wake, copy and sync about 25 times
 * on bench-flows; on two busy cores each took one from the reader or the writer (the read
 * took 4-6 % longer than at 4,000, in paired runs). The WAL peaks at about 26 MB there. */
#define STORE_CHECKPOINT_PAGES 4000

/* The versions the tls_versions table names; names and ranks come from dissectors/hello.c. */
static const struct {
	uint16_t value;
	uint8_t legacy;
} known_versions[] = {
    {TC_V_SSL2, 1},  {TC_V_SSL3, 1}, {TC_V_TLS10, 1}, {TC_V_TLS11, 1}, {TC_V_TLS12, 0},
    {TC_V_TLS13, 0}, {0xfeff, 1},    {0xfefd, 0},     {0xfefc, 0},
};

int store_version_info(int64_t v, int *rank, int *legacy)
{
	for (size_t i = 0; i < COUNT_OF(known_versions); i++)
		if (known_versions[i].value == v) {
			*rank = tc_version_rank(known_versions[i].value);
			*legacy = known_versions[i].legacy;
			return 1;
		}
	return 0;
}

/* Columns of a connection row (table conn, schema v2), in bind order; one list so names and
 * indexes cannot drift apart. */
#define CONN_COLUMNS(X)                                                                            \
	X(RUN_ID, run_id)                                                                          \
	X(FIRST_TS, first_ts)                                                                      \
	X(LAST_TS, last_ts)                                                                        \
	X(TRANSPORT, transport)                                                                    \
	X(IP_VERSION, ip_version)                                                                  \
	X(CLIENT_IP, client_ip)                                                                    \
	X(CLIENT_PORT, client_port)                                                                \
	X(SERVER_IP, server_ip)                                                                    \
	X(SERVER_PORT, server_port)                                                                \
	X(CLIENT_PACKETS, client_packets)                                                          \
	X(SERVER_PACKETS, server_packets)                                                          \
	X(CLIENT_BYTES, client_bytes)                                                              \
	X(SERVER_BYTES, server_bytes)                                                              \
	X(FLAGS, flags)                                                                            \
	X(CH, ch)                                                                                  \
	X(SH, sh)                                                                                  \
	X(SNI, sni)                                                                                \
	X(SESSION_ID_LEN, session_id_len)                                                          \
	X(ALERT, alert)                                                                            \
	X(APP_LABEL, app_label)                                                                    \
	X(STATUS, status)                                                                          \
	X(ERROR, error)                                                                            \
	X(HELLO_COUNT, hello_count)                                                                \
	X(QUIC_VERSION, quic_version)

/* Columns of a client_hellos row, stored once per hello shape. */
#define CH_COLUMNS(X)                                                                              \
	X(SHAPE, shape)                                                                            \
	X(VERSION, ch_version)                                                                     \
	X(SSLV2, ch_sslv2)                                                                         \
	X(VERSIONS, ch_versions)                                                                   \
	X(MAX_VERSION, ch_max_version)                                                             \
	X(CIPHERS, ciphers)                                                                        \
	X(EXTENSIONS, extensions)                                                                  \
	X(GROUPS, groups)                                                                          \
	X(KEY_SHARES, key_shares)                                                                  \
	X(SIG_ALGS, sig_algs)                                                                      \
	X(POINT_FORMATS, point_formats)                                                            \
	X(COMPRESSION, compression)                                                                \
	X(ALPN, alpn)                                                                              \
	X(FALLBACK_SCSV, fallback_scsv)                                                            \
	X(SESSION_TICKET, session_ticket)                                                          \
	X(TRUNC, ch_trunc)                                                                         \
	X(JA3, ja3)                                                                                \
	X(JA3_STR, ja3_str)                                                                        \
	X(JA4, ja4)

/* Columns of a server_hellos row. */
#define SH_COLUMNS(X)                                                                              \
	X(SHAPE, shape)                                                                            \
	X(VERSION, sh_version)                                                                     \
	X(SELECTED_VERSION, sh_selected_version)                                                   \
	X(NEGOTIATED, version)                                                                     \
	X(CIPHER, cipher)                                                                          \
	X(EXTENSIONS, sh_extensions)                                                               \
	X(ALPN, sh_alpn)                                                                           \
	X(JA3S, ja3s)                                                                              \
	X(JA3S_STR, ja3s_str)                                                                      \
	X(GROUP, sh_group)

#define COL_ENUM(e, n) COL_##e,
#define COL_NAME(e, n) #n,
enum conn_col { CONN_COLUMNS(COL_ENUM) COL_COUNT };
static const char *const conn_col_names[] = {CONN_COLUMNS(COL_NAME)};
#undef COL_ENUM
#define COL_ENUM(e, n) CH_##e,
enum ch_col { CH_COLUMNS(COL_ENUM) CH_COUNT };
static const char *const ch_col_names[] = {CH_COLUMNS(COL_NAME)};
#undef COL_ENUM
#define COL_ENUM(e, n) SH_##e,
enum sh_col { SH_COLUMNS(COL_ENUM) SH_COUNT };
static const char *const sh_col_names[] = {SH_COLUMNS(COL_NAME)};
#undef COL_ENUM
#undef COL_NAME

/* Rows the writer remembers instead of looking them up: hello shapes (a network has hundreds)
 * and names (SNIs repeat: popular services). Bounds keep the writer's memory flat. */
#define STORE_SHAPES_CACHED (1u << 14)
#define STORE_NAMES_CACHED  (1u << 17)
/* Rows of names the writer keeps by hash (nameset.h), 32 MiB at most; a database with more gets
 * the index names_name and is looked up there (schema.c, version 8). */
#define STORE_NAMES_HELD (1u << 20)

/* ---------------------------------------------------------------- state */

struct store {
	sqlite3 *db;
	sqlite3 *rw; /* store_db_write's own connection when the store is read-only */
	char *path;
	enum store_mode mode;
	sqlite3_stmt *insert;      /* conn row, prepared once, reused for every row */
	sqlite3_stmt *insert_rows; /* STORE_ROWS conn rows in one statement (store_put_rows) */
	sqlite3_stmt *touch;
	sqlite3_stmt *ch_find, *ch_insert; /* client_hellos by shape */
	sqlite3_stmt *sh_find, *sh_insert;
	sqlite3_stmt *name_find, *name_insert, *name_text, *names_after, *version_st;
	sqlite3_stmt *prune_pick, *prune_fold, *prune_delete, *prune_clear, *prune_spans;
	struct idcache ch_ids, sh_ids, name_ids;
	/* Every row of names (nameset.h), while names_indexed is 0. names_stale: the set must be
	 * read again before the next name (at open, and after a rollback took rows it held). */
	struct nameset names;
	int names_indexed, names_stale;
	int64_t names_max_id; /* the highest id the set holds */
	int64_t data_version; /* PRAGMA data_version when the set was last brought up to date */
	uint64_t names_mask;  /* the bits of a name's hash the set keys it by (store_names_key) */
	int64_t run_id;       /* 0: no run begun */
	unsigned pending;     /* rows in the open transaction */
	/* Connection rows: in the open transaction, committed, and lost to a transaction that
	 * could not commit (disk full, I/O error) and was rolled back. */
	uint64_t conn_pending, conn_committed, conn_lost;
	int64_t committed_max_id; /* highest conn id known committed (rowids after it may be
	                           * reused once a transaction is rolled back) */
	char failure[256];        /* why the last write failed; "" once a commit succeeds */
	unsigned failures;        /* transactions rolled back */
	int64_t input_id;         /* inputs row of the file being read */
	struct timespec last_commit;
	int bind_failed;
	int rows_ok;               /* store_put_rows may write STORE_ROWS rows in one statement */
	uint64_t rows_batched;     /* rows store_put_rows wrote STORE_ROWS to a statement */
	struct sbuf text;          /* scratch for JSON arrays and wire text */
	struct checkpointer *ckpt; /* store_checkpoint_thread; NULL: SQLite checkpoints inline */
	/* conn_minutes of the open transaction: each minute's row id span, an open-addressing
	 * table of span_cap (a power of two) slots, lo 0 for a free one (ids start at 1). */
	struct minute_span *spans;
	size_t span_cap, span_n, span_last;
	sqlite3_stmt *span_write;
};

/* The row ids of the connections that started in one minute of first_ts (conn_minutes). */
struct minute_span {
	int64_t minute, lo, hi;
};

/* ---------------------------------------------------------------- JSON arrays */

/* A JSON array of integers from a u8, u16 or u32 array. */
static void json_ints(struct sbuf *b, const void *v, size_t n, size_t width)
{
	sb_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		unsigned long x = width == 1   ? ((const uint8_t *)v)[i]
		                  : width == 2 ? ((const uint16_t *)v)[i]
		                               : ((const uint32_t *)v)[i];
		if (i)
			sb_putc(b, ',');
		sb_uint(b, x);
	}
	sb_putc(b, ']');
}

/* RFC 7301 3.1: u8-prefixed names, every one (hello.c keeps the list whole). A name that
 * would run past the list's end (a hand-built hello) is dropped rather than overrun. */
static void json_alpn(struct sbuf *b, const uint8_t *list, size_t len)
{
	size_t i = 0;
	int first = 1;

	sb_putc(b, '[');
	while (i < len) {
		size_t n = list[i];

		if (n > len - i - 1)
			break;
		if (!first)
			sb_putc(b, ',');
		first = 0;
		sb_putc(b, '"');
		text_put_wire(b, list + i + 1, n, 1, 1);
		sb_putc(b, '"');
		i += 1 + n;
	}
	sb_putc(b, ']');
}

/* ---------------------------------------------------------------- helpers */

static double usec_to_unix(uint64_t us)
{
	return (double)(us / 1000000) + (double)(us % 1000000) / 1e6;
}

static void report(const struct store *s, const char *what)
{
	fprintf(stderr, "tlscensus: database '%s': %s: %s\n", s->path, what, sqlite3_errmsg(s->db));
}

/* Errors after which the open transaction cannot be trusted to commit: SQLite may already
 * have rolled it back, and retrying the same pages fails the same way. */
static int write_fault(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_NOMEM ||
	       rc == SQLITE_CORRUPT || rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN;
}

/* After a write failed: the open transaction is gone (SQLite rolled it back: a write fault,
 * or a trigger's RAISE(ROLLBACK) in a database a user added one to) or cannot be trusted to
 * commit. The rows it held are lost (txn_lost); otherwise only the failed write is. */
static int txn_gone(struct store *s)
{
	return write_fault(sqlite3_extended_errcode(s->db)) || sqlite3_get_autocommit(s->db);
}

static void idcaches_reset(struct store *s);
static int names_sync(struct store *s);
static int spans_init(struct store *s);
static void spans_clear(struct store *s);
static int exec(struct store *s, const char *sql);

/*
 * The open transaction failed for good: roll it back, so what was committed stays as it was
 * and the next rows start a clean transaction (a later commit may succeed once space is
 * freed). The rows it held are counted as lost, and the id caches forgotten: they may name
 * hello and name rows that went with it. Quiet: the writer and the command say it once.
 */
static void txn_lost(struct store *s, const char *what)
{
	snprintf(s->failure, sizeof s->failure, "%s: %s", what, sqlite3_errmsg(s->db));
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	s->conn_lost += s->conn_pending;
	s->conn_pending = 0;
	s->pending = 0;
	s->failures++;
	idcaches_reset(s);
	s->names_stale = 1;   /* the set may hold names that went with the transaction */
	s->names_indexed = 0; /* and the index may have gone with it: names_sync looks */
	spans_clear(s);       /* their rows are gone */
}

/* A write in the batch (or the one that ends it) failed. A full disk or an I/O error (or
 * SQLite's own rollback): the batch is lost (txn_lost), what was committed stays. Anything else
 * (busy, a row refused): the transaction stays open, with its rows and spans, and a later flush
 * may still commit it. -1. */
static int batch_failed(struct store *s, const char *what)
{
	if (txn_gone(s))
		txn_lost(s, what);
	else
		report(s, what);
	return -1;
}

static int exec(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* One integer from a query (count, pragma); -1 on error. */
static int64_t query_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- reference tables */

static void weakness_text(struct sbuf *b, unsigned w)
{
	static const struct {
		unsigned bit;
		const char *name;
	} bits[] = {
	    {CIPHER_NULL, "NULL"}, {CIPHER_EXPORT, "EXPORT"}, {CIPHER_ANON, "ANON"},
	    {CIPHER_RC4, "RC4"},   {CIPHER_DES, "DES"},       {CIPHER_3DES, "3DES"},
	    {CIPHER_RC2, "RC2"},   {CIPHER_MD5, "MD5"},       {CIPHER_SCSV, "SCSV"},
	};

	sb_reset(b);
	sb_put(b, "", 0);
	for (size_t i = 0; i < COUNT_OF(bits); i++) {
		if (!(w & bits[i].bit))
			continue;
		if (b->len)
			sb_putc(b, ',');
		sb_put(b, bits[i].name, strlen(bits[i].name));
	}
}

static int fill_ciphers(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = exec(s, "DELETE FROM cipher_suites");

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT INTO cipher_suites VALUES (?1, ?2, ?3, ?4)",
		                        -1, &st, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < cipher_count(); i++) {
		const struct cipher_suite *cs = cipher_at(i);

		weakness_text(&s->text, cs->weakness);
		if (s->text.failed) {
			rc = SQLITE_NOMEM;
			break;
		}
		sqlite3_bind_int64(st, 1, cs->value);
		sqlite3_bind_text(st, 2, cs->name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, cipher_is_legacy(cs->value) ? 1 : 0);
		sqlite3_bind_text(st, 4, s->text.p, (int)s->text.len, SQLITE_TRANSIENT);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static int fill_versions(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = exec(s, "DELETE FROM tls_versions");

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT INTO tls_versions VALUES (?1, ?2, ?3, ?4)",
		                        -1, &st, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < COUNT_OF(known_versions); i++) {
		uint16_t v = known_versions[i].value;
		const char *name = tc_version_name(v);
		char hex[8];

		if (!name) {
			snprintf(hex, sizeof hex, "0x%04x", v);
			name = hex;
		}
		sqlite3_bind_int(st, 1, v);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 3, tc_version_rank(v));
		sqlite3_bind_int(st, 4, known_versions[i].legacy);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static int fill_alerts(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = exec(s, "DELETE FROM alert_descriptions");

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT INTO alert_descriptions VALUES (?1, ?2)", -1,
		                        &st, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < tc_alert_count(); i++) {
		sqlite3_bind_int(st, 1, tc_alert_at(i)->value);
		sqlite3_bind_text(st, 2, tc_alert_at(i)->name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static int fill_groups(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = exec(s, "DELETE FROM tls_groups");

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT INTO tls_groups VALUES (?1, ?2, ?3)", -1,
		                        &st, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < group_count(); i++) {
		sqlite3_bind_int(st, 1, group_at(i)->value);
		sqlite3_bind_text(st, 2, group_at(i)->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, group_kind_name(group_at(i)->kind), -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

/* conn.status and conn.error hold the enum values of record.h and dissector.h: these tables
 * name them, so the values must never be renumbered (new ones go at the end). */
static int fill_codes(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = exec(s, "DELETE FROM conn_statuses; DELETE FROM parse_errors");

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT INTO conn_statuses VALUES (?1, ?2)", -1, &st,
		                        NULL);
	for (int i = 0; rc == SQLITE_OK && i < TC_CONN_STATUS_COUNT; i++) {
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_text(st, 2, tc_conn_status_name((enum tc_conn_status)i), -1,
		                  SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "INSERT INTO parse_errors VALUES (?1, ?2)", -1, &st,
		                        NULL);
	for (int i = 1; rc == SQLITE_OK && i < TC_ERR_COUNT; i++) {
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_text(st, 2, tc_err_name((enum tc_err)i), -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The reference tables follow the code: refilled when a row count differs from ours. */
static int refs_stale(struct store *s)
{
	return query_int(s, "SELECT count(*) FROM cipher_suites") != (int64_t)cipher_count() ||
	       query_int(s, "SELECT count(*) FROM tls_versions") !=
	           (int64_t)COUNT_OF(known_versions) ||
	       query_int(s, "SELECT count(*) FROM alert_descriptions") !=
	           (int64_t)tc_alert_count() ||
	       query_int(s, "SELECT count(*) FROM conn_statuses") != TC_CONN_STATUS_COUNT ||
	       query_int(s, "SELECT count(*) FROM parse_errors") != TC_ERR_COUNT - 1 ||
	       query_int(s, "SELECT count(*) FROM tls_groups") != (int64_t)group_count();
}

/* ---------------------------------------------------------------- open */

/* Reads user_version; this is also the first read of the file, so it is where a file that is
 * not a database shows itself. */
static int read_version(struct store *s, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*version = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		return 0;
	int ext = sqlite3_extended_errcode(s->db);
	if (rc == SQLITE_NOTADB)
		set_err(err, errlen,
		        "'%s' is not a SQLite database; give the path of a tlscensus database, or "
		        "a new file name",
		        s->path);
	else if ((ext & 0xff) == SQLITE_CORRUPT)
		set_err(err, errlen,
		        "database '%s' is damaged (%s: truncated or overwritten); nothing was "
		        "written to it. Keep it for recovery (sqlite3 '%s' .recover) and give "
		        "another --db file",
		        s->path, sqlite3_errmsg(s->db), s->path);
	else if ((ext & 0xff) == SQLITE_READONLY || (ext & 0xff) == SQLITE_CANTOPEN)
		set_err(err, errlen,
		        "cannot open database '%s': %s; the file and its directory must be "
		        "writable by this user (SQLite keeps '%s-wal' and '%s-shm' beside it)",
		        s->path, sqlite3_errmsg(s->db), s->path, s->path);
	else
		set_err(err, errlen, "cannot read database '%s': %s", s->path,
		        sqlite3_errmsg(s->db));
	return -1;
}

/* Version 0 is a new, empty file; version 0 with tables is some other program's database. */
static int check_version(struct store *s, int version, char *err, size_t errlen)
{
	if (version > STORE_SCHEMA_VERSION) {
		set_err(
		    err, errlen,
		    "database '%s' has schema version %d, newer than this tlscensus knows (%d); "
		    "use a newer tlscensus",
		    s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (version == 0 &&
	    query_int(s, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") > 0) {
		set_err(err, errlen,
		        "'%s' is a SQLite database of another program (no tlscensus schema); give "
		        "another database file",
		        s->path);
		return -1;
	}
	return 0;
}

/* SQL functions the v1 -> v2 migration calls to turn v1's text columns into v2's codes. */
/* An IPv4 (IPv4-mapped) address as conn.client_ip/server_ip stores it. */
static int64_t addr_v4_value(const struct tc_addr *a)
{
	return (int64_t)a->b[12] << 24 | a->b[13] << 16 | a->b[14] << 8 | a->b[15];
}

/* v1 stored IPv4 as a dotted quad (tc_addr_format): exactly that text becomes the integer. */
static void ip_pack_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	struct tc_addr a;

	(void)argc;
	if (text && tc_addr_parse(text, &a) && !strchr(text, ':'))
		sqlite3_result_int64(ctx, addr_v4_value(&a));
	else
		sqlite3_result_value(ctx, argv[0]);
}

static void status_code_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);

	(void)argc;
	for (int i = 0; text && i < TC_CONN_STATUS_COUNT; i++)
		if (!strcmp(text, tc_conn_status_name((enum tc_conn_status)i))) {
			sqlite3_result_int(ctx, i);
			return;
		}
	sqlite3_result_int(ctx, TC_CONN_OK);
}

static void error_code_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);

	(void)argc;
	for (int i = 1; text && i < TC_ERR_COUNT; i++)
		if (!strcmp(text, tc_err_name((enum tc_err)i))) {
			sqlite3_result_int(ctx, i);
			return;
		}
	sqlite3_result_null(ctx);
}

static int migration_functions(struct store *s)
{
	int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
	int rc = sqlite3_create_function(s->db, "tc_ip_pack", 1, f, NULL, ip_pack_fn, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(s->db, "tc_status_code", 1, f, NULL, status_code_fn,
		                             NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(s->db, "tc_error_code", 1, f, NULL, error_code_fn,
		                             NULL, NULL);
	return rc;
}

/* Views hold no data, and SQLite renames no table while a view reads a table that is gone (a
 * migration that rebuilds one, version 8): every view goes before the migrations, and
 * apply_schema makes them again after, in the same transaction. */
static int drop_views(struct store *s)
{
	struct sbuf sql = {0};
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_schema WHERE type = 'view'", -1,
	                            &st, NULL);

	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (!name)
			continue;
		sb_put(&sql, "DROP VIEW \"", 11);
		sb_put(&sql, name, strlen(name)); /* names of our own views: no quote in them */
		sb_put(&sql, "\";", 2);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_finalize(st);
	if (rc == SQLITE_OK && sql.failed)
		rc = SQLITE_NOMEM;
	if (rc == SQLITE_OK && sql.p)
		rc = exec(s, sql.p);
	if (rc == SQLITE_OK)
		rc = exec(s, "DELETE FROM meta WHERE key = 'views_hash'");
	free(sql.p);
	return rc;
}

static int migrate(struct store *s, int from)
{
	char sql[128];
	int rc = migration_functions(s);

	if (rc == SQLITE_OK && from > 0)
		rc = drop_views(s);

	for (size_t i = 0; rc == SQLITE_OK && i < store_migration_count; i++)
		if (store_migrations[i].version > from)
			rc = exec(s, store_migrations[i].sql);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	if (rc == SQLITE_OK)
		rc = exec(s, sql);
	snprintf(sql, sizeof sql,
	         "INSERT OR REPLACE INTO meta VALUES ('schema_version', '%d'), "
	         "('tool_version', '%s')",
	         STORE_SCHEMA_VERSION, TC_VERSION);
	if (rc == SQLITE_OK)
		rc = exec(s, sql);
	if (rc == SQLITE_OK)
		rc = exec(s, "INSERT OR IGNORE INTO meta VALUES ('created', "
		             "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))");
	return rc;
}

/* FNV-1a of the views' SQL, kept in meta: a changed view definition is applied on the next
 * writable open without a schema version of its own (views hold no data). */
static void views_hash(char out[17])
{
	uint64_t h = tc_hash_bytes(store_views_sql, strlen(store_views_sql)) ^
	             tc_hash_bytes(store_outbox_sql, strlen(store_outbox_sql)) * 31;

	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int views_stale(struct store *s)
{
	sqlite3_stmt *st = NULL;
	char want[17];
	int stale = 1;

	views_hash(want);
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'views_hash'", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		stale = strcmp((const char *)sqlite3_column_text(st, 0), want) != 0;
	sqlite3_finalize(st);
	return stale;
}

static int create_views(struct store *s)
{
	char sql[96], hash[17];
	int rc = exec(s, store_views_sql);

	if (rc == SQLITE_OK)
		rc = exec(s, store_outbox_sql);

	views_hash(hash);
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES ('views_hash', '%s')", hash);
	return rc == SQLITE_OK ? exec(s, sql) : rc;
}

/* Creates or migrates the schema, the views and the reference tables, in one transaction, so a
 * second process opening the same file sees either none of it or all of it. */
static int apply_schema(struct store *s, char *err, size_t errlen)
{
	int version = 0;
	int rc;

	if (read_version(s, &version, err, errlen) || check_version(s, version, err, errlen))
		return -1;
	if (version == STORE_SCHEMA_VERSION && !views_stale(s) && !refs_stale(s))
		return 0;
	rc = exec(s, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto fail;
	/* Another process may have migrated while we waited for the lock. */
	if (read_version(s, &version, err, errlen) || check_version(s, version, err, errlen)) {
		exec(s, "ROLLBACK");
		return -1;
	}
	if (version < STORE_SCHEMA_VERSION)
		rc = migrate(s, version);
	if (rc == SQLITE_OK && views_stale(s))
		rc = create_views(s);
	if (rc == SQLITE_OK && refs_stale(s)) {
		rc = fill_ciphers(s);
		if (rc == SQLITE_OK)
			rc = fill_versions(s);
		if (rc == SQLITE_OK)
			rc = fill_alerts(s);
		if (rc == SQLITE_OK)
			rc = fill_codes(s);
		if (rc == SQLITE_OK)
			rc = fill_groups(s);
	}
	if (rc == SQLITE_OK)
		rc = exec(s, "COMMIT");
	if (rc == SQLITE_OK)
		return 0;
fail:
	set_err(err, errlen, "cannot set up the schema in database '%s': %s", s->path,
	        sqlite3_errmsg(s->db));
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	return -1;
}

/* "INSERT INTO table (a,b,c) VALUES (?1,?2,?3)" from a column list. */
/* INSERT of rows rows of n columns, parameters numbered row by row. Several rows are an
 * INSERT OR FAIL: a row refused leaves the rows before it in (store_put_rows counts them),
 * so SQLite keeps no statement journal to undo them, a copy of every page the statement
 * changes (perf: 7 % of bench-flows' database thread, measured per thread in 5 pairs). */
static int prepare_insert_rows(struct store *s, const char *table, const char *const *cols, int n,
                               int rows, sqlite3_stmt **out)
{
	struct sbuf sql = {0};
	int rc;

	if (rows > 1)
		sb_put(&sql, "INSERT OR FAIL INTO ", 20);
	else
		sb_put(&sql, "INSERT INTO ", 12);
	sb_put(&sql, table, strlen(table));
	sb_put(&sql, " (", 2);
	for (int i = 0; i < n; i++) {
		if (i)
			sb_putc(&sql, ',');
		sb_put(&sql, cols[i], strlen(cols[i]));
	}
	sb_put(&sql, ") VALUES ", 9);
	for (int r = 0; r < rows; r++) {
		sb_put(&sql, r ? ",(" : "(", r ? 2 : 1);
		for (int i = 0; i < n; i++) {
			sb_put(&sql, i ? ",?" : "?", i ? 2 : 1);
			sb_uint(&sql, (unsigned long)(r * n + i) + 1);
		}
		sb_putc(&sql, ')');
	}
	rc = sql.failed ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, sql.p, -1, out, NULL);
	free(sql.p);
	return rc;
}

static int prepare_insert(struct store *s, const char *table, const char *const *cols, int n,
                          sqlite3_stmt **out)
{
	return prepare_insert_rows(s, table, cols, n, 1, out);
}

/* The columns of the inventory key, as inventory_kept and the view inventory_keys name them. */
#define INVENTORY_KEY                                                                              \
	"client_ip, server_ip, server_port, sni, version, cipher, ch_max_version, ja3, ja4, "      \
	"alert_desc, fallback_scsv, retry, parse_status"

static void idcaches_reset(struct store *s)
{
	idcache_clear(&s->ch_ids);
	idcache_clear(&s->sh_ids);
	idcache_clear(&s->name_ids);
}

/* The rows the minutes up to the prune's time (?1) span. */
#define PRUNE_IDS STORE_CONN_IDS("id", "-1e300", "?1")

static int prepare_writes(struct store *s, char *err, size_t errlen)
{
	static const struct {
		size_t off;
		const char *sql;
	} fixed[] = {
	    {offsetof(struct store, touch),
	     "UPDATE conn SET last_ts = ?1, client_packets = ?2, server_packets = ?3, "
	     "client_bytes = ?4, server_bytes = ?5, flags = (flags & ~3) | ?6 WHERE id = ?7"},
	    {offsetof(struct store, ch_find), "SELECT id FROM client_hellos WHERE shape = ?1"},
	    {offsetof(struct store, sh_find), "SELECT id FROM server_hellos WHERE shape = ?1"},
	    {offsetof(struct store, name_find),
	     "SELECT id FROM names WHERE name = ?1 ORDER BY id LIMIT 1"},
	    {offsetof(struct store, name_insert), "INSERT INTO names (name) VALUES (?1)"},
	    {offsetof(struct store, name_text), "SELECT name FROM names WHERE id = ?1"},
	    {offsetof(struct store, names_after), "SELECT id, name FROM names WHERE id > ?1"},
	    {offsetof(struct store, version_st), "PRAGMA data_version"},
	    /* Pruning folds the rows into inventory_kept, then deletes them: the inventory view
	     * then counts them from there. A row is picked by last_ts, among the rows the minute
	     * spans up to ?1 hold (first_ts <= last_ts). In a database that ships (ship_state has
	     * a destination), rows a destination has not acknowledged stay (the database is its
	     * outbox), and so does the newest row: SQLite would give its id to the next one, which
	     * a destination would take for a row it already has. */
	    {offsetof(struct store, prune_pick),
	     "INSERT INTO temp.prune_ids SELECT id FROM conn WHERE first_ts < ?1 AND last_ts < ?1 "
	     "AND (NOT EXISTS (SELECT 1 FROM ship_state) OR (id <= (SELECT min(last_id) FROM "
	     "ship_state) AND id < (SELECT max(id) FROM conn))) AND" PRUNE_IDS "LIMIT ?2"},
	    /* The spans below the oldest row left hold no row any more. */
	    {offsetof(struct store, prune_spans),
	     "DELETE FROM conn_minutes WHERE hi < coalesce((SELECT min(id) FROM conn), "
	     "9223372036854775807)"},
	    {offsetof(struct store, prune_fold),
	     "INSERT INTO inventory_kept (" INVENTORY_KEY ", connections, first_seen, last_seen) "
	     "SELECT " INVENTORY_KEY ", 1, first_ts, first_ts FROM inventory_keys "
	     "WHERE id IN (SELECT id FROM temp.prune_ids) AND NOT summarized "
	     "ON CONFLICT (" INVENTORY_KEY ") DO UPDATE SET "
	     "connections = connections + excluded.connections, "
	     "first_seen = min(first_seen, excluded.first_seen), "
	     "last_seen = max(last_seen, excluded.last_seen)"},
	    {offsetof(struct store, prune_delete),
	     "DELETE FROM conn WHERE id IN (SELECT id FROM temp.prune_ids)"},
	    {offsetof(struct store, prune_clear), "DELETE FROM temp.prune_ids"},
	    {offsetof(struct store, span_write),
	     "INSERT INTO conn_minutes (minute, lo, hi) VALUES (?1, ?2, ?3) ON CONFLICT (minute) "
	     "DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)"},
	};
	int rc = exec(s, "CREATE TEMP TABLE IF NOT EXISTS prune_ids (id INTEGER PRIMARY KEY)");

	if (rc == SQLITE_OK)
		rc = prepare_insert(s, "conn", conn_col_names, COL_COUNT, &s->insert);
	if (rc == SQLITE_OK)
		rc = prepare_insert_rows(s, "conn", conn_col_names, COL_COUNT, STORE_ROWS,
		                         &s->insert_rows);
	if (rc == SQLITE_OK)
		rc = prepare_insert(s, "client_hellos", ch_col_names, CH_COUNT, &s->ch_insert);
	if (rc == SQLITE_OK)
		rc = prepare_insert(s, "server_hellos", sh_col_names, SH_COUNT, &s->sh_insert);
	for (size_t i = 0; rc == SQLITE_OK && i < COUNT_OF(fixed); i++)
		rc = sqlite3_prepare_v2(s->db, fixed[i].sql, -1,
		                        (sqlite3_stmt **)((char *)s + fixed[i].off), NULL);
	if (rc == SQLITE_OK && (idcache_init(&s->ch_ids, STORE_SHAPES_CACHED, 0) ||
	                        idcache_init(&s->sh_ids, STORE_SHAPES_CACHED, 0) ||
	                        idcache_init(&s->name_ids, STORE_NAMES_CACHED, 1) || spans_init(s)))
		rc = SQLITE_NOMEM;
	nameset_init(&s->names, STORE_NAMES_HELD);
	s->names_stale = 1;
	s->names_mask = ~(uint64_t)0;
	if (rc == SQLITE_OK) {
		s->committed_max_id = query_int(s, "SELECT coalesce(max(id), 0) FROM conn");
		/* Ids of STORE_ROWS rows in one statement follow one another until the largest
		 * comes near INT64_MAX (store_put_rows); no run writes 2^62 rows. */
		s->rows_ok = s->committed_max_id >= 0 && s->committed_max_id < INT64_MAX / 2;
		return 0;
	}
	set_err(err, errlen, "cannot prepare statements on database '%s': %s", s->path,
	        rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(s->db));
	return -1;
}

static int open_read_write(struct store *s, char *err, size_t errlen)
{
	/* NOMUTEX: a store's connection is used by one thread at a time (the writer thread, or
	 * the command's), so SQLite's per-call locking is only cost. */
	int rc =
	    sqlite3_open_v2(s->path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		set_err(err, errlen,
		        "cannot open database '%s': %s; check that the directory exists and is "
		        "writable",
		        s->path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		return -1;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	{
		int version = 0;

		/* Checked before the journal pragma, which would write to the file. */
		if (read_version(s, &version, err, errlen) ||
		    check_version(s, version, err, errlen))
			return -1;
	}
	/* WAL lets the query commands read while a capture writes; NORMAL syncs at checkpoints,
	 * so a power cut can lose the last commits but never corrupts the file. */
	if (exec(s, "PRAGMA journal_mode=WAL") != SQLITE_OK ||
	    exec(s, "PRAGMA synchronous=NORMAL") != SQLITE_OK) {
		set_err(err, errlen,
		        "cannot set up database '%s': %s; check that the directory is writable",
		        s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	/* The narrow rows of a busy day fit in 32 MiB of page cache; past it pages are read back
	 * from the OS cache, which the WAL keeps warm. */
	exec(s, "PRAGMA cache_size = -32768");
	exec(s, "PRAGMA temp_store = MEMORY"); /* statement journals and the prune list */
	/* Checkpoint every 8192 WAL pages (32 MiB) rather than 1000: a page written by several
	 * batches in between is copied to the database once. */
	exec(s, "PRAGMA wal_autocheckpoint = 8192");
	if (apply_schema(s, err, errlen) || prepare_writes(s, err, errlen))
		return -1;
	s->text.failed = 0;
	clock_gettime(CLOCK_MONOTONIC, &s->last_commit);
	return 0;
}

/* The query commands never create a file: a missing one is a mistyped path or a database
 * that was never written. */
static int open_read_only(struct store *s, char *err, size_t errlen)
{
	struct stat sb;
	int version = 0;
	int rc;

	if (stat(s->path, &sb) != 0) {
		if (errno == ENOENT)
			set_err(err, errlen, "no database '%s': run 'tlscensus read FILE' first",
			        s->path);
		else
			set_err(err, errlen, "cannot open database '%s': %s", s->path,
			        strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "cannot open database '%s': it is a directory", s->path);
		return -1;
	}
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "cannot open database '%s': %s; check that it is readable",
		        s->path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		return -1;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (read_version(s, &version, err, errlen) || check_version(s, version, err, errlen))
		return -1;
	if (version == 0) {
		set_err(err, errlen,
		        "database '%s' holds no tlscensus data: run 'tlscensus read FILE' first",
		        s->path);
		return -1;
	}
	if (version < STORE_SCHEMA_VERSION) {
		set_err(
		    err, errlen,
		    "database '%s' has the older schema version %d: run 'tlscensus migrate --db "
		    "%s' (as a user who may write it) to bring it to version %d",
		    s->path, version, s->path, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- checkpoints */

/*
 * SQLite checkpoints on the connection that commits, when the WAL passes its bound, and once
 * more when the last connection closes: copying the WAL into the database and syncing both,
 * on the writer thread and, at the end of a read, after the last packet (50 ms of a 0.65 s
 * bench-1G read went to the close alone). Here a thread with its own connection does most of
 * the copying instead, in PASSIVE checkpoints that neither wait for the writer nor make it
 * wait. But a WAL is only reused from its start once every frame of it is in the database, and
 * a writer that never pauses always leaves a few frames the thread has not copied: alone, the
 * thread let the WAL grow with the database (158 MB half-way through bench-flows). So once the
 * thread is within STORE_CHECKPOINT_TAIL frames, the writer's next commit copies that tail
 * itself (a short PASSIVE checkpoint, right after its commit, with nothing added since), and
 * its next transaction starts the WAL over. Past STORE_CHECKPOINT_MAX frames the writer
 * checkpoints whatever the thread's state, as SQLite's own autocheckpoint did.
 */
#define STORE_CHECKPOINT_TAIL 256
#define STORE_CHECKPOINT_MAX  16384

struct checkpointer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	sqlite3 *db;
	int want, stop;
	int ready; /* the thread has copied all but the tail: the writer finishes */
};

static void *checkpoint_main(void *arg)
{
	struct checkpointer *c = arg;

	pthread_setname_np(pthread_self(), "tlscensus-ckpt"); /* for top -H and perf */
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->want && !c->stop)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stop)
			break;
		c->want = 0;
		pthread_mutex_unlock(&c->lock);
		/* Busy (a reader on an old snapshot) or failing (a full disk): the WAL keeps the
		 * commits, and the next wake or the close tries again. */
		int frames = 0, copied = 0, close = 0;
		for (int pass = 0; pass < 4 && !close; pass++)
			close = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
			                                  &frames, &copied) != SQLITE_OK ||
			        frames - copied <= STORE_CHECKPOINT_TAIL;
		pthread_mutex_lock(&c->lock);
		c->ready = frames - copied <= STORE_CHECKPOINT_TAIL;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* After each commit of the writer, on its thread (sqlite3_wal_hook). */
static int checkpoint_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct checkpointer *c = arg;
	int finish;

	if (pages < STORE_CHECKPOINT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&c->lock);
	finish = c->ready || pages >= STORE_CHECKPOINT_MAX;
	c->ready = 0;
	if (!finish) {
		c->want = 1;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
	if (finish)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

int store_checkpoint_thread(struct store *s)
{
	struct checkpointer *c;

	if (s->mode != STORE_READ_WRITE || s->ckpt)
		return 0;
	if (!(c = calloc(1, sizeof *c)))
		return -1;
	if (sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		goto fail;
	}
	s->ckpt = c;
	sqlite3_wal_hook(s->db, checkpoint_hook, c); /* replaces the inline autocheckpoint */
	return 0;
fail:
	sqlite3_close(c->db);
	free(c);
	return -1;
}

static void checkpoint_stop(struct store *s)
{
	struct checkpointer *c = s->ckpt;

	if (!c)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	sqlite3_close(c->db);
	free(c);
	s->ckpt = NULL;
}

static void store_free(struct store *s)
{
	sqlite3_stmt *st[] = {s->insert,      s->insert_rows, s->touch,        s->ch_find,
	                      s->ch_insert,   s->sh_find,     s->sh_insert,    s->name_find,
	                      s->name_insert, s->name_text,   s->names_after,  s->version_st,
	                      s->prune_pick,  s->prune_fold,  s->prune_delete, s->prune_clear,
	                      s->prune_spans, s->span_write};

	checkpoint_stop(s); /* its connection closes first: the last close checkpoints the rest */
	for (size_t i = 0; i < COUNT_OF(st); i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(s->rw);
	if (s->db)
		sqlite3_close(s->db);
	idcache_free(&s->ch_ids);
	idcache_free(&s->sh_ids);
	idcache_free(&s->name_ids);
	nameset_free(&s->names);
	free(s->spans);
	free(s->text.p);
	free(s->path);
	free(s);
}

struct store *store_open(const char *path, enum store_mode mode, char *err, size_t errlen)
{
	/* Before SQLite's first use in the process: no memory statistics, which cost a global
	 * mutex on every allocation (a failure only means SQLite was already initialised). */
	static int configured;
	if (!configured) {
		configured = 1;
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	}
	struct store *s = calloc(1, sizeof *s);
	int rc;

	if (!s || !(s->path = strdup(path))) {
		set_err(err, errlen, "out of memory opening database '%s'", path);
		free(s);
		return NULL;
	}
	s->mode = mode;
	rc = mode == STORE_READ_ONLY ? open_read_only(s, err, errlen)
	                             : open_read_write(s, err, errlen);
	if (rc) {
		store_free(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->mode == STORE_READ_WRITE) {
		store_flush(s);
		/* analysis_limit bounds the ANALYZE optimize may run (7 ms of a bench-1G read's
		 * end without it, 2 ms with); SQLite's documentation pairs the two. */
		exec(s, "PRAGMA analysis_limit = 400");
		exec(s, "PRAGMA optimize");
	}
	store_free(s);
}

struct sqlite3 *store_db(struct store *s)
{
	return s->db;
}

const char *store_path(const struct store *s)
{
	return s->path;
}

struct sqlite3 *store_db_write(struct store *s, char *err, size_t errlen)
{
	sqlite3 *db = s->mode == STORE_READ_WRITE ? s->db : s->rw;

	if (!db) {
		int rc = sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE, NULL);

		if (rc != SQLITE_OK) {
			set_err(err, errlen, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
			sqlite3_close(db);
			return NULL;
		}
		sqlite3_busy_timeout(db, STORE_BUSY_MS);
		s->rw = db;
	}
	return db; /* schema v2 always has the reports table */
}

/* ---------------------------------------------------------------- batches */

static int writable(const struct store *s)
{
	if (s->mode == STORE_READ_WRITE)
		return 1;
	fprintf(stderr, "tlscensus: database '%s' was opened read-only\n", s->path);
	return 0;
}

/* ---------------------------------------------------------------- minute spans */

/* Minute spans a transaction starts with room for; most batches span one or two minutes. */
#define STORE_SPANS_INITIAL 64

static int spans_init(struct store *s)
{
	s->span_cap = STORE_SPANS_INITIAL;
	s->spans = tc_zalloc(s->span_cap, sizeof *s->spans);
	return s->spans ? 0 : -1;
}

static void spans_clear(struct store *s)
{
	if (s->span_n)
		memset(s->spans, 0, s->span_cap * sizeof *s->spans);
	s->span_n = 0;
	s->span_last = 0;
}

/* Writes the open transaction's spans into conn_minutes (widening what is there) and forgets
 * them. SQLite's result code. */
static int spans_write(struct store *s)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; rc == SQLITE_OK && s->span_n && i < s->span_cap; i++) {
		const struct minute_span *m = &s->spans[i];

		if (!m->lo)
			continue;
		sqlite3_bind_int64(s->span_write, 1, m->minute);
		sqlite3_bind_int64(s->span_write, 2, m->lo);
		sqlite3_bind_int64(s->span_write, 3, m->hi);
		rc = sqlite3_step(s->span_write);
		sqlite3_reset(s->span_write);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	if (rc == SQLITE_OK)
		spans_clear(s);
	return rc;
}

/* The slot of minute in spans: its own, or the free one where it goes. */
static struct minute_span *spans_slot(struct minute_span *v, size_t cap, int64_t minute)
{
	size_t i = tc_slot((uint64_t)minute, cap);

	while (v[i].lo && v[i].minute != minute)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* Twice the slots; 0, or -1 when out of memory (the table is as it was). */
static int spans_grow(struct store *s)
{
	size_t cap = s->span_cap * 2;
	struct minute_span *v = tc_zalloc(cap, sizeof *v);

	if (!v)
		return -1;
	for (size_t i = 0; i < s->span_cap; i++)
		if (s->spans[i].lo)
			*spans_slot(v, cap, s->spans[i].minute) = s->spans[i];
	free(s->spans);
	s->spans = v;
	s->span_cap = cap;
	s->span_last = 0;
	return 0;
}

/* Row id started in minute: widen that minute's span. Rows come mostly in time order, so the
 * slot used last is looked at first. Out of memory for a larger table, the spans so far go to
 * conn_minutes at once. SQLite's result code. */
static int spans_add(struct store *s, int64_t minute, int64_t id)
{
	struct minute_span *m = &s->spans[s->span_last];

	if (!m->lo || m->minute != minute) {
		if ((s->span_n + 1) * 2 > s->span_cap && spans_grow(s)) {
			int rc = spans_write(s);

			if (rc != SQLITE_OK)
				return rc;
		}
		m = spans_slot(s->spans, s->span_cap, minute);
		s->span_last = (size_t)(m - s->spans);
	}
	if (!m->lo) {
		*m = (struct minute_span){minute, id, id};
		s->span_n++;
	} else {
		m->hi = id; /* ids only grow within a transaction's spans */
	}
	return SQLITE_OK;
}

/* The minute of a first_ts as conn_minutes keys it: the same double division and truncation
 * as SQL's CAST(first_ts / 60 AS INTEGER), on the same double as the row holds. */
static int64_t ts_minute(uint64_t first_ts_us)
{
	return (int64_t)(usec_to_unix(first_ts_us) / 60);
}

/* ---------------------------------------------------------------- transactions */

int store_flush(struct store *s)
{
	if (s->mode != STORE_READ_WRITE || sqlite3_get_autocommit(s->db))
		return 0;
	if (spans_write(s) != SQLITE_OK)
		return batch_failed(s, "cannot write the time spans (conn_minutes)");
	if (exec(s, "COMMIT") != SQLITE_OK)
		return batch_failed(s, "commit failed");
	s->conn_committed += s->conn_pending;
	s->conn_pending = 0;
	s->committed_max_id = sqlite3_last_insert_rowid(s->db) > s->committed_max_id
	                          ? sqlite3_last_insert_rowid(s->db)
	                          : s->committed_max_id;
	s->failure[0] = '\0';
	s->pending = 0;
	clock_gettime(CLOCK_MONOTONIC, &s->last_commit);
	return 0;
}

static int batch_begin(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK) {
		report(s, "cannot begin a transaction");
		return -1;
	}
	if (names_sync(s) != SQLITE_OK) {
		report(s, "cannot read the names table");
		exec(s, "ROLLBACK");
		return -1;
	}
	s->pending = 0;
	return 0;
}

/* Counts n written rows; commits when the batch is full or has been open for a second. */
static int batch_ticks(struct store *s, size_t n)
{
	struct timespec now;
	double age;
	size_t before = s->pending;

	s->pending += (unsigned)n;
	if (s->pending >= STORE_BATCH)
		return store_flush(s);
	if (before / STORE_CLOCK_EVERY == s->pending / STORE_CLOCK_EVERY)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	age = (double)(now.tv_sec - s->last_commit.tv_sec) +
	      (now.tv_nsec - s->last_commit.tv_nsec) / 1e9;
	return age >= STORE_COMMIT_SECONDS ? store_flush(s) : 0;
}

static int batch_tick(struct store *s)
{
	return batch_ticks(s, 1);
}

/* ---------------------------------------------------------------- rows */

static void bind_int(struct store *s, sqlite3_stmt *st, int col, int64_t v)
{
	if (sqlite3_bind_int64(st, col + 1, v) != SQLITE_OK)
		s->bind_failed = 1;
}

static void bind_str(struct store *s, sqlite3_stmt *st, int col, const char *v)
{
	if (v && sqlite3_bind_text(st, col + 1, v, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		s->bind_failed = 1;
}

/* Binds the scratch buffer's text (copied by SQLite) and empties the buffer. */
static void bind_text_buf(struct store *s, sqlite3_stmt *st, int col)
{
	if (s->text.failed || sqlite3_bind_text(st, col + 1, s->text.p ? s->text.p : "",
	                                        (int)s->text.len, SQLITE_TRANSIENT) != SQLITE_OK)
		s->bind_failed = 1;
	sb_reset(&s->text);
}

static void bind_ints(struct store *s, sqlite3_stmt *st, int col, const void *v, size_t n,
                      size_t width)
{
	json_ints(&s->text, v, n, width);
	bind_text_buf(s, st, col);
}

/* Runs a prepared statement that returns at most one id; 0 when it returns none, -1 on error. */
static int64_t step_id(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;

	sqlite3_reset(st);
	return id;
}

/* Runs a prepared statement that returns no row: 1 when it ran to the end. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE;
}

/* Inserts a bound row and returns its id, -1 on error. */
static int64_t step_insert(struct store *s, sqlite3_stmt *st)
{
	int rc = s->bind_failed ? SQLITE_NOMEM : sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(s->db) : -1;
}

static void bind_client_hello(struct store *s, const struct tc_client_hello *ch,
                              const struct tc_prints *fp)
{
	sqlite3_stmt *st = s->ch_insert;
	uint16_t max = tc_client_max_version(ch);

	if (fp->ch_shape)
		bind_int(s, st, CH_SHAPE, (int64_t)fp->ch_shape);
	bind_int(s, st, CH_VERSION, ch->legacy_version);
	bind_int(s, st, CH_SSLV2, ch->sslv2);
	if (ch->has_versions)
		bind_ints(s, st, CH_VERSIONS, ch->versions, ch->version_n, 2);
	if (max)
		bind_int(s, st, CH_MAX_VERSION, max);
	bind_ints(s, st, CH_CIPHERS, ch->ciphers, ch->cipher_n, 4);
	if (ch->has_extensions)
		bind_ints(s, st, CH_EXTENSIONS, ch->exts, ch->ext_n, 2);
	if (ch->has_groups)
		bind_ints(s, st, CH_GROUPS, ch->groups, ch->group_n, 2);
	if (ch->has_key_share)
		bind_ints(s, st, CH_KEY_SHARES, ch->kshares, ch->kshare_n, 2);
	if (ch->has_sigalgs)
		bind_ints(s, st, CH_SIG_ALGS, ch->sigalgs, ch->sigalg_n, 2);
	if (ch->has_pointfmt)
		bind_ints(s, st, CH_POINT_FORMATS, ch->pointfmts, ch->pointfmt_n, 1);
	if (!ch->sslv2) /* the SSLv2 CLIENT-HELLO has no compression field */
		bind_ints(s, st, CH_COMPRESSION, ch->compress, ch->compress_n, 1);
	if (ch->has_alpn) {
		json_alpn(&s->text, ch->alpn, ch->alpn_len);
		bind_text_buf(s, st, CH_ALPN);
	}
	bind_int(s, st, CH_FALLBACK_SCSV, ch->fallback_scsv ? 1 : 0);
	bind_int(s, st, CH_SESSION_TICKET, ch->has_session_ticket ? 1 : 0);
	bind_int(s, st, CH_TRUNC, ch->trunc);
	if (fp->has_ja3) {
		bind_str(s, st, CH_JA3, fp->ja3);
		bind_str(s, st, CH_JA3_STR, fp->ja3_str);
	}
	if (fp->has_ja4)
		bind_str(s, st, CH_JA4, fp->ja4);
}

static void bind_server_hello(struct store *s, const struct tc_server_hello *sh,
                              const struct tc_prints *fp)
{
	sqlite3_stmt *st = s->sh_insert;

	if (fp->sh_shape)
		bind_int(s, st, SH_SHAPE, (int64_t)fp->sh_shape);
	bind_int(s, st, SH_VERSION, sh->legacy_version);
	if (sh->selected_version)
		bind_int(s, st, SH_SELECTED_VERSION, sh->selected_version);
	bind_int(s, st, SH_NEGOTIATED, tc_server_version(sh));
	if (!sh->sslv2) /* an SSLv2 SERVER-HELLO lists ciphers; the client picks later */
		bind_int(s, st, SH_CIPHER, sh->cipher);
	if (sh->has_extensions)
		bind_ints(s, st, SH_EXTENSIONS, sh->exts, sh->ext_n, 2);
	if (sh->alpn_len) {
		text_put_wire(&s->text, (const uint8_t *)sh->alpn, sh->alpn_len, 1, 0);
		bind_text_buf(s, st, SH_ALPN);
	}
	if (fp->has_ja3s) {
		bind_str(s, st, SH_JA3S, fp->ja3s);
		bind_str(s, st, SH_JA3S_STR, fp->ja3s_str);
	}
	if (sh->has_key_share)
		bind_int(s, st, SH_GROUP, sh->key_share_group);
}

/* A hello's shape: the given prints', else the one its parser's thread worked out, else
 * worked out here. */
static uint64_t shape_of(const struct tc_client_hello *ch, const struct tc_server_hello *sh,
                         const struct tc_prints *given)
{
	if (given)
		return ch ? given->ch_shape : given->sh_shape;
	if (ch)
		return ch->shape ? ch->shape : tc_client_hello_shape(ch);
	return sh->shape ? sh->shape : tc_server_hello_shape(sh);
}

/*
 * The row id of a hello (ch, else sh): from memory by its shape, else from the table, else a
 * new row. The fingerprints are computed here, and only for a new row: a known client stack
 * costs the shape's hash and nothing more. given: fingerprints the caller computed (used as
 * they are, shape 0 meaning none), or NULL. A hello whose fingerprints cannot be computed (out
 * of memory) gets a row of its own, shape NULL and no fingerprint: honest, and no later
 * connection of that shape shares it. shape: the hello's, from store_put_ahead (0: worked
 * out here).
 */
static int64_t hello_id(struct store *s, struct idcache *cache, sqlite3_stmt *find,
                        sqlite3_stmt *insert, const struct tc_client_hello *ch,
                        const struct tc_server_hello *sh, const struct tc_prints *given,
                        uint64_t shape)
{
	static const struct tc_prints none;

	if (!shape)
		shape = shape_of(ch, sh, given);
	int64_t id = shape ? idcache_get(cache, shape, NULL, 0) : 0;

	if (id)
		return id;
	if (shape) {
		sqlite3_bind_int64(find, 1, (int64_t)shape);
		id = step_id(find);
	}
	if (id == 0) {
		struct tc_prints own = {0};
		const struct tc_prints *fp = given ? given : &own;

		if (!given && tc_prints_compute(ch, sh, &own)) { /* leaves own empty */
			fp = &none;
			shape = 0;
		}
		s->bind_failed = 0;
		sb_reset(&s->text);
		if (ch)
			bind_client_hello(s, ch, fp);
		else
			bind_server_hello(s, sh, fp);
		id = step_insert(s, insert);
		tc_prints_free(&own);
	}
	if (id > 0 && shape)
		idcache_put(cache, shape, NULL, 0, id);
	return id;
}

/* ---------------------------------------------------------------- names */

/*
 * The writer finds a name's row in the set of every row (nameset.h) and, past STORE_NAMES_HELD
 * rows, through the index names_name (schema.c, version 8). The set is brought up to date when
 * a transaction begins: it is read at open, read again after a rollback (the rows it held may
 * be gone), and takes the rows another process wrote in between (PRAGMA data_version changes
 * when another connection commits). The transaction holds the write lock from its BEGIN
 * IMMEDIATE, so no row can come in unseen while it is open.
 */

/* The set's key of a name's text as stored (names_mask: all bits but in tests). */
static uint64_t name_key(const struct store *s, const char *text, size_t len)
{
	return idcache_text_key(text, len) & s->names_mask;
}

/* From now on names are looked up in the index names_name, made here if it is not there. */
static int names_index(struct store *s)
{
	int rc = exec(s, "CREATE INDEX IF NOT EXISTS names_name ON names(name)");

	if (rc == SQLITE_OK) {
		s->names_indexed = 1;
		nameset_free(&s->names);
	}
	return rc;
}

/* Holds one more row: 0, or 1 when the set is full (or out of memory). */
static int names_add(struct store *s, const char *text, size_t len, int64_t id)
{
	if (nameset_add(&s->names, name_key(s, text, len), id))
		return 1;
	if (id > s->names_max_id)
		s->names_max_id = id;
	return 0;
}

/* Brings the set up to date in the transaction just begun. SQLite's result code. */
static int names_sync(struct store *s)
{
	int64_t version = step_id(s->version_st);
	int rc = SQLITE_OK;

	if (version < 0)
		return sqlite3_errcode(s->db);
	if (!s->names_stale && (s->names_indexed || version == s->data_version))
		return SQLITE_OK;
	/* an index made by another process, or in an earlier run */
	if (!s->names_indexed &&
	    query_int(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = "
	                 "'names_name'") > 0 &&
	    (rc = names_index(s)) != SQLITE_OK)
		return rc;
	if (s->names_stale) {
		nameset_clear(&s->names);
		s->names_max_id = 0;
	}
	if (!s->names_indexed) {
		int full = 0;

		sqlite3_bind_int64(s->names_after, 1, s->names_max_id);
		while (!full && (rc = sqlite3_step(s->names_after)) == SQLITE_ROW)
			full = names_add(s, (const char *)sqlite3_column_text(s->names_after, 1),
			                 (size_t)sqlite3_column_bytes(s->names_after, 1),
			                 sqlite3_column_int64(s->names_after, 0));
		sqlite3_reset(s->names_after); /* before the index is made on the table it reads */
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return rc;
		if (full && (rc = names_index(s)) != SQLITE_OK)
			return rc;
	}
	s->names_stale = 0;
	s->data_version = version;
	return SQLITE_OK;
}

/* Whether row id holds text: 1 or 0, -1 on error. */
static int name_row_is(struct store *s, int64_t id, const char *text, size_t len)
{
	int rc, same;

	sqlite3_bind_int64(s->name_text, 1, id);
	rc = sqlite3_step(s->name_text);
	/* an empty text's blob is NULL, which memcmp must not be given even for 0 bytes */
	same = rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(s->name_text, 0) == len &&
	       (!len || !memcmp(sqlite3_column_blob(s->name_text, 0), text, len));
	sqlite3_reset(s->name_text);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? same : -1;
}

/* The row of a name made inert (s->text): found, else new. 0 for none, -1 on error. */
static int64_t name_row(struct store *s)
{
	const char *text = s->text.p;
	size_t len = s->text.len, pos = 0;
	int64_t id;

	if (s->names_indexed) {
		sqlite3_bind_text(s->name_find, 1, text, (int)len, SQLITE_STATIC);
		if ((id = step_id(s->name_find)) != 0)
			return id;
	} else {
		uint64_t key = name_key(s, text, len);

		while ((id = nameset_next(&s->names, key, &pos))) {
			int same = name_row_is(s, id, text, len);

			if (same)
				return same > 0 ? id : -1;
		}
	}
	sqlite3_bind_text(s->name_insert, 1, text, (int)len, SQLITE_STATIC);
	s->bind_failed = 0;
	if ((id = step_insert(s, s->name_insert)) > 0 && !s->names_indexed &&
	    names_add(s, text, len, id) && names_index(s) != SQLITE_OK)
		id = -1;
	return id;
}

void store_names_held(struct store *s, size_t max)
{
	s->names.max = max;
}

void store_names_key(struct store *s, uint64_t mask)
{
	s->names_mask = mask;
	s->names_stale = 1; /* keyed anew at the next transaction */
}

/* The row id of a name (SNI, application label) as sent; the row holds it made inert. The
 * cache is keyed on the bytes as sent, so a known name costs a hash and no text work. key:
 * idcache_text_key's, from store_put_ahead (0: worked out here). 0 for none, -1 on error. */
static int64_t name_id(struct store *s, const char *text, size_t len, uint64_t key)
{
	int64_t id;

	if (!key)
		key = idcache_text_key(text, len);
	if ((id = idcache_get(&s->name_ids, key, text, len)))
		return id;
	sb_reset(&s->text);
	text_put_wire(&s->text, (const uint8_t *)text, len, 1, 0);
	if (s->text.failed)
		return -1;
	if (!s->text.p)
		sb_put(&s->text, "", 0);
	if ((id = name_row(s)) > 0)
		idcache_put(&s->name_ids, key, text, len, id);
	return id;
}

/* An IPv4 address (or IPv4-mapped IPv6) as an integer, else RFC 5952 text: the view
 * `connections` writes both back as the text version 1 stored. */
static void bind_addr(struct store *s, sqlite3_stmt *st, int col, const struct tc_addr *a)
{
	char ip[64];

	if (tc_addr_is_v4(a))
		bind_int(s, st, col, addr_v4_value(a));
	else
		bind_str(s, st, col, tc_addr_format(a, ip, sizeof ip));
}

/* The hellos' and names' rows; fills the connection row's references, in st's row whose
 * first parameter is base + 1. */
static int bind_refs(struct store *s, sqlite3_stmt *st, int base, const struct tc_record *r,
                     const struct store_ahead *a)
{
	const struct tc_handshake *hs = r->hs;
	const struct tc_prints *fp = hs ? hs->prints : NULL;
	int64_t id;
	int rc = 0;

	/* The census hands hellos without fingerprints; hello_id computes them for new rows. */
	if (hs && hs->ch) {
		id = hello_id(s, &s->ch_ids, s->ch_find, s->ch_insert, hs->ch, NULL, fp,
		              a->ch_shape);
		if (id < 0)
			rc = -1;
		bind_int(s, st, base + COL_CH, id);
		bind_int(s, st, base + COL_SESSION_ID_LEN, hs->ch->session_id_len);
		if (hs->ch->has_sni) {
			if ((id = name_id(s, hs->ch->sni, hs->ch->sni_len, a->sni_key)) < 0)
				rc = -1;
			bind_int(s, st, base + COL_SNI, id);
		}
	}
	if (hs && hs->sh) {
		id = hello_id(s, &s->sh_ids, s->sh_find, s->sh_insert, NULL, hs->sh, fp,
		              a->sh_shape);
		if (id < 0)
			rc = -1;
		bind_int(s, st, base + COL_SH, id);
	}
	if (r->app_label) {
		if ((id = name_id(s, r->app_label, strlen(r->app_label), 0)) < 0)
			rc = -1;
		bind_int(s, st, base + COL_APP_LABEL, id);
	}
	return rc;
}

static void bind_record(struct store *s, sqlite3_stmt *st, int base, const struct tc_record *r)
{
	const struct tc_handshake *hs = r->hs;
	int64_t flags = (r->stream_trunc[0] ? CONN_CLIENT_TRUNC : 0) |
	                (r->stream_trunc[1] ? CONN_SERVER_TRUNC : 0);

	if (s->run_id)
		bind_int(s, st, base + COL_RUN_ID, s->run_id);
	sqlite3_bind_double(st, base + COL_FIRST_TS + 1, usec_to_unix(r->first_ts));
	sqlite3_bind_double(st, base + COL_LAST_TS + 1, usec_to_unix(r->last_ts));
	if (r->transport == 6 || r->transport == 17)
		bind_int(s, st, base + COL_TRANSPORT, r->transport);
	bind_int(s, st, base + COL_IP_VERSION, r->ip_version);
	bind_addr(s, st, base + COL_CLIENT_IP, &r->client);
	bind_int(s, st, base + COL_CLIENT_PORT, r->client_port);
	bind_addr(s, st, base + COL_SERVER_IP, &r->server);
	bind_int(s, st, base + COL_SERVER_PORT, r->server_port);
	bind_int(s, st, base + COL_CLIENT_PACKETS, (int64_t)r->packets[0]);
	bind_int(s, st, base + COL_SERVER_PACKETS, (int64_t)r->packets[1]);
	bind_int(s, st, base + COL_CLIENT_BYTES, (int64_t)r->bytes[0]);
	bind_int(s, st, base + COL_SERVER_BYTES, (int64_t)r->bytes[1]);
	if (hs && (hs->ch || hs->sh || hs->hrr_seen))
		flags |= CONN_HRR_KNOWN | (hs->hrr_seen ? CONN_HRR : 0);
	bind_int(s, st, base + COL_FLAGS, flags);
	if (hs && hs->alert.seen) {
		int from = hs->client_dir < 0 ? 0 : hs->alert.dir == hs->client_dir ? 1 : 2;

		bind_int(s, st, base + COL_ALERT,
		         hs->alert.level | hs->alert.desc << 8 | from << 16);
	}
	if (hs && hs->err)
		bind_int(s, st, base + COL_ERROR, hs->err);
	if (hs)
		bind_int(s, st, base + COL_HELLO_COUNT, hs->ch_count);
	if (hs && hs->quic_version)
		bind_int(s, st, base + COL_QUIC_VERSION, hs->quic_version);
	bind_int(s, st, base + COL_STATUS, r->status);
}

void store_put_ahead(struct store *s, const struct tc_record *r, struct store_ahead *a)
{
	const struct tc_handshake *hs = r->hs;
	const struct tc_prints *fp = hs ? hs->prints : NULL;

	memset(a, 0, sizeof *a);
	if (hs && hs->ch) {
		a->ch_shape = shape_of(hs->ch, NULL, fp);
		idcache_prefetch(&s->ch_ids, a->ch_shape);
		if (hs->ch->has_sni) {
			a->sni_key = idcache_text_key(hs->ch->sni, hs->ch->sni_len);
			idcache_prefetch(&s->name_ids, a->sni_key);
		}
	}
	if (hs && hs->sh) {
		a->sh_shape = shape_of(NULL, hs->sh, fp);
		idcache_prefetch(&s->sh_ids, a->sh_shape);
	}
}

int64_t store_put(struct store *s, const struct tc_record *r)
{
	struct store_ahead a;

	store_put_ahead(s, r, &a);
	return store_put_with(s, r, &a);
}

int64_t store_put_with(struct store *s, const struct tc_record *r, const struct store_ahead *a)
{
	int64_t id;

	if (!writable(s) || batch_begin(s))
		return -1;
	s->bind_failed = 0;
	if (bind_refs(s, s->insert, 0, r, a)) {
		sqlite3_clear_bindings(s->insert);
		if (txn_gone(s)) {
			s->conn_pending++;
			txn_lost(s, "cannot write a connection's hellos or names");
		} else {
			report(s, "cannot write a connection's hellos or names");
		}
		return -1;
	}
	/* A write fault inside the hello or name rows may have made SQLite roll the whole
	 * transaction back: this row must not go in on its own, outside any batch. */
	if (sqlite3_get_autocommit(s->db)) {
		sqlite3_clear_bindings(s->insert);
		s->conn_pending++;
		txn_lost(s, "the transaction was rolled back");
		return -1;
	}
	bind_record(s, s->insert, 0, r);
	id = step_insert(s, s->insert);
	if (id < 0) {
		if (s->bind_failed) {
			fprintf(stderr, "tlscensus: database '%s': out of memory writing a row\n",
			        s->path);
		} else if (txn_gone(s)) {
			s->conn_pending++; /* this row is lost with the others */
			txn_lost(s, "cannot write a connection");
		} else {
			report(s, "cannot write a connection");
		}
		return -1;
	}
	s->conn_pending++;
	/* A row must not be committed outside its minute's span: the batch goes without it. */
	if (spans_add(s, ts_minute(r->first_ts), id) != SQLITE_OK) {
		txn_lost(s, "cannot write the time spans (conn_minutes)");
		return -1;
	}
	if (batch_tick(s))
		return -1;
	return id;
}

/*
 * STORE_ROWS records in one INSERT: SQLite runs the statement's setup and teardown (cursors
 * opened and closed, bindings cleared) once for all of them, 0.92 us a row against 1.12 in a
 * micro-benchmark of this table (bench/README.md). Their ids follow one another: SQLite gives
 * each new row one more than the largest id, and the rows of one statement go in one after
 * the other (store_open stops the batches where the largest id comes near the limit, past
 * which SQLite picks ids at random).
 *
 * Anything that is not the transaction's loss (a row SQLite refuses, memory for a binding)
 * sends the records through store_put_with one by one, which says which of them failed and
 * why, as before: those after the rows the INSERT took, when it took some before the refused
 * one (OR FAIL, prepare_insert_rows). A write fault loses the transaction with the rows bound
 * so far, as store_put_with would have lost them, and returns: the rest of the records are
 * not handled (the writer stops there when reading files, and goes on in a new transaction
 * capturing).
 */
/* The first n rows' ids are -1 (not written, or lost with the transaction): n. */
static size_t rows_lost(int64_t *ids, size_t n)
{
	for (size_t j = 0; j < n; j++)
		ids[j] = -1;
	return n;
}

/* The first k rows of the statement went in, one after the other, the last of them as
 * last_insert_rowid: their ids and spans, and their count in the batch, which may commit it.
 * 0, or -1 when the transaction was lost with them (the spans, or the commit). */
static int rows_in(struct store *s, const struct tc_record *const *r, size_t k, int64_t *ids)
{
	int64_t last = sqlite3_last_insert_rowid(s->db);

	if (!k)
		return 0;
	s->rows_batched += k;
	s->conn_pending += k;
	for (size_t j = 0; j < k; j++) {
		ids[j] = last - (int64_t)(k - 1 - j);
		/* A row must not be committed outside its minute's span: the batch goes without
		 * them. */
		if (spans_add(s, ts_minute(r[j]->first_ts), ids[j]) != SQLITE_OK) {
			txn_lost(s, "cannot write the time spans (conn_minutes)");
			return -1;
		}
	}
	unsigned rollbacks = s->failures;
	/* A commit that failed and lost the transaction lost the rows; one that could not
	 * commit yet (busy) leaves them in the open transaction, where their ids hold. */
	return batch_ticks(s, k) && s->failures != rollbacks ? -1 : 0;
}

size_t store_put_rows(struct store *s, const struct tc_record *const *r,
                      const struct store_ahead *a, size_t n, int64_t *ids)
{
	sqlite3_stmt *st = s->insert_rows;
	size_t j, from = 0; /* the records the INSERT took: the rest go one by one */
	int rc;

	if (n != STORE_ROWS || !st || !s->rows_ok)
		goto one_by_one;
	if (!writable(s) || batch_begin(s))
		return rows_lost(ids, 1);
	s->bind_failed = 0;
	for (j = 0; j < n; j++) {
		int failed = bind_refs(s, st, (int)j * COL_COUNT, r[j], &a[j]);
		/* A write fault inside the hello or name rows may have made SQLite roll the whole
		 * transaction back: these rows must not go in on their own, outside any batch. */
		int rolled_back = sqlite3_get_autocommit(s->db);

		if (!failed && !rolled_back)
			continue;
		sqlite3_clear_bindings(st);
		if (!txn_gone(s)) /* a row refused alone: the rows go one by one */
			goto one_by_one;
		s->conn_pending += j + 1; /* these rows are lost with the others */
		txn_lost(s, rolled_back ? "the transaction was rolled back"
		                        : "cannot write a connection's hellos or names");
		return rows_lost(ids, j + 1);
	}
	for (j = 0; j < n; j++)
		bind_record(s, st, (int)j * COL_COUNT, r[j]);
	rc = s->bind_failed ? SQLITE_NOMEM : sqlite3_step(st);
	/* A row refused by a constraint (OR FAIL, or a trigger's RAISE(FAIL)) leaves the rows
	 * before it in: sqlite3_changes counts them, and is 0 when SQLite undid the statement (a
	 * trigger's RAISE(ABORT)). Any other failure may come before the statement ran at all (a
	 * changed schema it could not be prepared for again), sqlite3_changes still the last
	 * statement's: no row is taken for kept then. */
	size_t kept = rc == SQLITE_DONE                  ? n
	              : (rc & 0xff) == SQLITE_CONSTRAINT ? (size_t)sqlite3_changes(s->db)
	                                                 : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		if (s->bind_failed || !txn_gone(s)) {
			from = kept < n ? kept : n;
			if (rows_in(s, r, from, ids))
				return rows_lost(ids, from);
			goto one_by_one;
		}
		/* As store_put_with's first row would have failed: it is lost with the others,
		 * and the rest are the caller's to decide (reading files stops; a capture goes on
		 * in a new transaction). */
		s->conn_pending++;
		txn_lost(s, "cannot write a connection");
		return rows_lost(ids, 1);
	}
	if (rows_in(s, r, n, ids))
		return rows_lost(ids, n);
	return n;

one_by_one:
	for (j = from; j < n; j++) {
		unsigned failures = s->failures;

		ids[j] = store_put_with(s, r[j], &a[j]);
		/* the transaction is lost: the rest is the caller's to decide */
		if (s->failures != failures)
			return j + 1;
	}
	return n;
}

uint64_t store_rows_batched(const struct store *s)
{
	return s->rows_batched;
}

int64_t store_prune(struct store *s, double before_unix, int limit)
{
	int64_t n = 0;
	int ok;

	if (!writable(s) || batch_begin(s))
		return -1;
	/* The open batch's rows are found through their spans too; outside the savepoint, whose
	 * rollback would take the spans with it. */
	if (spans_write(s) != SQLITE_OK)
		return batch_failed(s, "cannot write the time spans (conn_minutes)");
	if (exec(s, "SAVEPOINT prune") != SQLITE_OK)
		return -1;
	sqlite3_bind_double(s->prune_pick, 1, before_unix);
	sqlite3_bind_int(s->prune_pick, 2, limit);
	ok = step_done(s->prune_pick) && step_done(s->prune_fold) && step_done(s->prune_delete);
	if (ok) {
		n = sqlite3_changes(s->db); /* of the delete */
		ok = step_done(s->prune_clear) && step_done(s->prune_spans);
	}
	if (!ok) {
		report(s, "cannot prune old connections");
		/* All of a prune or none of it (a row is never deleted uncounted), and the rows of
		 * the open batch stay. */
		exec(s, "ROLLBACK TO prune");
		exec(s, "RELEASE prune");
		exec(s, "DELETE FROM temp.prune_ids");
		return -1;
	}
	if (exec(s, "RELEASE prune") != SQLITE_OK)
		return -1;
	return store_flush(s) ? -1 : n;
}

int store_input_lookup(struct store *s, const char *hash, struct store_input_seen *seen)
{
	sqlite3_stmt *q = NULL;
	int rc =
	    sqlite3_prepare_v2(s->db,
	                       "SELECT i.id, i.run, i.conn_from, i.status, i.path, "
	                       "strftime('%Y-%m-%dT%H:%M:%SZ', r.started, 'unixepoch') "
	                       "FROM inputs i LEFT JOIN runs r ON r.id = i.run WHERE i.hash = ?1 "
	                       "AND i.status != 'redone' ORDER BY i.id DESC LIMIT 1",
	                       -1, &q, NULL);

	memset(seen, 0, sizeof *seen);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
	}
	if (rc == SQLITE_ROW) {
		const unsigned char *t;
		seen->id = sqlite3_column_int64(q, 0);
		seen->run = sqlite3_column_int64(q, 1);
		seen->conn_from = sqlite3_column_int64(q, 2);
		if ((t = sqlite3_column_text(q, 3)))
			snprintf(seen->status, sizeof seen->status, "%s", (const char *)t);
		if ((t = sqlite3_column_text(q, 4)))
			snprintf(seen->path, sizeof seen->path, "%s", (const char *)t);
		if ((t = sqlite3_column_text(q, 5)))
			snprintf(seen->when, sizeof seen->when, "%s", (const char *)t);
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	report(s, "cannot look up the files read before");
	return -1;
}

int64_t store_input_redo(struct store *s, const struct store_input_seen *seen)
{
	sqlite3_stmt *d = NULL, *u = NULL;
	int64_t n = -1;

	if (!writable(s) || store_flush(s) || exec(s, "BEGIN IMMEDIATE") != SQLITE_OK)
		return -1;
	/* Through the conn table: the inventory is a view over it, so nothing else to undo. */
	if (sqlite3_prepare_v2(s->db, "DELETE FROM conn WHERE run_id = ?1 AND id > ?2", -1, &d,
	                       NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(s->db, "UPDATE inputs SET status = 'redone' WHERE id = ?1", -1, &u,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(d, 1, seen->run);
		sqlite3_bind_int64(d, 2, seen->conn_from);
		sqlite3_bind_int64(u, 1, seen->id);
		if (sqlite3_step(d) == SQLITE_DONE) {
			n = sqlite3_changes(s->db);
			if (sqlite3_step(u) != SQLITE_DONE)
				n = -1;
		}
	}
	sqlite3_finalize(d);
	sqlite3_finalize(u);
	if (n < 0 || exec(s, "COMMIT") != SQLITE_OK) {
		report(s, "cannot remove what a cut read had recorded");
		exec(s, "ROLLBACK");
		return -1;
	}
	s->committed_max_id = query_int(s, "SELECT coalesce(max(id), 0) FROM conn");
	return n;
}

int store_input_mark(struct store *s, const struct store_input *in, int done)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (!writable(s) || batch_begin(s))
		return -1;
	if (done) {
		rc = sqlite3_prepare_v2(s->db, "UPDATE inputs SET status = 'read' WHERE id = ?1",
		                        -1, &q, NULL);
		if (rc == SQLITE_OK)
			sqlite3_bind_int64(q, 1, s->input_id);
	} else {
		rc = sqlite3_prepare_v2(s->db,
		                        "INSERT INTO inputs (run, path, size, mtime, dev, ino, "
		                        "hash, status, conn_from) "
		                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'reading', "
		                        "(SELECT coalesce(max(id), 0) FROM conn))",
		                        -1, &q, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, s->run_id);
			sqlite3_bind_text(q, 2, in->path, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 3, in->size);
			sqlite3_bind_int64(q, 4, in->mtime);
			sqlite3_bind_int64(q, 5, in->dev);
			sqlite3_bind_int64(q, 6, in->ino);
			sqlite3_bind_text(q, 7, in->hash, -1, SQLITE_STATIC);
		}
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return batch_failed(s, "cannot note the file being read");
	if (!done)
		s->input_id = sqlite3_last_insert_rowid(s->db);
	s->pending++;
	return 0;
}

uint64_t store_committed(const struct store *s)
{
	return s->conn_committed;
}

uint64_t store_lost(const struct store *s)
{
	return s->conn_lost;
}

const char *store_failure(const struct store *s)
{
	return s->failure[0] ? s->failure : NULL;
}

int64_t store_committed_max_id(const struct store *s)
{
	return s->committed_max_id;
}

int store_touch(struct store *s, int64_t id, const struct tc_record *r)
{
	sqlite3_stmt *st = s->touch;
	int rc;

	if (!writable(s) || batch_begin(s))
		return -1;
	sqlite3_bind_double(st, 1, usec_to_unix(r->last_ts));
	sqlite3_bind_int64(st, 2, (int64_t)r->packets[0]);
	sqlite3_bind_int64(st, 3, (int64_t)r->packets[1]);
	sqlite3_bind_int64(st, 4, (int64_t)r->bytes[0]);
	sqlite3_bind_int64(st, 5, (int64_t)r->bytes[1]);
	sqlite3_bind_int(st, 6,
	                 (r->stream_trunc[0] ? CONN_CLIENT_TRUNC : 0) |
	                     (r->stream_trunc[1] ? CONN_SERVER_TRUNC : 0));
	sqlite3_bind_int64(st, 7, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return batch_failed(s, "cannot update a connection");
	if (sqlite3_changes(s->db) != 1) {
		fprintf(stderr, "tlscensus: database '%s': no connection with id %lld to update\n",
		        s->path, (long long)id);
		return -1;
	}
	return batch_tick(s);
}

/* ---------------------------------------------------------------- runs */

int store_run_begin(struct store *s, const char *source, const char *command)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!writable(s) || store_flush(s))
		return -1;
	rc = sqlite3_prepare_v2(s->db,
	                        "INSERT INTO runs (started, command, source, tool_version) "
	                        "VALUES (?1, ?2, ?3, ?4)",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_double(st, 1, tc_now_unix());
		sqlite3_bind_text(st, 2, command, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, TC_VERSION, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		report(s, "cannot record the run");
		return -1;
	}
	s->run_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Finalizes a one-row write's statement: 0, or -1 with what failed said (naming the file). */
static int write_done(struct store *s, sqlite3_stmt *q, int rc, const char *what)
{
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		report(s, what);
		return -1;
	}
	return 0;
}

/* Writes the run's counters; ended also stamps the end time. */
static int run_write(struct store *s, const struct run_stats *st, int ended)
{
	static const struct run_stats none;
	sqlite3_stmt *q = NULL;
	int rc;

	if (!s->run_id)
		return 0;
	if (!st)
		st = &none;
	rc = sqlite3_prepare_v2(
	    s->db,
	    "UPDATE runs SET ended = ?1, packets = ?2, bytes = ?3, not_ip = ?4, "
	    "undecodable = ?5, tcp_packets = ?6, flows = ?7, flows_evicted = ?8, "
	    "handshakes = ?9, hello_truncated = ?10, hello_malformed = ?11, "
	    "kernel_drops = ?12, queue_drops = ?13, fragments = ?14, reassembled = ?15, "
	    "late_segments = ?16 WHERE id = ?17",
	    -1, &q, NULL);
	if (rc == SQLITE_OK) {
		const uint64_t v[] = {st->packets,         st->bytes,        st->not_ip,
		                      st->undecodable,     st->tcp_packets,  st->flows,
		                      st->flows_evicted,   st->handshakes,   st->hello_truncated,
		                      st->hello_malformed, st->kernel_drops, st->queue_drops,
		                      st->fragments_held,  st->reassembled,  st->late_segments};

		if (ended)
			sqlite3_bind_double(q, 1, tc_now_unix());
		else
			sqlite3_bind_null(q, 1);
		for (size_t i = 0; i < COUNT_OF(v); i++)
			sqlite3_bind_int64(q, (int)i + 2, (int64_t)v[i]);
		sqlite3_bind_int64(q, 17, s->run_id);
		rc = sqlite3_step(q);
	}
	return write_done(s, q, rc, "cannot record the run's counters");
}

int store_run_update(struct store *s, const struct run_stats *st)
{
	if (!writable(s) || batch_begin(s))
		return -1;
	return run_write(s, st, 0);
}

int store_run_worker(struct store *s, unsigned worker, const struct run_stats *st)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (!s->run_id)
		return 0;
	if (!writable(s) || batch_begin(s))
		return -1;
	rc = sqlite3_prepare_v2(
	    s->db,
	    "INSERT OR REPLACE INTO run_workers (run_id, worker, packets, bytes, "
	    "tcp_packets, flows, flows_evicted, handshakes, kernel_drops, "
	    "queue_drops) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	    -1, &q, NULL);
	if (rc == SQLITE_OK) {
		const uint64_t v[] = {st->packets,      st->bytes,         st->tcp_packets,
		                      st->flows,        st->flows_evicted, st->handshakes,
		                      st->kernel_drops, st->queue_drops};

		sqlite3_bind_int64(q, 1, s->run_id);
		sqlite3_bind_int64(q, 2, worker);
		for (size_t i = 0; i < COUNT_OF(v); i++)
			sqlite3_bind_int64(q, (int)i + 3, (int64_t)v[i]);
		rc = sqlite3_step(q);
	}
	return write_done(s, q, rc, "cannot record a worker's counters");
}

int store_run_end(struct store *s, const struct run_stats *st)
{
	if (!writable(s) || store_flush(s))
		return -1;
	if (run_write(s, st, 1))
		return -1;
	s->run_id = 0;
	return 0;
}
