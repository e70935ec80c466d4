/*
 * decode.c: the decode room. Looks through one captured frame (link layer, VLAN tags, MPLS,
 * PPPoE, IP extension headers and tunnels) down to the innermost IP and TCP or UDP header.
 * Every packet byte is read through the cursor; nothing is kept between frames, and IP
 * fragments are described (struct tc_frag), not reassembled: defrag.c does that.
 */
#include <string.h>

#include "tlscensus/cursor.h"
#include "tlscensus/packet.h"

/* Link types by the DLT_ number libpcap reports (pcap/dlt.h), plus the LINKTYPE_ values of the
 * tcpdump list that a savefile may carry where they differ. */
enum {
	LT_NULL = 0,
	LT_EN10MB = 1,
	LT_PPP = 9,
	LT_RAW = 12,         /* DLT_RAW everywhere but OpenBSD */
	LT_RAW_OPENBSD = 14, /* DLT_RAW on OpenBSD */
	LT_PPP_SERIAL = 50,
	LT_RAW_FILE = 101, /* LINKTYPE_RAW */
	LT_C_HDLC = 104,
	LT_LOOP = 108,
	LT_LINUX_SLL = 113,
	LT_IPV4 = 228,
	LT_IPV6 = 229,
	LT_LINUX_SLL2 = 276,
};

enum {
	ET_IPV4 = 0x0800,
	ET_IPV6 = 0x86dd,
	ET_VLAN = 0x8100,     /* IEEE 802.1Q */
	ET_QINQ = 0x88a8,     /* IEEE 802.1ad */
	ET_QINQ_OLD = 0x9100, /* pre-standard stacked tag */
	ET_MPLS = 0x8847,
	ET_MPLS_MC = 0x8848,
	ET_PPPOE_SESSION = 0x8864,
	ET_TEB = 0x6558,      /* transparent Ethernet bridging */
	ET_ERSPAN_2 = 0x88be, /* types I and II */
	ET_ERSPAN_3 = 0x22eb,
};

enum {
	PPP_IPV4 = 0x0021,
	PPP_IPV6 = 0x0057,
	PPP_MPLS = 0x0281,
	PPP_MPLS_MC = 0x0283,
};

enum {
	IPP_HOPOPTS = 0,
	IPP_IPIP = 4,
	IPP_TCP = 6,
	IPP_UDP = 17,
	IPP_IPV6 = 41,
	IPP_ROUTING = 43,
	IPP_FRAGMENT = 44,
	IPP_GRE = 47,
	IPP_AH = 51,
	IPP_DSTOPTS = 60,
	IPP_MOBILITY = 135,
};

enum {
	PORT_GTPU = 2152,
	PORT_VXLAN = 4789,
	PORT_GENEVE = 6081,
};

/* Bounds that keep a crafted frame from looping: no real network nests deeper. */
#define DEC_MAX_TUNNELS 8
#define DEC_MAX_TAGS    8
#define DEC_MAX_LABELS  16
#define DEC_MAX_EXT     16
#define DEC_MAX_GTP_EXT 16

struct dec {
	struct tc_packet *pkt;
	/* 1 while the window ends where the capture ended, 0 once a length field bounds it: a
	 * header that does not fit is TRUNCATED (snap length) in the first case, MALFORMED in the
	 * second. */
	int cut;
	/* What the innermost IP header says its packet spans, header included (0: a jumbogram or
	 * segmentation offload, no length to hold the bytes against). */
	size_t ip_len;
	/* A TCP header with a data offset below 5 words (RFC 9293 3.1): the IP packet decoded,
	 * its TCP header cannot be. Counted as undecodable even inside a UDP tunnel, where other
	 * bytes that fail to decode make the datagram plain UDP. */
	int bad_tcp;
};

/* What a UDP tunnel header says follows it. */
enum tun_next { TUN_NONE, TUN_SHORT, TUN_ETHER, TUN_IPV4, TUN_IPV6 };

static enum tc_decode_status dec_ether(struct dec *d, struct tc_cursor *c);
static enum tc_decode_status dec_ethertype(struct dec *d, uint16_t type, struct tc_cursor *c);
static enum tc_decode_status dec_ipv4(struct dec *d, struct tc_cursor *c);
static enum tc_decode_status dec_ipv6(struct dec *d, struct tc_cursor *c);

static enum tc_decode_status dec_short(const struct dec *d)
{
	return d->cut ? TC_DEC_TRUNCATED : TC_DEC_MALFORMED;
}

/* Bounds the window to the len bytes a length field announces. A length may only shrink the
 * window: when it claims more, either the snap length cut the frame, or two layers disagree and
 * the outer one, already held against the capture, wins (seen: a PPPoE length that excludes
 * the Ethernet padding its IPv4 total length includes, zeek pppoe-over-qinq.pcap). */
