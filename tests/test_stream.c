/*
 * test_stream.c: per-direction reassembly: in order, out of order, retransmitted,
 * duplicated and overlapping segments, a missed SYN, a SYN-ACK that was not used, the bound.
 */
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "tc_test.h"
#include "tlscensus/packet.h"

#define BOUND 4096

static uint8_t msg[3000];

static void fill(void)
{
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
}

static int same(const struct stream *s, size_t n)
{
	return s->contig >= n && !memcmp(s->buf, msg, n);
}

static void test_in_order(void)
{
	struct stream s = {0};

	CHECK_EQ(stream_add(&s, 1000, TC_TCP_SYN, NULL, 0, BOUND, 1), STREAM_NOTHING);
	CHECK_EQ(stream_add(&s, 1001, TC_TCP_ACK, msg, 1000, BOUND, 1), STREAM_GREW);
	CHECK_EQ(stream_add(&s, 2001, TC_TCP_ACK, msg + 1000, 1000, BOUND, 1), STREAM_GREW);
	CHECK(same(&s, 2000));
	CHECK(!stream_ended(&s, BOUND));
	CHECK_EQ(stream_add(&s, 3001, TC_TCP_FIN | TC_TCP_ACK, NULL, 0, BOUND, 1), STREAM_NOTHING);
	CHECK(stream_ended(&s, BOUND));
	stream_release(&s);
}

static void test_out_of_order_and_retransmit(void)
{
	struct stream s = {0};

	stream_add(&s, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	CHECK_EQ(stream_add(&s, 100 + 2000, 0, msg + 2000, 1000, BOUND, 1), STREAM_NOTHING);
	CHECK_EQ(stream_add(&s, 100 + 1000, 0, msg + 1000, 1000, BOUND, 1), STREAM_NOTHING);
	CHECK_EQ(s.contig, 0);
	CHECK_EQ(stream_add(&s, 100, 0, msg, 1000, BOUND, 1), STREAM_GREW);
	CHECK(same(&s, 3000));
	CHECK_EQ(s.n_ranges, 0);
	/* A retransmission with other bytes does not rewrite what arrived first. */
	uint8_t junk[500];
	memset(junk, 0xee, sizeof(junk));
	CHECK_EQ(stream_add(&s, 100 + 200, 0, junk, sizeof(junk), BOUND, 1), STREAM_NOTHING);
	CHECK(same(&s, 3000));
	stream_release(&s);
}

static void test_overlaps(void)
{
	struct stream s = {0};

	stream_add(&s, 0, TC_TCP_SYN, NULL, 0, BOUND, 1);
	/* [500,1500) then [1000,2000) then [0,700) then [1900,3000). */
	stream_add(&s, 1 + 500, 0, msg + 500, 1000, BOUND, 1);
	stream_add(&s, 1 + 1000, 0, msg + 1000, 1000, BOUND, 1);
	CHECK_EQ(s.n_ranges, 1);
	CHECK_EQ(stream_add(&s, 1, 0, msg, 700, BOUND, 1), STREAM_GREW);
	CHECK_EQ(s.contig, 2000);
	stream_add(&s, 1 + 1900, 0, msg + 1900, 1100, BOUND, 1);
	CHECK(same(&s, 3000));
	stream_release(&s);
}

static void test_missed_syn(void)
{
	struct stream s = {0};

	/* The span port shows the second segment first: offset 0 moves back when the first
	 * arrives. */
	CHECK_EQ(stream_add(&s, 5000 + 1460, TC_TCP_ACK, msg + 1460, 1000, BOUND, 1), STREAM_GREW);
	CHECK_EQ(stream_add(&s, 5000, TC_TCP_ACK, msg, 1460, BOUND, 1), STREAM_REBASED);
	CHECK(same(&s, 2460));
	stream_release(&s);

	/* Once bytes were consumed (may_rebase 0), earlier bytes are dropped instead. */
	struct stream t = {0};
	stream_add(&t, 5000 + 1460, TC_TCP_ACK, msg + 1460, 1000, BOUND, 0);
	CHECK_EQ(stream_add(&t, 5000, TC_TCP_ACK, msg, 1460, BOUND, 0), STREAM_NOTHING);
	CHECK_EQ(t.contig, 1000);
	stream_release(&t);
}

static void test_unused_synack(void)
{
	struct stream s = {0};

	/* Two SYN-ACKs with different ISNs; the data follows the second. */
	stream_add(&s, 3212050950u, TC_TCP_SYN | TC_TCP_ACK, NULL, 0, BOUND, 1);
	stream_add(&s, 97572840u, TC_TCP_SYN | TC_TCP_ACK, NULL, 0, BOUND, 1);
	stream_add(&s, 3212050950u, TC_TCP_SYN | TC_TCP_ACK, NULL, 0, BOUND, 1);
	CHECK_EQ(stream_add(&s, 97572841u, TC_TCP_ACK, msg, 1440, BOUND, 1), STREAM_GREW);
	CHECK(same(&s, 1440));
	stream_release(&s);
}

static void test_fast_open(void)
{
	struct stream s = {0};

	/* Data on the SYN, then the same data retransmitted after the handshake. */
	CHECK_EQ(stream_add(&s, 700, TC_TCP_SYN, msg, 517, BOUND, 1), STREAM_GREW);
	CHECK_EQ(stream_add(&s, 701, TC_TCP_ACK, msg, 517, BOUND, 1), STREAM_NOTHING);
	CHECK(same(&s, 517));
	CHECK_EQ(s.contig, 517);
	stream_release(&s);
}

static void test_bound_and_holes(void)
{
	static uint8_t big[BOUND + 100];
	struct stream s = {0};

	stream_add(&s, 0, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add(&s, 1, 0, big, sizeof(big), BOUND, 1);
	CHECK_EQ(s.contig, BOUND);
	CHECK(s.over);
	CHECK(stream_ended(&s, BOUND));
	CHECK(s.cap <= BOUND);
	stream_release(&s);

	struct stream h = {0};
	stream_add(&h, 0, TC_TCP_SYN, NULL, 0, BOUND, 1);
	for (int i = 0; i < STREAM_MAX_HOLES + 2; i++)
		stream_add(&h, 1 + 10 + (uint32_t)i * 20, 0, msg, 5, BOUND, 1);
	CHECK_EQ(h.n_ranges, STREAM_MAX_HOLES);
	CHECK_EQ(h.dropped, 2);
	stream_release(&h);
}

static void test_sequence_wrap(void)
{
	struct stream s = {0};

	stream_add(&s, 0xfffffc00u, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add(&s, 0xfffffc01u + 1000, 0, msg + 1000, 2000, BOUND, 1);
	CHECK_EQ(stream_add(&s, 0xfffffc01u, 0, msg, 1000, BOUND, 1), STREAM_GREW);
	CHECK(same(&s, 3000));
	stream_release(&s);
}

int main(void)
{
	fill();
	test_in_order();
	test_out_of_order_and_retransmit();
	test_overlaps();
	test_missed_syn();
	test_unused_synack();
	test_fast_open();
	test_bound_and_holes();
	test_sequence_wrap();
	TEST_DONE("stream");
}
