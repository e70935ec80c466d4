/*
 * clickhouse.h: one ClickHouse server over its HTTP interface (libcurl): queries in, TSV out.
 * The URL names the server (http:// or https://, verified by libcurl's defaults); the user and
 * password come from a file or the environment, never from the command line. Nothing here
 * knows the census's tables: ship.c and ch_read.c write the SQL.
 */
#ifndef TLSCENSUS_FLEET_CLICKHOUSE_H
#define TLSCENSUS_FLEET_CLICKHOUSE_H

#include <stddef.h>

#include "text.h"

#define CH_DEFAULT_DATABASE "tlscensus"

struct ch_config {
	const char *url;         /* http://HOST:8123 or https://HOST:8443 */
	const char *database;    /* NULL: tlscensus */
	const char *credentials; /* file with user:password; NULL: the environment */
	const char *cacert;      /* CA bundle for https; NULL: the system's */
	long timeout_s;          /* a whole request; 0: 300 */
};

struct ch;

/* Call once, before any thread starts (libcurl's global state). */
void ch_global_init(void);

/* NULL with the reason in err: a URL that is not http(s), credentials in the URL, a database
 * name that is not [A-Za-z0-9_], an unreadable credentials file. No request is made yet. */
struct ch *ch_open(const struct ch_config *cfg, char *err, size_t errlen);
void ch_close(struct ch *c);

/* The server as messages name it (the URL without credentials), and the database. */
const char *ch_url(const struct ch *c);
const char *ch_database(const struct ch *c);

/*
 * Runs sql. With data (len bytes), sql is the head of an INSERT and data its rows (the HTTP
 * interface's "query in the URL, data in the body"); else sql is the body. The answer, for a
 * SELECT, is appended to out (may be NULL). 0, or -1 with the reason in err: the server's own
 * message for a refused query, curl's for a server that cannot be reached.
 */
int ch_query(struct ch *c, const char *sql, const char *data, size_t len, struct sbuf *out,
             char *err, size_t errlen);

/* TabSeparated: one value written escaped (\\, \t, \n, ...), or \N for NULL (text NULL). */
void ch_tsv_put(struct sbuf *b, const char *text, size_t len);

/*
 * Walks TabSeparated rows in place: each call gives the next row's fields (unescaped, NUL
 * terminated; NULL for \N) and returns their number, 0 at the end. The buffer is modified.
 */
struct ch_rows {
	char *p, *end;
};
size_t ch_rows_next(struct ch_rows *r, char **fields, size_t max);

/* A string literal for SQL, quoted and escaped, appended to b. */
void ch_quote(struct sbuf *b, const char *text);

/* printf into b. */
void ch_sqlf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
