/*
 * test_decode.c: the decode room and the address text helpers, tested on frames built here
 * byte by byte for every link type and encapsulation tc_decode claims. Each frame is also fed
 * at every shorter length through an exact-size heap copy, so a sanitizer or valgrind catches
 * any read past the captured bytes. Prints each failed check and one summary line.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlscensus/packet.h"
#include "addr.h"
#include "pcapfile.h"
#include "tc_test.h"

/* CHECK from tc_test.h, naming the frame case when it fails. */
#define CHECK_CASE(name, cond)                                                                     \
	do {                                                                                       \
		int failed_before_ = tc_failed;                                                    \
		CHECK(cond);                                                                       \
		if (tc_failed != failed_before_)                                                   \
			fprintf(stderr, "  in case: %s\n", (name));                                \
	} while (0)

/* ---- frame builder ---- */

#define FRAME_MAX  2048
#define OPEN_MAX   16
#define LINK_ETHER 1
#define LINK_RAW   12

/* A header whose length field covers everything after it up to the end of the frame. */
enum open_kind { OPEN_IPV4, OPEN_IPV6, OPEN_UDP, OPEN_GTP, OPEN_PPPOE };

struct frame {
	uint8_t b[FRAME_MAX];
	size_t n;
	struct {
		size_t off;
		enum open_kind kind;
	} open[OPEN_MAX];
	int nopen;
	size_t l3_off;      /* innermost IP header */
	size_t payload_off; /* where the innermost transport payload starts */
	size_t end;         /* frame end before any padding */
};

static void put8(struct frame *f, unsigned v)
{
	if (f->n >= FRAME_MAX) {
		fprintf(stderr, "frame too long\n");
		exit(2);
	}
	f->b[f->n++] = (uint8_t)v;
}

static void put16(struct frame *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v);
}

static void put_bytes(struct frame *f, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, ((const uint8_t *)p)[i]);
}

static void put_zeros(struct frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, 0);
}

