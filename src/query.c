/*
 * query.c: the SQLite room's read side. Answers the front end with the legacy TLS report (table,
 * CSV, JSON) and the ndjson export of FORMAT.md. It never writes to the database, and every text
 * that came from the wire is made inert again before it is printed.
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

#include "legacy.h"
#include "store.h"
#include "tlscensus/hello.h"

/* Table cells longer than this are cut (CSV and JSON keep them whole): a 255-byte hostile SNI
 * written as \xHH escapes would otherwise push every other row off the screen. */
#define TABLE_SNI_MAX    40
#define TABLE_CIPHER_MAX 40

/* ---------------------------------------------------------------- output helpers */

static void version_text(int64_t v, char buf[8])
{
	const char *name = tc_version_name((uint16_t)v);

	if (name && v >= 0 && v <= 0xffff)
		snprintf(buf, 8, "%s", name);
	else
		snprintf(buf, 8, "0x%04x", (unsigned)(v & 0xffff));
}

/* Writes a JSON string (RFC 8259). The text goes through store_inert_text first, so what is
 * left to escape is only '"' and '\': no control character, no invalid UTF-8 remains. */
static void json_string_n(FILE *out, const char *text, size_t len)
{
	char *clean = store_inert_text(text, len, 0);
	const char *p = clean ? clean : "";

	fputc('"', out);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
	fputc('"', out);
	free(clean);
}

static void json_string(FILE *out, const char *text)
{
	if (text)
		json_string_n(out, text, strlen(text));
	else
		fputs("null", out);
}

static void json_column_string(FILE *out, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		fputs("null", out);
	else
		json_string_n(out, (const char *)sqlite3_column_text(st, col),
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
		json_string_n(out, buf, (size_t)n);
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
};

static const char export_sql[] =
    "SELECT c.transport, c.client_ip, c.client_port, c.server_ip, c.server_port, c.sni, "
    "c.ch_version, c.ch_sslv2, c.ch_versions, c.ch_max_version, c.ciphers, c.alpn, "
    "c.version, c.cipher, c.ja3, c.ja3s, c.first_ts, c.last_ts, c.alert_level, "
    "c.alert_desc, ad.name, c.app_label, c.parse_status, c.parse_error, c.ja3_str, "
    "c.ja3s_str, c.hrr, c.fallback_scsv, c.ja4 "
    "FROM connections c LEFT JOIN alert_descriptions ad ON ad.value = c.alert_desc "
    "WHERE c.ch_version IS NOT NULL OR c.sh_version IS NOT NULL "
    "ORDER BY c.first_ts, c.id";

static void export_version(FILE *out, sqlite3_stmt *st, int col)
{
	char buf[8];

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		fputs("null", out);
		return;
	}
	version_text(sqlite3_column_int64(st, col), buf);
	json_string(out, buf);
}

/* Versions of supported_versions: GREASE and unknown values come out as "0x7a7a". */
static void export_versions(FILE *out, const char *stored)
{
	unsigned long v;
	char buf[8];
	int first = 1;

	if (!stored) {
		fputs("null", out);
		return;
	}
	fputc('[', out);
	while (next_uint(&stored, &v)) {
		version_text((int64_t)v, buf);
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
	json_string(out, text);
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
 * so a line can be diffed against them as text. */
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
	fputs("}\n", out);
}

int store_export_ndjson(struct store *s, FILE *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (store_flush(s))
		return -1;
	rc = sqlite3_prepare_v2(store_db(s), export_sql, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		export_row(out, st);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		query_failed(s, "export failed");
		return -1;
	}
	return finish_output(s, out);
}

/* ---------------------------------------------------------------- legacy report */

struct legacy_row {
	char *client_ip, *server_ip, *sni, *version, *cipher, *client_max, *first, *last, *reason;
	int64_t server_port, count;
	int negotiated;
	unsigned char client_key[17], server_key[17]; /* family, address: numeric IP order */
	size_t seq;                                   /* SQL order, the tie-break */
};

struct legacy_rows {
	struct legacy_row *v;
	size_t n, cap;
};

/* The inventory, not the connection rows: it survives --retain pruning and stays small, so the
 * answer comes in milliseconds on months of capture. */
static const char legacy_sql[] =
    "SELECT client_ip, server_ip, server_port, nullif(sni, ''), effective_version, negotiated, "
    "nullif(cipher, -1), cipher_name, nullif(ch_max_version, -1), sum(connections), "
    "strftime('%Y-%m-%dT%H:%M:%SZ', min(first_seen), 'unixepoch'), "
    "strftime('%Y-%m-%dT%H:%M:%SZ', max(last_seen), 'unixepoch'), reason "
    "FROM legacy_inventory "
    "GROUP BY client_ip, server_ip, server_port, sni, effective_version, negotiated, cipher, "
    "ch_max_version, reason "
    "ORDER BY client_ip, server_ip, server_port, sni, effective_version";

static void ip_key(const char *ip, unsigned char key[17])
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(key, 0xff, 17);
	if (!ip)
		return;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		memset(key, 0, 17);
		key[0] = 4;
		memcpy(key + 1, &a4, 4);
	} else if (inet_pton(AF_INET6, ip, &a6) == 1) {
		key[0] = 6;
		memcpy(key + 1, &a6, 16);
	}
}

