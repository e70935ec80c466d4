/*
 * test_defrag.c: IPv4 and IPv6 fragment reassembly, from frames built here byte by byte and
 * cut into fragments in order, reversed, repeated, overlapping, lost, tiny and outsized, bare
 * and inside VXLAN or GRE, through tc_decode and defrag_add, the way census_frame drives them.
 * Each frame goes through an exact-size heap copy freed right after, so a sanitizer or
 * valgrind catches a read past it or a pointer kept into it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defrag.h"
#include "tlscensus/packet.h"
#include "tc_test.h"

#define LINK_ETHER 1
#define LINK_RAW   101
#define SEC        1000000ULL

/* ---- byte builder ---- */

struct buf {
	uint8_t b[70000];
	size_t n;
};

static void put8(struct buf *f, unsigned v)
{
	if (f->n >= sizeof(f->b)) {
		fprintf(stderr, "frame too long\n");
		exit(2);
	}
	f->b[f->n++] = (uint8_t)v;
}

static void put16(struct buf *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v);
}

static void put32(struct buf *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v);
}

static void put_bytes(struct buf *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, p[i]);
}

static void set16(struct buf *f, size_t off, unsigned v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static uint16_t checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void eth(struct buf *f, unsigned type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

	put_bytes(f, macs, sizeof(macs));
	put16(f, type);
}

/* An IPv4 header; total length and checksum are set by ipv4_close. */
static size_t ipv4(struct buf *f, unsigned proto, unsigned id, unsigned frag, const uint8_t src[4],
                   const uint8_t dst[4])
{
	size_t off = f->n;

	put8(f, 0x45);
	put8(f, 0);
	put16(f, 0);
	put16(f, id);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put_bytes(f, src, 4);
	put_bytes(f, dst, 4);
	return off;
}

static void ipv4_close(struct buf *f, size_t off)
{
	set16(f, off + 2, f->n - off);
	set16(f, off + 10, 0);
	set16(f, off + 10, checksum(f->b + off, 20));
}

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 2};
static const uint8_t OUT_SRC4[4] = {10, 0, 0, 1}, OUT_DST4[4] = {10, 0, 0, 2};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 131 + 7);
}

static void tcp(struct buf *f, size_t payload_len)
{
	put16(f, 40000);
	put16(f, 443);
	put32(f, 1000);
	put32(f, 2000);
	put8(f, 5 << 4);
	put8(f, 0x18);
	put16(f, 65535);
	put32(f, 0);
	for (size_t i = 0; i < payload_len; i++)
		put8(f, pattern(i));
}

/* A whole IPv4/TCP datagram with payload_len bytes of pattern. */
static void dgram4(struct buf *f, unsigned id, size_t payload_len)
{
	size_t off;

	f->n = 0;
	off = ipv4(f, 6, id, 0, SRC4, DST4);
	tcp(f, payload_len);
	ipv4_close(f, off);
}

/* IPv6, with hbh an 8-byte hop-by-hop header of PadN, then TCP. */
static void dgram6(struct buf *f, size_t payload_len, int hbh)
{
	f->n = 0;
	put32(f, 0x60000000);
	put16(f, 0);
	put8(f, hbh ? 0 : 6);
	put8(f, 64);
	put_bytes(f, SRC6, 16);
	put_bytes(f, DST6, 16);
	if (hbh) {
		put8(f, 6);
		put8(f, 0);
		put8(f, 1);
		put8(f, 4);
		put32(f, 0);
	}
	tcp(f, payload_len);
	set16(f, 4, f->n - 40);
}

/* Fragment [off, off + len) of the fragmentable part of the IPv4 datagram d (20-byte header)
 * as a raw IP packet appended to f; data, when given, replaces the datagram's bytes. */
static void frag4(struct buf *f, const struct buf *d, size_t off, size_t len, int more,
                  const uint8_t *data)
{
	size_t start = f->n;

	put_bytes(f, d->b, 20);
	set16(f, start + 6, (more ? 0x2000 : 0) | (unsigned)(off / 8));
	put_bytes(f, data ? data : d->b + 20 + off, len);
	ipv4_close(f, start);
}

/* The same for IPv6: the unfragmentable part is the first unfrag bytes of d (the header, with
 * any extension headers before the fragment header). */
