/*
 * prints.c: a hello's shape (the hash that lets fingerprints and stored hello rows be computed
 * once per client stack), and the fingerprints of one connection. Facts from parsed structs:
 * no packets, no storage.
 */
#include <stdlib.h>
#include <string.h>

#include "tlscensus/fingerprint.h"
#include "tlscensus/ja4.h"
#include "util.h"

/* A 64-bit multiply-xorshift hash over words; quality enough that two real hellos of different
 * shape colliding is as likely as a random 64-bit match (about 1 in 2^64 per pair). The state
 * is passed and returned by value, so it stays in a register: through memory, each word's
 * step waited on a store's forwarding too. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ h >> 31;
}

/* The n (0..8) bytes at p as a little-endian word, zero above them: what memcpy into a zeroed
 * word gives, in at most two loads that may overlap (the bytes they share land in the same
 * place). */
static inline uint64_t word_upto8(const uint8_t *p, size_t n)
{
	uint32_t lo, hi;
	uint64_t w;

	if (n == 8) {
		memcpy(&w, p, 8);
		return w;
	}
	if (n >= 4) {
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return lo | (uint64_t)hi << (8 * (n - 4));
	}
	if (!n)
		return 0;
	return (uint64_t)p[0] | (uint64_t)p[n >> 1] << (8 * (n >> 1)) |
	       (uint64_t)p[n - 1] << (8 * (n - 1));
}

static uint64_t mix_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;

	h = mix(h, n);
	if (!n) /* an empty list may have no array behind it; the same value as before */
		return mix(h, 0);
	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = mix(h, w);
	}
	return mix(h, word_upto8(b, n));
}

static uint64_t finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* The flags and versions a ClientHello's shape starts from. */
static uint64_t client_flags(const struct tc_client_hello *ch)
{
	return (uint64_t)ch->legacy_version | (uint64_t)ch->sslv2 << 16 |
	       (uint64_t)ch->has_extensions << 17 | (uint64_t)ch->has_sni << 18 |
	       (uint64_t)ch->has_alpn << 19 | (uint64_t)ch->has_versions << 20 |
	       (uint64_t)ch->has_groups << 21 | (uint64_t)ch->has_sigalgs << 22 |
	       (uint64_t)ch->has_key_share << 23 | (uint64_t)ch->has_pointfmt << 24 |
	       (uint64_t)ch->has_session_ticket << 25 | (uint64_t)ch->fallback_scsv << 26 |
	       (uint64_t)ch->dtls << 27 | (uint64_t)ch->quic << 28 | (uint64_t)ch->partial << 29 |
	       (uint64_t)ch->trunc << 32;
}

uint64_t tc_client_hello_shape(const struct tc_client_hello *ch)
{
	uint64_t h = 0x1b873593u;

	h = mix(h, client_flags(ch));
	h = mix_bytes(h, ch->ciphers, ch->cipher_n * sizeof ch->ciphers[0]);
	h = mix_bytes(h, ch->exts, ch->ext_n * sizeof ch->exts[0]);
	h = mix_bytes(h, ch->groups, ch->group_n * sizeof ch->groups[0]);
	h = mix_bytes(h, ch->sigalgs, ch->sigalg_n * sizeof ch->sigalgs[0]);
	h = mix_bytes(h, ch->versions, ch->version_n * sizeof ch->versions[0]);
	h = mix_bytes(h, ch->kshares, ch->kshare_n * sizeof ch->kshares[0]);
	h = mix_bytes(h, ch->pointfmts, ch->pointfmt_n);
	h = mix_bytes(h, ch->compress, ch->compress_n);
	h = mix_bytes(h, ch->alpn, ch->alpn_len);
	return finish(h);
}

uint64_t tc_server_hello_shape(const struct tc_server_hello *sh)
{
	uint64_t h = 0x85ebca6bu;

	h = mix(h, (uint64_t)sh->legacy_version | (uint64_t)sh->selected_version << 16 |
	               (uint64_t)sh->sslv2 << 32 | (uint64_t)sh->has_extensions << 33 |
	               (uint64_t)sh->trunc << 40);
	h = mix(h, sh->cipher);
	h = mix_bytes(h, sh->exts, sh->ext_n * sizeof sh->exts[0]);
	h = mix_bytes(h, sh->alpn, sh->alpn_len);
	if (sh->has_key_share) /* mixed only when present: older shapes keep their value */
		h = mix(h, (uint64_t)sh->key_share_group | 1ull << 16);
	return finish(h);
}

