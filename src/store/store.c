/*
 * store.c: the SQLite room's write side. Creates and migrates the versioned schema, keeps the
 * reference tables (cipher suites, versions, alerts) filled, and writes connection records through
 * statements prepared once, in batched transactions. It reads no packets and formats no reports.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "ciphers.h"
#include "store.h"
#include "text.h"
#include "util.h"
#include "tlscensus/fingerprint.h"
#include "tlscensus/ja4.h"

#ifndef TC_VERSION
#define TC_VERSION "unknown"
#endif

/* A commit costs an fsync of the WAL at most (synchronous=NORMAL); batching (STORE_BATCH rows)
 * keeps that off the per-row path, and the time bound keeps a slow live capture from holding
 * rows uncommitted. */
#define STORE_COMMIT_SECONDS 1.0
#define STORE_CLOCK_EVERY    32 /* rows between looks at the clock */
#define STORE_BUSY_MS        5000

/* ---------------------------------------------------------------- schema */

/*
 * Version 1. The comments are kept by SQLite in sqlite_master, so `.schema` in the sqlite3 shell
 * shows them to whoever queries the database by hand.
 */
static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS meta (\n"
    "  key   TEXT PRIMARY KEY,\n"
    "  value TEXT\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS runs (\n"
    "  id              INTEGER PRIMARY KEY,\n"
    "  started         REAL NOT NULL,  -- unix seconds\n"
    "  ended           REAL,           -- NULL while running, or if the run was killed\n"
    "  command         TEXT,           -- read, capture, ...\n"
    "  source          TEXT,           -- capture file names or the interface\n"
    "  tool_version    TEXT,\n"
    "  packets         INTEGER,        -- frames handed to decode\n"
    "  bytes           INTEGER,        -- captured bytes\n"
    "  not_ip          INTEGER,\n"
    "  undecodable     INTEGER,        -- truncated, malformed, unsupported\n"
    "  fragments       INTEGER,        -- IP fragments held for reassembly or refused\n"
    "  reassembled     INTEGER,        -- IP datagrams rebuilt from fragments\n"
    "  tcp_packets     INTEGER,\n"
    "  flows           INTEGER,\n"
    "  flows_evicted   INTEGER,        -- pushed out by the flow table bound\n"
    "  handshakes      INTEGER,        -- connection rows written\n"
    "  hello_truncated INTEGER,\n"
    "  hello_malformed INTEGER,\n"
    "  kernel_drops    INTEGER,        -- live capture: dropped by the kernel or interface\n"
    "  queue_drops     INTEGER         -- live capture: records lost to a full writer queue\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS connections (\n"
    "  id                  INTEGER PRIMARY KEY,\n"
    "  run_id              INTEGER REFERENCES runs(id),\n"
    "  first_ts            REAL NOT NULL,  -- unix seconds, microsecond fraction\n"
    "  last_ts             REAL NOT NULL,\n"
    "  transport           TEXT,           -- 'tcp' or 'udp'\n"
    "  ip_version          INTEGER,        -- 4 or 6\n"
    "  client_ip           TEXT NOT NULL,  -- dotted quad or RFC 5952\n"
    "  client_port         INTEGER NOT NULL,\n"
    "  server_ip           TEXT NOT NULL,\n"
    "  server_port         INTEGER NOT NULL,\n"
    "  client_packets      INTEGER,        -- sent by the client\n"
    "  server_packets      INTEGER,\n"
    "  client_bytes        INTEGER,        -- transport payload bytes sent by the client\n"
    "  server_bytes        INTEGER,\n"
    "  client_stream_trunc INTEGER,        -- 1: reassembly bound reached, client direction\n"
    "  server_stream_trunc INTEGER,\n"
    "  -- ClientHello (all NULL when none was seen; ch_version IS NOT NULL means one was)\n"
    "  ch_version          INTEGER,        -- legacy_version, wire value (771 = 0x0303)\n"
    "  ch_sslv2            INTEGER,        -- 1: SSLv2 record format\n"
    "  ch_versions         TEXT,           -- JSON array, supported_versions in wire order\n"
    "  ch_max_version      INTEGER,        -- highest known version offered\n"
    "  ciphers             TEXT,           -- JSON array, wire order, GREASE kept\n"
    "  extensions          TEXT,           -- JSON arrays below: NULL when absent\n"
    "  groups              TEXT,\n"
    "  key_shares          TEXT,           -- groups of the key_share entries\n"
    "  sig_algs            TEXT,\n"
    "  point_formats       TEXT,\n"
    "  compression         TEXT,\n"
    "  sni                 TEXT,           -- as sent; bytes not UTF-8 text as \\xHH\n"
    "  alpn                TEXT,           -- JSON array of strings\n"
    "  session_id_len      INTEGER,\n"
    "  fallback_scsv       INTEGER,        -- 0/1, RFC 7507\n"
    "  session_ticket      INTEGER,        -- 0/1, extension present\n"
    "  ch_trunc            INTEGER,        -- bit set: a list was longer than we keep\n"
    "  ja3                 TEXT,\n"
    "  ja3_str             TEXT,\n"
    "  ja4                 TEXT,           -- JA4 (FoxIO), 't' for TLS over TCP\n"
    "  -- ServerHello (all NULL when none was seen)\n"
    "  sh_version          INTEGER,        -- legacy_version\n"
    "  sh_selected_version INTEGER,        -- supported_versions, NULL when absent\n"
    "  version             INTEGER,        -- negotiated\n"
    "  cipher              INTEGER,        -- negotiated suite (NULL for SSLv2)\n"
    "  sh_extensions       TEXT,\n"
    "  sh_alpn             TEXT,\n"
    "  ja3s                TEXT,\n"
    "  ja3s_str            TEXT,\n"
    "  hrr                 INTEGER,        -- 0/1, a HelloRetryRequest came first\n"
    "  -- first plaintext alert\n"
    "  alert_level         INTEGER,        -- 1 warning, 2 fatal\n"
    "  alert_desc          INTEGER,        -- see alert_descriptions\n"
    "  alert_from          TEXT,           -- 'client' or 'server'\n"
    "  app_label           TEXT,           -- nDPI's application name\n"
    "  parse_status        TEXT,           -- ok, truncated, malformed, one_sided, midstream\n"
    "  parse_error         TEXT,           -- why the dissector stopped, NULL if it did not\n"
    "  hello_count         INTEGER         -- ClientHellos seen (2 after an HRR)\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS connections_client ON connections(client_ip, server_ip, "
    "server_port);\n"
    "CREATE INDEX IF NOT EXISTS connections_first_ts ON connections(first_ts);\n"
    "CREATE TABLE IF NOT EXISTS cipher_suites (\n"
    "  value    INTEGER PRIMARY KEY,  -- 16-bit suite, or 24-bit SSLv2 cipher kind\n"
    "  name     TEXT NOT NULL,\n"
    "  legacy   INTEGER NOT NULL,     -- 1: NULL, EXPORT, anon, RC4, DES, 3DES or RC2\n"
    "  weakness TEXT NOT NULL         -- e.g. '3DES', 'RC4,MD5'; '' for none\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS tls_versions (\n"
    "  value  INTEGER PRIMARY KEY,\n"
    "  name   TEXT NOT NULL,\n"
    "  rank   INTEGER NOT NULL,       -- for comparisons; DTLS beside its TLS sibling\n"
    "  legacy INTEGER NOT NULL        -- 1: below TLS 1.2 (DTLS 1.0 included)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS alert_descriptions (\n"
    "  value INTEGER PRIMARY KEY,\n"
    "  name  TEXT NOT NULL\n"
    ");\n"
    "-- One row per distinct way a client met a server: kept when connection rows are pruned\n"
    "-- (--retain), so months of history stay small. -1 and '' stand for 'none', so that the\n"
    "-- UNIQUE key (NULLs are all distinct in SQLite) folds equal connections together.\n"
    "CREATE TABLE IF NOT EXISTS inventory (\n"
    "  id             INTEGER PRIMARY KEY,\n"
    "  client_ip      TEXT NOT NULL,\n"
    "  server_ip      TEXT NOT NULL,\n"
    "  server_port    INTEGER NOT NULL,\n"
    "  sni            TEXT NOT NULL,     -- '' when none\n"
    "  version        INTEGER NOT NULL,  -- negotiated; -1 when no ServerHello\n"
    "  cipher         INTEGER NOT NULL,  -- negotiated; -1 when none\n"
    "  ch_max_version INTEGER NOT NULL,  -- client's highest offered; -1 when no ClientHello\n"
    "  ja3            TEXT NOT NULL,     -- '' when none\n"
    "  ja4            TEXT NOT NULL,     -- '' when none (software hints)\n"
    "  alert_desc     INTEGER NOT NULL,  -- first plaintext alert; -1 when none\n"
    "  fallback_scsv  INTEGER NOT NULL,  -- 0/1\n"
    "  retry          INTEGER NOT NULL,  -- 1: a lower hello to the same endpoint within 60 s\n"
    "                                    -- of a failed one (see view inventory_keys)\n"
    "  parse_status   TEXT NOT NULL,     -- as in connections: only 'ok' rows can be judged\n"
    "  connections    INTEGER NOT NULL,\n"
    "  first_seen     REAL NOT NULL,     -- start of the first such connection, unix seconds\n"
    "  last_seen      REAL NOT NULL,     -- start of the latest such connection\n"
    "  UNIQUE (client_ip, server_ip, server_port, sni, version, cipher, ch_max_version, ja3,\n"
    "          ja4, alert_desc, fallback_scsv, retry, parse_status)\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS connections_last_ts ON connections(last_ts);\n"
    "-- Failed connections only, for the retry test of view inventory_keys, which runs on every\n"
    "-- insert: it stays cheap however busy a client/server pair is.\n"
    "CREATE INDEX IF NOT EXISTS connections_failed ON connections(client_ip, server_ip,\n"
    "  server_port, first_ts) WHERE sh_version IS NULL OR alert_desc IN (40, 70, 86);\n";

/*
 * Views are dropped and created again whenever this text changes (see views_stale), so they
 * always match the code.
 * A connection is legacy when its effective version (the negotiated one; without a ServerHello
 * the highest the client offered) is a known version below TLS 1.2, or when the negotiated suite
 * is legacy. A connection with neither hello has no effective version and no suite, so it is
 * never listed. The reason names the suite's legacy kinds only: MD5 (the MAC) is informational,
 * and it always follows a legacy kind in the weakness text, hence the replace().
 */
static const char views_sql[] =
    "DROP VIEW IF EXISTS connections_named;\n"
    "DROP VIEW IF EXISTS legacy_connections;\n"
    "CREATE VIEW connections_named AS\n"
    "SELECT c.*,\n"
    "  CASE WHEN c.version IS NOT NULL\n"
    "       THEN coalesce(v.name, printf('0x%04x', c.version)) END AS version_name,\n"
    "  CASE WHEN c.cipher IS NOT NULL\n"
    "       THEN coalesce(cs.name, printf('0x%04x', c.cipher)) END AS cipher_name,\n"
    "  CASE WHEN c.ch_version IS NOT NULL\n"
    "       THEN coalesce(chv.name, printf('0x%04x', c.ch_version)) END AS ch_version_name,\n"
    "  chm.name AS ch_max_version_name,\n"
    "  CASE WHEN c.alert_desc IS NOT NULL\n"
    "       THEN coalesce(ad.name, CAST(c.alert_desc AS TEXT)) END AS alert_name\n"
    "FROM connections c\n"
    "LEFT JOIN tls_versions v ON v.value = c.version\n"
    "LEFT JOIN cipher_suites cs ON cs.value = c.cipher\n"
    "LEFT JOIN tls_versions chv ON chv.value = c.ch_version\n"
    "LEFT JOIN tls_versions chm ON chm.value = c.ch_max_version\n"
    "LEFT JOIN alert_descriptions ad ON ad.value = c.alert_desc;\n"
    "CREATE VIEW legacy_connections AS\n"
    "SELECT c.*,\n"
    "  CASE WHEN c.sh_version IS NULL THEN c.ch_max_version ELSE c.version END\n"
    "    AS effective_version,\n"
    "  ev.name AS effective_version_name,\n"
    "  c.sh_version IS NOT NULL AS negotiated,\n"
    "  cs.name AS cipher_name,\n"
    "  CASE\n"
    "    WHEN ev.legacy = 1 AND cs.legacy = 1 THEN ev.name ||\n"
    "      CASE WHEN c.sh_version IS NULL THEN ' offered, no ServerHello' ELSE '' END ||\n"
    "      ', ' || replace(cs.weakness, ',MD5', '') || ' cipher'\n"
    "    WHEN ev.legacy = 1 THEN ev.name ||\n"
    "      CASE WHEN c.sh_version IS NULL THEN ' offered, no ServerHello' ELSE '' END\n"
    "    ELSE replace(cs.weakness, ',MD5', '') || ' cipher'\n"
    "  END AS reason\n"
    "FROM connections c\n"
    "LEFT JOIN tls_versions ev\n"
    "  ON ev.value = CASE WHEN c.sh_version IS NULL THEN c.ch_max_version ELSE c.version END\n"
    "LEFT JOIN cipher_suites cs ON cs.value = c.cipher\n"
    "WHERE ev.legacy = 1 OR cs.legacy = 1;\n"

    "-- A connection as its inventory row sees it ('' and -1 for none). The inventory upsert and\n"
    "-- the legacy report's exact time windows both read it, so the two cannot drift apart.\n"
    "-- retry: the client retried lower (a fallback without TLS_FALLBACK_SCSV): an earlier\n"
    "-- connection from the same client to the same endpoint and SNI, started at most 60 s\n"
    "-- before, offered a higher version and failed (no ServerHello, or a protocol_version,\n"
    "-- handshake_failure or inappropriate_fallback alert).\n"
    "DROP VIEW IF EXISTS inventory_keys;\n"
    "CREATE VIEW inventory_keys AS\n"
    "SELECT c.id, c.first_ts, c.client_ip, c.server_ip, c.server_port,\n"
    "  coalesce(c.sni, '') AS sni, coalesce(c.version, -1) AS version,\n"
    "  coalesce(c.cipher, -1) AS cipher, coalesce(c.ch_max_version, -1) AS ch_max_version,\n"
    "  coalesce(c.ja3, '') AS ja3, coalesce(c.ja4, '') AS ja4,\n"
    "  coalesce(c.alert_desc, -1) AS alert_desc, coalesce(c.fallback_scsv, 0) AS fallback_scsv,\n"
    "  EXISTS (SELECT 1 FROM connections p\n"
    "    WHERE p.client_ip = c.client_ip AND p.server_ip = c.server_ip\n"
    "      AND p.server_port = c.server_port AND coalesce(p.sni, '') = coalesce(c.sni, '')\n"
    "      AND p.id != c.id\n"
    "      AND p.first_ts <= c.first_ts AND p.first_ts >= c.first_ts - 60\n"
    "      AND p.ch_max_version > c.ch_max_version AND p.parse_status = 'ok'\n"
    "      AND (p.sh_version IS NULL OR p.alert_desc IN (40, 70, 86))) AS retry,\n"
    "  coalesce(c.parse_status, 'ok') AS parse_status\n"
    "FROM connections c\n"
    "WHERE c.ch_version IS NOT NULL OR c.sh_version IS NOT NULL;\n";

/* Each step takes the schema from version - 1 to version. */
struct store_migration {
	int version;
	const char *sql;
};

static const struct store_migration migrations[] = {
    {1, schema_v1},
};

/* The versions the tls_versions table names; names and ranks come from dissectors/hello.c. */
static const struct {
	uint16_t value;
	uint8_t legacy;
} known_versions[] = {
    {TC_V_SSL2, 1},  {TC_V_SSL3, 1}, {TC_V_TLS10, 1}, {TC_V_TLS11, 1}, {TC_V_TLS12, 0},
    {TC_V_TLS13, 0}, {0xfeff, 1},    {0xfefd, 0},     {0xfefc, 0},
};

/* TLS Alert registry (IANA; RFC 5246 7.2, RFC 8446 6, RFC 9147 for 52). */
static const struct {
	uint8_t value;
	const char *name;
} alert_names[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {52, "too_many_cids_requested"},
    {60, "export_restriction"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {111, "certificate_unobtainable"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {114, "bad_certificate_hash_value"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
    {121, "ech_required"},
};

/* Columns of the INSERT, in bind order; one list so names and indexes cannot drift apart. */
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
	X(CLIENT_TRUNC, client_stream_trunc)                                                       \
	X(SERVER_TRUNC, server_stream_trunc)                                                       \
	X(CH_VERSION, ch_version)                                                                  \
	X(CH_SSLV2, ch_sslv2)                                                                      \
	X(CH_VERSIONS, ch_versions)                                                                \
	X(CH_MAX_VERSION, ch_max_version)                                                          \
	X(CIPHERS, ciphers)                                                                        \
	X(EXTENSIONS, extensions)                                                                  \
	X(GROUPS, groups)                                                                          \
	X(KEY_SHARES, key_shares)                                                                  \
	X(SIG_ALGS, sig_algs)                                                                      \
	X(POINT_FORMATS, point_formats)                                                            \
	X(COMPRESSION, compression)                                                                \
	X(SNI, sni)                                                                                \
	X(ALPN, alpn)                                                                              \
	X(SESSION_ID_LEN, session_id_len)                                                          \
	X(FALLBACK_SCSV, fallback_scsv)                                                            \
	X(SESSION_TICKET, session_ticket)                                                          \
	X(CH_TRUNC, ch_trunc)                                                                      \
	X(JA3, ja3)                                                                                \
	X(JA3_STR, ja3_str)                                                                        \
	X(JA4, ja4)                                                                                \
	X(SH_VERSION, sh_version)                                                                  \
	X(SH_SELECTED_VERSION, sh_selected_version)                                                \
	X(VERSION, version)                                                                        \
	X(CIPHER, cipher)                                                                          \
	X(SH_EXTENSIONS, sh_extensions)                                                            \
	X(SH_ALPN, sh_alpn)                                                                        \
	X(JA3S, ja3s)                                                                              \
	X(JA3S_STR, ja3s_str)                                                                      \
	X(HRR, hrr)                                                                                \
	X(ALERT_LEVEL, alert_level)                                                                \
	X(ALERT_DESC, alert_desc)                                                                  \
	X(ALERT_FROM, alert_from)                                                                  \
	X(APP_LABEL, app_label)                                                                    \
	X(PARSE_STATUS, parse_status)                                                              \
	X(PARSE_ERROR, parse_error)                                                                \
	X(HELLO_COUNT, hello_count)

enum conn_col {
#define CONN_ENUM(e, n) COL_##e,
	CONN_COLUMNS(CONN_ENUM)
#undef CONN_ENUM
	    COL_COUNT
};

static const char *const conn_col_names[COL_COUNT] = {
#define CONN_NAME(e, n) #n,
    CONN_COLUMNS(CONN_NAME)
#undef CONN_NAME
};

/* ---------------------------------------------------------------- state */

struct store {
	sqlite3 *db;
	char *path;
	enum store_mode mode;
	sqlite3_stmt *insert; /* prepared once, reused for every row */
	sqlite3_stmt *touch;
	sqlite3_stmt *inventory; /* upsert of the row just inserted into the inventory */
	sqlite3_stmt *prune;
	int64_t run_id;   /* 0: no run begun */
	unsigned pending; /* rows in the open transaction */
	struct timespec last_commit;
	int bind_failed;
	struct sbuf text; /* scratch for JSON arrays and wire text */
	char *ja3_str;    /* TC_JA3_STR_MAX bytes, too big for the stack */
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

/* RFC 7301 3.1: u8-prefixed names. A name that runs past the kept bytes (TC_MAX_ALPN) is
 * dropped; the hello's trunc flag already says the list was cut. */
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
	for (size_t i = 0; rc == SQLITE_OK && i < COUNT_OF(alert_names); i++) {
		sqlite3_bind_int(st, 1, alert_names[i].value);
		sqlite3_bind_text(st, 2, alert_names[i].name, -1, SQLITE_STATIC);
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
	           (int64_t)COUNT_OF(alert_names);
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
	if (rc == SQLITE_NOTADB)
		set_err(err, errlen,
		        "'%s' is not a SQLite database; give the path of a tlscensus database, or "
		        "a new file name",
		        s->path);
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

static int migrate(struct store *s, int from)
{
	char sql[128];
	int rc = SQLITE_OK;

	for (size_t i = 0; rc == SQLITE_OK && i < COUNT_OF(migrations); i++)
		if (migrations[i].version > from)
			rc = exec(s, migrations[i].sql);
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
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = views_sql; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
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
	int rc = exec(s, views_sql);

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

static int prepare_writes(struct store *s, char *err, size_t errlen)
{
	struct sbuf sql = {0};
	int rc;

	sb_put(&sql, "INSERT INTO connections (", 25);
	for (int i = 0; i < COL_COUNT; i++) {
		if (i)
			sb_putc(&sql, ',');
		sb_put(&sql, conn_col_names[i], strlen(conn_col_names[i]));
	}
	sb_put(&sql, ") VALUES (", 10);
	for (int i = 0; i < COL_COUNT; i++) {
		sb_put(&sql, i ? ",?" : "?", i ? 2 : 1);
		sb_uint(&sql, (unsigned long)i + 1);
	}
	sb_putc(&sql, ')');
	rc = sql.failed ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, sql.p, -1, &s->insert, NULL);
	free(sql.p);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		    s->db,
		    "UPDATE connections SET last_ts = ?1, client_packets = ?2, "
		    "server_packets = ?3, client_bytes = ?4, server_bytes = ?5, "
		    "client_stream_trunc = ?6, server_stream_trunc = ?7 WHERE id = ?8",
		    -1, &s->touch, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		    s->db,
		    "INSERT INTO inventory (client_ip, server_ip, server_port, sni, version, "
		    "cipher, "
		    "ch_max_version, ja3, ja4, alert_desc, fallback_scsv, retry, parse_status, "
		    "connections, first_seen, last_seen) "
		    "SELECT client_ip, server_ip, server_port, sni, version, cipher, "
		    "ch_max_version, "
		    "ja3, ja4, alert_desc, fallback_scsv, retry, parse_status, 1, first_ts, "
		    "first_ts "
		    "FROM inventory_keys WHERE id = ?1 "
		    "ON CONFLICT (client_ip, server_ip, server_port, sni, version, cipher, "
		    "ch_max_version, ja3, ja4, alert_desc, fallback_scsv, retry, parse_status) "
		    "DO UPDATE SET "
		    "connections = connections + 1, "
		    "first_seen = min(first_seen, excluded.first_seen), "
		    "last_seen = max(last_seen, excluded.last_seen)",
		    -1, &s->inventory, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
		                        "DELETE FROM connections WHERE id IN (SELECT id FROM "
		                        "connections WHERE last_ts < ?1 LIMIT ?2)",
		                        -1, &s->prune, NULL);
	if (rc == SQLITE_OK)
		return 0;
	set_err(err, errlen, "cannot prepare statements on database '%s': %s", s->path,
	        sqlite3_errmsg(s->db));
	return -1;
}

static int open_read_write(struct store *s, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

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
	if (apply_schema(s, err, errlen) || prepare_writes(s, err, errlen))
		return -1;
	s->text.failed = 0;
	s->ja3_str = malloc(TC_JA3_STR_MAX);
	if (!s->ja3_str) {
		set_err(err, errlen, "out of memory opening database '%s'", s->path);
		return -1;
	}
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
		set_err(err, errlen,
		        "database '%s' has the older schema version %d; run 'tlscensus read' on it "
		        "once to migrate it to version %d",
		        s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static void store_free(struct store *s)
{
	sqlite3_finalize(s->insert);
	sqlite3_finalize(s->touch);
	sqlite3_finalize(s->inventory);
	sqlite3_finalize(s->prune);
	if (s->db)
		sqlite3_close(s->db);
	free(s->text.p);
	free(s->ja3_str);
	free(s->path);
	free(s);
}

struct store *store_open(const char *path, enum store_mode mode, char *err, size_t errlen)
{
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

/* ---------------------------------------------------------------- batches */

static int writable(const struct store *s)
{
	if (s->mode == STORE_READ_WRITE)
		return 1;
	fprintf(stderr, "tlscensus: database '%s' was opened read-only\n", s->path);
	return 0;
}

int store_flush(struct store *s)
{
	if (s->mode != STORE_READ_WRITE || sqlite3_get_autocommit(s->db))
		return 0;
	if (exec(s, "COMMIT") != SQLITE_OK) {
		/* The transaction stays open (busy, disk full): a later flush may still commit. */
		report(s, "commit failed");
		return -1;
	}
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
	s->pending = 0;
	return 0;
}

/* Counts one written row; commits when the batch is full or has been open for a second. */
static int batch_tick(struct store *s)
{
	struct timespec now;
	double age;

	if (++s->pending >= STORE_BATCH)
		return store_flush(s);
	if (s->pending % STORE_CLOCK_EVERY)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	age = (double)(now.tv_sec - s->last_commit.tv_sec) +
	      (now.tv_nsec - s->last_commit.tv_nsec) / 1e9;
	return age >= STORE_COMMIT_SECONDS ? store_flush(s) : 0;
}

/* ---------------------------------------------------------------- rows */

static void bind_int(struct store *s, enum conn_col c, int64_t v)
{
	if (sqlite3_bind_int64(s->insert, (int)c + 1, v) != SQLITE_OK)
		s->bind_failed = 1;
}

static void bind_str(struct store *s, enum conn_col c, const char *v)
{
	if (v && sqlite3_bind_text(s->insert, (int)c + 1, v, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		s->bind_failed = 1;
}

/* Binds the scratch buffer's text (copied by SQLite) and empties the buffer. */
static void bind_text_buf(struct store *s, enum conn_col c)
{
	if (s->text.failed || sqlite3_bind_text(s->insert, (int)c + 1, s->text.p ? s->text.p : "",
	                                        (int)s->text.len, SQLITE_TRANSIENT) != SQLITE_OK)
		s->bind_failed = 1;
	sb_reset(&s->text);
}

static void bind_ints(struct store *s, enum conn_col c, const void *v, size_t n, size_t width)
{
	json_ints(&s->text, v, n, width);
	bind_text_buf(s, c);
}

static void bind_client_hello(struct store *s, const struct tc_client_hello *ch)
{
	uint16_t max = tc_client_max_version(ch);
	char ja3[33];

	bind_int(s, COL_CH_VERSION, ch->legacy_version);
	bind_int(s, COL_CH_SSLV2, ch->sslv2);
	if (ch->has_versions)
		bind_ints(s, COL_CH_VERSIONS, ch->versions, ch->version_n, 2);
	if (max)
		bind_int(s, COL_CH_MAX_VERSION, max);
	bind_ints(s, COL_CIPHERS, ch->ciphers, ch->cipher_n, 4);
	if (ch->has_extensions)
		bind_ints(s, COL_EXTENSIONS, ch->exts, ch->ext_n, 2);
	if (ch->has_groups)
		bind_ints(s, COL_GROUPS, ch->groups, ch->group_n, 2);
	if (ch->has_key_share)
		bind_ints(s, COL_KEY_SHARES, ch->kshares, ch->kshare_n, 2);
	if (ch->has_sigalgs)
		bind_ints(s, COL_SIG_ALGS, ch->sigalgs, ch->sigalg_n, 2);
	if (ch->has_pointfmt)
		bind_ints(s, COL_POINT_FORMATS, ch->pointfmts, ch->pointfmt_n, 1);
	if (!ch->sslv2) /* the SSLv2 CLIENT-HELLO has no compression field */
		bind_ints(s, COL_COMPRESSION, ch->compress, ch->compress_n, 1);
	if (ch->has_sni) {
		text_put_wire(&s->text, (const uint8_t *)ch->sni, ch->sni_len, 1, 0);
		bind_text_buf(s, COL_SNI);
	}
	if (ch->has_alpn) {
		json_alpn(&s->text, ch->alpn, ch->alpn_len);
		bind_text_buf(s, COL_ALPN);
	}
	bind_int(s, COL_SESSION_ID_LEN, ch->session_id_len);
	bind_int(s, COL_FALLBACK_SCSV, ch->fallback_scsv ? 1 : 0);
	bind_int(s, COL_SESSION_TICKET, ch->has_session_ticket ? 1 : 0);
	bind_int(s, COL_CH_TRUNC, ch->trunc);
	if (tc_ja3(ch, s->ja3_str, TC_JA3_STR_MAX, ja3)) {
		bind_str(s, COL_JA3, ja3);
		bind_str(s, COL_JA3_STR, s->ja3_str);
	}
	char ja4[TC_JA4_LEN];
	if (tc_ja4(ch, ch->dtls ? TC_JA4_DTLS : TC_JA4_TCP, ja4))
		bind_str(s, COL_JA4, ja4);
}

static void bind_server_hello(struct store *s, const struct tc_server_hello *sh)
{
	char ja3s[33];

	bind_int(s, COL_SH_VERSION, sh->legacy_version);
	if (sh->selected_version)
		bind_int(s, COL_SH_SELECTED_VERSION, sh->selected_version);
	bind_int(s, COL_VERSION, tc_server_version(sh));
	if (!sh->sslv2) /* an SSLv2 SERVER-HELLO lists ciphers; the client picks later */
		bind_int(s, COL_CIPHER, sh->cipher);
	if (sh->has_extensions)
		bind_ints(s, COL_SH_EXTENSIONS, sh->exts, sh->ext_n, 2);
	if (sh->alpn_len) {
		text_put_wire(&s->text, (const uint8_t *)sh->alpn, sh->alpn_len, 1, 0);
		bind_text_buf(s, COL_SH_ALPN);
	}
	if (tc_ja3s(sh, s->ja3_str, TC_JA3_STR_MAX, ja3s)) {
		bind_str(s, COL_JA3S, ja3s);
		bind_str(s, COL_JA3S_STR, s->ja3_str);
	}
}

static void bind_handshake(struct store *s, const struct tc_handshake *hs)
{
	if (hs->ch)
		bind_client_hello(s, hs->ch);
	if (hs->sh)
		bind_server_hello(s, hs->sh);
	if (hs->ch || hs->sh || hs->hrr_seen)
		bind_int(s, COL_HRR, hs->hrr_seen ? 1 : 0);
	if (hs->alert.seen) {
		bind_int(s, COL_ALERT_LEVEL, hs->alert.level);
		bind_int(s, COL_ALERT_DESC, hs->alert.desc);
		if (hs->client_dir >= 0)
			bind_str(s, COL_ALERT_FROM,
			         hs->alert.dir == hs->client_dir ? "client" : "server");
	}
	if (hs->err)
		bind_str(s, COL_PARSE_ERROR, tc_err_name((enum tc_err)hs->err));
	bind_int(s, COL_HELLO_COUNT, hs->ch_count);
}

static void bind_record(struct store *s, const struct tc_record *r)
{
	char ip[64];

	if (s->run_id)
		bind_int(s, COL_RUN_ID, s->run_id);
	sqlite3_bind_double(s->insert, COL_FIRST_TS + 1, usec_to_unix(r->first_ts));
	sqlite3_bind_double(s->insert, COL_LAST_TS + 1, usec_to_unix(r->last_ts));
	bind_str(s, COL_TRANSPORT, r->transport == 6 ? "tcp" : r->transport == 17 ? "udp" : NULL);
	bind_int(s, COL_IP_VERSION, r->ip_version);
	bind_str(s, COL_CLIENT_IP, tc_addr_format(&r->client, ip, sizeof ip));
	bind_int(s, COL_CLIENT_PORT, r->client_port);
	bind_str(s, COL_SERVER_IP, tc_addr_format(&r->server, ip, sizeof ip));
	bind_int(s, COL_SERVER_PORT, r->server_port);
	bind_int(s, COL_CLIENT_PACKETS, (int64_t)r->packets[0]);
	bind_int(s, COL_SERVER_PACKETS, (int64_t)r->packets[1]);
	bind_int(s, COL_CLIENT_BYTES, (int64_t)r->bytes[0]);
	bind_int(s, COL_SERVER_BYTES, (int64_t)r->bytes[1]);
	bind_int(s, COL_CLIENT_TRUNC, r->stream_trunc[0] ? 1 : 0);
	bind_int(s, COL_SERVER_TRUNC, r->stream_trunc[1] ? 1 : 0);
	if (r->hs)
		bind_handshake(s, r->hs);
	bind_str(s, COL_APP_LABEL, r->app_label);
	bind_str(s, COL_PARSE_STATUS, tc_conn_status_name((enum tc_conn_status)r->status));
}

int64_t store_put(struct store *s, const struct tc_record *r)
{
	int64_t id;
	int rc;

	if (!writable(s) || batch_begin(s))
		return -1;
	s->bind_failed = 0;
	sb_reset(&s->text);
	bind_record(s, r);
	rc = s->bind_failed ? SQLITE_NOMEM : sqlite3_step(s->insert);
	sqlite3_reset(s->insert);
	sqlite3_clear_bindings(s->insert);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			fprintf(stderr, "tlscensus: database '%s': out of memory writing a row\n",
			        s->path);
		else
			report(s, "cannot write a connection");
		return -1;
	}
	id = sqlite3_last_insert_rowid(s->db);
	sqlite3_bind_int64(s->inventory, 1, id);
	rc = sqlite3_step(s->inventory);
	sqlite3_reset(s->inventory);
	if (rc != SQLITE_DONE) {
		report(s, "cannot update the inventory");
		return -1;
	}
	if (batch_tick(s))
		return -1;
	return id;
}

int64_t store_prune(struct store *s, double before_unix, int limit)
{
	int rc;

	if (!writable(s) || batch_begin(s))
		return -1;
	sqlite3_bind_double(s->prune, 1, before_unix);
	sqlite3_bind_int(s->prune, 2, limit);
	rc = sqlite3_step(s->prune);
	sqlite3_reset(s->prune);
	if (rc != SQLITE_DONE) {
		report(s, "cannot prune old connections");
		return -1;
	}
	int64_t n = sqlite3_changes(s->db);
	return store_flush(s) ? -1 : n;
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
	sqlite3_bind_int(st, 6, r->stream_trunc[0] ? 1 : 0);
	sqlite3_bind_int(st, 7, r->stream_trunc[1] ? 1 : 0);
	sqlite3_bind_int64(st, 8, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		report(s, "cannot update a connection");
		return -1;
	}
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
	    "kernel_drops = ?12, queue_drops = ?13, fragments = ?14, reassembled = ?15 "
	    "WHERE id = ?16",
	    -1, &q, NULL);
	if (rc == SQLITE_OK) {
		const uint64_t v[] = {st->packets,         st->bytes,        st->not_ip,
		                      st->undecodable,     st->tcp_packets,  st->flows,
		                      st->flows_evicted,   st->handshakes,   st->hello_truncated,
		                      st->hello_malformed, st->kernel_drops, st->queue_drops,
		                      st->fragments_held,  st->reassembled};

		if (ended)
			sqlite3_bind_double(q, 1, tc_now_unix());
		else
			sqlite3_bind_null(q, 1);
		for (size_t i = 0; i < COUNT_OF(v); i++)
			sqlite3_bind_int64(q, (int)i + 2, (int64_t)v[i]);
		sqlite3_bind_int64(q, 16, s->run_id);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		report(s, "cannot record the run's counters");
		return -1;
	}
	return 0;
}

int store_run_update(struct store *s, const struct run_stats *st)
{
	if (!writable(s) || batch_begin(s))
		return -1;
	return run_write(s, st, 0);
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
