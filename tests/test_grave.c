/*
 * test_grave.c: released TCP connections. A late copy of a segment is known by its 5-tuple
 * and sequence space; a SYN outside that space is a new connection and forgets the grave; a
 * grave is kept for the time given and no longer; the table grows to hold what is kept and
 * never past its bound, beyond which the oldest graves go first; of a 5-tuple buried again,
 * the newest grave answers; graves past their time make room whatever the gap.
 */
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "grave.h"
#include "tc_test.h"

#define KEEP 240000000ull /* microseconds */

static const uint64_t seed = 0x5eed;

/* Connection i: client 10.x.y.z:port to 192.0.2.1:443, both sides' sequence spaces known. */
static void connection(uint32_t i, struct flow *f)
{
	memset(f, 0, sizeof *f);
	f->key.a.b[10] = f->key.a.b[11] = f->key.b.b[10] = f->key.b.b[11] = 0xff;
	f->key.a.b[12] = 10;
	f->key.a.b[13] = (uint8_t)(i >> 16);
	f->key.a.b[14] = (uint8_t)(i >> 8);
	f->key.a.b[15] = (uint8_t)i;
	f->key.b.b[12] = 192;
	f->key.b.b[14] = 2;
	f->key.b.b[15] = 1;
	f->key.pa = (uint16_t)(20000 + (i & 0x3fff));
	f->key.pb = 443;
	f->key.proto = 6;
	f->hash = (uint32_t)flow_key_hash(seed, &f->key);
	f->seq[0] = (struct flow_seq){1000, 2000};
	f->seq[1] = (struct flow_seq){500000, 504000};
	f->seq_known = 3;
}

/* Whether a packet of connection i, from side dir, with these flags and numbers, is late. */
static int late(struct graves *g, uint32_t i, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
                uint64_t now)
{
	struct flow f;
	struct flow_probe pr;
	struct tc_packet pkt;

	connection(i, &f);
	memset(&pkt, 0, sizeof pkt);
	pr.key = f.key;
	pr.hash = f.hash;
	pr.dir = dir;
	pkt.tcp_flags = flags;
	pkt.seq = seq;
	pkt.ack = ack;
	return graves_hit(g, &pr, &pkt, now);
}

static void bury(struct graves *g, uint32_t i, uint64_t now)
{
	struct flow f;

	connection(i, &f);
	graves_add(g, &f, now);
}

static void test_late_copies(void)
{
	struct graves *g = graves_new(GRAVE_MAX, KEEP);
	uint64_t t = 1000000000;

	bury(g, 7, t);
	CHECK(late(g, 7, 0, TC_TCP_ACK, 1500, 500100, t + 1000));    /* a copy of a segment */
	CHECK(late(g, 7, 1, TC_TCP_ACK, 503000, 2000, t + 1000));    /* the server's */
	CHECK(!late(g, 8, 0, TC_TCP_ACK, 1500, 500100, t + 1000));   /* another connection */
	CHECK(!late(g, 7, 0, TC_TCP_ACK, 1500 + (3u << 20), 0, t));  /* far outside its space */
	CHECK(late(g, 7, 0, TC_TCP_SYN, 1000, 0, t + 1000));         /* a copy of the SYN */
	CHECK(!late(g, 7, 0, TC_TCP_ACK, 1500, 500100, t - 5000));   /* before it ended */
	CHECK(!late(g, 7, 0, TC_TCP_ACK, 1500, 500100, t + KEEP + 1)); /* kept no longer */
	CHECK(!late(g, 7, 0, TC_TCP_ACK, 1500, 500100, t + 1000));   /* and forgotten */
	CHECK_EQ(graves_count(g), 0);

	/* A SYN far from the old space: the port is reused, the grave forgotten. */
	bury(g, 9, t);
	CHECK(!late(g, 9, 0, TC_TCP_SYN, 90000000, 0, t + 1000));
	CHECK(!late(g, 9, 0, TC_TCP_ACK, 1500, 500100, t + 2000));
	/* Buried twice: still known. */
	bury(g, 10, t);
	bury(g, 10, t + 10);
	CHECK(late(g, 10, 0, TC_TCP_ACK, 1500, 500100, t + 20));
	graves_free(g);
}

/* Graves of 1 to 40 connections buried at once: each is found, and forgotten, wherever it is
 * in the order of burial. */
