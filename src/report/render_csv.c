/*
 * render_csv.c: the report as CSV, for a spreadsheet. Only what report.c gathered is written;
 * numbers are bare and every text cell goes through report_text (quoted, formula-guarded).
 * Blocks, one per section, separated by an empty line; each block has its own header row and
 * every row starts with the section's name, so a spreadsheet filter on the first column (or
 * grep '^legacy,') gives one clean table.
 */
#include <stdint.h>
#include <stdio.h>

#include "report_int.h"

#define C(t) report_text(out, REPORT_CSV, (t))

static void csv_pair(FILE *out, const char *section, const char *key, const char *value)
{
	fprintf(out, "%s,%s,", section, key);
	C(value);
	fputs("\r\n", out);
}

static void csv_count(FILE *out, const char *section, const char *key, uint64_t value)
{
	fprintf(out, "%s,%s,%llu\r\n", section, key, (unsigned long long)value);
}

static void csv_time(FILE *out, double t)
{
	char b[32];

	if (!t)
		return;
	report_time(t, "%Y-%m-%dT%H:%M:%SZ", b, sizeof b);
	fputs(b, out);
}

static void csv_header(FILE *out, const struct report *r)
{
	char b[32], marker[160];

	fputs("section,field,value\r\n", out);
	fputs("report,generated,", out);
	csv_time(out, r->now);
	fputs("\r\nreport,since,", out);
	csv_time(out, r->since);
	fputs("\r\nreport,until,", out);
	csv_time(out, r->until);
	fputs("\r\n", out);
	csv_pair(out, "report", "policy", r->policy);
	csv_pair(out, "report", "filters", r->filters);
	csv_pair(out, "report", "database", r->o->db_label);
	snprintf(b, sizeof b, "%s", TC_VERSION);
	csv_pair(out, "report", "tool_version", b);
	report_window_marker(r, REPORT_CSV, marker, sizeof marker);
	fputs(marker, out);
}

static void csv_summary(FILE *out, const struct report *r)
{
	csv_count(out, "summary", "clients", r->clients);
	csv_count(out, "summary", "servers", r->servers);
	csv_count(out, "summary", "connections", r->lr.connections);
	csv_count(out, "summary", "legacy_connections", r->lr.legacy_connections);
	csv_count(out, "summary", "modern_connections", report_modern(r));
	csv_count(out, "summary", "not_judged_connections", report_unjudged(r));
	csv_count(out, "summary", "legacy_clients", r->legacy_clients.n);
	csv_count(out, "summary", "legacy_entries", r->lr.n);
	csv_count(out, "summary", "tcp_connections", r->tcp_conns);
	csv_count(out, "summary", "dtls_connections", r->dtls_conns);
	csv_count(out, "summary", "quic_connections", r->quic_conns);
	fputs("\r\nsection,version,connections,legacy\r\n", out);
	for (size_t i = 0; i < r->versions.n; i++) {
		fputs("versions,", out);
		C(r->versions.v[i].name);
		fprintf(out, ",%llu,%d\r\n", (unsigned long long)r->versions.v[i].n,
		        r->versions.v[i].legacy);
	}
	fputs("\r\nsection,cipher,value,connections,legacy\r\n", out);
	for (size_t i = 0; i < r->ciphers.n; i++) {
		fputs("ciphers,", out);
		C(r->ciphers.v[i].name);
		fprintf(out, ",\"0x%04llx\",%llu,%d\r\n", (unsigned long long)r->ciphers.v[i].value,
		        (unsigned long long)r->ciphers.v[i].n, r->ciphers.v[i].legacy);
	}
	if (r->ciphers.rest)
		fprintf(out, "ciphers,\"all others\",,%llu,\r\n",
		        (unsigned long long)r->ciphers.rest);
}

static void csv_legacy(FILE *out, const struct report *r)
{
	fputs("\r\nsection,attribution,advice,client_ip,software,ja4,sni,server_ip,server_port,"
	      "service,deadline,cutoff_date,version,negotiated,cipher,client_max_version,reason,"
	      "first_seen,last_seen,connections\r\n",
	      out);
	for (size_t k = 0; k < r->lr.n; k++) {
		const struct legacy_entry *e = &r->lr.v[r->order[k]];
		struct entry_text t;

		report_entry_text(r, e, &t);
		fputs("legacy,", out);
		const char *cells[] = {attribution_name(e->attr),
		                       attribution_advice(e->attr),
		                       e->client_ip,
		                       e->software,
		                       e->ja4,
		                       e->sni,
		                       e->server_ip};
		for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
			if (cells[c])
				C(cells[c]);
			fputc(',', out);
		}
		fprintf(out, "%d,", e->server_port);
		const char *more[] = {e->service, t.deadline, e->retired, t.uses};
		for (size_t c = 0; c < sizeof more / sizeof more[0]; c++) {
			if (more[c])
				C(more[c]);
			fputc(',', out);
		}
		fprintf(out, "%d,", e->negotiated ? 1 : 0);
		if (e->negotiated)
			C(t.cipher);
		fputc(',', out);
		C(t.client_max);
		fputc(',', out);
		C(e->reason);
		fputc(',', out);
		csv_time(out, e->first_seen);
		fputc(',', out);
		csv_time(out, e->last_seen);
		fprintf(out, ",%llu\r\n", (unsigned long long)e->connections);
	}
}