static void frag6(struct buf *f, const struct buf *d, size_t unfrag, uint32_t id, size_t off,
                  size_t len, int more, const uint8_t *data)
{
	size_t start = f->n;
	/* The byte that names what follows the unfragmentable part: next header of the IPv6
	 * header, or of the last extension header. */
	size_t nh = unfrag == 40 ? 6 : 40;

	put_bytes(f, d->b, unfrag);
	f->b[start + nh] = 44;
	put8(f, d->b[nh]);
	put8(f, 0);
	put16(f, (unsigned)off | (more ? 1 : 0));
	put32(f, id);
	put_bytes(f, data ? data : d->b + unfrag + off, len);
	set16(f, start + 4, f->n - start - 40);
}

/* ---- driving ---- */

static uint8_t *copy_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (!c) {
		perror("malloc");
		exit(2);
	}
	memcpy(c, p, n);
	return c;
}

/* One captured frame through decode and, as a fragment, into the table; a completed datagram
 * is decoded again, and fed back when it is itself a fragment (a fragmented inner packet
 * inside a fragmented tunnel), as census_frame does. Returns what the last defrag_add said
 * (2: not a fragment at all); *pkt holds the final decode, valid until the next call. */
static int feed(struct defrag *d, int link, const struct buf *frame, uint64_t ts,
                struct tc_packet *pkt, enum tc_decode_status *st)
{
	uint8_t *p = copy_exact(frame->b, frame->n);
	uint8_t *out;
	size_t outlen;
	int r = 2;

	*st = tc_decode(link, p, frame->n, pkt);
	for (int depth = 0; *st == TC_DEC_FRAGMENT && depth < 2; depth++) {
		r = defrag_add(d, pkt, ts, &out, &outlen);
		if (r != 1)
			break;
		*st = tc_decode(LINK_RAW, out, outlen, pkt);
	}
	free(p);
	return r;
}

/* The reassembled datagram is byte for byte the one that was cut (our datagrams carry flags
 * 0, so even the rebuilt IPv4 checksum matches), and decodes to the TCP segment. */
static void check_whole(const char *name, int r, const struct tc_packet *pkt,
                        enum tc_decode_status st, const struct buf *orig, size_t payload_len)
{
	int failed = tc_failed;

	CHECK_EQ(r, 1);
	CHECK_EQ(st, TC_DEC_OK);
	if (r == 1 && st == TC_DEC_OK) {
		CHECK_EQ(pkt->l3_len, orig->n);
		CHECK(pkt->l3_len == orig->n && memcmp(pkt->l3, orig->b, orig->n) == 0);
		CHECK_EQ(pkt->proto, 6);
		CHECK_EQ(pkt->sport, 40000);
		CHECK_EQ(pkt->dport, 443);
		CHECK_EQ(pkt->seq, 1000);
		CHECK_EQ(pkt->payload_len, payload_len);
		for (size_t i = 0; i < pkt->payload_len && i < payload_len; i++)
			if (pkt->payload[i] != pattern(i)) {
				CHECK_EQ(pkt->payload[i], pattern(i));
				break;
			}
	}
	if (tc_failed != failed)
		fprintf(stderr, "  in case: %s\n", name);
}

/* Cuts orig (IPv4, 20-byte header) into pieces of piece bytes and returns them as frames. */
static size_t cut4(struct buf *frames, size_t max, const struct buf *orig, size_t piece, int ether)
{
	size_t data = orig->n - 20, n = 0;

	for (size_t off = 0; off < data && n < max; off += piece, n++) {
		size_t len = data - off < piece ? data - off : piece;

		frames[n].n = 0;
		if (ether)
			eth(&frames[n], 0x0800);
		frag4(&frames[n], orig, off, len, off + len < data, NULL);
	}
	return n;
}

static size_t cut6(struct buf *frames, size_t max, const struct buf *orig, size_t unfrag,
                   uint32_t id, size_t piece)
{
	size_t data = orig->n - unfrag, n = 0;

	for (size_t off = 0; off < data && n < max; off += piece, n++) {
		size_t len = data - off < piece ? data - off : piece;

		frames[n].n = 0;
		eth(&frames[n], 0x86dd);
		frag6(&frames[n], orig, unfrag, id, off, len, off + len < data, NULL);
	}
	return n;
}

static struct buf frames[1200];
static struct buf orig, orig2, tmp;

/* ---- cases ---- */

