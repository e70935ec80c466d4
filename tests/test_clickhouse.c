/*
 * test_clickhouse.c: the fleet's text handling without a server: TabSeparated values written
 * and read back (every byte a stored text may hold, \N text against NULL), rows split at tabs
 * and newlines only, SQL literals quoted, URLs and credentials checked before any request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"
#include "ship.h"

static int failures, checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* Values written as one row, read back field by field. */
static void round_trip(void)
{
	static const char *const values[] = {
	    "plain",
	    "",
	    "tab\there",
	    "new\nline",
	    "back\\slash",
	    "\\N",
	    "quote'd \"x\"",
	    "cr\rff\fbs\b",
	    "<script>\\x1b[31m\\xff\\xfe.ab",
	    "=cmd|' /C calc'!A0",
	    NULL,
	    "end",
	};
	const size_t n = sizeof values / sizeof values[0];
	struct sbuf b = {0};
	char *f[32];

	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_putc(&b, '\t');
		ch_tsv_put(&b, values[i], values[i] ? strlen(values[i]) : 0);
	}
	sb_putc(&b, '\n');
	sb_put(&b, "second\t\\N\n", 10);
	CHECK(!b.failed);
	CHECK(!memchr(b.p, '\r', b.len));
	struct ch_rows rows = {b.p, b.p + b.len};
	CHECK(ch_rows_next(&rows, f, 32) == n);
	for (size_t i = 0; i < n; i++) {
		if (!values[i])
			CHECK(f[i] == NULL);
		else
			CHECK(f[i] && !strcmp(f[i], values[i]));
	}
	CHECK(ch_rows_next(&rows, f, 32) == 2);
	CHECK(!strcmp(f[0], "second") && f[1] == NULL);
	CHECK(ch_rows_next(&rows, f, 32) == 0);
	free(b.p);

	/* a last line without its newline is a row too; max bounds the fields */
	char text[] = "a\tb\tc";
	rows = (struct ch_rows){text, text + strlen(text)};
	CHECK(ch_rows_next(&rows, f, 2) == 2 && !strcmp(f[0], "a") && !strcmp(f[1], "b"));
	CHECK(ch_rows_next(&rows, f, 2) == 0);
}

static void quoting(void)
{
	struct sbuf b = {0};

	ch_quote(&b, "it's a \\ test");
	CHECK(b.p && !strcmp(b.p, "'it\\'s a \\\\ test'"));
	sb_reset(&b);
	ch_sqlf(&b, "%s-%d-%0600d", "x", 7, 1); /* longer than the first try's buffer */
	CHECK(b.p && b.len == 604 && !strncmp(b.p, "x-7-000", 7) && b.p[603] == '1');
	free(b.p);
}

static void opening(void)
{
	char err[512];
	struct ch *c;

	c = ch_open(&(struct ch_config){.url = "http://u:p@127.0.0.1:8123"}, err, sizeof err);
	CHECK(!c && strstr(err, "--credentials"));
	c = ch_open(&(struct ch_config){.url = "ftp://127.0.0.1"}, err, sizeof err);
	CHECK(!c && strstr(err, "http://"));
	c = ch_open(&(struct ch_config){.url = "http://127.0.0.1:8123", .database = "a;DROP"}, err,
	            sizeof err);
	CHECK(!c && strstr(err, "database name"));
	c = ch_open(&(struct ch_config){.url = "http://127.0.0.1:8123/?x=1"}, err, sizeof err);
	CHECK(!c);
	c = ch_open(&(struct ch_config){.url = "http://h:8123", .credentials = "/nonexistent/cred"},
	            err, sizeof err);
	CHECK(!c && strstr(err, "/nonexistent/cred"));
	c = ch_open(&(struct ch_config){.url = "https://h:8443/"}, err, sizeof err);
	CHECK(c && !strcmp(ch_url(c), "https://h:8443") && !strcmp(ch_database(c), "tlscensus"));
	ch_close(c);

	CHECK(ship_sensor_valid("dc1-edge.example:2"));
	CHECK(!ship_sensor_valid(""));
	CHECK(!ship_sensor_valid("a'b"));
	CHECK(!ship_sensor_valid("with space"));
}

int main(void)
{
	ch_global_init();
	round_trip();
	quoting();
	opening();
	printf("clickhouse: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
