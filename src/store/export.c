/*
 * export.c: the ndjson export of FORMAT.md, read from the store. It never writes to the
 * database, and every text that came from the wire is made inert again before it is printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <sqlite3.h>

#include "groups.h"
#include "read.h"
#include "store.h"
#include "text.h"
#include "version.h"
#include "tlscensus/hello.h"

/* ---------------------------------------------------------------- output helpers */

static void json_column_string(FILE *out, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		fputs("null", out);
	else
		text_json_string_n(out, (const char *)sqlite3_column_text(st, col),
		                   (size_t)sqlite3_column_bytes(st, col));
}

static void json_column_bool(FILE *out, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		fputs("null", out);
	else
		fputs(sqlite3_column_int(st, col) ? "true" : "false", out);
}

static int finish_output(struct store *s, FILE *out)
{
	if (fflush(out) == 0 && !ferror(out))
		return 0;
	fprintf(stderr, "tlscensus: cannot write the output of database '%s': %s\n", store_path(s),
	        strerror(errno));
	return -1;
}

static void query_failed(struct store *s, const char *what)
{
	fprintf(stderr, "tlscensus: database '%s': %s: %s\n", store_path(s), what,
	        sqlite3_errmsg(store_db(s)));
}

/* ---------------------------------------------------------------- stored arrays */

/* The next integer of a stored JSON integer array ("[771,772]"); 0 at the end. */
static int next_uint(const char **p, unsigned long *v)
{
	const char *s = *p;
	char *end;

	while (*s && (*s < '0' || *s > '9'))
		s++;
	if (!*s)
		return 0;
	errno = 0;
	*v = strtoul(s, &end, 10);
	*p = end;
	return errno == 0;
}

/* Appends code point c as UTF-8; c has been checked to be a scalar value. */
static size_t put_utf8(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static int hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			return 0;
		*v = *v << 4 | (uint32_t)d;
	}
	return 1;
}

/* Decodes the JSON string starting at *p (on its opening quote) into o; returns its length, or
 * -1 when the text is not a JSON string. o needs strlen(*p) bytes: decoding never grows text. */
static long decode_json_string(const char **p, char *o)
{
	const char *s = *p + 1;
	size_t n = 0;

	for (;;) {
		uint32_t c, lo;

		if (*s == '\0' || (unsigned char)*s < 0x20)
			return -1;
		if (*s == '"')
			break;
		if (*s != '\\') {
			o[n++] = *s++;
			continue;
		}
		switch (s[1]) {
		case '"':
		case '\\':
		case '/':
			o[n++] = s[1];
			s += 2;
			continue;
		case 'b':
			o[n++] = '\b';
			s += 2;
			continue;
		case 'f':
			o[n++] = '\f';
			s += 2;
			continue;
		case 'n':
			o[n++] = '\n';
			s += 2;
			continue;
		case 'r':
			o[n++] = '\r';
			s += 2;
			continue;
		case 't':
			o[n++] = '\t';
			s += 2;
			continue;
		case 'u':
			break;
		default:
			return -1;
		}
		if (!hex4(s + 2, &c))
			return -1;
		s += 6;
		if (c >= 0xd800 && c <= 0xdbff && s[0] == '\\' && s[1] == 'u' && hex4(s + 2, &lo) &&
		    lo >= 0xdc00 && lo <= 0xdfff) {
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			s += 6;
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd; /* a lone surrogate has no UTF-8 form */
		}
		n += put_utf8(o + n, c);
	}
	*p = s + 1;
	return (long)n;
}

/* Writes a stored JSON array of strings (alpn) again, each string made inert on the way; a value
 * that is not such an array is written as null rather than passed through. */
