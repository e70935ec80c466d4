/*
 * render_html.c: the report as one self-contained HTML page: inline CSS and an inline SVG
 * chart, no script, no font or image to fetch, readable when printed. Only what report.c
 * gathered is written; every text not written here goes through report_text.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report_int.h"

static const char html_style[] =
    "<style>\n"
    ":root{--bad:#b2182b;--warn:#8a5a00;--good:#1a7f37;--muted:#57606a;--line:#d8dee4}\n"
    "*{box-sizing:border-box}\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,"
    "sans-serif;color:#1f2328;max-width:1180px;margin:0 auto;padding:24px 32px;"
    "-webkit-print-color-adjust:exact;print-color-adjust:exact;hyphens:none;"
    "overflow-wrap:normal;word-break:normal;-webkit-text-size-adjust:100%;"
    "text-size-adjust:100%}\n"
    "h1{font-size:26px;margin:0 0 4px}\n"
    "h2{font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px;margin:36px 0 10px}\n"
    "h3{font-size:16px;margin:22px 0 4px}\n"
    "p{margin:6px 0}\n"
    ".meta{color:var(--muted);margin:0}\n"
    ".lead{font-size:15px;max-width:900px}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0}\n"
    ".card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px}\n"
    ".card b{display:block;font-size:26px;line-height:1.2}\n"
    ".card span{color:var(--muted);font-size:13px}\n"
    ".card.bad{border-color:#f1aeb5;background:#fff5f5}.card.bad b{color:var(--bad)}\n"
    ".card.good b{color:var(--good)}\n"
    ".cols{display:grid;grid-template-columns:2fr 3fr;gap:28px}\n"
    "table{border-collapse:collapse;width:100%;margin:8px 0 4px}\n"
    "th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);"
    "vertical-align:top}\n"
    "th{background:#f6f8fa;font-weight:600;font-size:13px}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    ".small{font-size:12px;color:var(--muted)}\n"
    ".mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11.5px;"
    "overflow-wrap:anywhere}\n"
    ".wrap{overflow-wrap:anywhere}\n"
    ".nb{white-space:nowrap}\n"
    /* Words never break: only the long tokens above (SNI, JA4, suite names) may. Every
     * table scrolls on its own when it is wider than the page. */
    ".scroll{overflow-x:auto;max-width:100%}\n"
    ".cols>div{min-width:0}\n"
    "table.entries{table-layout:fixed}\n"
    ".chart-narrow{display:none}\n"
    ".tag{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;"
    "white-space:nowrap}\n"
    ".tag.bad{background:#ffebe9;color:#a40e26}.tag.good{background:#dafbe1;color:#116329}\n"
    ".tag.none{background:#eaeef2;color:#424a53}\n"
    ".advice{background:#fff8c5;border-left:4px solid #d4a72c;padding:6px 12px;margin:6px 0 8px}\n"
    ".failing{color:var(--bad);font-weight:600}\n"
    ".ok{color:var(--good)}\n"
    ".bar{display:inline-block;height:9px;background:#eaeef2;width:90px;vertical-align:middle;"
    "margin-left:6px}\n"
    ".bar i{display:block;height:9px}\n"
    ".note{color:var(--muted);font-size:13px}\n"
    "ul{margin:6px 0;padding-left:22px}\n"
    "figure{margin:8px 0}\n"
    "svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}\n"
    "footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);"
    "padding-top:8px}\n"
    "@media (max-width:800px){.cols{grid-template-columns:1fr}}\n"
    "table.entries .tag{white-space:normal}\n"
    /* A phone: a narrower page; the legacy entries and "who must act" as one card a row (each
     * cell's label above its value); no share bars; and the chart drawn for a narrow screen,
     * so its text stays readable. */
    "@media (max-width:600px){body{padding:14px 12px;font-size:15px}"
    "h1{font-size:23px}h2{font-size:19px;margin-top:28px}"
    ".cards{gap:8px}.card{min-width:0;flex:1 1 40%;padding:8px 12px}.card b{font-size:22px}"
    "th,td{padding:5px 6px}"
    "table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:auto}"
    "table.stack colgroup,table.stack thead{display:none}"
    "table.stack tr{border:1px solid var(--line);border-radius:8px;margin:0 0 10px;"
    "padding:6px 10px}"
    "table.stack td{border:0;padding:3px 0}"
    "table.stack td::before{content:attr(data-label);display:block;font-size:12px;"
    "font-weight:600;color:var(--muted)}"
    "table.stack td.n{display:inline-block;text-align:left;margin-right:18px}"
    ".bar{display:none}"
    ".chart-wide{display:none}.chart-narrow{display:block}}\n"
    "@media print{body{max-width:none;padding:0;font-size:11px}"
    ".chart-wide{display:block}.chart-narrow{display:none}"
    "h2,h3,.advice{break-after:avoid}tr,.card,figure,.advice{break-inside:avoid}"
    "thead{display:table-header-group}a{color:inherit;text-decoration:none}}\n"
    "</style>\n";

