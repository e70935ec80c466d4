/*
 * sha1.h: the SHA-1 message digest (FIPS 180-4), here only as the hash the Community ID flow
 * hash (community_id.h) is defined with; nothing security-relevant rests on it. Streaming
 * interface, no allocation, no dependence on host byte order or alignment.
 */
#ifndef TLSCENSUS_SHA1_H
#define TLSCENSUS_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define TC_SHA1_LEN 20

struct tc_sha1 {
	uint32_t state[5];
	uint64_t bytes; /* message length so far; FIPS 180-4 5.1.1 appends it in bits */
	uint8_t block[64];
	size_t fill; /* bytes waiting in block */
};

void tc_sha1_init(struct tc_sha1 *s);
void tc_sha1_update(struct tc_sha1 *s, const void *data, size_t len);
/* Writes the digest; s must be initialised again before reuse. */
void tc_sha1_final(struct tc_sha1 *s, uint8_t out[TC_SHA1_LEN]);

#endif
