/*
 * preamble.c: finds where TLS begins after a plaintext opening on the same connection.
 * STARTTLS-style upgrades (SMTP, IMAP, POP3, FTP, XMPP, IRC, LDAP), PostgreSQL and MySQL SSL
 * requests, RDP's X.224 negotiation, SOCKS, HTTP CONNECT and the PROXY protocol all end their
 * plaintext where the first TLS record begins, so one content test covers them all: no port
 * numbers and no per-protocol parsers. The test is strict enough that text and ordinary binary
 * protocols do not match by chance.
 */
#include <string.h>

#include "handshake.h"
#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"

/* Bytes needed to judge a candidate: record header, handshake header, hello version. */
#define PROBE_LEN (TC_RECORD_HEADER + TC_HS_HEADER + 2)

/*
 * A handshake record opening a ClientHello or ServerHello: type 22, version 3.0..3.4, a
 * record length that fits the bound, message type 1 or 2 whose length is at least the fixed
 * part of a hello (version + random + lengths), and a hello version 0x03XX (or 0x7fXX, the
 * TLS 1.3 drafts' ServerHello). A two-byte Alert record also counts: a server refusing the
 * handshake answers with nothing else.
 */
static int opens_tls(const uint8_t *p, size_t n)
{
	struct tc_cursor c;
	uint8_t type, major, minor, ht, hv_major, hv_minor;
	uint16_t rlen;
	uint32_t hlen;

	tc_cursor_init(&c, p, n);
	if (!tc_cursor_get_u8(&c, &type) || !tc_cursor_get_u8(&c, &major) ||
	    !tc_cursor_get_u8(&c, &minor) || !tc_cursor_get_u16(&c, &rlen))
		return 0;
	if (major != 3 || minor > 4 || rlen > TC_MAX_RECORD)
		return 0;
	if (type == TC_RT_ALERT) {
		uint8_t level, desc;
		return rlen == 2 && tc_cursor_get_u8(&c, &level) &&
		       (level == TC_ALERT_WARNING || level == TC_ALERT_FATAL) &&
		       tc_cursor_get_u8(&c, &desc);
	}
	if (type != TC_RT_HANDSHAKE || rlen < TC_HS_HEADER || !tc_cursor_get_u8(&c, &ht) ||
	    !tc_cursor_get_u24(&c, &hlen) || !tc_cursor_get_u8(&c, &hv_major) ||
	    !tc_cursor_get_u8(&c, &hv_minor))
		return 0;
	if (ht != TC_HT_CLIENT_HELLO && ht != TC_HT_SERVER_HELLO)
		return 0;
	/* ClientHello: 2 + 32 + 1 + 2 + 1 at least; ServerHello in drafts: 2 + 32 + 2. */
	if (hlen < 36 || hlen > TC_MAX_HELLO_MSG)
		return 0;
	return hv_major == 3 || (ht == TC_HT_SERVER_HELLO && hv_major == 0x7f);
}

long tc_find_tls_start(const uint8_t *buf, size_t len, size_t *resume)
{
	/* Candidates too close to the end to judge are looked at again when more bytes come. */
	*resume = len >= PROBE_LEN ? len - PROBE_LEN + 1 : 0;
	/* Only a byte 22 (handshake) or 21 (alert) can open TLS: memchr finds the next of each,
	 * where the full test at every byte was most of the cost of a 16 KiB HTTP opening. */
	const uint8_t *hs = memchr(buf, TC_RT_HANDSHAKE, len), *al = memchr(buf, TC_RT_ALERT, len);
	const uint8_t *end = buf + len;

	while (hs || al) {
		const uint8_t *p = !al || (hs && hs < al) ? hs : al;
		size_t i = (size_t)(p - buf);

		if (opens_tls(p, len - i)) {
			*resume = i;
			return (long)i;
		}
		if (p == hs)
			hs = p + 1 < end ? memchr(p + 1, TC_RT_HANDSHAKE, (size_t)(end - p - 1)) : NULL;
		else
			al = p + 1 < end ? memchr(p + 1, TC_RT_ALERT, (size_t)(end - p - 1)) : NULL;
	}
	return -1;
}
