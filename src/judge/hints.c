/*
 * hints.c: the fingerprint -> software map (data/fingerprints.tsv): which client software a JA4
 * or JA3 fingerprint most likely belongs to. Parses text and answers lookups; it never reads the
 * database and prints nothing.
 *
 * The map is a TSV with the columns ja4, ja3, software, note; "-" or "" is an empty cell. Only
 * lines starting with '#' are comments, as the file's own header says: a cell is kept whole
 * (unlike the policy and catalog rule, a blank and '#' inside a note cut nothing). The header
 * line is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "hints.h"

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
	while ((line = datafile_next_line(text, len, &pos, NULL, &oom))) {
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
	struct datafile df;
	struct hints *h;

	if (datafile_load(&df, path, "data/fingerprints.tsv", "fingerprint map", err, errlen))
		return NULL;
	h = hints_parse(df.text, df.len, df.origin, err, errlen);
	datafile_free(&df);
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