static void json_string_array(FILE *out, const char *stored)
{
	const char *p = stored;
	char *buf;
	int first = 1;

	if (!stored) {
		fputs("null", out);
		return;
	}
	buf = malloc(strlen(stored) + 1);
	while (buf && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (!buf || *p++ != '[')
		goto bad;
	fputc('[', out);
	for (;;) {
		long n;

		while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r')
			p++;
		if (*p == ']')
			break;
		if (*p != '"' || (n = decode_json_string(&p, buf)) < 0) {
			/* Cut at the damage; the line stays valid JSON. */
			fputs("]", out);
			free(buf);
			return;
		}
		fputs(first ? "" : ", ", out);
		text_json_string_n(out, buf, (size_t)n);
		first = 0;
	}
	fputc(']', out);
	free(buf);
	return;
bad:
	free(buf);
	fputs("null", out);
}

/* ---------------------------------------------------------------- ndjson export */

enum export_col {
	X_TRANSPORT,
	X_CLIENT_IP,
	X_CLIENT_PORT,
	X_SERVER_IP,
	X_SERVER_PORT,
	X_SNI,
	X_CH_VERSION,
	X_CH_SSLV2,
	X_CH_VERSIONS,
	X_CH_MAX,
	X_CIPHERS,
	X_ALPN,
	X_VERSION,
	X_CIPHER,
	X_JA3,
	X_JA3S,
	X_FIRST_TS,
	X_LAST_TS,
	X_ALERT_LEVEL,
	X_ALERT_DESC,
	X_ALERT_NAME,
	X_APP,
	X_STATUS,
	X_ERROR,
	X_JA3_STR,
	X_JA3S_STR,
	X_HRR,
	X_FALLBACK,
	X_JA4,
	X_SH_GROUP,
	X_QUIC_VERSION,
	/* not printed here: for the judge (struct tc_pair) and the Community ID */
	X_PROTO,
	X_GROUPS,
	X_KEY_SHARES,
	X_RETRY,
	X_ID,
};

#define EXPORT_COLUMNS                                                                             \
	"SELECT c.transport, c.client_ip, c.client_port, c.server_ip, c.server_port, c.sni, "      \
	"c.ch_version, c.ch_sslv2, c.ch_versions, c.ch_max_version, c.ciphers, c.alpn, "           \
	"c.version, c.cipher, c.ja3, c.ja3s, c.first_ts, c.last_ts, c.alert_level, "               \
	"c.alert_desc, ad.name, c.app_label, c.parse_status, c.parse_error, c.ja3_str, "           \
	"c.ja3s_str, c.hrr, c.fallback_scsv, c.ja4, c.sh_group, c.quic_version, "                  \
	"CASE c.transport WHEN 'tcp' THEN 6 WHEN 'udp' THEN 17 END, c.groups, c.key_shares, "      \
	"(SELECT k.retry FROM inventory_keys k WHERE k.id = c.id), c.id "                          \
	"FROM connections c LEFT JOIN alert_descriptions ad ON ad.value = c.alert_desc "           \
	"WHERE (c.ch_version IS NOT NULL OR c.sh_version IS NOT NULL) "

/* Every connection in a window (?1, ?2: first_ts, both included; ?3: the server port or 0),
 * among the rows its minutes span. */
#define WINDOW_IDS STORE_CONN_IDS("c.id", "?1", "?2")
static const char export_sql[] =
    EXPORT_COLUMNS "AND c.first_ts >= ?1 AND c.first_ts <= ?2 AND (?3 = 0 OR c.server_port = ?3) "
                   "AND" WINDOW_IDS "ORDER BY c.first_ts, c.id";
/* One connection, by row id (the log stream). */
static const char export_one_sql[] = EXPORT_COLUMNS "AND c.id = ?1";

static void export_version(FILE *out, sqlite3_stmt *st, int col)
{
	char buf[TC_VERSION_TEXT_MAX];

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		fputs("null", out);
		return;
	}
	tc_version_text(sqlite3_column_int64(st, col), buf);
	text_json_string(out, buf);
}

/* Versions of supported_versions: GREASE and unknown values come out as "0x7a7a". */
static void export_versions(FILE *out, const char *stored)
{
	unsigned long v;
	char buf[TC_VERSION_TEXT_MAX];
	int first = 1;

	if (!stored) {
		fputs("null", out);
		return;
	}
	fputc('[', out);
	while (next_uint(&stored, &v)) {
		tc_version_text((int64_t)v, buf);
		fprintf(out, "%s\"%s\"", first ? "" : ", ", buf);
		first = 0;
	}
	fputc(']', out);
}

