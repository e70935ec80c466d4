/*
 * legacy.c: who still uses legacy TLS, who must fix it, and by when. Reads the inventory (or,
 * for a time window the connection rows still cover, the connection rows themselves), judges
 * each way a client met a server under a policy, attributes it, names the service and its
 * cutoff from the provider catalog, and prints the result. It never writes to the database.
 *
 * Attribution, in the order of enum attribution (the first that applies wins):
 *   failing         no ServerHello, or a protocol_version (70), handshake_failure (40) or
 *                   inappropriate_fallback (86) alert: already broken
 *   fallback        TLS_FALLBACK_SCSV in the ClientHello (RFC 7507), or a retry: within 60 s
 *                   after a failed connection from the same client to the same server endpoint
 *                   and SNI that offered a higher version. One definition, the view
 *                   inventory_keys in store.c, serves both readers: the inventory takes it when
 *                   the row is written, so there a retry is recognised when the failed attempt
 *                   was recorded first (the usual order: a refused connection closes before the
 *                   retry's handshake completes); a window read from the connection rows asks
 *                   it afresh, whatever the order
 *   client-limited  the client's highest offered version is legacy under the policy
 *   server-limited  the client offered an acceptable version, the server chose a legacy one
 *   cipher          the version is acceptable, the negotiated suite is not
 *
 * Connections whose hellos could not be parsed (parse_status truncated, malformed, one_sided,
 * midstream) are not judged at all: they are counted in the "unknown" bucket. A one-sided
 * capture would otherwise look like a refused connection. The inventory keeps truncated,
 * malformed and one-sided rows; a midstream connection has no hello, hence no inventory row,
 * so it is counted from the connection rows, and --retain pruning forgets it.
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "addr.h"
#include "catalog.h"
#include "ciphers.h"
#include "hints.h"
#include "legacy.h"
#include "text.h"
#include "util.h"
#include "version.h"
#include "tlscensus/hello.h"

/* Cells longer than this are cut in the table (CSV and JSON keep them whole). */
#define TABLE_SNI_MAX      40
#define TABLE_CIPHER_MAX   40
#define TABLE_SERVICE_MAX  24
#define TABLE_SOFTWARE_MAX 24

/* ---------------------------------------------------------------- names */

const char *attribution_name(enum attribution a)
{
	static const char *const names[ATTR_COUNT] = {
	    [ATTR_FAILING] = "failing",       [ATTR_FALLBACK] = "fallback",
	    [ATTR_CLIENT] = "client-limited", [ATTR_SERVER] = "server-limited",
	    [ATTR_CIPHER] = "cipher",
	};
	return a < ATTR_COUNT ? names[a] : "?";
}

const char *attribution_advice(enum attribution a)
{
	static const char *const advice[ATTR_COUNT] = {
	    [ATTR_FAILING] = "Already broken: the server refuses what this client offers. Update "
	                     "the client, unless the server is the one that should still serve it.",
	    [ATTR_FALLBACK] = "The client can speak newer TLS but retried with an older version "
	                      "after a failed attempt: find out why the newer handshake failed "
	                      "(a middlebox, a server bug).",
	    [ATTR_CLIENT] = "The client offers nothing newer: update or reconfigure the client "
	                    "(its operating system, TLS library or runtime).",
	    [ATTR_SERVER] = "The client offered a current version but the server chose an older "
	                    "one: upgrade or reconfigure the server.",
	    [ATTR_CIPHER] = "The version is fine but the cipher suite is not: remove the suite "
	                    "from the server's configuration (or the client's offer).",
	};
	return a < ATTR_COUNT ? advice[a] : "";
}

static void day_text(double t, char buf[11])
{
	time_t tt = (time_t)floor(t);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 11, "%Y-%m-%d", &tm);
}

void legacy_deadline_text(const char *date, double now, char *buf, size_t len)
{
	char today[11];

	day_text(now, today);
	/* YYYY-MM-DD compares as text. */
	snprintf(buf, len, strcmp(date, today) <= 0 ? "failing since %s" : "fails on %s", date);
}

/* ---------------------------------------------------------------- collecting */

/* One row of the inventory (or of the connection rows grouped the same way). */
struct raw {
	char *client_ip, *server_ip, *sni, *ja3, *ja4;
	int server_port;
	int version, cipher, ch_max, alert; /* -1: none */
	int scsv, retry;
	uint64_t conns;
	double first, last;
};

/* The columns both readers return, in this order. */
enum {
	R_CLIENT,
	R_SERVER,
	R_PORT,
	R_SNI,
	R_VERSION,
	R_CIPHER,
	R_CH_MAX,
	R_JA3,
	R_JA4,
	R_ALERT,
	R_SCSV,
	R_RETRY,
	R_STATUS,
	R_CONNS,
	R_FIRST,
	R_LAST,
};

#define RAW_KEY_COLUMNS                                                                            \
	"client_ip, server_ip, server_port, sni, version, cipher, ch_max_version, ja3, ja4, "      \
	"alert_desc, fallback_scsv, retry, parse_status"

/* The inventory: a row overlapping the window counts whole (its connections are not dated
 * one by one any more). */
static const char inventory_sql[] =
    "SELECT " RAW_KEY_COLUMNS ", connections, first_seen, last_seen FROM inventory "
    "WHERE last_seen >= ?1 AND first_seen <= ?2 AND (?3 = 0 OR server_port = ?3)";

/* The connection rows, grouped like the inventory: exact for a window they cover. */
static const char connections_sql[] =
    "SELECT " RAW_KEY_COLUMNS ", count(*), min(first_ts), max(first_ts) FROM inventory_keys "
    "WHERE first_ts >= ?1 AND first_ts <= ?2 AND (?3 = 0 OR server_port = ?3) "
    "GROUP BY " RAW_KEY_COLUMNS;