static void set16(struct frame *f, size_t off, unsigned v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void open_len(struct frame *f, enum open_kind kind)
{
	f->open[f->nopen].off = f->n;
	f->open[f->nopen].kind = kind;
	f->nopen++;
}

static void put_addr(struct frame *f, const char *text)
{
	struct tc_addr a;

	if (!tc_addr_parse(text, &a)) {
		fprintf(stderr, "bad address %s\n", text);
		exit(2);
	}
	if (tc_addr_is_v4(&a))
		put_bytes(f, a.b + 12, 4);
	else
		put_bytes(f, a.b, 16);
}

static void eth(struct frame *f, unsigned type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

	put_bytes(f, macs, sizeof(macs));
	put16(f, type);
}

/* An 802.1Q-style tag: TCI, then the next ethertype. */
static void tag(struct frame *f, unsigned vid, unsigned next)
{
	put16(f, vid);
	put16(f, next);
}

static size_t ipv4_opts(struct frame *f, unsigned proto, const char *src, const char *dst,
                        unsigned opt_words)
{
	size_t off = f->n;

	f->l3_off = off;
	open_len(f, OPEN_IPV4);
	put8(f, 0x45 + opt_words);
	put8(f, 0);
	put16(f, 0); /* total length, set by finish() */
	put16(f, 0x1234);
	put16(f, 0x4000); /* DF */
	put8(f, 64);
	put8(f, proto);
	put16(f, 0); /* checksum, set by finish() */
	put_addr(f, src);
	put_addr(f, dst);
	for (unsigned i = 0; i < opt_words * 4; i++)
		put8(f, 1); /* NOP */
	return off;
}

static size_t ipv4(struct frame *f, unsigned proto, const char *src, const char *dst)
{
	return ipv4_opts(f, proto, src, dst, 0);
}

static size_t ipv6(struct frame *f, unsigned nh, const char *src, const char *dst)
{
	size_t off = f->n;

	f->l3_off = off;
	open_len(f, OPEN_IPV6);
	put32(f, 0x60000000);
	put16(f, 0); /* payload length, set by finish() */
	put8(f, nh);
	put8(f, 64);
	put_addr(f, src);
	put_addr(f, dst);
	return off;
}

static size_t tcp(struct frame *f, unsigned sport, unsigned dport, uint32_t seq, uint32_t ack,
                  unsigned flags)
{
	size_t off = f->n;

	put16(f, sport);
	put16(f, dport);
	put32(f, seq);
	put32(f, ack);
	put8(f, 5 << 4);
	put8(f, flags);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	f->payload_off = f->n;
	return off;
}

static void udp(struct frame *f, unsigned sport, unsigned dport)
{
	open_len(f, OPEN_UDP);
	put16(f, sport);
	put16(f, dport);
	put16(f, 0); /* length, set by finish() */
	put16(f, 0);
	f->payload_off = f->n;
}

static void payload(struct frame *f, const char *text)
{
	put_bytes(f, text, strlen(text));
}

static void gre(struct frame *f, unsigned flags, unsigned proto)
{
	put16(f, flags);
	put16(f, proto);
	if (flags & 0x8000)
		put32(f, 0); /* checksum and reserved */
	if (flags & 0x2000)
		put32(f, 0xdeadbeef); /* key */
	if (flags & 0x1000)
		put32(f, 7); /* sequence */
}

static void vxlan(struct frame *f, unsigned flags)
{
	put8(f, flags);
	put_zeros(f, 3);
	put32(f, 0x00123400); /* VNI 0x1234, reserved */
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Fills in every length field opened so far, now that the frame is complete. */
static void finish(struct frame *f)
{
	for (int i = 0; i < f->nopen; i++) {
		size_t off = f->open[i].off, len = f->n - off;

		switch (f->open[i].kind) {
		case OPEN_IPV4:
			set16(f, off + 2, len);
			set16(f, off + 10, 0);
			set16(f, off + 10, ip_checksum(f->b + off, (f->b[off] & 0x0f) * 4u));
			break;
		case OPEN_IPV6:
			set16(f, off + 4, len - 40);
			break;
		case OPEN_UDP:
			set16(f, off + 4, len);
			break;
		case OPEN_GTP:
			set16(f, off + 2, len - 8);
			break;
		case OPEN_PPPOE:
			set16(f, off + 4, len - 6);
			break;
		}
	}
	f->end = f->n;
}

/* ---- expectations ---- */

struct expect {
	enum tc_decode_status status;
	const char *src, *dst;
	unsigned sport, dport;
	unsigned proto, ipv, tunnels;
	/* Shortest captured length that decodes OK, when more than the payload offset (a
	 * datagram on a tunnel port must show enough bytes to tell it is not the tunnel). */
	size_t min_ok;
};

static uint8_t *copy_exact(const struct frame *f, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	memcpy(p, f->b, n);
	return p;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Every shorter capture of the frame: headers cut must not decode, payload cut is clipped. */
static void check_truncations(const char *name, int linktype, const struct frame *f,
                              const struct expect *e)
{
	size_t min_ok = e->min_ok > f->payload_off ? e->min_ok : f->payload_off;
	size_t full_payload = f->end - f->payload_off, full_l3 = f->end - f->l3_off;

	for (size_t n = 0; n < f->n; n++) {
		uint8_t *p = copy_exact(f, n);
		struct tc_packet pkt;
		enum tc_decode_status s = tc_decode(linktype, p, n, &pkt);

		if (e->status == TC_DEC_OK && n >= min_ok) {
			CHECK_CASE(name, s == TC_DEC_OK);
			CHECK_CASE(name, s != TC_DEC_OK ||
			                     pkt.payload_len ==
			                         min_size(n - f->payload_off, full_payload));
			CHECK_CASE(name, s != TC_DEC_OK ||
			                     pkt.l3_len == min_size(n - f->l3_off, full_l3));
			if (s != TC_DEC_OK)
				fprintf(stderr, "  ... at captured length %zu: %s\n", n,
				        tc_decode_status_name(s));
		} else if (e->status != TC_DEC_MALFORMED || n < min_ok) {
			/* A malformed frame need only fail while its headers are cut: once the
			 * capture ends early, an overshooting length may be the snap length's
			 * doing. */
			CHECK_CASE(name, s != TC_DEC_OK);
			if (s == TC_DEC_OK)
				fprintf(stderr, "  ... at captured length %zu\n", n);
		}
		free(p);
	}
}

static void check_frame(const char *name, int linktype, struct frame *f, const struct expect *e)
{
	uint8_t *p = copy_exact(f, f->n);
	struct tc_packet pkt;
	enum tc_decode_status s;
	char src[64], dst[64];

	memset(&pkt, 0xaa, sizeof(pkt));
	pkt.ts_usec = 42;
	s = tc_decode(linktype, p, f->n, &pkt);
	CHECK_CASE(name, s == e->status);
	if (s != e->status)
		fprintf(stderr, "  ... got %s, want %s\n", tc_decode_status_name(s),
		        tc_decode_status_name(e->status));
	CHECK_CASE(name, pkt.ts_usec == 42);
	if (s == TC_DEC_OK && e->status == TC_DEC_OK) {
		tc_addr_format(&pkt.src, src, sizeof(src));
		tc_addr_format(&pkt.dst, dst, sizeof(dst));
		CHECK_CASE(name, strcmp(src, e->src) == 0);
		CHECK_CASE(name, strcmp(dst, e->dst) == 0);
		CHECK_CASE(name, pkt.sport == e->sport);
		CHECK_CASE(name, pkt.dport == e->dport);
		CHECK_CASE(name, pkt.proto == e->proto);
		CHECK_CASE(name, pkt.ip_version == e->ipv);
		CHECK_CASE(name, pkt.tunnels == e->tunnels);
		CHECK_CASE(name, pkt.l3 == p + f->l3_off);
		CHECK_CASE(name, pkt.l3_len == f->end - f->l3_off);
		CHECK_CASE(name, pkt.payload == p + f->payload_off);
		CHECK_CASE(name, pkt.payload_len == f->end - f->payload_off);
	}
	free(p);
	check_truncations(name, linktype, f, e);
}

static const struct expect tcp4 = {TC_DEC_OK, "192.0.2.1", "198.51.100.2", 40000, 443, 6, 4, 0, 0};
static const struct expect tcp6 = {TC_DEC_OK, "2001:db8::1", "2001:db8::2", 40000, 443, 6, 6, 0, 0};

static struct expect tunneled(const struct expect *e, unsigned tunnels)
{
	struct expect t = *e;

	t.tunnels = tunnels;
	return t;
}

static struct expect failing(enum tc_decode_status s)
{
	struct expect e = {s, NULL, NULL, 0, 0, 0, 0, 0, 0};

	return e;
}

/* The innermost packet every case carries: TCP 40000 -> 443 with a short payload. */
static void inner4(struct frame *f)
{
	ipv4(f, 6, "192.0.2.1", "198.51.100.2");
	tcp(f, 40000, 443, 1000, 2000, 0x18);
	payload(f, "\x16\x03\x01 hello");
}

static void inner6(struct frame *f)
{
	ipv6(f, 6, "2001:db8::1", "2001:db8::2");
	tcp(f, 40000, 443, 1000, 2000, 0x18);
	payload(f, "\x16\x03\x01 hello");
}

static void run(const char *name, int linktype, struct frame *f, const struct expect *e)
{
	if (f->end == 0)
		finish(f);
	check_frame(name, linktype, f, e);
}

/* ---- cases ---- */

static void test_ethernet(void)
{
	struct frame f = {0};
	struct tc_packet pkt;
	uint8_t *p;

	eth(&f, 0x0800);
	inner4(&f);
	run("ethernet ipv4 tcp", LINK_ETHER, &f, &tcp4);

	p = copy_exact(&f, f.n);
	tc_decode(LINK_ETHER, p, f.n, &pkt);
	CHECK_CASE("tcp fields", pkt.seq == 1000 && pkt.ack == 2000);
	CHECK_CASE("tcp fields", pkt.tcp_flags == (TC_TCP_PSH | TC_TCP_ACK));
	CHECK_CASE("tcp fields",
	           pkt.payload_len == 9 && memcmp(pkt.payload, "\x16\x03\x01", 3) == 0);
	free(p);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	inner6(&f);
	run("ethernet ipv6 tcp", LINK_ETHER, &f, &tcp6);

	/* A bare SYN is 54 bytes; the NIC pads it to the 60-byte minimum. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	tcp(&f, 40000, 443, 1000, 0, TC_TCP_SYN);
	finish(&f);
	put_zeros(&f, 60 - f.n);
	run("ethernet padding", LINK_ETHER, &f, &tcp4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4_opts(&f, 6, "192.0.2.1", "198.51.100.2", 2);
	tcp(&f, 40000, 443, 1, 2, 0x10);
	payload(&f, "x");
	run("ipv4 options", LINK_ETHER, &f, &tcp4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 17, "192.0.2.1", "198.51.100.2");
	udp(&f, 5353, 53);
	payload(&f, "query");
	{
		struct expect e = {TC_DEC_OK, "192.0.2.1", "198.51.100.2", 5353, 53, 17, 4, 0, 0};
		run("udp", LINK_ETHER, &f, &e);
	}

	/* IEEE 802.3 length, LLC/SNAP (aa aa 03, OUI 0, type), then IPv4 (RFC 1042) */
	memset(&f, 0, sizeof(f));
	eth(&f, 0);
	put_bytes(&f, "\xaa\xaa\x03\x00\x00\x00\x08\x00", 8);
	inner4(&f);
	finish(&f);
	set16(&f, 12, f.n - 14);
	run("802.3 llc snap", LINK_ETHER, &f, &tcp4);
}

static void test_vlan_mpls_pppoe(void)
{
	struct frame f = {0};
	size_t off;

	eth(&f, 0x88a8);
	tag(&f, 100, 0x8100);
	tag(&f, 200, 0x9100);
	tag(&f, 300, 0x0800);
	inner4(&f);
	run("stacked vlan tags", LINK_ETHER, &f, &tcp4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x8847);
	put32(&f, 1000 << 12 | 64);          /* label 1000 */
	put32(&f, 2000 << 12 | 1 << 8 | 64); /* label 2000, bottom of stack */
	inner4(&f);
	run("mpls ipv4", LINK_ETHER, &f, &tcp4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x8848);
	put32(&f, 2 << 12 | 1 << 8 | 64);
	inner6(&f);
	run("mpls multicast ipv6", LINK_ETHER, &f, &tcp6);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x8847);
	put32(&f, 77 << 12 | 1 << 8 | 64);
	put32(&f, 0); /* pseudowire control word */
	eth(&f, 0x0800);
	inner4(&f);
	{
		struct expect e = tunneled(&tcp4, 1);
		run("mpls ethernet pseudowire", LINK_ETHER, &f, &e);
	}

	memset(&f, 0, sizeof(f));
	eth(&f, 0x8100);
	tag(&f, 10, 0x8864);
	open_len(&f, OPEN_PPPOE);
	put8(&f, 0x11);
	put8(&f, 0);
	put16(&f, 0x0042);
	put16(&f, 0); /* length, set by finish() */
	put16(&f, 0x0021);
	inner4(&f);
	run("pppoe ipv4", LINK_ETHER, &f, &tcp4);

	/* Bytes as in zeek pppoe-over-qinq.pcap frame 19: a bare ACK whose IPv4 total length
	 * (46) counts the 6 bytes of Ethernet padding the PPPoE length (42) leaves out. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x8100);
	tag(&f, 3704, 0x8100);
	tag(&f, 2474, 0x8864);
	open_len(&f, OPEN_PPPOE);
	put8(&f, 0x11);
	put8(&f, 0);
	put16(&f, 0x0f07);
	put16(&f, 0);
	put16(&f, 0x0021);
	off = ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	tcp(&f, 40000, 443, 1000, 2000, TC_TCP_ACK);
	finish(&f);
	put_zeros(&f, 6);
	set16(&f, off + 2, 46);
	run("pppoe length excludes padding, ipv4 length includes it", LINK_ETHER, &f, &tcp4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x8864);
	open_len(&f, OPEN_PPPOE);
	put8(&f, 0x11);
	put8(&f, 0);
	put16(&f, 0x0042);
	put16(&f, 0);
	put16(&f, 0x0057);
	inner6(&f);
	run("pppoe ipv6", LINK_ETHER, &f, &tcp6);
}

static void test_link_types(void)
{
	struct frame f = {0};
	static const int raw_types[] = {12, 14, 101, 228};
	char name[64];

	/* Linux cooked v1: packet type, ARPHRD_ETHER, address length, 8 address bytes, type */
	put16(&f, 0);
	put16(&f, 1);
	put16(&f, 6);
	put_zeros(&f, 8);
	put16(&f, 0x0800);
	inner4(&f);
	run("linux sll", 113, &f, &tcp4);

	/* Linux cooked v2: type, reserved, ifindex, ARPHRD_ETHER, packet type, address length,
	 * 8 address bytes */
	memset(&f, 0, sizeof(f));
	put16(&f, 0x86dd);
	put16(&f, 0);
	put32(&f, 3);
	put16(&f, 1);
	put8(&f, 4);
	put8(&f, 6);
	put_zeros(&f, 8);
	inner6(&f);
	run("linux sll2", 276, &f, &tcp6);

	for (size_t i = 0; i < sizeof(raw_types) / sizeof(raw_types[0]); i++) {
		memset(&f, 0, sizeof(f));
		inner4(&f);
		snprintf(name, sizeof(name), "raw ipv4 linktype %d", raw_types[i]);
		run(name, raw_types[i], &f, &tcp4);
	}
	memset(&f, 0, sizeof(f));
	inner6(&f);
	run("raw ipv6 linktype 101", 101, &f, &tcp6);
	memset(&f, 0, sizeof(f));
	inner6(&f);
	run("raw ipv6 linktype 229", 229, &f, &tcp6);

	/* BSD loopback: AF_INET little-endian (captured on x86), AF_INET6 in both orders */
	memset(&f, 0, sizeof(f));
	put32(&f, 0x02000000);
	inner4(&f);
	run("null ipv4 host order", 0, &f, &tcp4);
	memset(&f, 0, sizeof(f));
	put32(&f, 0x1e000000);
	inner6(&f);
	run("null ipv6 30 host order", 0, &f, &tcp6);
	memset(&f, 0, sizeof(f));
	put32(&f, 24);
	inner6(&f);
	run("loop ipv6 24", 108, &f, &tcp6);
	memset(&f, 0, sizeof(f));
	put32(&f, 28);
	inner6(&f);
	run("loop ipv6 28", 108, &f, &tcp6);
	memset(&f, 0, sizeof(f));
	put32(&f, 2);
	inner4(&f);
	run("loop ipv4", 108, &f, &tcp4);

	memset(&f, 0, sizeof(f));
	put8(&f, 0xff);
	put8(&f, 0x03);
	put16(&f, 0x0021);
	inner4(&f);
	run("ppp ff03 ipv4", 9, &f, &tcp4);
	memset(&f, 0, sizeof(f));
	put8(&f, 0xff);
	put8(&f, 0x03);
	put16(&f, 0x0057);
	inner6(&f);
	run("ppp serial ipv6", 50, &f, &tcp6);
	memset(&f, 0, sizeof(f));
	put16(&f, 0x0021);
	inner4(&f);
	run("ppp no address/control", 9, &f, &tcp4);
	memset(&f, 0, sizeof(f));
	put8(&f, 0x21);
	inner4(&f);
	run("ppp compressed protocol", 9, &f, &tcp4);
	memset(&f, 0, sizeof(f));
	put8(&f, 0x0f);
	put8(&f, 0x00);
	put16(&f, 0x86dd);
	inner6(&f);
	run("cisco hdlc ipv6", 104, &f, &tcp6);

	memset(&f, 0, sizeof(f));
	inner4(&f);
	{
		struct expect e = failing(TC_DEC_UNSUPPORTED);
		run("unknown link type", 105, &f, &e);
	}
	CHECK_CASE("linktypes",
	           tc_decode_linktype_supported(1) && tc_decode_linktype_supported(276) &&
	               tc_decode_linktype_supported(113) && tc_decode_linktype_supported(0) &&
	               !tc_decode_linktype_supported(105) && !tc_decode_linktype_supported(-1));
}

static void test_ip(void)
{
	struct frame f = {0};
	size_t off;
	struct expect e;

	/* hop-by-hop then destination options, each 8 bytes of PadN */
	eth(&f, 0x86dd);
	ipv6(&f, 0, "2001:db8::1", "2001:db8::2");
	put8(&f, 60);
	put8(&f, 0);
	put8(&f, 1);
	put8(&f, 4);
	put_zeros(&f, 4);
	put8(&f, 6);
	put8(&f, 1); /* 16 bytes */
	put8(&f, 1);
	put8(&f, 12);
	put_zeros(&f, 12);
	tcp(&f, 40000, 443, 1000, 2000, 0x18);
	payload(&f, "hi");
	run("ipv6 two extension headers", LINK_ETHER, &f, &tcp6);

	/* routing, atomic fragment, AH */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 43, "2001:db8::1", "2001:db8::2");
	put8(&f, 44);
	put8(&f, 0);
	put8(&f, 4);
	put8(&f, 0);
	put_zeros(&f, 4);
	put8(&f, 51);
	put8(&f, 0);
	put16(&f, 0);
	put32(&f, 99);
	put8(&f, 6);
	put8(&f, 4); /* (4 + 2) * 4 = 24 bytes */
	put_zeros(&f, 22);
	tcp(&f, 40000, 443, 1000, 2000, 0x18);
	payload(&f, "hi");
	run("ipv6 routing, atomic fragment, ah", LINK_ETHER, &f, &tcp6);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 44, "2001:db8::1", "2001:db8::2");
	put8(&f, 6);
	put8(&f, 0);
	put16(&f, 0x0001); /* offset 0, M */
	put32(&f, 99);
	tcp(&f, 40000, 443, 1000, 2000, 0x18);
	e = failing(TC_DEC_FRAGMENT);
	run("ipv6 first fragment", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 44, "2001:db8::1", "2001:db8::2");
	put8(&f, 6);
	put8(&f, 0);
	put16(&f, 185 << 3); /* offset 1480, last */
	put32(&f, 99);
	payload(&f, "tail");
	run("ipv6 last fragment", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	off = ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	tcp(&f, 40000, 443, 1000, 2000, 0x18);
	payload(&f, "first");
	set16(&f, off + 6, 0x2000); /* MF */
	run("ipv4 first fragment", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	off = ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	payload(&f, "second");
	set16(&f, off + 6, 185);
	run("ipv4 last fragment", LINK_ETHER, &f, &e);

	e = failing(TC_DEC_MALFORMED);
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	off = ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	tcp(&f, 40000, 443, 1000, 2000, 0x18);
	f.b[off] = 0x44;
	run("ipv4 ihl 4", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	off = ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	tcp(&f, 40000, 443, 1000, 2000, 0x18);
	f.b[off] = 0x55;
	run("ipv4 version 5", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	off = ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	tcp(&f, 40000, 443, 1000, 2000, 0x18);
	finish(&f);
	set16(&f, off + 2, 16);
	run("ipv4 total length under header", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	off = tcp(&f, 40000, 443, 1000, 2000, 0x18);
	payload(&f, "abc");
	f.b[off + 12] = 4 << 4;
	run("tcp data offset 4", LINK_ETHER, &f, &e);

	/* A data offset the IP length cannot hold is malformed, not a short capture. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 6, "192.0.2.1", "198.51.100.2");
	off = tcp(&f, 40000, 443, 1000, 2000, 0x18);
	payload(&f, "abc");
	f.b[off + 12] = 15 << 4;
	run("tcp data offset past ip end", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 17, "192.0.2.1", "198.51.100.2");
	off = f.n;
	udp(&f, 1, 2);
	payload(&f, "abc");
	finish(&f);
	set16(&f, off + 4, 5);
	run("udp length under 8", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 1, "192.0.2.1", "198.51.100.2");
	put32(&f, 0x08000000);
	put32(&f, 0);
	e = failing(TC_DEC_NOT_TCP_UDP);
	run("icmp", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0806);
	put_zeros(&f, 28);
	e = failing(TC_DEC_NOT_IP);
	run("arp", LINK_ETHER, &f, &e);
}

static void test_ip_tunnels(void)
{
	struct frame f = {0};
	struct expect e;

	eth(&f, 0x0800);
	ipv4(&f, 4, "203.0.113.1", "203.0.113.2");
	inner4(&f);
	e = tunneled(&tcp4, 1);
	run("ip in ip", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 41, "203.0.113.1", "203.0.113.2");
	inner6(&f);
	e = tunneled(&tcp6, 1);
	run("6in4", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 4, "2001:db8:ffff::1", "2001:db8:ffff::2");
	inner4(&f);
	e = tunneled(&tcp4, 1);
	run("4in6", LINK_ETHER, &f, &e);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 41, "2001:db8:ffff::1", "2001:db8:ffff::2");
	inner6(&f);
	e = tunneled(&tcp6, 1);
	run("6in6", LINK_ETHER, &f, &e);

	/* An inner header claiming more than the outer one carries: the outer length wins. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 4, "203.0.113.1", "203.0.113.2");
	inner4(&f);
	finish(&f);
	set16(&f, 14 + 20 + 2, f.n - 14 - 20 + 1);
	e = tunneled(&tcp4, 1);
	run("inner ipv4 longer than outer", LINK_ETHER, &f, &e);

	/* Eight nested layers are allowed, nine are not. */
	for (int depth = 8; depth <= 9; depth++) {
		memset(&f, 0, sizeof(f));
		put8(&f, 0x0021);
		for (int i = 0; i < depth; i++)
			ipv4(&f, 4, "203.0.113.1", "203.0.113.2");
		inner4(&f);
		if (depth == 8)
			e = tunneled(&tcp4, 8);
		else
			e = failing(TC_DEC_UNSUPPORTED);
		run(depth == 8 ? "8 tunnels" : "9 tunnels", 9, &f, &e);
	}
}

static void test_gre(void)
{
	struct frame f = {0};
	struct expect e4 = tunneled(&tcp4, 1), e6 = tunneled(&tcp6, 1);

	eth(&f, 0x0800);
	ipv4(&f, 47, "203.0.113.1", "203.0.113.2");
	gre(&f, 0, 0x0800);
	inner4(&f);
	run("gre ipv4", LINK_ETHER, &f, &e4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 47, "203.0.113.1", "203.0.113.2");
	gre(&f, 0xb000, 0x86dd); /* checksum, key, sequence */
	inner6(&f);
	run("gre checksum key sequence ipv6", LINK_ETHER, &f, &e6);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 47, "2001:db8:ffff::1", "2001:db8:ffff::2");
	gre(&f, 0x2000, 0x6558);
	eth(&f, 0x0800);
	inner4(&f);
	run("gre transparent ethernet", LINK_ETHER, &f, &e4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 47, "203.0.113.1", "203.0.113.2");
	gre(&f, 0x1000, 0x88be);
	put16(&f, 0x1000 | 100); /* version 1, VLAN 100 */
	put16(&f, 0x0001);       /* session 1 */
	put32(&f, 5);            /* index */
	eth(&f, 0x0800);
	inner4(&f);
	run("erspan type II", LINK_ETHER, &f, &e4);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 47, "203.0.113.1", "203.0.113.2");
	gre(&f, 0, 0x88be);
	eth(&f, 0x0800);
	inner4(&f);
	run("erspan type I", LINK_ETHER, &f, &e4);

	for (int o = 0; o <= 1; o++) {
		memset(&f, 0, sizeof(f));
		eth(&f, 0x0800);
		ipv4(&f, 47, "203.0.113.1", "203.0.113.2");
		gre(&f, 0x1000, 0x22eb);
		put16(&f, 0x2000 | 100); /* version 2, VLAN 100 */
		put16(&f, 0x0001);
		put32(&f, 0x11223344); /* timestamp */
		put16(&f, 0);          /* SGT */
		put8(&f, 0x00);        /* P 0, frame type 0 (Ethernet) */
		put8(&f, o);           /* O */
		if (o)
			put_bytes(&f, "\x04\x00\x00\x07\x55\x66\x77\x88", 8);
		eth(&f, 0x0800);
		inner4(&f);
		run(o ? "erspan type III with subheader" : "erspan type III", LINK_ETHER, &f, &e4);
	}
}

static void test_udp_tunnels(void)
{
	struct frame f = {0};
	struct expect e4 = tunneled(&tcp4, 1), e6 = tunneled(&tcp6, 1);

	eth(&f, 0x0800);
	ipv4(&f, 17, "203.0.113.1", "203.0.113.2");
	udp(&f, 51000, 4789);
	vxlan(&f, 0x08);
	eth(&f, 0x0800);
	inner4(&f);
	run("vxlan", LINK_ETHER, &f, &e4);

	/* Not VXLAN after all (I flag clear): the datagram itself is returned. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 17, "203.0.113.1", "203.0.113.2");
	udp(&f, 51000, 4789);
	vxlan(&f, 0x00);
	eth(&f, 0x0800);
	put_zeros(&f, 20);
	{
		struct expect e = {TC_DEC_OK, "203.0.113.1", "203.0.113.2", 51000, 4789, 17, 4, 0,
		                   0};

		e.min_ok = f.payload_off + 8;
		run("vxlan port, not vxlan", LINK_ETHER, &f, &e);
	}

	/* VXLAN header fine, inner frame malformed (IHL 3): also returned as plain UDP. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 17, "203.0.113.1", "203.0.113.2");
	udp(&f, 51000, 4789);
	vxlan(&f, 0x08);
	eth(&f, 0x0800);
	put8(&f, 0x43);
	put_zeros(&f, 30);
	finish(&f);
	f.l3_off = 14;
	{
		struct tc_packet pkt;
		enum tc_decode_status s = tc_decode(LINK_ETHER, f.b, f.n, &pkt);

		CHECK_CASE("vxlan malformed inner",
		           s == TC_DEC_OK && pkt.dport == 4789 && pkt.tunnels == 0 &&
		               pkt.payload == f.b + 42 && pkt.payload_len == f.n - 42 &&
		               pkt.l3 == f.b + 14);
	}

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 17, "2001:db8:ffff::1", "2001:db8:ffff::2");
	udp(&f, 51000, 6081);
	put8(&f, 0x02); /* version 0, 2 words of options */
	put8(&f, 0);
	put16(&f, 0x6558);
	put32(&f, 0x00abcd00);
	put16(&f, 0x0102); /* option class */
	put8(&f, 0x03);    /* type */
	put8(&f, 0x01);    /* 1 word of data */
	put32(&f, 0xcafef00d);
	eth(&f, 0x86dd);
	inner6(&f);
	run("geneve ethernet with options", LINK_ETHER, &f, &e6);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 17, "203.0.113.1", "203.0.113.2");
	udp(&f, 51000, 6081);
	put8(&f, 0);
	put8(&f, 0);
	put16(&f, 0x0800);
	put32(&f, 0x00abcd00);
	inner4(&f);
	run("geneve ipv4", LINK_ETHER, &f, &e4);

	/* GTP-U G-PDU with sequence number and one extension (PDU session container). */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 17, "203.0.113.1", "203.0.113.2");
	udp(&f, 2152, 2152);
	open_len(&f, OPEN_GTP);
	put8(&f, 0x36); /* version 1, PT, E, S */
	put8(&f, 255);
	put16(&f, 0);
	put32(&f, 0x01020304);
	put16(&f, 17);
	put8(&f, 0);
	put8(&f, 0x85);
	put8(&f, 1); /* one word: length, two bytes, next type */
	put8(&f, 0x10);
	put8(&f, 0x09);
	put8(&f, 0);
	inner6(&f);
	run("gtp-u extension header", LINK_ETHER, &f, &e6);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ipv6(&f, 17, "2001:db8:ffff::1", "2001:db8:ffff::2");
	udp(&f, 2152, 2152);
	open_len(&f, OPEN_GTP);
	put8(&f, 0x30);
	put8(&f, 255);
	put16(&f, 0);
	put32(&f, 0x01020304);
	inner4(&f);
	run("gtp-u minimal header over ipv6", LINK_ETHER, &f, &e4);

	/* An echo request is GTP-U but carries no user packet: plain UDP. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 17, "203.0.113.1", "203.0.113.2");
	udp(&f, 2152, 2152);
	open_len(&f, OPEN_GTP);
	put8(&f, 0x32);
	put8(&f, 1);
	put16(&f, 0);
	put32(&f, 0);
	put16(&f, 1);
	put16(&f, 0);
	{
		struct expect e = {TC_DEC_OK, "203.0.113.1", "203.0.113.2", 2152, 2152, 17, 4, 0,
		                   0};

		e.min_ok = f.payload_off + 8;
		run("gtp-u echo", LINK_ETHER, &f, &e);
	}

	/* VXLAN in GRE in IPv6 in IPv4: layers add up. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ipv4(&f, 41, "203.0.113.1", "203.0.113.2");
	ipv6(&f, 47, "2001:db8:ffff::1", "2001:db8:ffff::2");
	gre(&f, 0, 0x0800);
	ipv4(&f, 17, "198.18.0.1", "198.18.0.2");
	udp(&f, 51000, 4789);
	vxlan(&f, 0x08);
	eth(&f, 0x0800);
	inner4(&f);
	{
		struct expect e = tunneled(&tcp4, 3);
		run("vxlan in gre in 6in4", LINK_ETHER, &f, &e);
	}
}

static void test_addr(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"2001:db8::1", "2001:db8::1"},
	    {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	    {"::1", "::1"},
	    {"::", "::"},
	    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
	    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
	    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
	    {"fe80::", "fe80::"},
	    {"fe80:0:0:0:0:0:0:0", "fe80::"},
	    {"1:0:0:0:0:0:0:0", "1::"},
	    {"0:0:0:0:0:0:0:2", "::2"},
	    {"::ffff:1.2.3.4", "1.2.3.4"},
	    {"::1.2.3.4", "::102:304"},
	    {"10.0.0.255", "10.0.0.255"},
	};
	struct tc_addr a;
	char buf[46], small[5];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_CASE(cases[i].in, tc_addr_parse(cases[i].in, &a));
		tc_addr_format(&a, buf, sizeof(buf));
		CHECK_CASE(cases[i].in, strcmp(buf, cases[i].out) == 0);
		if (strcmp(buf, cases[i].out) != 0)
			fprintf(stderr, "  ... got %s, want %s\n", buf, cases[i].out);
	}
	memset(&a, 0xff, sizeof(a));
	CHECK_CASE("longest address", strlen(tc_addr_format(&a, buf, sizeof(buf))) == 39);
	CHECK_CASE("short buffer", strcmp(tc_addr_format(&a, small, sizeof(small)), "ffff") == 0);
	CHECK_CASE("parse rejects", !tc_addr_parse("1.2.3", &a) && !tc_addr_parse("1::2::3", &a) &&
	                                !tc_addr_parse("", &a) && !tc_addr_parse(NULL, &a));
	CHECK_CASE("status names",
	           strcmp(tc_decode_status_name(TC_DEC_OK), "ok") == 0 &&
	               strcmp(tc_decode_status_name(TC_DEC_FRAGMENT), "fragment") == 0);
}

/* ---- the fast path against the general one ---- */

static long fast_frames, fast_variants;

/* tc_decode (with its fast path for Ethernet/IPv4/TCP) and tc_decode_general must agree on
 * every field of every frame. */
static void same_decode(const char *what, const uint8_t *frame, size_t caplen)
{
	struct tc_packet a, b;
	enum tc_decode_status sa, sb;

	/* Each starts as garbage: a field the fast path forgets to set shows. */
	memset(&a, 0xa5, sizeof a);
	memset(&b, 0x5a, sizeof b);
	a.ts_usec = b.ts_usec = 7;
	sa = tc_decode(LINK_ETHER, frame, caplen, &a);
	sb = tc_decode_general(LINK_ETHER, frame, caplen, &b);
	CHECK_CASE(what, sa == sb);
	if (sa != sb || sa != TC_DEC_OK)
		return;
	CHECK_CASE(what, a.ts_usec == 7 && b.ts_usec == 7);
	CHECK_CASE(what, a.ip_version == b.ip_version && a.proto == b.proto);
	CHECK_CASE(what, !memcmp(&a.src, &b.src, sizeof a.src) && !memcmp(&a.dst, &b.dst, sizeof a.dst));
	CHECK_CASE(what, a.sport == b.sport && a.dport == b.dport);
	CHECK_CASE(what, a.seq == b.seq && a.ack == b.ack && a.tcp_flags == b.tcp_flags);
	CHECK_CASE(what, a.l3 == b.l3 && a.l3_len == b.l3_len);
	CHECK_CASE(what, a.payload == b.payload && a.payload_len == b.payload_len);
	CHECK_CASE(what, a.tunnels == b.tunnels && !memcmp(&a.frag, &b.frag, sizeof a.frag));
}

/* An Ethernet II frame of an unfragmented, option-less IPv4 TCP segment: what the fast path
 * takes (as far as the first bytes tell; the rest it checks itself). */
static int fast_kind(const uint8_t *f, size_t n)
{
	return n >= 54 && f[12] == 0x08 && f[13] == 0 && f[14] == 0x45 && f[23] == 6;
}

/* Each header byte of the frame set to values that matter to the fast path's tests (and
 * flipped), and the frame cut at lengths around its headers and its IP total length. */
static void vary(const char *what, const uint8_t *frame, size_t n)
{
	static const uint8_t values[] = {0x00, 0x01, 0x05, 0x06, 0x08, 0x11, 0x20, 0x3f,
	                                 0x40, 0x45, 0x46, 0x4f, 0x50, 0x60, 0xf0, 0xff};
	uint8_t *copy = malloc(n);
	size_t hdr = n < 74 ? n : 74;

	if (!copy)
		return;
	for (size_t i = 12; i < hdr; i++)
		for (size_t v = 0; v <= sizeof values; v++) {
			memcpy(copy, frame, n);
			copy[i] = v < sizeof values ? values[v] : (uint8_t)(frame[i] ^ 0x80);
			same_decode(what, copy, n);
			fast_variants++;
		}
	size_t total = (size_t)frame[16] << 8 | frame[17];
	size_t cuts[] = {53, 54, 55, 60, 66, 74, total + 13, total + 14, total + 15, n - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		if (cuts[i] > n)
			continue;
		/* an exact-size copy, so a read past the cut is caught by a sanitizer */
		uint8_t *cut = malloc(cuts[i] ? cuts[i] : 1);
		if (!cut)
			continue;
		memcpy(cut, frame, cuts[i]);
		same_decode(what, cut, cuts[i]);
		free(cut);
		fast_variants++;
	}
	free(copy);
}

static int on_capture(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct pcapfile pf;
	struct pcapfile_frame fr;
	char msg[256];
	long varied = 0;

	(void)st;
	(void)ftw;
	if (type != FTW_F || pcapfile_open(&pf, path, msg, sizeof msg) != PCAPFILE_OPENED)
		return 0;
	while (pcapfile_next(&pf, &fr, msg, sizeof msg) == 1) {
		if (fr.linktype != LINK_ETHER)
			continue;
		same_decode(path, fr.data, fr.caplen);
		if (!fast_kind(fr.data, fr.caplen))
			continue;
		fast_frames++;
		if (varied++ < 12) /* the first frames of each file: handshakes, SYNs and ACKs */
			vary(path, fr.data, fr.caplen);
	}
	pcapfile_close(&pf);
	return 0;
}

/* samples: the project's captures; corpus: the shared corpus, when it is there. */
static void test_fast_path(const char *samples, const char *corpus)
{
	if (!samples)
		return;
	CHECK(nftw(samples, on_capture, 16, FTW_PHYS) == 0);
	if (corpus && access(corpus, R_OK) == 0)
		CHECK(nftw(corpus, on_capture, 16, FTW_PHYS) == 0);
	/* the samples are mostly such frames: the comparison must have had them to compare */
	CHECK(fast_frames > 500);
	CHECK(fast_variants > 100000);
	printf("fast path: %ld frames and %ld variants compared\n", fast_frames, fast_variants);
}

int main(int argc, char **argv)
{
	test_ethernet();
	test_vlan_mpls_pppoe();
	test_link_types();
	test_ip();
	test_ip_tunnels();
	test_gre();
	test_udp_tunnels();
	test_addr();
	test_fast_path(argc > 1 ? argv[1] : NULL, argc > 2 ? argv[2] : NULL);
	TEST_DONE("test_decode");
}
