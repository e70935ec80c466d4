/*
 * community_id.c: Community ID v1. The hashed bytes, per the spec: the seed (2 bytes, network
 * order), the smaller endpoint's address then the other's (4 or 16 bytes each, network order),
 * the IP protocol number, one zero byte, then the two ports (2 bytes each) in the same order as
 * the addresses. "Smaller" compares the addresses as bytes, then the ports. The SHA-1 digest
 * is written in base64 (RFC 4648, with padding) after "1:".
 */
#include <arpa/inet.h>
#include <string.h>

#include "community_id.h"
#include <openssl/evp.h>

static void base64(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);

		out[o++] = digits[v >> 18 & 63];
		out[o++] = digits[v >> 12 & 63];
		out[o++] = i + 1 < n ? digits[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? digits[v & 63] : '=';
	}
	out[o] = '\0';
}

/* The address's bytes in network order into b; their count (4 or 16), or 0. */
static size_t addr_bytes(const char *text, uint8_t b[16])
{
	if (text && inet_pton(AF_INET, text, b) == 1)
		return 4;
	if (text && inet_pton(AF_INET6, text, b) == 1)
		return 16;
	return 0;
}

int community_id(const char *addr_a, uint16_t port_a, const char *addr_b, uint16_t port_b,
                 uint8_t proto, uint16_t seed, char out[COMMUNITY_ID_LEN])
{
	uint8_t a[16], b[16], head[2] = {(uint8_t)(seed >> 8), (uint8_t)seed}, mid[2] = {proto, 0};
	size_t na = addr_bytes(addr_a, a), nb = addr_bytes(addr_b, b);
	uint8_t msg[2 + 16 + 16 + 2 + 4], digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	size_t n = 0;

	out[0] = '\0';
	if (!na || na != nb)
		return -1;
	int c = memcmp(a, b, na);
	int swap = c > 0 || (c == 0 && port_a > port_b);
	const uint8_t *first = swap ? b : a, *second = swap ? a : b;
	uint16_t p1 = swap ? port_b : port_a, p2 = swap ? port_a : port_b;
	uint8_t ports[4] = {(uint8_t)(p1 >> 8), (uint8_t)p1, (uint8_t)(p2 >> 8), (uint8_t)p2};

	/* the spec's hashed message: seed, both addresses and ports in order, proto, a pad byte */
	memcpy(msg + n, head, 2), n += 2;
	memcpy(msg + n, first, na), n += na;
	memcpy(msg + n, second, na), n += na;
	memcpy(msg + n, mid, 2), n += 2;
	memcpy(msg + n, ports, 4), n += 4;
	/* OpenSSL's SHA-1 (libcrypto is linked for QUIC already) */
	if (!EVP_Digest(msg, n, digest, &dlen, EVP_sha1(), NULL) || dlen != 20)
		return -1;
	memcpy(out, "1:", 2);
	base64(digest, dlen, out + 2);
	return 0;
}
