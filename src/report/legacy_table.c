/*
 * legacy_table.c: the legacy command's table, for people at a terminal and for grep. Every cell
 * is inert text; on a terminal too narrow for a cell it is cut here, in the middle (CSV, JSON
 * and a pipe keep every cell whole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legacy_out.h"
#include "text.h"
#include "util.h"

/*
 * One line per entry, always: grep and wc see one entry per line, and a terminal never wraps.
 * The default columns answer "who, to what, how old, who acts" (CLIENT, SNI, VERSION,
 * ATTRIBUTION, CONNS, LAST SEEN); under a policy with group rules REASON joins them, as it
 * then says what VERSION cannot, and DEADLINE when a shown entry has one. --wide shows every
 * column, --columns a chosen list. On a terminal the row is fitted to its width: the widest
 * cuttable cells are cut in the middle (a host name keeps its domain, a software hint its version),
 * and only when that is not enough are the last columns left out. Piped, every cell is whole.
 */
enum col {
	C_CLIENT,
	C_SERVER,
	C_SNI,
	C_ATTR,
	C_VERSION,
	C_CIPHER,
	C_MAX,
	C_CONNS,
	C_FIRST,
	C_LAST,
	C_REASON,
	C_SERVICE,
	C_DEADLINE,
	C_SOFTWARE,
	C_COUNT
};

static const struct {
	const char *head, *name; /* the header; the name --columns takes */
	size_t min;              /* 0: never cut; else the narrowest it is cut to */
} cols[C_COUNT] = {
    [C_CLIENT] = {"CLIENT", "client", 15},
    [C_SERVER] = {"SERVER", "server", 15},
    [C_SNI] = {"SNI", "sni", 12},
    [C_ATTR] = {"ATTRIBUTION", "attribution", 0},
    [C_VERSION] = {"VERSION", "version", 0},
    [C_CIPHER] = {"CIPHER", "cipher", 12},
    [C_MAX] = {"CLIENT MAX", "client-max", 0},
    [C_CONNS] = {"CONNS", "conns", 0},
    [C_FIRST] = {"FIRST SEEN", "first-seen", 0},
    [C_LAST] = {"LAST SEEN", "last-seen", 0},
    [C_REASON] = {"REASON", "reason", 12},
    [C_SERVICE] = {"SERVICE", "service", 10},
    [C_DEADLINE] = {"DEADLINE", "deadline", 0},
    [C_SOFTWARE] = {"SOFTWARE", "software", 12},
};

static const int default_cols[] = {C_CLIENT, C_SNI, C_VERSION, C_ATTR, C_CONNS, C_LAST};

const char legacy_column_names[] = "client, server, sni, attribution, version, cipher, "
                                   "client-max, conns, first-seen, last-seen, reason, "
                                   "service, deadline, software";

/* The columns of a --columns list into out (up to C_COUNT); their count, or 0 when a name is
 * unknown (*bad then points at it, len its length). */
static size_t parse_columns(const char *list, int *out, const char **bad, size_t *len)
{
	size_t n = 0;

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		int found = -1;

		for (int c = 0; c < C_COUNT && l; c++)
			if (strlen(cols[c].name) == l && !strncmp(p, cols[c].name, l))
				found = c;
		if (found < 0 && l == 3 && !strncmp(p, "who", 3))
			found = C_ATTR;
		if (found < 0) {
			*bad = p;
			*len = l;
			return 0;
		}
		if (n < C_COUNT)
			out[n++] = found;
		p += l + (p[l] == ',');
	}
	return n;
}

int legacy_columns_check(const char *list, char *err, size_t errlen)
{
	int v[C_COUNT];
	const char *bad = list;
	size_t len = 0;

	if (parse_columns(list, v, &bad, &len))
		return 0;
	snprintf(err, errlen, "unknown column '%.*s' in --columns (valid: %s)", (int)len, bad,
	         legacy_column_names);
	return -1;
}

struct layout {
	int cols[C_COUNT];
	size_t ncols;
	size_t width[C_COUNT];
	size_t group_indent; /* of every line, inside a group section */
	int colour;
};

