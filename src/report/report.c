/*
 * report.c: the report room. For one time window it gathers the legacy room's answer
 * (legacy_collect), the traffic mix, a per-day trend, the change since the previous report and
 * what the census could not see, then writes it as HTML (one self-contained page), Markdown or
 * CSV. It reads the store read-only; its one write is a row of the reports table, on a
 * connection of its own. Every text that did not come from a literal here goes through put_text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ciphers.h"
#include "legacy.h"
#include "report.h"
#include "store.h"
#include "text.h"
#include "util.h"
#include "version.h"
#include "tlscensus/hello.h"

#ifndef TC_VERSION
#define TC_VERSION "unknown"
#endif

#define DAY            86400
#define CHART_MAX_BARS 186  /* more days than this are drawn as weeks, then as 30-day spans */
#define REPORT_BUSY_MS 5000 /* a capture commits at least every second (store.c) */

/*
 * The reports table lives beside the census data but belongs to this room: it is created on
 * the first report rather than in store.c's schema_v1, because schema_v1 only runs when a
 * database is created or migrated, so every database that is already at version 1 would
 * never get it; and because the report is its only reader and writer. It holds no census data:
 * dropping it only makes the next report's "changes" section start again.
 */
static const char reports_schema[] =
    "CREATE TABLE IF NOT EXISTS reports (\n"
    "  id             INTEGER PRIMARY KEY,\n"
    "  generated_at   REAL NOT NULL,  -- unix seconds\n"
    "  since          REAL,           -- window start, unix seconds; NULL: from the first record\n"
    "  until          REAL NOT NULL,  -- window end (included); --since last starts here\n"
    "  policy         TEXT NOT NULL,  -- name of the policy applied\n"
    "  scope          TEXT NOT NULL,  -- filters (--client, --server, --sni, --port); '' for all\n"
    "  format         TEXT NOT NULL,  -- html, md or csv\n"
    "  path           TEXT,           -- file written; NULL for standard output\n"
    "  legacy_clients TEXT NOT NULL   -- JSON array of the client IPs listed as legacy\n"
    ")";

/* ---------------------------------------------------------------- small containers */

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_add(struct strv *sv, const char *s)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		char **v = realloc(sv->v, cap * sizeof *v);

		if (!v)
			return -1;
		sv->v = v;
		sv->cap = cap;
	}
	if (!(sv->v[sv->n] = strdup(s)))
		return -1;
	sv->n++;
	return 0;
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof *sv);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates, so strv_has can search by halves. */
static void strv_sort(struct strv *sv)
{
	size_t w = 0;

	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof *sv->v, str_cmp);
	for (size_t i = 0; i < sv->n; i++) {
		if (w && !strcmp(sv->v[w - 1], sv->v[i]))
			free(sv->v[i]);
		else
			sv->v[w++] = sv->v[i];
	}
	sv->n = w;
}

static int strv_has(const struct strv *sv, const char *s)
{
	return sv->n && bsearch(&s, sv->v, sv->n, sizeof *sv->v, str_cmp) != NULL;
}

/* A count per negotiated version or cipher suite. */
struct tally {
	int64_t value; /* -1: none (no ServerHello) */
	char *name;
	int legacy;
	uint64_t n;
};

struct tallies {
	struct tally *v;
	size_t n;
	uint64_t rest; /* counted but not listed: suites past the top N */
};

static void tallies_free(struct tallies *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- what a report holds */

struct coverage {
	uint64_t runs, unfinished, packets, undecodable, kernel_drops, queue_drops, flows_evicted;
	double oldest_row;       /* first_ts of the oldest connection row kept; 0: none */
	double oldest_inventory; /* first_seen of the oldest inventory row; 0: none */
};

struct previous {
	int found;
	double generated, since, until; /* since 0: it was open */
	char *path;
	struct strv clients; /* sorted */
};

struct report {
	const struct report_options *o;
	struct store *s;
	double now;
	double since, until; /* the window, both ends included; since 0: from the first record */
	int until_given;
	char scope[640];    /* filters as text, the key (with the policy) of "previous report" */
	char filters[640];  /* the same for readers */
	const char *policy; /* name of the policy, with scope the key of "previous report" */
	const char *policy_text; /* description; NULL when the legacy room gives none */
	struct legacy_result lr;
	size_t *order;              /* entries in attribution order */
	struct strv legacy_clients; /* sorted */
	struct {
		size_t entries, clients;
		uint64_t connections;
	} per_attr[ATTR_COUNT];
	uint64_t conns, clients, servers;
	double data_first, data_last;
	struct tallies versions, ciphers;
	/* trend: nbuckets spans of bucket_days days from day0, one column per versions.v[i] */
	double day0;
	int bucket_days;
	size_t nbuckets;
	uint64_t *trend;
	uint64_t trend_max;
	struct coverage cov;
	struct previous prev;
	struct strv added, migrated, unseen;
	uint64_t *migrated_conns; /* parallel to migrated */
};

/* ---------------------------------------------------------------- time */

static void fmt_time(double t, const char *fmt, char *buf, size_t len)
    __attribute__((format(strftime, 2, 0)));

static void fmt_time(double t, const char *fmt, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* Every caller passes a literal, checked there through the format attribute. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, fmt, &tm))
		snprintf(buf, len, "?");
#pragma GCC diagnostic pop
}

#define FMT_MINUTE "%Y-%m-%d %H:%M"
#define FMT_DAY    "%Y-%m-%d"

/* ---------------------------------------------------------------- text out */

/*
 * All text that is not a literal of this file (addresses, SNI, software hints, service names,
 * anything read from the database) is written through put_text: made inert (no control byte,
 * valid UTF-8, bad bytes as \xHH), then escaped for the format (common/text.h). CSV is the
 * legacy command's cell: quoted, with a leading formula character defused; empty text is "".
 */
static void put_text(FILE *out, enum report_format fmt, const char *t)
{
	if (fmt == REPORT_CSV)
		text_csv(out, t ? t : "");
	else if (fmt == REPORT_HTML)
		text_html(out, t);
	else
		text_markdown(out, t);
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* 12345 -> "12,345": the reader compares magnitudes, not digits. */
static const char *num(uint64_t v, char buf[32])
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), o = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *percent(uint64_t part, uint64_t whole, char buf[16])
{
	if (!whole)
		snprintf(buf, 16, "-");
	else if (part && part * 1000 < whole)
		snprintf(buf, 16, "<0.1%%");
	else
		snprintf(buf, 16, "%.1f%%", 100.0 * (double)part / (double)whole);
	return buf;
}

/* Connections the legacy room could not judge (hellos unparsed, or not seen at all). */
static uint64_t unjudged(const struct report *r)
{
	const struct legacy_unknown *u = &r->lr.unknown;

	return u->truncated + u->malformed + u->one_sided + u->midstream;
}

/* Judged and acceptable under the policy. */
static uint64_t modern(const struct report *r)
{
	uint64_t off = r->lr.legacy_connections + unjudged(r);

	return r->lr.connections > off ? r->lr.connections - off : 0;
}

/* ---------------------------------------------------------------- what an entry says */

/* Section titles for readers; attribution_name() stays beside them as the legacy command's
 * term, so the two outputs can be matched. */
static const char *attr_title(enum attribution a)
{
	switch (a) {
	case ATTR_FAILING:
		return "Already failing";
	case ATTR_FALLBACK:
		return "Falling back to older TLS";
	case ATTR_CLIENT:
		return "The client must be upgraded";
	case ATTR_SERVER:
		return "The server must be upgraded";
	case ATTR_CIPHER:
		return "Weak cipher suite";
	default:
		return attribution_name(a);
	}
}

struct entry_text {
	char server[96];
	char uses[64]; /* "TLSv1.0", "TLSv1.0 offered, no answer" */
	char cipher[128];
	char client_max[TC_VERSION_TEXT_MAX];
	char deadline[96];
	int failing; /* the deadline has passed */
	char first[32], last[32];
};

static void entry_text(const struct report *r, const struct legacy_entry *e, struct entry_text *t)
{
	char v[TC_VERSION_TEXT_MAX];

	snprintf(t->server, sizeof t->server,
	         strchr(e->server_ip ? e->server_ip : "", ':') ? "[%s]:%d" : "%s:%d",
	         e->server_ip ? e->server_ip : "?", e->server_port);
	tc_version_text(e->version, v);
	snprintf(t->uses, sizeof t->uses, "%s%s", v, e->negotiated ? "" : " offered, no answer");
	if (!e->negotiated)
		snprintf(t->cipher, sizeof t->cipher, "-");
	else if (cipher_name(e->cipher))
		snprintf(t->cipher, sizeof t->cipher, "%s", cipher_name(e->cipher));
	else
		snprintf(t->cipher, sizeof t->cipher, "0x%04x", e->cipher);
	if (e->client_max)
		tc_version_text(e->client_max, t->client_max);
	else
		snprintf(t->client_max, sizeof t->client_max, "-");
	/* The wording is the legacy command's: "failing since DATE", "fails on DATE". */
	t->failing = 0;
	if (e->attr == ATTR_FAILING) {
		t->failing = 1;
		snprintf(t->deadline, sizeof t->deadline, "failing now%s%s",
		         e->retired ? "; service cutoff " : "", e->retired ? e->retired : "");
	} else if (e->retired) {
		legacy_deadline_text(e->retired, r->lr.now ? r->lr.now : r->now, t->deadline,
		                     sizeof t->deadline);
		t->failing = !strncmp(t->deadline, "failing", 7);
	} else {
		snprintf(t->deadline, sizeof t->deadline, "no cutoff date known");
	}
	fmt_time(e->first_seen, FMT_MINUTE, t->first, sizeof t->first);
	fmt_time(e->last_seen, FMT_MINUTE, t->last, sizeof t->last);
}