static int legacy_cmp(const void *a, const void *b)
{
	const struct legacy_row *x = a, *y = b;
	int c = memcmp(x->client_key, y->client_key, 17);

	if (!c)
		c = memcmp(x->server_key, y->server_key, 17);
	if (!c)
		c = (x->server_port > y->server_port) - (x->server_port < y->server_port);
	if (!c)
		c = (x->seq > y->seq) - (x->seq < y->seq);
	return c;
}

static char *column_dup(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return t ? strdup(t) : NULL;
}

static void free_rows(struct legacy_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		struct legacy_row *r = &rows->v[i];

		free(r->client_ip), free(r->server_ip), free(r->sni), free(r->version);
		free(r->cipher), free(r->client_max), free(r->first), free(r->last);
		free(r->reason);
	}
	free(rows->v);
}

static int read_row(sqlite3_stmt *st, struct legacy_row *r)
{
	char v[8], text[32];

	memset(r, 0, sizeof *r);
	r->client_ip = column_dup(st, 0);
	r->server_ip = column_dup(st, 1);
	r->server_port = sqlite3_column_int64(st, 2);
	r->sni = column_dup(st, 3);
	r->negotiated = sqlite3_column_int(st, 5);
	version_text(sqlite3_column_int64(st, 4), v);
	snprintf(text, sizeof text, "%s%s", v, r->negotiated ? "" : " (offered)");
	r->version = strdup(text);
	if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
		r->cipher = column_dup(st, 7);
	} else if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
		snprintf(text, sizeof text, "0x%04llx",
		         (unsigned long long)sqlite3_column_int64(st, 6));
		r->cipher = strdup(text);
	}
	if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
		version_text(sqlite3_column_int64(st, 8), v);
		r->client_max = strdup(v);
	}
	r->count = sqlite3_column_int64(st, 9);
	r->first = column_dup(st, 10);
	r->last = column_dup(st, 11);
	r->reason = column_dup(st, 12);
	ip_key(r->client_ip, r->client_key);
	ip_key(r->server_ip, r->server_key);
	return r->client_ip && r->server_ip && r->version && r->first && r->last && r->reason ? 0
	                                                                                      : -1;
}

static int load_legacy(struct store *s, struct legacy_rows *rows)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store_db(s), legacy_sql, -1, &st, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows->n == rows->cap) {
			size_t cap = rows->cap ? rows->cap * 2 : 64;
			struct legacy_row *v = realloc(rows->v, cap * sizeof *v);

			if (!v) {
				rc = SQLITE_NOMEM;
				break;
			}
			rows->v = v;
			rows->cap = cap;
		}
		rc = read_row(st, &rows->v[rows->n]) ? SQLITE_NOMEM : SQLITE_OK;
		rows->v[rows->n].seq = rows->n;
		rows->n++;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_NOMEM) {
		fprintf(stderr, "tlscensus: database '%s': out of memory reading the report\n",
		        store_path(s));
		return -1;
	}
	if (rc != SQLITE_DONE) {
		query_failed(s, "legacy query failed");
		return -1;
	}
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof *rows->v, legacy_cmp);
	return 0;
}

/* --- table */

/*
 * One line per entry, columns in the order below, when the output is a file or a pipe (so grep
 * and wc see one entry per line) or when it fits the terminal. Ten fields rarely fit a terminal
 * of 80 to 120 columns (the timestamps, cipher name and reason alone take about 110), so on a
 * narrower terminal each entry takes two lines, as ls switches layouts: where and when on the
 * first, what was wrong on the second, indented past the client column. Each line kind then has
 * its own header line.
 */
enum {
	T_CLIENT,
	T_SERVER,
	T_SNI,
	T_VERSION,
	T_CIPHER,
	T_MAX,
	T_CONNS,
	T_FIRST,
	T_LAST,
	T_REASON,
	T_COLS
};

static const int table_wide[] = {T_CLIENT, T_SERVER, T_SNI,   T_VERSION, T_CIPHER,
                                 T_MAX,    T_CONNS,  T_FIRST, T_LAST,    T_REASON};
static const int table_line1[] = {T_CLIENT, T_SERVER, T_SNI, T_CONNS, T_FIRST, T_LAST};
static const int table_line2[] = {T_VERSION, T_CIPHER, T_MAX, T_REASON};