/* SGR codes (ECMA-48): the attribution by who acts, legacy versions in red, headers bold. */
static const char *attr_colour(enum attribution a)
{
	switch (a) {
	case ATTR_FAILING:
		return "1;31";
	case ATTR_FALLBACK:
		return "35";
	case ATTR_CLIENT:
	case ATTR_DRAFT:
		return "33";
	case ATTR_SERVER:
	case ATTR_HRR:
		return "36";
	default:
		return "34";
	}
}

/* A known version below TLS 1.2 (and DTLS 1.2): what every built-in policy refuses. An
 * unknown value (rank 0) is not coloured: nothing says it is old. */
static int version_is_old(uint16_t v)
{
	int rank = tc_version_rank(v);

	return rank > 0 && rank < tc_version_rank(TC_V_TLS12);
}

static size_t layout_width(const struct layout *l)
{
	size_t w = l->group_indent;

	for (size_t k = 0; k < l->ncols; k++)
		w += l->width[l->cols[k]] + (k ? 2 : 0);
	return w;
}

/* e: the entry of the cells, NULL for the header. */
static void print_cells(FILE *out, const struct layout *l, char *const cell[C_COUNT],
                        const struct legacy_entry *e)
{
	fprintf(out, "%*s", (int)l->group_indent, "");
	for (size_t k = 0; k < l->ncols; k++) {
		int c = l->cols[k];
		size_t pad = l->width[c] - text_width(cell[c]);
		const char *sgr = NULL;

		if (l->colour && !e)
			sgr = "1";
		else if (l->colour && c == C_ATTR)
			sgr = attr_colour(e->attr);
		else if (l->colour &&
		         ((c == C_VERSION && version_is_old(e->version)) ||
		          (c == C_MAX && e->client_max && version_is_old(e->client_max))))
			sgr = "31";
		if (k)
			fputs("  ", out);
		if (c == C_CONNS)
			fprintf(out, "%*s", (int)pad, "");
		if (sgr)
			fprintf(out, "\033[%sm%s\033[0m", sgr, cell[c]);
		else
			fputs(cell[c], out);
		if (c != C_CONNS && k != l->ncols - 1)
			fprintf(out, "%*s", (int)pad, ""); /* no trailing blanks */
	}
	fputc('\n', out);
}

/* Fills the cells of e, each inert, whole and malloc'd with room for a cut; "-" stands for
 * none. */
static int table_cells(const struct legacy_entry *e, double now, char *cell[C_COUNT])
{
	struct legacy_entry_text t;
	const char *src[C_COUNT];

	legacy_entry_texts(e, now, &t);
	t.first[10] = t.last[10] = '\0'; /* the day: the times are in CSV and JSON */
	src[C_CLIENT] = e->client_ip;
	src[C_SERVER] = t.server;
	src[C_SNI] = e->sni;
	src[C_ATTR] = attribution_name(e->attr);
	src[C_VERSION] = t.version;
	src[C_CIPHER] = t.cipher_name;
	src[C_MAX] = t.client_max;
	src[C_CONNS] = t.conns;
	src[C_FIRST] = t.first;
	src[C_LAST] = t.last;
	src[C_REASON] = e->reason;
	src[C_SERVICE] = e->service;
	src[C_DEADLINE] = t.deadline;
	src[C_SOFTWARE] = e->software;
	for (int i = 0; i < C_COUNT; i++) {
		const char *s = src[i] && *src[i] ? src[i] : "-";
		char *c = text_inert(s, strlen(s), 0);

		cell[i] = c ? realloc(c, strlen(c) + 3) : NULL; /* the ellipsis is 3 bytes */
		if (!cell[i]) {
			free(c);
			return -1;
		}
	}
	return 0;
}

/* "client 10.99.0.1: 3 entries, 5 connections (failing 1, client-limited 4)" */
static void print_group_heading(FILE *out, const struct legacy_group_totals *g,
                                enum legacy_group kind)
{
	char *key = text_inert(g->key, strlen(g->key), 0);
	int first = 1;

