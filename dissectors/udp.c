/*
 * udp.c: tc_dissector_udp, what a UDP 5-tuple carries, told from each datagram's first byte.
 * DTLS datagrams go whole to dtls.c, QUIC ones to quic.c; STUN and the rest are only named, so
 * the caller can give up on a flow that will never hold a handshake. No flows or ports here:
 * the caller keeps one tc_handshake per 5-tuple and says when it ends.
 */
#include "handshake.h"
#include "quic.h"

/*
 * RFC 7983 7: on a 5-tuple that multiplexes STUN, DTLS and RTP/RTCP, the first byte says
 * which: STUN 0..3, DTLS 20..63, RTP/RTCP 128..191; RFC 9443 adds QUIC, whose fixed bit puts
 * its short headers in 64..127 and its long headers in 192..255.
 */
#define STUN_LAST  3
#define DTLS_FIRST 20
#define DTLS_LAST  63
#define QUIC_LONG  0xc0 /* long header with the fixed bit */
#define QUIC_SHORT 0x40 /* a short header with the fixed bit, and above */

/* RFC 8489 5: a STUN message starts with a 20-byte header, the magic cookie in bytes 4..7. */
#define STUN_HEADER 20
static const uint8_t stun_cookie[4] = {0x21, 0x12, 0xa4, 0x42};

static int stun_message(struct tc_cursor c)
{
	struct tc_cursor cookie;

	return tc_cursor_left(&c) >= STUN_HEADER && tc_cursor_skip(&c, 4) &&
	       tc_cursor_get_bytes(&c, sizeof(stun_cookie), &cookie) &&
	       tc_cursor_equal(&cookie, stun_cookie, sizeof(stun_cookie));
}

/* DTLS, a STUN binding with the cookie (WebRTC runs its ICE checks on the 5-tuple before the
 * DTLS handshake), or a QUIC Initial of a version we read. DNS, QUIC short headers and the
 * rest of UDP then take no flow. */
static int udp_opens(const uint8_t *p, size_t n)
{
	struct tc_cursor c;
	uint8_t first;

	tc_cursor_init(&c, p, n);
	if (!tc_cursor_peek_u8(&c, 0, &first))
		return 0;
	if (first <= STUN_LAST)
		return stun_message(c);
	if (first >= QUIC_LONG)
		return tc_quic_opens(p, n);
	return first >= DTLS_FIRST && first <= DTLS_LAST && tc_dtls_plausible(p, n);
}

/* Once a DTLS handshake record was seen on the 5-tuple, every datagram in DTLS's range is
 * DTLS: the records that follow need not be handshakes. Once a QUIC Initial was, every
 * datagram is QUIC's. */
static enum tc_datagram_kind udp_datagram(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p,
                                          size_t n)
{
	struct tc_cursor c;
	uint8_t first;

	tc_cursor_init(&c, p, n);
	if (!tc_cursor_peek_u8(&c, 0, &first))
		return TC_DG_OTHER;
	/* A QUIC flow begins with a client Initial, fixed bit set; after it a peer that was
	 * offered grease_quic_bit may clear that bit (RFC 9287): quic-go servers do in their very
	 * first Initial (ndpi quic-v2.pcapng). On a QUIC flow nothing is DTLS. */
	if (hs->quic)
		return first >= QUIC_SHORT ? tc_quic_datagram(hs, d, p, n) : TC_DG_OTHER;
	if (first >= QUIC_LONG && tc_quic_opens(p, n))
		return tc_quic_datagram(hs, d, p, n);
	if (first >= DTLS_FIRST && first <= DTLS_LAST &&
	    (hs->tls_found || tc_dtls_plausible(p, n))) {
		tc_dtls_datagram(hs, d, p, n);
		return TC_DG_DISSECTED;
	}
	return first <= STUN_LAST ? TC_DG_STUN : TC_DG_OTHER;
}

/* A hello still being assembled is the flow's own protocol's: QUIC's, or else DTLS's. */
static void udp_end(struct tc_handshake *hs, enum tc_dir d)
{
	if (hs->quic)
		tc_quic_end(hs, d);
	else
		tc_dtls_end(hs, d);
}

const struct tc_dissector tc_dissector_udp = {
    .name = "udp",
    .opens = udp_opens,
    .datagram = udp_datagram,
    .end = udp_end,
};