/* FORMAT.md: 4 hex digits, or 6 for every cipher of an SSLv2-format hello (3-byte kinds). */
static void export_ciphers(FILE *out, const char *stored, int sslv2)
{
	unsigned long v;
	int first = 1;

	if (!stored) {
		fputs("null", out);
		return;
	}
	fputc('[', out);
	while (next_uint(&stored, &v)) {
		fprintf(out, sslv2 ? "%s\"0x%06lx\"" : "%s\"0x%04lx\"", first ? "" : ", ", v);
		first = 0;
	}
	fputc(']', out);
}

static void export_alert(FILE *out, sqlite3_stmt *st)
{
	int level;
	char text[64];

	if (sqlite3_column_type(st, X_ALERT_DESC) == SQLITE_NULL) {
		fputs("null", out);
		return;
	}
	level = sqlite3_column_int(st, X_ALERT_LEVEL);
	/* RFC 5246 7.2: 1 warning, 2 fatal; anything else is shown as its number. */
	if (level == 1 || level == 2)
		snprintf(text, sizeof text, "%s:", level == 1 ? "warning" : "fatal");
	else
		snprintf(text, sizeof text, "%d:", level);
	if (sqlite3_column_type(st, X_ALERT_NAME) != SQLITE_NULL)
		snprintf(text + strlen(text), sizeof text - strlen(text), "%s",
		         (const char *)sqlite3_column_text(st, X_ALERT_NAME));
	else
		snprintf(text + strlen(text), sizeof text - strlen(text), "%d",
		         sqlite3_column_int(st, X_ALERT_DESC));
	text_json_string(out, text);
}

static void export_int(FILE *out, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		fputs("null", out);
	else
		fprintf(out, "%lld", (long long)sqlite3_column_int64(st, col));
}

static void export_ts(FILE *out, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		fputs("null", out);
	else
		fprintf(out, "%.6f", sqlite3_column_double(st, col));
}

static void export_cipher(FILE *out, sqlite3_stmt *st)
{
	if (sqlite3_column_type(st, X_CIPHER) == SQLITE_NULL)
		fputs("null", out);
	else
		fprintf(out, "\"0x%04llx\"",
		        (unsigned long long)sqlite3_column_int64(st, X_CIPHER));
}

/* One record, keys in the order of FORMAT.md, then ours; separators as in the expected files,
 * so a line can be diffed against them as text. The object is left open: keys may follow. */
