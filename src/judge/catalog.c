/*
 * catalog.c: the provider catalog (SNI -> service and retirement date). Parses text (read by
 * datafile.c) and answers lookups; it never reads a store and prints nothing.
 *
 * The provider catalog format (data/providers.catalog)
 * ----------------------------------------------------
 * One entry a line; '#' at the start of a line or after a blank starts a comment (put the
 * source of each entry there), blank lines are ignored:
 *
 *   PATTERN  DATE  REFUSES  SERVICE NAME
 *
 *   PATTERN  an SNI glob (fnmatch, case-insensitive): "login.microsoftonline.com",
 *            "*.blob.core.windows.net" ('*' also spans dots, so list the bare name as well
 *            when the apex is served too)
 *   DATE     YYYY-MM-DD, the day the service stopped (or stops) accepting what REFUSES names
 *   REFUSES  comma-separated: "<VERSION" (every version older than VERSION) and cipher classes
 *            (3DES, RC4, ... as in policy files), e.g. "<TLSv1.2,3DES"
 *   SERVICE  the rest of the line: "Microsoft Entra ID"
 *
 * The first entry that matches, in file order, wins: put specific names before broad globs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "datafile.h"
#include "filter.h"
#include "policy.h"

/* YYYY-MM-DD naming a real day. */
static int valid_date(const char *s)
{
	struct tm tm = {0};
	int y, m, d, n = 0;
	time_t t;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-')
		return 0;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	return t != (time_t)-1 && tm.tm_mday == d && tm.tm_mon == m - 1;
}

/* ---------------------------------------------------------------- provider catalog */

struct catalog {
	struct catalog_entry *v;
	size_t n, cap;
};

static void entry_free(struct catalog_entry *e)
{
	free(e->pattern);
	free(e->date);
	free(e->rule_text);
	free(e->service);
	policy_free(e->rule);
}

/* "<TLSv1.2,3DES" -> a policy ("min-version TLSv1.2", "deny-cipher 3DES"). */
static struct policy *rule_policy(const char *rule, const char *origin, int line, char *err,
                                  size_t errlen)
{
	char text[512], where[300], item[64];
	size_t used = 0;
	const char *p = rule;

	while (*p && used < sizeof text - 64) {
		size_t n = strcspn(p, ",");

		if (n == 0 || n >= sizeof item) {
			snprintf(err, errlen, "%s:%d: bad REFUSES item in '%s'", origin, line,
			         rule);
			return NULL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		used += (size_t)snprintf(text + used, sizeof text - used, "%s %s\n",
		                         item[0] == '<' ? "min-version" : "deny-cipher",
		                         item[0] == '<' ? item + 1 : item);
		p += n + (p[n] == ',');
	}
	snprintf(where, sizeof where, "%s:%d: REFUSES '%s'", origin, line, rule);
	/* The policy parser reports "where:1: unknown version ..." for this one-line text. */
	return policy_parse(text, used, where, err, errlen);
}

static int catalog_add(struct catalog *c, char *line, const char *origin, int lineno, char *err,
                       size_t errlen)
{
	struct catalog_entry e = {0};
	char *p = line, *pattern, *date, *rule;

	pattern = datafile_next_word(&p);
	if (!pattern)
		return 0;
	date = datafile_next_word(&p);
	rule = datafile_next_word(&p);
	while (*p == ' ' || *p == '\t')
		p++;
	if (!date || !rule || !*p) {
		snprintf(err, errlen,
		         "%s:%d: wants PATTERN DATE REFUSES SERVICE, e.g. "
		         "'login.microsoftonline.com 2022-01-31 <TLSv1.2,3DES Microsoft Entra ID'",
		         origin, lineno);
		return -1;
	}
	if (!valid_date(date)) {
		snprintf(err, errlen, "%s:%d: '%.32s' is not a date (YYYY-MM-DD)", origin, lineno,
		         date);
		return -1;
	}
	e.line = lineno;
	e.rule = rule_policy(rule, origin, lineno, err, errlen);
	if (!e.rule)
		return -1;
	e.pattern = strdup(pattern);
	e.date = strdup(date);
	e.rule_text = strdup(rule);
	e.service = strdup(p);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct catalog_entry *v = realloc(c->v, cap * sizeof *v);

		if (v) {
			c->v = v;
			c->cap = cap;
		}
	}
	if (!e.pattern || !e.date || !e.rule_text || !e.service || c->n == c->cap) {
		entry_free(&e);
		snprintf(err, errlen, "out of memory reading %s", origin);
		return -1;
	}
	c->v[c->n++] = e;
	return 0;
}

struct catalog *catalog_parse(const char *text, size_t len, const char *origin, char *err,
                              size_t errlen)
{
	struct catalog *c = calloc(1, sizeof *c);
	size_t pos = 0;
	int lineno = 0, oom = 0;
	char *line;

	if (!c) {
		snprintf(err, errlen, "out of memory reading %s", origin);
		return NULL;
	}
	while ((line = datafile_next_line(text, len, &pos, NULL, &oom))) {
		int rc;

		lineno++;
		datafile_strip_comment(line);
		rc = catalog_add(c, line, origin, lineno, err, errlen);
		free(line);
		if (rc) {
			catalog_free(c);
			return NULL;
		}
	}
	if (oom) {
		snprintf(err, errlen, "out of memory reading %s", origin);
		catalog_free(c);
		return NULL;
	}
	return c;
}

struct catalog *catalog_load(const char *path, char *err, size_t errlen)
{
	struct datafile df;
	struct catalog *c;

	if (datafile_load(&df, path, "data/providers.catalog", "provider catalog", err, errlen))
		return NULL;
	c = catalog_parse(df.text, df.len, df.origin, err, errlen);
	datafile_free(&df);
	return c;
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_free(&c->v[i]);
	free(c->v);
	free(c);
}

size_t catalog_count(const struct catalog *c)
{
	return c ? c->n : 0;
}

const struct catalog_entry *catalog_lookup(const struct catalog *c, const char *sni)
{
	if (!c || !sni || !*sni)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (filter_glob_match(c->v[i].pattern, sni))
			return &c->v[i];
	return NULL;
}
