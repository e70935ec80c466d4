/*
 * report_int.h: inside the report room. report.c gathers one struct report; each format
 * (render_html.c, render_md.c, render_csv.c) is a struct report_renderer that writes it, section
 * by section, and reads nothing else. render.c holds what the formats share.
 */
#ifndef TLSCENSUS_REPORT_INT_H
#define TLSCENSUS_REPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "legacy.h"
#include "report.h"
#include "report_read.h"
#include "version.h"

#ifndef TC_VERSION
#define TC_VERSION "unknown"
#endif

#define DAY        86400
#define FMT_MINUTE "%Y-%m-%d %H:%M"
#define FMT_DAY    "%Y-%m-%d"

/* ---------------------------------------------------------------- what a report holds */

struct strv {
	char **v;
	size_t n, cap;
};

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

struct previous {
	int found;
	double generated, since, until; /* since 0: it was open */
	char *path;
	struct strv clients; /* sorted */
};

/* One bar of the chart and one row of the trend table: bucket_days days from start. */
struct trend_row {
	double start;
	char day[32];      /* start, YYYY-MM-DD */
	const uint64_t *n; /* connections per version, parallel to versions.v */
	uint64_t total;
};

/* The columns of the post-quantum trend: what kind of key exchange was negotiated. */
enum kx_col { KX_PQ, KX_DRAFT, KX_CLASSICAL, KX_NONE, KX_COLS };

/* One client's row of the post-quantum section (policies with group rules). */
struct pq_client {
	const char *client_ip; /* points into lr */
	const char *software;  /* the hint of its first entry that has one; NULL if none */
	uint64_t connections;  /* ready + by_attr */
	uint64_t ready;        /* accepted by the policy */
	uint64_t by_attr[ATTR_COUNT];
};

struct report {
	const struct report_options *o;
	const struct census_reader *s; /* the store the figures come from */
	double now;
	double since, until; /* the window, both ends included; since 0: from the first record */
	int until_given;
	char scope[640];    /* filters as text, the key (with the policy) of "previous report" */
	char filters[640];  /* the same for readers */
	const char *policy; /* name of the policy, with scope the key of "previous report" */
	const char *policy_text; /* description; NULL when the legacy room gives none */
	/* The window and the series (policy and filters) as one token, "SINCE/UNTIL;HASH",
	 * written into every report so that a dated file of another window is never replaced */
	char window[96];
	struct store_scope where; /* the window and the filters, for every count of the store */
	struct legacy_result lr;
	size_t *order;              /* entries in attribution order */
	struct strv legacy_clients; /* sorted */
	struct {
		size_t entries, clients;
		uint64_t connections;
	} per_attr[ATTR_COUNT];
	uint64_t conns, clients, servers;
	uint64_t tcp_conns, dtls_conns, quic_conns; /* conns by transport */
	double data_first, data_last;
	struct tallies versions, ciphers;
	/* trend: nbuckets spans of bucket_days days from day0, one column per versions.v[i] */
	double day0;
	int bucket_days;
	char bucket_name[32]; /* report_bucket_label */
	size_t nbuckets;
	uint64_t *trend;
	struct trend_row *rows; /* nbuckets */
	uint64_t trend_max;
	struct store_coverage cov;
	struct previous prev;
	struct strv added, migrated, unseen;
	uint64_t *migrated_conns; /* parallel to migrated */
	/* Post-quantum readiness, under a policy with group rules (lr.judges_groups): one row per
	 * client in address order, and the trend, nbuckets rows of KX_COLS counts. */
	struct pq_client *pq;
	size_t npq;
	uint64_t *pq_trend;
};

/* ---------------------------------------------------------------- formats */

/*
 * A format writes the sections in this order, each through its own function (NULL: the format
 * has nothing there). A new section is one more member and a function in each render_*.c; a new
 * format is one more file and a line in report.c's table.
 */
