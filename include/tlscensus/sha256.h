/*
 * sha256.h: the SHA-256 message digest (FIPS 180-4), here as the hash inside JA4 fingerprints.
 * Streaming interface: init, any number of updates of any length, final. No allocation, no
 * dependence on host byte order or alignment.
 */
#ifndef TLSCENSUS_SHA256_H
#define TLSCENSUS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define TC_SHA256_LEN 32

struct tc_sha256 {
	uint32_t state[8];
	uint64_t bytes; /* message length so far; FIPS 180-4 5.1.1 appends it in bits */
	uint8_t block[64];
	size_t fill; /* bytes waiting in block */
};

void tc_sha256_init(struct tc_sha256 *s);
void tc_sha256_update(struct tc_sha256 *s, const void *data, size_t len);
/* Writes the digest; s must be initialised again before reuse. */
void tc_sha256_final(struct tc_sha256 *s, uint8_t out[TC_SHA256_LEN]);

#endif