/* Connections without any hello (the capture began mid-stream): no inventory row has them. */
static const char midstream_sql[] =
    "SELECT client_ip, server_ip, count(*) FROM connections "
    "WHERE ch_version IS NULL AND sh_version IS NULL "
    "AND first_ts >= ?1 AND first_ts <= ?2 AND (?3 = 0 OR server_port = ?3) "
    "GROUP BY client_ip, server_ip";

/* A legacy row, judged, before the rows of one entry fold together. */
struct judged {
	struct raw r;
	uint16_t eff;
	int negotiated;
	enum attribution attr;
	const char *reason; /* policy-owned */
	unsigned char ckey[17], skey[17];
};

struct collector {
	struct store *store;
	const struct legacy_query *q;
	const struct policy *policy;
	struct catalog *catalog;
	struct hints *hints;
	struct legacy_result *out;
	struct judged *v;
	size_t n, cap;
};

static void raw_free(struct raw *r)
{
	free(r->client_ip), free(r->server_ip), free(r->sni), free(r->ja3), free(r->ja4);
}

static char *col_text(sqlite3_stmt *st, int col, int empty_is_null)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	if (!t || (empty_is_null && !*t))
		return NULL;
	return strdup(t);
}

/* Numeric address order: IPv4 before IPv6, then by bytes. */
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

static int filtered_out(const struct legacy_query *q, const char *client, const char *server,
                        const char *sni)
{
	return !cidr_match(&q->client, client) || !cidr_match(&q->server, server) ||
	       (q->sni_glob && !filter_glob_match(q->sni_glob, sni));
}

static enum attribution attribute(const struct policy *p, const struct raw *r, uint16_t eff,
                                  int negotiated)
{
	if (!negotiated || r->alert == 40 || r->alert == 70 || r->alert == 86)
		return ATTR_FAILING;
	if (r->scsv || r->retry)
		return ATTR_FALLBACK;
	if (r->ch_max >= 0 && !policy_accepts_version(p, (uint16_t)r->ch_max))
		return ATTR_CLIENT;
	if (!policy_accepts_version(p, eff))
		return ATTR_SERVER;
	return ATTR_CIPHER;
}

static void count_unknown(struct legacy_unknown *u, const char *status, uint64_t n)
{
	if (!strcmp(status, "truncated"))
		u->truncated += n;
	else if (!strcmp(status, "malformed"))
		u->malformed += n;
	else if (!strcmp(status, "one_sided"))
		u->one_sided += n;
	else
		u->midstream += n; /* "midstream", or a status this build does not know */
}

/* Judges one row; a legacy one is kept (taking r's strings), anything else freed. */
static int take_row(struct collector *c, struct raw *r, const char *status)
{
	struct judged *j;
	uint16_t eff;
	int negotiated = r->version >= 0;
	const char *reason;

	c->out->connections += r->conns;
	if (strcmp(status, "ok")) {
		count_unknown(&c->out->unknown, status, r->conns);
		raw_free(r);
		return 0;
	}
	eff = (uint16_t)(negotiated ? r->version : r->ch_max);
	if (!negotiated && r->ch_max < 0) {
		raw_free(r); /* neither hello's version: nothing to judge */
		return 0;
	}
	reason = policy_judge(c->policy, eff, negotiated,
	                      !negotiated     ? 0
	                      : r->cipher < 0 ? POLICY_NO_CIPHER
	                                      : (uint32_t)r->cipher);
	if (!reason) {
		raw_free(r);
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct judged *v = realloc(c->v, cap * sizeof *v);

		if (!v) {
			raw_free(r);
			return -1;
		}
		c->v = v;
		c->cap = cap;
	}
	j = &c->v[c->n++];
	j->r = *r;
	j->eff = eff;
	j->negotiated = negotiated;
	j->reason = reason;
	j->attr = attribute(c->policy, r, eff, negotiated);
	ip_key(r->client_ip, j->ckey);
	ip_key(r->server_ip, j->skey);
	c->out->legacy_connections += r->conns;
	return 0;
}

static void bind_window(sqlite3_stmt *st, const struct legacy_query *q)
{
	sqlite3_bind_double(st, 1, q->since > 0 ? q->since : -1e300);
	sqlite3_bind_double(st, 2, q->until > 0 ? q->until : 1e300);
	sqlite3_bind_int(st, 3, q->port);
}

static int read_rows(struct collector *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store_db(c->store), sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		bind_window(st, c->q);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = (const char *)sqlite3_column_text(st, R_STATUS);
		struct raw r = {
		    .client_ip = col_text(st, R_CLIENT, 0),
		    .server_ip = col_text(st, R_SERVER, 0),
		    .sni = col_text(st, R_SNI, 1),
		    .ja3 = col_text(st, R_JA3, 1),
		    .ja4 = col_text(st, R_JA4, 1),
		    .server_port = sqlite3_column_int(st, R_PORT),
		    .version = sqlite3_column_int(st, R_VERSION),
		    .cipher = sqlite3_column_int(st, R_CIPHER),
		    .ch_max = sqlite3_column_int(st, R_CH_MAX),
		    .alert = sqlite3_column_int(st, R_ALERT),
		    .scsv = sqlite3_column_int(st, R_SCSV),
		    .retry = sqlite3_column_int(st, R_RETRY),
		    .conns = (uint64_t)sqlite3_column_int64(st, R_CONNS),
		    .first = sqlite3_column_double(st, R_FIRST),
		    .last = sqlite3_column_double(st, R_LAST),
		};

		rc = SQLITE_OK;
		if (!r.client_ip || !r.server_ip) {
			raw_free(&r);
			rc = SQLITE_NOMEM;
		} else if (filtered_out(c->q, r.client_ip, r.server_ip, r.sni)) {
			raw_free(&r);
		} else if (take_row(c, &r, status ? status : "ok")) {
			rc = SQLITE_NOMEM;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

static int read_midstream(struct collector *c)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store_db(c->store), midstream_sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		bind_window(st, c->q);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *client = (const char *)sqlite3_column_text(st, 0);
		const char *server = (const char *)sqlite3_column_text(st, 1);
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);

		rc = SQLITE_OK;
		/* No hello, so no SNI: a --sni filter excludes these. */
		if (filtered_out(c->q, client, server, NULL))
			continue;
		c->out->unknown.midstream += n;
		c->out->connections += n;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

static int query_double(struct store *s, const char *sql, double *out)
{
	sqlite3_stmt *st = NULL;
	int have = 0;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_double(st, 0);
		have = 1;
	}
	sqlite3_finalize(st);
	return have;
}

