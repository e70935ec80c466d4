/*
 * ciphers.h: the cipher suite registry as data. Maps a suite value from a hello to its IANA name
 * and a weakness classification; lookups only, no state and no I/O.
 */
#ifndef TLSCENSUS_CIPHERS_H
#define TLSCENSUS_CIPHERS_H

#include <stddef.h>
#include <stdint.h>

/* Bit flags, read off the suite's name (see cipher_classify). */
enum cipher_weakness {
	CIPHER_NULL = 1 << 0,   /* no encryption (..._WITH_NULL_..., integrity-only TLS 1.3) */
	CIPHER_EXPORT = 1 << 1, /* EXPORT / EXPORT40 key lengths */
	CIPHER_ANON = 1 << 2,   /* anonymous key exchange (DH_anon, ECDH_anon) */
	CIPHER_RC4 = 1 << 3,
	CIPHER_DES = 1 << 4,  /* single DES, DES40 */
	CIPHER_3DES = 1 << 5, /* 3DES_EDE, SSLv2 DES_192_EDE3 */
	CIPHER_RC2 = 1 << 6,
	CIPHER_MD5 = 1 << 7,  /* MD5 MAC (informational, not legacy by itself) */
	CIPHER_SCSV = 1 << 8, /* signalling value, not a real suite (0x00ff, 0x5600) */
};

#define CIPHER_LEGACY_MASK                                                                         \
	(CIPHER_NULL | CIPHER_EXPORT | CIPHER_ANON | CIPHER_RC4 | CIPHER_DES | CIPHER_3DES |       \
	 CIPHER_RC2)

/*
 * value is the 16-bit TLS suite, or the 24-bit SSL 2.0 CIPHER-KIND. A TLS suite listed in an
 * SSLv2 hello (0x00XXYY) is the same number as the 16-bit value, so one key space serves both.
 */
struct cipher_suite {
	uint32_t value;
	const char *name;
	unsigned weakness;
};

const struct cipher_suite *cipher_lookup(uint32_t value); /* NULL if not in the registry */
const char *cipher_name(uint32_t value);                  /* NULL if unknown */
unsigned cipher_weakness(uint32_t value);                 /* 0 if unknown */
int cipher_is_legacy(uint32_t value);                     /* weakness & CIPHER_LEGACY_MASK */

/* The rule the table's weakness column follows; exported so the test can hold the two together. */
unsigned cipher_classify(const char *name);

/* Iterate in ascending value order (to fill a SQL table). cipher_at returns NULL past the end. */
size_t cipher_count(void);
const struct cipher_suite *cipher_at(size_t i);

#endif
