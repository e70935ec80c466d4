/*
 * filter.c: the filters every reader of a store shares (the legacy command, the report, direct
 * readers): address prefixes, host-name globs and the time syntax of --since/--until.
 */
#define _GNU_SOURCE /* FNM_CASEFOLD, timegm */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "filter.h"

int cidr_parse(const char *text, struct cidr *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	struct tc_addr a;
	long bits;
	int v4;

	memset(out, 0, sizeof *out);
	if (n == 0 || n >= sizeof addr)
		return 0;
	memcpy(addr, text, n);
	addr[n] = '\0';
	if (!tc_addr_parse(addr, &a))
		return 0;
	v4 = !strchr(addr, ':');
	bits = v4 ? 32 : 128;
	if (slash) {
		char *end;

		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || bits < 0 || bits > (v4 ? 32 : 128) ||
		    !isdigit((unsigned char)slash[1]))
			return 0;
	}
	memcpy(out->addr, a.b, 16);
	out->bits = (uint8_t)(v4 ? 96 + bits : bits);
	out->set = 1;
	/* Host bits are cleared, so 10.1.2.3/8 means 10.0.0.0/8 as route(8) reads it. */
	for (int i = out->bits; i < 128; i++)
		out->addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	return 1;
}

int cidr_match(const struct cidr *c, const char *ip_text)
{
	struct tc_addr a;
	int full = c->bits / 8, rest = c->bits % 8;

	if (!c->set)
		return 1;
	if (!ip_text || !tc_addr_parse(ip_text, &a))
		return 0;
	if (memcmp(a.b, c->addr, (size_t)full))
		return 0;
	return !rest || ((a.b[full] ^ c->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int filter_glob_match(const char *pattern, const char *text)
{
	return text && fnmatch(pattern, text, FNM_NOESCAPE | FNM_CASEFOLD) == 0;
}

/* "7d", "90s", "2w"... -> seconds; -1 when the text is not one. */
static double parse_relative(const char *text)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !end[0] || end[1])
		return -1;
	switch (end[0]) {
	case 's':
		return v;
	case 'm':
		return v * 60;
	case 'h':
		return v * 3600;
	case 'd':
		return v * 86400;
	case 'w':
		return v * 7 * 86400;
	default:
		return -1;
	}
}

int filter_parse_time(const char *text, double now, double *out)
{
	struct tm tm = {0};
	double rel;
	char *end;
	int n = 0, y, mo, d, h = 0, mi = 0, s = 0;
	time_t t;

	if (!text || !*text)
		return -1;
	if (!strcmp(text, "now")) {
		*out = now;
		return 0;
	}
	if (text[0] == '@') {
		errno = 0;
		*out = strtod(text + 1, &end);
		return errno || end == text + 1 || *end || *out < 0 ? -1 : 0;
	}
	if ((rel = parse_relative(text)) >= 0) {
		*out = now - rel;
		return 0;
	}
	if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	text += n;
	if (*text == 'T' || *text == ' ') {
		n = 0;
		if (sscanf(text + 1, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
			return -1;
		text += 1 + n;
		if (*text == ':') {
			n = 0;
			if (sscanf(text + 1, "%2d%n", &s, &n) != 1 || n != 2)
				return -1;
			text += 1 + n;
		}
		if (*text == 'Z')
			text++;
	}
	if (*text || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || h < 0 ||
	    mi < 0 || s < 0)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d) /* 2026-02-30 is not a day */
		return -1;
	*out = (double)t;
	return 0;
}

int filter_match(const struct filter *f, const char *client, const char *server, const char *sni)
{
	return cidr_match(&f->client, client) && cidr_match(&f->server, server) &&
	       (!f->sni_glob || filter_glob_match(f->sni_glob, sni));
}
