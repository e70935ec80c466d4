/*
 * render_md.c: the report as Markdown, for a ticket or a wiki: the same sections as HTML, the
 * trend as a table. Only what report.c gathered is written; every text not written here goes
 * through report_text, which also escapes what would split a table row or make a link.
 */
#include <stdint.h>
#include <stdio.h>

#include "report_int.h"

#define M(t) report_text(out, REPORT_MD, (t))

static void md_window(FILE *out, const struct report *r)
{
	char t[32];

	if (r->since) {
		report_time(r->since, FMT_MINUTE, t, sizeof t);
		M(t);
		fputs(" to ", out);
	} else {
		fputs("From the first record to ", out);
	}
	report_time(r->until, FMT_MINUTE, t, sizeof t);
	M(t);
	fputs(" UTC", out);
}

static void md_header(FILE *out, const struct report *r)
{
	char t[32], marker[160];

	fputs("# Legacy TLS report\n\n", out);
	md_window(out, r);
	fputs(" · database ", out);
	M(r->o->db_label);
	if (r->filters[0]) {
		fputs(" · only ", out);
		M(r->filters);
	}
	report_time(r->now, FMT_MINUTE, t, sizeof t);
	fprintf(out, " · generated %s UTC by tlscensus %s\n\n", t, TC_VERSION);
	report_window_marker(r, REPORT_MD, marker, sizeof marker);
	fprintf(out, "%s\n", marker);
}

static void md_summary(FILE *out, const struct report *r)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], p[16];
	uint64_t legacy = r->lr.legacy_connections;

	fputs("## Summary\n\n", out);
	if (!r->conns)
		fputs("No TLS connection was recorded in this window.\n\n", out);
	else
		fprintf(
		    out,
		    "%s client%s made %s TLS connection%s to %s server%s. **%s connection%s (%s) "
		    "from %s client%s used legacy TLS**; %s were modern%s%s%s.\n\n",
		    report_num(r->clients, b1), report_plural(r->clients), report_num(r->conns, b2),
		    report_plural(r->conns), report_num(r->servers, b3), report_plural(r->servers),
		    report_num(legacy, b4), report_plural(legacy),
		    report_percent(legacy, r->lr.connections, p),
		    report_num(r->legacy_clients.n, b5), report_plural(r->legacy_clients.n),
		    report_num(report_modern(r), b6), report_unjudged(r) ? ", " : "",
		    report_unjudged(r) ? report_num(report_unjudged(r), b7) : "",
		    report_unjudged(r) ? " could not be judged (see Coverage)" : "");
	if (r->conns)
		fprintf(out, "By transport: %s over TCP, %s DTLS, %s QUIC.\n\n",
		        report_num(r->tcp_conns, b1), report_num(r->dtls_conns, b2),
		        report_num(r->quic_conns, b3));
	fputs("Policy: **", out);
	M(r->policy);
	fputs("**", out);
	if (r->policy_text) {
		fputs(": ", out);
		M(r->policy_text);
	}
	fputs("\n\n### Connections by negotiated version\n\n| Version | Connections | Share |\n"
	      "| --- | ---: | ---: |\n",
	      out);
	for (size_t i = 0; i < r->versions.n; i++) {
		fputs("| ", out);
		M(r->versions.v[i].name);
		fprintf(out, "%s | %s | %s |\n", r->versions.v[i].legacy ? " (legacy)" : "",
		        report_num(r->versions.v[i].n, b1),
		        report_percent(r->versions.v[i].n, r->conns, p));
	}
	fprintf(out,
	        "\n### Top %d cipher suites\n\n| Cipher suite | Connections |\n| --- | ---: |\n",
	        r->o->top_ciphers);
	for (size_t i = 0; i < r->ciphers.n; i++) {
		fputs("| ", out);
		M(r->ciphers.v[i].name);
		fprintf(out, "%s | %s |\n", r->ciphers.v[i].legacy ? " (weak)" : "",
		        report_num(r->ciphers.v[i].n, b1));
	}
	if (r->ciphers.rest)
		fprintf(out, "| all others | %s |\n", report_num(r->ciphers.rest, b1));
	fputs("\n", out);
}

