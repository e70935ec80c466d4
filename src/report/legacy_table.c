/*
 * legacy_table.c: the legacy command's table, for people at a terminal and for grep. Every cell
 * is inert text; long ones are cut here only (CSV and JSON keep them whole).
 */
#include <stdlib.h>
#include <string.h>

#include "legacy_out.h"
#include "text.h"
#include "util.h"

/* Cells longer than this are cut in the table (CSV and JSON keep them whole). */
#define TABLE_SNI_MAX      40
#define TABLE_CIPHER_MAX   40
#define TABLE_SERVICE_MAX  24
#define TABLE_SOFTWARE_MAX 24

/*
 * One line per entry when the output is a file or a pipe (grep and wc see one entry per line)
 * or when it fits the terminal. Fourteen columns fit no terminal, so on one each entry takes
 * three lines, as ls switches layouts: where and when; who must act and what was negotiated;
 * why, which service and by when, and the software. Lines 2 and 3 are indented past the first
 * column, and each line kind has its own header line.
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

static const char *const col_head[C_COUNT] = {
    "CLIENT", "SERVER",     "SNI",       "ATTRIBUTION", "VERSION", "CIPHER",   "CLIENT MAX",
    "CONNS",  "FIRST SEEN", "LAST SEEN", "REASON",      "SERVICE", "DEADLINE", "SOFTWARE",
};

static const int wide_cols[] = {C_CLIENT, C_SERVER,  C_SNI,      C_ATTR,    C_VERSION,
                                C_CIPHER, C_MAX,     C_CONNS,    C_FIRST,   C_LAST,
                                C_REASON, C_SERVICE, C_DEADLINE, C_SOFTWARE};
static const int line1_cols[] = {C_CLIENT, C_SERVER, C_SNI, C_CONNS, C_FIRST, C_LAST};
static const int line2_cols[] = {C_ATTR, C_VERSION, C_CIPHER, C_MAX};
static const int line3_cols[] = {C_REASON, C_SERVICE, C_DEADLINE, C_SOFTWARE};

struct layout {
	int cols[3][C_COUNT];
	size_t ncols[3], nlines;
	size_t width[C_COUNT];
	size_t indent;       /* of lines 2 and 3 */
	size_t group_indent; /* of every line, inside a group section */
};

static void layout_line(struct layout *l, size_t line, const int *cols, size_t n, int drop)
{
	l->ncols[line] = 0;
	for (size_t k = 0; k < n; k++)
		if (cols[k] != drop)
			l->cols[line][l->ncols[line]++] = cols[k];
}

static size_t layout_width(const struct layout *l, size_t line)
{
	size_t w = l->group_indent + (line ? l->indent : 0);

	for (size_t k = 0; k < l->ncols[line]; k++)
		w += l->width[l->cols[line][k]] + (k ? 2 : 0);
	return w;
}

static void print_cells(FILE *out, const struct layout *l, size_t line, char *const cell[C_COUNT])
{
	size_t n = l->ncols[line];

	fprintf(out, "%*s", (int)(l->group_indent + (line ? l->indent : 0)), "");
	for (size_t k = 0; k < n; k++) {
		int c = l->cols[line][k];
		size_t pad = l->width[c] - text_width(cell[c]);

		if (k)
			fputs("  ", out);
		if (c == C_CONNS)
			fprintf(out, "%*s%s", (int)pad, "", cell[c]);
		else if (k == n - 1)
			fputs(cell[c], out); /* no trailing blanks */
		else
			fprintf(out, "%s%*s", cell[c], (int)pad, "");
	}
	fputc('\n', out);
}

/* Fills the cells of e, each inert and malloc'd; "-" stands for none. */
static int table_cells(const struct legacy_entry *e, double now, char *cell[C_COUNT])
{
	struct legacy_entry_text t;
	const char *src[C_COUNT];

	legacy_entry_texts(e, now, &t);
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

		cell[i] = text_inert(s, strlen(s), 0);
		if (!cell[i])
			return -1;
	}
	text_cut(cell[C_SNI], TABLE_SNI_MAX);
	text_cut(cell[C_CIPHER], TABLE_CIPHER_MAX);
	text_cut(cell[C_SERVICE], TABLE_SERVICE_MAX);
	text_cut(cell[C_SOFTWARE], TABLE_SOFTWARE_MAX);
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
	for (size_t line = 0; line < l->nlines; line++)
		print_cells(out, l, line, head);
}

static void choose_layout(struct layout *l, const struct legacy_result *r,
                          const struct legacy_query *q, FILE *out)
{
	size_t limit = text_terminal_columns(out);
	int drop = q->group == GROUP_CLIENT ? C_CLIENT : -1;

	l->group_indent = q->group != GROUP_NONE ? 2 : 0;
	layout_line(l, 0, wide_cols, COUNT_OF(wide_cols), drop);
	l->nlines = 1;
	if (!limit || layout_width(l, 0) <= limit || !r->n)
		return;
	layout_line(l, 0, line1_cols, COUNT_OF(line1_cols), drop);
	layout_line(l, 1, line2_cols, COUNT_OF(line2_cols), drop);
	layout_line(l, 2, line3_cols, COUNT_OF(line3_cols), drop);
	l->indent = l->width[l->cols[0][0]] + 2;
	l->nlines = 3;
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

	for (size_t k = 0; t->cells && k < o->r->n; k++)
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
		t->head[i] = (char *)col_head[i];
		t->l.width[i] = strlen(col_head[i]);
	}
	for (size_t k = 0; k < r->n; k++) {
		if (table_cells(&r->v[k], r->now, t->cells[k]))
			goto fail;
		for (int i = 0; i < C_COUNT; i++)
			if (text_width(t->cells[k][i]) > t->l.width[i])
				t->l.width[i] = text_width(t->cells[k][i]);
	}
	choose_layout(&t->l, r, q, o->f);
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

	for (size_t line = 0; line < t->l.nlines; line++)
		print_cells(o->f, &t->l, line, t->cells[k]);
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
    .unknown = table_unknown,
    .key_exchange = table_key_exchange,
    .end = table_end,
};
