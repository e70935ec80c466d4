/*
 * test_report_read.c: the store's side of the report against a temporary database: the reports
 * table in the schema, remembering a report and finding it again by policy and scope, a
 * database made before the table joined version 1, and the figures of an empty window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "report_read.h"
#include "store.h"
#include "tc_test.h"

static char dir[] = "/tmp/tc_test_report_readXXXXXX";
static char db_path[256];

static struct store *open_store(enum store_mode mode)
{
	char err[512];
	struct store *s = store_open(db_path, mode, err, sizeof err);

	if (!s)
		fprintf(stderr, "open: %s\n", err);
	return s;
}

static int reports_table(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int found;

	sqlite3_prepare_v2(store_db(s), "SELECT 1 FROM sqlite_master WHERE name = 'reports'", -1,
	                   &st, NULL);
	found = st && sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* Two reports of one series and one of another: the latest of each series comes back. */
static void check_save_and_find(struct store *s)
{
	const char *clients[] = {"10.0.0.1", "fd00::\"2"};
	struct store_report_row row = {
	    .generated = 1704499200,
	    .until = 1704153600,
	    .policy = "default",
	    .scope = "",
	    .format = "csv",
	    .clients = clients,
	    .nclients = 2,
	};
	struct store_report_prev p;
	char err[512] = "";

	CHECK_EQ(store_report_save(s, &row, err, sizeof err), 0);
	row.since = 1704153600;
	row.until = 1704240000;
	row.path = "/srv/reports/r.html";
	row.format = "html";
	row.nclients = 1;
	CHECK_EQ(store_report_save(s, &row, err, sizeof err), 0);
	row.scope = "client=10.0.0.0/8";
	row.nclients = 0;
	CHECK_EQ(store_report_save(s, &row, err, sizeof err), 0);

	CHECK_EQ(store_report_previous(s, "default", "", &p), 1);
	CHECK(p.generated == 1704499200 && p.since == 1704153600 && p.until == 1704240000);
	CHECK(p.path && !strcmp(p.path, "/srv/reports/r.html"));
	CHECK_EQ(p.nclients, 1);
	CHECK(p.nclients == 1 && !strcmp(p.clients[0], "10.0.0.1"));
	store_report_prev_free(&p);

	CHECK_EQ(store_report_previous(s, "default", "client=10.0.0.0/8", &p), 1);
	CHECK_EQ(p.nclients, 0);
	store_report_prev_free(&p);
	CHECK_EQ(store_report_previous(s, "entra", "", &p), 0);
	CHECK(!p.path && !p.clients);
	store_report_prev_free(&p);
}

/* The first report of a series: an open window (since NULL), standard output (path NULL), and
 * an address that needs JSON escaping. */
static void check_first(struct store *s)
{
	const char *clients[] = {"fd00::\"2", "10.0.0.1"};
	const struct store_report_row row = {
	    .generated = 1,
	    .until = 2,
	    .policy = "tls12",
	    .scope = "",
	    .format = "md",
	    .clients = clients,
	    .nclients = 2,
	};
	struct store_report_prev p;
	char err[512] = "";

	CHECK_EQ(store_report_save(s, &row, err, sizeof err), 0);
	CHECK_EQ(store_report_previous(s, "tls12", "", &p), 1);
	CHECK(p.since == 0 && p.until == 2 && !p.path);
	CHECK(p.nclients == 2 && !strcmp(p.clients[0], "fd00::\"2") &&
	      !strcmp(p.clients[1], "10.0.0.1"));
	store_report_prev_free(&p);
}

static void check_empty_window(struct store *s)
{
	const struct store_scope sc = {.since = 0, .until = 1e10, .port = 443};
	struct store_totals t;
	struct store_count *c = NULL;
	struct store_trend_count *tr = NULL;
	struct store_coverage cov;
	size_t n = 1;

	CHECK_EQ(store_report_totals(s, &sc, &t), 0);
	CHECK(t.connections == 0 && t.clients == 0 && t.first == 0);
	CHECK_EQ(store_report_versions(s, &sc, &c, &n), 0);
	CHECK_EQ(n, 0);
	free(c);
	CHECK_EQ(store_report_trend(s, &sc, 0, 86400, &tr, &n), 0);
	CHECK_EQ(n, 0);
	free(tr);
	CHECK_EQ(store_report_coverage(s, 0, 1e10, 1e10, &cov), 0);
	CHECK(cov.runs == 0 && cov.oldest_row == 0);
}

int main(void)
{
	struct store *s;
	struct store_report_prev p;

	if (!mkdtemp(dir))
		return 1;
	snprintf(db_path, sizeof db_path, "%s/report.db", dir);

	/* A new database has the table; a read-only store writes through a handle of its own. */
	s = open_store(STORE_READ_WRITE);
	CHECK(s && reports_table(s));
	store_close(s);
	s = open_store(STORE_READ_ONLY);
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ(store_report_previous(s, "default", "", &p), 0);
		store_report_prev_free(&p);
		check_save_and_find(s);
		check_first(s);
		check_empty_window(s);
		store_close(s);
	}

	/* A database whose reports table was dropped by hand (schema v2 always creates it): no
	 * previous report, and a save fails with the reason. */
	s = open_store(STORE_READ_WRITE);
	CHECK(s && sqlite3_exec(store_db(s), "DROP TABLE reports", NULL, NULL, NULL) == SQLITE_OK);
	store_close(s);
	s = open_store(STORE_READ_ONLY);
	CHECK(s != NULL);
	if (s) {
		const struct store_report_row row = {
		    .generated = 1, .until = 2, .policy = "tls12", .scope = "", .format = "md"};
		char err[512] = "";

		CHECK(!reports_table(s));
		CHECK_EQ(store_report_previous(s, "default", "", &p), 0);
		store_report_prev_free(&p);
		CHECK_EQ(store_report_save(s, &row, err, sizeof err), -1);
		CHECK(strstr(err, "reports") != NULL);
		store_close(s);
	}

	for (size_t i = 0; i < 3; i++) {
		static const char *const ext[] = {"", "-wal", "-shm"};
		char path[300];

		snprintf(path, sizeof path, "%s%s", db_path, ext[i]);
		unlink(path);
	}
	rmdir(dir);
	TEST_DONE("report_read");
}