#define TABLE_N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const table_head[T_COLS] = {
    "CLIENT",     "SERVER", "SNI",        "VERSION",   "CIPHER",
    "CLIENT MAX", "CONNS",  "FIRST SEEN", "LAST SEEN", "REASON",
};

/* Terminal columns taken by UTF-8 text (one per code point; inert text has no controls). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Cuts s to max columns, ending in "..." when cut, on a code point boundary. */
static void cut_text(char *s, size_t max)
{
	size_t w = 0, i = 0;

	if (text_width(s) <= max)
		return;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (w == max - 3)
			break;
		w++;
	}
	memcpy(s + i, "...", 4);
}

/* Fills the row's cells, each inert and malloc'd; "-" stands for none. */
static int table_cells(const struct legacy_row *r, char *cell[T_COLS])
{
	char server[80], conns[24];
	const char *src[T_COLS];
	int v6 = r->server_ip && strchr(r->server_ip, ':');

	snprintf(server, sizeof server, v6 ? "[%s]:%lld" : "%s:%lld", r->server_ip,
	         (long long)r->server_port);
	snprintf(conns, sizeof conns, "%lld", (long long)r->count);
	src[T_CLIENT] = r->client_ip;
	src[T_SERVER] = server;
	src[T_SNI] = r->sni;
	src[T_VERSION] = r->version;
	src[T_CIPHER] = r->cipher;
	src[T_MAX] = r->client_max;
	src[T_CONNS] = conns;
	src[T_FIRST] = r->first;
	src[T_LAST] = r->last;
	src[T_REASON] = r->reason;
	for (int i = 0; i < T_COLS; i++) {
		const char *t = src[i] && *src[i] ? src[i] : "-";

		cell[i] = store_inert_text(t, strlen(t), 0);
		if (!cell[i])
			return -1;
	}
	cut_text(cell[T_SNI], TABLE_SNI_MAX);
	cut_text(cell[T_CIPHER], TABLE_CIPHER_MAX);
	return 0;
}

static void table_line(FILE *out, const char *const cell[T_COLS], const size_t width[T_COLS],
                       const int *cols, size_t ncols, size_t indent)
{
	fprintf(out, "%*s", (int)indent, "");
	for (size_t k = 0; k < ncols; k++) {
		int i = cols[k];
		size_t pad = width[i] - text_width(cell[i]);

		if (k)
			fputs("  ", out);
		if (i == T_CONNS)
			fprintf(out, "%*s%s", (int)pad, "", cell[i]);
		else if (k == ncols - 1)
			fputs(cell[i], out); /* no trailing blanks */
		else
			fprintf(out, "%s%*s", cell[i], (int)pad, "");
	}
	fputc('\n', out);
}