static void test_queue(void)
{
	struct graves *g = graves_new(GRAVE_MAX, KEEP);
	uint64_t t = 1000000000;

	for (uint32_t n = 1; n <= 40; n++) { /* every place in a batch, and past two */
		for (uint32_t i = 0; i < n; i++)
			bury(g, 1000 * n + i, t);
		for (uint32_t i = 0; i < n; i++)
			CHECK(late(g, 1000 * n + i, 1, TC_TCP_ACK, 503000, 2000, t + 10));
		/* the first and the last forgotten by a new SYN, the rest still known */
		CHECK(!late(g, 1000 * n, 0, TC_TCP_SYN, 90000000, 0, t + 20));
		CHECK(!late(g, 1000 * n, 0, TC_TCP_ACK, 1500, 500100, t + 30));
		if (n > 1) {
			CHECK(!late(g, 1000 * n + n - 1, 0, TC_TCP_SYN, 90000000, 0, t + 20));
			CHECK(!late(g, 1000 * n + n - 1, 0, TC_TCP_ACK, 1500, 500100, t + 30));
		}
		if (n > 2)
			CHECK(late(g, 1000 * n + n / 2, 0, TC_TCP_ACK, 1500, 500100, t + 30));
	}
	/* and what was forgotten stays forgotten once its batch went in */
	for (uint32_t n = 1; n <= 40; n++) {
		CHECK(!late(g, 1000 * n, 0, TC_TCP_ACK, 1500, 500100, t + 40));
		if (n > 1)
			CHECK(!late(g, 1000 * n + n - 1, 0, TC_TCP_ACK, 1500, 500100, t + 40));
		if (n > 2)
			CHECK(late(g, 1000 * n + n / 2, 0, TC_TCP_ACK, 1500, 500100, t + 40));
	}
	/* Buried again, twenty burials later, in another sequence space: the newer grave
	 * answers, the older one no more. */
	struct flow f;
	connection(77, &f);
	graves_add(g, &f, t);
	for (uint32_t i = 0; i < 20; i++)
		bury(g, 90000 + i, t);
	f.seq[0] = (struct flow_seq){70000000, 70001000};
	graves_add(g, &f, t + 100);
	CHECK(late(g, 77, 0, TC_TCP_ACK, 70000500, 0, t + 200));
	CHECK(!late(g, 77, 0, TC_TCP_ACK, 1500, 0, t + 200));
	graves_free(g);
}

/* Within the time kept, the table grows to hold every grave, and loses almost none below three
 * quarters of its bound (one burial a millisecond, 49,152 of them, all kept: at most one in
 * 10,000); past its bound it holds no more, keeps the newest, and has forgotten the oldest. */
static void test_bound(void)
{
	struct graves *g = graves_new(GRAVE_MAX, KEEP);
	uint64_t t = 1000000000, ms = 1000;
	uint32_t n = GRAVE_MAX / 4 * 3, found = 0;

	for (uint32_t i = 0; i < n; i++)
		bury(g, i, t + i * ms);
	for (uint32_t i = 0; i < n; i++)
		found += (uint32_t)late(g, i, 0, TC_TCP_ACK, 1500, 500100, t + n * ms);
	CHECK(found >= n - n / 10000); /* two choices of eight: a set overflows very rarely */
	CHECK(graves_capacity(g) >= n && graves_capacity(g) <= GRAVE_MAX); /* it grew */

	for (uint32_t i = n; i < 2 * GRAVE_MAX; i++)
		bury(g, i, t + i * ms);
	CHECK(graves_count(g) <= GRAVE_MAX);
	CHECK_EQ(graves_capacity(g), GRAVE_MAX);
	uint32_t newest = 0, oldest = 0;
	uint64_t now = t + 2 * GRAVE_MAX * ms;
	for (uint32_t i = 2 * GRAVE_MAX - GRAVE_MAX / 2; i < 2 * GRAVE_MAX; i++)
		newest += (uint32_t)late(g, i, 0, TC_TCP_ACK, 1500, 500100, now);
	for (uint32_t i = 0; i < GRAVE_MAX / 2; i++)
		oldest += (uint32_t)late(g, i, 0, TC_TCP_ACK, 1500, 500100, now);
	CHECK(newest >= GRAVE_MAX / 2 * 99 / 100);
	CHECK(oldest <= GRAVE_MAX / 2 / 100);
	graves_free(g);

	/* A grave forgotten (a new SYN on its ports) leaves room that the next burials take;
	 * the graves before them stay. */
	g = graves_new(GRAVE_MAX, KEEP);
	n = GRAVE_MAX / 2;
	for (uint32_t i = 0; i < n; i++)
		bury(g, i, t + i * ms);
	for (uint32_t i = 0; i < n; i += 2) /* half of them forgotten */
		late(g, i, 0, TC_TCP_SYN, 90000000, 0, t + n * ms);
	CHECK_EQ(graves_count(g), n / 2);
	for (uint32_t i = 0; i < n; i++)
		bury(g, n + i, t + (n + i) * ms);
	CHECK(graves_count(g) <= n / 2 + n);
	found = 0;
	for (uint32_t i = 1; i < n; i += 2)
		found += (uint32_t)late(g, i, 0, TC_TCP_ACK, 1500, 500100, t + 2 * n * ms);
	CHECK(found >= n / 2 - n / 2 / 10000);
	for (uint32_t i = 0; i < n; i += 2)
		CHECK(!late(g, i, 0, TC_TCP_ACK, 1500, 500100, t + 2 * n * ms));
	graves_free(g);
}

