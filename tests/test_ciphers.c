/*
 * test_ciphers.c: checks the cipher suite table (order, completeness, names, weakness flags).
 * Standalone: prints one line per group, exits non-zero with the failures on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "ciphers.h"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static int name_is(uint32_t value, const char *want)
{
	const char *got = cipher_name(value);

	if (got && !strcmp(got, want))
		return 1;
	fprintf(stderr, "0x%04x: name %s, want %s\n", (unsigned)value, got ? got : "(null)", want);
	return 0;
}

static void group_done(const char *group, int before)
{
	printf("%-10s %s\n", group, failures == before ? "ok" : "FAILED");
}

static void test_table_shape(void)
{
	int before = failures;
	size_t n = cipher_count(), i, sslv2 = 0;

	CHECK(n > 0);
	for (i = 0; i < n; i++) {
		const struct cipher_suite *cs = cipher_at(i);

		CHECK(cs && cs->name && cs->name[0]);
		if (i > 0)
			CHECK(cipher_at(i - 1)->value < cs->value); /* sorted, no duplicates */
		/* Binary search finds every entry, and finds that entry, not a neighbour. */
		CHECK(cipher_lookup(cs->value) == cs);
		/* The precomputed column follows the naming rule. */
		if (cs->weakness != cipher_classify(cs->name)) {
			fprintf(stderr, "0x%04x %s: table says 0x%x, rule says 0x%x\n",
			        (unsigned)cs->value, cs->name, cs->weakness,
			        cipher_classify(cs->name));
			failures++;
		}
		if (cs->value > 0xffff)
			sslv2++;
	}
	CHECK(cipher_at(n) == NULL);
	/* The full registry: 356 IANA entries + 7 SSLv2 kinds = 363 when this was written. */
	CHECK(n >= 340);
	CHECK(sslv2 == 7);
	printf("count      %zu (%zu IANA, %zu SSLv2)\n", n, n - sslv2, sslv2);
	group_done("table", before);
}