/* Colours by version: modern greens and blues, legacy reds, no answer grey. Legacy bars are
 * also hatched, so a grey-scale print still tells them apart. */
static const char *version_colour(int64_t v)
{
	switch (v) {
	case -1:
		return "#8c959f";
	case 0x0304:
	case 0xfefc:
		return "#2da44e";
	case 0x0303:
	case 0xfefd:
		return "#3572b0";
	case 0x0302:
		return "#f58b43";
	case 0x0301:
	case 0xfeff:
		return "#d1242f";
	case 0x0300:
	case 0x0002:
		return "#7d0c1a";
	default:
		return "#b6bec7";
	}
}

#define H(t) report_text(out, REPORT_HTML, (t))
/* A date or time, kept on one line: a line may break after a hyphen, "2024-01-" / "01". */
#define NB(t) html_nobreak(out, (t))

static void html_nobreak(FILE *out, const char *t)
{
	fputs("<span class=\"nb\">", out);
	H(t);
	fputs("</span>", out);
}

/* Text whose words may hold hyphens (a date, --max-flows): those words on one line each. The
 * callers' texts are the report room's own (deadlines, coverage meanings): words are short. */
static void html_words(FILE *out, const char *t)
{
	char word[128];

	while (*t) {
		size_t n = strcspn(t, " "), k = n < sizeof word - 1 ? n : sizeof word - 1;

		memcpy(word, t, k);
		word[k] = '\0';
		if (memchr(t, '-', n))
			NB(word);
		else
			H(word);
		t += n;
		if (*t == ' ') {
			fputc(' ', out);
			t++;
		}
	}
}

static void html_version_tag(FILE *out, const struct tally *t)
{
	fprintf(out, "<span class=\"tag %s\">", t->value < 0 ? "none" : t->legacy ? "bad" : "good");
	H(t->name);
	fputs("</span>", out);
}

static void html_header(FILE *out, const struct report *r)
{
	char since[32], until[32], gen[32], marker[160];

	if (r->since)
		report_time(r->since, FMT_MINUTE, since, sizeof since);
	report_time(r->until, FMT_MINUTE, until, sizeof until);
	report_time(r->now, FMT_MINUTE, gen, sizeof gen);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"tlscensus " TC_VERSION "\">\n",
	      out);
	report_window_marker(r, REPORT_HTML, marker, sizeof marker);
	fputs(marker, out);
	fputs("<title>Legacy TLS report ", out);
	if (r->since) {
		H(since);
		fputs(" to ", out);
	} else {
		fputs("until ", out);
	}
	H(until);
	fputs(" UTC</title>\n", out);
	fputs(html_style, out);
	fputs("</head>\n<body>\n<header>\n<h1>Legacy TLS report</h1>\n<p class=\"meta\">", out);
	if (r->since) {
		fputs("<b>", out);
		NB(since);
		fputs("</b> to <b>", out);
	} else {
		report_time(r->data_first, FMT_MINUTE, since, sizeof since);
		fputs("From the first record", out);
		if (r->conns) {
			fputs(" (<b>", out);
			NB(since);
			fputs("</b>)", out);
		}
		fputs(" to <b>", out);
	}
	NB(until);
	fputs("</b> UTC", out);
	if (r->o->since_last)
		fputs(r->prev.found ? " (since the previous report)"
		                    : " (no previous report: from the first record)",
		      out);
	fputs(" &middot; policy <b>", out);
	H(r->policy);
	fputs("</b> &middot; database ", out);
	H(r->o->db_label);
	if (r->filters[0]) {
		fputs(" &middot; only ", out);
		H(r->filters);
	}
	fputs(" &middot; generated ", out);
	NB(gen);
	fputs(" UTC</p>\n</header>\n<main>\n", out);
}

static void html_card(FILE *out, const char *cls, uint64_t v, const char *label, const char *sub)
{
	char b[32];

	fprintf(out, "<div class=\"card%s%s\"><b>%s</b><span>%s", cls ? " " : "", cls ? cls : "",
	        report_num(v, b), label);
	if (sub) {
		fputs("<br>", out);
		H(sub);
	}
	fputs("</span></div>\n", out);
}

static void html_share(FILE *out, uint64_t n, uint64_t total, const char *colour)
{
	char p[16], b[32];

	fprintf(out,
	        "<td class=\"n\">%s</td><td class=\"n\">%s<span class=\"bar\">"
	        "<i style=\"width:%.1f%%;background:%s\"></i></span></td>",
	        report_num(n, b), report_percent(n, total, p),
	        total ? 100.0 * (double)n / (double)total : 0.0, colour);
}