static void dec_clip(struct dec *d, struct tc_cursor *c, size_t len)
{
	struct tc_cursor inner;

	if (!tc_cursor_get_bytes(c, len, &inner))
		return;
	*c = inner;
	d->cut = 0;
}

/* Counts one more encapsulation layer; refuses past the bound. */
static int dec_enter(struct dec *d)
{
	if (d->pkt->tunnels >= DEC_MAX_TUNNELS)
		return 0;
	d->pkt->tunnels++;
	return 1;
}

/* Reads a 4- or 16-byte address; IPv4 becomes IPv4-mapped IPv6 (packet.h). */
static int dec_get_addr(struct tc_cursor *c, size_t n, struct tc_addr *a)
{
	struct tc_cursor f;

	if (!tc_cursor_get_bytes(c, n, &f))
		return 0;
	memset(a, 0, sizeof(*a));
	if (n == 4) {
		a->b[10] = 0xff;
		a->b[11] = 0xff;
		memcpy(a->b + 12, tc_cursor_ptr(&f), 4);
	} else {
		memcpy(a->b, tc_cursor_ptr(&f), 16);
	}
	return 1;
}

/* Picks IPv4 or IPv6 by the version nibble, for layers that do not say which (raw IP, MPLS,
 * GTP-U, ERSPAN III); other is the answer when it is neither. */
static enum tc_decode_status dec_ip_guess(struct dec *d, struct tc_cursor *c,
                                          enum tc_decode_status other)
{
	uint8_t b;

	if (!tc_cursor_peek_u8(c, 0, &b))
		return dec_short(d);
	switch (b >> 4) {
	case 4:
		return dec_ipv4(d, c);
	case 6:
		return dec_ipv6(d, c);
	default:
		return other;
	}
}

static enum tc_decode_status dec_tcp(struct dec *d, struct tc_cursor *c)
{
	struct tc_packet *pkt = d->pkt;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t off, flags;

	if (!tc_cursor_get_u16(c, &sport) || !tc_cursor_get_u16(c, &dport) ||
	    !tc_cursor_get_u32(c, &seq) || !tc_cursor_get_u32(c, &ack) ||
	    !tc_cursor_get_u8(c, &off) || !tc_cursor_get_u8(c, &flags) || !tc_cursor_skip(c, 6))
		return dec_short(d);
	if (off >> 4 < 5) {
		d->bad_tcp = 1;
		return TC_DEC_MALFORMED;
	}
	if (!tc_cursor_skip(c, (size_t)(off >> 4) * 4 - 20))
		return dec_short(d);
	pkt->proto = IPP_TCP;
	pkt->sport = sport;
	pkt->dport = dport;
	pkt->seq = seq;
	pkt->ack = ack;
	pkt->tcp_flags = flags;
	pkt->payload = tc_cursor_ptr(c);
	pkt->payload_len = tc_cursor_left(c);
	return TC_DEC_OK;
}

/* The tunnel parsers below call a header that does not fit "short" only if the capture was
 * cut; otherwise the datagram simply is not that tunnel. */
static enum tun_next dec_tun_short(const struct dec *d)
{
	return d->cut ? TUN_SHORT : TUN_NONE;
}

/* RFC 7348: flags (I bit 0x08 says the VNI is valid), 3 reserved, VNI, 1 reserved. Other flag
 * bits are left alone: the group-policy extension uses them. */
static enum tun_next dec_vxlan(struct dec *d, struct tc_cursor *c)
{
	uint8_t flags;

	if (!tc_cursor_get_u8(c, &flags) || !tc_cursor_skip(c, 7))
		return dec_tun_short(d);
	return (flags & 0x08) ? TUN_ETHER : TUN_NONE;
}

/* RFC 8926: version (2 bits, 0) and options length in 4-byte words, flags, protocol type, VNI. */
static enum tun_next dec_geneve(struct dec *d, struct tc_cursor *c)
{
	uint8_t vo;
	uint16_t type;

	if (!tc_cursor_get_u8(c, &vo) || !tc_cursor_skip(c, 1) || !tc_cursor_get_u16(c, &type) ||
	    !tc_cursor_skip(c, 4))
		return dec_tun_short(d);
	if (vo >> 6 != 0)
		return TUN_NONE;
	if (!tc_cursor_skip(c, (size_t)(vo & 0x3f) * 4))
		return dec_tun_short(d);
	switch (type) {
	case ET_TEB:
		return TUN_ETHER;
	case ET_IPV4:
		return TUN_IPV4;
	case ET_IPV6:
		return TUN_IPV6;
	default:
		return TUN_NONE;
	}
}

/* 3GPP TS 29.281 5.1: flags (version 1, PT 1, E S PN), message type, length of what follows the
 * first 8 bytes, TEID; if any of E, S, PN is set, sequence number, N-PDU number and next
 * extension type follow, and with E a chain of extensions each sized in 4-byte words with its
 * next type in its last byte. Only a G-PDU (type 255) carries a user packet. */