static void test_spot_values(void)
{
	int before = failures;

	CHECK(name_is(0x0000, "TLS_NULL_WITH_NULL_NULL"));
	CHECK(name_is(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"));
	CHECK(name_is(0x0005, "TLS_RSA_WITH_RC4_128_SHA"));
	CHECK(name_is(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
	CHECK(name_is(0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"));
	CHECK(name_is(0x00c6, "TLS_SM4_GCM_SM3"));
	CHECK(name_is(0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"));
	CHECK(name_is(0x1301, "TLS_AES_128_GCM_SHA256"));
	CHECK(name_is(0x1303, "TLS_CHACHA20_POLY1305_SHA256"));
	CHECK(name_is(0x1306, "TLS_AEGIS_256_SHA512"));
	CHECK(name_is(0x5600, "TLS_FALLBACK_SCSV"));
	CHECK(name_is(0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
	CHECK(name_is(0xc100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC"));
	CHECK(name_is(0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"));
	CHECK(name_is(0xd005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"));
	CHECK(name_is(0x0700c0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"));
	group_done("names", before);
}

static void test_weakness(void)
{
	int before = failures;

	CHECK(cipher_weakness(0x0000) == CIPHER_NULL);
	CHECK(cipher_is_legacy(0x0000));
	CHECK(cipher_weakness(0x0003) == (CIPHER_EXPORT | CIPHER_RC4 | CIPHER_MD5));
	CHECK(cipher_weakness(0x0005) == CIPHER_RC4);
	CHECK(cipher_weakness(0x0006) == (CIPHER_EXPORT | CIPHER_RC2 | CIPHER_MD5));
	CHECK(cipher_weakness(0x0008) == (CIPHER_EXPORT | CIPHER_DES));
	CHECK(cipher_weakness(0x0009) == CIPHER_DES);
	CHECK(cipher_weakness(0x000a) == CIPHER_3DES);
	CHECK(cipher_is_legacy(0x000a));
	CHECK(cipher_weakness(0x0018) == (CIPHER_ANON | CIPHER_RC4 | CIPHER_MD5));
	CHECK(cipher_weakness(0x0026) == (CIPHER_EXPORT | CIPHER_DES)); /* DES_CBC_40 */
	CHECK(cipher_weakness(0x0034) == CIPHER_ANON);                  /* anon with AES */
	CHECK(cipher_weakness(0xc015) == (CIPHER_ANON | CIPHER_NULL));  /* ECDH_anon */
	CHECK(cipher_weakness(0xc0b4) == CIPHER_NULL);                  /* RFC 9150 */
	CHECK(cipher_weakness(0x0007) == 0);                            /* IDEA: not flagged */
	CHECK(cipher_weakness(0xc02f) == 0);
	CHECK(!cipher_is_legacy(0xc02f));
	CHECK(cipher_weakness(0x1301) == 0);
	CHECK(!cipher_is_legacy(0x1301));
	CHECK(cipher_weakness(0xcca8) == 0);
	CHECK(!cipher_is_legacy(0xcca8));
	/* An MD5 MAC alone is informational: IDEA with MD5 is flagged but not legacy. */
	CHECK(cipher_weakness(0x0025) == CIPHER_MD5);
	CHECK(!cipher_is_legacy(0x0025));
	group_done("weakness", before);
}

static void test_scsv_and_unknown(void)
{
	int before = failures;

	CHECK(cipher_weakness(0x00ff) == CIPHER_SCSV);
	CHECK(!cipher_is_legacy(0x00ff));
	CHECK(cipher_weakness(0x5600) == CIPHER_SCSV);
	CHECK(!cipher_is_legacy(0x5600));
	/* GREASE (RFC 8701) and gaps in the registry are unknown. */
	CHECK(cipher_lookup(0x0a0a) == NULL);
	CHECK(cipher_name(0x0a0a) == NULL);
	CHECK(cipher_weakness(0x0a0a) == 0);
	CHECK(!cipher_is_legacy(0x0a0a));
	CHECK(cipher_name(0xfafa) == NULL);
	CHECK(cipher_name(0x001c) == NULL); /* reserved to avoid SSLv3 conflicts */
	CHECK(cipher_name(0x0060) == NULL); /* EXPORT1024 draft, never assigned */
	CHECK(cipher_name(0xcc13) == NULL); /* pre-RFC ChaCha20 */
	CHECK(cipher_name(0xffff) == NULL);
	CHECK(cipher_name(0x080080) == NULL);
	CHECK(cipher_name(0xffffffff) == NULL);
	CHECK(cipher_classify(NULL) == 0);
	group_done("unknown", before);
}

static void test_sslv2(void)
{
	int before = failures;

	CHECK(name_is(0x010080, "SSL_CK_RC4_128_WITH_MD5"));
	CHECK(cipher_weakness(0x010080) == (CIPHER_RC4 | CIPHER_MD5));
	CHECK(cipher_weakness(0x020080) == (CIPHER_EXPORT | CIPHER_RC4 | CIPHER_MD5));
	CHECK(cipher_weakness(0x030080) == (CIPHER_RC2 | CIPHER_MD5));
	CHECK(cipher_weakness(0x040080) == (CIPHER_EXPORT | CIPHER_RC2 | CIPHER_MD5));
	CHECK(cipher_weakness(0x050080) == CIPHER_MD5);
	CHECK(cipher_weakness(0x060040) == (CIPHER_DES | CIPHER_MD5));
	CHECK(cipher_weakness(0x0700c0) == (CIPHER_3DES | CIPHER_MD5));
	CHECK(cipher_is_legacy(0x0700c0));
	/* A TLS suite offered in an SSLv2 hello (0x00XXYY) is the same key. */
	CHECK(name_is(0x00002f, "TLS_RSA_WITH_AES_128_CBC_SHA"));
	group_done("sslv2", before);
}

int main(void)
{
	test_table_shape();
	test_spot_values();
	test_weakness();
	test_scsv_and_unknown();
	test_sslv2();
	if (failures) {
		fprintf(stderr, "test_ciphers: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test_ciphers: all checks passed\n");
	return 0;
}
