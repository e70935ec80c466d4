/*
 * report.c: the report room's driver. For one time window it gathers into one struct report the
 * legacy room's answer (legacy_collect), the traffic mix, a per-day trend, the change since the
 * previous report and what the census could not see; then one format (render_*.c) writes it, to
 * standard output or to a file that appears whole. The figures come from the store as plain
 * structs (report_read.h), and so does its one write, a row of the reports table
 * (store_report_save): no SQL here. It formats no section itself.
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

#include "ciphers.h"
#include "legacy.h"
#include "report_int.h"
#include "report_read.h"
#include "reader.h"
#include "store.h"
#include "util.h"
#include "version.h"

#define CHART_MAX_BARS 186 /* more days than this are drawn as weeks, then as 30-day spans */

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

static int oom(const struct report *r)
{
	fprintf(stderr, "tlscensus: database '%s': out of memory for the report\n", r->s->name);
	return -1;
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

static int gather_totals(struct report *r)
{
	struct store_totals t;

	if (r->s->ops->totals(r->s->self, &r->where, &t))
		return -1;
	r->conns = t.connections;
	r->clients = t.clients;
	r->servers = t.servers;
	r->tcp_conns = t.tcp;
	r->dtls_conns = t.dtls;
	r->quic_conns = t.quic;
	r->data_first = t.first;
	r->data_last = t.last;
	return 0;
}

static int gather_versions(struct report *r)
{
	struct store_count *c;
	size_t n;
	int rc = r->s->ops->versions(r->s->self, &r->where, &c, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		char name[REPORT_VERSION_MAX];

		if (c[i].value < 0)
			snprintf(name, sizeof name, "no ServerHello");
		else
			report_version_name(c[i].value, name);
		if (tally_add(&r->versions, c[i].value, name, c[i].legacy, c[i].n))
			rc = oom(r);
	}
	free(c);
	return rc;
}

/* The top suites by name, the rest as one count; legacy as the cipher registry says. */
static int gather_ciphers(struct report *r)
{
	struct store_count *c;
	size_t n;
	int rc = r->s->ops->ciphers(r->s->self, &r->where, &c, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint32_t v = (uint32_t)c[i].value;
		char hex[16];

		if (r->ciphers.n >= (size_t)r->o->top_ciphers) {
			r->ciphers.rest += c[i].n;
			continue;
		}
		snprintf(hex, sizeof hex, "0x%04x", v);
		if (tally_add(&r->ciphers, v, cipher_name(v) ? cipher_name(v) : hex,
		              cipher_is_legacy(v), c[i].n))
			rc = oom(r);
	}
	free(c);
	return rc;
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
	struct store_trend_count *c;
	uint64_t days;
	size_t n;

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
	if (r->bucket_days == 1 || r->bucket_days == 7)
		snprintf(r->bucket_name, sizeof r->bucket_name,
		         r->bucket_days == 1 ? "day" : "week");
	else
		snprintf(r->bucket_name, sizeof r->bucket_name, "%d-day period", r->bucket_days);
	r->trend = calloc(r->nbuckets * r->versions.n + 1, sizeof *r->trend);
	if (!r->trend)
		return oom(r);
	if (r->s->ops->trend(r->s->self, &r->where, r->day0, (double)r->bucket_days * DAY, &c, &n))
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (c[k].span < 0 || (uint64_t)c[k].span >= r->nbuckets)
			continue;
		for (size_t i = 0; i < r->versions.n; i++)
			if (r->versions.v[i].value == c[k].version)
				r->trend[(size_t)c[k].span * r->versions.n + i] += c[k].n;
	}
	free(c);
	return trend_rows(r);
}

/* ---------------------------------------------------------------- post-quantum readiness */

static int pq_client_cmp(const void *a, const void *b)
{
	const struct pq_client *x = a, *y = b;

	return legacy_address_cmp(x->client_ip, y->client_ip);
}

/* The row of client among v[0..n) (sorted); NULL when it has none yet. */
static struct pq_client *pq_find(struct pq_client *v, size_t n, const char *client)
{
	struct pq_client key = {.client_ip = client};

	return n ? bsearch(&key, v, n, sizeof *v, pq_client_cmp) : NULL;
}

