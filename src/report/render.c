/*
 * render.c: what every format of the report shares: times, numbers, shares, and the words for
 * an entry and for the coverage lines. It writes no section of its own.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ciphers.h"
#include "groups.h"
#include "report_int.h"
#include "text.h"

/* ---------------------------------------------------------------- time */

void report_time(double t, const char *fmt, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* Every caller passes a literal, checked there through the format attribute. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, fmt, &tm))
		snprintf(buf, len, "?");
#pragma GCC diagnostic pop
}

/* ---------------------------------------------------------------- text out */

void report_text(FILE *out, enum report_format fmt, const char *t)
{
	if (fmt == REPORT_CSV)
		text_csv(out, t ? t : "");
	else if (fmt == REPORT_HTML)
		text_html(out, t);
	else
		text_markdown(out, t);
}

const char *report_plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

const char *report_num(uint64_t v, char buf[32])
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), o = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

const char *report_percent(uint64_t part, uint64_t whole, char buf[16])
{
	if (!whole)
		snprintf(buf, 16, "-");
	else if (part && part * 1000 < whole)
		snprintf(buf, 16, "<0.1%%");
	else
		snprintf(buf, 16, "%.1f%%", 100.0 * (double)part / (double)whole);
	return buf;
}

uint64_t report_unjudged(const struct report *r)
{
	const struct legacy_unknown *u = &r->lr.unknown;

	return u->truncated + u->malformed + u->one_sided + u->midstream;
}

uint64_t report_modern(const struct report *r)
{
	uint64_t off = r->lr.legacy_connections + report_unjudged(r);

	return r->lr.connections > off ? r->lr.connections - off : 0;
}

const char *report_kx_col_name(enum kx_col c)
{
	static const char *const names[KX_COLS] = {
	    [KX_PQ] = "hybrid or ML-KEM",
	    [KX_DRAFT] = "Kyber draft",
	    [KX_CLASSICAL] = "classical",
	    [KX_NONE] = "no key_share group",
	};
	return c < KX_COLS ? names[c] : "?";
}

enum kx_col report_kx_col(int64_t group)
{
	unsigned kind = group >= 0 && group <= 0xffff ? group_kind((uint16_t)group) : 0;

	if (group < 0)
		return KX_NONE;
	if (kind & GROUP_PQ)
		return KX_PQ;
	return kind & GROUP_DRAFT ? KX_DRAFT : KX_CLASSICAL;
}

/* ---------------------------------------------------------------- what an entry says */

const char *report_attr_title(enum attribution a)
{
	switch (a) {
	case ATTR_FAILING:
		return "Already failing";
	case ATTR_FALLBACK:
		return "Falling back to older TLS";
	case ATTR_CLIENT:
		return "The client must be upgraded";
	case ATTR_SERVER:
		return "The server must be upgraded";
	case ATTR_CIPHER:
		return "Weak cipher suite";
	case ATTR_DRAFT:
		return "The client is still on a Kyber draft";
	case ATTR_HRR:
		return "Post-quantum after a HelloRetryRequest";
	default:
		return attribution_name(a);
	}
}

void report_entry_text(const struct report *r, const struct legacy_entry *e, struct entry_text *t)
{
	char v[REPORT_VERSION_MAX];

	snprintf(t->server, sizeof t->server,
	         strchr(e->server_ip ? e->server_ip : "", ':') ? "[%s]:%d" : "%s:%d",
	         e->server_ip ? e->server_ip : "?", e->server_port);
	report_version_name(e->version, v);
	snprintf(t->uses, sizeof t->uses, "%s%s", v, e->negotiated ? "" : " offered, no answer");
	/* SSL 2.0 negotiates a cipher kind in a later message: no suite to name, as legacy says. */
	if (!e->negotiated || e->cipher == POLICY_NO_CIPHER)
		snprintf(t->cipher, sizeof t->cipher, "-");
	else if (cipher_name(e->cipher))
		snprintf(t->cipher, sizeof t->cipher, "%s", cipher_name(e->cipher));
	else
		snprintf(t->cipher, sizeof t->cipher, "0x%04x", e->cipher);
	if (e->client_max)
		report_version_name(e->client_max, t->client_max);
	else
		snprintf(t->client_max, sizeof t->client_max, "-");
	/* The wording is the legacy command's: "failing since DATE", "fails on DATE". */
	t->failing = 0;
	if (e->attr == ATTR_FAILING) {
		t->failing = 1;
		snprintf(t->deadline, sizeof t->deadline, "failing now%s%s",
		         e->retired ? "; service cutoff " : "", e->retired ? e->retired : "");
	} else if (e->retired) {
		legacy_deadline_text(e->retired, r->lr.now ? r->lr.now : r->now, t->deadline,
		                     sizeof t->deadline);
		t->failing = !strncmp(t->deadline, "failing", 7);
	} else {
		snprintf(t->deadline, sizeof t->deadline, "no cutoff date known");
	}
	report_time(e->first_seen, FMT_MINUTE, t->first, sizeof t->first);
	report_time(e->last_seen, FMT_MINUTE, t->last, sizeof t->last);
}

