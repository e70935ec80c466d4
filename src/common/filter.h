/*
 * filter.h: which connections a question is about: address prefixes, an SNI glob, a port and a
 * time window, with the syntax the command line gives them. Shared by every reader of a store.
 */
#ifndef TLSCENSUS_FILTER_H
#define TLSCENSUS_FILTER_H

#include <stdint.h>

struct cidr {
	uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d, like struct tc_addr */
	uint8_t bits;     /* prefix length over the 128-bit form */
	uint8_t set;
};
int cidr_parse(const char *text, struct cidr *out);
int cidr_match(const struct cidr *c, const char *ip_text);

/* "7d", "24h", "30m", "90s", "2w" (that long before now), "2026-11-01" (00:00:00Z), or
 * "2026-11-01T12:00[:00][Z]" (also with a space for T), "@1704067200", "now". UTC. */
int filter_parse_time(const char *text, double now, double *out);
/* fnmatch(3) without escapes, case-insensitive (host names are); text NULL never matches. */
int filter_glob_match(const char *pattern, const char *text);

/* The scope of a question about stored connections, as every reader of a store takes it. */
struct filter {
	double since, until; /* unix seconds, both included; 0 = open */
	struct cidr client, server;
	const char *sni_glob; /* NULL for any */
	int port;             /* server port; 0 for any */
};

/* 1 when a connection between these addresses, with this SNI (NULL: none), is within f's
 * prefixes and glob. The window and the port are the reader's to ask its store for. */
int filter_match(const struct filter *f, const char *client, const char *server, const char *sni);

#endif