/* ---------------------------------------------------------------- gathering */

/* Every census query of the report is over this window and the filters, bounds included as
 * legacy_collect counts them, so the two agree on what "a connection in the window" is. */
#define WINDOW                                                                                     \
	" c.first_ts >= ?1 AND c.first_ts <= ?2"                                                   \
	" AND tc_report_scope(c.client_ip, c.server_ip, c.server_port, c.sni) "

static void db_error(const struct report *r, const char *what)
{
	fprintf(stderr, "tlscensus: database '%s': %s: %s\n", store_path(r->s), what,
	        sqlite3_errmsg(store_db(r->s)));
}

/* The filters of struct legacy_query as an SQL function, so every count of the report is over
 * the same hosts as the legacy list. */
static void scope_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct legacy_query *q = sqlite3_user_data(ctx);
	const char *client = (const char *)sqlite3_value_text(argv[0]);
	const char *server = (const char *)sqlite3_value_text(argv[1]);
	const char *sni = (const char *)sqlite3_value_text(argv[3]);
	int ok = 1;

	(void)argc;
	if (q->client.set)
		ok = client && cidr_match(&q->client, client);
	if (ok && q->server.set)
		ok = server && cidr_match(&q->server, server);
	if (ok && q->port)
		ok = sqlite3_value_int(argv[2]) == q->port;
	if (ok && q->sni_glob)
		ok = filter_glob_match(q->sni_glob, sni);
	sqlite3_result_int(ctx, ok);
}

static int oom(const struct report *r)
{
	fprintf(stderr, "tlscensus: database '%s': out of memory for the report\n",
	        store_path(r->s));
	return -1;
}

static sqlite3_stmt *prepare(struct report *r, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(store_db(r->s), sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(r, "report query failed");
		sqlite3_finalize(st);
		return NULL;
	}
	if (sqlite3_bind_parameter_count(st) >= 2) {
		sqlite3_bind_double(st, 1, r->since);
		sqlite3_bind_double(st, 2, r->until);
	}
	return st;
}

/* Steps st to its end; a row callback may be NULL. Finalizes st. */
static int each_row(struct report *r, sqlite3_stmt *st, int (*row)(struct report *, sqlite3_stmt *))
{
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row && row(r, st)) {
			rc = SQLITE_NOMEM;
			break;
		}
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			fprintf(stderr, "tlscensus: database '%s': out of memory for the report\n",
			        store_path(r->s));
		else
			db_error(r, "report query failed");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int totals_row(struct report *r, sqlite3_stmt *st)
{
	r->conns = (uint64_t)sqlite3_column_int64(st, 0);
	r->clients = (uint64_t)sqlite3_column_int64(st, 1);
	r->servers = (uint64_t)sqlite3_column_int64(st, 2);
	r->data_first = sqlite3_column_double(st, 3);
	r->data_last = sqlite3_column_double(st, 4);
	return 0;
}

static int tally_add(struct tallies *t, int64_t value, const char *name, int legacy, uint64_t n)
{
	struct tally *v = realloc(t->v, (t->n + 1) * sizeof *v);

	if (!v)
		return -1;
	t->v = v;
	v[t->n] = (struct tally){value, strdup(name), legacy, n};
	return v[t->n++].name ? 0 : -1;
}

static int version_row(struct report *r, sqlite3_stmt *st)
{
	char name[16];
	int none = sqlite3_column_type(st, 0) == SQLITE_NULL;

	if (none)
		snprintf(name, sizeof name, "no ServerHello");
	else
		tc_version_text(sqlite3_column_int64(st, 0), name);
	return tally_add(&r->versions, none ? -1 : sqlite3_column_int64(st, 0), name,
	                 sqlite3_column_int(st, 1), (uint64_t)sqlite3_column_int64(st, 2));
}

static int cipher_row(struct report *r, sqlite3_stmt *st)
{
	uint32_t v = (uint32_t)sqlite3_column_int64(st, 0);
	uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
	char hex[16];

	if (r->ciphers.n >= (size_t)r->o->top_ciphers) {
		r->ciphers.rest += n;
		return 0;
	}
	snprintf(hex, sizeof hex, "0x%04x", v);
	return tally_add(&r->ciphers, v, cipher_name(v) ? cipher_name(v) : hex, cipher_is_legacy(v),
	                 n);
}

static int trend_row(struct report *r, sqlite3_stmt *st)
{
	int64_t b = sqlite3_column_int64(st, 0);
	int none = sqlite3_column_type(st, 1) == SQLITE_NULL;
	int64_t v = none ? -1 : sqlite3_column_int64(st, 1);

	if (b < 0 || (uint64_t)b >= r->nbuckets)
		return 0;
	for (size_t i = 0; i < r->versions.n; i++)
		if (r->versions.v[i].value == v)
			r->trend[(size_t)b * r->versions.n + i] +=
			    (uint64_t)sqlite3_column_int64(st, 2);
	return 0;
}

/* The chart spans the window; an open start (or an open end with an open start) is clamped to
 * the data, so a report over a capture file does not draw years of empty days. */
static int gather_trend(struct report *r)
{
	double start = r->since ? r->since : r->data_first;
	double end = r->until_given || r->since ? r->until : r->data_last + 1;
	uint64_t days;

	if (!r->conns)
		return 0;
	if (end < start)
		end = start;
	r->day0 = (double)((int64_t)start / DAY * DAY);
	days = (uint64_t)((end - r->day0 + DAY - 1) / DAY);
	/* The window's end is inclusive: a connection at exactly 00:00 of the end day gets its
	 * day, which would otherwise not be drawn. */
	if (r->data_last >= r->day0 + (double)days * DAY)
		days = (uint64_t)((r->data_last - r->day0) / DAY) + 1;
	r->bucket_days = days <= CHART_MAX_BARS ? 1 : days <= CHART_MAX_BARS * 7 ? 7 : 30;
	while (days / (uint64_t)r->bucket_days > CHART_MAX_BARS)
		r->bucket_days *= 2;
	r->nbuckets = (size_t)((days + (uint64_t)r->bucket_days - 1) / (uint64_t)r->bucket_days);
	r->trend = calloc(r->nbuckets * r->versions.n + 1, sizeof *r->trend);
	if (!r->trend)
		return oom(r);

	sqlite3_stmt *st = prepare(r, "SELECT CAST((c.first_ts - ?3) / ?4 AS INTEGER) AS b, "
	                              "c.version, count(*) FROM connections c WHERE " WINDOW
	                              "GROUP BY b, c.version");
	if (st) {
		sqlite3_bind_double(st, 3, r->day0);
		sqlite3_bind_double(st, 4, (double)r->bucket_days * DAY);
	}
	if (each_row(r, st, trend_row))
		return -1;
	for (size_t b = 0; b < r->nbuckets; b++) {
		uint64_t sum = 0;

		for (size_t i = 0; i < r->versions.n; i++)
			sum += r->trend[b * r->versions.n + i];
		if (sum > r->trend_max)
			r->trend_max = sum;
	}
	return 0;
}

static int coverage_row(struct report *r, sqlite3_stmt *st)
{
	uint64_t *v[] = {&r->cov.runs,         &r->cov.unfinished,   &r->cov.packets,
	                 &r->cov.undecodable,  &r->cov.kernel_drops, &r->cov.queue_drops,
	                 &r->cov.flows_evicted};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		*v[i] = (uint64_t)sqlite3_column_int64(st, (int)i);
	return 0;
}

static int oldest_row(struct report *r, sqlite3_stmt *st)
{
	r->cov.oldest_row = sqlite3_column_double(st, 0);
	r->cov.oldest_inventory = sqlite3_column_double(st, 1);
	return 0;
}

/*
 * Runs are whole invocations: a run counts when one of its connections falls in the window, or
 * when it is a live capture whose wall-clock span overlaps the window (a capture that saw no TLS
 * still says what it dropped). Their counters are for the whole run, not the filtered hosts.
 */
static int gather_coverage(struct report *r)
{
	sqlite3_stmt *st = prepare(
	    r, "SELECT count(*), coalesce(sum(ended IS NULL), 0), coalesce(sum(packets), 0), "
	       "coalesce(sum(undecodable), 0), coalesce(sum(kernel_drops), 0), "
	       "coalesce(sum(queue_drops), 0), coalesce(sum(flows_evicted), 0) FROM runs "
	       "WHERE id IN (SELECT c.run_id FROM connections c "
	       "             WHERE c.first_ts >= ?1 AND c.first_ts <= ?2) "
	       "OR (command = 'capture' AND started < ?2 AND coalesce(ended, ?3) >= ?1)");

	if (st)
		sqlite3_bind_double(st, 3, r->now);
	if (each_row(r, st, coverage_row))
		return -1;
	return each_row(r,
	                prepare(r, "SELECT (SELECT min(first_ts) FROM connections), "
	                           "(SELECT min(first_seen) FROM inventory)"),
	                oldest_row);
}

/* ---------------------------------------------------------------- previous report */

static int table_exists(struct report *r)
{
	sqlite3_stmt *st = prepare(r, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
	                              "name = 'reports'");
	int found = st && sqlite3_step(st) == SQLITE_ROW;

	sqlite3_finalize(st);
	return found;
}

static int prev_client_row(struct report *r, sqlite3_stmt *st)
{
	return strv_add(&r->prev.clients, (const char *)sqlite3_column_text(st, 0));
}