static void html_summary(FILE *out, const struct report *r)
{
	char b1[32], b2[32], b3[32], p[16], sub[64];
	uint64_t legacy = r->lr.legacy_connections;

	fputs("<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"lead\">", out);
	if (!r->conns) {
		fputs("No TLS connection was recorded in this window.", out);
	} else {
		fprintf(out, "%s client%s made %s TLS connection%s to %s server%s. ",
		        report_num(r->clients, b1), report_plural(r->clients),
		        report_num(r->conns, b2), report_plural(r->conns),
		        report_num(r->servers, b3), report_plural(r->servers));
		fprintf(out, "By transport: %s over TCP, %s DTLS, %s QUIC. ",
		        report_num(r->tcp_conns, b1), report_num(r->dtls_conns, b2),
		        report_num(r->quic_conns, b3));
		if (legacy)
			fprintf(out,
			        "<b class=\"failing\">%s connection%s (%s) from %s client%s used "
			        "legacy "
			        "TLS</b> under the policy <b>",
			        report_num(legacy, b1), report_plural(legacy),
			        report_percent(legacy, r->lr.connections, p),
			        report_num(r->legacy_clients.n, b2),
			        report_plural(r->legacy_clients.n));
		else
			fputs("<b class=\"ok\">None used legacy TLS</b> under the policy <b>", out);
		H(r->policy);
		fputs("</b>.", out);
	}
	fputs("</p>\n", out);
	if (r->policy_text) {
		fputs("<p class=\"note\">Policy ", out);
		H(r->policy);
		fputs(": ", out);
		H(r->policy_text);
		fputs("</p>\n", out);
	}
	fputs("<div class=\"cards\">\n", out);
	html_card(out, NULL, r->clients, "clients", NULL);
	html_card(out, NULL, r->servers, "servers", NULL);
	html_card(out, NULL, r->lr.connections, "connections", NULL);
	snprintf(sub, sizeof sub, "%s of all connections",
	         report_percent(legacy, r->lr.connections, p));
	html_card(out, legacy ? "bad" : "good", legacy, "legacy connections", sub);
	html_card(out, r->legacy_clients.n ? "bad" : "good", r->legacy_clients.n, "legacy clients",
	          NULL);
	html_card(out, "good", report_modern(r), "modern connections", NULL);
	if (report_unjudged(r))
		html_card(out, NULL, report_unjudged(r), "not judged",
		          "hellos not seen or not parsed");
	fputs("</div>\n", out);

	if (r->lr.n) {
		fputs("<h3>Who must act</h3>\n<div class=\"scroll\"><table class=\"stack\"><thead>"
		      "<tr><th style=\"width:22%\">Finding</th><th>What to do</th>"
		      "<th class=\"n\">Clients</th><th class=\"n\">Servers reached</th>"
		      "<th class=\"n\">Connections</th></tr></thead>\n",
		      out);
		for (int a = 0; a < ATTR_COUNT; a++) {
			if (!r->per_attr[a].entries)
				continue;
			fprintf(out, "<tr><td data-label=\"Finding\"><a href=\"#attr-%d\">", a);
			H(report_attr_title((enum attribution)a));
			fputs("</a></td><td data-label=\"What to do\">", out);
			H(attribution_advice((enum attribution)a));
			fprintf(out, "</td><td data-label=\"Clients\" class=\"n\">%s</td>",
			        report_num(r->per_attr[a].clients, b1));
			fprintf(out, "<td data-label=\"Servers reached\" class=\"n\">%s</td>",
			        report_num(r->per_attr[a].entries, b1));
			fprintf(out, "<td data-label=\"Connections\" class=\"n\">%s</td></tr>\n",
			        report_num(r->per_attr[a].connections, b1));
		}
		fputs("</table></div>\n", out);
	}

	fputs("<div class=\"cols\">\n<div>\n<h3>Connections by negotiated version</h3>\n"
	      "<div class=\"scroll\"><table><tr><th>Version</th>"
	      "<th class=\"n\">Connections</th><th class=\"n\">Share</th></tr>\n",
	      out);
	for (size_t i = 0; i < r->versions.n; i++) {
		fputs("<tr><td>", out);
		html_version_tag(out, &r->versions.v[i]);
		fputs("</td>", out);
		html_share(out, r->versions.v[i].n, r->conns,
		           version_colour(r->versions.v[i].value));
		fputs("</tr>\n", out);
	}
	if (!r->versions.n)
		fputs("<tr><td colspan=\"3\">none</td></tr>\n", out);
	fputs("</table></div>\n<p class=\"small\">Legacy versions in red; &ldquo;no "
	      "ServerHello&rdquo;: "
	      "the "
	      "server never answered (refused, or the capture missed the "
	      "answer).</p>\n</div>\n<div>\n",
	      out);
	fprintf(
	    out,
	    "<h3>Top %d cipher suites</h3>\n<div class=\"scroll\"><table><tr><th>Cipher suite</th>"
	    "<th class=\"n\">Connections</th><th class=\"n\">Share</th></tr>\n",
	    r->o->top_ciphers);
	uint64_t with_cipher = r->ciphers.rest;
	for (size_t i = 0; i < r->ciphers.n; i++)
		with_cipher += r->ciphers.v[i].n;
	for (size_t i = 0; i < r->ciphers.n; i++) {
		const struct tally *t = &r->ciphers.v[i];

		fputs("<tr><td class=\"wrap\">", out);
		H(t->name);
		if (t->legacy)
			fputs(" <span class=\"tag bad\">weak</span>", out);
		fputs("</td>", out);
		html_share(out, t->n, with_cipher, t->legacy ? "#d1242f" : "#3572b0");
		fputs("</tr>\n", out);
	}
	if (r->ciphers.rest) {
		fputs("<tr><td>all others</td>", out);
		html_share(out, r->ciphers.rest, with_cipher, "#8c959f");
		fputs("</tr>\n", out);
	}
	if (!r->ciphers.n)
		fputs("<tr><td colspan=\"3\">none negotiated</td></tr>\n", out);
	fputs("</table></div>\n</div>\n</div>\n</section>\n", out);
}