static enum tun_next dec_gtpu(struct dec *d, struct tc_cursor *c)
{
	uint8_t flags, type, next, words, first;
	uint16_t len;

	if (!tc_cursor_get_u8(c, &flags) || !tc_cursor_get_u8(c, &type) ||
	    !tc_cursor_get_u16(c, &len) || !tc_cursor_skip(c, 4))
		return dec_tun_short(d);
	if (flags >> 5 != 1 || !(flags & 0x10) || type != 255)
		return TUN_NONE;
	dec_clip(d, c, len);
	if (flags & 0x07) {
		if (!tc_cursor_skip(c, 3) || !tc_cursor_get_u8(c, &next))
			return dec_tun_short(d);
		if (!(flags & 0x04))
			next = 0;
		for (int i = 0; next != 0; i++) {
			if (i == DEC_MAX_GTP_EXT)
				return TUN_NONE;
			if (!tc_cursor_get_u8(c, &words))
				return dec_tun_short(d);
			if (words == 0)
				return TUN_NONE;
			if (!tc_cursor_skip(c, (size_t)words * 4 - 2) ||
			    !tc_cursor_get_u8(c, &next))
				return dec_tun_short(d);
		}
	}
	if (!tc_cursor_peek_u8(c, 0, &first))
		return dec_tun_short(d);
	switch (first >> 4) {
	case 4:
		return TUN_IPV4;
	case 6:
		return TUN_IPV6;
	default:
		return TUN_NONE;
	}
}

/* A datagram to a tunnel port is tried as that tunnel. If its header does not parse, or the
 * packet inside is malformed, it is handed on as the plain UDP it also is. */
static enum tc_decode_status dec_udp_tunnel(struct dec *d, struct tc_cursor *c, uint16_t dport)
{
	struct dec saved = *d;
	struct tc_packet outer = *d->pkt;
	struct tc_cursor in = *c;
	enum tun_next next;
	enum tc_decode_status s;

	if (dport == PORT_VXLAN)
		next = dec_vxlan(d, &in);
	else if (dport == PORT_GENEVE)
		next = dec_geneve(d, &in);
	else
		next = dec_gtpu(d, &in);
	if (next == TUN_NONE) {
		*d = saved;
		return TC_DEC_OK;
	}
	if (next == TUN_SHORT)
		return TC_DEC_TRUNCATED;
	if (!dec_enter(d))
		return TC_DEC_UNSUPPORTED;
	if (next == TUN_ETHER)
		s = dec_ether(d, &in);
	else if (next == TUN_IPV4)
		s = dec_ipv4(d, &in);
	else
		s = dec_ipv6(d, &in);
	if (s == TC_DEC_MALFORMED && !d->bad_tcp) {
		*d = saved;
		*d->pkt = outer;
		return TC_DEC_OK;
	}
	return s;
}

static enum tc_decode_status dec_udp(struct dec *d, struct tc_cursor *c)
{
	struct tc_packet *pkt = d->pkt;
	uint16_t sport, dport, len;

	if (!tc_cursor_get_u16(c, &sport) || !tc_cursor_get_u16(c, &dport) ||
	    !tc_cursor_get_u16(c, &len) || !tc_cursor_skip(c, 2))
		return dec_short(d);
	/* Zero is what an IPv6 jumbogram carries (RFC 2675): the IP length bounds it then. */
	if (len != 0 && len < 8)
		return TC_DEC_MALFORMED;
	if (len != 0)
		dec_clip(d, c, len - 8);
	pkt->proto = IPP_UDP;
	pkt->sport = sport;
	pkt->dport = dport;
	pkt->payload = tc_cursor_ptr(c);
	pkt->payload_len = tc_cursor_left(c);
	/* Tunnels are recognised by destination port only: the source port of VXLAN and Geneve
	 * is a flow hash, and GTP-U G-PDUs always go to 2152. */
	if (dport == PORT_VXLAN || dport == PORT_GENEVE || dport == PORT_GTPU)
		return dec_udp_tunnel(d, c, dport);
	return TC_DEC_OK;
}

/* ERSPAN type III (draft-foschiano-erspan-03 4.3): version 2, VLAN, COS/BSO/T, session,
 * timestamp, SGT, then P, frame type (5 bits), hardware id, direction, granularity and the
 * O bit announcing an 8-byte platform-specific subheader. */
static enum tc_decode_status dec_erspan3(struct dec *d, struct tc_cursor *c)
{
	uint8_t ver, b10, b11;

