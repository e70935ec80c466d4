/*
 * legacy.h: the answer to "who still uses legacy TLS, who must fix it, and by when". The judge
 * takes pairs (tlscensus/pair.h: this client met this server, N times), judges each under a
 * policy, attributes the blame, names the service and its cutoff, and returns the entries for
 * the printers (legacy command) and the report. It never sees a store: src/report/collect.c
 * feeds it from one.
 */
#ifndef TLSCENSUS_LEGACY_H
#define TLSCENSUS_LEGACY_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "policy.h"
#include "tlscensus/pair.h"

/* Who must act (issue "attribution"), in the order a reader should meet them. */
enum attribution {
	ATTR_FAILING,  /* no ServerHello, or
	                * protocol_version/handshake_failure/inappropriate_fallback  alert: already
	                * broken, most likely by a server-side cutoff */
	ATTR_FALLBACK, /* the client retried lower (TLS_FALLBACK_SCSV, or a lower hello to the same
	                * server shortly after a failed one) */
	ATTR_CLIENT, /* the client's highest offered version is legacy, or (group rules) it offered
	              * no acceptable group: the client must change */
	ATTR_DRAFT,  /* group rules: the client offered only the obsolete Kyber drafts */
	ATTR_SERVER, /* the client offered TLS 1.2+ (or an acceptable group) but the server chose
	              * less: the server must */
	ATTR_CIPHER, /* version acceptable, cipher legacy under the policy */
	ATTR_HRR,    /* group rules, deny-hrr: an acceptable group, but only after a
	              * HelloRetryRequest (the client's key shares missed it) */
	ATTR_COUNT
};
const char *attribution_name(enum attribution a);   /* "failing", "client-limited", ... */
const char *attribution_advice(enum attribution a); /* one sentence for non-specialists */

enum legacy_group { GROUP_NONE, GROUP_CLIENT, GROUP_SERVER };
enum legacy_sort { SORT_CLIENT, SORT_SERVER, SORT_CONNECTIONS, SORT_LAST_SEEN, SORT_DEADLINE };

/* The question. The scope (since to port) is for the reader of the store, as a struct filter
 * (legacy_query_filter); the judge sees only the pairs within it. */
struct legacy_query {
	const struct policy *policy; /* NULL: the built-in default (tls12 plus broken suites) */
	double since, until;         /* unix seconds; 0 = open */
	struct cidr client, server;
	const char *sni_glob; /* fnmatch(3) pattern, NULL for any */
	int port;             /* 0 for any */
	enum legacy_group group;
	enum legacy_sort sort;
	const char *catalog_path; /* provider catalog; NULL: the built-in one */
	const char *hints_path;   /* fingerprint -> software map; NULL: the built-in one */
	double now;               /* unix seconds for "failing since"/"fails on"; 0: the clock */
};

/* The scope of q, for a reader of a store. */
struct filter legacy_query_filter(const struct legacy_query *q);

struct legacy_entry {
	char *client_ip, *server_ip, *sni; /* sni NULL when none; stored (inert) text */
	int server_port;
	uint16_t version;    /* effective version */
	int negotiated;      /* 0: no ServerHello, version is the client's highest offer */
	uint32_t cipher;     /* 0 with negotiated == 0; POLICY_NO_CIPHER for SSL 2.0 */
	uint16_t client_max; /* client's highest offered version; 0 when unknown */
	enum attribution attr;
	char *reason;               /* from policy_judge, owned by the entry */
	char *service;              /* provider catalog: "Microsoft Entra ID", NULL if unknown */
	char *retired;              /* the service's cutoff date "2022-01-31", NULL if unknown */
	char *ja3, *ja4, *software; /* software: hint from the fingerprint map, NULL if unknown */
	uint64_t connections;
	double first_seen, last_seen; /* unix seconds */
	/* Under a policy with group rules only (else -1 and 0): the group of the TLS 1.3
	 * ServerHello's key_share, -1 when none; 1 when a HelloRetryRequest came first. */
	int server_group;
	int hrr;
};

/* Connections by the kind of key exchange they negotiated (groups.h), whatever the policy:
 * judged connections only (the unknown bucket is apart). */