static void test_decode_fields(void)
{
	struct tc_packet pkt;
	uint8_t *p;
	enum tc_decode_status st = TC_DEC_COUNT;
	size_t n;

	dgram4(&orig, 0x1234, 3000);
	n = cut4(frames, 8, &orig, 1480, 1);
	CHECK_EQ(n, 3);
	p = copy_exact(frames[0].b, frames[0].n);
	st = tc_decode(LINK_ETHER, p, frames[0].n, &pkt);
	CHECK_EQ(st, TC_DEC_FRAGMENT);
	CHECK_EQ(pkt.frag.ip_version, 4);
	CHECK_EQ(pkt.frag.proto, 6);
	CHECK_EQ(pkt.proto, 6);
	CHECK_EQ(pkt.frag.id, 0x1234);
	CHECK_EQ(pkt.frag.offset, 0);
	CHECK_EQ(pkt.frag.more, 1);
	CHECK(pkt.frag.hdr == p + 14);
	CHECK_EQ(pkt.frag.hdr_len, 20);
	CHECK(pkt.frag.data == p + 34);
	CHECK_EQ(pkt.frag.data_len, 1480);
	CHECK_EQ(pkt.tunnels, 0);
	free(p);
	p = copy_exact(frames[2].b, frames[2].n);
	st = tc_decode(LINK_ETHER, p, frames[2].n, &pkt);
	CHECK_EQ(st, TC_DEC_FRAGMENT);
	CHECK_EQ(pkt.frag.offset, 2960);
	CHECK_EQ(pkt.frag.more, 0);
	CHECK_EQ(pkt.frag.data_len, 60);
	free(p);

	/* A fragment cut by the snap length is never handed on as one. */
	for (size_t k = 0; k < 3; k++)
		for (size_t len = 0; len < frames[k].n; len++) {
			p = copy_exact(frames[k].b, len);
			st = tc_decode(LINK_ETHER, p, len, &pkt);
			CHECK(st != TC_DEC_FRAGMENT && st != TC_DEC_OK);
			free(p);
		}

	/* IPv6: hop-by-hop, then the fragment header. */
	dgram6(&orig, 2000, 1);
	n = cut6(frames, 8, &orig, 48, 0xdeadbeef, 1232);
	CHECK_EQ(n, 2);
	p = copy_exact(frames[1].b, frames[1].n);
	st = tc_decode(LINK_ETHER, p, frames[1].n, &pkt);
	CHECK_EQ(st, TC_DEC_FRAGMENT);
	CHECK_EQ(pkt.frag.ip_version, 6);
	CHECK_EQ(pkt.frag.proto, 6);
	CHECK_EQ(pkt.frag.id, 0xdeadbeef);
	CHECK_EQ(pkt.frag.offset, 1232);
	CHECK_EQ(pkt.frag.more, 0);
	CHECK(pkt.frag.hdr == p + 14);
	CHECK_EQ(pkt.frag.hdr_len, 48);
	CHECK_EQ(pkt.frag.nh_off, 40);
	CHECK(pkt.frag.data == p + 14 + 48 + 8);
	CHECK_EQ(pkt.frag.data_len, 2020 - 1232);
	free(p);
	for (size_t len = 0; len < frames[1].n; len++) {
		p = copy_exact(frames[1].b, len);
		st = tc_decode(LINK_ETHER, p, len, &pkt);
		CHECK(st != TC_DEC_FRAGMENT && st != TC_DEC_OK);
		free(p);
	}

	/* Without extension headers the IPv6 header names the fragment header itself. */
	dgram6(&orig, 100, 0);
	cut6(frames, 8, &orig, 40, 7, 64);
	p = copy_exact(frames[0].b, frames[0].n);
	st = tc_decode(LINK_ETHER, p, frames[0].n, &pkt);
	CHECK_EQ(st, TC_DEC_FRAGMENT);
	CHECK_EQ(pkt.frag.hdr_len, 40);
	CHECK_EQ(pkt.frag.nh_off, 6);
	CHECK_EQ(pkt.frag.more, 1);
	free(p);

	/* A packet that is no fragment says so. */
	p = copy_exact(orig.b, orig.n);
	st = tc_decode(LINK_RAW, p, orig.n, &pkt);
	CHECK_EQ(st, TC_DEC_OK);
	CHECK_EQ(pkt.frag.ip_version, 0);
	free(p);
}