static void html_entry(FILE *out, const struct report *r, const struct legacy_entry *e)
{
	struct entry_text t;
	char b[32];

	report_entry_text(r, e, &t);
	fputs("<tr><td data-label=\"Client (software)\"><b class=\"wrap\">", out);
	H(e->client_ip);
	fputs("</b>", out);
	if (e->software) {
		fputs("<div class=\"small\">", out);
		H(e->software);
		fputs("</div>", out);
	}
	if (e->ja4) {
		fputs("<div class=\"mono small\">JA4 ", out);
		H(e->ja4);
		fputs("</div>", out);
	}
	fputs("</td><td data-label=\"Talking to\"><b class=\"wrap\">", out);
	H(e->sni ? e->sni : "(no server name)");
	fputs("</b><div class=\"small wrap\">", out);
	H(t.server);
	if (e->service) {
		fputs(" &middot; ", out);
		H(e->service);
	}
	/* What is wrong is in red: the version, or for a weak suite the suite. */
	fprintf(out, "</div></td><td data-label=\"Using\"><span class=\"tag %s\">",
	        e->attr == ATTR_CIPHER ? "none" : "bad");
	H(t.uses);
	fputs("</span>", out);
	if (e->negotiated) {
		fprintf(out, "<div class=\"wrap %s\">",
		        e->attr == ATTR_CIPHER ? "failing" : "small");
		H(t.cipher);
		fputs("</div>", out);
	}
	fputs("<div class=\"small\">the client offers up to ", out);
	H(t.client_max);
	fprintf(out, "</div></td><td data-label=\"Deadline\" class=\"%s\">",
	        t.failing    ? "failing"
	        : e->retired ? ""
	                     : "note");
	html_words(out, t.deadline);
	fputs("</td><td data-label=\"First / last seen\" class=\"small\">", out);
	NB(t.first);
	if (strcmp(t.first, t.last)) {
		fputs("<br>", out);
		NB(t.last);
	}
	fprintf(out, "</td><td data-label=\"Connections\" class=\"n\">%s</td></tr>\n",
	        report_num(e->connections, b));
}

static void html_legacy(FILE *out, const struct report *r)
{
	char b[32], b1[32], b2[32];

	fprintf(out, "<section id=\"legacy\">\n<h2>Legacy clients (%s)</h2>\n",
	        report_num(r->legacy_clients.n, b));
	if (r->lr.n)
		fprintf(out, "<p class=\"note\">%s client/server pair%s, %s connection%s.</p>\n",
		        report_num(r->lr.n, b1), report_plural(r->lr.n),
		        report_num(r->lr.legacy_connections, b2),
		        report_plural(r->lr.legacy_connections));
	if (!r->lr.n) {
		fputs("<p class=\"ok\">No client used legacy TLS in this window.</p>\n</section>\n",
		      out);
		return;
	}
	fputs("<p class=\"note\">One row per client, server and way of connecting. &ldquo;Already "
	      "failing&rdquo;: the service has passed its cutoff date, or the server no longer "
	      "answers. Times are UTC.</p>\n",
	      out);
	for (size_t k = 0; k < r->lr.n;) {
		enum attribution a = r->lr.v[r->order[k]].attr;
		size_t end = k;

		while (end < r->lr.n && r->lr.v[r->order[end]].attr == a)
			end++;
		fprintf(out, "<h3 id=\"attr-%d\">", (int)a);
		H(report_attr_title(a));
		fprintf(out, " <span class=\"tag none\">");
		H(attribution_name(a));
		fprintf(out, "</span> <span class=\"small\">%zu</span></h3>\n<p class=\"advice\">",
		        end - k);
		H(attribution_advice(a));
		fputs("</p>\n<div class=\"scroll\"><table class=\"entries stack\"><colgroup>"
		      "<col style=\"width:20%\"><col style=\"width:22%\"><col "
		      "style=\"width:24%\"><col style=\"width:14%\">"
		      "<col style=\"width:13%\"><col style=\"width:7%\"></colgroup>\n"
		      "<thead><tr><th>Client (software)</th><th>Talking to</th><th>Using</th>"
		      "<th>Deadline</th><th>First / last seen</th><th class=\"n\">Conn.</th></tr>"
		      "</thead>\n",
		      out);
		for (; k < end; k++)
			html_entry(out, r, &r->lr.v[r->order[k]]);
		fputs("</table></div>\n", out);
	}
	fputs("</section>\n", out);
}

