/*
 * ja4.h: the JA4 TLS client fingerprint (FoxIO, BSD-3-Clause specification) from a parsed
 * ClientHello. JA4 = a_b_c: a is readable (transport, version, SNI, counts, ALPN), b and c are
 * the first 12 hex digits of SHA-256 over the sorted cipher and extension lists.
 */
#ifndef TLSCENSUS_JA4_H
#define TLSCENSUS_JA4_H

#include <stddef.h>

#include "tlscensus/hello.h"

/* "t13d1516h2_8daaf6152771_e5627efa2ab1" and its NUL. */
#define TC_JA4_LEN 37

/* Transport letters of part a. */
#define TC_JA4_TCP  't'
#define TC_JA4_QUIC 'q'
#define TC_JA4_DTLS 'd'

/*
 * Writes the JA4 fingerprint into out. transport is TC_JA4_TCP, TC_JA4_QUIC or TC_JA4_DTLS.
 * Returns 1, or 0 with out set to "" when JA4 is undefined: an SSLv2-format hello (no
 * extensions, 24-bit cipher kinds) or an unknown transport letter.
 */
int tc_ja4(const struct tc_client_hello *ch, char transport, char out[TC_JA4_LEN]);

/*
 * Writes the unhashed form ("JA4_r": part a, then the sorted lists that parts b and c hash)
 * into str, NUL-terminated and cut to strcap; the return value is as for tc_ja4. When ja4 is
 * not NULL the hashed fingerprint is written there too, from the same pass.
 */
int tc_ja4_raw(const struct tc_client_hello *ch, char transport, char *str, size_t strcap,
               char ja4[TC_JA4_LEN]);

/* Bytes a buffer needs for the whole JA4_r of this hello, NUL included. */
size_t tc_ja4_raw_size(const struct tc_client_hello *ch);

#endif