static int find_previous(struct report *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!table_exists(r))
		return 0;
	st = prepare(r, "SELECT generated_at, since, until, path, legacy_clients FROM reports "
	                "WHERE policy = ?1 AND scope = ?2 ORDER BY id DESC LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, r->policy, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->scope, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 3);
		sqlite3_stmt *keys = NULL;

		r->prev.found = 1;
		r->prev.generated = sqlite3_column_double(st, 0);
		r->prev.since = sqlite3_column_double(st, 1);
		r->prev.until = sqlite3_column_double(st, 2);
		r->prev.path = path ? strdup(path) : NULL;
		if (sqlite3_prepare_v2(store_db(r->s),
		                       "SELECT value FROM json_each(?1) WHERE type = 'text'", -1,
		                       &keys, NULL) == SQLITE_OK)
			sqlite3_bind_value(keys, 1, sqlite3_column_value(st, 4));
		rc = each_row(r, keys, prev_client_row) ? SQLITE_ERROR : SQLITE_DONE;
		strv_sort(&r->prev.clients);
	} else if (rc != SQLITE_DONE) {
		db_error(r, "cannot read the previous report");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static int gather_changes(struct report *r)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (!r->prev.found)
		return 0;
	for (size_t i = 0; i < r->legacy_clients.n; i++)
		if (!strv_has(&r->prev.clients, r->legacy_clients.v[i]) &&
		    strv_add(&r->added, r->legacy_clients.v[i]))
			return oom(r);
	st = prepare(r, "SELECT count(*) FROM connections c WHERE" WINDOW "AND c.client_ip = ?3");
	if (!st)
		return -1;
	r->migrated_conns = calloc(r->prev.clients.n + 1, sizeof *r->migrated_conns);
	for (size_t i = 0; rc == 0 && i < r->prev.clients.n; i++) {
		const char *ip = r->prev.clients.v[i];
		uint64_t n;

		if (strv_has(&r->legacy_clients, ip))
			continue;
		sqlite3_bind_text(st, 3, ip, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			db_error(r, "report query failed");
			rc = -1;
			break;
		}
		n = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (!r->migrated_conns) {
			rc = oom(r);
		} else if (n) {
			r->migrated_conns[r->migrated.n] = n;
			rc = strv_add(&r->migrated, ip) ? oom(r) : 0;
		} else {
			rc = strv_add(&r->unseen, ip) ? oom(r) : 0;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------------- scope */

static void cidr_text(const struct cidr *c, char *buf, size_t len)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char ip[INET6_ADDRSTRLEN] = "?";

	if (!memcmp(c->addr, v4mapped, sizeof v4mapped) && c->bits >= 96) {
		inet_ntop(AF_INET, c->addr + 12, ip, sizeof ip);
		snprintf(buf, len, "%s/%d", ip, c->bits - 96);
	} else {
		inet_ntop(AF_INET6, c->addr, ip, sizeof ip);
		snprintf(buf, len, "%s/%d", ip, c->bits);
	}
}

static void describe_scope(struct report *r)
{
	const struct legacy_query *q = &r->o->q;
	char client[64] = "", server[64] = "", port[16] = "";
	size_t n = 0, m = 0;

	if (q->client.set)
		cidr_text(&q->client, client, sizeof client);
	if (q->server.set)
		cidr_text(&q->server, server, sizeof server);
	if (q->port)
		snprintf(port, sizeof port, "%d", q->port);
	const char *parts[][3] = {{"client", "client ", client},
	                          {"server", "server ", server},
	                          {"sni", "SNI ", q->sni_glob ? q->sni_glob : ""},
	                          {"port", "port ", port}};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		if (!parts[i][2][0])
			continue;
		n += (size_t)snprintf(r->scope + n, n < sizeof r->scope ? sizeof r->scope - n : 0,
		                      "%s%s=%.200s", n ? " " : "", parts[i][0], parts[i][2]);
		m += (size_t)snprintf(r->filters + m,
		                      m < sizeof r->filters ? sizeof r->filters - m : 0,
		                      "%s%s%.200s", m ? ", " : "", parts[i][1], parts[i][2]);
		if (n >= sizeof r->scope)
			n = sizeof r->scope - 1;
		if (m >= sizeof r->filters)
			m = sizeof r->filters - 1;
	}
}

/* ---------------------------------------------------------------- gather all */

static int gather(struct report *r)
{
	struct legacy_query q = r->o->q;
	size_t counts[ATTR_COUNT + 1] = {0};

	q.since = r->since;
	q.until = r->until;
	q.now = r->now;
	q.group = GROUP_NONE;
	if (legacy_collect(r->s, &q, &r->lr))
		return -1;
	r->policy_text = q.policy ? policy_description(q.policy) : NULL;

	/* Entries in the order a reader should meet them; legacy_collect's order within. */
	r->order = malloc((r->lr.n + 1) * sizeof *r->order);
	if (!r->order)
		return oom(r);
	for (size_t i = 0; i < r->lr.n; i++)
		counts[r->lr.v[i].attr < ATTR_COUNT ? r->lr.v[i].attr + 1 : ATTR_COUNT]++;
	for (int a = 1; a <= ATTR_COUNT; a++)
		counts[a] += counts[a - 1];
	for (size_t i = 0; i < r->lr.n; i++) {
		enum attribution a =
		    r->lr.v[i].attr < ATTR_COUNT ? r->lr.v[i].attr : ATTR_COUNT - 1;

		r->order[counts[a]++] = i;
		if (r->lr.v[i].client_ip && strv_add(&r->legacy_clients, r->lr.v[i].client_ip))
			return oom(r);
	}
	strv_sort(&r->legacy_clients);
	for (int a = 0; a < ATTR_COUNT; a++) {
		struct strv seen = {0};

		for (size_t i = 0; i < r->lr.n; i++) {
			const struct legacy_entry *e = &r->lr.v[i];

			if (e->attr != (enum attribution)a)
				continue;
			r->per_attr[a].entries++;
			r->per_attr[a].connections += e->connections;
			if (e->client_ip && strv_add(&seen, e->client_ip)) {
				strv_free(&seen);
				return oom(r);
			}
		}
		strv_sort(&seen);
		r->per_attr[a].clients = seen.n;
		strv_free(&seen);
	}

	if (sqlite3_create_function(store_db(r->s), "tc_report_scope", 4,
	                            SQLITE_UTF8 | SQLITE_DETERMINISTIC, (void *)&r->o->q, scope_fn,
	                            NULL, NULL) != SQLITE_OK) {
		db_error(r, "cannot set up the report's filters");
		return -1;
	}
	if (each_row(r,
	             prepare(r, "SELECT count(*), count(DISTINCT c.client_ip), "
	                        "count(DISTINCT c.server_ip), min(c.first_ts), max(c.first_ts) "
	                        "FROM connections c WHERE" WINDOW),
	             totals_row) ||
	    each_row(r,
	             prepare(r,
	                     "SELECT c.version, coalesce(v.legacy, 0), count(*) "
	                     "FROM connections c LEFT JOIN tls_versions v ON v.value = c.version "
	                     "WHERE" WINDOW "GROUP BY c.version "
	                     "ORDER BY c.version IS NULL, v.rank IS NULL, v.rank DESC, c.version"),
	             version_row) ||
	    each_row(
	        r,
	        prepare(r, "SELECT c.cipher, count(*) AS n FROM connections c WHERE" WINDOW
	                   "AND c.cipher IS NOT NULL GROUP BY c.cipher ORDER BY n DESC, c.cipher"),
	        cipher_row) ||
	    gather_trend(r) || gather_coverage(r) || gather_changes(r))
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- HTML */

static const char html_style[] =
    "<style>\n"
    ":root{--bad:#b2182b;--warn:#8a5a00;--good:#1a7f37;--muted:#57606a;--line:#d8dee4}\n"
    "*{box-sizing:border-box}\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,"
    "sans-serif;color:#1f2328;max-width:1180px;margin:0 auto;padding:24px 32px;"
    "-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "h1{font-size:26px;margin:0 0 4px}\n"
    "h2{font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px;margin:36px 0 10px}\n"
    "h3{font-size:16px;margin:22px 0 4px}\n"
    "p{margin:6px 0}\n"
    ".meta{color:var(--muted);margin:0}\n"
    ".lead{font-size:15px;max-width:900px}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0}\n"
    ".card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px}\n"
    ".card b{display:block;font-size:26px;line-height:1.2}\n"
    ".card span{color:var(--muted);font-size:13px}\n"
    ".card.bad{border-color:#f1aeb5;background:#fff5f5}.card.bad b{color:var(--bad)}\n"
    ".card.good b{color:var(--good)}\n"
    ".cols{display:grid;grid-template-columns:2fr 3fr;gap:28px}\n"
    "table{border-collapse:collapse;width:100%;margin:8px 0 4px}\n"
    "th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);"
    "vertical-align:top}\n"
    "th{background:#f6f8fa;font-weight:600;font-size:13px}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    ".small{font-size:12px;color:var(--muted)}\n"
    ".mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11.5px;"
    "overflow-wrap:anywhere}\n"
    ".wrap{overflow-wrap:anywhere}\n"
    "table.entries{table-layout:fixed}table.entries td{overflow-wrap:anywhere}\n"
    ".tag{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;"
    "white-space:nowrap}\n"
    ".tag.bad{background:#ffebe9;color:#a40e26}.tag.good{background:#dafbe1;color:#116329}\n"
    ".tag.none{background:#eaeef2;color:#424a53}\n"
    ".advice{background:#fff8c5;border-left:4px solid #d4a72c;padding:6px 12px;margin:6px 0 8px}\n"
    ".failing{color:var(--bad);font-weight:600}\n"
    ".ok{color:var(--good)}\n"
    ".bar{display:inline-block;height:9px;background:#eaeef2;width:90px;vertical-align:middle;"
    "margin-left:6px}\n"
    ".bar i{display:block;height:9px}\n"
    ".note{color:var(--muted);font-size:13px}\n"
    "ul{margin:6px 0;padding-left:22px}\n"
    "figure{margin:8px 0}\n"
    "svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}\n"
    "footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);"
    "padding-top:8px}\n"
    "@media (max-width:800px){.cols{grid-template-columns:1fr}}\n"
    "table.entries .tag{white-space:normal}\n"
    "@media print{body{max-width:none;padding:0;font-size:11px}"
    "h2,h3,.advice{break-after:avoid}tr,.card,figure,.advice{break-inside:avoid}"
    "thead{display:table-header-group}a{color:inherit;text-decoration:none}}\n"
    "</style>\n";

/* Colours by version: modern greens and blues, legacy reds, no answer grey. Legacy bars are
 * also hatched, so a grey-scale print still tells them apart. */
static const char *version_colour(int64_t v)
{
	switch (v) {
	case -1:
		return "#8c959f";
	case 0x0304:
	case 0xfefc:
		return "#2da44e";
	case 0x0303:
	case 0xfefd:
		return "#3572b0";
	case 0x0302:
		return "#f58b43";
	case 0x0301:
	case 0xfeff:
		return "#d1242f";
	case 0x0300:
	case 0x0002:
		return "#7d0c1a";
	default:
		return "#b6bec7";
	}
}

#define H(t) put_text(out, REPORT_HTML, (t))

static void html_version_tag(FILE *out, const struct tally *t)
{
	fprintf(out, "<span class=\"tag %s\">", t->value < 0 ? "none" : t->legacy ? "bad" : "good");
	H(t->name);
	fputs("</span>", out);
}

static void html_header(FILE *out, const struct report *r)
{
	char since[32], until[32], gen[32];

	if (r->since)
		fmt_time(r->since, FMT_MINUTE, since, sizeof since);
	fmt_time(r->until, FMT_MINUTE, until, sizeof until);
	fmt_time(r->now, FMT_MINUTE, gen, sizeof gen);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"tlscensus " TC_VERSION
	      "\">\n<title>Legacy TLS report ",
	      out);
	if (r->since) {
		H(since);
		fputs(" to ", out);
	} else {
		fputs("until ", out);
	}
	H(until);
	fputs(" UTC</title>\n", out);
	fputs(html_style, out);
	fputs("</head>\n<body>\n<header>\n<h1>Legacy TLS report</h1>\n<p class=\"meta\">", out);
	if (r->since) {
		fputs("<b>", out);
		H(since);
		fputs("</b> to <b>", out);
	} else {
		fmt_time(r->data_first, FMT_MINUTE, since, sizeof since);
		fputs("From the first record", out);
		if (r->conns) {
			fputs(" (<b>", out);
			H(since);
			fputs("</b>)", out);
		}
		fputs(" to <b>", out);
	}
	H(until);
	fputs("</b> UTC", out);
	if (r->o->since_last)
		fputs(r->prev.found ? " (since the previous report)"
		                    : " (no previous report: from the first record)",
		      out);
	fputs(" &middot; policy <b>", out);
	H(r->policy);
	fputs("</b> &middot; database ", out);
	H(r->o->db_label);
	if (r->filters[0]) {
		fputs(" &middot; only ", out);
		H(r->filters);
	}
	fputs(" &middot; generated ", out);
	H(gen);
	fputs(" UTC</p>\n</header>\n", out);
}

static void html_card(FILE *out, const char *cls, uint64_t v, const char *label, const char *sub)
{
	char b[32];

	fprintf(out, "<div class=\"card%s%s\"><b>%s</b><span>%s", cls ? " " : "", cls ? cls : "",
	        num(v, b), label);
	if (sub) {
		fputs("<br>", out);
		H(sub);
	}
	fputs("</span></div>\n", out);
}

static void html_share(FILE *out, uint64_t n, uint64_t total, const char *colour)
{
	char p[16], b[32];

	fprintf(out,
	        "<td class=\"n\">%s</td><td class=\"n\">%s<span class=\"bar\">"
	        "<i style=\"width:%.1f%%;background:%s\"></i></span></td>",
	        num(n, b), percent(n, total, p), total ? 100.0 * (double)n / (double)total : 0.0,
	        colour);
}

static void html_summary(FILE *out, const struct report *r)
{
	char b1[32], b2[32], b3[32], p[16], sub[64];
	uint64_t legacy = r->lr.legacy_connections;

	fputs("<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"lead\">", out);
	if (!r->conns) {
		fputs("No TLS connection was recorded in this window.", out);
	} else {
		fprintf(out, "%s client%s made %s TLS connection%s to %s server%s. ",
		        num(r->clients, b1), plural(r->clients), num(r->conns, b2),
		        plural(r->conns), num(r->servers, b3), plural(r->servers));
		if (legacy)
			fprintf(out,
			        "<b class=\"failing\">%s connection%s (%s) from %s client%s used "
			        "legacy "
			        "TLS</b> under the policy <b>",
			        num(legacy, b1), plural(legacy),
			        percent(legacy, r->lr.connections, p), num(r->legacy_clients.n, b2),
			        plural(r->legacy_clients.n));
		else
			fputs("<b class=\"ok\">None used legacy TLS</b> under the policy <b>", out);
		H(r->policy);
		fputs("</b>.", out);
	}
	fputs("</p>\n", out);
	if (r->policy_text) {
		fputs("<p class=\"note\">Policy ", out);
		H(r->policy);
		fputs(": ", out);
		H(r->policy_text);
		fputs("</p>\n", out);
	}
	fputs("<div class=\"cards\">\n", out);
	html_card(out, NULL, r->clients, "clients", NULL);
	html_card(out, NULL, r->servers, "servers", NULL);
	html_card(out, NULL, r->lr.connections, "connections", NULL);
	snprintf(sub, sizeof sub, "%s of all connections", percent(legacy, r->lr.connections, p));
	html_card(out, legacy ? "bad" : "good", legacy, "legacy connections", sub);
	html_card(out, r->legacy_clients.n ? "bad" : "good", r->legacy_clients.n, "legacy clients",
	          NULL);
	html_card(out, "good", modern(r), "modern connections", NULL);
	if (unjudged(r))
		html_card(out, NULL, unjudged(r), "not judged", "hellos not seen or not parsed");
	fputs("</div>\n", out);

	if (r->lr.n) {
		fputs("<h3>Who must act</h3>\n<table><tr><th style=\"width:22%\">Finding</th>"
		      "<th>What to do</th><th class=\"n\">Clients</th><th class=\"n\">Servers "
		      "reached</th><th class=\"n\">Connections</th></tr>\n",
		      out);
		for (int a = 0; a < ATTR_COUNT; a++) {
			if (!r->per_attr[a].entries)
				continue;
			fprintf(out, "<tr><td><a href=\"#attr-%d\">", a);
			H(attr_title((enum attribution)a));
			fputs("</a></td><td>", out);
			H(attribution_advice((enum attribution)a));
			fprintf(out, "</td><td class=\"n\">%s</td>",
			        num(r->per_attr[a].clients, b1));
			fprintf(out, "<td class=\"n\">%s</td>", num(r->per_attr[a].entries, b1));
			fprintf(out, "<td class=\"n\">%s</td></tr>\n",
			        num(r->per_attr[a].connections, b1));
		}
		fputs("</table>\n", out);
	}

	fputs(
	    "<div class=\"cols\">\n<div>\n<h3>Connections by negotiated version</h3>\n"
	    "<table><tr><th>Version</th><th class=\"n\">Connections</th><th class=\"n\">Share</th>"
	    "</tr>\n",
	    out);
	for (size_t i = 0; i < r->versions.n; i++) {
		fputs("<tr><td>", out);
		html_version_tag(out, &r->versions.v[i]);
		fputs("</td>", out);
		html_share(out, r->versions.v[i].n, r->conns,
		           version_colour(r->versions.v[i].value));
		fputs("</tr>\n", out);
	}
	if (!r->versions.n)
		fputs("<tr><td colspan=\"3\">none</td></tr>\n", out);
	fputs("</table>\n<p class=\"small\">Legacy versions in red; &ldquo;no ServerHello&rdquo;: "
	      "the "
	      "server never answered (refused, or the capture missed the "
	      "answer).</p>\n</div>\n<div>\n",
	      out);
	fprintf(out,
	        "<h3>Top %d cipher suites</h3>\n<table><tr><th>Cipher suite</th>"
	        "<th class=\"n\">Connections</th><th class=\"n\">Share</th></tr>\n",
	        r->o->top_ciphers);
	uint64_t with_cipher = r->ciphers.rest;
	for (size_t i = 0; i < r->ciphers.n; i++)
		with_cipher += r->ciphers.v[i].n;
	for (size_t i = 0; i < r->ciphers.n; i++) {
		const struct tally *t = &r->ciphers.v[i];

		fputs("<tr><td class=\"wrap\">", out);
		H(t->name);
		if (t->legacy)
			fputs(" <span class=\"tag bad\">weak</span>", out);
		fputs("</td>", out);
		html_share(out, t->n, with_cipher, t->legacy ? "#d1242f" : "#3572b0");
		fputs("</tr>\n", out);
	}
	if (r->ciphers.rest) {
		fputs("<tr><td>all others</td>", out);
		html_share(out, r->ciphers.rest, with_cipher, "#8c959f");
		fputs("</tr>\n", out);
	}
	if (!r->ciphers.n)
		fputs("<tr><td colspan=\"3\">none negotiated</td></tr>\n", out);
	fputs("</table>\n</div>\n</div>\n</section>\n", out);
}

static void html_entry(FILE *out, const struct report *r, const struct legacy_entry *e)
{
	struct entry_text t;
	char b[32];

	entry_text(r, e, &t);
	fputs("<tr><td><b>", out);
	H(e->client_ip);
	fputs("</b>", out);
	if (e->software) {
		fputs("<div class=\"small\">", out);
		H(e->software);
		fputs("</div>", out);
	}
	if (e->ja4) {
		fputs("<div class=\"mono small\">JA4 ", out);
		H(e->ja4);
		fputs("</div>", out);
	}
	fputs("</td><td class=\"wrap\"><b>", out);
	H(e->sni ? e->sni : "(no server name)");
	fputs("</b><div class=\"small\">", out);
	H(t.server);
	if (e->service) {
		fputs(" &middot; ", out);
		H(e->service);
	}
	/* What is wrong is in red: the version, or for a weak suite the suite. */
	fprintf(out, "</div></td><td><span class=\"tag %s\">",
	        e->attr == ATTR_CIPHER ? "none" : "bad");
	H(t.uses);
	fputs("</span>", out);
	if (e->negotiated) {
		fprintf(out, "<div class=\"%s\">", e->attr == ATTR_CIPHER ? "failing" : "small");
		H(t.cipher);
		fputs("</div>", out);
	}
	fputs("<div class=\"small\">the client offers up to ", out);
	H(t.client_max);
	fprintf(out, "</div></td><td class=\"%s\">",
	        t.failing    ? "failing"
	        : e->retired ? ""
	                     : "note");
	H(t.deadline);
	fputs("</td><td class=\"small\">", out);
	H(t.first);
	if (strcmp(t.first, t.last)) {
		fputs("<br>", out);
		H(t.last);
	}
	fprintf(out, "</td><td class=\"n\">%s</td></tr>\n", num(e->connections, b));
}

static void html_legacy(FILE *out, const struct report *r)
{
	char b[32], b1[32], b2[32];

	fprintf(out, "<section id=\"legacy\">\n<h2>Legacy clients (%s)</h2>\n",
	        num(r->legacy_clients.n, b));
	if (r->lr.n)
		fprintf(out, "<p class=\"note\">%s client/server pair%s, %s connection%s.</p>\n",
		        num(r->lr.n, b1), plural(r->lr.n), num(r->lr.legacy_connections, b2),
		        plural(r->lr.legacy_connections));
	if (!r->lr.n) {
		fputs("<p class=\"ok\">No client used legacy TLS in this window.</p>\n</section>\n",
		      out);
		return;
	}
	fputs("<p class=\"note\">One row per client, server and way of connecting. &ldquo;Already "
	      "failing&rdquo;: the service has passed its cutoff date, or the server no longer "
	      "answers. Times are UTC.</p>\n",
	      out);
	for (size_t k = 0; k < r->lr.n;) {
		enum attribution a = r->lr.v[r->order[k]].attr;
		size_t end = k;

		while (end < r->lr.n && r->lr.v[r->order[end]].attr == a)
			end++;
		fprintf(out, "<h3 id=\"attr-%d\">", (int)a);
		H(attr_title(a));
		fprintf(out, " <span class=\"tag none\">");
		H(attribution_name(a));
		fprintf(out, "</span> <span class=\"small\">%zu</span></h3>\n<p class=\"advice\">",
		        end - k);
		H(attribution_advice(a));
		fputs("</p>\n<table class=\"entries\"><colgroup><col style=\"width:20%\">"
		      "<col style=\"width:22%\"><col style=\"width:24%\"><col style=\"width:14%\">"
		      "<col style=\"width:13%\"><col style=\"width:7%\"></colgroup>\n"
		      "<thead><tr><th>Client (software)</th><th>Talking to</th><th>Using</th>"
		      "<th>Deadline</th><th>First / last seen</th><th class=\"n\">Conn.</th></tr>"
		      "</thead>\n",
		      out);
		for (; k < end; k++)
			html_entry(out, r, &r->lr.v[r->order[k]]);
		fputs("</table>\n", out);
	}
	fputs("</section>\n", out);
}

static uint64_t nice_step(uint64_t max)
{
	static const uint64_t f[] = {1, 2, 5};

	for (uint64_t m = 1;; m *= 10)
		for (size_t i = 0; i < 3; i++)
			if (f[i] * m * 5 >= max)
				return f[i] * m;
}

static const char *bucket_label(const struct report *r)
{
	return r->bucket_days == 1 ? "day" : r->bucket_days == 7 ? "week" : "period";
}

/* A stacked bar per day (or week), one colour per negotiated version, newest version at the
 * bottom; each bar has a <title> for the exact figures. Drawn in a fixed 1000-unit viewBox. */
static void html_chart(FILE *out, const struct report *r)
{
	const double W = 1000, L = 70, R = 16, T = 16, PH = 230;
	const double pw = W - L - R, bw = pw / (double)r->nbuckets;
	uint64_t step = nice_step(r->trend_max), top = (r->trend_max + step - 1) / step * step;
	size_t every = (r->nbuckets + 11) / 12;
	size_t legend_rows = (r->versions.n + 4) / 5;
	double height = T + PH + 62 + 22.0 * (double)legend_rows, x;
	char day[32], b[32];

	if (!top)
		top = step;
	fprintf(out,
	        "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
	        "width=\"100%%\" role=\"img\" aria-label=\"TLS connections per %s by negotiated "
	        "version\">\n<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" "
	        "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"2\" "
	        "height=\"6\" fill=\"#fff\" fill-opacity=\"0.45\"/></pattern></defs>\n",
	        W, height, bucket_label(r));
	/* y axis: grid lines and ticks */
	for (uint64_t v = 0; v <= top; v += step) {
		double y = T + PH - PH * (double)v / (double)top;

		fprintf(out,
		        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
		        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\" "
		        "fill=\"#57606a\">%s</text>\n",
		        L, W - R, y, y, v ? "#eaeef2" : "#8c959f", L - 6, y + 4, num(v, b));
	}
	fprintf(out,
	        "<text transform=\"translate(16 %.1f) rotate(-90)\" font-size=\"13\" "
	        "text-anchor=\"middle\" fill=\"#1f2328\">connections per %s</text>\n",
	        T + PH / 2, bucket_label(r));
	/* bars */
	for (size_t i = 0; i < r->nbuckets; i++) {
		double y = T + PH, bar = bw * 0.72 > 1 ? bw * 0.72 : 1;

		if (bar > 64)
			bar = 64;
		double day_start = r->day0 + (double)i * r->bucket_days * DAY;

		x = L + (double)i * bw + (bw - bar) / 2;
		fmt_time(day_start, FMT_DAY, day, sizeof day);
		for (size_t v = 0; v < r->versions.n; v++) {
			uint64_t n = r->trend[i * r->versions.n + v];
			double h = PH * (double)n / (double)top;

			if (!n)
				continue;
			y -= h;
			fprintf(out,
			        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
			        "fill=\"%s\"><title>",
			        x, y, bar, h, version_colour(r->versions.v[v].value));
			H(day);
			fputs(" ", out);
			H(r->versions.v[v].name);
			fprintf(out, ": %s</title></rect>\n", num(n, b));
			if (r->versions.v[v].legacy)
				fprintf(
				    out,
				    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
				    "fill=\"url(#hatch)\" pointer-events=\"none\"/>\n",
				    x, y, bar, h);
		}
		if (i % every == 0) {
			fmt_time(day_start, r->nbuckets > 8 ? "%m-%d" : FMT_DAY, day, sizeof day);
			fprintf(out,
			        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			        "stroke=\"#8c959f\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
			        "text-anchor=\"middle\" fill=\"#57606a\">",
			        x + bar / 2, x + bar / 2, T + PH, T + PH + 5, x + bar / 2,
			        T + PH + 19);
			H(day);
			fputs("</text>\n", out);
		}
	}
	fmt_time(r->day0, "%Y", day, sizeof day);
	fprintf(out,
	        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" "
	        "fill=\"#1f2328\">%s (UTC)%s%s</text>\n",
	        L + pw / 2, T + PH + 42, r->bucket_days == 1 ? "day" : "first day of each bar",
	        r->nbuckets > 8 ? ", " : "", r->nbuckets > 8 ? day : "");
	/* legend, five entries a row */
	for (size_t v = 0; v < r->versions.n; v++) {
		uint64_t total = r->versions.v[v].n;
		double lx = L + (double)(v % 5) * 180, ly = T + PH + 62 + 22.0 * (double)(v / 5);

		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>",
		        lx, ly - 11, version_colour(r->versions.v[v].value));
		if (r->versions.v[v].legacy)
			fprintf(out,
			        "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" "
			        "fill=\"url(#hatch)\"/>",
			        lx, ly - 11);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#1f2328\">",
		        lx + 20, ly);
		H(r->versions.v[v].name);
		fprintf(out, " (%s)</text>\n", num(total, b));
	}
	fputs("</svg>\n</figure>\n", out);
}

