/*
 * hello.h: what a TLS connection's opening says, as facts.
 * The dissectors fill these structs from bytes; everything later (fingerprints, verdicts,
 * storage) reads them. Lists keep wire order and GREASE; a list longer than its array is cut
 * and flagged, never overrun.
 */
#ifndef TLSCENSUS_HELLO_H
#define TLSCENSUS_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* Wire values (RFC 8446 4.1.2, RFC 6101, draft-ietf-tls-ssl2 for 0x0002). */
#define TC_V_SSL2  0x0002
#define TC_V_SSL3  0x0300
#define TC_V_TLS10 0x0301
#define TC_V_TLS11 0x0302
#define TC_V_TLS12 0x0303
#define TC_V_TLS13 0x0304

/*
 * Capacities. A ClientHello may legally carry 32767 cipher suites; real stacks send at most a
 * few hundred (the largest in the shared corpus is under 400). Beyond the capacity the list is
 * cut and TC_TRUNC_* is set, so the record says it is incomplete.
 */
#define TC_MAX_CIPHERS  1024
#define TC_MAX_EXTS     128
#define TC_MAX_GROUPS   128
#define TC_MAX_SIGALGS  128
#define TC_MAX_VERSIONS 32
#define TC_MAX_KSHARES  16
#define TC_MAX_POINTFMT 16
#define TC_MAX_COMPRESS 16
#define TC_MAX_SNI      255
#define TC_MAX_ALPN     512 /* wire bytes of the protocol_name_list */

enum tc_trunc {
	TC_TRUNC_CIPHERS = 1 << 0,
	TC_TRUNC_EXTS = 1 << 1,
	TC_TRUNC_GROUPS = 1 << 2,
	TC_TRUNC_SIGALGS = 1 << 3,
	TC_TRUNC_VERSIONS = 1 << 4,
	TC_TRUNC_KSHARES = 1 << 5,
	TC_TRUNC_POINTFMT = 1 << 6,
	TC_TRUNC_SNI = 1 << 7,
	TC_TRUNC_ALPN = 1 << 8,
	TC_TRUNC_COMPRESS = 1 << 9,
};

/* Extension code points the dissector interprets (IANA "TLS ExtensionType Values"). */
enum tc_ext {
	TC_EXT_SERVER_NAME = 0,
	TC_EXT_SUPPORTED_GROUPS = 10,
	TC_EXT_EC_POINT_FORMATS = 11,
	TC_EXT_SIGNATURE_ALGORITHMS = 13,
	TC_EXT_ALPN = 16,
	TC_EXT_SESSION_TICKET = 35,
	TC_EXT_SUPPORTED_VERSIONS = 43,
	TC_EXT_KEY_SHARE = 51,
	TC_EXT_RENEGOTIATION_INFO = 0xff01,
};

/* Cipher suite values with a meaning of their own in a ClientHello. */
#define TC_CS_EMPTY_RENEGOTIATION_INFO_SCSV 0x00ff /* RFC 5746 */
#define TC_CS_FALLBACK_SCSV                 0x5600 /* RFC 7507 */

/* RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa. */
static inline int tc_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

struct tc_client_hello {
	uint16_t legacy_version; /* SSLv2-format: the CLIENT-HELLO version field */
	uint8_t sslv2;           /* sent in the SSLv2 record format */
	uint8_t session_id_len;
	uint8_t has_extensions; /* the extensions block was present (even if empty) */
	uint8_t has_sni;
	uint8_t has_alpn;
	uint8_t has_versions;
	uint8_t has_groups;
	uint8_t has_sigalgs;
	uint8_t has_key_share;
	uint8_t has_pointfmt;
	uint8_t has_session_ticket;
	uint8_t fallback_scsv; /* TLS_FALLBACK_SCSV among the suites */
	uint8_t dtls;          /* a DTLS ClientHello (RFC 6347 4.2.1, RFC 9147 5.3) */
	uint8_t cookie_len;    /* DTLS: the cookie echoed after a HelloVerifyRequest */
	uint8_t partial;       /* cut or malformed: the fields are what came before the damage,
	                        * not the client's whole offer, so it has no fingerprint */
	uint16_t trunc;        /* enum tc_trunc bits */
	uint16_t cipher_n;
	uint16_t ext_n;
	uint16_t group_n;
	uint16_t sigalg_n;
	uint16_t version_n;
	uint16_t kshare_n;
	uint16_t pointfmt_n;
	uint16_t compress_n;
	uint16_t sni_len;
	uint16_t alpn_len;
	uint32_t ciphers[TC_MAX_CIPHERS]; /* 16-bit suites; 24-bit kinds in SSLv2 format */
	uint16_t exts[TC_MAX_EXTS];
	uint16_t groups[TC_MAX_GROUPS];
	uint16_t sigalgs[TC_MAX_SIGALGS];
	uint16_t versions[TC_MAX_VERSIONS];
	uint16_t kshares[TC_MAX_KSHARES];
	uint8_t pointfmts[TC_MAX_POINTFMT];
	uint8_t compress[TC_MAX_COMPRESS];
	char sni[TC_MAX_SNI + 1];  /* raw bytes as sent, NUL added; may hold any byte */
	uint8_t alpn[TC_MAX_ALPN]; /* protocol_name_list as on the wire (u8-prefixed names) */
};

struct tc_server_hello {
	uint16_t legacy_version;   /* SSLv2: SERVER-HELLO version */
	uint16_t selected_version; /* supported_versions, 0 when absent */
	uint32_t cipher;           /* 0 with sslv2 (the server offers a list there) */
	uint8_t sslv2;
	uint8_t is_hrr; /* HelloRetryRequest (RFC 8446 4.1.3 magic random) */
	uint8_t compression;
	uint8_t session_id_len;
	uint8_t has_extensions;
	uint8_t has_key_share; /* TLS 1.3 key_share: the group the server chose */
	uint16_t key_share_group;
	uint16_t trunc;
	uint16_t ext_n;
	uint16_t alpn_len;
	uint16_t exts[TC_MAX_EXTS];
	char alpn[256]; /* the chosen protocol, NUL added */
};

/* The version a server hello settles on (RFC 8446 4.2.1). */
static inline uint16_t tc_server_version(const struct tc_server_hello *sh)
{
	return sh->selected_version ? sh->selected_version : sh->legacy_version;
}

/* Highest known version offered: max of legacy_version and supported_versions. */
uint16_t tc_client_max_version(const struct tc_client_hello *ch);

/* Version rank for comparisons: SSLv2 < SSLv3 < TLS 1.0 ... < TLS 1.3; 0 for unknown/draft. */
int tc_version_rank(uint16_t v);

/* "TLSv1.2", "SSLv2"...; NULL for values without a name. */
const char *tc_version_name(uint16_t v);

#endif
