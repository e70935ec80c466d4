/*
 * quic_keys.c: the packet protection of QUIC Initials (RFC 9001 5, RFC 9369 3.3) through
 * OpenSSL 3's libcrypto: HKDF-SHA256 for the secrets, AES-128-ECB for the header protection
 * mask, AES-128-GCM for the payload. No cipher is written here. Knows nothing of frames,
 * streams or flows: bytes and keys in, bytes out.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "quic.h"

/* Salts are the initial_salt values of RFC 9001 5.2 (v1; drafts 33 and 34 already used it),
 * RFC 9369 3.3.1 (v2), draft-ietf-quic-tls-29 5.2 (drafts 29 to 32) and -23 (23 to 28), and
 * Google's T051, which runs TLS 1.3 in IETF-format Initials with a salt of its own and numbers
 * its CRYPTO frame 0x08. 0x709a50c4 is the provisional number of draft-ietf-quic-v2 (ngtcp2's
 * "v2draft"), with that draft's salt and v2's labels and packet types. One version per three
 * lines reads better than clang-format's one field per line. */
/* clang-format off */
static const struct tc_quic_version quic_versions[] = {
    {0x00000001, 0x00000001, {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                              0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
     0, 0x06, "v1"},
    {0x6b3343cf, 0x6b3343cf, {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                              0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
     1, 0x06, "v2"},
    {0x709a50c4, 0x709a50c4, {0xa7, 0x07, 0xc2, 0x03, 0xa5, 0x9b, 0x47, 0x18, 0x4a, 0x1d,
                              0x62, 0xca, 0x57, 0x04, 0x06, 0xea, 0x7a, 0xe3, 0xe5, 0xd3},
     1, 0x06, "v2draft"},
    {0xff000021, 0xff000022, {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                              0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
     0, 0x06, "draft-33"},
    {0xff00001d, 0xff000020, {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                              0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99},
     0, 0x06, "draft-29"},
    {0xff000017, 0xff00001c, {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                              0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02},
     0, 0x06, "draft-23"},
    {0x54303531, 0x54303531, {0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
                              0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d},
     0, 0x08, "T051"},
};
/* clang-format on */

const struct tc_quic_version *tc_quic_version_find(uint32_t version)
{
	for (size_t i = 0; i < sizeof quic_versions / sizeof quic_versions[0]; i++)
		if (version >= quic_versions[i].version && version <= quic_versions[i].last)
			return &quic_versions[i];
	return NULL;
}

/* RFC 9369 3.2: v2 numbers Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00; v1 and the
 * drafts 0b00 to 0b11 in the order of the enum. */
enum tc_quic_ptype tc_quic_ptype(const struct tc_quic_version *qv, uint8_t first)
{
	unsigned bits = first >> 4 & 3;

	if (qv && qv->v2)
		return (enum tc_quic_ptype)((bits + 3) & 3);
	return (enum tc_quic_ptype)bits;
}

/* One HKDF-SHA256 context for the derivations of a set of keys: fetching the KDF and naming
 * the digest (a fetch too) cost more than a derivation, so both are done once per set. */
static EVP_KDF_CTX *hkdf_new(void)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[2] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end()};

	EVP_KDF_free(kdf); /* the context holds its own reference */
	if (ctx && EVP_KDF_CTX_set_params(ctx, params) != 1) {
		EVP_KDF_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int hkdf(EVP_KDF_CTX *ctx, int mode, const uint8_t *key, size_t key_len, const uint8_t *salt,
                size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[5], *p = params;

	/* Each call sets what its mode reads (extract: key, salt; expand: key, info); what an
	 * earlier call left is not read. */
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (salt)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (info)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	return EVP_KDF_derive(ctx, out, out_len, params) == 1 ? 0 : -1;
}

/* RFC 8446 7.1 HKDF-Expand-Label with an empty context: HkdfLabel is the uint16 length, the
 * label "tls13 " + label as a vector<7..255>, and an empty context vector. */
static int expand_label(EVP_KDF_CTX *ctx, const uint8_t secret[TC_QUIC_SECRET], const char *label,
                        uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t n = strlen(label), at = 0;

	if (6 + n > 255)
		return -1;
	info[at++] = (uint8_t)(out_len >> 8);
	info[at++] = (uint8_t)out_len;
	info[at++] = (uint8_t)(6 + n);
	memcpy(info + at, "tls13 ", 6);
	memcpy(info + at + 6, label, n);
	at += 6 + n;
	info[at++] = 0;
	return hkdf(ctx, EVP_KDF_HKDF_MODE_EXPAND_ONLY, secret, TC_QUIC_SECRET, NULL, 0, info, at,
	            out, out_len);
}

static int initial_secrets(EVP_KDF_CTX *ctx, const struct tc_quic_version *qv, const uint8_t *dcid,
                           size_t dcid_len, uint8_t client[TC_QUIC_SECRET],
                           uint8_t server[TC_QUIC_SECRET])
{
	uint8_t initial[TC_QUIC_SECRET];

	if (hkdf(ctx, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, dcid, dcid_len, qv->salt, sizeof qv->salt,
	         NULL, 0, initial, sizeof initial) ||
	    expand_label(ctx, initial, "client in", client, TC_QUIC_SECRET) ||
	    expand_label(ctx, initial, "server in", server, TC_QUIC_SECRET))
		return -1;
	return 0;
}

static int keys_from_secret(EVP_KDF_CTX *ctx, const struct tc_quic_version *qv,
                            const uint8_t secret[TC_QUIC_SECRET], struct tc_quic_keys *k)
{
	int v2 = qv->v2;

	if (expand_label(ctx, secret, v2 ? "quicv2 key" : "quic key", k->key, sizeof k->key) ||
	    expand_label(ctx, secret, v2 ? "quicv2 iv" : "quic iv", k->iv, sizeof k->iv) ||
	    expand_label(ctx, secret, v2 ? "quicv2 hp" : "quic hp", k->hp, sizeof k->hp))
		return -1;
	return 0;
}

int tc_quic_initial_secrets(const struct tc_quic_version *qv, const uint8_t *dcid, size_t dcid_len,
                            uint8_t client[TC_QUIC_SECRET], uint8_t server[TC_QUIC_SECRET])
{
	EVP_KDF_CTX *ctx = hkdf_new();
	int rc = ctx ? initial_secrets(ctx, qv, dcid, dcid_len, client, server) : -1;

	EVP_KDF_CTX_free(ctx);
	return rc;
}

int tc_quic_keys_from_secret(const struct tc_quic_version *qv, const uint8_t secret[TC_QUIC_SECRET],
                             struct tc_quic_keys *k)
{
	EVP_KDF_CTX *ctx = hkdf_new();
	int rc = ctx ? keys_from_secret(ctx, qv, secret, k) : -1;

	EVP_KDF_CTX_free(ctx);
	return rc;
}

int tc_quic_initial_keys(const struct tc_quic_version *qv, const uint8_t *dcid, size_t dcid_len,
                         struct tc_quic_keys keys[2])
{
	uint8_t client[TC_QUIC_SECRET], server[TC_QUIC_SECRET];
	EVP_KDF_CTX *ctx = hkdf_new();
	int rc = -1;

	if (ctx && !initial_secrets(ctx, qv, dcid, dcid_len, client, server) &&
	    !keys_from_secret(ctx, qv, client, &keys[0]) &&
	    !keys_from_secret(ctx, qv, server, &keys[1]))
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	return rc;
}

/* RFC 9001 5.4.3: AES-ECB of the 16-byte sample under the hp key. */
static int hp_mask(const uint8_t hp[TC_QUIC_KEY], const uint8_t *sample, uint8_t mask[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, ok;

	ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, hp, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_EncryptUpdate(ctx, mask, &outl, sample, TC_QUIC_SAMPLE) == 1 && outl == 16;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* RFC 9000 A.3: the packet number closest to largest + 1 that ends in the truncated bits. */
static uint64_t decode_pn(int64_t largest, uint64_t truncated, unsigned bits)
{
	uint64_t expected = (uint64_t)(largest + 1), win = (uint64_t)1 << bits, hwin = win / 2,
	         mask = win - 1, cand = (expected & ~mask) | truncated;

	if (cand + hwin <= expected && cand < ((uint64_t)1 << 62) - win)
		return cand + win;
	if (cand > expected + hwin && cand >= win)
		return cand - win;
	return cand;
}

static int aead_open(const struct tc_quic_keys *k, uint64_t pn, const uint8_t *aad, size_t aad_len,
                     uint8_t *text, size_t text_len, const uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[TC_QUIC_IV];
	int outl = 0, ok;

	/* RFC 9001 5.3: the nonce is the iv XORed with the packet number, left-padded. */
	memcpy(nonce, k->iv, sizeof nonce);
	for (int i = 0; i < 8; i++)
		nonce[TC_QUIC_IV - 1 - i] ^= (uint8_t)(pn >> (8 * i));
	ok = ctx && aad_len <= 0x7fffffff && text_len <= 0x7fffffff &&
	     EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TC_QUIC_IV, NULL) == 1 &&
	     EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, nonce) == 1 &&
	     EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) == 1 &&
	     EVP_DecryptUpdate(ctx, text, &outl, text, (int)text_len) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TC_QUIC_TAG, (void *)tag) == 1 &&
	     EVP_DecryptFinal_ex(ctx, text + outl, &outl) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

long tc_quic_open(const struct tc_quic_keys *k, uint8_t *pkt, size_t len, size_t pn_off,
                  int64_t largest, uint64_t *pn, size_t *payload_off)
{
	uint8_t mask[16];
	uint64_t truncated = 0;
	size_t pn_len, body;

	/* RFC 9001 5.4.2: the sample starts 4 bytes after the packet number field, whatever
	 * its length; the packet must also hold a tag after the shortest packet number. */
	if (pn_off > len || len - pn_off < 4 + TC_QUIC_SAMPLE)
		return -1;
	if (hp_mask(k->hp, pkt + pn_off + 4, mask))
		return -1;
	pkt[0] ^= mask[0] & 0x0f; /* long header: the low four bits */
	pn_len = (size_t)(pkt[0] & 3) + 1;
	for (size_t i = 0; i < pn_len; i++) {
		pkt[pn_off + i] ^= mask[1 + i];
		truncated = truncated << 8 | pkt[pn_off + i];
	}
	body = pn_off + pn_len;
	if (len - body < TC_QUIC_TAG)
		return -1;
	*pn = decode_pn(largest, truncated, (unsigned)(8 * pn_len));
	if (aead_open(k, *pn, pkt, body, pkt + body, len - body - TC_QUIC_TAG,
	              pkt + len - TC_QUIC_TAG))
		return -1;
	*payload_off = body;
	return (long)(len - body - TC_QUIC_TAG);
}