	fprintf(out, "%s %s: %zu entr%s, %llu connection%s (",
	        kind == GROUP_SERVER ? "server" : "client", key ? key : "?", g->entries,
	        g->entries == 1 ? "y" : "ies", (unsigned long long)g->connections,
	        g->connections == 1 ? "" : "s");
	for (int a = 0; a < ATTR_COUNT; a++) {
		if (!g->by_attr[a])
			continue;
		fprintf(out, "%s%s %llu", first ? "" : ", ", attribution_name((enum attribution)a),
		        (unsigned long long)g->by_attr[a]);
		first = 0;
	}
	fputs(")\n", out);
	free(key);
}

static void print_header(FILE *out, const struct layout *l, char *head[C_COUNT])
{
	print_cells(out, l, head, NULL);
}

/* Narrows the widest cuttable column by one; 0 when every one is at its narrowest. */
static int narrow_one(struct layout *l)
{
	int best = -1;

	for (size_t k = 0; k < l->ncols; k++) {
		int c = l->cols[k];

		if (cols[c].min && l->width[c] > cols[c].min &&
		    (best < 0 || l->width[c] > l->width[best]))
			best = c;
	}
	if (best < 0)
		return 0;
	l->width[best]--;
	return 1;
}

static void choose_layout(struct layout *l, const struct legacy_result *r,
                          const struct legacy_out *o)
{
	const struct legacy_view *v = o->view;
	size_t limit = text_terminal_columns(o->f);
	int drop = o->q->group == GROUP_CLIENT ? C_CLIENT : -1;
	int want[C_COUNT];
	size_t n = 0;
	const char *bad;
	size_t badlen;

	l->group_indent = o->q->group != GROUP_NONE ? 2 : 0;
	l->colour = v->colour < 0 ? text_terminal_colour(o->f) : v->colour;
	if (v->columns && (n = parse_columns(v->columns, want, &bad, &badlen)) > 0) {
		drop = -1; /* asked for by name: shown even inside a client's section */
	} else if (v->wide) {
		for (int c = 0; c < C_COUNT; c++)
			want[n++] = c;
	} else {
		int dated = 0;

		for (size_t k = 0; k < o->shown; k++)
			dated |= r->v[k].retired != NULL;
		for (size_t k = 0; k < COUNT_OF(default_cols); k++) {
			want[n++] = default_cols[k];
			if (default_cols[k] == C_ATTR && r->judges_groups)
				want[n++] = C_REASON;
		}
		if (dated)
			want[n++] = C_DEADLINE;
	}
	l->ncols = 0;
	for (size_t k = 0; k < n; k++)
		if (want[k] != drop)
			l->cols[l->ncols++] = want[k];
	if (!limit)
		return;
	while (layout_width(l) > limit && narrow_one(l))
		;
	/* Still too wide at the narrowest cuts: the last columns go, the first two stay. */
	while (layout_width(l) > limit && l->ncols > 2)
		l->ncols--;
}

/* Cuts every shown cell to its column's width. */
static void cut_cells(const struct layout *l, char *cell[C_COUNT])
{
	for (size_t k = 0; k < l->ncols; k++)
		text_cut_middle(cell[l->cols[k]], l->width[l->cols[k]]);
}

/* Every entry's cells, the column widths and the layout, known before the first line. */
struct table {
	char *(*cells)[C_COUNT];
	char *head[C_COUNT];
	struct layout l;
};

static void table_end(struct legacy_out *o)
{
	struct table *t = o->priv;

	for (size_t k = 0; t->cells && k < o->shown; k++)
		for (int i = 0; i < C_COUNT; i++)
			free(t->cells[k][i]);
	free(t->cells);
	free(t);
	o->priv = NULL;
}