static uint64_t nice_step(uint64_t max)
{
	static const uint64_t f[] = {1, 2, 5};

	for (uint64_t m = 1;; m *= 10)
		for (size_t i = 0; i < 3; i++)
			if (f[i] * m * 5 >= max)
				return f[i] * m;
}

/* How a chart is drawn in its viewBox: the wide one for a desktop or print, the narrow one for
 * a phone, where the wide one's 12-unit text would be shrunk to 4 px. At 390 px the narrow
 * one's 400 units are about 360 px, so its 13-unit text is about 12 px. */
struct chart_layout {
	const char *cls, *hatch; /* class of the figure; id of its hatch pattern, one per SVG */
	double W, L, R, T, PH;   /* width, margins, plot height */
	double tick, label;      /* font sizes: axis ticks, axis titles and legend */
	size_t ticks_day;        /* at most this many time ticks with a date that has its year */
	size_t ticks_short;      /* ... without the year (MM-DD) */
};

static const struct chart_layout chart_wide = {.cls = "chart-wide",
                                               .hatch = "hatch",
                                               .W = 1000,
                                               .L = 70,
                                               .R = 16,
                                               .T = 16,
                                               .PH = 230,
                                               .tick = 12,
                                               .label = 13,
                                               .ticks_day = 12,
                                               .ticks_short = 12};
static const struct chart_layout chart_narrow = {.cls = "chart-narrow",
                                                 .hatch = "hatch-n",
                                                 .W = 400,
                                                 .L = 48,
                                                 .R = 8,
                                                 .T = 12,
                                                 .PH = 200,
                                                 .tick = 13,
                                                 .label = 14,
                                                 .ticks_day = 3,
                                                 .ticks_short = 5};

/* Tick labels carry the year when the chart spans more than one year or half a year; a
 * shorter chart writes MM-DD and its year once, under the axis. */
static int chart_ticks_have_year(const struct report *r)
{
	char y0[8], y1[8];
	double last = r->day0 + (double)((r->nbuckets - 1) * (size_t)r->bucket_days) * DAY;

	report_time(r->day0, "%Y", y0, sizeof y0);
	report_time(last, "%Y", y1, sizeof y1);
	return strcmp(y0, y1) != 0 || r->nbuckets * (size_t)r->bucket_days > 183 ||
	       r->nbuckets <= 8;
}

static void chart_bars(FILE *out, const struct report *r, const struct chart_layout *c, double top)
{
	const double bw = (c->W - c->L - c->R) / (double)r->nbuckets;
	int year = chart_ticks_have_year(r);
	size_t max = year ? c->ticks_day : c->ticks_short;
	size_t every = (r->nbuckets + max - 1) / max;
	char day[32], b[32];

	for (size_t i = 0; i < r->nbuckets; i++) {
		double y = c->T + c->PH, bar = bw * 0.72 > 1 ? bw * 0.72 : 1, x;
		const struct trend_row *row = &r->rows[i];

		if (bar > 64)
			bar = 64;
		x = c->L + (double)i * bw + (bw - bar) / 2;
		for (size_t v = 0; v < r->versions.n; v++) {
			uint64_t n = row->n[v];
			double h = c->PH * (double)n / top;

			if (!n)
				continue;
			y -= h;
			fprintf(out,
			        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
			        "fill=\"%s\"><title>",
			        x, y, bar, h, version_colour(r->versions.v[v].value));
			H(row->day);
			fputs(" ", out);
			H(r->versions.v[v].name);
			fprintf(out, ": %s</title></rect>\n", report_num(n, b));
			if (r->versions.v[v].legacy)
				fprintf(
				    out,
				    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
				    "fill=\"url(#%s)\" pointer-events=\"none\"/>\n",
				    x, y, bar, h, c->hatch);
		}
		if (i % every)
			continue;
		report_time(row->start, year ? FMT_DAY : "%m-%d", day, sizeof day);
		fprintf(out,
		        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#8c959f\"/>"
		        "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" "
		        "text-anchor=\"middle\" fill=\"#57606a\">",
		        x + bar / 2, x + bar / 2, c->T + c->PH, c->T + c->PH + 5, x + bar / 2,
		        c->T + c->PH + 7 + c->tick, c->tick);
		H(day);
		fputs("</text>\n", out);
	}
	report_time(r->day0, "%Y", day, sizeof day);
	fprintf(out,
	        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"middle\" "
	        "fill=\"#1f2328\">%s (UTC)%s%s</text>\n",
	        c->L + (c->W - c->L - c->R) / 2, c->T + c->PH + 16 + c->tick + c->label, c->label,
	        r->bucket_days == 1 ? "day" : "first day of each bar", year ? "" : ", ",
	        year ? "" : day);
}

/* The legend has as many entries a row as the longest name leaves room for: a name and
 * " (1,234,567)" at about 0.6 em a character, after the 20-unit swatch. */
static size_t legend_per_row(const struct report *r, const struct chart_layout *c, double *col)
{
	size_t longest = 0, n;

	for (size_t v = 0; v < r->versions.n; v++)
		if (strlen(r->versions.v[v].name) > longest)
			longest = strlen(r->versions.v[v].name);
	*col = 30 + 0.6 * c->label * (double)(longest + 12);
	n = (size_t)((c->W - c->L + 20) / *col);
	return n < 1 ? 1 : n > 5 ? 5 : n;
}

