/*
 * packet.h: what the decode room hands to the flow table: the innermost IP endpoints and
 * transport header of one captured frame, with the transport payload. Tunnels, VLAN tags and
 * link layers have been looked through; nothing here points outside the captured bytes.
 */
#ifndef TLSCENSUS_PACKET_H
#define TLSCENSUS_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* An IPv4 address is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so one 16-byte
 * key serves both families. */
struct tc_addr {
	uint8_t b[16];
};

enum tc_decode_status {
	TC_DEC_OK = 0,
	TC_DEC_NOT_IP,      /* ARP, LLDP, STP...: nothing for us */
	TC_DEC_NOT_TCP_UDP, /* ICMP, ESP, ...: nothing for us */
	TC_DEC_TRUNCATED,   /* headers cut by the snap length */
	TC_DEC_MALFORMED,   /* header fields that cannot be */
	TC_DEC_FRAGMENT,    /* an IP fragment, whole as captured: see struct tc_frag */
	TC_DEC_UNSUPPORTED, /* link type or encapsulation not handled */
	TC_DEC_COUNT
};

enum tc_tcp_flag {
	TC_TCP_FIN = 0x01,
	TC_TCP_SYN = 0x02,
	TC_TCP_RST = 0x04,
	TC_TCP_PSH = 0x08,
	TC_TCP_ACK = 0x10,
};

/* An IP fragment as tc_decode finds it (status TC_DEC_FRAGMENT): the first IP header, from the
 * outside in, whose MF flag or offset is set (IPv4), or that carries a fragment header with M
 * or an offset set (IPv6; an atomic fragment, RFC 6946, is a whole packet and decodes on).
 * Decoding stops there: pkt->src, dst, ip_version, l3 and tunnels describe that header and what
 * was looked through to reach it, so a fragmented tunnel carrier is reported as the carrier and
 * reassembling it recovers the whole tunnel. A fragment whose bytes the capture or an outer
 * length cut short of what its own header announces is TC_DEC_TRUNCATED or TC_DEC_MALFORMED
 * instead: a cut piece would reassemble into wrong bytes. ip_version is 0 in every other case. */
struct tc_frag {
	uint8_t ip_version; /* 4 or 6 */
	uint8_t proto;      /* IPv4 protocol; IPv6: next header of the fragment header */
	uint8_t more;       /* more fragments follow (MF, M) */
	uint32_t id;        /* identification: 16 bits for IPv4, 32 for IPv6 */
	uint32_t offset;    /* of data in the fragmentable part, bytes (a multiple of 8) */
	/* The part every fragment repeats: the IPv4 header with its options, or the IPv6 header
	 * with the extension headers before the fragment header (RFC 8200 4.5, unfragmentable
	 * part). hdr[nh_off] is the byte that names the fragment header (IPv6 only; 9, the
	 * protocol field, for IPv4). */
	const uint8_t *hdr;
	size_t hdr_len;
	size_t nh_off;
	/* This fragment's share: after the IPv4 header, after the IPv6 fragment header. */
	const uint8_t *data;
	size_t data_len;
};

struct tc_packet {
	uint64_t ts_usec; /* capture time, microseconds since the epoch */
	struct tc_addr src, dst;
	uint8_t ip_version; /* 4 or 6 (of the innermost header) */
	uint8_t proto;      /* 6 TCP, 17 UDP */
	uint16_t sport, dport;
	uint8_t tcp_flags; /* enum tc_tcp_flag */
	uint32_t seq, ack; /* TCP only */
	const uint8_t *l3; /* innermost IP header, for nDPI */
	size_t l3_len;     /* captured bytes from l3 on, clipped to the IP total length */
	const uint8_t *payload;
	size_t payload_len;  /* clipped to what was captured and to the IP total length */
	uint8_t tunnels;     /* encapsulation layers looked through */
	struct tc_frag frag; /* status TC_DEC_FRAGMENT only */
};

/* Decodes one frame of the given DLT_* link type. */
enum tc_decode_status tc_decode(int linktype, const uint8_t *frame, size_t caplen,
                                struct tc_packet *pkt);
/* The same without the fast path for Ethernet/IPv4/TCP frames (the test compares the two). */
enum tc_decode_status tc_decode_general(int linktype, const uint8_t *frame, size_t caplen,
                                        struct tc_packet *pkt);

/* Whether tc_decode knows this link type (checked once per capture, for a clear error). */
int tc_decode_linktype_supported(int linktype);

const char *tc_decode_status_name(enum tc_decode_status s);

static inline int tc_addr_is_v4(const struct tc_addr *a)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	for (int i = 0; i < 12; i++)
		if (a->b[i] != pfx[i])
			return 0;
	return 1;
}

/* Textual form: dotted quad for IPv4, RFC 5952 for IPv6. buf needs 46 bytes. */
char *tc_addr_format(const struct tc_addr *a, char *buf, size_t buflen);

#endif