	if (!tc_cursor_get_u8(c, &ver) || !tc_cursor_skip(c, 9) || !tc_cursor_get_u8(c, &b10) ||
	    !tc_cursor_get_u8(c, &b11))
		return dec_short(d);
	if (ver >> 4 != 2)
		return TC_DEC_MALFORMED;
	if ((b11 & 0x01) && !tc_cursor_skip(c, 8))
		return dec_short(d);
	switch ((b10 >> 2) & 0x1f) {
	case 0:
		return dec_ether(d, c);
	case 2:
		return dec_ip_guess(d, c, TC_DEC_MALFORMED);
	default:
		return TC_DEC_UNSUPPORTED;
	}
}

/* GRE, RFC 2784 with the RFC 2890 key and sequence number: C K S flags, version 0. */
static enum tc_decode_status dec_gre(struct dec *d, struct tc_cursor *c)
{
	uint16_t flags, proto;
	uint8_t ver;

	if (!tc_cursor_get_u16(c, &flags) || !tc_cursor_get_u16(c, &proto))
		return dec_short(d);
	/* Version 1 is PPTP's enhanced GRE (PPP, in practice compressed and encrypted); the R bit
	 * is RFC 1701 source routing, obsolete. */
	if ((flags & 0x0007) != 0 || (flags & 0x4000))
		return TC_DEC_UNSUPPORTED;
	if (((flags & 0x8000) && !tc_cursor_skip(c, 4)) ||
	    ((flags & 0x2000) && !tc_cursor_skip(c, 4)) ||
	    ((flags & 0x1000) && !tc_cursor_skip(c, 4)))
		return dec_short(d);
	switch (proto) {
	case ET_TEB:
		return dec_ether(d, c);
	case ET_ERSPAN_2:
		/* Type I has no sequence number and no ERSPAN header: the frame follows. */
		if (flags & 0x1000) {
			if (!tc_cursor_get_u8(c, &ver) || !tc_cursor_skip(c, 7))
				return dec_short(d);
			if (ver >> 4 != 1)
				return TC_DEC_MALFORMED;
		}
		return dec_ether(d, c);
	case ET_ERSPAN_3:
		return dec_erspan3(d, c);
	default:
		return dec_ethertype(d, proto, c);
	}
}

/* The protocol above IP (after any extension headers). */
static enum tc_decode_status dec_proto(struct dec *d, uint8_t proto, struct tc_cursor *c)
{
	d->pkt->proto = proto;
	switch (proto) {
	case IPP_TCP:
		return dec_tcp(d, c);
	case IPP_UDP:
		return dec_udp(d, c);
	case IPP_IPIP:
		return dec_enter(d) ? dec_ipv4(d, c) : TC_DEC_UNSUPPORTED;
	case IPP_IPV6:
		return dec_enter(d) ? dec_ipv6(d, c) : TC_DEC_UNSUPPORTED;
	case IPP_GRE:
		return dec_enter(d) ? dec_gre(d, c) : TC_DEC_UNSUPPORTED;
	default:
		return TC_DEC_NOT_TCP_UDP;
	}
}

/* Describes the fragment whose IP header starts at pkt->l3 and whose data is all of c. Only a
 * piece that holds every byte its header announces may be reassembled; a length of 0 cannot be
 * a fragment (RFC 2675 forbids a jumbogram one; offload never splits into fragments). */
static enum tc_decode_status dec_fragment(struct dec *d, struct tc_cursor *c, struct tc_frag *f)
{
	struct tc_packet *pkt = d->pkt;

	if (d->ip_len == 0)
		return TC_DEC_MALFORMED;
	if (pkt->l3_len < d->ip_len)
		return dec_short(d);
	f->hdr = pkt->l3;
	f->data = tc_cursor_ptr(c);
	f->data_len = tc_cursor_left(c);
	pkt->proto = f->proto;
	pkt->frag = *f;
	return TC_DEC_FRAGMENT;
}

/* The IPv6 fragment header (RFC 8200 4.5) after next and reserved: offset in the top 13 bits of
 * a 16-bit word, M in its lowest bit, then the identification. hdr_len is where it starts, the
 * end of the unfragmentable part; nh_off is the byte that named it. */
static enum tc_decode_status dec_frag6(struct dec *d, struct tc_cursor *c, uint8_t next,
                                       size_t hdr_len, size_t nh_off)
{
	struct tc_frag f = {.ip_version = 6, .proto = next, .hdr_len = hdr_len, .nh_off = nh_off};
	uint16_t word;

	if (!tc_cursor_get_u16(c, &word) || !tc_cursor_get_u32(c, &f.id))
		return dec_short(d);
	/* Offset 0 and M 0 is an atomic fragment (RFC 6946), a whole packet. */
	if ((word & 0xfff9) == 0)
		return TC_DEC_OK;
	f.offset = word & 0xfff8;
	f.more = word & 1;
	return dec_fragment(d, c, &f);
}

