/*
 * test_flow.c: the flow table: the key hash spreads similar keys evenly, both directions find
 * one entry, the bucket array grows without
 * losing entries, the LRU list keeps the oldest first, and unlinking keeps the table whole.
 */
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "tc_test.h"

static struct tc_packet packet(uint32_t client, uint16_t cport, int reverse)
{
	struct tc_packet p;

	memset(&p, 0, sizeof(p));
	p.proto = 6;
	p.src.b[10] = p.src.b[11] = 0xff;
	p.dst = p.src;
	memcpy(p.src.b + 12, &client, 4);
	p.dst.b[12] = 10;
	p.dst.b[15] = 1;
	p.sport = cport;
	p.dport = 443;
	if (reverse) {
		struct tc_addr a = p.src;
		p.src = p.dst;
		p.dst = a;
		p.sport = 443;
		p.dport = cport;
	}
	return p;
}

/* The key hash spreads the keys real traffic has, which differ in a few bits only (one client
 * address after another, one port after another, IPv6 in the low words), evenly over a table:
 * about 1/e of the buckets empty and no long chain, whatever the seed. */
static void spread(uint64_t seed, int kind)
{
	enum { BITS = 18, KEYS = 1 << BITS };
	uint8_t *count = calloc(KEYS, 1);
	unsigned empty = 0, longest = 0;

	if (!count) {
		CHECK(count != NULL);
		return;
	}
	for (uint32_t i = 0; i < KEYS; i++) {
		struct tc_packet p = packet(kind == 0 ? 0x0a000000u + i : 0x0a000001u,
		                            (uint16_t)(kind == 1 ? 1024 + (i & 0xffff) : 50000),
		                            0);
		if (kind == 1)
			p.src.b[14] = (uint8_t)(i >> 16); /* 4 clients with every port */
		if (kind == 2) {                           /* IPv6 clients in one /64 */
			memset(p.src.b, 0, 16);
			p.src.b[0] = 0x20;
			p.src.b[1] = 0x01;
			memcpy(p.src.b + 12, &i, 4);
		}
		struct flow_key k;
		flow_key_make(&p, &k);
		uint8_t *c = &count[flow_key_hash(seed, &k) & (KEYS - 1)];
		if (*c < 255)
			(*c)++;
	}
	for (uint32_t i = 0; i < KEYS; i++) {
		empty += !count[i];
		if (count[i] > longest)
			longest = count[i];
	}
	/* Poisson(1): 36.8 % empty; the longest of 2^18 chains is about 9 */
	CHECK(empty > KEYS * 0.35 && empty < KEYS * 0.385);
	CHECK(longest <= 12);
	if (empty <= KEYS * 0.35 || empty >= KEYS * 0.385 || longest > 12)
		fprintf(stderr, "  seed %llx kind %d: %u empty, longest chain %u\n",
		        (unsigned long long)seed, kind, empty, longest);
	free(count);
}

int main(void)
{
	static const uint64_t seeds[] = {1, 0x9e3779b97f4a7c15ULL, 0xdeadbeef00000000ULL,
	                                 0x0123456789abcdefULL};
	for (unsigned s = 0; s < sizeof seeds / sizeof seeds[0]; s++)
		for (int kind = 0; kind < 3; kind++)
			spread(seeds[s], kind);

	enum { N = 20000 };
	struct flow_table *t = flow_table_new(N);
	static struct flow *added[N];
	int dir, rdir, bad = 0;

	CHECK(t != NULL);
	for (uint32_t i = 0; i < N; i++) {
		struct tc_packet p = packet(0x01000000u + i, (uint16_t)(1024 + i % 60000), 0);
		if (flow_find(t, &p, &dir))
			bad++;
		added[i] = flow_add(t, &p, &dir);
	}
	CHECK_EQ(flow_count(t), N);
	CHECK_EQ(bad, 0);
	/* Every flow is found from both directions, with opposite directions. */
	for (uint32_t i = 0; i < N; i++) {
		struct tc_packet p = packet(0x01000000u + i, (uint16_t)(1024 + i % 60000), 0);
		struct tc_packet r = packet(0x01000000u + i, (uint16_t)(1024 + i % 60000), 1);
		if (flow_find(t, &p, &dir) != added[i] || flow_find(t, &r, &rdir) != added[i] ||
		    dir == rdir)
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* LRU: the first added is the oldest until touched. */
	CHECK(flow_oldest(t) == added[0]);
	flow_touch(t, added[0]);
	CHECK(flow_oldest(t) == added[1]);
	/* Unlink every other flow; the rest are still found. */
	for (uint32_t i = 0; i < N; i += 2) {
		flow_unlink(t, added[i]);
		flow_free(t, added[i]);
	}
	CHECK_EQ(flow_count(t), N / 2);
	for (uint32_t i = 1; i < N; i += 2) {
		struct tc_packet p = packet(0x01000000u + i, (uint16_t)(1024 + i % 60000), 0);
		if (flow_find(t, &p, &dir) != added[i])
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK(flow_oldest(t) == added[1]);
	while (flow_oldest(t)) {
		struct flow *f = flow_oldest(t);
		flow_unlink(t, f);
		flow_free(t, f);
	}
	CHECK_EQ(flow_count(t), 0);
	/* A flow added after others were freed reuses one, and starts clean. */
	{
		struct tc_packet p = packet(0x02000000u, 4000, 0);
		struct flow *f = flow_add(t, &p, &dir), *g;
		f->packets[0] = 5;
		f->token = 9;
		f->state = FLOW_DONE;
		f->client_dir = 1;
		flow_unlink(t, f);
		flow_free(t, f);
		g = flow_add(t, &p, &dir);
		CHECK(g == f);
		CHECK(g->packets[0] == 0 && g->token == 0 && g->state == FLOW_HANDSHAKE);
		CHECK(g->client_dir == -1 && g->op == NULL && g->prev == NULL);
		CHECK(flow_find(t, &p, &rdir) == g && flow_count(t) == 1);
		flow_unlink(t, g);
		flow_free(t, g);
	}
	flow_table_free(t);
	TEST_DONE("flow");
}