struct legacy_kx {
	uint64_t pq;        /* a hybrid or ML-KEM group */
	uint64_t draft;     /* a Kyber draft group */
	uint64_t classical; /* a classical (or unknown) group: TLS 1.3 with ECDHE or FFDHE */
	uint64_t none;      /* no key_share group: TLS 1.2 and older, or no ServerHello */
	uint64_t no_facts;  /* folded by --retain before the key exchange was kept */
};

/* Under a policy with group rules: one client's connections that the policy accepted. */
struct legacy_accepted {
	char *client_ip;
	uint64_t connections;
};

/* Connections the census could not judge: it says what it could not see. */
struct legacy_unknown {
	uint64_t truncated, malformed, one_sided, midstream;
};

struct legacy_result {
	struct legacy_entry *v;
	size_t n;
	struct legacy_unknown unknown;
	uint64_t connections; /* all connections in the window (legacy or not) */
	uint64_t legacy_connections;
	char *policy;         /* name of the policy applied */
	char *db;             /* the database's path, for messages */
	int from_connections; /* 1: counted from the connection rows (a window they cover:
	                       * exact); 0: from the inventory (a row overlapping the
	                       * window counts whole) */
	double now;           /* the time deadlines were judged against */
	struct legacy_kx kx;
	int judges_groups;                /* the policy has group rules */
	uint64_t accepted_connections;    /* with group rules: what the policy accepted */
	struct legacy_accepted *accepted; /* with group rules: per client, by address */
	size_t n_accepted;
};

/*
 * Judging, in three steps. begin loads q's policy (the default when q gives none), the catalog
 * and the hints, clears out and sets its policy name and time; NULL after a message on stderr
 * naming the file. pair judges one pair; the legacy ones are kept (their text copied). end folds
 * them into out's entries, in q's order. pair and end return 0, or -1 when out of memory; out
 * is then the caller's to free. free releases the judge (never out), also after a failure.
 */
struct legacy_judge;
struct legacy_judge *legacy_judge_begin(const struct legacy_query *q, struct legacy_result *out);
int legacy_judge_pair(struct legacy_judge *j, const struct tc_pair *p);
int legacy_judge_end(struct legacy_judge *j);
void legacy_judge_free(struct legacy_judge *j);

/*
 * One connection judged on its own, by the same path as legacy_judge_pair and legacy_judge_end
 * (policy, attribution, catalog, hints), for a stream of records (export, the log): nothing of
 * it stays in the judge. LEGACY_FLAGGED fills *e (free it with legacy_entry_free);
 * LEGACY_ACCEPTED: the policy accepts it; LEGACY_UNJUDGED: its hellos could not be judged
 * (parse status, or no version seen); -1: out of memory.
 */
enum { LEGACY_ACCEPTED = 0, LEGACY_FLAGGED = 1, LEGACY_UNJUDGED = 2 };
int legacy_judge_one(struct legacy_judge *j, const struct tc_pair *p, struct legacy_entry *e);
void legacy_entry_free(struct legacy_entry *e);

void legacy_result_free(struct legacy_result *r);

/* One group of a result's entries (one client, or one server address) and its totals. */
struct legacy_group_totals {
	const char *key; /* the address; points into one of the entries */
	size_t entries;
	uint64_t connections;
	uint64_t by_attr[ATTR_COUNT]; /* connections by attribution */
};

/* The groups of r's entries in display order, the order legacy_judge_end gave the entries; NULL
 * when out of memory. The caller frees the array; the keys live as long as r. */
struct legacy_group_totals *legacy_groups(const struct legacy_result *r, enum legacy_group g,
                                          enum legacy_sort sort, size_t *ngroups);
/* Numeric address order (IPv4 before IPv6), as the entries are sorted; for qsort comparators. */
int legacy_address_cmp(const char *a, const char *b);

/* An entry's group key: its client address, or its server address. */
const char *legacy_group_key(const struct legacy_entry *e, enum legacy_group g);

/* "failing since 2022-01-31" when date (YYYY-MM-DD) is not after now's day, else
 * "fails on 2026-12-31". */
void legacy_deadline_text(const char *date, double now, char *buf, size_t len);

#endif