static void export_row(FILE *out, sqlite3_stmt *st)
{
	fputs("{\"transport\": ", out);
	json_column_string(out, st, X_TRANSPORT);
	fputs(", \"client_ip\": ", out);
	json_column_string(out, st, X_CLIENT_IP);
	fputs(", \"client_port\": ", out);
	export_int(out, st, X_CLIENT_PORT);
	fputs(", \"server_ip\": ", out);
	json_column_string(out, st, X_SERVER_IP);
	fputs(", \"server_port\": ", out);
	export_int(out, st, X_SERVER_PORT);
	fputs(", \"sni\": ", out);
	json_column_string(out, st, X_SNI);
	fputs(", \"client_version\": ", out);
	export_version(out, st, X_CH_VERSION);
	fputs(", \"client_versions\": ", out);
	export_versions(out, (const char *)sqlite3_column_text(st, X_CH_VERSIONS));
	fputs(", \"client_max_version\": ", out);
	export_version(out, st, X_CH_MAX);
	fputs(", \"ciphers\": ", out);
	export_ciphers(out, (const char *)sqlite3_column_text(st, X_CIPHERS),
	               sqlite3_column_int(st, X_CH_SSLV2));
	fputs(", \"alpn\": ", out);
	json_string_array(out, (const char *)sqlite3_column_text(st, X_ALPN));
	fputs(", \"version\": ", out);
	export_version(out, st, X_VERSION);
	fputs(", \"cipher\": ", out);
	export_cipher(out, st);
	fputs(", \"ja3\": ", out);
	json_column_string(out, st, X_JA3);
	fputs(", \"ja3s\": ", out);
	json_column_string(out, st, X_JA3S);
	fputs(", \"first_ts\": ", out);
	export_ts(out, st, X_FIRST_TS);
	fputs(", \"last_ts\": ", out);
	export_ts(out, st, X_LAST_TS);
	fputs(", \"alert\": ", out);
	export_alert(out, st);
	fputs(", \"app\": ", out);
	json_column_string(out, st, X_APP);
	fputs(", \"parse_status\": ", out);
	json_column_string(out, st, X_STATUS);
	fputs(", \"parse_error\": ", out);
	json_column_string(out, st, X_ERROR);
	fputs(", \"ja3_str\": ", out);
	json_column_string(out, st, X_JA3_STR);
	fputs(", \"ja3s_str\": ", out);
	json_column_string(out, st, X_JA3S_STR);
	fputs(", \"hrr\": ", out);
	json_column_bool(out, st, X_HRR);
	fputs(", \"fallback_scsv\": ", out);
	json_column_bool(out, st, X_FALLBACK);
	fputs(", \"ja4\": ", out);
	json_column_string(out, st, X_JA4);
	/* Only on QUIC records, after every older key: a TLS or DTLS line keeps the bytes that
	 * 0.2 wrote (tests/migrate_test.py). */
	if (sqlite3_column_type(st, X_QUIC_VERSION) != SQLITE_NULL) {
		char buf[TC_VERSION_TEXT_MAX];

		fputs(", \"quic_version\": ", out);
		text_json_string(out, tc_quic_version_text(
		                          (uint32_t)sqlite3_column_int64(st, X_QUIC_VERSION), buf));
	}
	/* The key_share group a TLS 1.3 server chose, by its IANA name: the last key (after
	 * quic_version when a record has one), and only on records with a value, so every
	 * other record keeps the bytes earlier versions wrote. */
	if (sqlite3_column_type(st, X_SH_GROUP) != SQLITE_NULL) {
		char hex[8];

		fputs(", \"server_group\": ", out);
		text_json_string(out,
		                 group_text((uint16_t)sqlite3_column_int(st, X_SH_GROUP), hex));
	}
}

/* ---------------------------------------------------------------- rows for a caller */

struct store_exporter {
	struct store *s;
	sqlite3_stmt *all, *one;
	FILE *mem; /* the row's JSON text, rewritten for every row */
	char *buf;
	size_t len;
};

/* The stored text; NULL for SQL NULL and, with empty_is_null, for ''. */
static const char *col_text(sqlite3_stmt *st, int col, int empty_is_null)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return !t || (empty_is_null && !*t) ? NULL : t;
}

static int col_int(sqlite3_stmt *st, int col, int none)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? none : sqlite3_column_int(st, col);
}

static enum tc_conn_status status_of(const char *text)
{
	if (!text)
		return TC_CONN_OK;
	for (int i = 0; i < TC_CONN_STATUS_COUNT; i++)
		if (!strcmp(text, tc_conn_status_name((enum tc_conn_status)i)))
			return (enum tc_conn_status)i;
	return TC_CONN_STATUS_COUNT;
}

/* The row under st to fn: 0 to go on, 1 when fn asked to stop, -1 when out of memory. */
static int hand_row(struct store_exporter *x, sqlite3_stmt *st, store_export_fn fn, void *ctx)
{
	uint16_t groups[STORE_PAIR_GROUPS], shares[STORE_PAIR_GROUPS];
	struct store_export_row row = {
	    .pair =
	        {
	            .client_ip = col_text(st, X_CLIENT_IP, 0),
	            .server_ip = col_text(st, X_SERVER_IP, 0),
	            .sni = col_text(st, X_SNI, 1),
	            .ja3 = col_text(st, X_JA3, 1),
	            .ja4 = col_text(st, X_JA4, 1),
	            .server_port = sqlite3_column_int(st, X_SERVER_PORT),
	            .version = col_int(st, X_VERSION, -1),
	            .cipher = col_int(st, X_CIPHER, -1),
	            .ch_max_version = col_int(st, X_CH_MAX, -1),
	            .alert_desc = col_int(st, X_ALERT_DESC, -1),
	            .fallback_scsv = col_int(st, X_FALLBACK, 0),
	            .retry = col_int(st, X_RETRY, 0),
	            .parse_status = status_of(col_text(st, X_STATUS, 0)),
	            .groups = groups,
	            .key_shares = shares,
	            .server_group = col_int(st, X_SH_GROUP, -1),
	            .hrr = col_int(st, X_HRR, 0),
	            .kx_known = 1,
	            .connections = 1,
	            .first_seen = sqlite3_column_double(st, X_FIRST_TS),
	            .last_seen = sqlite3_column_double(st, X_FIRST_TS),
	        },
	    .proto = col_int(st, X_PROTO, 0),
	    .client_port = sqlite3_column_int(st, X_CLIENT_PORT),
	    .id = sqlite3_column_int64(st, X_ID),
	};

	if (!row.pair.client_ip || !row.pair.server_ip)
		return -1; /* NOT NULL columns: SQLite ran out of memory */
	row.pair.n_groups =
	    store_parse_groups(col_text(st, X_GROUPS, 1), groups, STORE_PAIR_GROUPS);
	row.pair.n_key_shares =
	    store_parse_groups(col_text(st, X_KEY_SHARES, 1), shares, STORE_PAIR_GROUPS);
	rewind(x->mem);
	export_row(x->mem, st);
	if (fflush(x->mem) != 0 || ferror(x->mem))
		return -1;
	row.json = x->buf;
	row.json_len = (size_t)ftell(x->mem);
	return fn(ctx, &row) ? 1 : 0;
}

