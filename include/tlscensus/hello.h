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
 * Lists are whole: each points into one allocation sized by the hello itself (a counting pass
 * over the bytes, then a filling one), so a ClientHello keeps every suite, extension, group,
 * signature algorithm, key share and ALPN name it carried, however many (the wire allows
 * 32767 suites). Only the SNI is kept inline and cut at TC_MAX_SNI bytes (TC_TRUNC_SNI). A
 * hello whose bytes were cut or malformed is flagged partial instead.
 */
#define TC_MAX_SNI 255
/* The list bits are set by 0.1 and 0.2 only (lists were cut at fixed capacities then); they
 * stay so rows written before keep their meaning. */
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

#define TC_HELLO_INLINE 448 /* bytes of a ClientHello's lists kept in the struct */

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
	uint8_t quic;          /* carried in QUIC Initials (RFC 9001 4.1): JA4's "q" */
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
	uint64_t shape;    /* tc_client_hello_shape (fingerprint.h) as the parser left the hello,
	                    * else 0; code that changes a field it covers works it out again */
	uint32_t *ciphers; /* 16-bit suites; 24-bit kinds in SSLv2 format */
	uint16_t *exts;
	uint16_t *groups;
	uint16_t *sigalgs;
	uint16_t *versions;
	uint16_t *kshares;
	uint8_t *pointfmts;
	uint8_t *compress;
	uint8_t *alpn;            /* protocol_name_list as on the wire (u8-prefixed names) */
	void *mem;                /* the one allocation behind the lists (tc_client_hello_clear),
	                           * NULL while they fit in lists_inline */
	char sni[TC_MAX_SNI + 1]; /* raw bytes as sent, NUL added; may hold any byte */
	/* Where the lists go when they fit: a usual hello's are 200-400 bytes, and an allocation
	 * per hello was a tenth of a read's packet thread (malloc, and free after the writer).
	 * The lists then point into the struct itself: copy a hello by its pointer, not by value. */
	uint64_t lists_inline[TC_HELLO_INLINE / 8];
};

/* Room for a hello's lists: entries per list, bytes for alpn. */
struct tc_hello_room {
	size_t ciphers, exts, groups, sigalgs, versions, kshares, pointfmts, compress, alpn;
};

/* Lays out ch's lists in one allocation with the given room and zeroes their counts (every
 * list pointer is valid afterwards, empty ones too). Parsers call it between their counting
 * and filling passes; code that fills a hello by hand calls it first. 0, or -1 when out of
 * memory (the lists are then empty). */
int tc_client_hello_alloc(struct tc_client_hello *ch, const struct tc_hello_room *room);
/* Frees ch's lists (not ch); every parsed or allocated hello needs it once. */
void tc_client_hello_clear(struct tc_client_hello *ch);

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
	uint64_t shape; /* tc_server_hello_shape as the parser left the hello, else 0 */
	uint16_t *exts; /* in exts_inline, or in sh->mem when there are more */
	void *mem;
	char alpn[256]; /* the chosen protocol, NUL added */
	uint16_t exts_inline[16];
};

/* As for the ClientHello: room for ext_n extensions; frees the list (not sh). */
int tc_server_hello_alloc(struct tc_server_hello *sh, size_t exts);
void tc_server_hello_clear(struct tc_server_hello *sh);

/* A hello's memory, not initialised (as malloc's), from the calling thread's pool of freed
 * ones when it has one; NULL when out of memory. */
struct tc_client_hello *tc_client_hello_new(void);
struct tc_server_hello *tc_server_hello_new(void);
/* Clears a hello (its lists freed: it was parsed or allocated) and keeps its memory for the
 * thread's next one, or frees it. Any such hello from malloc or _new may be given; NULL is
 * ignored. */
void tc_client_hello_free(struct tc_client_hello *ch);
void tc_server_hello_free(struct tc_server_hello *sh);
/* Frees the calling thread's pool now (it is freed at the thread's end anyway). */
void tc_hello_pool_release(void);

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