static void md_legacy(FILE *out, const struct report *r)
{
	char b[32];

	fprintf(out, "## Legacy clients (%zu)\n\n", r->legacy_clients.n);
	if (!r->lr.n) {
		fputs("No client used legacy TLS in this window.\n\n", out);
		return;
	}
	for (size_t k = 0; k < r->lr.n;) {
		enum attribution a = r->lr.v[r->order[k]].attr;

		fputs("### ", out);
		M(report_attr_title(a));
		fputs(" (", out);
		M(attribution_name(a));
		fputs(")\n\n> ", out);
		M(attribution_advice(a));
		fputs("\n\n| Client | Software | JA4 | Server name | Server | Service | Using | "
		      "Cipher "
		      "| Client offers up to | Deadline | First seen | Last seen | Connections |\n"
		      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | "
		      "---: |\n",
		      out);
		for (; k < r->lr.n && r->lr.v[r->order[k]].attr == a; k++) {
			const struct legacy_entry *e = &r->lr.v[r->order[k]];
			struct entry_text t;

			report_entry_text(r, e, &t);
			const char *cells[] = {e->client_ip,
			                       e->software ? e->software : "-",
			                       e->ja4 ? e->ja4 : "-",
			                       e->sni ? e->sni : "-",
			                       t.server,
			                       e->service ? e->service : "-",
			                       t.uses,
			                       t.cipher,
			                       t.client_max,
			                       t.deadline,
			                       t.first,
			                       t.last};

			for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
				fputs("| ", out);
				M(cells[c]);
				fputs(" ", out);
			}
			fprintf(out, "| %s |\n", report_num(e->connections, b));
		}
		fputs("\n", out);
	}
}

static void md_trend(FILE *out, const struct report *r)
{
	char b[32];

	fprintf(out, "## Trend\n\nConnections per %s (UTC) by negotiated version.\n\n",
	        report_bucket_label(r));
	if (!r->nbuckets) {
		fputs("No connections in this window.\n\n", out);
		return;
	}
	fprintf(out, "| %s |", r->bucket_days == 1 ? "Day" : "Starting");
	for (size_t v = 0; v < r->versions.n; v++) {
		fputs(" ", out);
		M(r->versions.v[v].name);
		fputs(" |", out);
	}
	fputs(" Total |\n| --- |", out);
	for (size_t v = 0; v <= r->versions.n; v++)
		fputs(" ---: |", out);
	fputs("\n", out);
	for (size_t i = 0; i < r->nbuckets; i++) {
		const struct trend_row *row = &r->rows[i];

		fprintf(out, "| %s |", row->day);
		for (size_t v = 0; v < r->versions.n; v++)
			fprintf(out, " %s |", report_num(row->n[v], b));
		fprintf(out, " %s |\n", report_num(row->total, b));
	}
	fputs("\n", out);
}

static void md_list(FILE *out, const char *title, const struct strv *sv, const uint64_t *conns)
{
	char b[32];

	fprintf(out, "### %s (%zu)\n\n", title, sv->n);
	for (size_t i = 0; i < sv->n; i++) {
		fputs("- ", out);
		M(sv->v[i]);
		if (conns)
			fprintf(out, " (%s connections, none legacy)", report_num(conns[i], b));
		fputs("\n", out);
	}
	fputs(sv->n ? "\n" : "None.\n\n", out);
}

static void md_changes(FILE *out, const struct report *r)
{
	char t[32];

	fputs("## Changes since the previous report\n\n", out);
	if (!r->prev.found) {
		fputs("This is the first report with this policy and these filters in this "
		      "database.\n\n",
		      out);
		return;
	}
	report_time(r->prev.generated, FMT_MINUTE, t, sizeof t);
	fputs("The previous report was generated ", out);
	M(t);
	report_time(r->prev.until, FMT_MINUTE, t, sizeof t);
	fputs(" UTC and covered until ", out);
	M(t);
	fprintf(out, " UTC; it listed %zu legacy clients.\n\n", r->prev.clients.n);
	md_list(out, "New legacy clients", &r->added, NULL);
	md_list(out, "Migrated to modern TLS", &r->migrated, r->migrated_conns);
	if (r->unseen.n)
		md_list(out, "Not seen in this window", &r->unseen, NULL);
}

static void md_coverage(FILE *out, const struct report *r)
{
	struct cov_line l[REPORT_COV_LINES];
	size_t n = report_coverage_lines(r, l);
	char b[32];

	fputs("## Coverage: what this report could not see\n\n| What | Count | Meaning |\n"
	      "| --- | ---: | --- |\n",
	      out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "| %s | %s | %s |\n", l[i].what, report_num(l[i].n, b), l[i].meaning);
	fprintf(out, "\n%s capture runs contributed to this window", report_num(r->cov.runs, b));
	fprintf(out, " (%s packets); drop and eviction counts are for whole runs and all hosts.",
	        report_num(r->cov.packets, b));
	if (r->cov.unfinished)
		fprintf(out, " %s runs had not ended.", report_num(r->cov.unfinished, b));
	fputs("\n", out);
}