/*
 * Which rows answer: the inventory without a window (it is small and outlives --retain); with a
 * window, the connection rows when they still cover it (nothing was pruned from its start on),
 * since they date every connection; otherwise the inventory rows that overlap the window.
 */
static int use_connections(struct store *s, const struct legacy_query *q)
{
	double conn_min, inv_min;
	int have_conn, pruned;

	if (q->since <= 0 && q->until <= 0)
		return 0;
	have_conn = query_double(s, "SELECT min(first_ts) FROM connections", &conn_min);
	pruned = query_double(s, "SELECT min(first_seen) FROM inventory", &inv_min) &&
	         (!have_conn || inv_min < conn_min);
	if (!pruned)
		return 1;
	return have_conn && q->since > 0 && q->since >= conn_min;
}

/* ---------------------------------------------------------------- folding into entries */

/* Rows of one entry share these; the rest (fingerprints, alerts, ...) folds. */
static int judged_key_cmp(const struct judged *x, const struct judged *y)
{
	int c = memcmp(x->ckey, y->ckey, 17);

	if (!c)
		c = strcmp(x->r.client_ip, y->r.client_ip);
	if (!c)
		c = memcmp(x->skey, y->skey, 17);
	if (!c)
		c = strcmp(x->r.server_ip, y->r.server_ip);
	if (!c)
		c = (x->r.server_port > y->r.server_port) - (x->r.server_port < y->r.server_port);
	if (!c)
		c = strcmp(x->r.sni ? x->r.sni : "", y->r.sni ? y->r.sni : "");
	if (!c)
		c = (x->eff > y->eff) - (x->eff < y->eff);
	if (!c)
		c = x->negotiated - y->negotiated;
	if (!c)
		c = (x->r.cipher > y->r.cipher) - (x->r.cipher < y->r.cipher);
	if (!c)
		c = (x->r.ch_max > y->r.ch_max) - (x->r.ch_max < y->r.ch_max);
	if (!c)
		c = (int)x->attr - (int)y->attr;
	if (!c)
		c = strcmp(x->reason, y->reason);
	return c;
}