/* One row per client: the judge's entries by attribution, and what it accepted. */
static int gather_pq_clients(struct report *r)
{
	const struct legacy_result *lr = &r->lr;
	size_t ngroups = 0, n = 0;
	struct legacy_group_totals *g = legacy_groups(lr, GROUP_CLIENT, SORT_CLIENT, &ngroups);

	r->pq = calloc(ngroups + lr->n_accepted + 1, sizeof *r->pq);
	if (!g || !r->pq) {
		free(g);
		return oom(r);
	}
	for (size_t i = 0; i < ngroups; i++) {
		r->pq[n].client_ip = g[i].key;
		r->pq[n].connections = g[i].connections;
		memcpy(r->pq[n].by_attr, g[i].by_attr, sizeof r->pq[n].by_attr);
		n++;
	}
	free(g);
	qsort(r->pq, n, sizeof *r->pq, pq_client_cmp);
	for (size_t i = 0, had = n; i < lr->n_accepted; i++) {
		struct pq_client *c = pq_find(r->pq, had, lr->accepted[i].client_ip);

		if (!c) {
			c = &r->pq[n++];
			c->client_ip = lr->accepted[i].client_ip;
		}
		c->ready += lr->accepted[i].connections;
		c->connections += lr->accepted[i].connections;
	}
	qsort(r->pq, n, sizeof *r->pq, pq_client_cmp);
	for (size_t i = 0; i < lr->n; i++) {
		struct pq_client *c = pq_find(r->pq, n, lr->v[i].client_ip);

		if (c && !c->software && lr->v[i].software)
			c->software = lr->v[i].software;
	}
	r->npq = n;
	return 0;
}

/* Connections per trend span by the kind of key_share group negotiated. */
static int gather_pq_trend(struct report *r)
{
	struct store_trend_count *c;
	size_t n;

	r->pq_trend = calloc(r->nbuckets * KX_COLS + 1, sizeof *r->pq_trend);
	if (!r->pq_trend)
		return oom(r);
	if (!r->nbuckets)
		return 0;
	if (r->s->ops->group_trend(r->s->self, &r->where, r->day0, (double)r->bucket_days * DAY, &c,
	                           &n))
		return -1;
	for (size_t k = 0; k < n; k++)
		if (c[k].span >= 0 && (uint64_t)c[k].span < r->nbuckets)
			r->pq_trend[(size_t)c[k].span * KX_COLS + report_kx_col(c[k].version)] +=
			    c[k].n;
	free(c);
	return 0;
}

static int gather_pq(struct report *r)
{
	if (!r->lr.judges_groups)
		return 0;
	return gather_pq_clients(r) || gather_pq_trend(r) ? -1 : 0;
}

/* ---------------------------------------------------------------- previous report */

static int find_previous(struct report *r)
{
	struct store_report_prev p;
	int rc = r->s->ops->previous(r->s->self, r->policy, r->scope, &p);

	if (rc <= 0) {
		store_report_prev_free(&p);
		return rc;
	}
	r->prev.found = 1;
	r->prev.generated = p.generated;
	r->prev.since = p.since;
	r->prev.until = p.until;
	r->prev.path = p.path;
	r->prev.clients = (struct strv){p.clients, p.nclients, p.nclients};
	strv_sort(&r->prev.clients);
	return 0;
}

/* Each client of the previous list is now legacy still (nothing to say), new, migrated (seen
 * with modern TLS only) or not seen at all. */
static int gather_changes(struct report *r)
{
	size_t n = r->prev.clients.n, asked = 0;
	const char **ask;
	uint64_t *conns;
	int rc = 0;

	if (!r->prev.found)
		return 0;
	for (size_t i = 0; i < r->legacy_clients.n; i++)
		if (!strv_has(&r->prev.clients, r->legacy_clients.v[i]) &&
		    strv_add(&r->added, r->legacy_clients.v[i]))
			return oom(r);
	ask = malloc((n + 1) * sizeof *ask);
	conns = calloc(n + 1, sizeof *conns);
	r->migrated_conns = calloc(n + 1, sizeof *r->migrated_conns);
	if (!ask || !conns || !r->migrated_conns) {
		rc = oom(r);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!strv_has(&r->legacy_clients, r->prev.clients.v[i]))
			ask[asked++] = r->prev.clients.v[i];
	if (r->s->ops->client_connections(r->s->self, &r->where, ask, asked, conns)) {
		rc = -1;
		goto out;
	}
	for (size_t k = 0; rc == 0 && k < asked; k++) {
		if (conns[k]) {
			r->migrated_conns[r->migrated.n] = conns[k];
			rc = strv_add(&r->migrated, ask[k]) ? oom(r) : 0;
		} else {
			rc = strv_add(&r->unseen, ask[k]) ? oom(r) : 0;
		}
	}
out:
	free(ask);
	free(conns);
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

	r->where = (struct store_scope){.since = r->since,
	                                .until = r->until,
	                                .client = &r->o->q.client,
	                                .server = &r->o->q.server,
	                                .sni_glob = r->o->q.sni_glob,
	                                .port = r->o->q.port};
	if (gather_totals(r) || gather_versions(r) || gather_ciphers(r) || gather_trend(r) ||
	    gather_pq(r) || r->s->ops->coverage(r->s->self, r->since, r->until, r->now, &r->cov) ||
	    gather_changes(r))
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
	    f->header, f->summary, f->kx_summary, f->legacy, r->lr.judges_groups ? f->pq : NULL,
	    f->trend,  f->changes, f->coverage,   f->footer};

	for (size_t i = 0; i < COUNT_OF(sections); i++)
		if (sections[i])
			sections[i](out, r);
}