struct store_exporter *store_exporter_new(struct store *s)
{
	struct store_exporter *x = calloc(1, sizeof *x);

	if (!x)
		return NULL;
	x->s = s;
	x->mem = open_memstream(&x->buf, &x->len);
	if (x->mem && sqlite3_prepare_v2(store_db(s), export_sql, -1, &x->all, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(store_db(s), export_one_sql, -1, &x->one, NULL) == SQLITE_OK)
		return x;
	query_failed(s, "cannot prepare the export");
	store_exporter_free(x);
	return NULL;
}

void store_exporter_free(struct store_exporter *x)
{
	if (!x)
		return;
	sqlite3_finalize(x->all);
	sqlite3_finalize(x->one);
	if (x->mem)
		fclose(x->mem);
	free(x->buf);
	free(x);
}

/* Steps st to its end, each row within f to fn. 0, 1 when fn stopped, -1 on an error. */
static int walk(struct store_exporter *x, sqlite3_stmt *st, const struct filter *f,
                store_export_fn fn, void *ctx)
{
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (f && !filter_match(f, col_text(st, X_CLIENT_IP, 0),
		                       col_text(st, X_SERVER_IP, 0), col_text(st, X_SNI, 1)))
			continue;
		stop = hand_row(x, st, fn, ctx);
	}
	sqlite3_reset(st);
	if (stop < 0) {
		fprintf(stderr, "tlscensus: database '%s': out of memory exporting\n",
		        store_path(x->s));
		return -1;
	}
	if (stop)
		return 1;
	if (rc != SQLITE_DONE) {
		query_failed(x->s, "export failed");
		return -1;
	}
	return 0;
}

int store_export_each(struct store_exporter *x, const struct filter *f, store_export_fn fn,
                      void *ctx)
{
	if (store_flush(x->s))
		return -1;
	sqlite3_bind_double(x->all, 1, f && f->since > 0 ? f->since : -1e300);
	sqlite3_bind_double(x->all, 2, f && f->until > 0 ? f->until : 1e300);
	sqlite3_bind_int(x->all, 3, f ? f->port : 0);
	return walk(x, x->all, f, fn, ctx);
}

int store_export_id(struct store_exporter *x, int64_t id, store_export_fn fn, void *ctx)
{
	sqlite3_bind_int64(x->one, 1, id);
	return walk(x, x->one, NULL, fn, ctx);
}

/* ---------------------------------------------------------------- ndjson export */

static int print_plain(void *ctx, const struct store_export_row *row)
{
	fwrite(row->json, 1, row->json_len, ctx);
	fputs("}\n", ctx);
	return 0;
}

int store_export_ndjson(struct store *s, FILE *out)
{
	struct store_exporter *x = store_exporter_new(s);
	int rc = x ? store_export_each(x, NULL, print_plain, out) : -1;

	store_exporter_free(x);
	if (rc)
		return -1;
	return finish_output(s, out);
}