static void test_ipv4_orders(void)
{
	struct defrag *d = defrag_new(64, 1 << 20, 30);
	struct tc_packet pkt;
	enum tc_decode_status st = TC_DEC_COUNT;
	size_t n;
	int r = 0;

	dgram4(&orig, 1, 3000);
	n = cut4(frames, 8, &orig, 1480, 1);

	for (size_t i = 0; i < n; i++)
		r = feed(d, LINK_ETHER, &frames[i], 1 * SEC, &pkt, &st);
	check_whole("ipv4 in order", r, &pkt, st, &orig, 3000);

	for (size_t i = n; i-- > 0;)
		r = feed(d, LINK_ETHER, &frames[i], 2 * SEC, &pkt, &st);
	check_whole("ipv4 reversed", r, &pkt, st, &orig, 3000);

	/* middle, first, first again, middle again, last */
	CHECK_EQ(feed(d, LINK_ETHER, &frames[1], 3 * SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[0], 3 * SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[0], 3 * SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[1], 3 * SEC, &pkt, &st), 0);
	r = feed(d, LINK_ETHER, &frames[2], 3 * SEC, &pkt, &st);
	check_whole("ipv4 duplicated", r, &pkt, st, &orig, 3000);
	CHECK_EQ(defrag_stats(d)->duplicates, 2);
	CHECK_EQ(defrag_stats(d)->overlaps, 0);

	/* 8-byte pieces in a scrambled order: 3020 bytes, 378 fragments. */
	n = cut4(frames, 1200, &orig, 8, 0);
	CHECK_EQ(n, 378);
	r = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = (i * 97) % n; /* 97 and 378 are coprime: a permutation */
		r = feed(d, LINK_RAW, &frames[k], 4 * SEC, &pkt, &st);
		if (i + 1 < n)
			CHECK_EQ(r, 0);
	}
	check_whole("ipv4 tiny", r, &pkt, st, &orig, 3000);

	CHECK_EQ(defrag_stats(d)->reassembled, 4);
	CHECK_EQ(defrag_stats(d)->dropped, 0);
	CHECK_EQ(defrag_stats(d)->datagrams, 0);
	CHECK_EQ(defrag_stats(d)->bytes, 0);
	defrag_free(d);
}

/* IPv4 overlaps: the bytes that arrived first win, whichever fragment carried them. */
static void test_ipv4_overlap(void)
{
	struct defrag *d = defrag_new(64, 1 << 20, 30);
	struct tc_packet pkt;
	enum tc_decode_status st = TC_DEC_COUNT;
	uint8_t junk[1480];
	int r = 0;

	memset(junk, 0xee, sizeof(junk));
	dgram4(&orig, 2, 3000);
	/* [0,1480) good, [1000,2480) junk, [2480,3020) good: the junk shows only in
	 * [1480, 2480). */
	tmp.n = 0;
	frag4(&tmp, &orig, 0, 1480, 1, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);
	tmp.n = 0;
	frag4(&tmp, &orig, 1000, 1480, 1, junk);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);
	tmp.n = 0;
	frag4(&tmp, &orig, 2480, 540, 0, NULL);
	r = feed(d, LINK_RAW, &tmp, SEC, &pkt, &st);
	CHECK_EQ(r, 1);
	CHECK_EQ(st, TC_DEC_OK);
	CHECK_EQ(defrag_stats(d)->overlaps, 1);
	if (r == 1 && st == TC_DEC_OK) {
		CHECK_EQ(pkt.l3_len, orig.n);
		CHECK(memcmp(pkt.l3, orig.b, 20 + 1480) == 0);
		CHECK(pkt.l3[20 + 1480] == 0xee && pkt.l3[20 + 2479] == 0xee);
		CHECK(memcmp(pkt.l3 + 20 + 2480, orig.b + 20 + 2480, 540) == 0);
	}

	/* The same pieces with the junk first: it keeps its whole range. */
	tmp.n = 0;
	frag4(&tmp, &orig, 1000, 1480, 1, junk);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);
	tmp.n = 0;
	frag4(&tmp, &orig, 0, 1480, 1, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);
	tmp.n = 0;
	frag4(&tmp, &orig, 2480, 540, 0, NULL);
	r = feed(d, LINK_RAW, &tmp, SEC, &pkt, &st);
	CHECK_EQ(r, 1);
	CHECK_EQ(defrag_stats(d)->overlaps, 2);
	if (r == 1 && st == TC_DEC_OK) {
		CHECK(memcmp(pkt.l3 + 20, orig.b + 20, 1000) == 0);
		CHECK(pkt.l3[20 + 1000] == 0xee && pkt.l3[20 + 2479] == 0xee);
	}

	/* Ends that contradict each other: a second last fragment ending elsewhere, a piece
	 * beyond the end, a last fragment short of bytes held. */
	tmp.n = 0;
	frag4(&tmp, &orig, 2480, 540, 0, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);
	tmp.n = 0;
	frag4(&tmp, &orig, 2480, 536, 0, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	tmp.n = 0;
	frag4(&tmp, &orig, 2480, 544, 1, junk);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	tmp.n = 0;
	dgram4(&orig2, 3, 3000);
	frag4(&tmp, &orig2, 1480, 1480, 1, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);
	tmp.n = 0;
	frag4(&tmp, &orig2, 1000, 400, 0, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	CHECK_EQ(defrag_stats(d)->dropped, 3);
	CHECK_EQ(defrag_stats(d)->datagrams, 2);
	defrag_free(d);
}

/* One piece never comes: nothing completes, and the datagram times out 30 s (capture time)
 * after its first fragment, freeing everything. */
static void test_timeout(void)
{
	struct defrag *d = defrag_new(64, 1 << 20, 0);
	struct tc_packet pkt;
	enum tc_decode_status st = TC_DEC_COUNT;
	size_t n;

	dgram4(&orig, 4, 3000);
	n = cut4(frames, 8, &orig, 1480, 1);
	CHECK_EQ(n, 3);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[0], 100 * SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[2], 110 * SEC, &pkt, &st), 0);
	CHECK_EQ(defrag_stats(d)->datagrams, 1);
	CHECK(defrag_stats(d)->bytes > 0);

	/* Another datagram at 129.9 s: the first is still waiting. */
	dgram4(&orig2, 5, 100);
	tmp.n = 0;
	frag4(&tmp, &orig2, 0, 64, 1, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, 129 * SEC + 900000, &pkt, &st), 0);
	CHECK_EQ(defrag_stats(d)->timeouts, 0);
	CHECK_EQ(defrag_stats(d)->datagrams, 2);

	/* At 130 s it is gone; the missing piece now starts a datagram of its own. */
	CHECK_EQ(feed(d, LINK_ETHER, &frames[1], 130 * SEC, &pkt, &st), 0);
	CHECK_EQ(defrag_stats(d)->timeouts, 1);
	CHECK_EQ(defrag_stats(d)->datagrams, 2);
	CHECK_EQ(defrag_stats(d)->reassembled, 0);
	defrag_free(d);
}