static void html_trend(FILE *out, const struct report *r)
{
	char from[32], to[32];

	fputs("<section id=\"trend\">\n<h2>Trend</h2>\n", out);
	if (!r->nbuckets) {
		fputs("<p>No connections in this window.</p>\n</section>\n", out);
		return;
	}
	fmt_time(r->day0, FMT_DAY, from, sizeof from);
	fmt_time(r->day0 + (double)(r->nbuckets * (size_t)r->bucket_days - 1) * DAY, FMT_DAY, to,
	         sizeof to);
	fprintf(out, "<p class=\"note\">Connections per %s by negotiated version, ",
	        bucket_label(r));
	H(from);
	fputs(" to ", out);
	H(to);
	if (r->bucket_days > 1)
		fprintf(out, " (each bar is %d days)", r->bucket_days);
	fputs(". Legacy versions are red and hatched. A day without bars had no connection: "
	      "check the coverage section.</p>\n",
	      out);
	html_chart(out, r);
	fputs("</section>\n", out);
}

static void html_client_list(FILE *out, const struct strv *sv, const uint64_t *conns,
                             const char *none)
{
	char b[32];

	if (!sv->n) {
		fprintf(out, "<p class=\"note\">%s</p>\n", none);
		return;
	}
	fputs("<ul>\n", out);
	for (size_t i = 0; i < sv->n; i++) {
		fputs("<li>", out);
		H(sv->v[i]);
		if (conns)
			fprintf(out, " <span class=\"small\">(%s connection%s, none legacy)</span>",
			        num(conns[i], b), plural(conns[i]));
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
}

static void html_changes(FILE *out, const struct report *r)
{
	char gen[32], since[32], until[32];

	fputs("<section id=\"changes\">\n<h2>Changes since the previous report</h2>\n", out);
	if (!r->prev.found) {
		fputs("<p>This is the first report with this policy and these filters in this "
		      "database; the next one will list the clients that became legacy and those "
		      "that "
		      "moved to modern TLS.</p>\n</section>\n",
		      out);
		return;
	}
	fmt_time(r->prev.generated, FMT_MINUTE, gen, sizeof gen);
	fmt_time(r->prev.until, FMT_MINUTE, until, sizeof until);
	if (r->prev.since)
		fmt_time(r->prev.since, FMT_MINUTE, since, sizeof since);
	fputs("<p class=\"note\">The previous report was generated ", out);
	H(gen);
	fputs(" UTC and covered ", out);
	if (r->prev.since) {
		H(since);
		fputs(" to ", out);
	} else {
		fputs("everything until ", out);
	}
	H(until);
	fputs(" UTC", out);
	if (r->prev.path) {
		fputs(" (", out);
		H(r->prev.path);
		fputs(")", out);
	}
	fprintf(out, "; it listed %zu legacy client%s.</p>\n", r->prev.clients.n,
	        plural(r->prev.clients.n));
	fprintf(out, "<h3>New legacy clients (%zu)</h3>\n", r->added.n);
	html_client_list(out, &r->added, NULL, "None: every legacy client was already listed.");
	fprintf(out, "<h3 class=\"ok\">Migrated to modern TLS (%zu)</h3>\n", r->migrated.n);
	html_client_list(out, &r->migrated, r->migrated_conns,
	                 "None: no client of the previous list is seen with modern TLS only.");
	if (r->unseen.n) {
		fprintf(
		    out,
		    "<h3>Not seen in this window (%zu)</h3>\n<p class=\"note\">Listed before, "
		    "no connection now: switched off, moved, or out of the capture's view.</p>\n",
		    r->unseen.n);
		html_client_list(out, &r->unseen, NULL, "");
	}
	fputs("</section>\n", out);
}

struct cov_line {
	const char *what;
	uint64_t n;
	const char *meaning;
};

static size_t coverage_lines(const struct report *r, struct cov_line *l)
{
	const struct legacy_unknown *u = &r->lr.unknown;
	size_t n = 0;

	l[n++] =
	    (struct cov_line){"Unparsed (malformed)", u->malformed,
	                      "bytes that are not valid TLS; the connection could not be judged"};
	l[n++] =
	    (struct cov_line){"Truncated", u->truncated,
	                      "the hello was cut (snap length, or the capture stopped mid-way)"};
	l[n++] = (struct cov_line){"One-sided", u->one_sided,
	                           "only one direction was seen (asymmetric routing, or a mirror "
	                           "that misses one side)"};
	l[n++] = (struct cov_line){"Midstream", u->midstream,
	                           "the capture began after the handshake: nothing to judge"};
	l[n++] =
	    (struct cov_line){"Kernel drops", r->cov.kernel_drops,
	                      "packets the kernel or the interface dropped (load, buffer size)"};
	l[n++] = (struct cov_line){"Queue drops", r->cov.queue_drops,
	                           "records lost because the database could not keep up"};
	l[n++] = (struct cov_line){"Flows evicted", r->cov.flows_evicted,
	                           "flows pushed out by the flow table bound (--max-flows)"};
	l[n++] = (struct cov_line){"Undecodable packets", r->cov.undecodable,
	                           "truncated, fragmented or unsupported encapsulations"};
	return n;
}

static void html_coverage(FILE *out, const struct report *r)
{
	struct cov_line l[8];
	size_t n = coverage_lines(r, l);
	uint64_t lost = 0;
	char b[32], t[32];

	for (size_t i = 0; i < n; i++)
		lost += l[i].n;
	fputs("<section id=\"coverage\">\n<h2>Coverage: what this report could not see</h2>\n",
	      out);
	if (lost)
		fputs("<p class=\"failing\">Part of the traffic could not be seen or judged; the "
		      "figures above are a lower bound.</p>\n",
		      out);
	else
		fputs("<p class=\"ok\">Nothing was lost: every connection recorded could be judged "
		      "and "
		      "no packet was dropped.</p>\n",
		      out);
	fputs("<table><tr><th>What</th><th class=\"n\">Count</th><th>Meaning</th></tr>\n", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out,
		        "<tr><td>%s</td><td class=\"n%s\">%s</td><td class=\"note\">%s</td></tr>\n",
		        l[i].what, l[i].n ? " failing" : "", num(l[i].n, b), l[i].meaning);
	fputs("</table>\n<p class=\"note\">", out);
	fprintf(out,
	        "%s capture run%s (%s packets) contributed to this window; drop and eviction "
	        "counts are for whole runs and all hosts.",
	        num(r->cov.runs, b), plural(r->cov.runs), num(r->cov.packets, t));
	if (r->cov.unfinished)
		fprintf(out,
		        " %s run%s had not ended (still capturing, or stopped without a clean "
		        "exit; counters are from the last refresh).",
		        num(r->cov.unfinished, b), plural(r->cov.unfinished));
	if (r->cov.oldest_row && (!r->since || r->since < r->cov.oldest_row) &&
	    r->cov.oldest_inventory && r->cov.oldest_inventory < r->cov.oldest_row) {
		fmt_time(r->cov.oldest_row, FMT_MINUTE, t, sizeof t);
		fputs(" Connection rows before ", out);
		H(t);
		fputs(" UTC were deleted by retention (--retain); this window starts earlier, so "
		      "its counts are incomplete.",
		      out);
	}
	if (!r->lr.from_connections)
		fputs(" The legacy figures come from the inventory, which outlives retention: a "
		      "way of "
		      "connecting seen in the window counts with all its connections, also those "
		      "outside it.",
		      out);
	fputs("</p>\n</section>\n", out);
}

static void write_html(FILE *out, const struct report *r)
{
	html_header(out, r);
	fputs("<main>\n", out);
	html_summary(out, r);
	html_legacy(out, r);
	html_trend(out, r);
	html_changes(out, r);
	html_coverage(out, r);
	fputs("</main>\n<footer>tlscensus " TC_VERSION " &middot; <code>tlscensus report</code>. "
	      "Legacy: TLS below 1.2 or a broken cipher suite, unless the policy says otherwise. "
	      "Text seen on the network is shown escaped (\\xHH for bytes that are not "
	      "text).</footer>\n"
	      "</body>\n</html>\n",
	      out);
}

#undef H

/* ---------------------------------------------------------------- Markdown */

#define M(t) put_text(out, REPORT_MD, (t))

static void md_window(FILE *out, const struct report *r)
{
	char t[32];

	if (r->since) {
		fmt_time(r->since, FMT_MINUTE, t, sizeof t);
		M(t);
		fputs(" to ", out);
	} else {
		fputs("From the first record to ", out);
	}
	fmt_time(r->until, FMT_MINUTE, t, sizeof t);
	M(t);
	fputs(" UTC", out);
}

static void md_summary(FILE *out, const struct report *r)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], p[16];
	uint64_t legacy = r->lr.legacy_connections;

	fputs("## Summary\n\n", out);
	if (!r->conns)
		fputs("No TLS connection was recorded in this window.\n\n", out);
	else
		fprintf(
		    out,
		    "%s client%s made %s TLS connection%s to %s server%s. **%s connection%s (%s) "
		    "from %s client%s used legacy TLS**; %s were modern%s%s%s.\n\n",
		    num(r->clients, b1), plural(r->clients), num(r->conns, b2), plural(r->conns),
		    num(r->servers, b3), plural(r->servers), num(legacy, b4), plural(legacy),
		    percent(legacy, r->lr.connections, p), num(r->legacy_clients.n, b5),
		    plural(r->legacy_clients.n), num(modern(r), b6), unjudged(r) ? ", " : "",
		    unjudged(r) ? num(unjudged(r), b7) : "",
		    unjudged(r) ? " could not be judged (see Coverage)" : "");
	fputs("Policy: **", out);
	M(r->policy);
	fputs("**", out);
	if (r->policy_text) {
		fputs(": ", out);
		M(r->policy_text);
	}
	fputs("\n\n### Connections by negotiated version\n\n| Version | Connections | Share |\n"
	      "| --- | ---: | ---: |\n",
	      out);
	for (size_t i = 0; i < r->versions.n; i++) {
		fputs("| ", out);
		M(r->versions.v[i].name);
		fprintf(out, "%s | %s | %s |\n", r->versions.v[i].legacy ? " (legacy)" : "",
		        num(r->versions.v[i].n, b1), percent(r->versions.v[i].n, r->conns, p));
	}
	fprintf(out,
	        "\n### Top %d cipher suites\n\n| Cipher suite | Connections |\n| --- | ---: |\n",
	        r->o->top_ciphers);
	for (size_t i = 0; i < r->ciphers.n; i++) {
		fputs("| ", out);
		M(r->ciphers.v[i].name);
		fprintf(out, "%s | %s |\n", r->ciphers.v[i].legacy ? " (weak)" : "",
		        num(r->ciphers.v[i].n, b1));
	}
	if (r->ciphers.rest)
		fprintf(out, "| all others | %s |\n", num(r->ciphers.rest, b1));
	fputs("\n", out);
}