static int judged_cmp(const void *a, const void *b)
{
	const struct judged *x = a, *y = b;
	int c = judged_key_cmp(x, y);

	/* Within an entry, the row with the most connections first: its fingerprint speaks for
	 * the entry. */
	if (!c)
		c = (x->r.conns < y->r.conns) - (x->r.conns > y->r.conns);
	return c;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Fills e from the rows v[0..n) of one entry; 0, or -1 when out of memory. */
static int make_entry(struct collector *c, const struct judged *v, size_t n, struct legacy_entry *e)
{
	const struct judged *j = &v[0];
	const struct catalog_entry *ce = catalog_lookup(c->catalog, j->r.sni);

	memset(e, 0, sizeof *e);
	e->client_ip = strdup(j->r.client_ip);
	e->server_ip = strdup(j->r.server_ip);
	e->sni = dup_or_null(j->r.sni);
	e->server_port = j->r.server_port;
	e->version = j->eff;
	e->negotiated = j->negotiated;
	e->cipher = !j->negotiated ? 0 : j->r.cipher < 0 ? POLICY_NO_CIPHER : (uint32_t)j->r.cipher;
	e->client_max = j->r.ch_max < 0 ? 0 : (uint16_t)j->r.ch_max;
	e->attr = j->attr;
	e->reason = strdup(j->reason);
	e->ja3 = dup_or_null(j->r.ja3);
	e->ja4 = dup_or_null(j->r.ja4);
	e->first_seen = j->r.first;
	e->last_seen = j->r.last;
	for (size_t i = 0; i < n; i++) {
		const char *sw =
		    e->software ? NULL : hints_lookup(c->hints, v[i].r.ja4, v[i].r.ja3);

		e->connections += v[i].r.conns;
		e->first_seen = v[i].r.first < e->first_seen ? v[i].r.first : e->first_seen;
		e->last_seen = v[i].r.last > e->last_seen ? v[i].r.last : e->last_seen;
		if (sw && !(e->software = strdup(sw)))
			return -1;
	}
	if (ce) {
		e->service = strdup(ce->service);
		if (!e->service)
			return -1;
		/* The date applies only if the service's own rule refuses this connection. */
		if (policy_judge(ce->rule, e->version, e->negotiated, e->cipher) &&
		    !(e->retired = strdup(ce->date)))
			return -1;
	}
	return e->client_ip && e->server_ip && e->reason && (!j->r.sni || e->sni) &&
	               (!j->r.ja3 || e->ja3) && (!j->r.ja4 || e->ja4)
	           ? 0
	           : -1;
}

static int fold_entries(struct collector *c)
{
	struct legacy_result *out = c->out;
	size_t i = 0;

	if (c->n > 1)
		qsort(c->v, c->n, sizeof *c->v, judged_cmp);
	out->v = calloc(c->n ? c->n : 1, sizeof *out->v);
	if (!out->v)
		return -1;
	while (i < c->n) {
		size_t k = i + 1;

		while (k < c->n && judged_key_cmp(&c->v[i], &c->v[k]) == 0)
			k++;
		if (make_entry(c, &c->v[i], k - i, &out->v[out->n++]))
			return -1;
		i = k;
	}
	return 0;
}

/* ---------------------------------------------------------------- sorting */

/* The base order: client, server, SNI, version (numeric addresses). */
static int entry_base_cmp(const struct legacy_entry *x, const struct legacy_entry *y,
                          int server_first)
{
	unsigned char xk[2][17], yk[2][17];
	int c;

	ip_key(x->client_ip, xk[0]), ip_key(x->server_ip, xk[1]);
	ip_key(y->client_ip, yk[0]), ip_key(y->server_ip, yk[1]);
	c = memcmp(xk[server_first], yk[server_first], 17);
	if (!c && server_first)
		c = (x->server_port > y->server_port) - (x->server_port < y->server_port);
	if (!c)
		c = memcmp(xk[!server_first], yk[!server_first], 17);
	if (!c && !server_first)
		c = (x->server_port > y->server_port) - (x->server_port < y->server_port);
	if (!c)
		c = strcmp(x->client_ip, y->client_ip);
	if (!c)
		c = strcmp(x->server_ip, y->server_ip);
	if (!c)
		c = strcmp(x->sni ? x->sni : "", y->sni ? y->sni : "");
	if (!c)
		c = (x->version > y->version) - (x->version < y->version);
	if (!c)
		c = x->negotiated - y->negotiated;
	if (!c)
		c = (x->cipher > y->cipher) - (x->cipher < y->cipher);
	if (!c)
		c = (x->client_max > y->client_max) - (x->client_max < y->client_max);
	if (!c)
		c = (int)x->attr - (int)y->attr;
	return c ? c : strcmp(x->reason, y->reason);
}

/* Dates compare as text; an entry without one sorts after every dated one. */
static int deadline_cmp(const char *x, const char *y)
{
	if (!x || !y)
		return (x == NULL) - (y == NULL);
	return strcmp(x, y);
}

static int entry_cmp_sort(const struct legacy_entry *x, const struct legacy_entry *y,
                          enum legacy_sort sort)
{
	int c = 0;

	switch (sort) {
	case SORT_CONNECTIONS:
		c = (x->connections < y->connections) - (x->connections > y->connections);
		break;
	case SORT_LAST_SEEN:
		c = (x->last_seen < y->last_seen) - (x->last_seen > y->last_seen);
		break;
	case SORT_DEADLINE:
		c = deadline_cmp(x->retired, y->retired);
		if (!c)
			c = (int)x->attr - (int)y->attr;
		break;
	case SORT_CLIENT:
	case SORT_SERVER:
		break;
	}
	return c ? c : entry_base_cmp(x, y, sort == SORT_SERVER);
}

/* Group keys: the client address, or the server address. */
static const char *group_key(const struct legacy_entry *e, enum legacy_group g)
{
	return g == GROUP_SERVER ? e->server_ip : e->client_ip;
}

struct group {
	const char *key;
	unsigned char ipkey[17];
	uint64_t connections;
	double last_seen;
	const char *retired; /* earliest */
	size_t entries;
	uint64_t by_attr[ATTR_COUNT];
	size_t id;             /* order of discovery, before the groups are sorted */
	enum legacy_sort sort; /* qsort has no context argument: each element carries it */
};

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	enum legacy_sort sort = x->sort;
	int c = 0;

	if (sort == SORT_CONNECTIONS)
		c = (x->connections < y->connections) - (x->connections > y->connections);
	else if (sort == SORT_LAST_SEEN)
		c = (x->last_seen < y->last_seen) - (x->last_seen > y->last_seen);
	else if (sort == SORT_DEADLINE)
		c = deadline_cmp(x->retired, y->retired);
	if (!c)
		c = memcmp(x->ipkey, y->ipkey, 17);
	return c ? c : strcmp(x->key, y->key);
}

/* An entry's group key, for sorting entries by it. */
struct keyref {
	const char *key;
	unsigned char ipkey[17];
	size_t entry;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = memcmp(x->ipkey, y->ipkey, 17);

	return c ? c : strcmp(x->key, y->key);
}

/*
 * The groups of r's entries (one per client, or per server address) in display order, each with
 * its totals. When rank is given, rank[i] receives the display position of entry i's group.
 * Sorting instead of searching keeps this O(n log n) for many clients.
 */
static struct group *make_groups(const struct legacy_result *r, enum legacy_group g,
                                 enum legacy_sort sort, size_t *ngroups, size_t *rank)
{
	struct keyref *refs = calloc(r->n ? r->n : 1, sizeof *refs);
	struct group *v = calloc(r->n ? r->n : 1, sizeof *v);
	size_t *gid = calloc(r->n ? r->n : 1, sizeof *gid), *pos = NULL;
	size_t n = 0;

	if (!refs || !v || !gid)
		goto fail;
	for (size_t i = 0; i < r->n; i++) {
		refs[i].key = group_key(&r->v[i], g);
		ip_key(refs[i].key, refs[i].ipkey);
		refs[i].entry = i;
	}
	qsort(refs, r->n, sizeof *refs, keyref_cmp);
	for (size_t i = 0; i < r->n; i++) {
		const struct legacy_entry *e = &r->v[refs[i].entry];
		struct group *gr;

		if (i == 0 || keyref_cmp(&refs[i - 1], &refs[i])) {
			v[n].key = refs[i].key;
			memcpy(v[n].ipkey, refs[i].ipkey, 17);
			v[n].id = n;
			v[n].sort = sort;
			n++;
		}
		gr = &v[n - 1];
		gid[refs[i].entry] = n - 1;
		gr->connections += e->connections;
		gr->entries++;
		gr->by_attr[e->attr] += e->connections;
		if (e->last_seen > gr->last_seen)
			gr->last_seen = e->last_seen;
		if (e->retired && deadline_cmp(e->retired, gr->retired) < 0)
			gr->retired = e->retired;
	}
	qsort(v, n, sizeof *v, group_cmp);
	if (rank) {
		if (!(pos = calloc(n ? n : 1, sizeof *pos)))
			goto fail;
		for (size_t k = 0; k < n; k++)
			pos[v[k].id] = k;
		for (size_t i = 0; i < r->n; i++)
			rank[i] = pos[gid[i]];
	}
	free(pos);
	free(refs);
	free(gid);
	*ngroups = n;
	return v;
fail:
	free(refs);
	free(v);
	free(gid);
	return NULL;
}