const char *report_bucket_label(const struct report *r)
{
	return r->bucket_name[0] ? r->bucket_name : "day";
}

const char *report_version_name(int64_t v, char buf[REPORT_VERSION_MAX])
{
	unsigned lo = (unsigned)(v & 0xff);

	/* draft-ietf-tls-tls13-14 to -28 sent 0x7f00 + the draft number (RFC 8446 ends at 28). */
	if (v >= 0x7f0e && v <= 0x7f1c)
		snprintf(buf, REPORT_VERSION_MAX, "TLS 1.3 draft %u", lo);
	/* Facebook's Fizz and mvfst deployed drafts as 0xfb00 + the draft number (0xfb1a: 26). */
	else if ((v & ~0xffLL) == 0xfb00 && lo >= 0x0e && lo <= 0x1c)
		snprintf(buf, REPORT_VERSION_MAX, "TLS 1.3 draft %u (Facebook)", lo);
	/* Chrome's 2017 middlebox experiments, draft-based variants with their own numbers. */
	else if (v >= 0x7e01 && v <= 0x7e03)
		snprintf(buf, REPORT_VERSION_MAX, "TLS 1.3 experiment %u (Chrome)", lo);
	else {
		char t[TC_VERSION_TEXT_MAX];

		snprintf(buf, REPORT_VERSION_MAX, "%s", tc_version_text(v, t));
	}
	return buf;
}

void report_window_marker(const struct report *r, enum report_format fmt, char *buf, size_t len)
{
	/* r->window holds digits, '-', ':', 'T', 'Z', '.', '/', ';' and hex: nothing to escape. */
	if (fmt == REPORT_HTML)
		snprintf(buf, len, "<meta name=\"tlscensus-window\" content=\"%s\">\n", r->window);
	else if (fmt == REPORT_MD)
		snprintf(buf, len, "<!-- tlscensus-window %s -->\n", r->window);
	else
		snprintf(buf, len, "report,window,%s\r\n", r->window);
}

size_t report_coverage_lines(const struct report *r, struct cov_line l[REPORT_COV_LINES])
{
	const struct legacy_unknown *u = &r->lr.unknown;
	size_t n = 0;

	l[n++] =
	    (struct cov_line){"Unparsed (malformed)", u->malformed,
	                      "bytes that are not valid TLS; the connection could not be judged"};
	l[n++] =
	    (struct cov_line){"Truncated", u->truncated,
	                      "the hello was cut (snap length, or the capture stopped mid-way)"};
	l[n++] = (struct cov_line){"One-sided", u->one_sided,
	                           "only one direction was seen (asymmetric routing, or a mirror "
	                           "that misses one side)"};
	l[n++] = (struct cov_line){"Midstream", u->midstream,
	                           "the capture began after the handshake: nothing to judge"};
	l[n++] =
	    (struct cov_line){"Kernel drops", r->cov.kernel_drops,
	                      "packets the kernel or the interface dropped (load, buffer size)"};
	l[n++] = (struct cov_line){"Queue drops", r->cov.queue_drops,
	                           "records lost because the database could not keep up"};
	l[n++] = (struct cov_line){"Flows evicted", r->cov.flows_evicted,
	                           "flows pushed out by the flow table bound (--max-flows)"};
	l[n++] = (struct cov_line){"Undecodable packets", r->cov.undecodable,
	                           "truncated, fragmented or unsupported encapsulations"};
	return n;
}