static void test_ipv6(void)
{
	struct defrag *d = defrag_new(64, 1 << 20, 30);
	struct tc_packet pkt;
	enum tc_decode_status st = TC_DEC_COUNT;
	uint8_t junk[1232];
	size_t n;
	int r = 0;

	/* with a hop-by-hop header before the fragment header */
	dgram6(&orig, 3000, 1);
	n = cut6(frames, 8, &orig, 48, 77, 1232);
	CHECK_EQ(n, 3);
	for (size_t i = 0; i < n; i++)
		r = feed(d, LINK_ETHER, &frames[i], SEC, &pkt, &st);
	check_whole("ipv6 hbh in order", r, &pkt, st, &orig, 3000);
	for (size_t i = n; i-- > 0;)
		r = feed(d, LINK_ETHER, &frames[i], SEC, &pkt, &st);
	check_whole("ipv6 hbh reversed", r, &pkt, st, &orig, 3000);
	CHECK_EQ(pkt.ip_version, 6);

	/* An exact repeat is not an overlap (RFC 8200 4.5). */
	CHECK_EQ(feed(d, LINK_ETHER, &frames[0], SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[0], SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[2], SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[2], SEC, &pkt, &st), 0);
	r = feed(d, LINK_ETHER, &frames[1], SEC, &pkt, &st);
	check_whole("ipv6 duplicated", r, &pkt, st, &orig, 3000);
	CHECK_EQ(defrag_stats(d)->duplicates, 2);

	/* without extension headers, tiny pieces */
	dgram6(&orig, 500, 0);
	n = cut6(frames, 1200, &orig, 40, 78, 8);
	CHECK_EQ(n, 65);
	for (size_t i = n; i-- > 0;)
		r = feed(d, LINK_ETHER, &frames[i], SEC, &pkt, &st);
	check_whole("ipv6 tiny", r, &pkt, st, &orig, 500);

	/* RFC 5722: an overlap discards the datagram, pieces still to come included. */
	memset(junk, 0xee, sizeof(junk));
	dgram6(&orig, 3000, 1);
	n = cut6(frames, 8, &orig, 48, 79, 1232);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[0], 2 * SEC, &pkt, &st), 0);
	tmp.n = 0;
	eth(&tmp, 0x86dd);
	frag6(&tmp, &orig, 48, 79, 616, 1232, 1, junk);
	CHECK_EQ(feed(d, LINK_ETHER, &tmp, 2 * SEC, &pkt, &st), -1);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[1], 2 * SEC, &pkt, &st), -1);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[2], 2 * SEC, &pkt, &st), -1);
	CHECK_EQ(defrag_stats(d)->overlaps, 1);
	CHECK_EQ(defrag_stats(d)->discarded, 1);
	CHECK_EQ(defrag_stats(d)->dropped, 3);
	/* Once its time is up the key is free again, and the datagram can come whole. */
	for (size_t i = 0; i < n; i++)
		r = feed(d, LINK_ETHER, &frames[i], 40 * SEC, &pkt, &st);
	check_whole("ipv6 after discard", r, &pkt, st, &orig, 3000);
	CHECK_EQ(defrag_stats(d)->timeouts, 0);
	CHECK_EQ(defrag_stats(d)->datagrams, 0);
	defrag_free(d);
}