/* Skips one extension header and reads the next header number from it. AH counts its length
 * in 4-byte words minus 2 (RFC 4302), the others in 8-byte words minus 1 (RFC 8200 4.3-4.6);
 * the fragment header is a fixed 8 bytes. start (where this header begins) and nh_off (the byte
 * that named it), both from the IP header, describe a fragment header. */
static enum tc_decode_status dec_ext_one(struct dec *d, struct tc_cursor *c, uint8_t *nh,
                                         size_t start, size_t nh_off)
{
	enum tc_decode_status s;
	uint8_t next, len;
	size_t size;

	if (!tc_cursor_get_u8(c, &next) || !tc_cursor_get_u8(c, &len))
		return dec_short(d);
	if (*nh == IPP_FRAGMENT) {
		s = dec_frag6(d, c, next, start, nh_off);
		if (s != TC_DEC_OK)
			return s;
	} else {
		size = *nh == IPP_AH ? ((size_t)len + 2) * 4 : ((size_t)len + 1) * 8;
		if (!tc_cursor_skip(c, size - 2))
			return dec_short(d);
	}
	*nh = next;
	return TC_DEC_OK;
}

static int dec_is_ext(uint8_t nh, int v6)
{
	if (nh == IPP_AH)
		return 1;
	return v6 && (nh == IPP_HOPOPTS || nh == IPP_ROUTING || nh == IPP_FRAGMENT ||
	              nh == IPP_DSTOPTS || nh == IPP_MOBILITY);
}

/* c starts right after the fixed IP header and nothing clips it on the way, so a header's
 * offset from pkt->l3 is l3_len less what is left. */
static enum tc_decode_status dec_ext_chain(struct dec *d, struct tc_cursor *c, uint8_t *nh, int v6)
{
	size_t nh_off = v6 ? 6 : 9; /* next header, protocol */
	size_t start;
	enum tc_decode_status s;

	for (int i = 0; dec_is_ext(*nh, v6); i++) {
		if (i == DEC_MAX_EXT)
			return TC_DEC_UNSUPPORTED;
		start = d->pkt->l3_len - tc_cursor_left(c);
		s = dec_ext_one(d, c, nh, start, nh_off);
		if (s != TC_DEC_OK)
			return s;
		nh_off = start; /* every extension header opens with its next header */
	}
	return TC_DEC_OK;
}

static enum tc_decode_status dec_ipv4(struct dec *d, struct tc_cursor *c)
{
	struct tc_packet *pkt = d->pkt;
	struct tc_cursor win = *c;
	struct tc_addr src, dst;
	uint8_t vihl, proto;
	uint16_t total, id, frag;
	size_t hlen;
	enum tc_decode_status s;

	if (!tc_cursor_get_u8(c, &vihl))
		return dec_short(d);
	if (vihl >> 4 != 4 || (vihl & 0x0f) < 5)
		return TC_DEC_MALFORMED;
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (!tc_cursor_skip(c, 1) || !tc_cursor_get_u16(c, &total) || !tc_cursor_get_u16(c, &id) ||
	    !tc_cursor_get_u16(c, &frag) || !tc_cursor_skip(c, 1) || !tc_cursor_get_u8(c, &proto) ||
	    !tc_cursor_skip(c, 2) || !dec_get_addr(c, 4, &src) || !dec_get_addr(c, 4, &dst) ||
	    !tc_cursor_skip(c, hlen - 20))
		return dec_short(d);
	/* A zero total length is what TCP segmentation offload leaves in packets captured on the
	 * sending host before the NIC splits them: the captured bytes are all there is. */
	if (total != 0 && total < hlen)
		return TC_DEC_MALFORMED;
	if (total != 0)
		dec_clip(d, &win, total);
	d->ip_len = total;
	pkt->ip_version = 4;
	pkt->src = src;
	pkt->dst = dst;
	pkt->proto = proto;
	pkt->l3 = tc_cursor_ptr(&win);
	pkt->l3_len = tc_cursor_left(&win);
	if (!tc_cursor_skip(&win, hlen))
		return dec_short(d);
	*c = win;
	/* MF set or a non-zero offset: a piece of a packet, which a later stage reassembles. The
	 * offset counts 8-byte units (RFC 791 3.1). */
	if (frag & 0x3fff) {
		struct tc_frag f = {.ip_version = 4, .proto = proto, .more = (frag >> 13) & 1};

		f.id = id;
		f.offset = (uint32_t)(frag & 0x1fff) * 8;
		f.hdr_len = hlen;
		f.nh_off = 9;
		return dec_fragment(d, c, &f);
	}
	s = dec_ext_chain(d, c, &proto, 0);
	return s == TC_DEC_OK ? dec_proto(d, proto, c) : s;
}

static enum tc_decode_status dec_ipv6(struct dec *d, struct tc_cursor *c)
{
	struct tc_packet *pkt = d->pkt;
	struct tc_cursor win = *c;
	struct tc_addr src, dst;
	uint32_t vtcfl;
	uint16_t plen;
	uint8_t nh;
	enum tc_decode_status s;

