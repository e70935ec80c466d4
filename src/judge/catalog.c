/*
 * catalog.c: the provider catalog (SNI -> service and retirement date), the fingerprint ->
 * software map, and the embedded copies of the data files. Parses text and answers lookups; it
 * never reads the database and prints nothing.
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
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog.h"
#include "legacy.h"

#define CATALOG_MAX_FILE (16u << 20) /* a data file is hand-written text; 16 MiB is plenty */

/* ---------------------------------------------------------------- files */

const struct embedded_file *embedded_find(const char *name)
{
	for (size_t i = 0; i < tc_embedded_count; i++)
		if (!strcmp(tc_embedded_files[i].name, name))
			return &tc_embedded_files[i];
	return NULL;
}

char *catalog_read_file(const char *path, const char *what, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (!f) {
		snprintf(err, errlen, "cannot open %s '%s': %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s '%s' is not a regular file", what, path);
		goto out;
	}
	if ((unsigned long long)sb.st_size > CATALOG_MAX_FILE) {
		snprintf(err, errlen, "%s '%s' is larger than %u MiB; is it the right file?", what,
		         path, CATALOG_MAX_FILE >> 20);
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory reading %s '%s'", what, path);
		goto out;
	}
	*len = fread(buf, 1, (size_t)sb.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[*len] = '\0';
out:
	fclose(f);
	return buf;
}

/* Next line of text at *pos (without its newline, comment or trailing blanks), malloc'd;
 * NULL at the end or when out of memory (*oom set). */
static char *next_line(const char *text, size_t len, size_t *pos, int *oom)
{
	const char *nl;
	size_t n;
	char *line;

	if (*pos >= len)
		return NULL;
	nl = memchr(text + *pos, '\n', len - *pos);
	n = nl ? (size_t)(nl - (text + *pos)) : len - *pos;
	line = strndup(text + *pos, n);
	*pos += n + 1;
	if (!line) {
		*oom = 1;
		return NULL;
	}
	return line;
}

void datafile_strip_comment(char *line)
{
	size_t n;

	for (char *p = line; *p; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	n = strlen(line);
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		line[--n] = '\0';
}

/* Next blank-separated word of *p, NUL-terminated in place; NULL when none is left. */
static char *next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

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

	pattern = next_word(&p);
	if (!pattern)
		return 0;
	date = next_word(&p);
	rule = next_word(&p);
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
	while ((line = next_line(text, len, &pos, &oom))) {
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
	struct catalog *c;
	size_t len;
	char *text;

	if (!path) {
		const struct embedded_file *e = embedded_find("providers.catalog");

		if (!e) {
			snprintf(err, errlen, "no built-in provider catalog (a build problem)");
			return NULL;
		}
		return catalog_parse(e->text, e->len, "data/providers.catalog (built in)", err,
		                     errlen);
	}
	text = catalog_read_file(path, "provider catalog", &len, err, errlen);
	if (!text)
		return NULL;
	c = catalog_parse(text, len, path, err, errlen);
	free(text);
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

/* ---------------------------------------------------------------- software hints */

struct hint {
	char *ja4, *ja3, *software; /* ja4/ja3 NULL when the cell is empty */
	size_t line;
};

struct hints {
	struct hint *v;
	size_t n, cap;
	struct hint **by_ja4, **by_ja3; /* sorted, file order among equals */
	size_t n_ja4, n_ja3;
};

static char *cell(char *s)
{
	return *s && strcmp(s, "-") ? strdup(s) : NULL;
}

static int hint_add(struct hints *h, char *line, size_t lineno, const char *origin, char *err,
                    size_t errlen)
{
	char *cols[4] = {NULL, NULL, NULL, NULL};
	struct hint e = {0};
	size_t n = 0;
	char *p = line;

	if (!*line || *line == '#')
		return 0;
	while (n < 4) {
		cols[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(cols[i]);

		while (l && (cols[i][l - 1] == '\r' || cols[i][l - 1] == ' '))
			cols[i][--l] = '\0';
	}
	if (lineno == 1 && !strcmp(cols[0], "ja4"))
		return 0; /* the header */
	if (n < 3 || !*cols[2] || (!*cols[0] && !*cols[1]) ||
	    (!strcmp(cols[0], "-") && !strcmp(cols[1], "-"))) {
		snprintf(err, errlen,
		         "%s:%zu: wants tab-separated columns ja4, ja3, software, note (a "
		         "fingerprint and the software)",
		         origin, lineno);
		return -1;
	}
	e.ja4 = cell(cols[0]);
	e.ja3 = cell(cols[1]);
	e.software = strdup(cols[2]);
	e.line = lineno;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct hint *v = realloc(h->v, cap * sizeof *v);

		if (v) {
			h->v = v;
			h->cap = cap;
		}
	}
	if (!e.software || h->n == h->cap || (*cols[0] && strcmp(cols[0], "-") && !e.ja4) ||
	    (*cols[1] && strcmp(cols[1], "-") && !e.ja3)) {
		free(e.ja4), free(e.ja3), free(e.software);
		snprintf(err, errlen, "out of memory reading %s", origin);
		return -1;
	}
	h->v[h->n++] = e;
	return 0;
}

static int cmp_ja4(const void *a, const void *b)
{
	const struct hint *x = *(struct hint *const *)a, *y = *(struct hint *const *)b;
	int c = strcmp(x->ja4, y->ja4);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int cmp_ja3(const void *a, const void *b)
{
	const struct hint *x = *(struct hint *const *)a, *y = *(struct hint *const *)b;
	int c = strcmp(x->ja3, y->ja3);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int hints_index(struct hints *h)
{
	h->by_ja4 = calloc(h->n + 1, sizeof *h->by_ja4);
	h->by_ja3 = calloc(h->n + 1, sizeof *h->by_ja3);
	if (!h->by_ja4 || !h->by_ja3)
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		if (h->v[i].ja4)
			h->by_ja4[h->n_ja4++] = &h->v[i];
		if (h->v[i].ja3)
			h->by_ja3[h->n_ja3++] = &h->v[i];
	}
	qsort(h->by_ja4, h->n_ja4, sizeof *h->by_ja4, cmp_ja4);
	qsort(h->by_ja3, h->n_ja3, sizeof *h->by_ja3, cmp_ja3);
	return 0;
}

struct hints *hints_parse(const char *text, size_t len, const char *origin, char *err,
                          size_t errlen)
{
	struct hints *h = calloc(1, sizeof *h);
	size_t pos = 0, lineno = 0;
	int oom = 0;
	char *line;

	if (!h) {
		snprintf(err, errlen, "out of memory reading %s", origin);
		return NULL;
	}
	while ((line = next_line(text, len, &pos, &oom))) {
		int rc = hint_add(h, line, ++lineno, origin, err, errlen);

		free(line);
		if (rc) {
			hints_free(h);
			return NULL;
		}
	}
	if (oom || hints_index(h)) {
		snprintf(err, errlen, "out of memory reading %s", origin);
		hints_free(h);
		return NULL;
	}
	return h;
}

struct hints *hints_load(const char *path, char *err, size_t errlen)
{
	struct hints *h;
	size_t len;
	char *text;

	if (!path) {
		const struct embedded_file *e = embedded_find("fingerprints.tsv");

		if (!e) {
			snprintf(err, errlen, "no built-in fingerprint map (a build problem)");
			return NULL;
		}
		return hints_parse(e->text, e->len, "data/fingerprints.tsv (built in)", err,
		                   errlen);
	}
	text = catalog_read_file(path, "fingerprint map", &len, err, errlen);
	if (!text)
		return NULL;
	h = hints_parse(text, len, path, err, errlen);
	free(text);
	return h;
}

void hints_free(struct hints *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].ja4), free(h->v[i].ja3), free(h->v[i].software);
	free(h->v);
	free(h->by_ja4);
	free(h->by_ja3);
	free(h);
}

size_t hints_count(const struct hints *h)
{
	return h ? h->n : 0;
}

/* The first (in file order) hint whose key equals want, by binary search on sorted. */
static const struct hint *find(struct hint *const *sorted, size_t n, const char *want, int ja4)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ja4 ? sorted[mid]->ja4 : sorted[mid]->ja3, want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && !strcmp(ja4 ? sorted[lo]->ja4 : sorted[lo]->ja3, want))
		return sorted[lo];
	return NULL;
}

const char *hints_lookup(const struct hints *h, const char *ja4, const char *ja3)
{
	const struct hint *e = NULL;

	if (!h)
		return NULL;
	if (ja4 && *ja4)
		e = find(h->by_ja4, h->n_ja4, ja4, 1);
	if (!e && ja3 && *ja3)
		e = find(h->by_ja3, h->n_ja3, ja3, 0);
	return e ? e->software : NULL;
}
