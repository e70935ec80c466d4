/*
 * hsbuild.h: builds TLS bytes for tests: hellos, handshake messages and records, written
 * field by field from RFC 8446/5246 so each test states exactly what is on the wire.
 */
#ifndef TC_HSBUILD_H
#define TC_HSBUILD_H

#include <stdint.h>
#include <string.h>

struct hsb {
	uint8_t b[65536];
	size_t n;
};

static inline void hsb_u8(struct hsb *h, unsigned v)
{
	h->b[h->n++] = (uint8_t)v;
}

static inline void hsb_u16(struct hsb *h, unsigned v)
{
	hsb_u8(h, v >> 8);
	hsb_u8(h, v);
}

static inline void hsb_u24(struct hsb *h, unsigned v)
{
	hsb_u8(h, v >> 16);
	hsb_u16(h, v & 0xffff);
}

static inline void hsb_bytes(struct hsb *h, const void *p, size_t n)
{
	if (n)
		memcpy(h->b + h->n, p, n);
	h->n += n;
}

/* Length prefixes are written as placeholders and patched when the vector is closed. */
static inline size_t hsb_open(struct hsb *h, int prefix)
{
	size_t at = h->n;
	for (int i = 0; i < prefix; i++)
		hsb_u8(h, 0);
	return at;
}

static inline void hsb_close(struct hsb *h, size_t at, int prefix)
{
	size_t len = h->n - at - (size_t)prefix;
	for (int i = prefix - 1; i >= 0; i--) {
		h->b[at + (size_t)i] = (uint8_t)len;
		len >>= 8;
	}
}

/* Extension with a fixed body. */
static inline void hsb_ext(struct hsb *h, unsigned type, const void *body, size_t n)
{
	hsb_u16(h, type);
	hsb_u16(h, (unsigned)n);
	hsb_bytes(h, body, n);
}

/* A ClientHello body like a TLS 1.3 client sends: GREASE, SNI, ALPN, versions, groups,
 * key share, signature algorithms, point formats, session ticket. */
static inline void hsb_client_hello_body(struct hsb *h, const char *sni)
{
	static const uint16_t suites[] = {0x8a8a, 0x1301, 0x1302, 0xc02f, 0x000a, 0x00ff};
	size_t v, e, x, l;

	hsb_u16(h, 0x0303);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, i);
	hsb_u8(h, 32);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, 0xa0 + i);
	v = hsb_open(h, 2);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		hsb_u16(h, suites[i]);
	hsb_close(h, v, 2);
	hsb_u8(h, 1);
	hsb_u8(h, 0);
	e = hsb_open(h, 2);
	hsb_ext(h, 0x2a2a, NULL, 0); /* GREASE extension */
	/* server_name */
	hsb_u16(h, 0);
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	hsb_u8(h, 0);
	hsb_u16(h, (unsigned)strlen(sni));
	hsb_bytes(h, sni, strlen(sni));
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	/* supported_groups: GREASE, x25519, secp256r1 */
	hsb_ext(h, 10, "\x00\x06\x3a\x3a\x00\x1d\x00\x17", 8);
	/* ec_point_formats: uncompressed */
	hsb_ext(h, 11, "\x01\x00", 2);
	/* signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256 */
	hsb_ext(h, 13, "\x00\x04\x04\x03\x08\x04", 6);
	/* ALPN: h2, http/1.1 */
	hsb_ext(h, 16, "\x00\x0c\x02h2\x08http/1.1", 14);
	hsb_ext(h, 35, NULL, 0);
	/* supported_versions: GREASE, 1.3, 1.2 */
	hsb_ext(h, 43, "\x06\x5a\x5a\x03\x04\x03\x03", 7);
	/* key_share: x25519 with a 32-byte key */
	hsb_u16(h, 51);
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	hsb_u16(h, 0x001d);
	hsb_u16(h, 32);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, 0x55);
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	hsb_close(h, e, 2);
}

/* A ServerHello body; version13 adds supported_versions = 0x0304; hrr uses the magic random. */
static inline void hsb_server_hello_body(struct hsb *h, unsigned legacy, unsigned cipher,
                                         int version13, int hrr)
{
	static const uint8_t hrr_random[32] = {
	    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	    0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	};
	size_t e;

	hsb_u16(h, legacy);
	if (hrr)
		hsb_bytes(h, hrr_random, 32);
	else
		for (int i = 0; i < 32; i++)
			hsb_u8(h, 0x10 + i);
	hsb_u8(h, 0);
	hsb_u16(h, cipher);
	hsb_u8(h, 0);
	e = hsb_open(h, 2);
	hsb_ext(h, 0xff01, "\x00", 1);
	if (version13)
		hsb_ext(h, 43, "\x03\x04", 2);
	hsb_close(h, e, 2);
}

/* Wraps body as a handshake message of the given type. */
static inline void hsb_message(struct hsb *out, unsigned type, const struct hsb *body)
{
	hsb_u8(out, type);
	hsb_u24(out, (unsigned)body->n);
	hsb_bytes(out, body->b, body->n);
}

/* Wraps payload into records of at most frag bytes each. */
static inline void hsb_records(struct hsb *out, unsigned type, unsigned version,
                               const uint8_t *payload, size_t n, size_t frag)
{
	for (size_t off = 0; off < n; off += frag) {
		size_t k = n - off < frag ? n - off : frag;
		hsb_u8(out, type);
		hsb_u16(out, version);
		hsb_u16(out, (unsigned)k);
		hsb_bytes(out, payload + off, k);
	}
}

#endif