static void md_legacy(FILE *out, const struct report *r)
{
	char b[32];

	fprintf(out, "## Legacy clients (%zu)\n\n", r->legacy_clients.n);
	if (!r->lr.n) {
		fputs("No client used legacy TLS in this window.\n\n", out);
		return;
	}
	for (size_t k = 0; k < r->lr.n;) {
		enum attribution a = r->lr.v[r->order[k]].attr;

		fputs("### ", out);
		M(attr_title(a));
		fputs(" (", out);
		M(attribution_name(a));
		fputs(")\n\n> ", out);
		M(attribution_advice(a));
		fputs("\n\n| Client | Software | JA4 | Server name | Server | Service | Using | "
		      "Cipher "
		      "| Client offers up to | Deadline | First seen | Last seen | Connections |\n"
		      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | "
		      "---: |\n",
		      out);
		for (; k < r->lr.n && r->lr.v[r->order[k]].attr == a; k++) {
			const struct legacy_entry *e = &r->lr.v[r->order[k]];
			struct entry_text t;

			entry_text(r, e, &t);
			const char *cells[] = {e->client_ip,
			                       e->software ? e->software : "-",
			                       e->ja4 ? e->ja4 : "-",
			                       e->sni ? e->sni : "-",
			                       t.server,
			                       e->service ? e->service : "-",
			                       t.uses,
			                       t.cipher,
			                       t.client_max,
			                       t.deadline,
			                       t.first,
			                       t.last};

			for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
				fputs("| ", out);
				M(cells[c]);
				fputs(" ", out);
			}
			fprintf(out, "| %s |\n", num(e->connections, b));
		}
		fputs("\n", out);
	}
}