static int table_begin(struct legacy_out *o)
{
	const struct legacy_result *r = o->r;
	const struct legacy_query *q = o->q;
	struct table *t = calloc(1, sizeof *t);

	if (!t)
		return -1;
	o->priv = t;
	t->cells = calloc(r->n ? r->n : 1, sizeof *t->cells);
	if (!t->cells)
		goto fail;
	for (int i = 0; i < C_COUNT; i++) {
		t->head[i] = (char *)cols[i].head;
		t->l.width[i] = strlen(cols[i].head);
	}
	for (size_t k = 0; k < o->shown; k++) {
		if (table_cells(&r->v[k], r->now, t->cells[k]))
			goto fail;
		for (int i = 0; i < C_COUNT; i++)
			if (text_width(t->cells[k][i]) > t->l.width[i])
				t->l.width[i] = text_width(t->cells[k][i]);
	}
	choose_layout(&t->l, r, o);
	for (size_t k = 0; k < o->shown; k++)
		cut_cells(&t->l, t->cells[k]);
	if (!r->n) {
		fprintf(o->f,
		        "no legacy TLS connections found in %s under policy '%s' (%llu connections "
		        "%s)\n",
		        r->db ? r->db : "the database", r->policy,
		        (unsigned long long)r->connections,
		        q->since > 0 || q->until > 0 ? "in the window" : "recorded");
	} else if (q->group == GROUP_NONE) {
		print_header(o->f, &t->l, t->head);
	}
	return 0;
fail:
	table_end(o);
	return -1;
}

static void table_group(struct legacy_out *o, size_t g)
{
	struct table *t = o->priv;

	if (g)
		fputc('\n', o->f);
	print_group_heading(o->f, &o->groups[g], o->q->group);
	print_header(o->f, &t->l, t->head);
}

static void table_entry(struct legacy_out *o, size_t k)
{
	struct table *t = o->priv;

	print_cells(o->f, &t->l, t->cells[k], &o->r->v[k]);
}

/* "... 12 more entries (--limit 20; --format csv or json for all)" */
static void table_entries_end(struct legacy_out *o)
{
	size_t more = o->r->n - o->shown;

	if (more)
		fprintf(o->f, "... %zu more entr%s (--limit %zu)\n", more, more == 1 ? "y" : "ies",
		        o->shown);
}

/* "could not judge 3 connections: 2 truncated hello, 1 midstream (...)" */
static void table_unknown(struct legacy_out *o, const struct legacy_unknown *u)
{
	uint64_t total = legacy_unknown_total(u);
	int first = 1;

	if (!total)
		return;
	if (o->r->n)
		fputc('\n', o->f);
	fprintf(o->f, "could not judge %llu connection%s: ", (unsigned long long)total,
	        total == 1 ? "" : "s");
	for (size_t i = 0; i < LEGACY_UNKNOWN_KINDS; i++) {
		if (!legacy_unknown_at(u, i))
			continue;
		fprintf(o->f, "%s%llu %s", first ? "" : ", ",
		        (unsigned long long)legacy_unknown_at(u, i), legacy_unknown_kinds[i].text);
		first = 0;
	}
	fputc('\n', o->f);
}

/* "key exchange: 2 of 5 connections accepted (ready); 3 hybrid or ML-KEM, ..." */
static void table_key_exchange(struct legacy_out *o)
{
	const struct legacy_result *r = o->r;
	const struct legacy_kx *k = &r->kx;
	uint64_t judged = k->pq + k->draft + k->classical + k->none + k->no_facts;

	fprintf(o->f,
	        "%skey exchange: %llu of %llu judged connection%s " LEGACY_READY
	        " under policy '%s'; "
	        "%llu hybrid or ML-KEM, %llu Kyber draft, %llu classical, %llu without a "
	        "key_share group (TLS 1.2 and older, or no ServerHello)",
	        r->n || legacy_unknown_total(&r->unknown) ? "\n" : "",
	        (unsigned long long)r->accepted_connections, (unsigned long long)judged,
	        judged == 1 ? "" : "s", r->policy, (unsigned long long)k->pq,
	        (unsigned long long)k->draft, (unsigned long long)k->classical,
	        (unsigned long long)k->none);
	if (k->no_facts)
		fprintf(o->f,
		        ", %llu not judged on their key exchange (folded by --retain before "
		        "it was kept)",
		        (unsigned long long)k->no_facts);
	fputc('\n', o->f);
}

const struct legacy_output legacy_table = {
    .begin = table_begin,
    .group = table_group,
    .entry = table_entry,
    .entries_end = table_entries_end,
    .unknown = table_unknown,
    .key_exchange = table_key_exchange,
    .end = table_end,
};