static void csv_trend(FILE *out, const struct report *r)
{
	fprintf(out, "\r\nsection,%s", r->bucket_days == 1 ? "day" : "starting");
	for (size_t v = 0; v < r->versions.n; v++) {
		fputc(',', out);
		C(r->versions.v[v].name);
	}
	fputs(",total\r\n", out);
	for (size_t i = 0; i < r->nbuckets; i++) {
		const struct trend_row *row = &r->rows[i];

		fprintf(out, "trend,%s", row->day);
		for (size_t v = 0; v < r->versions.n; v++)
			fprintf(out, ",%llu", (unsigned long long)row->n[v]);
		fprintf(out, ",%llu\r\n", (unsigned long long)row->total);
	}
}

static void csv_changes(FILE *out, const struct report *r)
{
	const struct {
		const char *kind;
		const struct strv *sv;
	} lists[] = {
	    {"new_legacy", &r->added}, {"migrated", &r->migrated}, {"not_seen", &r->unseen}};

	fputs("\r\nsection,change,client_ip,connections\r\n", out);
	if (!r->prev.found) {
		fputs("changes,no_previous_report,,\r\n", out);
		return;
	}
	for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++)
		for (size_t i = 0; i < lists[k].sv->n; i++) {
			fprintf(out, "changes,%s,", lists[k].kind);
			C(lists[k].sv->v[i]);
			if (lists[k].sv == &r->migrated)
				fprintf(out, ",%llu\r\n", (unsigned long long)r->migrated_conns[i]);
			else
				fputs(",\r\n", out);
		}
}

static void csv_coverage(FILE *out, const struct report *r)
{
	const struct legacy_unknown *u = &r->lr.unknown;

	fputs("\r\nsection,field,value\r\n", out);
	csv_count(out, "coverage", "malformed", u->malformed);
	csv_count(out, "coverage", "truncated", u->truncated);
	csv_count(out, "coverage", "one_sided", u->one_sided);
	csv_count(out, "coverage", "midstream", u->midstream);
	csv_count(out, "coverage", "kernel_drops", r->cov.kernel_drops);
	csv_count(out, "coverage", "queue_drops", r->cov.queue_drops);
	csv_count(out, "coverage", "flows_evicted", r->cov.flows_evicted);
	csv_count(out, "coverage", "undecodable_packets", r->cov.undecodable);
	csv_count(out, "coverage", "runs", r->cov.runs);
	csv_count(out, "coverage", "runs_not_ended", r->cov.unfinished);
	csv_count(out, "coverage", "packets", r->cov.packets);
}

/* ---------------------------------------------------------------- key exchange */

/* Its own block, under every policy: connections by the kind of group negotiated. */
static void csv_kx_summary(FILE *out, const struct report *r)
{
	const struct legacy_kx *k = &r->lr.kx;

	fputs("\r\nsection,field,value\r\n", out);
	csv_count(out, "key_exchange", "connections", r->lr.connections);
	csv_count(out, "key_exchange", "pq_connections", k->pq);
	csv_count(out, "key_exchange", "draft_connections", k->draft);
	csv_count(out, "key_exchange", "classical_connections", k->classical);
	csv_count(out, "key_exchange", "no_group_connections", k->none);
	csv_count(out, "key_exchange", "no_facts_connections", k->no_facts);
	fprintf(out, "key_exchange,pq_share,%.4f\r\n",
	        r->lr.connections ? (double)k->pq / (double)r->lr.connections : 0.0);
}

static void csv_pq(FILE *out, const struct report *r)
{
	static const enum attribution cols[] = {ATTR_HRR, ATTR_DRAFT, ATTR_CLIENT, ATTR_SERVER};

	fputs("\r\nsection,client_ip,software,connections,ready", out);
	for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
		fprintf(out, ",%s", attribution_name(cols[c]));
	fputs(",other\r\n", out);
	for (size_t i = 0; i < r->npq; i++) {
		const struct pq_client *c = &r->pq[i];
		uint64_t other = c->connections - c->ready;

		fputs("pq,", out);
		C(c->client_ip);
		fputc(',', out);
		if (c->software)
			C(c->software);
		fprintf(out, ",%llu,%llu", (unsigned long long)c->connections,
		        (unsigned long long)c->ready);
		for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
			other -= c->by_attr[cols[k]];
			fprintf(out, ",%llu", (unsigned long long)c->by_attr[cols[k]]);
		}
		fprintf(out, ",%llu\r\n", (unsigned long long)other);
	}
	fprintf(out, "\r\nsection,%s,pq,draft,classical,no_group,total\r\n",
	        r->bucket_days == 1 ? "day" : "starting");
	for (size_t i = 0; i < r->nbuckets; i++) {
		const uint64_t *n = &r->pq_trend[i * KX_COLS];

		fprintf(
		    out, "pq_trend,%s,%llu,%llu,%llu,%llu,%llu\r\n", r->rows[i].day,
		    (unsigned long long)n[KX_PQ], (unsigned long long)n[KX_DRAFT],
		    (unsigned long long)n[KX_CLASSICAL], (unsigned long long)n[KX_NONE],
		    (unsigned long long)(n[KX_PQ] + n[KX_DRAFT] + n[KX_CLASSICAL] + n[KX_NONE]));
	}
}

#undef C

const struct report_renderer report_csv = {
    .name = "csv",
    .header = csv_header,
    .summary = csv_summary,
    .kx_summary = csv_kx_summary,
    .legacy = csv_legacy,
    .pq = csv_pq,
    .trend = csv_trend,
    .changes = csv_changes,
    .coverage = csv_coverage,
};