	if (!tc_cursor_get_u32(c, &vtcfl))
		return dec_short(d);
	if (vtcfl >> 28 != 6)
		return TC_DEC_MALFORMED;
	if (!tc_cursor_get_u16(c, &plen) || !tc_cursor_get_u8(c, &nh) || !tc_cursor_skip(c, 1) ||
	    !dec_get_addr(c, 16, &src) || !dec_get_addr(c, 16, &dst))
		return dec_short(d);
	/* Zero is a jumbogram (RFC 2675) or segmentation offload: keep the captured bytes. */
	if (plen != 0)
		dec_clip(d, &win, (size_t)plen + 40);
	d->ip_len = plen != 0 ? (size_t)plen + 40 : 0;
	pkt->ip_version = 6;
	pkt->src = src;
	pkt->dst = dst;
	pkt->proto = nh;
	pkt->l3 = tc_cursor_ptr(&win);
	pkt->l3_len = tc_cursor_left(&win);
	if (!tc_cursor_skip(&win, 40))
		return dec_short(d);
	*c = win;
	s = dec_ext_chain(d, c, &nh, 1);
	return s == TC_DEC_OK ? dec_proto(d, nh, c) : s;
}

/* MPLS (RFC 3032): labels up to the bottom of stack, then a payload whose type no field names.
 * An IP header is told by its version nibble; a nibble of 0 is the pseudowire control word
 * (RFC 4385) of an Ethernet pseudowire (RFC 4448), a whole frame and so one more layer. */
static enum tc_decode_status dec_mpls(struct dec *d, struct tc_cursor *c)
{
	uint32_t entry = 0;
	uint8_t first;

	for (int i = 0; !(entry & 0x100); i++) {
		if (i == DEC_MAX_LABELS)
			return TC_DEC_UNSUPPORTED;
		if (!tc_cursor_get_u32(c, &entry))
			return dec_short(d);
	}
	if (!tc_cursor_peek_u8(c, 0, &first))
		return dec_short(d);
	if (first >> 4 != 0)
		return dec_ip_guess(d, c, TC_DEC_UNSUPPORTED);
	if (!tc_cursor_skip(c, 4))
		return dec_short(d);
	if (!dec_enter(d))
		return TC_DEC_UNSUPPORTED;
	return dec_ether(d, c);
}

/* The PPP protocol numbers we follow (RFC 1332, RFC 5072, RFC 3032). */
static enum tc_decode_status dec_ppp_proto(struct dec *d, uint16_t proto, struct tc_cursor *c)
{
	switch (proto) {
	case PPP_IPV4:
		return dec_ipv4(d, c);
	case PPP_IPV6:
		return dec_ipv6(d, c);
	case PPP_MPLS:
	case PPP_MPLS_MC:
		return dec_mpls(d, c);
	default:
		return TC_DEC_NOT_IP;
	}
}

/* PPPoE session stage (RFC 2516): version/type 0x11, code 0, session id, length of the PPP
 * frame (protocol field included), then PPP without address and control. */
static enum tc_decode_status dec_pppoe(struct dec *d, struct tc_cursor *c)
{
	uint8_t vt, code;
	uint16_t len, proto;

	if (!tc_cursor_get_u8(c, &vt) || !tc_cursor_get_u8(c, &code) || !tc_cursor_skip(c, 2) ||
	    !tc_cursor_get_u16(c, &len))
		return dec_short(d);
	if (vt != 0x11 || code != 0)
		return TC_DEC_MALFORMED;
	dec_clip(d, c, len);
	if (!tc_cursor_get_u16(c, &proto))
		return dec_short(d);
	return dec_ppp_proto(d, proto, c);
}

/* Ethertype dispatch, looking through any number (up to the bound) of VLAN tags. */
static enum tc_decode_status dec_ethertype(struct dec *d, uint16_t type, struct tc_cursor *c)
{
	for (int tags = 0;; tags++) {
		switch (type) {
		case ET_IPV4:
			return dec_ipv4(d, c);
		case ET_IPV6:
			return dec_ipv6(d, c);
		case ET_VLAN:
		case ET_QINQ:
		case ET_QINQ_OLD:
			if (tags == DEC_MAX_TAGS)
				return TC_DEC_UNSUPPORTED;
			if (!tc_cursor_skip(c, 2) || !tc_cursor_get_u16(c, &type))
				return dec_short(d);
			break;
		case ET_MPLS:
		case ET_MPLS_MC:
			return dec_mpls(d, c);
		case ET_PPPOE_SESSION:
			return dec_pppoe(d, c);
		default:
			return TC_DEC_NOT_IP;
		}
	}
}