/* A list into the quick hash: its length, then its bytes 16 at a time, the last block padded
 * with zeros (the length tells the padding from bytes). */
static uint64_t quick_bytes(uint64_t h, uint64_t seed, const void *list, size_t n)
{
	const uint8_t *p = list;

	h = tc_mum(h ^ n ^ 0xa0761d6478bd642fULL, seed ^ 0xe7037ed1a0b428dbULL);
	for (; n >= 16; n -= 16, p += 16)
		h = tc_mum(word_upto8(p, 8) ^ seed, word_upto8(p + 8, 8) ^ h);
	if (n)
		h = tc_mum(word_upto8(p, n < 8 ? n : 8) ^ seed,
		           (n > 8 ? word_upto8(p + 8, n - 8) : 0) ^ h ^ 0x8ebc6af09c88c6e3ULL);
	return h;
}

uint64_t tc_client_hello_quick(const struct tc_client_hello *ch, uint64_t seed)
{
	uint64_t h = seed, flags = client_flags(ch);

	h = quick_bytes(h, seed, &flags, sizeof flags);
	h = quick_bytes(h, seed, ch->ciphers, ch->cipher_n * sizeof ch->ciphers[0]);
	h = quick_bytes(h, seed, ch->exts, ch->ext_n * sizeof ch->exts[0]);
	h = quick_bytes(h, seed, ch->groups, ch->group_n * sizeof ch->groups[0]);
	h = quick_bytes(h, seed, ch->sigalgs, ch->sigalg_n * sizeof ch->sigalgs[0]);
	h = quick_bytes(h, seed, ch->versions, ch->version_n * sizeof ch->versions[0]);
	h = quick_bytes(h, seed, ch->kshares, ch->kshare_n * sizeof ch->kshares[0]);
	h = quick_bytes(h, seed, ch->pointfmts, ch->pointfmt_n);
	h = quick_bytes(h, seed, ch->compress, ch->compress_n);
	h = quick_bytes(h, seed, ch->alpn, ch->alpn_len);
	return tc_mum(h, seed ^ 0x589965cc75374cc3ULL) | 1;
}

void tc_prints_free(struct tc_prints *p)
{
	free(p->ja3_str);
	free(p->ja3s_str);
	memset(p, 0, sizeof *p);
}

/* The JA3/JA3S input string to keep: str cut to its length, or "" when there is none. */
static char *keep_str(char *str, int has)
{
	char *fit;

	if (!has) {
		free(str);
		return strdup("");
	}
	fit = realloc(str, strlen(str) + 1);
	return fit ? fit : str;
}

int tc_prints_client(const struct tc_client_hello *ch, struct tc_prints *p)
{
	size_t cap = tc_ja3_str_size(ch);
	char *str = malloc(cap);
	char transport = ch->dtls ? TC_JA4_DTLS : TC_JA4_TCP;

	if (!str)
		return -1;
	if (ch->quic)
		transport = TC_JA4_QUIC;
	p->ch_shape = tc_client_hello_shape(ch);
	/* A cut or malformed hello lists only what came before the damage: a JA3/JA4 of that
	 * would name a client that does not exist, and match no hint. */
	p->has_ja3 = !ch->partial && tc_ja3(ch, str, cap, p->ja3);
	p->has_ja4 = !ch->partial && tc_ja4(ch, transport, p->ja4);
	if (!p->has_ja3)
		memset(p->ja3, 0, sizeof p->ja3);
	if (!p->has_ja4)
		memset(p->ja4, 0, sizeof p->ja4);
	free(p->ja3_str);
	p->ja3_str = keep_str(str, p->has_ja3);
	return p->ja3_str ? 0 : -1;
}

int tc_prints_server(const struct tc_server_hello *sh, struct tc_prints *p)
{
	size_t cap = tc_ja3s_str_size(sh);
	char *str = malloc(cap);

	if (!str)
		return -1;
	p->sh_shape = tc_server_hello_shape(sh);
	p->has_ja3s = (uint8_t)tc_ja3s(sh, str, cap, p->ja3s);
	free(p->ja3s_str);
	p->ja3s_str = keep_str(str, p->has_ja3s);
	return p->ja3s_str ? 0 : -1;
}

int tc_prints_compute(const struct tc_client_hello *ch, const struct tc_server_hello *sh,
                      struct tc_prints *p)
{
	memset(p, 0, sizeof *p);
	if ((ch && tc_prints_client(ch, p)) || (sh && tc_prints_server(sh, p))) {
		tc_prints_free(p);
		return -1;
	}
	return 0;
}