/* ---------------------------------------------------------------- dated files */

/* A name with a strftime conversion (other than %%) is a dated series of reports. */
static int is_dated(const char *pattern)
{
	for (const char *p = pattern; (p = strchr(p, '%')); p += 2) {
		if (p[1] != '%')
			return 1;
	}
	return 0;
}

/* The window as one token: both ends (".." for an open start, as ISO 8601 writes it) and a
 * hash (FNV-1a) of the policy and the filters, the key of the series. */
static void window_token(struct report *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char since[32] = "..", until[32];

	for (const char *p = r->policy; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = (h ^ '\n') * 0x100000001b3ULL;
	for (const char *p = r->scope; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	if (r->since)
		report_time(r->since, "%Y-%m-%dT%H:%M:%SZ", since, sizeof since);
	report_time(r->until, "%Y-%m-%dT%H:%M:%SZ", until, sizeof until);
	snprintf(r->window, sizeof r->window, "%s/%s;%016llx", since, until, (unsigned long long)h);
}

/* Whether the file at path is a report of this window and series: its marker is among the
 * first bytes (the renderers write it in their header). */
static int same_window(const struct report *r, const char *path)
{
	char head[8192], marker[160];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(head, 1, sizeof head - 1, f);
	fclose(f);
	head[n] = '\0';
	report_window_marker(r, r->o->format, marker, sizeof marker);
	return strstr(head, marker) != NULL; /* a report holds no NUL byte */
}

/* name-K.ext for name.ext (the extension of the last component only), name-K without one. */
static int suffixed(const char *path, unsigned k, char *out, size_t len)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	size_t stem = dot && dot > (slash ? slash + 1 : path) ? (size_t)(dot - path) : strlen(path);
	int n = snprintf(out, len, "%.*s-%u%s", (int)stem, path, k, path + stem);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

/*
 * Puts the written temporary file at path. A dated name (-o legacy-%Y-%m-%d.html) that already
 * holds a report of another window is kept: the report goes to name-2.ext, name-3.ext... (the
 * first free one, or the one of this window), and path is changed to say where. link(2) claims
 * a free name without a race with another report; a filesystem without hard links gets a
 * check, then rename(2).
 */
static int place_file(const struct report *r, const char *tmp, char *path, size_t len)
{
	char cand[4096];

	if (!is_dated(r->o->output))
		return rename(tmp, path);
	for (unsigned k = 1; k < 1000; k++) {
		if (k == 1)
			snprintf(cand, sizeof cand, "%s", path);
		else if (suffixed(path, k, cand, sizeof cand)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (link(tmp, cand) == 0) {
			unlink(tmp);
		} else if (errno == EEXIST) {
			if (!same_window(r, cand))
				continue;
			if (rename(tmp, cand) != 0)
				return -1;
		} else if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP) {
			if (access(cand, F_OK) == 0 && !same_window(r, cand))
				continue;
			if (rename(tmp, cand) != 0)
				return -1;
		} else {
			return -1;
		}
		if (k > 1)
			fprintf(stderr,
			        "tlscensus: '%s' holds the report of another window; this report "
			        "is '%s'\n",
			        path, cand);
		snprintf(path, len, "%s", cand);
		return 0;
	}
	errno = EEXIST;
	return -1;
}

/* ---------------------------------------------------------------- output and record */

/* Writes to a temporary file beside the target and renames it, so a scheduled report is never
 * seen half written. path: where the report went, on return. */
static int write_file(const struct report *r, const struct report_renderer *f, char *path,
                      size_t pathlen)
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
	if (place_file(r, tmp, path, pathlen) != 0)
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

/*
 * The report's only write: a database the report may not write (another user's capture) only
 * loses the memory of this report, so that is a warning, not a failure.
 */
static void record_report(const struct report *r, const char *path)
{
	const struct store_report_row row = {
	    .generated = r->now,
	    .since = r->since,
	    .until = r->until,
	    .policy = r->policy,
	    .scope = r->scope,
	    .format = renderers[r->o->format]->name,
	    .path = path,
	    .clients = (const char *const *)r->legacy_clients.v,
	    .nclients = r->legacy_clients.n,
	};
	char err[512];

	if (r->s->ops->save(r->s->self, &row, err, sizeof err))
		fprintf(
		    stderr,
		    "tlscensus: warning: database '%s': cannot remember this report (%s); the next "
		    "'--since last' and 'changes' will not know it. Run the report as a user who "
		    "may write the database, or pass --no-record\n",
		    r->s->name, err);
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
	free(r->pq);
	free(r->pq_trend);
}

int report_run(const struct census_reader *s, const struct report_options *o)
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
	if (s->ops->flush(s->self) || find_previous(&r))
		goto out;
	if (o->since_last)
		r.since = r.prev.found ? r.prev.until : 0;
	if (gather(&r))
		goto out;
	window_token(&r);
	if (o->output) {
		if (write_file(&r, renderers[o->format], path, sizeof path)) {
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