/* Ethernet II, or IEEE 802.3 with a length instead of a type, where IP can only come in an
 * LLC/SNAP header with OUI 0 (RFC 1042). */
static enum tc_decode_status dec_ether(struct dec *d, struct tc_cursor *c)
{
	uint16_t type;
	uint8_t dsap, ssap, ctl;
	uint32_t oui;

	if (!tc_cursor_skip(c, 12) || !tc_cursor_get_u16(c, &type))
		return dec_short(d);
	if (type > 1500)
		return dec_ethertype(d, type, c);
	dec_clip(d, c, type);
	if (!tc_cursor_get_u8(c, &dsap) || !tc_cursor_get_u8(c, &ssap) ||
	    !tc_cursor_get_u8(c, &ctl))
		return dec_short(d);
	if (dsap != 0xaa || ssap != 0xaa || ctl != 0x03)
		return TC_DEC_NOT_IP;
	if (!tc_cursor_get_u24(c, &oui) || !tc_cursor_get_u16(c, &type))
		return dec_short(d);
	return oui == 0 ? dec_ethertype(d, type, c) : TC_DEC_NOT_IP;
}

/* DLT_NULL and DLT_LOOP: a 4-byte address family, in the capturing host's byte order for NULL
 * and network order for LOOP. Files travel between hosts, so both orders are accepted: a value
 * with its high half set was written little-endian. */
static enum tc_decode_status dec_null(struct dec *d, struct tc_cursor *c)
{
	uint32_t fam;

	if (!tc_cursor_get_u32(c, &fam))
		return dec_short(d);
	if (fam > 0xffff)
		fam = (fam >> 24) | ((fam >> 8) & 0xff00) | ((fam & 0xff00) << 8) |
		      ((fam & 0xff) << 24);
	switch (fam) {
	case 2:
		return dec_ipv4(d, c);
	case 24: /* AF_INET6 on NetBSD and OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		return dec_ipv6(d, c);
	default:
		return TC_DEC_NOT_IP;
	}
}

/* PPP (RFC 1661) with the HDLC-like address and control bytes ff 03 optional (RFC 1662) and
 * the protocol field possibly compressed to one byte: a compressed field is odd. */
static enum tc_decode_status dec_ppp(struct dec *d, struct tc_cursor *c)
{
	uint8_t a, b;
	uint16_t proto;

	if (tc_cursor_peek_u8(c, 0, &a) && a == 0xff && tc_cursor_peek_u8(c, 1, &b) && b == 0x03)
		tc_cursor_skip(c, 2);
	if (!tc_cursor_peek_u8(c, 0, &a))
		return dec_short(d);
	if (a & 1) {
		proto = a;
		tc_cursor_skip(c, 1);
	} else if (!tc_cursor_get_u16(c, &proto)) {
		return dec_short(d);
	}
	return dec_ppp_proto(d, proto, c);
}

/* to = ::ffff:a.b.c.d, written as one 16-byte store: the flow key's fold and hash read it
 * back at once in 8- and 16-byte loads, which a store of 12 bytes and one of 4 cannot
 * forward (perf put the stall at 7 % of a bench-1G read's packet thread, in flow_key_make). */
static void v4_mapped(uint8_t to[16], const uint8_t *ip4)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	typedef uint64_t v2u64 __attribute__((vector_size(16)));
	uint32_t a;

	memcpy(&a, ip4, 4);
	v2u64 v = {0, 0xffffull << 16 | (uint64_t)a << 32};
	memcpy(to, &v, 16);
#else
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memcpy(to, pfx, 12);
	memcpy(to + 12, ip4, 4);
#endif
}

/*
 * Most frames on a span port are Ethernet II, IPv4 without options or fragmentation, and TCP:
 * those are read straight off the bytes, every other frame (and any one of these with
 * something odd: a VLAN tag, IP options, a total length of 0 or past the capture, a short TCP
 * header) goes the general way below. The result is the same either way; test_decode
 * compares the two on every frame of the samples and on each of them with header bytes
 * changed. Returns 0, pkt untouched, when the frame is not of that kind.
 */
static int fast_ether_ipv4_tcp(const uint8_t *f, size_t caplen, struct tc_packet *pkt)
{
	const uint8_t *ip = f + 14, *tcp = f + 34;
	size_t total, off;

	if (caplen < 54 || f[12] != 0x08 || f[13] != 0x00 || ip[0] != 0x45 || ip[9] != IPP_TCP ||
	    (ip[6] & 0x3f) || ip[7])
		return 0;
	total = (size_t)ip[2] << 8 | ip[3];
	off = (size_t)(tcp[12] >> 4) * 4;
	if (total > caplen - 14 || off < 20 || total < 20 + off)
		return 0;
	/* Every field is set here (test_decode checks each against the general way, on a
	 * packet that starts as garbage): clearing the whole struct first, a `rep stos`, was a
	 * third of this function's time. */
	pkt->ip_version = 4;
	pkt->proto = IPP_TCP;
	v4_mapped(pkt->src.b, ip + 12);
	v4_mapped(pkt->dst.b, ip + 16);
	pkt->tunnels = 0;
	memset(&pkt->frag, 0, sizeof pkt->frag);
	pkt->l3 = ip;
	pkt->l3_len = total;
	pkt->sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
	pkt->dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	pkt->seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	pkt->ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 | (uint32_t)tcp[10] << 8 | tcp[11];
	pkt->tcp_flags = tcp[13];
	pkt->payload = tcp + off;
	pkt->payload_len = total - 20 - off;
	return 1;
}

/* Clears pkt but for its time, which the caller may have set. */
static void clear_packet(struct tc_packet *pkt)
{
	uint64_t ts = pkt->ts_usec;

	memset(pkt, 0, sizeof(*pkt));
	pkt->ts_usec = ts;
}

static enum tc_decode_status decode_general(int linktype, const uint8_t *frame, size_t caplen,
                                            struct tc_packet *pkt);

enum tc_decode_status tc_decode(int linktype, const uint8_t *frame, size_t caplen,
                                struct tc_packet *pkt)
{
	if (linktype == LT_EN10MB && fast_ether_ipv4_tcp(frame, caplen, pkt))
		return TC_DEC_OK;
	clear_packet(pkt);
	return decode_general(linktype, frame, caplen, pkt);
}

enum tc_decode_status tc_decode_general(int linktype, const uint8_t *frame, size_t caplen,
                                        struct tc_packet *pkt)
{
	clear_packet(pkt);
	return decode_general(linktype, frame, caplen, pkt);
}

/* pkt is cleared. */
static enum tc_decode_status decode_general(int linktype, const uint8_t *frame, size_t caplen,
                                            struct tc_packet *pkt)
{
	struct dec d = {pkt, 1, 0};
	struct tc_cursor c;
	uint16_t type;