/* Ethernet / IPv4 / UDP 4789 / VXLAN / Ethernet, then whatever inner holds. */
static void vxlan_wrap(struct buf *f, const struct buf *inner, unsigned outer_id)
{
	size_t ip, udp;

	f->n = 0;
	eth(f, 0x0800);
	ip = ipv4(f, 17, outer_id, 0, OUT_SRC4, OUT_DST4);
	udp = f->n;
	put16(f, 51000);
	put16(f, 4789);
	put16(f, 0);
	put16(f, 0);
	put8(f, 0x08);
	put8(f, 0);
	put16(f, 0);
	put32(f, 0x00123400);
	eth(f, 0x0800);
	put_bytes(f, inner->b, inner->n);
	set16(f, udp + 4, f->n - udp);
	ipv4_close(f, ip);
}

static void test_tunnels(void)
{
	struct defrag *d = defrag_new(64, 1 << 20, 30);
	struct tc_packet pkt;
	enum tc_decode_status st = TC_DEC_COUNT;
	struct buf *piece = &tmp;
	size_t n, ip;
	int r = 0;

	/* The inner IPv4 fragmented inside VXLAN. */
	dgram4(&orig, 9, 3000);
	for (size_t off = 0, i = 0; off < 3020; off += 1480, i++) {
		size_t len = 3020 - off < 1480 ? 3020 - off : 1480;

		piece->n = 0;
		frag4(piece, &orig, off, len, off + len < 3020, NULL);
		vxlan_wrap(&frames[i], piece, 100 + (unsigned)i);
		n = i + 1;
	}
	CHECK_EQ(n, 3);
	r = feed(d, LINK_ETHER, &frames[1], SEC, &pkt, &st);
	CHECK_EQ(r, 0);
	CHECK_EQ(pkt.tunnels, 1);
	CHECK_EQ(pkt.frag.ip_version, 4);
	CHECK_EQ(pkt.frag.offset, 1480);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[2], SEC, &pkt, &st), 0);
	r = feed(d, LINK_ETHER, &frames[0], SEC, &pkt, &st);
	check_whole("vxlan inner fragments", r, &pkt, st, &orig, 3000);

	/* The carrier fragmented: reassembling the outer IPv4 gives back the whole tunnel. */
	dgram4(&orig, 10, 2000);
	vxlan_wrap(&orig2, &orig, 200); /* Ethernet + outer datagram */
	memmove(orig2.b, orig2.b + 14, orig2.n - 14);
	orig2.n -= 14;
	n = cut4(frames, 8, &orig2, 1400, 1);
	CHECK_EQ(n, 2);
	r = feed(d, LINK_ETHER, &frames[1], SEC, &pkt, &st);
	CHECK_EQ(r, 0);
	CHECK_EQ(pkt.tunnels, 0);
	CHECK_EQ(pkt.frag.proto, 17);
	r = feed(d, LINK_ETHER, &frames[0], SEC, &pkt, &st);
	CHECK_EQ(r, 1);
	CHECK_EQ(st, TC_DEC_OK);
	CHECK_EQ(pkt.tunnels, 1);
	CHECK_EQ(pkt.sport, 40000);
	CHECK_EQ(pkt.dport, 443);
	CHECK_EQ(pkt.payload_len, 2000);
	CHECK(pkt.l3_len == orig.n && memcmp(pkt.l3, orig.b, orig.n) == 0);

	/* GRE carrier (RFC 2784, IPv4 inside) fragmented the same way. */
	dgram4(&orig, 11, 2500);
	orig2.n = 0;
	ip = ipv4(&orig2, 47, 300, 0, OUT_SRC4, OUT_DST4);
	put16(&orig2, 0);
	put16(&orig2, 0x0800);
	put_bytes(&orig2, orig.b, orig.n);
	ipv4_close(&orig2, ip);
	n = cut4(frames, 8, &orig2, 1000, 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(feed(d, LINK_RAW, &frames[2], SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_RAW, &frames[0], SEC, &pkt, &st), 0);
	r = feed(d, LINK_RAW, &frames[1], SEC, &pkt, &st);
	CHECK_EQ(r, 1);
	CHECK_EQ(st, TC_DEC_OK);
	CHECK_EQ(pkt.tunnels, 1);
	CHECK(pkt.l3_len == orig.n && memcmp(pkt.l3, orig.b, orig.n) == 0);

	/* Both: the inner datagram in two fragments, each in VXLAN, and the carrier of the
	 * second fragmented in turn. The inner fragment that comes out of the carrier lies in
	 * the table's own output buffer when it goes back in. */
	dgram4(&orig, 12, 3000);
	piece->n = 0;
	frag4(piece, &orig, 0, 1480, 1, NULL);
	vxlan_wrap(&frames[0], piece, 400);
	piece->n = 0;
	frag4(piece, &orig, 1480, 1540, 0, NULL);
	vxlan_wrap(&orig2, piece, 401);
	memmove(orig2.b, orig2.b + 14, orig2.n - 14);
	orig2.n -= 14;
	n = cut4(frames + 1, 8, &orig2, 800, 1);
	CHECK_EQ(n, 2);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[0], SEC, &pkt, &st), 0);
	CHECK_EQ(feed(d, LINK_ETHER, &frames[2], SEC, &pkt, &st), 0);
	r = feed(d, LINK_ETHER, &frames[1], SEC, &pkt, &st);
	check_whole("fragments in a fragmented carrier", r, &pkt, st, &orig, 3000);
	CHECK_EQ(defrag_stats(d)->reassembled, 5);
	CHECK_EQ(defrag_stats(d)->datagrams, 0);
	defrag_free(d);
}

