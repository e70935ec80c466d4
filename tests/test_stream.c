/*
 * test_stream.c: per-direction reassembly: in order, out of order, retransmitted,
 * duplicated and overlapping segments, a missed SYN, a SYN-ACK that was not used, the bound;
 * the first bytes read where the packet holds them (stream_add_view), bytes the reader is
 * done with (stream_consume), and a direction the reader is done with (stream_forget).
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

/* The first in-order segment is not copied: the view is the packet's bytes, and room is made
 * for stream_keep, after which the stream is as stream_add would have left it. */
static void test_view(void)
{
	struct stream s = {0};
	const uint8_t *view = msg + 1;

	stream_add(&s, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	CHECK_EQ(stream_add_view(&s, 100, TC_TCP_ACK, msg, 1000, BOUND, 1, &view), STREAM_GREW);
	CHECK(view == msg);
	CHECK_EQ(s.contig, 1000);
	CHECK(s.cap >= 1000);
	CHECK(s.unkept);
	stream_keep(&s, view);
	CHECK(!s.unkept);
	CHECK(same(&s, 1000));
	/* what follows is copied after it, as always */
	CHECK_EQ(stream_add_view(&s, 1100, TC_TCP_ACK, msg + 1000, 1000, BOUND, 1, &view),
	         STREAM_GREW);
	CHECK(view == NULL);
	CHECK(same(&s, 2000));
	stream_release(&s);

	/* Bytes that do not start the direction in order are copied: a segment ahead of a
	 * hole, then the hole's bytes, which join it. */
	struct stream h = {0};
	stream_add(&h, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	CHECK_EQ(stream_add_view(&h, 1100, 0, msg + 1000, 500, BOUND, 1, &view), STREAM_NOTHING);
	CHECK(view == NULL);
	CHECK_EQ(stream_add_view(&h, 100, 0, msg, 1000, BOUND, 1, &view), STREAM_GREW);
	CHECK(view == NULL);
	CHECK(same(&h, 1500));
	stream_release(&h);

	/* Without a SYN the first segment sets the base, and is a view too. */
	struct stream m = {0};
	CHECK_EQ(stream_add_view(&m, 5000, 0, msg, 700, BOUND, 1, &view), STREAM_GREW);
	CHECK(view == msg);
	stream_keep(&m, view);
	CHECK(same(&m, 700));
	stream_release(&m);
}

/* A forgotten direction keeps its offsets (contig, FIN, the bound's flag) and copies nothing:
 * its buffer does not grow. */
static void test_forget(void)
{
	struct stream s = {0};
	const uint8_t *view;

	stream_add(&s, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add_view(&s, 100, 0, msg, 300, BOUND, 1, &view);
	stream_keep(&s, view);
	stream_forget(&s);
	uint32_t cap = s.cap;
	for (uint32_t off = 300; off < BOUND; off += 1000)
		stream_add(&s, 100 + off, 0, msg, 1000, BOUND, 1);
	CHECK_EQ(s.cap, cap);
	CHECK_EQ(s.contig, BOUND);
	CHECK(s.over);
	CHECK(stream_ended(&s, BOUND));
	CHECK_EQ(s.dropped, 0);
	stream_release(&s);

	struct stream f = {0};
	stream_add(&f, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add(&f, 100, 0, msg, 200, BOUND, 1);
	stream_forget(&f);
	stream_add(&f, 400, 0, msg, 100, BOUND, 1); /* [300, 400): past a hole */
	stream_add(&f, 500, TC_TCP_FIN, NULL, 0, BOUND, 1);
	CHECK(!stream_ended(&f, BOUND));
	stream_add(&f, 300, 0, msg, 100, BOUND, 1); /* the hole */
	CHECK_EQ(f.contig, 400);
	CHECK(stream_ended(&f, BOUND));
	stream_release(&f);
}

/* buf holds msg's bytes [from, to): the stream's base is from. */
static int holds(const struct stream *s, uint32_t from, uint32_t to)
{
	return s->base == from && s->contig >= to && !memcmp(s->buf, msg + from, to - from);
}

/* The reader consumes what it read: only the rest is kept, offsets stay the direction's. */
static void test_consume(void)
{
	const uint8_t *view;

	/* A hello read where the packet holds it, all of it consumed: nothing is copied. */
	struct stream a = {0};
	stream_add(&a, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add_view(&a, 100, 0, msg, 500, BOUND, 1, &view);
	stream_consume(&a, 500);
	CHECK_EQ(a.base, 500);
	memset(a.buf, 0xee, a.cap);
	stream_keep(&a, view);
	CHECK_EQ((unsigned)a.buf[0], 0xee);
	/* Everything before it read: the next segment is a view too (a certificate chain's
	 * next piece), and what the reader did not consume of it is kept. */
	CHECK_EQ(stream_add_view(&a, 600, 0, msg + 500, 700, BOUND, 0, &view), STREAM_GREW);
	CHECK(view == msg + 500);
	CHECK_EQ(a.contig, 1200);
	stream_consume(&a, 900);
	stream_keep(&a, view);
	CHECK(holds(&a, 900, 1200));
	/* nothing goes back, nor past what arrived */
	stream_consume(&a, 800);
	stream_consume(&a, 1201);
	CHECK(holds(&a, 900, 1200));
	/* with bytes kept, the next segment is copied after them; part of them consumed, the
	 * rest moves to the front */
	CHECK_EQ(stream_add_view(&a, 1300, 0, msg + 1200, 100, BOUND, 0, &view), STREAM_GREW);
	CHECK(view == NULL);
	CHECK(holds(&a, 900, 1300));
	stream_consume(&a, 1000);
	CHECK(holds(&a, 1000, 1300));
	stream_release(&a);

	/* Part of a view consumed: the rest of it is kept. */
	struct stream b = {0};
	stream_add(&b, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add_view(&b, 100, 0, msg, 1000, BOUND, 1, &view);
	stream_consume(&b, 600);
	stream_keep(&b, view);
	CHECK(holds(&b, 600, 1000));
	stream_add(&b, 1100, 0, msg + 1000, 300, BOUND, 0);
	CHECK(holds(&b, 600, 1300));
	stream_release(&b);

	/* A range held past a hole moves with the kept bytes; then the hole fills; a
	 * retransmission across the consumed part places only what is new. */
	struct stream c = {0};
	stream_add(&c, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add(&c, 100, 0, msg, 800, BOUND, 0);
	stream_add(&c, 1100, 0, msg + 1000, 500, BOUND, 0); /* [1000, 1500) */
	stream_consume(&c, 700);
	CHECK_EQ(c.contig, 800);
	stream_add(&c, 100 + 400, 0, msg + 400, 600, BOUND, 0); /* [400, 1000): 200 new */
	CHECK(holds(&c, 700, 1500));
	CHECK_EQ(c.n_ranges, 0);
	stream_release(&c);

	/* After a consume nothing rebases: bytes from before offset 0 are cut off. */
	struct stream d = {0};
	stream_add(&d, 5000, 0, msg + 100, 400, BOUND, 1); /* no SYN: the base is a guess */
	stream_consume(&d, 300);
	CHECK_EQ(stream_add(&d, 4900, 0, msg, 200, BOUND, 1), STREAM_NOTHING);
	CHECK_EQ(d.contig, 400);
	CHECK_EQ(d.base, 300);
	CHECK(!memcmp(d.buf, msg + 400, 100));
	stream_release(&d);

	/* The bound stays on offsets: the opening is as long as before, with less kept. */
	static uint8_t big[BOUND + 100];
	struct stream e = {0};
	stream_add(&e, 99, TC_TCP_SYN, NULL, 0, BOUND, 1);
	stream_add(&e, 100, 0, big, 1000, BOUND, 0);
	CHECK_EQ(e.cap, 2048);
	stream_consume(&e, 1000);
	stream_add(&e, 1100, 0, msg + 1000, 2000, BOUND, 0);
	CHECK(holds(&e, 1000, 3000));
	CHECK_EQ(e.cap, 2048); /* room for what is kept, not for [0, 3000) */
	stream_consume(&e, 3000);
	stream_add(&e, 3100, 0, big, BOUND, BOUND, 0);
	CHECK_EQ(e.contig, BOUND);
	CHECK(e.over);
	CHECK(stream_ended(&e, BOUND));
	CHECK_EQ(e.cap, 2048);
	stream_release(&e);
}

int main(void)
{
	fill();
	test_consume();
	test_view();
	test_forget();
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