	tc_cursor_init(&c, frame, caplen);
	switch (linktype) {
	case LT_EN10MB:
		return dec_ether(&d, &c);
	case LT_LINUX_SLL:
		/* packet type, ARPHRD type, address length, 8 address bytes, protocol */
		if (!tc_cursor_skip(&c, 14) || !tc_cursor_get_u16(&c, &type))
			return TC_DEC_TRUNCATED;
		return dec_ethertype(&d, type, &c);
	case LT_LINUX_SLL2:
		/* protocol, reserved, interface index, ARPHRD type, packet type, address length,
		 * 8 address bytes */
		if (!tc_cursor_get_u16(&c, &type) || !tc_cursor_skip(&c, 18))
			return TC_DEC_TRUNCATED;
		return dec_ethertype(&d, type, &c);
	case LT_RAW:
	case LT_RAW_OPENBSD:
	case LT_RAW_FILE:
		return dec_ip_guess(&d, &c, TC_DEC_MALFORMED);
	case LT_IPV4:
		return dec_ipv4(&d, &c);
	case LT_IPV6:
		return dec_ipv6(&d, &c);
	case LT_NULL:
	case LT_LOOP:
		return dec_null(&d, &c);
	case LT_PPP:
	case LT_PPP_SERIAL:
		return dec_ppp(&d, &c);
	case LT_C_HDLC:
		/* Cisco HDLC: address, control, then an ethertype */
		if (!tc_cursor_skip(&c, 2) || !tc_cursor_get_u16(&c, &type))
			return TC_DEC_TRUNCATED;
		return dec_ethertype(&d, type, &c);
	default:
		return TC_DEC_UNSUPPORTED;
	}
}

int tc_decode_linktype_supported(int linktype)
{
	switch (linktype) {
	case LT_NULL:
	case LT_EN10MB:
	case LT_PPP:
	case LT_RAW:
	case LT_RAW_OPENBSD:
	case LT_PPP_SERIAL:
	case LT_RAW_FILE:
	case LT_C_HDLC:
	case LT_LOOP:
	case LT_LINUX_SLL:
	case LT_IPV4:
	case LT_IPV6:
	case LT_LINUX_SLL2:
		return 1;
	default:
		return 0;
	}
}

const char *tc_decode_status_name(enum tc_decode_status s)
{
	switch (s) {
	case TC_DEC_OK:
		return "ok";
	case TC_DEC_NOT_IP:
		return "not-ip";
	case TC_DEC_NOT_TCP_UDP:
		return "not-tcp-udp";
	case TC_DEC_TRUNCATED:
		return "truncated";
	case TC_DEC_MALFORMED:
		return "malformed";
	case TC_DEC_FRAGMENT:
		return "fragment";
	case TC_DEC_UNSUPPORTED:
		return "unsupported";
	default:
		return "unknown";
	}
}
