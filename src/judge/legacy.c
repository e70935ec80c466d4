/*
 * legacy.c: who still uses legacy TLS, who must fix it, and by when. Takes pairs (a client met a
 * server with these hellos, N times; tlscensus/pair.h), judges each under a policy, attributes
 * it, folds the pairs of one entry together, names the service and its cutoff from the provider
 * catalog and the software from the fingerprint map, and orders the entries. It reads no store
 * and prints nothing: collect.c feeds it, the printers in src/report show what it returns.
 *
 * Attribution, in the order of enum attribution (the first that applies wins):
 *   failing         no ServerHello, or a protocol_version (70), handshake_failure (40) or
 *                   inappropriate_fallback (86) alert: already broken
 *   fallback        TLS_FALLBACK_SCSV in the ClientHello (RFC 7507), or a retry: within 60 s
 *                   after a failed connection from the same client to the same server endpoint
 *                   and SNI that offered a higher version. The reader of the store says which
 *                   pairs are retries (the pair's retry flag; for SQLite the view
 *                   inventory_keys in store.c): the inventory decides when its row is written,
 *                   so there a retry is recognised when the failed attempt was recorded first
 *                   (the usual order: a refused connection closes before the retry's handshake
 *                   completes); a window read from the connection rows asks afresh, whatever
 *                   the order
 *   client-limited  the client's highest offered version is legacy under the policy
 *   server-limited  the client offered an acceptable version, the server chose a legacy one
 *   cipher          the version is acceptable, the negotiated suite is not
 *
 * When only a group rule (require-group, deny-group, deny-hrr; policy.h) flagged the pair, its
 * key exchange says who must act:
 *   server-limited  the client offered TLS 1.3 and a group the policy accepts in its
 *                   supported_groups, the server chose another (or TLS 1.2)
 *   draft-only      the client offered no acceptable group but a Kyber draft (0x6399, 0x639A)
 *   client-limited  the client offered no acceptable group (or no TLS 1.3) at all
 *   hrr-cost        the group is acceptable, but only deny-hrr flagged it: the server had to
 *                   ask again with a HelloRetryRequest (the client listed the group without
 *                   sending its key share)
 * The judge also counts every judged connection by the kind of group it negotiated (struct
 * legacy_kx) and, under group rules, the accepted connections per client: the report's
 * post-quantum section and the key-exchange summary line come from here, not from SQL.
 *
 * Pairs whose hellos could not be parsed (parse_status truncated, malformed, one_sided,
 * midstream) are not judged at all: they are counted in the "unknown" bucket. A one-sided
 * capture would otherwise look like a refused connection.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "groups.h"
#include "hints.h"
#include "legacy.h"
#include "util.h"

/* ---------------------------------------------------------------- names */