/* Many incomplete datagrams: the oldest make way, and the bytes never pass the bound. */
static void test_bounds(void)
{
	const size_t bound = 64 * 1024;
	struct defrag *d = defrag_new(100000, bound, 30);
	struct tc_packet pkt;
	enum tc_decode_status st = TC_DEC_COUNT;
	size_t over = 0, n;
	int r = 0;

	for (unsigned id = 0; id < 500; id++) {
		dgram4(&orig, 1000 + id, 3000);
		tmp.n = 0;
		frag4(&tmp, &orig, id % 2 ? 0 : 1480, 1480, 1, NULL);
		feed(d, LINK_RAW, &tmp, SEC + id, &pkt, &st);
		if (defrag_stats(d)->bytes > bound)
			over++;
	}
	CHECK_EQ(over, 0);
	CHECK(defrag_stats(d)->peak_bytes <= bound);
	CHECK(defrag_stats(d)->evictions > 400);
	CHECK_EQ(defrag_stats(d)->evictions + defrag_stats(d)->datagrams, 500);
	/* A whole datagram still goes through at the bound. */
	dgram4(&orig, 7, 3000);
	n = cut4(frames, 8, &orig, 1480, 0);
	for (size_t i = 0; i < n; i++)
		r = feed(d, LINK_RAW, &frames[i], 2 * SEC, &pkt, &st);
	check_whole("ipv4 at the memory bound", r, &pkt, st, &orig, 3000);
	CHECK(defrag_stats(d)->peak_bytes <= bound);
	defrag_free(d);

	/* The datagram count bound. */
	d = defrag_new(10, 1 << 24, 30);
	for (unsigned id = 0; id < 50; id++) {
		dgram4(&orig, id, 100);
		tmp.n = 0;
		frag4(&tmp, &orig, 0, 64, 1, NULL);
		feed(d, LINK_RAW, &tmp, SEC, &pkt, &st);
		CHECK(defrag_stats(d)->datagrams <= 10);
	}
	CHECK_EQ(defrag_stats(d)->evictions, 40);
	defrag_free(d);

	/* A bound too small for one datagram refuses it and keeps nothing. */
	d = defrag_new(10, 4096, 30);
	dgram4(&orig, 8, 8000);
	n = cut4(frames, 8, &orig, 1480, 0);
	r = 0;
	for (size_t i = n; i-- > 0;) {
		r = feed(d, LINK_RAW, &frames[i], SEC, &pkt, &st);
		CHECK(defrag_stats(d)->bytes <= 4096);
	}
	CHECK(r != 1);
	CHECK_EQ(defrag_stats(d)->reassembled, 0);
	defrag_free(d);

	/* The per-datagram fragment limit: 8-byte pieces of a 9020-byte part are 1128. */
	d = defrag_new(10, 1 << 24, 30);
	dgram4(&orig, 9, 9000);
	n = cut4(frames, 1200, &orig, 8, 0);
	CHECK_EQ(n, 1128);
	r = 0;
	for (size_t i = 0; i < n; i++)
		r = feed(d, LINK_RAW, &frames[i], SEC, &pkt, &st);
	CHECK(r != 1);
	CHECK_EQ(defrag_stats(d)->discarded, 1);
	CHECK_EQ(defrag_stats(d)->dropped, n - DEFRAG_MAX_FRAGMENTS);
	CHECK_EQ(defrag_stats(d)->datagrams, 1);
	CHECK(defrag_stats(d)->bytes < 4096);
	defrag_free(d);
}