/* Columns of the terminal out writes to; 0 when it is not a terminal (no limit). */
static size_t terminal_columns(FILE *out)
{
	struct winsize ws;
	int fd = fileno(out);

	if (fd < 0 || !isatty(fd))
		return 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static size_t line_width(const size_t width[T_COLS], const int *cols, size_t ncols)
{
	size_t w = 0;

	for (size_t k = 0; k < ncols; k++)
		w += width[cols[k]] + (k ? 2 : 0);
	return w;
}

static void table_entry(FILE *out, const char *const cell[T_COLS], const size_t width[T_COLS],
                        int wide)
{
	if (wide) {
		table_line(out, cell, width, table_wide, TABLE_N(table_wide), 0);
		return;
	}
	table_line(out, cell, width, table_line1, TABLE_N(table_line1), 0);
	table_line(out, cell, width, table_line2, TABLE_N(table_line2), width[T_CLIENT] + 2);
}

static int print_table(struct store *s, const struct legacy_rows *rows, FILE *out)
{
	char *(*cells)[T_COLS] = calloc(rows->n ? rows->n : 1, sizeof *cells);
	size_t width[T_COLS];
	int rc = 0;

	if (!cells)
		goto oom;
	for (int i = 0; i < T_COLS; i++)
		width[i] = strlen(table_head[i]);
	for (size_t r = 0; r < rows->n; r++) {
		if (table_cells(&rows->v[r], cells[r])) {
			rc = -1;
			break;
		}
		for (int i = 0; i < T_COLS; i++)
			if (text_width(cells[r][i]) > width[i])
				width[i] = text_width(cells[r][i]);
	}
	if (rc == 0) {
		size_t limit = terminal_columns(out);
		int wide = !limit || line_width(width, table_wide, TABLE_N(table_wide)) <= limit;

		table_entry(out, table_head, width, wide);
		for (size_t r = 0; r < rows->n; r++)
			table_entry(out, (const char *const *)cells[r], width, wide);
	}
	for (size_t r = 0; r < rows->n; r++)
		for (int i = 0; i < T_COLS; i++)
			free(cells[r][i]);
	free(cells);
	if (rc == 0)
		return 0;
oom:
	fprintf(stderr, "tlscensus: database '%s': out of memory formatting the report\n",
	        store_path(s));
	return -1;
}

/* --- CSV (RFC 4180) */

/* Every text cell is quoted. A cell a spreadsheet would run as a formula (leading = + - @, tab,
 * CR) gets a leading apostrophe, the usual CSV-injection guard; numbers are written bare. */
static void csv_text(FILE *out, const char *t)
{
	char *clean;

	if (!t)
		return;
	clean = store_inert_text(t, strlen(t), 0);
	fputc('"', out);
	if (clean && clean[0] && strchr("=+-@\t\r", clean[0]))
		fputc('\'', out);
	for (const char *p = clean ? clean : ""; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
	free(clean);
}

static void print_csv(const struct legacy_rows *rows, FILE *out)
{
	fputs("client_ip,server_ip,server_port,sni,version,cipher,client_max_version,"
	      "connections,first_seen,last_seen,reason\r\n",
	      out);
	for (size_t i = 0; i < rows->n; i++) {
		const struct legacy_row *r = &rows->v[i];

		csv_text(out, r->client_ip);
		fputc(',', out);
		csv_text(out, r->server_ip);
		fprintf(out, ",%lld,", (long long)r->server_port);
		csv_text(out, r->sni);
		fputc(',', out);
		csv_text(out, r->version);
		fputc(',', out);
		csv_text(out, r->cipher);
		fputc(',', out);
		csv_text(out, r->client_max);
		fprintf(out, ",%lld,", (long long)r->count);
		csv_text(out, r->first);
		fputc(',', out);
		csv_text(out, r->last);
		fputc(',', out);
		csv_text(out, r->reason);
		fputs("\r\n", out);
	}
}

/* --- JSON */

static void print_json(const struct legacy_rows *rows, FILE *out)
{
	fputs(rows->n ? "[\n" : "[", out);
	for (size_t i = 0; i < rows->n; i++) {
		const struct legacy_row *r = &rows->v[i];

		fputs("  {\"client_ip\": ", out);
		json_string(out, r->client_ip);
		fputs(", \"server_ip\": ", out);
		json_string(out, r->server_ip);
		fprintf(out, ", \"server_port\": %lld, \"sni\": ", (long long)r->server_port);
		json_string(out, r->sni);
		fputs(", \"version\": ", out);
		json_string(out, r->version);
		fprintf(out,
		        ", \"negotiated\": %s, \"cipher\": ", r->negotiated ? "true" : "false");
		json_string(out, r->cipher);
		fputs(", \"client_max_version\": ", out);
		json_string(out, r->client_max);
		fprintf(out, ", \"connections\": %lld, \"first_seen\": ", (long long)r->count);
		json_string(out, r->first);
		fputs(", \"last_seen\": ", out);
		json_string(out, r->last);
		fputs(", \"reason\": ", out);
		json_string(out, r->reason);
		fputs(i + 1 < rows->n ? "},\n" : "}\n", out);
	}
	fputs("]\n", out);
}

int store_query_legacy(struct store *s, enum legacy_format fmt, FILE *out)
{
	struct legacy_rows rows = {0};
	int rc = 0;

	if (store_flush(s) || load_legacy(s, &rows)) {
		free_rows(&rows);
		return -1;
	}
	if (fmt == LEGACY_CSV) {
		print_csv(&rows, out);
	} else if (fmt == LEGACY_JSON) {
		print_json(&rows, out);
	} else if (rows.n) {
		rc = print_table(s, &rows, out);
	} else {
		sqlite3_stmt *st = NULL;
		long long total = -1;

		if (sqlite3_prepare_v2(store_db(s), "SELECT count(*) FROM connections", -1, &st,
		                       NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		fprintf(out, "no legacy TLS connections found in %s (%lld connections recorded)\n",
		        store_path(s), total);
	}
	free_rows(&rows);
	return rc ? rc : finish_output(s, out);
}

/* ---------------------------------------------------------------- shared with legacy.c */

/* The printers' inert-text helpers, for the legacy room's printers (declared in legacy.h):
 * one implementation of the escaping, whoever prints. */
void query_json_string(FILE *out, const char *text)
{
	json_string(out, text);
}

void query_csv_text(FILE *out, const char *text)
{
	csv_text(out, text);
}

size_t query_text_width(const char *s)
{
	return text_width(s);
}

void query_cut_text(char *s, size_t max)
{
	cut_text(s, max);
}

size_t query_terminal_columns(FILE *out)
{
	return terminal_columns(out);
}