/* Graves past their time make room whatever the gap: 40,000 connections, then 40,000 more a
 * month later (captures of different days read in one run). A burial time kept in 32-bit
 * milliseconds read the month-old graves as newer than the new ones (the difference wraps
 * past 24 days), kept them, and lost new ones: the workers test caught it on the corpus. */
static void test_gap(void)
{
	struct graves *g = graves_new(GRAVE_MAX, KEEP);
	uint64_t t = 1000000000000000ull, month = 30ull * 86400 * 1000000, ms = 1000;
	uint32_t n = 40000, found = 0;

	for (uint32_t i = 0; i < n; i++)
		bury(g, i, t + i * ms);
	for (uint32_t i = 0; i < n; i++)
		bury(g, n + i, t + month + i * ms);
	for (uint32_t i = 0; i < n; i++)
		found += (uint32_t)late(g, n + i, 0, TC_TCP_ACK, 1500, 500100, t + month + n * ms);
	CHECK(found >= n - n / 10000);
	for (uint32_t i = 0; i < n; i += 997)
		CHECK(!late(g, i, 0, TC_TCP_ACK, 1500, 500100, t + month + n * ms));
	graves_free(g);
}

/* Every grave the ring holds is found, however many burials came before: the last GRAVE_MAX
 * of 3 * GRAVE_MAX + 1234, and none of the ones before them; and, at each size the ring grows
 * through, the last burials up to that size. (graves_hit first asks a filter of the hashes
 * buried lately, which must never say no for a grave still held.) */
static void test_all_held_found(void)
{
	struct graves *g = graves_new(GRAVE_MAX, KEEP);
	uint64_t t = 1000000000;
	uint32_t total = 3 * GRAVE_MAX + 1234, found = 0, old = 0;

	for (uint32_t i = 0; i < total; i++) {
		bury(g, i, t);
		/* at each doubling, everything so far */
		if (i + 1 == 1024 || i + 1 == 4096 || i + 1 == GRAVE_MAX / 2 + 1) {
			uint32_t k = 0;
			for (uint32_t j = 0; j <= i; j++)
				k += (uint32_t)late(g, j, 1, TC_TCP_ACK, 503000, 2000, t + 10);
			CHECK_EQ(k, i + 1);
		}
	}
	CHECK_EQ(graves_capacity(g), GRAVE_MAX);
	for (uint32_t i = total - GRAVE_MAX; i < total; i++)
		found += (uint32_t)late(g, i, 1, TC_TCP_ACK, 503000, 2000, t + 10);
	CHECK_EQ(found, GRAVE_MAX);
	for (uint32_t i = total - 2 * GRAVE_MAX; i < total - GRAVE_MAX; i++)
		old += (uint32_t)late(g, i, 1, TC_TCP_ACK, 503000, 2000, t + 10);
	CHECK_EQ(old, 0);
	graves_free(g);
}

int main(void)
{
	test_late_copies();
	test_queue();
	test_bound();
	test_gap();
	test_all_held_found();
	TEST_DONE("grave");
}