/* Lengths no datagram can have are refused before anything is kept. */
static void test_garbage(void)
{
	struct defrag *d = defrag_new(10, 1 << 20, 30);
	struct tc_packet pkt;
	enum tc_decode_status st = TC_DEC_COUNT;
	uint8_t *out;
	size_t outlen;

	/* offset 65528 + 16 bytes passes 65535 */
	dgram4(&orig, 20, 100);
	tmp.n = 0;
	frag4(&tmp, &orig, 0, 16, 0, NULL);
	set16(&tmp, 6, 65528 / 8);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	CHECK_EQ(st, TC_DEC_FRAGMENT);
	/* 65512 + 8 + the 20-byte header passes it too */
	set16(&tmp, 6, 0x2000 | 65512 / 8);
	tmp.n -= 8;
	set16(&tmp, 2, 28);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	/* 65504 + 8 + 20 fits, as a piece */
	set16(&tmp, 6, 0x2000 | 65504 / 8);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);
	/* a non-last piece that is not whole 8-byte units */
	tmp.n = 0;
	frag4(&tmp, &orig, 0, 20, 1, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	/* IPv6: the unfragmentable part counts toward the 65535 of the payload length */
	dgram6(&orig2, 100, 1);
	tmp.n = 0;
	frag6(&tmp, &orig2, 48, 5, 65520, 16, 0, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	CHECK_EQ(st, TC_DEC_FRAGMENT);
	tmp.n = 0;
	frag6(&tmp, &orig2, 48, 5, 65512, 16, 0, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), -1);
	tmp.n = 0;
	frag6(&tmp, &orig2, 48, 5, 65504, 16, 0, NULL);
	CHECK_EQ(feed(d, LINK_RAW, &tmp, SEC, &pkt, &st), 0);

	/* A description decode would never give. */
	memset(&pkt, 0, sizeof(pkt));
	pkt.frag.ip_version = 4;
	pkt.frag.hdr = orig.b;
	pkt.frag.hdr_len = 20;
	pkt.frag.data = orig.b;
	pkt.frag.data_len = (size_t)1 << 40;
	CHECK_EQ(defrag_add(d, &pkt, SEC, &out, &outlen), -1);
	CHECK(out == NULL && outlen == 0);
	pkt.frag.data_len = 8;
	pkt.frag.offset = 3; /* not a multiple of 8 */
	CHECK_EQ(defrag_add(d, &pkt, SEC, &out, &outlen), -1);
	pkt.frag.offset = 0;
	pkt.frag.ip_version = 5;
	CHECK_EQ(defrag_add(d, &pkt, SEC, &out, &outlen), -1);
	pkt.frag.ip_version = 6; /* an IPv6 header shorter than 40 bytes */
	CHECK_EQ(defrag_add(d, &pkt, SEC, &out, &outlen), -1);
	memset(&pkt, 0, sizeof(pkt)); /* not a fragment at all */
	CHECK_EQ(defrag_add(d, &pkt, SEC, &out, &outlen), -1);
	CHECK_EQ(defrag_stats(d)->dropped, 10);
	CHECK_EQ(defrag_stats(d)->fragments, 12);
	CHECK_EQ(defrag_stats(d)->datagrams, 2);
	defrag_free(d);

	/* IPv4 fragments whose header claims more than the frame holds (an outer length cut
	 * them) are not fragments to reassemble. */
	dgram4(&orig, 21, 100);
	tmp.n = 0;
	frag4(&tmp, &orig, 0, 64, 1, NULL);
	set16(&tmp, 2, 20 + 72);
	{
		uint8_t *p = copy_exact(tmp.b, tmp.n);
		CHECK_EQ(tc_decode(LINK_RAW, p, tmp.n, &pkt), TC_DEC_TRUNCATED);
		free(p);
	}
}

int main(void)
{
	test_decode_fields();
	test_ipv4_orders();
	test_ipv4_overlap();
	test_timeout();
	test_ipv6();
	test_tunnels();
	test_bounds();
	test_garbage();
	TEST_DONE("test_defrag");
}
