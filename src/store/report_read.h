/*
 * report_read.h: what the report asks of a store, as plain numbers and strings: totals, counts
 * by version and cipher suite, the trend, the runs' coverage, and the reports table (the
 * previous report of a series, and remembering this one). The SQL is report_read.c's alone; no
 * caller sees a statement. Each function returns 0, or -1 with a message on stderr that names
 * the database (store_report_save: the reason in err, for its caller to word).
 */
#ifndef TLSCENSUS_REPORT_READ_H
#define TLSCENSUS_REPORT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "store.h"

/* Which connections a figure counts: a first_ts in [since, until], both ends included as
 * legacy_collect counts them, and the legacy command's filters, so every figure of a report is
 * over the same hosts as its legacy list. */
struct store_scope {
	double since, until;
	const struct cidr *client, *server; /* NULL or not set: any */
	const char *sni_glob;               /* fnmatch(3) pattern; NULL: any */
	int port;                           /* 0: any */
};

struct store_totals {
	uint64_t connections, clients, servers;
	uint64_t tcp, dtls, quic; /* connections by transport: TLS over TCP, DTLS, QUIC */
	double first, last;       /* first_ts of the earliest and the latest connection; 0: none */
};

int store_report_totals(struct store *s, const struct store_scope *sc, struct store_totals *out);

/* Connections per negotiated version or per cipher suite. */
struct store_count {
	int64_t value; /* the version or suite; a version of -1: no ServerHello */
	int legacy;    /* versions: the tls_versions table's flag; suites: 0 */
	uint64_t n;
};

/* Newest version first (by rank; unranked ones after, no ServerHello last). *out is malloc'd. */
int store_report_versions(struct store *s, const struct store_scope *sc, struct store_count **out,
                          size_t *n);
/* Negotiated suites, the most used first, then by value. *out is malloc'd. */
int store_report_ciphers(struct store *s, const struct store_scope *sc, struct store_count **out,
                         size_t *n);

/* Connections per span and negotiated version: span (first_ts - start) / span_seconds, rounded
 * toward zero; version -1: no ServerHello. Only the pairs that have connections. */
struct store_trend_count {
	int64_t span, version;
	uint64_t n;
};

int store_report_trend(struct store *s, const struct store_scope *sc, double start,
                       double span_seconds, struct store_trend_count **out, size_t *n);
/* The same per key_share group the server chose (in .version): -1 when none (TLS 1.2 and
 * older, or no ServerHello). The report classifies the groups (groups.h); no SQL does. */
int store_report_group_trend(struct store *s, const struct store_scope *sc, double start,
                             double span_seconds, struct store_trend_count **out, size_t *n);

/* For each of n client addresses, its connections in the scope. */
int store_report_client_connections(struct store *s, const struct store_scope *sc,
                                    const char *const *clients, size_t n, uint64_t *out);

/*
 * What the census could not see. Runs are whole invocations: a run counts when one of its
 * connections falls in [since, until] (whatever the filters), or when it is a live capture whose
 * wall-clock span overlaps it (now ends a capture still running: one that saw no TLS still says
 * what it dropped). Their counters are for the whole run and all hosts.
 */
struct store_coverage {
	uint64_t runs, unfinished, packets, undecodable, kernel_drops, queue_drops, flows_evicted;
	double oldest_row;       /* first_ts of the oldest connection row kept; 0: none */
	double oldest_inventory; /* first_seen of the oldest inventory row; 0: none */
};

int store_report_coverage(struct store *s, double since, double until, double now,
                          struct store_coverage *out);

/* A report remembered in the reports table. */
struct store_report_prev {
	double generated, since, until; /* since 0: the window was open */
	char *path;                     /* the file written; NULL: standard output */
	char **clients;                 /* the legacy client addresses it listed */
	size_t nclients;
};

/* The latest report with this policy and scope (the filters as text): 1 and *out filled, 0
 * when there is none (also when the database has no reports table), or -1. */
int store_report_previous(struct store *s, const char *policy, const char *scope,
                          struct store_report_prev *out);
void store_report_prev_free(struct store_report_prev *p);

/* A report to remember. */
struct store_report_row {
	double generated, since, until; /* since 0: the window was open (stored as NULL) */
	const char *policy, *scope;     /* the key of store_report_previous */
	const char *format;             /* html, md or csv */
	const char *path;               /* the file written; NULL: standard output */
	const char *const *clients;     /* the legacy client addresses listed */
	size_t nclients;
};

/* Adds the row to the reports table through store_db_write, so the census data stays behind a
 * read-only handle. 0, or -1 with SQLite's reason in err: the database may not be writable by
 * this user, and only the caller knows how much that matters. */
int store_report_save(struct store *s, const struct store_report_row *row, char *err,
                      size_t errlen);

#endif
