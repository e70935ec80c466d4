/*
 * addr.c: struct tc_addr to text and back. IPv4 (kept IPv4-mapped) prints as a dotted quad,
 * IPv6 in the RFC 5952 canonical form, so one address always prints one way and equal
 * addresses compare equal as strings. No packet bytes are read here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* RFC 5952 section 4: lower-case hex without leading zeros; the longest run of two or more
 * zero groups (the first of equal runs) becomes "::". */
static void addr_format_v6(const struct tc_addr *a, char *out, size_t outlen)
{
	unsigned g[8];
	int best = -1, best_len = 0, run = 0;
	size_t n = 0;

	for (int i = 0; i < 8; i++) {
		g[i] = (unsigned)a->b[2 * i] << 8 | a->b[2 * i + 1];
		run = g[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	if (best_len < 2)
		best = -1;
	out[0] = '\0';
	for (int i = 0; i < 8 && n < outlen;) {
		if (i == best) {
			n += snprintf(out + n, outlen - n, "::");
			i += best_len;
			continue;
		}
		if (i > 0 && i != best + best_len)
			n += snprintf(out + n, outlen - n, ":");
		if (n < outlen)
			n += snprintf(out + n, outlen - n, "%x", g[i]);
		i++;
	}
}

char *tc_addr_format(const struct tc_addr *a, char *buf, size_t buflen)
{
	char text[48];

	if (tc_addr_is_v4(a))
		snprintf(text, sizeof(text), "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14], a->b[15]);
	else
		addr_format_v6(a, text, sizeof(text));
	/* A short buffer gets a truncated, still terminated string rather than nothing, so the
	 * result can always be printed. */
	if (buflen > 0)
		snprintf(buf, buflen, "%s", text);
	return buf;
}

int tc_addr_parse(const char *text, struct tc_addr *out)
{
	unsigned char v4[4];

	if (!text || !out)
		return 0;
	if (strchr(text, ':'))
		return inet_pton(AF_INET6, text, out->b) == 1;
	if (inet_pton(AF_INET, text, v4) != 1)
		return 0;
	memset(out->b, 0, 10);
	out->b[10] = 0xff;
	out->b[11] = 0xff;
	memcpy(out->b + 12, v4, 4);
	return 1;
}
