/*
 * sslv2.c: SSL 2.0 CLIENT-HELLO and SERVER-HELLO (the SSL 2.0 specification, and RFC 6101
 * appendix E.2 for the version-2 compatible hello that TLS clients sent until about 2010).
 * Input is one SSLv2 record body; the record header has been taken off by tls.c.
 */
#include <string.h>

#include "handshake.h"
#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"

enum tc_err tc_parse_sslv2_client_hello(const uint8_t *rec, size_t len, struct tc_client_hello *ch)
{
	struct tc_cursor c, specs;
	uint16_t specs_len, sid_len, chal_len;
	uint32_t kind;
	uint8_t type;

	memset(ch, 0, sizeof(*ch));
	ch->sslv2 = 1;
	tc_cursor_init(&c, rec, len);
	/* Every list valid (empty) whatever the outcome; the suites get their room below. */
	tc_client_hello_alloc(ch, &(struct tc_hello_room){0});
	if (!tc_cursor_get_u8(&c, &type) || type != TC_SSL2_MT_CLIENT_HELLO ||
	    !tc_cursor_get_u16(&c, &ch->legacy_version) || !tc_cursor_get_u16(&c, &specs_len) ||
	    !tc_cursor_get_u16(&c, &sid_len) || !tc_cursor_get_u16(&c, &chal_len))
		return TC_ERR_SSLV2;
	/* The specification: cipher specs are 3-byte kinds; session id 0 or 16 bytes; challenge
	 * 16 to 32 bytes. Lengths are checked against the record, not trusted. */
	if (specs_len % 3 || sid_len > 32 || !tc_cursor_get_bytes(&c, specs_len, &specs))
		return TC_ERR_SSLV2;
	tc_client_hello_clear(ch);
	if (tc_client_hello_alloc(ch, &(struct tc_hello_room){.ciphers = specs_len / 3}))
		return TC_ERR_SSLV2; /* out of memory */
	while (tc_cursor_get_u24(&specs, &kind)) {
		/* TLS suites ride in SSLv2 hellos as 0x00XXXX (RFC 5246 E.2). */
		if (kind == TC_CS_FALLBACK_SCSV)
			ch->fallback_scsv = 1;
		ch->ciphers[ch->cipher_n++] = kind;
	}
	ch->session_id_len = (uint8_t)sid_len;
	if (!tc_cursor_skip(&c, sid_len) || !tc_cursor_skip(&c, chal_len))
		return TC_ERR_SSLV2;
	return TC_ERR_NONE;
}

enum tc_err tc_parse_sslv2_server_hello(const uint8_t *rec, size_t len, struct tc_server_hello *sh)
{
	struct tc_cursor c;
	uint16_t cert_len, specs_len, conn_id_len;
	uint8_t type, hit, cert_type;

	memset(sh, 0, sizeof(*sh));
	sh->sslv2 = 1;
	tc_server_hello_alloc(sh, 0);
	tc_cursor_init(&c, rec, len);
	if (!tc_cursor_get_u8(&c, &type) || type != TC_SSL2_MT_SERVER_HELLO ||
	    !tc_cursor_get_u8(&c, &hit) || !tc_cursor_get_u8(&c, &cert_type) ||
	    !tc_cursor_get_u16(&c, &sh->legacy_version) || !tc_cursor_get_u16(&c, &cert_len) ||
	    !tc_cursor_get_u16(&c, &specs_len) || !tc_cursor_get_u16(&c, &conn_id_len))
		return TC_ERR_SSLV2;
	/* The server lists the specs it accepts; the client picks one in CLIENT-MASTER-KEY, so
	 * there is no negotiated cipher in this message. */
	if (specs_len % 3 || !tc_cursor_skip(&c, cert_len) || !tc_cursor_skip(&c, specs_len) ||
	    !tc_cursor_skip(&c, conn_id_len))
		return TC_ERR_SSLV2;
	return TC_ERR_NONE;
}