static void md_trend(FILE *out, const struct report *r)
{
	char day[32], b[32];

	fprintf(out, "## Trend\n\nConnections per %s (UTC) by negotiated version.\n\n",
	        bucket_label(r));
	if (!r->nbuckets) {
		fputs("No connections in this window.\n\n", out);
		return;
	}
	fprintf(out, "| %s |", r->bucket_days == 1 ? "Day" : "Starting");
	for (size_t v = 0; v < r->versions.n; v++) {
		fputs(" ", out);
		M(r->versions.v[v].name);
		fputs(" |", out);
	}
	fputs(" Total |\n| --- |", out);
	for (size_t v = 0; v <= r->versions.n; v++)
		fputs(" ---: |", out);
	fputs("\n", out);
	for (size_t i = 0; i < r->nbuckets; i++) {
		uint64_t sum = 0;

		fmt_time(r->day0 + (double)i * r->bucket_days * DAY, FMT_DAY, day, sizeof day);
		fprintf(out, "| %s |", day);
		for (size_t v = 0; v < r->versions.n; v++) {
			sum += r->trend[i * r->versions.n + v];
			fprintf(out, " %s |", num(r->trend[i * r->versions.n + v], b));
		}
		fprintf(out, " %s |\n", num(sum, b));
	}
	fputs("\n", out);
}

