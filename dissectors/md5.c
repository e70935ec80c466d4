/*
 * md5.c: the MD5 message digest (RFC 1321), only as the hash inside JA3 and JA3S fingerprints.
 * Not for anything that needs collision resistance. Reads bytes one at a time and assembles
 * words explicitly, so it assumes neither alignment nor host byte order.
 */
#include <string.h>

#include "tlscensus/fingerprint.h"

/* RFC 1321 3.4: T[i] = floor(2^32 * |sin(i + 1)|), radians. */
static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* RFC 1321 3.4: left-rotation amounts, four per round. */
static const uint8_t md5_s[4][4] = {
    {7, 12, 17, 22},
    {5, 9, 14, 20},
    {4, 11, 16, 23},
    {6, 10, 15, 21},
};

static uint32_t md5_rotl(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* One 64-byte block (RFC 1321 3.4): four rounds of sixteen steps. */
static void md5_block(uint32_t state[4], const uint8_t blk[64])
{
	uint32_t x[16];
	uint32_t a = state[0], b = state[1], c = state[2], d = state[3];

	/* The block is read as sixteen little-endian words (RFC 1321 2, 3.4). */
	for (int i = 0; i < 16; i++)
		x[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
		       (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;

	for (int i = 0; i < 64; i++) {
		int round = i / 16;
		uint32_t f;
		int k;

		switch (round) {
		case 0: /* F(X,Y,Z) = XY v not(X) Z */
			f = (b & c) | (~b & d);
			k = i;
			break;
		case 1: /* G(X,Y,Z) = XZ v Y not(Z) */
			f = (b & d) | (c & ~d);
			k = (1 + 5 * i) % 16;
			break;
		case 2: /* H(X,Y,Z) = X xor Y xor Z */
			f = b ^ c ^ d;
			k = (5 + 3 * i) % 16;
			break;
		default: /* I(X,Y,Z) = Y xor (X v not(Z)) */
			f = c ^ (b | ~d);
			k = (7 * i) % 16;
			break;
		}
		f = b + md5_rotl(a + f + x[k] + md5_t[i], md5_s[round][i % 4]);
		a = d;
		d = c;
		c = b;
		b = f;
	}

	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
}

void tc_md5_init(struct tc_md5 *m)
{
	/* RFC 1321 3.3: words A, B, C, D. */
	m->state[0] = 0x67452301;
	m->state[1] = 0xefcdab89;
	m->state[2] = 0x98badcfe;
	m->state[3] = 0x10325476;
	m->bytes = 0;
	m->fill = 0;
}

void tc_md5_update(struct tc_md5 *m, const void *data, size_t len)
{
	const uint8_t *p = data;

	m->bytes += len;
	while (len > 0) {
		size_t take = sizeof(m->block) - m->fill;

		if (take > len)
			take = len;
		memcpy(m->block + m->fill, p, take);
		m->fill += take;
		p += take;
		len -= take;
		if (m->fill == sizeof(m->block)) {
			md5_block(m->state, m->block);
			m->fill = 0;
		}
	}
}

void tc_md5_final(struct tc_md5 *m, uint8_t out[TC_MD5_LEN])
{
	/* RFC 1321 3.1-3.2: a 1 bit, zeros up to 56 mod 64, then the bit length, low byte first
	 * (modulo 2^64, which the wrap of the multiplication gives). */
	uint64_t bits = m->bytes * 8;
	uint8_t pad[72] = {0x80};
	size_t padlen = (m->fill < 56 ? 56 : 120) - m->fill;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (8 * i));
	tc_md5_update(m, pad, padlen + 8);

	for (int i = 0; i < 4; i++) {
		out[4 * i] = (uint8_t)m->state[i];
		out[4 * i + 1] = (uint8_t)(m->state[i] >> 8);
		out[4 * i + 2] = (uint8_t)(m->state[i] >> 16);
		out[4 * i + 3] = (uint8_t)(m->state[i] >> 24);
	}
	memset(m, 0, sizeof(*m));
}