/* An entry with what its comparison needs beside it. */
struct sortable {
	struct legacy_entry e;
	size_t rank; /* of its group; 0 without grouping */
	enum legacy_sort sort;
};

static int sortable_cmp(const void *a, const void *b)
{
	const struct sortable *x = a, *y = b;

	if (x->rank != y->rank)
		return (x->rank > y->rank) - (x->rank < y->rank);
	return entry_cmp_sort(&x->e, &y->e, x->sort);
}

static int sort_entries(struct legacy_result *r, enum legacy_group g, enum legacy_sort sort)
{
	struct sortable *s = calloc(r->n ? r->n : 1, sizeof *s);
	size_t *rank = calloc(r->n ? r->n : 1, sizeof *rank);
	struct group *groups = NULL;
	size_t ngroups = 0;
	int rc = -1;

	if (!s || !rank)
		goto out;
	if (g != GROUP_NONE && !(groups = make_groups(r, g, sort, &ngroups, rank)))
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		s[i].e = r->v[i];
		s[i].sort = sort;
		s[i].rank = rank[i];
	}
	qsort(s, r->n, sizeof *s, sortable_cmp);
	for (size_t i = 0; i < r->n; i++)
		r->v[i] = s[i].e;
	rc = 0;
out:
	free(s);
	free(rank);
	free(groups);
	return rc;
}

/* ---------------------------------------------------------------- collect */

static double clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_data(struct collector *c, struct policy **own_policy)
{
	char err[512];

	c->policy = c->q->policy;
	if (!c->policy) {
		*own_policy = policy_load("default", err, sizeof err);
		if (!*own_policy)
			goto bad;
		c->policy = *own_policy;
	}
	c->catalog = catalog_load(c->q->catalog_path, err, sizeof err);
	if (!c->catalog)
		goto bad;
	c->hints = hints_load(c->q->hints_path, err, sizeof err);
	if (!c->hints)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "tlscensus: %s\n", err);
	return -1;
}

int legacy_collect(struct store *s, const struct legacy_query *q, struct legacy_result *out)
{
	struct collector c = {.store = s, .q = q, .out = out};
	struct policy *own_policy = NULL;
	int rc = -1, sql = SQLITE_OK;

	memset(out, 0, sizeof *out);
	out->now = q->now > 0 ? q->now : clock_now();
	if (store_flush(s) || open_data(&c, &own_policy))
		goto done;
	out->policy = strdup(policy_name(c.policy));
	out->db = strdup(store_path(s));
	out->from_connections = use_connections(s, q);
	sql = read_rows(&c, out->from_connections ? connections_sql : inventory_sql);
	if (sql == SQLITE_OK)
		sql = read_midstream(&c);
	if (sql != SQLITE_OK) {
		if (sql == SQLITE_NOMEM)
			fprintf(stderr,
			        "tlscensus: database '%s': out of memory reading the report\n",
			        store_path(s));
		else
			fprintf(stderr, "tlscensus: database '%s': legacy query failed: %s\n",
			        store_path(s), sqlite3_errmsg(store_db(s)));
		goto done;
	}
	if (!out->policy || !out->db || fold_entries(&c) || sort_entries(out, q->group, q->sort)) {
		fprintf(stderr, "tlscensus: database '%s': out of memory reading the report\n",
		        store_path(s));
		goto done;
	}
	rc = 0;
done:
	for (size_t i = 0; i < c.n; i++)
		raw_free(&c.v[i].r);
	free(c.v);
	catalog_free(c.catalog);
	hints_free(c.hints);
	policy_free(own_policy);
	if (rc)
		legacy_result_free(out);
	return rc;
}