static size_t chart_legend_rows(const struct report *r, const struct chart_layout *c)
{
	double col;
	size_t per_row = legend_per_row(r, c, &col);

	return (r->versions.n + per_row - 1) / per_row;
}

static void chart_legend(FILE *out, const struct report *r, const struct chart_layout *c, double y0)
{
	double col;
	size_t per_row = legend_per_row(r, c, &col);
	char b[32];

	for (size_t v = 0; v < r->versions.n; v++) {
		double lx = (per_row == 1 ? 12 : c->L) + (double)(v % per_row) * col,
		       ly = y0 + (c->label + 9) * (double)(v / per_row);

		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>",
		        lx, ly - 11, version_colour(r->versions.v[v].value));
		if (r->versions.v[v].legacy)
			fprintf(out,
			        "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" "
			        "fill=\"url(#%s)\"/>",
			        lx, ly - 11, c->hatch);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" fill=\"#1f2328\">",
		        lx + 20, ly, c->label);
		H(r->versions.v[v].name);
		fprintf(out, " (%s)</text>\n", report_num(r->versions.v[v].n, b));
	}
}

/* A stacked bar per bucket (day, week or longer), one colour per negotiated version, newest
 * version at the bottom; each bar has a <title> for the exact figures. */
static void html_chart(FILE *out, const struct report *r, const struct chart_layout *c)
{
	uint64_t step = nice_step(r->trend_max), top = (r->trend_max + step - 1) / step * step;
	double legend_y = c->T + c->PH + 36 + c->tick + c->label;
	double height = legend_y + (c->label + 9) * (double)chart_legend_rows(r, c);
	char b[32];

	if (!top)
		top = step;
	fprintf(out,
	        "<figure class=\"%s\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
	        "%.0f %.0f\" width=\"100%%\" role=\"img\" aria-label=\"TLS connections per ",
	        c->cls, c->W, height);
	H(report_bucket_label(r));
	fprintf(out,
	        " by negotiated version\">\n<defs><pattern id=\"%s\" width=\"6\" height=\"6\" "
	        "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"2\" "
	        "height=\"6\" fill=\"#fff\" fill-opacity=\"0.45\"/></pattern></defs>\n",
	        c->hatch);
	/* y axis: grid lines and ticks */
	for (uint64_t v = 0; v <= top; v += step) {
		double y = c->T + c->PH - c->PH * (double)v / (double)top;

		fprintf(out,
		        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
		        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"end\" "
		        "fill=\"#57606a\">%s</text>\n",
		        c->L, c->W - c->R, y, y, v ? "#eaeef2" : "#8c959f", c->L - 5, y + 4,
		        c->tick, report_num(v, b));
	}
	fprintf(out,
	        "<text transform=\"translate(%.0f %.1f) rotate(-90)\" font-size=\"%.0f\" "
	        "text-anchor=\"middle\" fill=\"#1f2328\">connections per ",
	        c->label, c->T + c->PH / 2, c->label);
	H(report_bucket_label(r));
	fputs("</text>\n", out);
	chart_bars(out, r, c, (double)top);
	chart_legend(out, r, c, legend_y);
	fputs("</svg>\n</figure>\n", out);
}

static void html_trend(FILE *out, const struct report *r)
{
	char from[32], to[32];

	fputs("<section id=\"trend\">\n<h2>Trend</h2>\n", out);
	if (!r->nbuckets) {
		fputs("<p>No connections in this window.</p>\n</section>\n", out);
		return;
	}
	report_time(r->day0, FMT_DAY, from, sizeof from);
	report_time(r->day0 + (double)(r->nbuckets * (size_t)r->bucket_days - 1) * DAY, FMT_DAY, to,
	            sizeof to);
	fputs("<p class=\"note\">Connections per ", out);
	H(report_bucket_label(r));
	fputs(" by negotiated version, ", out);
	NB(from);
	fputs(" to ", out);
	NB(to);
	if (r->bucket_days > 1)
		fprintf(out, " (each bar is %d days, from the date under it)", r->bucket_days);
	fputs(". Legacy versions are red and hatched. A ", out);
	H(report_bucket_label(r));
	fputs(" without a bar had no connection: check the coverage section.</p>\n", out);
	html_chart(out, r, &chart_wide);
	html_chart(out, r, &chart_narrow);
	fputs("</section>\n", out);
}