/* ---------------------------------------------------------------- key exchange */

static void md_kx_summary(FILE *out, const struct report *r)
{
	const struct legacy_kx *k = &r->lr.kx;
	char b1[32], b2[32], b3[32], b4[32], b5[32], p[16];

	fprintf(out,
	        "Post-quantum key exchange: **%s of %s connection%s (%s)** negotiated a hybrid or "
	        "ML-KEM group; %s a Kyber draft, %s a classical group, %s none (TLS 1.2 and older, "
	        "or no ServerHello).",
	        report_num(k->pq, b1), report_num(r->lr.connections, b2),
	        report_plural(r->lr.connections), report_percent(k->pq, r->lr.connections, p),
	        report_num(k->draft, b3), report_num(k->classical, b4), report_num(k->none, b5));
	if (k->no_facts)
		fprintf(
		    out,
		    " %s without key-exchange facts (folded by --retain before they were kept).",
		    report_num(k->no_facts, b1));
	fputs("\n\n", out);
}

static void md_pq(FILE *out, const struct report *r)
{
	static const enum attribution cols[] = {ATTR_HRR, ATTR_DRAFT, ATTR_CLIENT, ATTR_SERVER};
	char b[32], p[16];

	fputs("## Post-quantum readiness\n\nPer client: **ready** connections are those the "
	      "policy **",
	      out);
	M(r->policy);
	fputs("** accepts; the others by who must act (other: failing, fallback or cipher).\n\n",
	      out);
	if (!r->npq) {
		fputs("No connection was judged in this window.\n\n", out);
	} else {
		fputs("| Client | Software | Connections | Ready |", out);
		for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
			fputs(" ", out);
			M(attribution_name(cols[c]));
			fputs(" |", out);
		}
		fputs(" other |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
		      out);
		for (size_t i = 0; i < r->npq; i++) {
			const struct pq_client *c = &r->pq[i];
			uint64_t other = c->connections - c->ready;

			fputs("| ", out);
			M(c->client_ip);
			fputs(" | ", out);
			M(c->software ? c->software : "-");
			fprintf(out, " | %s |", report_num(c->connections, b));
			fprintf(out, " %s (%s) |", report_num(c->ready, b),
			        report_percent(c->ready, c->connections, p));
			for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
				other -= c->by_attr[cols[k]];
				fprintf(out, " %s |", report_num(c->by_attr[cols[k]], b));
			}
			fprintf(out, " %s |\n", report_num(other, b));
		}
		fputs("\n", out);
	}
	fprintf(out, "### Key exchange per %s (UTC)\n\n", report_bucket_label(r));
	if (!r->nbuckets) {
		fputs("No connections in this window.\n\n", out);
		return;
	}
	fprintf(out, "| %s |", r->bucket_days == 1 ? "Day" : "Starting");
	for (int c = 0; c < KX_COLS; c++) {
		fputs(" ", out);
		M(report_kx_col_name((enum kx_col)c));
		fputs(" |", out);
	}
	fputs(" Total | PQ share |\n| --- |", out);
	for (int c = 0; c < KX_COLS + 2; c++)
		fputs(" ---: |", out);
	fputs("\n", out);
	for (size_t i = 0; i < r->nbuckets; i++) {
		const uint64_t *n = &r->pq_trend[i * KX_COLS];
		uint64_t total = 0;

		fprintf(out, "| %s |", r->rows[i].day);
		for (int c = 0; c < KX_COLS; c++) {
			total += n[c];
			fprintf(out, " %s |", report_num(n[c], b));
		}
		fprintf(out, " %s | %s |\n", report_num(total, b),
		        report_percent(n[KX_PQ], total, p));
	}
	fputs("\n", out);
}

#undef M

/* Markdown has no footer: the header already names the tool. */
const struct report_renderer report_md = {
    .name = "md",
    .header = md_header,
    .summary = md_summary,
    .kx_summary = md_kx_summary,
    .legacy = md_legacy,
    .pq = md_pq,
    .trend = md_trend,
    .changes = md_changes,
    .coverage = md_coverage,
};
