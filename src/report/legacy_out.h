/*
 * legacy_out.h: the legacy command's output. Each format (legacy_table.c, legacy_csv.c,
 * legacy_json.c) fills one struct legacy_output; legacy_print walks a result through it, so a
 * new format is one new file and one table line, a new section one new member. Every string
 * from the wire is made inert for its format.
 */
#ifndef TLSCENSUS_LEGACY_OUT_H
#define TLSCENSUS_LEGACY_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "legacy.h"
#include "version.h"

enum legacy_format { LEGACY_TABLE, LEGACY_CSV, LEGACY_JSON };

/* How the result is shown: the format, and for the table its columns and colour. */
struct legacy_view {
	enum legacy_format format;
	const char *columns; /* --columns: names separated by commas; NULL: the default set */
	int wide;            /* --wide: every column */
	int colour;          /* -1: on a terminal without NO_COLOR; 0 never; 1 always */
	size_t limit;        /* entries shown at most (--limit); 0: all */
};

/* Writes r to out as v says; 0, or -1 with a message on stderr. */
int legacy_print(const struct legacy_result *r, const struct legacy_query *q,
                 const struct legacy_view *v, FILE *out);

/* The table's column names, for --columns and its error message. */
extern const char legacy_column_names[];
/* 0 when every name in list is a column; else -1 with a message naming the wrong one. */
int legacy_columns_check(const char *list, char *err, size_t errlen);

/* ---------------------------------------------------------------- for the formats */

/* What a format is handed at every step. */
struct legacy_out {
	const struct legacy_result *r;
	const struct legacy_query *q;
	const struct legacy_group_totals *groups; /* in display order; NULL without --group */
	size_t ngroups;
	const struct legacy_view *view;
	size_t shown; /* entries walked: r->n, or fewer under --limit */
	FILE *f;
	void *priv; /* the format's own state, from begin to end */
};

/*
 * The steps, in this order: begin; for each entry shown (the first o->shown), first the heading of
 * its group when a new group starts (with --group only), then the entry; entries_end; unknown (the
 * connections that could not be judged, also when there are none); end. A member may be NULL. begin
 * returns 0, or -1 when out of memory (nothing else is called then); end frees what begin took.
 */
struct legacy_output {
	int (*begin)(struct legacy_out *o);
	void (*group)(struct legacy_out *o, size_t g); /* o->groups[g] */
	void (*entry)(struct legacy_out *o, size_t k); /* o->r->v[k] */
	void (*entries_end)(struct legacy_out *o);
	void (*unknown)(struct legacy_out *o, const struct legacy_unknown *u);
	/* Only under a policy with group rules: the connections by key exchange (r->kx) and
	 * those the policy accepted (attribution "ready"). */
	void (*key_exchange)(struct legacy_out *o);
	void (*end)(struct legacy_out *o);
};

extern const struct legacy_output legacy_table, legacy_csv, legacy_json;

/* The texts of one entry, before any format's escaping. */
struct legacy_entry_text {
	char server[80], version[40], cipher[16], client_max[TC_VERSION_TEXT_MAX], first[24],
	    last[24];
	char deadline[48], conns[24];
	const char *cipher_name; /* the IANA name, or cipher (hex), or NULL */
};

void legacy_entry_texts(const struct legacy_entry *e, double now, struct legacy_entry_text *t);
/* The entry's key_share group ("X25519MLKEM768", "0x1234"), NULL when none; buf holds 8. */
const char *legacy_group_text(const struct legacy_entry *e, char buf[8]);
/* The attribution of the connections a policy with group rules accepted. */
#define LEGACY_READY "ready"
/* "2024-01-02T03:04:05Z" */
void legacy_time_text(double t, char buf[24]);

/* The kinds of the unknown bucket, in output order. */
struct legacy_unknown_kind {
	const char *key;  /* JSON key, CSV reason, parse_status */
	const char *text; /* for people */
};
extern const struct legacy_unknown_kind legacy_unknown_kinds[];
#define LEGACY_UNKNOWN_KINDS 4
uint64_t legacy_unknown_at(const struct legacy_unknown *u, size_t kind);
uint64_t legacy_unknown_total(const struct legacy_unknown *u);

#endif
