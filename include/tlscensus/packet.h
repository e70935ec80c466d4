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
	TC_DEC_NOT_IP,       /* ARP, LLDP, STP...: nothing for us */
	TC_DEC_NOT_TCP_UDP,  /* ICMP, ESP, ...: nothing for us */
	TC_DEC_TRUNCATED,    /* headers cut by the snap length */
	TC_DEC_MALFORMED,    /* header fields that cannot be */
	TC_DEC_FRAGMENT,     /* a non-first or incomplete IP fragment (reassembly comes later) */
	TC_DEC_UNSUPPORTED,  /* link type or encapsulation not handled */
	TC_DEC_COUNT
};

enum tc_tcp_flag {
	TC_TCP_FIN = 0x01,
	TC_TCP_SYN = 0x02,
	TC_TCP_RST = 0x04,
	TC_TCP_PSH = 0x08,
	TC_TCP_ACK = 0x10,
};

struct tc_packet {
	uint64_t ts_usec;      /* capture time, microseconds since the epoch */
	struct tc_addr src, dst;
	uint8_t ip_version;    /* 4 or 6 (of the innermost header) */
	uint8_t proto;         /* 6 TCP, 17 UDP */
	uint16_t sport, dport;
	uint8_t tcp_flags;     /* enum tc_tcp_flag */
	uint32_t seq, ack;     /* TCP only */
	const uint8_t *l3;     /* innermost IP header, for nDPI */
	size_t l3_len;         /* captured bytes from l3 on, clipped to the IP total length */
	const uint8_t *payload;
	size_t payload_len;    /* clipped to what was captured and to the IP total length */
	uint8_t tunnels;       /* encapsulation layers looked through */
};

/* Decodes one frame of the given DLT_* link type. */
enum tc_decode_status tc_decode(int linktype, const uint8_t *frame, size_t caplen,
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
