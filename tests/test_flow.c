/*
 * test_flow.c: the flow table: both directions find one entry, the bucket array grows without
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

int main(void)
{
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
		flow_free(added[i]);
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
		flow_free(f);
	}
	CHECK_EQ(flow_count(t), 0);
	flow_table_free(t);
	TEST_DONE("flow");
}