static void html_client_list(FILE *out, const struct strv *sv, const uint64_t *conns,
                             const char *none)
{
	char b[32];

	if (!sv->n) {
		fprintf(out, "<p class=\"note\">%s</p>\n", none);
		return;
	}
	fputs("<ul>\n", out);
	for (size_t i = 0; i < sv->n; i++) {
		fputs("<li>", out);
		H(sv->v[i]);
		if (conns)
			fprintf(out, " <span class=\"small\">(%s connection%s, none legacy)</span>",
			        report_num(conns[i], b), report_plural(conns[i]));
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
}

static void html_changes(FILE *out, const struct report *r)
{
	char gen[32], since[32], until[32];

	fputs("<section id=\"changes\">\n<h2>Changes since the previous report</h2>\n", out);
	if (!r->prev.found) {
		fputs("<p>This is the first report with this policy and these filters in this "
		      "database; the next one will list the clients that became legacy and those "
		      "that "
		      "moved to modern TLS.</p>\n</section>\n",
		      out);
		return;
	}
	report_time(r->prev.generated, FMT_MINUTE, gen, sizeof gen);
	report_time(r->prev.until, FMT_MINUTE, until, sizeof until);
	if (r->prev.since)
		report_time(r->prev.since, FMT_MINUTE, since, sizeof since);
	fputs("<p class=\"note\">The previous report was generated ", out);
	NB(gen);
	fputs(" UTC and covered ", out);
	if (r->prev.since) {
		NB(since);
		fputs(" to ", out);
	} else {
		fputs("everything until ", out);
	}
	NB(until);
	fputs(" UTC", out);
	if (r->prev.path) {
		fputs(" (", out);
		fputs("<span class=\"wrap\">", out);
		H(r->prev.path);
		fputs("</span>", out);
		fputs(")", out);
	}
	fprintf(out, "; it listed %zu legacy client%s.</p>\n", r->prev.clients.n,
	        report_plural(r->prev.clients.n));
	fprintf(out, "<h3>New legacy clients (%zu)</h3>\n", r->added.n);
	html_client_list(out, &r->added, NULL, "None: every legacy client was already listed.");
	fprintf(out, "<h3 class=\"ok\">Migrated to modern TLS (%zu)</h3>\n", r->migrated.n);
	html_client_list(out, &r->migrated, r->migrated_conns,
	                 "None: no client of the previous list is seen with modern TLS only.");
	if (r->unseen.n) {
		fprintf(
		    out,
		    "<h3>Not seen in this window (%zu)</h3>\n<p class=\"note\">Listed before, "
		    "no connection now: switched off, moved, or out of the capture's view.</p>\n",
		    r->unseen.n);
		html_client_list(out, &r->unseen, NULL, "");
	}
	fputs("</section>\n", out);
}

static void html_coverage(FILE *out, const struct report *r)
{
	struct cov_line l[REPORT_COV_LINES];
	size_t n = report_coverage_lines(r, l);
	uint64_t lost = 0;
	char b[32], t[32];

	for (size_t i = 0; i < n; i++)
		lost += l[i].n;
	fputs("<section id=\"coverage\">\n<h2>Coverage: what this report could not see</h2>\n",
	      out);
	if (lost)
		fputs("<p class=\"failing\">Part of the traffic could not be seen or judged; the "
		      "figures above are a lower bound.</p>\n",
		      out);
	else
		fputs("<p class=\"ok\">Nothing was lost: every connection recorded could be judged "
		      "and "
		      "no packet was dropped.</p>\n",
		      out);
	fputs("<div class=\"scroll\"><table><tr><th>What</th><th "
	      "class=\"n\">Count</th><th>Meaning</th></tr>\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "<tr><td>%s</td><td class=\"n%s\">%s</td><td class=\"note\">",
		        l[i].what, l[i].n ? " failing" : "", report_num(l[i].n, b));
		html_words(out, l[i].meaning);
		fputs("</td></tr>\n", out);
	}
	fputs("</table></div>\n<p class=\"note\">", out);
	fprintf(out,
	        "%s capture run%s (%s packets) contributed to this window; drop and eviction "
	        "counts are for whole runs and all hosts.",
	        report_num(r->cov.runs, b), report_plural(r->cov.runs),
	        report_num(r->cov.packets, t));
	if (r->cov.unfinished)
		fprintf(out,
		        " %s run%s had not ended (still capturing, or stopped without a clean "
		        "exit; counters are from the last refresh).",
		        report_num(r->cov.unfinished, b), report_plural(r->cov.unfinished));
	if (r->cov.oldest_row && (!r->since || r->since < r->cov.oldest_row) &&
	    r->cov.oldest_inventory && r->cov.oldest_inventory < r->cov.oldest_row) {
		report_time(r->cov.oldest_row, FMT_MINUTE, t, sizeof t);
		fputs(" Connection rows before ", out);
		NB(t);
		fputs(" UTC were deleted by retention (--retain); this window starts earlier, so "
		      "its counts are incomplete.",
		      out);
	}
	if (!r->lr.from_connections)
		fputs(" The legacy figures come from the inventory, which outlives retention: a "
		      "way of "
		      "connecting seen in the window counts with all its connections, also those "
		      "outside it.",
		      out);
	fputs("</p>\n</section>\n", out);
}

static void html_footer(FILE *out, const struct report *r)
{
	(void)r;
	fputs("</main>\n<footer>tlscensus " TC_VERSION " &middot; <code>tlscensus report</code>. "
	      "Legacy: TLS below 1.2 or a broken cipher suite, unless the policy says otherwise. "
	      "Text seen on the network is shown escaped (\\xHH for bytes that are not "
	      "text).</footer>\n"
	      "</body>\n</html>\n",
	      out);
}

