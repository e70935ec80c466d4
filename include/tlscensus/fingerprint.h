/*
 * fingerprint.h: JA3 and JA3S (Salesforce, 2017) computed from parsed hellos.
 * JA3 = MD5 of "version,ciphers,extensions,groups,point_formats" in decimal, '-'-joined, with
 * every GREASE value (RFC 8701) removed; JA3S = MD5 of "version,cipher,extensions".
 */
#ifndef TLSCENSUS_FINGERPRINT_H
#define TLSCENSUS_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "tlscensus/hello.h"

#define TC_MD5_LEN 16

struct tc_md5 {
	uint32_t state[4];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};

void tc_md5_init(struct tc_md5 *m);
void tc_md5_update(struct tc_md5 *m, const void *data, size_t len);
void tc_md5_final(struct tc_md5 *m, uint8_t out[TC_MD5_LEN]);

/* Writes the JA3 input string into str (NUL-terminated, cut to strcap) and its MD5 as 32 lower
 * hex digits into hex[33]. Returns 0 when JA3 is undefined (SSLv2-format hello). */
int tc_ja3(const struct tc_client_hello *ch, char *str, size_t strcap, char hex[33]);
int tc_ja3s(const struct tc_server_hello *sh, char *str, size_t strcap, char hex[33]);

/* Bytes a buffer needs for the whole JA3 (JA3S) string of this hello, NUL included. */
size_t tc_ja3_str_size(const struct tc_client_hello *ch);
size_t tc_ja3s_str_size(const struct tc_server_hello *sh);

/*
 * A hello's shape: a 64-bit hash of every field a fingerprint or the store's hello row reads
 * (versions, lists in wire order, flags, ALPN, whether an SNI was sent; not the SNI itself, the
 * session id or the cookie). Hellos of one client stack share a shape, so fingerprints and
 * stored hello rows are computed once per shape. Never 0.
 */
uint64_t tc_client_hello_shape(const struct tc_client_hello *ch);
uint64_t tc_server_hello_shape(const struct tc_server_hello *sh);
/* A quicker hash of the fields tc_client_hello_shape covers, keyed by seed (one 64x64->128-bit
 * multiplication per 16 bytes), for a memo of shapes: its value may change between releases,
 * the shape's may not. Never 0. */
uint64_t tc_client_hello_quick(const struct tc_client_hello *ch, uint64_t seed);

/* The fingerprints of one connection's hellos, computed before the record reaches a store. */
struct tc_prints {
	uint64_t ch_shape, sh_shape; /* 0: no such hello */
	uint8_t has_ja3, has_ja3s, has_ja4;
	char ja3[33], ja3s[33];
	char ja4[40];   /* TC_JA4_LEN (ja4.h) and room */
	char *ja3_str;  /* malloc'd JA3 input string, NULL without a ClientHello */
	char *ja3s_str; /* malloc'd JA3S input string, NULL without a ServerHello */
};

/* One side of p: the shape, the fingerprint and its input string (replacing that side's).
 * 0, or -1 when out of memory (the side's string is then NULL). */
int tc_prints_client(const struct tc_client_hello *ch, struct tc_prints *p);
int tc_prints_server(const struct tc_server_hello *sh, struct tc_prints *p);
/* Fills p from the hellos (either may be NULL). 0, or -1 when out of memory (p is then
 * freed and zeroed). */
int tc_prints_compute(const struct tc_client_hello *ch, const struct tc_server_hello *sh,
                      struct tc_prints *p);
void tc_prints_free(struct tc_prints *p);

#endif
