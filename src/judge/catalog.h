/*
 * catalog.h: the data files the legacy room reads besides the database: the provider catalog
 * (which service an SNI belongs to, and when it stops accepting legacy TLS), the fingerprint to
 * software map, and the copies of every data file embedded in the binary (scripts/embed.py).
 * Text in, lookups out; nothing here touches the store or prints a report.
 */
#ifndef TLSCENSUS_CATALOG_H
#define TLSCENSUS_CATALOG_H

#include <stddef.h>

struct policy;

/* ---------------------------------------------------------------- embedded files */

struct embedded_file {
	const char *name; /* base name: "entra.policy", "providers.catalog" */
	const char *text;
	size_t len;
};

/* Generated into embedded.c at build time. */
extern const struct embedded_file tc_embedded_files[];
extern const size_t tc_embedded_count;

/* The embedded copy of a data file, NULL when there is none. */
const struct embedded_file *embedded_find(const char *name);

/* Cuts a comment ('#' at the start or after a blank) and trailing blanks, in place: the one rule
 * every data file (policy, catalog, map) follows. */
void datafile_strip_comment(char *line);

/* Reads a whole text file (a policy, a catalog, a map) into a NUL-terminated buffer; what names
 * the kind of file in the error ("policy file"). NULL on error, message in err. */
char *catalog_read_file(const char *path, const char *what, size_t *len, char *err, size_t errlen);

/* ---------------------------------------------------------------- provider catalog */

struct catalog_entry {
	char *pattern;       /* SNI glob, matched case-insensitively */
	char *date;          /* YYYY-MM-DD: from this day on the service refuses what rule names */
	char *rule_text;     /* as written: "<TLSv1.2,3DES" */
	struct policy *rule; /* the same as a policy, for policy_judge */
	char *service;       /* "Microsoft Entra ID" */
	int line;
};

struct catalog;

/* path NULL: the built-in catalog (data/providers.catalog, embedded). NULL on error, with a
 * message naming the file and line in err. */
struct catalog *catalog_load(const char *path, char *err, size_t errlen);
struct catalog *catalog_parse(const char *text, size_t len, const char *origin, char *err,
                              size_t errlen);
void catalog_free(struct catalog *c);
size_t catalog_count(const struct catalog *c);
/* The first entry, in file order, whose pattern matches sni; NULL when none does. */
const struct catalog_entry *catalog_lookup(const struct catalog *c, const char *sni);

/* ---------------------------------------------------------------- software hints */

struct hints;

/* path NULL: the built-in map (data/fingerprints.tsv, embedded). A TSV with the columns ja4, ja3,
 * software, note; '#' lines and the header are skipped, "-" or "" is an empty cell. */
struct hints *hints_load(const char *path, char *err, size_t errlen);
struct hints *hints_parse(const char *text, size_t len, const char *origin, char *err,
                          size_t errlen);
void hints_free(struct hints *h);
size_t hints_count(const struct hints *h);
/* The software for a JA4 (tried first) or JA3 fingerprint; NULL when the map has neither. */
const char *hints_lookup(const struct hints *h, const char *ja4, const char *ja3);

#endif