static void md_list(FILE *out, const char *title, const struct strv *sv, const uint64_t *conns)
{
	char b[32];

	fprintf(out, "### %s (%zu)\n\n", title, sv->n);
	for (size_t i = 0; i < sv->n; i++) {
		fputs("- ", out);
		M(sv->v[i]);
		if (conns)
			fprintf(out, " (%s connections, none legacy)", num(conns[i], b));
		fputs("\n", out);
	}
	fputs(sv->n ? "\n" : "None.\n\n", out);
}

static void md_changes(FILE *out, const struct report *r)
{
	char t[32];

	fputs("## Changes since the previous report\n\n", out);
	if (!r->prev.found) {
		fputs("This is the first report with this policy and these filters in this "
		      "database.\n\n",
		      out);
		return;
	}
	fmt_time(r->prev.generated, FMT_MINUTE, t, sizeof t);
	fputs("The previous report was generated ", out);
	M(t);
	fmt_time(r->prev.until, FMT_MINUTE, t, sizeof t);
	fputs(" UTC and covered until ", out);
	M(t);
	fprintf(out, " UTC; it listed %zu legacy clients.\n\n", r->prev.clients.n);
	md_list(out, "New legacy clients", &r->added, NULL);
	md_list(out, "Migrated to modern TLS", &r->migrated, r->migrated_conns);
	if (r->unseen.n)
		md_list(out, "Not seen in this window", &r->unseen, NULL);
}

static void md_coverage(FILE *out, const struct report *r)
{
	struct cov_line l[8];
	size_t n = coverage_lines(r, l);
	char b[32];

	fputs("## Coverage: what this report could not see\n\n| What | Count | Meaning |\n"
	      "| --- | ---: | --- |\n",
	      out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "| %s | %s | %s |\n", l[i].what, num(l[i].n, b), l[i].meaning);
	fprintf(out, "\n%s capture runs contributed to this window", num(r->cov.runs, b));
	fprintf(out, " (%s packets); drop and eviction counts are for whole runs and all hosts.",
	        num(r->cov.packets, b));
	if (r->cov.unfinished)
		fprintf(out, " %s runs had not ended.", num(r->cov.unfinished, b));
	fputs("\n", out);
}

static void write_md(FILE *out, const struct report *r)
{
	char t[32];

	fputs("# Legacy TLS report\n\n", out);
	md_window(out, r);
	fputs(" · database ", out);
	M(r->o->db_label);
	if (r->filters[0]) {
		fputs(" · only ", out);
		M(r->filters);
	}
	fmt_time(r->now, FMT_MINUTE, t, sizeof t);
	fprintf(out, " · generated %s UTC by tlscensus %s\n\n", t, TC_VERSION);
	md_summary(out, r);
	md_legacy(out, r);
	md_trend(out, r);
	md_changes(out, r);
	md_coverage(out, r);
}

#undef M

/* ---------------------------------------------------------------- CSV */

/*
 * Blocks, one per section, separated by an empty line; each block has its own header row and
 * every row starts with the section's name, so a spreadsheet filter on the first column (or
 * grep '^legacy,') gives one clean table. Numbers are bare; every text cell is quoted.
 */
#define C(t) put_text(out, REPORT_CSV, (t))

static void csv_pair(FILE *out, const char *section, const char *key, const char *value)
{
	fprintf(out, "%s,%s,", section, key);
	C(value);
	fputs("\r\n", out);
}

static void csv_count(FILE *out, const char *section, const char *key, uint64_t value)
{
	fprintf(out, "%s,%s,%llu\r\n", section, key, (unsigned long long)value);
}

static void csv_time(FILE *out, double t)
{
	char b[32];

	if (!t)
		return;
	fmt_time(t, "%Y-%m-%dT%H:%M:%SZ", b, sizeof b);
	fputs(b, out);
}

static void csv_head(FILE *out, const struct report *r)
{
	char b[32];

	fputs("section,field,value\r\n", out);
	fputs("report,generated,", out);
	csv_time(out, r->now);
	fputs("\r\nreport,since,", out);
	csv_time(out, r->since);
	fputs("\r\nreport,until,", out);
	csv_time(out, r->until);
	fputs("\r\n", out);
	csv_pair(out, "report", "policy", r->policy);
	csv_pair(out, "report", "filters", r->filters);
	csv_pair(out, "report", "database", r->o->db_label);
	snprintf(b, sizeof b, "%s", TC_VERSION);
	csv_pair(out, "report", "tool_version", b);
	csv_count(out, "summary", "clients", r->clients);
	csv_count(out, "summary", "servers", r->servers);
	csv_count(out, "summary", "connections", r->lr.connections);
	csv_count(out, "summary", "legacy_connections", r->lr.legacy_connections);
	csv_count(out, "summary", "modern_connections", modern(r));
	csv_count(out, "summary", "not_judged_connections", unjudged(r));
	csv_count(out, "summary", "legacy_clients", r->legacy_clients.n);
	csv_count(out, "summary", "legacy_entries", r->lr.n);
}

static void csv_tallies(FILE *out, const struct report *r)
{
	fputs("\r\nsection,version,connections,legacy\r\n", out);
	for (size_t i = 0; i < r->versions.n; i++) {
		fputs("versions,", out);
		C(r->versions.v[i].name);
		fprintf(out, ",%llu,%d\r\n", (unsigned long long)r->versions.v[i].n,
		        r->versions.v[i].legacy);
	}
	fputs("\r\nsection,cipher,value,connections,legacy\r\n", out);
	for (size_t i = 0; i < r->ciphers.n; i++) {
		fputs("ciphers,", out);
		C(r->ciphers.v[i].name);
		fprintf(out, ",\"0x%04llx\",%llu,%d\r\n", (unsigned long long)r->ciphers.v[i].value,
		        (unsigned long long)r->ciphers.v[i].n, r->ciphers.v[i].legacy);
	}
	if (r->ciphers.rest)
		fprintf(out, "ciphers,\"all others\",,%llu,\r\n",
		        (unsigned long long)r->ciphers.rest);
}

