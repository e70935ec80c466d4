/*
 * report.c: the report room's driver. For one time window it gathers into one struct report the
 * legacy room's answer (legacy_collect), the traffic mix, a per-day trend, the change since the
 * previous report and what the census could not see; then one format (render_*.c) writes it, to
 * standard output or to a file that appears whole. It reads the store read-only; its one write
 * is a row of the reports table, on a connection of its own. It formats no section itself.
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
#include "report_int.h"
#include "store.h"
#include "text.h"
#include "util.h"
#include "version.h"

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

static void tallies_free(struct tallies *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof *t);
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

/* The rows of the chart and of the trend tables, built once for every format. */
static int trend_rows(struct report *r)
{
	r->rows = calloc(r->nbuckets + 1, sizeof *r->rows);
	if (!r->rows)
		return oom(r);
	for (size_t b = 0; b < r->nbuckets; b++) {
		struct trend_row *row = &r->rows[b];

		row->start = r->day0 + (double)b * r->bucket_days * DAY;
		report_time(row->start, FMT_DAY, row->day, sizeof row->day);
		row->n = &r->trend[b * r->versions.n];
		for (size_t i = 0; i < r->versions.n; i++)
			row->total += row->n[i];
		if (row->total > r->trend_max)
			r->trend_max = row->total;
	}
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
	return trend_rows(r);
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

/* One line per format: adding one touches this table and its render_*.c. */
static const struct report_renderer *const renderers[] = {
    [REPORT_HTML] = &report_html,
    [REPORT_MD] = &report_md,
    [REPORT_CSV] = &report_csv,
};

/* Every section in the one order, each as the format writes it. */
static void render(FILE *out, const struct report_renderer *f, const struct report *r)
{
	void (*const sections[])(FILE *, const struct report *) = {
	    f->header, f->summary, f->legacy, f->trend, f->changes, f->coverage, f->footer};

	for (size_t i = 0; i < COUNT_OF(sections); i++)
		if (sections[i])
			sections[i](out, r);
}

/* ---------------------------------------------------------------- output and record */

/* Writes to a temporary file beside the target and renames it, so a scheduled report is never
 * seen half written. */
static int write_file(const struct report *r, const struct report_renderer *f, const char *path)
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
	render(out, f, r);
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
		sqlite3_bind_text(st, 6, renderers[r->o->format]->name, -1, SQLITE_STATIC);
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
	free(r->rows);
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
	struct timespec ts;
	char path[4096];
	int rc = REPORT_ERR_DATABASE;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.now = (double)ts.tv_sec;
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
		if (write_file(&r, renderers[o->format], path)) {
			rc = REPORT_ERR_OUTPUT;
			goto out;
		}
	} else {
		render(stdout, renderers[o->format], &r);
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