/* ---------------------------------------------------------------- key exchange */

static void html_kx_summary(FILE *out, const struct report *r)
{
	const struct legacy_kx *k = &r->lr.kx;
	char b1[32], b2[32], b3[32], b4[32], b5[32], p[16];

	fprintf(out,
	        "<section id=\"key-exchange\">\n<p class=\"lead\">Post-quantum key exchange: "
	        "<b class=\"%s\">%s of %s connection%s (%s)</b> negotiated a hybrid or ML-KEM "
	        "group; %s a Kyber draft, %s a classical group, %s none (TLS 1.2 and older, or no "
	        "ServerHello).",
	        k->pq ? "ok" : "failing", report_num(k->pq, b1), report_num(r->lr.connections, b2),
	        report_plural(r->lr.connections), report_percent(k->pq, r->lr.connections, p),
	        report_num(k->draft, b3), report_num(k->classical, b4), report_num(k->none, b5));
	if (k->no_facts)
		fprintf(
		    out,
		    " %s without key-exchange facts (folded by --retain before they were kept).",
		    report_num(k->no_facts, b1));
	fputs("</p>\n</section>\n", out);
}

static void html_pq(FILE *out, const struct report *r)
{
	static const enum attribution cols[] = {ATTR_HRR, ATTR_DRAFT, ATTR_CLIENT, ATTR_SERVER};
	char b[32], p[16];

	fputs("<section id=\"pq\">\n<h2>Post-quantum readiness</h2>\n<p class=\"note\">Per "
	      "client: <b>ready</b> connections are those the policy <b>",
	      out);
	H(r->policy);
	fputs("</b> accepts; the others by who must act (the legacy clients above give each "
	      "server).</p>\n",
	      out);
	if (!r->npq) {
		fputs("<p>No connection was judged in this window.</p>\n", out);
	} else {
		fputs("<div class=\"scroll\"><table><tr><th>Client</th><th>Software</th><th "
		      "class=\"n\">Connections</th>"
		      "<th class=\"n\">Ready</th>",
		      out);
		for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
			fputs("<th class=\"n\">", out);
			H(attribution_name(cols[c]));
			fputs("</th>", out);
		}
		fputs("<th class=\"n\">other</th></tr>\n", out);
		for (size_t i = 0; i < r->npq; i++) {
			const struct pq_client *c = &r->pq[i];
			uint64_t other = c->connections - c->ready;

			fputs("<tr><td>", out);
			H(c->client_ip);
			fputs("</td><td class=\"wrap\">", out);
			H(c->software ? c->software : "-");
			fprintf(out, "</td><td class=\"n\">%s</td>", report_num(c->connections, b));
			fprintf(out, "<td class=\"n\">%s (%s)</td>", report_num(c->ready, b),
			        report_percent(c->ready, c->connections, p));
			for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
				other -= c->by_attr[cols[k]];
				fprintf(out, "<td class=\"n\">%s</td>",
				        report_num(c->by_attr[cols[k]], b));
			}
			fprintf(out, "<td class=\"n\">%s</td></tr>\n", report_num(other, b));
		}
		fputs("</table></div>\n<p class=\"small\">other: failing, fallback or cipher "
		      "findings "
		      "(see the legacy clients).</p>\n",
		      out);
	}
	fprintf(out, "<h3>Key exchange per %s (UTC)</h3>\n", report_bucket_label(r));
	if (!r->nbuckets) {
		fputs("<p>No connections in this window.</p>\n</section>\n", out);
		return;
	}
	fprintf(out, "<div class=\"scroll\"><table><tr><th>%s</th>",
	        r->bucket_days == 1 ? "Day" : "Starting");
	for (int c = 0; c < KX_COLS; c++) {
		fputs("<th class=\"n\">", out);
		H(report_kx_col_name((enum kx_col)c));
		fputs("</th>", out);
	}
	fputs("<th class=\"n\">Total</th><th class=\"n\">PQ share</th></tr>\n", out);
	for (size_t i = 0; i < r->nbuckets; i++) {
		const uint64_t *n = &r->pq_trend[i * KX_COLS];
		uint64_t total = 0;

		fprintf(out, "<tr><td class=\"nb\">%s</td>", r->rows[i].day);
		for (int c = 0; c < KX_COLS; c++) {
			total += n[c];
			fprintf(out, "<td class=\"n\">%s</td>", report_num(n[c], b));
		}
		fprintf(out, "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
		        report_num(total, b), report_percent(n[KX_PQ], total, p));
	}
	fputs("</table></div>\n</section>\n", out);
}

#undef H

const struct report_renderer report_html = {
    .name = "html",
    .header = html_header,
    .summary = html_summary,
    .kx_summary = html_kx_summary,
    .legacy = html_legacy,
    .pq = html_pq,
    .trend = html_trend,
    .changes = html_changes,
    .coverage = html_coverage,
    .footer = html_footer,
};