static void csv_legacy(FILE *out, const struct report *r)
{
	fputs("\r\nsection,attribution,advice,client_ip,software,ja4,sni,server_ip,server_port,"
	      "service,deadline,cutoff_date,version,negotiated,cipher,client_max_version,reason,"
	      "first_seen,last_seen,connections\r\n",
	      out);
	for (size_t k = 0; k < r->lr.n; k++) {
		const struct legacy_entry *e = &r->lr.v[r->order[k]];
		struct entry_text t;

		entry_text(r, e, &t);
		fputs("legacy,", out);
		const char *cells[] = {attribution_name(e->attr),
		                       attribution_advice(e->attr),
		                       e->client_ip,
		                       e->software,
		                       e->ja4,
		                       e->sni,
		                       e->server_ip};
		for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
			if (cells[c])
				C(cells[c]);
			fputc(',', out);
		}
		fprintf(out, "%d,", e->server_port);
		const char *more[] = {e->service, t.deadline, e->retired, t.uses};
		for (size_t c = 0; c < sizeof more / sizeof more[0]; c++) {
			if (more[c])
				C(more[c]);
			fputc(',', out);
		}
		fprintf(out, "%d,", e->negotiated ? 1 : 0);
		if (e->negotiated)
			C(t.cipher);
		fputc(',', out);
		C(t.client_max);
		fputc(',', out);
		C(e->reason);
		fputc(',', out);
		csv_time(out, e->first_seen);
		fputc(',', out);
		csv_time(out, e->last_seen);
		fprintf(out, ",%llu\r\n", (unsigned long long)e->connections);
	}
}

static void csv_trend(FILE *out, const struct report *r)
{
	char day[32];

	fprintf(out, "\r\nsection,%s", r->bucket_days == 1 ? "day" : "starting");
	for (size_t v = 0; v < r->versions.n; v++) {
		fputc(',', out);
		C(r->versions.v[v].name);
	}
	fputs(",total\r\n", out);
	for (size_t i = 0; i < r->nbuckets; i++) {
		uint64_t sum = 0;

		fmt_time(r->day0 + (double)i * r->bucket_days * DAY, FMT_DAY, day, sizeof day);
		fprintf(out, "trend,%s", day);
		for (size_t v = 0; v < r->versions.n; v++) {
			sum += r->trend[i * r->versions.n + v];
			fprintf(out, ",%llu", (unsigned long long)r->trend[i * r->versions.n + v]);
		}
		fprintf(out, ",%llu\r\n", (unsigned long long)sum);
	}
}

static void csv_changes(FILE *out, const struct report *r)
{
	const struct {
		const char *kind;
		const struct strv *sv;
	} lists[] = {
	    {"new_legacy", &r->added}, {"migrated", &r->migrated}, {"not_seen", &r->unseen}};

	fputs("\r\nsection,change,client_ip,connections\r\n", out);
	if (!r->prev.found) {
		fputs("changes,no_previous_report,,\r\n", out);
		return;
	}
	for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++)
		for (size_t i = 0; i < lists[k].sv->n; i++) {
			fprintf(out, "changes,%s,", lists[k].kind);
			C(lists[k].sv->v[i]);
			if (lists[k].sv == &r->migrated)
				fprintf(out, ",%llu\r\n", (unsigned long long)r->migrated_conns[i]);
			else
				fputs(",\r\n", out);
		}
}

static void csv_coverage(FILE *out, const struct report *r)
{
	const struct legacy_unknown *u = &r->lr.unknown;

	fputs("\r\nsection,field,value\r\n", out);
	csv_count(out, "coverage", "malformed", u->malformed);
	csv_count(out, "coverage", "truncated", u->truncated);
	csv_count(out, "coverage", "one_sided", u->one_sided);
	csv_count(out, "coverage", "midstream", u->midstream);
	csv_count(out, "coverage", "kernel_drops", r->cov.kernel_drops);
	csv_count(out, "coverage", "queue_drops", r->cov.queue_drops);
	csv_count(out, "coverage", "flows_evicted", r->cov.flows_evicted);
	csv_count(out, "coverage", "undecodable_packets", r->cov.undecodable);
	csv_count(out, "coverage", "runs", r->cov.runs);
	csv_count(out, "coverage", "runs_not_ended", r->cov.unfinished);
	csv_count(out, "coverage", "packets", r->cov.packets);
}

static void write_csv(FILE *out, const struct report *r)
{
	csv_head(out, r);
	csv_tallies(out, r);
	csv_legacy(out, r);
	csv_trend(out, r);
	csv_changes(out, r);
	csv_coverage(out, r);
}

#undef C

/* One line per format: adding one touches this table and its writer. */
static const struct {
	const char *name;
	void (*write)(FILE *out, const struct report *r);
} writers[] = {
    [REPORT_HTML] = {"html", write_html},
    [REPORT_MD] = {"md", write_md},
    [REPORT_CSV] = {"csv", write_csv},
};

/* ---------------------------------------------------------------- output and record */

/* Writes to a temporary file beside the target and renames it, so a scheduled report is never
 * seen half written. */
static int write_file(const struct report *r, void (*writer)(FILE *, const struct report *),
                      const char *path)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + 8);
	mode_t mask = umask(0);
	int fd, rc = -1;
	FILE *out = NULL;

	umask(mask);
	if (!tmp)
		goto fail;
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".XXXXXX", 8);
	fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	if (fchmod(fd, 0666 & ~mask) != 0 || !(out = fdopen(fd, "w"))) {
		close(fd);
		goto fail;
	}
	writer(out, r);
	if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0)
		goto fail;
	if (fclose(out) != 0) {
		out = NULL;
		goto fail;
	}
	out = NULL;
	if (rename(tmp, path) != 0)
		goto fail;
	rc = 0;
fail:
	if (rc) {
		int e = errno;

		fprintf(stderr,
		        "tlscensus: cannot write the report '%s': %s; check that the directory "
		        "exists and is writable\n",
		        path, strerror(e));
		if (out)
			fclose(out);
		if (tmp)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* The report's legacy clients as a JSON array; the addresses are inert text, so only '"' and
 * '\' could need escaping. */
static char *clients_json(const struct strv *sv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputc('[', f);
	for (size_t i = 0; i < sv->n; i++) {
		char *clean = text_inert(sv->v[i], strlen(sv->v[i]), 0);

		fputs(i ? ",\"" : "\"", f);
		for (const char *p = clean ? clean : ""; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputc('"', f);
		free(clean);
	}
	fputc(']', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The report's only write, on a connection of its own: the census data stays behind the
 * read-only handle. A database the report may not write (another user's capture) only loses
 * the memory of this report, so that is a warning, not a failure.
 */
static void record_report(const struct report *r, const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *json = clients_json(&r->legacy_clients);
	int rc = json ? sqlite3_open_v2(store_path(r->s), &db, SQLITE_OPEN_READWRITE, NULL)
	              : SQLITE_NOMEM;

	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, REPORT_BUSY_MS);
		rc = sqlite3_exec(db, reports_schema, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db,
		                        "INSERT INTO reports (generated_at, since, until, policy, "
		                        "scope, format, path, legacy_clients) "
		                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_double(st, 1, r->now);
		if (r->since)
			sqlite3_bind_double(st, 2, r->since);
		sqlite3_bind_double(st, 3, r->until);
		sqlite3_bind_text(st, 4, r->policy, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->scope, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, writers[r->o->format].name, -1, SQLITE_STATIC);
		if (path)
			sqlite3_bind_text(st, 7, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, json, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	if (rc != SQLITE_OK)
		fprintf(
		    stderr,
		    "tlscensus: warning: database '%s': cannot remember this report (%s); the next "
		    "'--since last' and 'changes' will not know it. Run the report as a user who "
		    "may write the database, or pass --no-record\n",
		    store_path(r->s), db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(json);
}

static void report_free(struct report *r)
{
	legacy_result_free(&r->lr);
	free(r->order);
	strv_free(&r->legacy_clients);
	tallies_free(&r->versions);
	tallies_free(&r->ciphers);
	free(r->trend);
	free(r->prev.path);
	strv_free(&r->prev.clients);
	strv_free(&r->added);
	strv_free(&r->migrated);
	strv_free(&r->unseen);
	free(r->migrated_conns);
	sqlite3_create_function(store_db(r->s), "tc_report_scope", 4, SQLITE_UTF8, NULL, NULL, NULL,
	                        NULL);
}

int report_run(struct store *s, const struct report_options *o)
{
	struct report r = {.o = o, .s = s};
	char path[4096];
	int rc = REPORT_ERR_DATABASE;

	r.now = (double)(long long)tc_now_unix(); /* whole seconds, for the window and the record */
	r.since = o->q.since;
	r.until = o->q.until ? o->q.until : r.now;
	r.until_given = o->q.until != 0;
	/* The policy's name is part of the previous report's key; legacy_collect would give it
	 * too, but --since last must be known before the window is. */
	r.policy = o->q.policy ? policy_name(o->q.policy) : "default";
	describe_scope(&r);
	if (o->output) {
		time_t now = (time_t)r.now;
		struct tm tm;

		/* The name is a strftime pattern on purpose (-o legacy-%Y-%m-%d.html); strftime
		 * writes only into path, bounded, whatever the pattern holds. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		size_t n = localtime_r(&now, &tm) ? strftime(path, sizeof path, o->output, &tm) : 0;
#pragma GCC diagnostic pop
		if (!n) {
			fprintf(stderr,
			        "tlscensus: the report file name '%s' is empty or too long\n",
			        o->output);
			return REPORT_ERR_OUTPUT;
		}
	}
	if (store_flush(s) || find_previous(&r))
		goto out;
	if (o->since_last)
		r.since = r.prev.found ? r.prev.until : 0;
	if (gather(&r))
		goto out;
	if (o->output) {
		if (write_file(&r, writers[o->format].write, path)) {
			rc = REPORT_ERR_OUTPUT;
			goto out;
		}
	} else {
		writers[o->format].write(stdout, &r);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "tlscensus: cannot write the report: %s\n",
			        strerror(errno));
			rc = REPORT_ERR_OUTPUT;
			goto out;
		}
	}
	if (o->record)
		record_report(&r, o->output ? path : NULL);
	rc = o->fail_on_legacy && r.lr.n ? REPORT_LEGACY_FOUND : REPORT_OK;
out:
	report_free(&r);
	return rc;
}
