/*
 * catalog.h: the provider catalog: which service an SNI belongs to, and from which day it
 * refuses legacy TLS (data/providers.catalog, embedded). Text in, lookups out; nothing here
 * touches a store or prints a report.
 */
#ifndef TLSCENSUS_CATALOG_H
#define TLSCENSUS_CATALOG_H

#include <stddef.h>

struct policy;

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

#endif