struct report_renderer {
	const char *name; /* html, md, csv: the format column of the reports table */
	void (*header)(FILE *out, const struct report *r);  /* window, policy, database */
	void (*summary)(FILE *out, const struct report *r); /* totals, versions, cipher suites */
	/* One line under every policy: the share of connections with a hybrid or ML-KEM key
	 * exchange (lr.kx). Apart from summary, so the two change independently. */
	void (*kx_summary)(FILE *out, const struct report *r);
	void (*legacy)(FILE *out, const struct report *r); /* the entries, by who must act */
	/* "Post-quantum readiness": per-client table and trend; only with group rules */
	void (*pq)(FILE *out, const struct report *r);
	void (*trend)(FILE *out, const struct report *r);
	void (*changes)(FILE *out, const struct report *r);
	void (*coverage)(FILE *out, const struct report *r);
	void (*footer)(FILE *out, const struct report *r);
};

extern const struct report_renderer report_html, report_md, report_csv;

/* ---------------------------------------------------------------- shared by the formats */

/* t as UTC through strftime(3); "?" when it does not fit. */
void report_time(double t, const char *fmt, char *buf, size_t len)
    __attribute__((format(strftime, 2, 0)));

/*
 * All text that is not a literal of the report room (addresses, SNI, software hints, service
 * names, anything read from the database) is written through report_text: made inert (no
 * control byte, valid UTF-8, bad bytes as \xHH), then escaped for the format (common/text.h).
 * CSV is the legacy command's cell: quoted, with a leading formula character defused; empty
 * text is "".
 */
void report_text(FILE *out, enum report_format fmt, const char *t);

const char *report_plural(uint64_t n);
/* 12345 -> "12,345": the reader compares magnitudes, not digits. */
const char *report_num(uint64_t v, char buf[32]);
const char *report_percent(uint64_t part, uint64_t whole, char buf[16]);
/* Connections the legacy room could not judge (hellos unparsed, or not seen at all). */
uint64_t report_unjudged(const struct report *r);
/* Judged and acceptable under the policy. */
uint64_t report_modern(const struct report *r);
/* "day", "week" or "30-day period": what one bar of the trend spans (bucket_days). */
const char *report_bucket_label(const struct report *r);

/* Room for the longest version name of the report, "TLS 1.3 draft 28 (Facebook)". */
#define REPORT_VERSION_MAX 40

/* A version as the report names it for readers: tc_version_text's names, and also the TLS 1.3
 * drafts (0x7f0e..0x7f1c "TLS 1.3 draft 14".."28"), Facebook's draft builds (0xfbXX) and
 * Chrome's experiments (0x7e01..0x7e03). Only the report: legacy and export keep the hex
 * spelling of FORMAT.md. */
const char *report_version_name(int64_t v, char buf[REPORT_VERSION_MAX]);

/* The line that marks a report of format fmt with its window (r->window): an HTML meta
 * element, a Markdown comment, a CSV row of the report block. The renderers write it in their
 * header; report.c looks for it in a file before it replaces it. */
void report_window_marker(const struct report *r, enum report_format fmt, char *buf, size_t len);

/* "hybrid or ML-KEM", "Kyber draft", "classical", "no key_share group". */
const char *report_kx_col_name(enum kx_col c);
/* The kind of a key_share group (-1: none) as a trend column. */
enum kx_col report_kx_col(int64_t group);

/* Section titles for readers; attribution_name() stays beside them as the legacy command's
 * term, so the two outputs can be matched. */
const char *report_attr_title(enum attribution a);

/* What an entry says, as every format words it. */
struct entry_text {
	char server[96];
	char uses[64]; /* "TLSv1.0", "TLSv1.0 offered, no answer" */
	char cipher[128];
	char client_max[REPORT_VERSION_MAX];
	char deadline[96];
	int failing; /* the deadline has passed */
	char first[32], last[32];
};
void report_entry_text(const struct report *r, const struct legacy_entry *e, struct entry_text *t);

/* The coverage lines of HTML and Markdown (CSV names them as fields). */
struct cov_line {
	const char *what;
	uint64_t n;
	const char *meaning;
};
#define REPORT_COV_LINES 8
size_t report_coverage_lines(const struct report *r, struct cov_line l[REPORT_COV_LINES]);

#endif