void legacy_result_free(struct legacy_result *r)
{
	for (size_t i = 0; r->v && i < r->n; i++) {
		struct legacy_entry *e = &r->v[i];

		free(e->client_ip), free(e->server_ip), free(e->sni), free(e->reason);
		free(e->service), free(e->retired), free(e->ja3), free(e->ja4), free(e->software);
	}
	free(r->v);
	free(r->policy);
	free(r->db);
	memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- printing */

static void time_text(double t, char buf[24])
{
	time_t tt = (time_t)floor(t);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The texts of one entry, before any format's escaping. */
struct entry_text {
	char server[80], version[40], cipher[16], client_max[TC_VERSION_TEXT_MAX], first[24],
	    last[24];
	char deadline[48], conns[24];
	const char *cipher_name; /* the IANA name, or cipher (hex), or NULL */
};

static void entry_texts(const struct legacy_entry *e, double now, struct entry_text *t)
{
	char v[TC_VERSION_TEXT_MAX];

	snprintf(t->server, sizeof t->server, strchr(e->server_ip, ':') ? "[%s]:%d" : "%s:%d",
	         e->server_ip, e->server_port);
	tc_version_text(e->version, v);
	snprintf(t->version, sizeof t->version, "%s%s", v, e->negotiated ? "" : " (offered)");
	t->cipher_name = NULL;
	if (e->negotiated && e->cipher != POLICY_NO_CIPHER) {
		t->cipher_name = cipher_name(e->cipher);
		if (!t->cipher_name) {
			snprintf(t->cipher, sizeof t->cipher, "0x%04x", (unsigned)e->cipher);
			t->cipher_name = t->cipher;
		}
	}
	t->client_max[0] = '\0';
	if (e->client_max)
		tc_version_text(e->client_max, t->client_max);
	time_text(e->first_seen, t->first);
	time_text(e->last_seen, t->last);
	t->deadline[0] = '\0';
	if (e->retired)
		legacy_deadline_text(e->retired, now, t->deadline, sizeof t->deadline);
	snprintf(t->conns, sizeof t->conns, "%llu", (unsigned long long)e->connections);
}

static uint64_t unknown_total(const struct legacy_unknown *u)
{
	return u->truncated + u->malformed + u->one_sided + u->midstream;
}

static const struct {
	const char *key;  /* JSON key, CSV reason, parse_status */
	const char *text; /* for people */
} unknown_kinds[] = {
    {"truncated", "truncated hello"},
    {"malformed", "malformed hello"},
    {"one_sided", "one-sided (one direction not captured)"},
    {"midstream", "midstream (capture began after the hellos)"},
};

static uint64_t unknown_at(const struct legacy_unknown *u, size_t i)
{
	const uint64_t v[] = {u->truncated, u->malformed, u->one_sided, u->midstream};

	return v[i];
}

/* "could not judge 3 connections: 2 truncated hello, 1 midstream (...)" */
static void print_unknown_line(const struct legacy_unknown *u, FILE *out)
{
	int first = 1;

	fprintf(out, "could not judge %llu connection%s: ", (unsigned long long)unknown_total(u),
	        unknown_total(u) == 1 ? "" : "s");
	for (size_t i = 0; i < COUNT_OF(unknown_kinds); i++) {
		if (!unknown_at(u, i))
			continue;
		fprintf(out, "%s%llu %s", first ? "" : ", ", (unsigned long long)unknown_at(u, i),
		        unknown_kinds[i].text);
		first = 0;
	}
	fputc('\n', out);
}

/* --- table */

/*
 * One line per entry when the output is a file or a pipe (grep and wc see one entry per line)
 * or when it fits the terminal. Fourteen columns fit no terminal, so on one each entry takes
 * three lines, as ls switches layouts: where and when; who must act and what was negotiated;
 * why, which service and by when, and the software. Lines 2 and 3 are indented past the first
 * column, and each line kind has its own header line.
 */
enum col {
	C_CLIENT,
	C_SERVER,
	C_SNI,
	C_ATTR,
	C_VERSION,
	C_CIPHER,
	C_MAX,
	C_CONNS,
	C_FIRST,
	C_LAST,
	C_REASON,
	C_SERVICE,
	C_DEADLINE,
	C_SOFTWARE,
	C_COUNT
};

static const char *const col_head[C_COUNT] = {
    "CLIENT", "SERVER",     "SNI",       "ATTRIBUTION", "VERSION", "CIPHER",   "CLIENT MAX",
    "CONNS",  "FIRST SEEN", "LAST SEEN", "REASON",      "SERVICE", "DEADLINE", "SOFTWARE",
};

static const int wide_cols[] = {C_CLIENT, C_SERVER,  C_SNI,      C_ATTR,    C_VERSION,
                                C_CIPHER, C_MAX,     C_CONNS,    C_FIRST,   C_LAST,
                                C_REASON, C_SERVICE, C_DEADLINE, C_SOFTWARE};
static const int line1_cols[] = {C_CLIENT, C_SERVER, C_SNI, C_CONNS, C_FIRST, C_LAST};
static const int line2_cols[] = {C_ATTR, C_VERSION, C_CIPHER, C_MAX};
static const int line3_cols[] = {C_REASON, C_SERVICE, C_DEADLINE, C_SOFTWARE};

struct layout {
	int cols[3][C_COUNT];
	size_t ncols[3], nlines;
	size_t width[C_COUNT];
	size_t indent;       /* of lines 2 and 3 */
	size_t group_indent; /* of every line, inside a group section */
};

static void layout_line(struct layout *l, size_t line, const int *cols, size_t n, int drop)
{
	l->ncols[line] = 0;
	for (size_t k = 0; k < n; k++)
		if (cols[k] != drop)
			l->cols[line][l->ncols[line]++] = cols[k];
}

static size_t layout_width(const struct layout *l, size_t line)
{
	size_t w = l->group_indent + (line ? l->indent : 0);

	for (size_t k = 0; k < l->ncols[line]; k++)
		w += l->width[l->cols[line][k]] + (k ? 2 : 0);
	return w;
}

static void print_cells(FILE *out, const struct layout *l, size_t line, char *const cell[C_COUNT])
{
	size_t n = l->ncols[line];

	fprintf(out, "%*s", (int)(l->group_indent + (line ? l->indent : 0)), "");
	for (size_t k = 0; k < n; k++) {
		int c = l->cols[line][k];
		size_t pad = l->width[c] - text_width(cell[c]);

		if (k)
			fputs("  ", out);
		if (c == C_CONNS)
			fprintf(out, "%*s%s", (int)pad, "", cell[c]);
		else if (k == n - 1)
			fputs(cell[c], out); /* no trailing blanks */
		else
			fprintf(out, "%s%*s", cell[c], (int)pad, "");
	}
	fputc('\n', out);
}

/* Fills the cells of e, each inert and malloc'd; "-" stands for none. */
static int table_cells(const struct legacy_entry *e, double now, char *cell[C_COUNT])
{
	struct entry_text t;
	const char *src[C_COUNT];

	entry_texts(e, now, &t);
	src[C_CLIENT] = e->client_ip;
	src[C_SERVER] = t.server;
	src[C_SNI] = e->sni;
	src[C_ATTR] = attribution_name(e->attr);
	src[C_VERSION] = t.version;
	src[C_CIPHER] = t.cipher_name;
	src[C_MAX] = t.client_max;
	src[C_CONNS] = t.conns;
	src[C_FIRST] = t.first;
	src[C_LAST] = t.last;
	src[C_REASON] = e->reason;
	src[C_SERVICE] = e->service;
	src[C_DEADLINE] = t.deadline;
	src[C_SOFTWARE] = e->software;
	for (int i = 0; i < C_COUNT; i++) {
		const char *s = src[i] && *src[i] ? src[i] : "-";

		cell[i] = text_inert(s, strlen(s), 0);
		if (!cell[i])
			return -1;
	}
	text_cut(cell[C_SNI], TABLE_SNI_MAX);
	text_cut(cell[C_CIPHER], TABLE_CIPHER_MAX);
	text_cut(cell[C_SERVICE], TABLE_SERVICE_MAX);
	text_cut(cell[C_SOFTWARE], TABLE_SOFTWARE_MAX);
	return 0;
}

/* "client 10.99.0.1: 3 entries, 5 connections (failing 1, client-limited 4)" */
static void print_group_heading(FILE *out, const struct group *g, enum legacy_group kind)
{
	char *key = text_inert(g->key, strlen(g->key), 0);
	int first = 1;

	fprintf(out, "%s %s: %zu entr%s, %llu connection%s (",
	        kind == GROUP_SERVER ? "server" : "client", key ? key : "?", g->entries,
	        g->entries == 1 ? "y" : "ies", (unsigned long long)g->connections,
	        g->connections == 1 ? "" : "s");
	for (int a = 0; a < ATTR_COUNT; a++) {
		if (!g->by_attr[a])
			continue;
		fprintf(out, "%s%s %llu", first ? "" : ", ", attribution_name((enum attribution)a),
		        (unsigned long long)g->by_attr[a]);
		first = 0;
	}
	fputs(")\n", out);
	free(key);
}

static void print_header(FILE *out, const struct layout *l, char *head[C_COUNT])
{
	for (size_t line = 0; line < l->nlines; line++)
		print_cells(out, l, line, head);
}

static void choose_layout(struct layout *l, const struct legacy_result *r,
                          const struct legacy_query *q, FILE *out)
{
	size_t limit = text_terminal_columns(out);
	int drop = q->group == GROUP_CLIENT ? C_CLIENT : -1;

	l->group_indent = q->group != GROUP_NONE ? 2 : 0;
	layout_line(l, 0, wide_cols, COUNT_OF(wide_cols), drop);
	l->nlines = 1;
	if (!limit || layout_width(l, 0) <= limit || !r->n)
		return;
	layout_line(l, 0, line1_cols, COUNT_OF(line1_cols), drop);
	layout_line(l, 1, line2_cols, COUNT_OF(line2_cols), drop);
	layout_line(l, 2, line3_cols, COUNT_OF(line3_cols), drop);
	l->indent = l->width[l->cols[0][0]] + 2;
	l->nlines = 3;
}

static int print_table(const struct legacy_result *r, const struct legacy_query *q, const char *db,
                       FILE *out)
{
	char *(*cells)[C_COUNT] = calloc(r->n ? r->n : 1, sizeof *cells);
	char *head[C_COUNT];
	struct layout l = {0};
	struct group *groups = NULL;
	size_t ngroups = 0;
	int rc = -1;

	if (!cells)
		return -1;
	for (int i = 0; i < C_COUNT; i++) {
		head[i] = (char *)col_head[i];
		l.width[i] = strlen(col_head[i]);
	}
	for (size_t k = 0; k < r->n; k++) {
		if (table_cells(&r->v[k], r->now, cells[k]))
			goto out;
		for (int i = 0; i < C_COUNT; i++)
			if (text_width(cells[k][i]) > l.width[i])
				l.width[i] = text_width(cells[k][i]);
	}
	if (q->group != GROUP_NONE && !(groups = make_groups(r, q->group, q->sort, &ngroups, NULL)))
		goto out;
	choose_layout(&l, r, q, out);
	if (!r->n) {
		fprintf(out,
		        "no legacy TLS connections found in %s under policy '%s' (%llu connections "
		        "%s)\n",
		        db, r->policy, (unsigned long long)r->connections,
		        q->since > 0 || q->until > 0 ? "in the window" : "recorded");
	} else if (q->group == GROUP_NONE) {
		print_header(out, &l, head);
	}
	/* legacy_collect put the entries in group order, so a new key starts the next group. */
	for (size_t k = 0, next = 0; k < r->n; k++) {
		if (groups && next < ngroups &&
		    (k == 0 ||
		     strcmp(group_key(&r->v[k], q->group), group_key(&r->v[k - 1], q->group)))) {
			if (k)
				fputc('\n', out);
			print_group_heading(out, &groups[next++], q->group);
			print_header(out, &l, head);
		}
		for (size_t line = 0; line < l.nlines; line++)
			print_cells(out, &l, line, cells[k]);
	}
	if (unknown_total(&r->unknown)) {
		if (r->n)
			fputc('\n', out);
		print_unknown_line(&r->unknown, out);
	}
	rc = 0;
out:
	for (size_t k = 0; k < r->n; k++)
		for (int i = 0; i < C_COUNT; i++)
			free(cells[k][i]);
	free(cells);
	free(groups);
	return rc;
}

/* --- CSV (RFC 4180) */

static void csv_sep(FILE *out, const char *text)
{
	fputc(',', out);
	text_csv(out, text);
}

static void print_csv(const struct legacy_result *r, FILE *out)
{
	/* The first eleven columns are those of the listing before policies; new ones follow. */
	fputs("client_ip,server_ip,server_port,sni,version,cipher,client_max_version,"
	      "connections,first_seen,last_seen,reason,attribution,service,retired,deadline,"
	      "software,ja3,ja4\r\n",
	      out);
	for (size_t i = 0; i < r->n; i++) {
		const struct legacy_entry *e = &r->v[i];
		struct entry_text t;

		entry_texts(e, r->now, &t);
		text_csv(out, e->client_ip);
		csv_sep(out, e->server_ip);
		fprintf(out, ",%d", e->server_port);
		csv_sep(out, e->sni);
		csv_sep(out, t.version);
		csv_sep(out, t.cipher_name);
		csv_sep(out, t.client_max[0] ? t.client_max : NULL);
		fprintf(out, ",%s", t.conns);
		csv_sep(out, t.first);
		csv_sep(out, t.last);
		csv_sep(out, e->reason);
		csv_sep(out, attribution_name(e->attr));
		csv_sep(out, e->service);
		csv_sep(out, e->retired);
		csv_sep(out, t.deadline[0] ? t.deadline : NULL);
		csv_sep(out, e->software);
		csv_sep(out, e->ja3);
		csv_sep(out, e->ja4);
		fputs("\r\n", out);
	}
	/* What could not be judged: one row per kind, attribution "unknown", the kind as reason. */
	for (size_t k = 0; k < COUNT_OF(unknown_kinds); k++) {
		if (!unknown_at(&r->unknown, k))
			continue;
		fprintf(out, ",,,,,,,%llu,,,", (unsigned long long)unknown_at(&r->unknown, k));
		text_csv(out, unknown_kinds[k].key);
		fputs(",\"unknown\",,,,,,\r\n", out);
	}
}

/* --- JSON */

static void json_kv(FILE *out, const char *key, const char *value, int comma)
{
	fprintf(out, "%s\"%s\": ", comma ? ", " : "", key);
	text_json_string(out, value);
}

static void json_entry(FILE *out, const struct legacy_entry *e, double now)
{
	struct entry_text t;

	entry_texts(e, now, &t);
	fputs("    {", out);
	json_kv(out, "client_ip", e->client_ip, 0);
	json_kv(out, "server_ip", e->server_ip, 1);
	fprintf(out, ", \"server_port\": %d", e->server_port);
	json_kv(out, "sni", e->sni, 1);
	json_kv(out, "version", t.version, 1);
	fprintf(out, ", \"negotiated\": %s", e->negotiated ? "true" : "false");
	json_kv(out, "cipher", t.cipher_name, 1);
	json_kv(out, "client_max_version", t.client_max[0] ? t.client_max : NULL, 1);
	fprintf(out, ", \"connections\": %s", t.conns);
	json_kv(out, "first_seen", t.first, 1);
	json_kv(out, "last_seen", t.last, 1);
	json_kv(out, "reason", e->reason, 1);
	json_kv(out, "attribution", attribution_name(e->attr), 1);
	json_kv(out, "service", e->service, 1);
	json_kv(out, "retired", e->retired, 1);
	json_kv(out, "deadline", t.deadline[0] ? t.deadline : NULL, 1);
	json_kv(out, "software", e->software, 1);
	json_kv(out, "ja3", e->ja3, 1);
	json_kv(out, "ja4", e->ja4, 1);
	fputc('}', out);
}

static void json_groups(FILE *out, const struct group *g, size_t n, enum legacy_group kind)
{
	fputs(",\n  \"groups\": [", out);
	for (size_t k = 0; k < n; k++) {
		fprintf(out, "%s\n    {", k ? "," : "");
		json_kv(out, kind == GROUP_SERVER ? "server_ip" : "client_ip", g[k].key, 0);
		fprintf(out, ", \"entries\": %zu, \"connections\": %llu, \"attributions\": {",
		        g[k].entries, (unsigned long long)g[k].connections);
		for (int a = 0, first = 1; a < ATTR_COUNT; a++) {
			if (!g[k].by_attr[a])
				continue;
			fprintf(out, "%s\"%s\": %llu", first ? "" : ", ",
			        attribution_name((enum attribution)a),
			        (unsigned long long)g[k].by_attr[a]);
			first = 0;
		}
		fputs("}}", out);
	}
	fputs(n ? "\n  ]" : "]", out);
}

static int print_json(const struct legacy_result *r, const struct legacy_query *q, FILE *out)
{
	char since[24], until[24];
	int seen[ATTR_COUNT] = {0}, first = 1;

	if (q->since > 0)
		time_text(q->since, since);
	if (q->until > 0)
		time_text(q->until, until);
	fputs("{", out);
	json_kv(out, "policy", r->policy, 0);
	json_kv(out, "since", q->since > 0 ? since : NULL, 1);
	json_kv(out, "until", q->until > 0 ? until : NULL, 1);
	json_kv(out, "counted_from", r->from_connections ? "connections" : "inventory", 1);
	fprintf(out, ", \"connections\": %llu, \"legacy_connections\": %llu,\n  \"entries\": [",
	        (unsigned long long)r->connections, (unsigned long long)r->legacy_connections);
	for (size_t i = 0; i < r->n; i++) {
		fputs(i ? ",\n" : "\n", out);
		json_entry(out, &r->v[i], r->now);
		seen[r->v[i].attr] = 1;
	}
	fputs(r->n ? "\n  ]" : "]", out);
	if (q->group != GROUP_NONE) {
		size_t n = 0;
		struct group *g = make_groups(r, q->group, q->sort, &n, NULL);

		if (!g)
			return -1;
		json_groups(out, g, n, q->group);
		free(g);
	}
	fputs(",\n  \"unknown\": {", out);
	for (size_t k = 0; k < COUNT_OF(unknown_kinds); k++)
		fprintf(out, "\"%s\": %llu, ", unknown_kinds[k].key,
		        (unsigned long long)unknown_at(&r->unknown, k));
	fprintf(out, "\"total\": %llu},\n  \"advice\": {",
	        (unsigned long long)unknown_total(&r->unknown));
	for (int a = 0; a < ATTR_COUNT; a++) {
		if (!seen[a])
			continue;
		json_kv(out, attribution_name((enum attribution)a),
		        attribution_advice((enum attribution)a), !first);
		first = 0;
	}
	fputs("}}\n", out);
	return 0;
}

int legacy_print(const struct legacy_result *r, const struct legacy_query *q,
                 enum legacy_format fmt, FILE *out)
{
	int rc = 0;

	if (fmt == LEGACY_CSV)
		print_csv(r, out);
	else if (fmt == LEGACY_JSON)
		rc = print_json(r, q, out);
	else
		rc = print_table(r, q, r->db ? r->db : "the database", out);
	if (rc) {
		fprintf(stderr, "tlscensus: out of memory formatting the report\n");
		return -1;
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "tlscensus: cannot write the report: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}