const char *attribution_name(enum attribution a)
{
	static const char *const names[ATTR_COUNT] = {
	    [ATTR_FAILING] = "failing",       [ATTR_FALLBACK] = "fallback",
	    [ATTR_CLIENT] = "client-limited", [ATTR_SERVER] = "server-limited",
	    [ATTR_CIPHER] = "cipher",         [ATTR_DRAFT] = "draft-only",
	    [ATTR_HRR] = "hrr-cost",
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
	    [ATTR_SERVER] = "The client offered a current version (or key exchange) but the server "
	                    "chose an older one: upgrade or reconfigure the server.",
	    [ATTR_DRAFT] =
	        "The client offers only a pre-standard Kyber draft group "
	        "(X25519Kyber768Draft00), which servers are dropping: update the client to "
	        "a release that offers X25519MLKEM768.",
	    [ATTR_HRR] = "Post-quantum key exchange works, but only after a HelloRetryRequest: the "
	                 "client lists the hybrid group without sending its key share, so each "
	                 "handshake costs a round trip. Have the client send that key share first.",
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

/* ---------------------------------------------------------------- judging pairs */

struct filter legacy_query_filter(const struct legacy_query *q)
{
	return (struct filter){
	    .since = q->since,
	    .until = q->until,
	    .client = q->client,
	    .server = q->server,
	    .sni_glob = q->sni_glob,
	    .port = q->port,
	};
}

/* A pair kept for its entry, its text copied. */
struct raw {
	char *client_ip, *server_ip, *sni, *ja3, *ja4;
	int server_port;
	int version, cipher, ch_max, alert; /* -1: none */
	int scsv, retry;
	int server_group, hrr; /* -1 and 0 unless the policy has group rules */
	uint64_t conns;
	double first, last;
};

/* A legacy pair, judged, before the pairs of one entry fold together. */
struct judged {
	struct raw r;
	uint16_t eff;
	int negotiated;
	enum attribution attr;
	const char *reason; /* policy-owned */
	unsigned char ckey[17], skey[17];
};

struct legacy_judge {
	const struct legacy_query *q;
	const struct policy *policy;
	struct policy *own_policy; /* the default, when q names none */
	struct catalog *catalog;
	struct hints *hints;
	struct legacy_result *out;
	struct judged *v;
	size_t n, cap;
	struct legacy_accepted *acc; /* accepted pairs, before they fold per client */
	size_t n_acc, cap_acc;
};

static void raw_free(struct raw *r)
{
	free(r->client_ip), free(r->server_ip), free(r->sni), free(r->ja3), free(r->ja4);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The pair's fields, its text copied; -1 when out of memory (nothing kept). */
static int raw_copy(struct raw *r, const struct tc_pair *p)
{
	*r = (struct raw){
	    .client_ip = dup_or_null(p->client_ip),
	    .server_ip = dup_or_null(p->server_ip),
	    .sni = dup_or_null(p->sni),
	    .ja3 = dup_or_null(p->ja3),
	    .ja4 = dup_or_null(p->ja4),
	    .server_port = p->server_port,
	    .version = p->version,
	    .cipher = p->cipher,
	    .ch_max = p->ch_max_version,
	    .alert = p->alert_desc,
	    .scsv = p->fallback_scsv,
	    .retry = p->retry,
	    .server_group = -1,
	    .conns = p->connections,
	    .first = p->first_seen,
	    .last = p->last_seen,
	};
	if (r->client_ip && r->server_ip && (!p->sni || r->sni) && (!p->ja3 || r->ja3) &&
	    (!p->ja4 || r->ja4))
		return 0;
	raw_free(r);
	return -1;
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

/* RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA. */
static int is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Only the group rules flagged the pair: who must act on its key exchange (head of file). */
static enum attribution kx_attribute(const struct policy *p, const struct tc_pair *r,
                                     unsigned flags)
{
	int tls13 = r->ch_max_version >= 0 &&
	            tc_version_rank((uint16_t)r->ch_max_version) >= tc_version_rank(TC_V_TLS13);
	int acceptable = 0, draft = 0;

	if (!(flags & POLICY_FLAG_GROUP))
		return ATTR_HRR;
	for (size_t i = 0; i < r->n_groups; i++) {
		if (is_grease(r->groups[i]))
			continue;
		acceptable |= policy_accepts_group(p, r->groups[i]);
		draft |= (group_kind(r->groups[i]) & GROUP_DRAFT) != 0;
	}
	if (tls13 && acceptable)
		return ATTR_SERVER;
	return draft ? ATTR_DRAFT : ATTR_CLIENT;
}

static enum attribution attribute(const struct policy *p, const struct tc_pair *r, uint16_t eff,
                                  int negotiated, unsigned flags)
{
	if (!negotiated || r->alert_desc == 40 || r->alert_desc == 70 || r->alert_desc == 86)
		return ATTR_FAILING;
	if (r->fallback_scsv || r->retry)
		return ATTR_FALLBACK;
	if (!(flags & (POLICY_FLAG_VERSION | POLICY_FLAG_CIPHER)))
		return kx_attribute(p, r, flags);
	if (r->ch_max_version >= 0 && !policy_accepts_version(p, (uint16_t)r->ch_max_version))
		return ATTR_CLIENT;
	if (!policy_accepts_version(p, eff))
		return ATTR_SERVER;
	return ATTR_CIPHER;
}

static void count_unknown(struct legacy_unknown *u, enum tc_conn_status status, uint64_t n)
{
	if (status == TC_CONN_TRUNCATED)
		u->truncated += n;
	else if (status == TC_CONN_MALFORMED)
		u->malformed += n;
	else if (status == TC_CONN_ONE_SIDED)
		u->one_sided += n;
	else
		u->midstream += n; /* midstream, or a status the reader did not know */
}

/* What kind of key exchange a judged pair negotiated. */
static void count_kx(struct legacy_kx *k, const struct tc_pair *p)
{
	unsigned kind = p->server_group >= 0 ? group_kind((uint16_t)p->server_group) : 0;

	if (!p->kx_known)
		k->no_facts += p->connections;
	else if (p->version < 0 || p->server_group < 0)
		k->none += p->connections;
	else if (kind & GROUP_PQ)
		k->pq += p->connections;
	else if (kind & GROUP_DRAFT)
		k->draft += p->connections;
	else
		k->classical += p->connections;
}

/* Under group rules, an accepted pair counts for its client (folded in legacy_judge_end). */
static int keep_accepted(struct legacy_judge *c, const struct tc_pair *p)
{
	if (c->n_acc == c->cap_acc) {
		size_t cap = c->cap_acc ? c->cap_acc * 2 : 64;
		struct legacy_accepted *v = realloc(c->acc, cap * sizeof *v);

		if (!v)
			return -1;
		c->acc = v;
		c->cap_acc = cap;
	}
	c->acc[c->n_acc].client_ip = strdup(p->client_ip);
	c->acc[c->n_acc].connections = p->connections;
	if (!c->acc[c->n_acc].client_ip)
		return -1;
	c->n_acc++;
	c->out->accepted_connections += p->connections;
	return 0;
}

int legacy_judge_pair(struct legacy_judge *c, const struct tc_pair *p)
{
	struct judged *j;
	uint16_t eff;
	int negotiated = p->version >= 0;
	int groups = c->out->judges_groups && p->kx_known;
	struct policy_kx kx = {negotiated ? p->server_group : -1, p->hrr};
	const char *reason;
	unsigned flags = 0;

	c->out->connections += p->connections;
	if (p->parse_status != TC_CONN_OK) {
		count_unknown(&c->out->unknown, p->parse_status, p->connections);
		return 0;
	}
	if (!negotiated && p->ch_max_version < 0)
		return 0; /* neither hello's version: nothing to judge */
	count_kx(&c->out->kx, p);
	eff = (uint16_t)(negotiated ? p->version : p->ch_max_version);
	reason = policy_judge_kx(c->policy, eff, negotiated,
	                         !negotiated     ? 0
	                         : p->cipher < 0 ? POLICY_NO_CIPHER
	                                         : (uint32_t)p->cipher,
	                         groups ? &kx : NULL, &flags);
	if (!reason)
		return c->out->judges_groups && p->kx_known ? keep_accepted(c, p) : 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct judged *v = realloc(c->v, cap * sizeof *v);

		if (!v)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	j = &c->v[c->n];
	if (raw_copy(&j->r, p))
		return -1;
	c->n++;
	j->eff = eff;
	j->negotiated = negotiated;
	j->reason = reason;
	j->attr = attribute(c->policy, p, eff, negotiated, flags);
	if (groups) {
		j->r.server_group = kx.group;
		j->r.hrr = p->hrr ? 1 : 0;
	}
	ip_key(j->r.client_ip, j->ckey);
	ip_key(j->r.server_ip, j->skey);
	c->out->legacy_connections += p->connections;
	return 0;
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
	if (!c)
		c = (x->r.server_group > y->r.server_group) -
		    (x->r.server_group < y->r.server_group);
	if (!c)
		c = x->r.hrr - y->r.hrr;
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

/* Fills e from the rows v[0..n) of one entry; 0, or -1 when out of memory. */
static int make_entry(struct legacy_judge *c, const struct judged *v, size_t n,
                      struct legacy_entry *e)
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
	e->server_group = j->r.server_group;
	e->hrr = j->r.hrr;
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

static int fold_entries(struct legacy_judge *c)
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
	if (!c)
		c = strcmp(x->reason, y->reason);
	if (!c)
		c = (x->server_group > y->server_group) - (x->server_group < y->server_group);
	return c ? c : x->hrr - y->hrr;
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

const char *legacy_group_key(const struct legacy_entry *e, enum legacy_group g)
{
	return g == GROUP_SERVER ? e->server_ip : e->client_ip;
}

/* A group with what ordering the groups needs beside its totals. */
struct group {
	struct legacy_group_totals t;
	unsigned char ipkey[17];
	double last_seen;
	const char *retired;   /* earliest */
	size_t id;             /* order of discovery, before the groups are sorted */
	enum legacy_sort sort; /* qsort has no context argument: each element carries it */
};

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	enum legacy_sort sort = x->sort;
	int c = 0;

	if (sort == SORT_CONNECTIONS)
		c = (x->t.connections < y->t.connections) - (x->t.connections > y->t.connections);
	else if (sort == SORT_LAST_SEEN)
		c = (x->last_seen < y->last_seen) - (x->last_seen > y->last_seen);
	else if (sort == SORT_DEADLINE)
		c = deadline_cmp(x->retired, y->retired);
	if (!c)
		c = memcmp(x->ipkey, y->ipkey, 17);
	return c ? c : strcmp(x->t.key, y->t.key);
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
		refs[i].key = legacy_group_key(&r->v[i], g);
		ip_key(refs[i].key, refs[i].ipkey);
		refs[i].entry = i;
	}
	qsort(refs, r->n, sizeof *refs, keyref_cmp);
	for (size_t i = 0; i < r->n; i++) {
		const struct legacy_entry *e = &r->v[refs[i].entry];
		struct group *gr;

		if (i == 0 || keyref_cmp(&refs[i - 1], &refs[i])) {
			v[n].t.key = refs[i].key;
			memcpy(v[n].ipkey, refs[i].ipkey, 17);
			v[n].id = n;
			v[n].sort = sort;
			n++;
		}
		gr = &v[n - 1];
		gid[refs[i].entry] = n - 1;
		gr->t.connections += e->connections;
		gr->t.entries++;
		gr->t.by_attr[e->attr] += e->connections;
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

struct legacy_group_totals *legacy_groups(const struct legacy_result *r, enum legacy_group g,
                                          enum legacy_sort sort, size_t *ngroups)
{
	size_t n = 0;
	struct group *v = make_groups(r, g, sort, &n, NULL);
	struct legacy_group_totals *t = v ? calloc(n ? n : 1, sizeof *t) : NULL;

	for (size_t k = 0; t && k < n; k++)
		t[k] = v[k].t;
	free(v);
	*ngroups = t ? n : 0;
	return t;
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

/* ---------------------------------------------------------------- a judge's life */

static int open_data(struct legacy_judge *c)
{
	char err[512];

	c->policy = c->q->policy;
	if (!c->policy) {
		c->own_policy = policy_load("default", err, sizeof err);
		if (!c->own_policy)
			goto bad;
		c->policy = c->own_policy;
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

struct legacy_judge *legacy_judge_begin(const struct legacy_query *q, struct legacy_result *out)
{
	struct legacy_judge *c = calloc(1, sizeof *c);

	memset(out, 0, sizeof *out);
	if (!c) {
		fprintf(stderr, "tlscensus: out of memory\n");
		return NULL;
	}
	c->q = q;
	c->out = out;
	out->now = q->now > 0 ? q->now : tc_now_unix();
	if (open_data(c)) {
		legacy_judge_free(c);
		return NULL;
	}
	out->policy = strdup(policy_name(c->policy));
	out->judges_groups = policy_judges_groups(c->policy);
	return c;
}

int legacy_address_cmp(const char *a, const char *b)
{
	unsigned char xk[17], yk[17];
	int k;

	ip_key(a, xk);
	ip_key(b, yk);
	k = memcmp(xk, yk, 17);
	return k ? k : strcmp(a, b);
}

static int accepted_cmp(const void *a, const void *b)
{
	const struct legacy_accepted *x = a, *y = b;

	return legacy_address_cmp(x->client_ip, y->client_ip);
}

/* The accepted pairs, one per client in address order; the judge's copies move to out. */
static int fold_accepted(struct legacy_judge *c)
{
	struct legacy_result *out = c->out;
	size_t w = 0;

	if (c->n_acc > 1)
		qsort(c->acc, c->n_acc, sizeof *c->acc, accepted_cmp);
	for (size_t i = 0; i < c->n_acc; i++) {
		if (w && !strcmp(c->acc[w - 1].client_ip, c->acc[i].client_ip)) {
			c->acc[w - 1].connections += c->acc[i].connections;
			free(c->acc[i].client_ip);
		} else {
			c->acc[w++] = c->acc[i];
		}
	}
	out->accepted = c->acc;
	out->n_accepted = w;
	c->acc = NULL;
	c->n_acc = c->cap_acc = 0;
	return 0;
}

int legacy_judge_end(struct legacy_judge *c)
{
	if (!c->out->policy || fold_entries(c) || sort_entries(c->out, c->q->group, c->q->sort) ||
	    fold_accepted(c))
		return -1;
	return 0;
}

void legacy_judge_free(struct legacy_judge *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		raw_free(&c->v[i].r);
	free(c->v);
	for (size_t i = 0; i < c->n_acc; i++)
		free(c->acc[i].client_ip);
	free(c->acc);
	catalog_free(c->catalog);
	hints_free(c->hints);
	policy_free(c->own_policy);
	free(c);
}

void legacy_entry_free(struct legacy_entry *e)
{
	free(e->client_ip), free(e->server_ip), free(e->sni), free(e->reason);
	free(e->service), free(e->retired), free(e->ja3), free(e->ja4), free(e->software);
	memset(e, 0, sizeof *e);
}

/* The judge's own path (legacy_judge_pair, then make_entry as legacy_judge_end would), for one
 * pair, leaving the judge as it was: nothing of the pair stays kept. */
int legacy_judge_one(struct legacy_judge *c, const struct tc_pair *p, struct legacy_entry *e)
{
	size_t n = c->n, n_acc = c->n_acc;
	int rc;

	memset(e, 0, sizeof *e);
	if (p->parse_status != TC_CONN_OK || (p->version < 0 && p->ch_max_version < 0))
		return LEGACY_UNJUDGED;
	rc = legacy_judge_pair(c, p);
	while (c->n_acc > n_acc)
		free(c->acc[--c->n_acc].client_ip);
	if (rc)
		return -1;
	if (c->n == n)
		return LEGACY_ACCEPTED;
	rc = make_entry(c, &c->v[n], 1, e) ? -1 : LEGACY_FLAGGED;
	raw_free(&c->v[n].r);
	c->n = n;
	if (rc < 0)
		legacy_entry_free(e);
	return rc;
}

void legacy_result_free(struct legacy_result *r)
{
	for (size_t i = 0; r->v && i < r->n; i++)
		legacy_entry_free(&r->v[i]);
	free(r->v);
	for (size_t i = 0; r->accepted && i < r->n_accepted; i++)
		free(r->accepted[i].client_ip);
	free(r->accepted);
	free(r->policy);
	free(r->db);
	memset(r, 0, sizeof *r);
}
