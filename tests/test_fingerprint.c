/*
 * test_fingerprint.c: MD5 against RFC 1321 and JA3/JA3S against independently derived values.
 * Works on hand-filled hello structs only; the real-world values below were read out of the
 * corpus captures once, with tshark, and are constants here (no pcap is opened by this test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlscensus/fingerprint.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int checks, failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

static void md5_hex(const uint8_t sum[TC_MD5_LEN], char hex[33])
{
	for (int i = 0; i < TC_MD5_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
}

static void md5_oneshot(const void *data, size_t len, char hex[33])
{
	struct tc_md5 m;
	uint8_t sum[TC_MD5_LEN];

	tc_md5_init(&m);
	tc_md5_update(&m, data, len);
	tc_md5_final(&m, sum);
	md5_hex(sum, hex);
}

/* RFC 1321 appendix A.5, the whole test suite. */
static void test_md5_rfc(void)
{
	static const struct {
		const char *in, *md5;
	} v[] = {
	    {"", "d41d8cd98f00b204e9800998ecf8427e"},
	    {"a", "0cc175b9c0f1b6a831c399e269772661"},
	    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	     "d174ab98d277d9f5a5611c2c9f419d9f"},
	    {"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
	     "0",
	     "57edf4a22be3c955ac49da2e2107b67a"},
	};
	char hex[33];

	for (size_t i = 0; i < N(v); i++) {
		md5_oneshot(v[i].in, strlen(v[i].in), hex);
		CHECK(strcmp(hex, v[i].md5) == 0, "MD5(\"%s\") = %s, want %s", v[i].in, hex,
		      v[i].md5);
	}
}

/*
 * Lengths around the padding boundary (56 bytes leaves no room for the length field, 64 fills a
 * block exactly). Expected values: python3 -c 'import hashlib; print(hashlib.md5(b"a"*n)
 * .hexdigest())' for each n.
 */
static void test_md5_padding(void)
{
	static const struct {
		size_t n;
		const char *md5;
	} v[] = {
	    {55, "ef1772b6dff9a122358552954ad0df65"}, {56, "3b0c8ac703f828b04c6c197006d17218"},
	    {63, "b06521f39153d618550606be297466d5"}, {64, "014842d480b571495a4a0363793f7367"},
	    {65, "c743a45e0d2e6a95cb859adae0248435"},
	};
	char buf[65], hex[33];

	memset(buf, 'a', sizeof(buf));
	for (size_t i = 0; i < N(v); i++) {
		md5_oneshot(buf, v[i].n, hex);
		CHECK(strcmp(hex, v[i].md5) == 0, "MD5(\"a\" x %zu) = %s, want %s", v[i].n, hex,
		      v[i].md5);
	}
}

/*
 * 1 MiB fed in odd-sized chunks (so most chunks start at an unaligned address and straddle
 * block boundaries) must hash as it does in one call. The pattern and the constant come from
 * python3: bytes(((i*31)+(i>>8)+(i>>16)*7) & 0xff for i in range(1<<20)), hashlib.md5.
 */
static void test_md5_chunks(void)
{
	static const size_t chunk[] = {1, 3, 7, 13, 31, 63, 65, 127, 129, 1001, 4095};
	const size_t len = (size_t)1 << 20;
	uint8_t *buf = malloc(len);
	struct tc_md5 m;
	uint8_t sum[TC_MD5_LEN];
	char one[33], many[33];
	size_t off = 0, k = 0;

	if (!buf) {
		CHECK(0, "out of memory");
		return;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + (i >> 8) + (i >> 16) * 7);
	md5_oneshot(buf, len, one);
	CHECK(strcmp(one, "bc32825b06087bb99e81801ccb557f1a") == 0, "MD5(1 MiB) = %s", one);

	tc_md5_init(&m);
	while (off < len) {
		size_t n = chunk[k++ % N(chunk)];

		if (n > len - off)
			n = len - off;
		tc_md5_update(&m, buf + off, n);
		tc_md5_update(&m, buf + off, 0);
		off += n;
	}
	tc_md5_final(&m, sum);
	md5_hex(sum, many);
	CHECK(strcmp(one, many) == 0, "MD5(1 MiB) chunked %s != one-shot %s", many, one);
	free(buf);
}

/* A ClientHello as lists; counts come from the array sizes. */
struct ch_spec {
	uint16_t version;
	const uint32_t *ciphers;
	size_t cipher_n;
	const uint16_t *exts;
	size_t ext_n;
	const uint16_t *groups;
	size_t group_n;
	const uint8_t *pointfmts;
	size_t pointfmt_n;
};

#define LIST(a) a, N(a)
#define NONE    NULL, 0

static struct tc_client_hello ch;
static struct tc_server_hello sh;

static void ch_fill(const struct ch_spec *s)
{
	tc_client_hello_clear(&ch);
	memset(&ch, 0, sizeof(ch));
	tc_client_hello_alloc(&ch, &(struct tc_hello_room){.ciphers = s->cipher_n,
	                                                   .exts = s->ext_n,
	                                                   .groups = s->group_n,
	                                                   .pointfmts = s->pointfmt_n,
	                                                   .versions = 8}); /* set by some tests */
	ch.legacy_version = s->version;
	ch.cipher_n = (uint16_t)s->cipher_n;
	ch.ext_n = (uint16_t)s->ext_n;
	ch.group_n = (uint16_t)s->group_n;
	ch.pointfmt_n = (uint16_t)s->pointfmt_n;
	ch.has_extensions = s->ext_n > 0;
	ch.has_groups = s->group_n > 0;
	ch.has_pointfmt = s->pointfmt_n > 0;
	if (s->cipher_n)
		memcpy(ch.ciphers, s->ciphers, s->cipher_n * sizeof(ch.ciphers[0]));
	if (s->ext_n)
		memcpy(ch.exts, s->exts, s->ext_n * sizeof(ch.exts[0]));
	if (s->group_n)
		memcpy(ch.groups, s->groups, s->group_n * sizeof(ch.groups[0]));
	if (s->pointfmt_n)
		memcpy(ch.pointfmts, s->pointfmts, s->pointfmt_n);
}

static void sh_fill(uint16_t version, uint32_t cipher, const uint16_t *exts, size_t ext_n)
{
	tc_server_hello_clear(&sh);
	memset(&sh, 0, sizeof(sh));
	tc_server_hello_alloc(&sh, ext_n);
	sh.legacy_version = version;
	sh.cipher = cipher;
	sh.ext_n = (uint16_t)ext_n;
	sh.has_extensions = ext_n > 0;
	if (ext_n)
		memcpy(sh.exts, exts, ext_n * sizeof(sh.exts[0]));
}

typedef int (*fp_fn)(const void *hello, char *str, size_t strcap, char hex[33]);

static int call_ja3(const void *hello, char *str, size_t strcap, char hex[33])
{
	return tc_ja3(hello, str, strcap, hex);
}

static int call_ja3s(const void *hello, char *str, size_t strcap, char hex[33])
{
	return tc_ja3s(hello, str, strcap, hex);
}

/*
 * The full string and hash with a roomy buffer, then the same hash with buffers too small (and
 * none at all): the cut copy must be the string's prefix, NUL-terminated.
 */
static void check_fp(const char *name, fp_fn fn, const void *hello, const char *want_str,
                     const char *want_hex)
{
	static char str[16384];
	static const size_t small[] = {1, 2, 7, 64};
	char hex[33], cut[65]; /* one more than the largest cap, to see overruns */

	memset(str, 'X', sizeof(str));
	CHECK(fn(hello, str, sizeof(str), hex) == 1, "%s: fingerprint not defined", name);
	CHECK(strcmp(str, want_str) == 0, "%s: string\n  got  %s\n  want %s", name, str, want_str);
	CHECK(strcmp(hex, want_hex) == 0, "%s: hash %s, want %s", name, hex, want_hex);

	for (size_t i = 0; i < N(small); i++) {
		size_t cap = small[i], want_len = strlen(want_str);

		if (want_len > cap - 1)
			want_len = cap - 1;
		memset(cut, 'X', sizeof(cut));
		memset(hex, 'X', sizeof(hex));
		CHECK(fn(hello, cut, cap, hex) == 1, "%s: cap %zu: not defined", name, cap);
		CHECK(strlen(cut) == want_len && memcmp(cut, want_str, want_len) == 0,
		      "%s: cap %zu: cut copy \"%s\"", name, cap, cut);
		CHECK(cut[cap] == 'X', "%s: cap %zu: wrote past strcap", name, cap);
		CHECK(strcmp(hex, want_hex) == 0, "%s: cap %zu: hash %s, want %s", name, cap, hex,
		      want_hex);
	}
	memset(hex, 'X', sizeof(hex));
	CHECK(fn(hello, NULL, 0, hex) == 1 && strcmp(hex, want_hex) == 0,
	      "%s: NULL buffer: hash %s, want %s", name, hex, want_hex);
}

/*
 * Expected values in the hand-made cases: the JA3 string is written out from the definition
 * (decimal values, '-' within a list, ',' between fields, GREASE dropped), and its MD5 computed
 * apart from this code with python3 -c 'import hashlib; print(hashlib.md5(b"<string>")
 * .hexdigest())'.
 */
static void test_ja3_known(void)
{
	static const uint32_t ciphers[] = {0x1301, 0xc02b, 0x002f};
	static const uint16_t exts[] = {0, 10, 11, 13, 43};
	static const uint16_t groups[] = {29, 23};
	static const uint8_t pf[] = {0};
	const struct ch_spec s = {0x0303, LIST(ciphers), LIST(exts), LIST(groups), LIST(pf)};

	ch_fill(&s);
	/* The version field is legacy_version even when supported_versions offers TLS 1.3. */
	ch.has_versions = 1;
	ch.version_n = 1;
	ch.versions[0] = TC_V_TLS13;
	check_fp("ja3 known", call_ja3, &ch, "771,4865-49195-47,0-10-11-13-43,29-23,0",
	         "88980430a572adb025f41ac818331df9");
}

/* GREASE in every position of every list it may appear in, with several of the 16 values. */
static void test_ja3_grease(void)
{
	static const uint32_t ciphers[] = {0x0a0a, 0x1301, 0xc02b, 0x3a3a, 0x002f, 0xfafa};
	static const uint16_t exts[] = {0x2a2a, 0, 10, 0x5a5a, 11, 13, 43, 0xeaea};
	static const uint16_t groups[] = {0x8a8a, 29, 23, 0xbaba};
	static const uint8_t pf[] = {0};
	const struct ch_spec s = {0x0303, LIST(ciphers), LIST(exts), LIST(groups), LIST(pf)};

	ch_fill(&s);
	check_fp("ja3 grease", call_ja3, &ch, "771,4865-49195-47,0-10-11-13-43,29-23,0",
	         "88980430a572adb025f41ac818331df9");

	/* Look-alikes that are not GREASE (0x0a1a: bytes differ; 0x0b0b: low nibble not a)
	 * stay; 0x0a0a goes. Hash from python3 hashlib as above. */
	static const uint32_t near[] = {0x0a1a, 0x0b0b, 0x0a0a};
	const struct ch_spec s2 = {0x0303, LIST(near), NONE, NONE, NONE};

	ch_fill(&s2);
	check_fp("ja3 grease look-alikes", call_ja3, &ch, "771,2586-2827,,,",
	         "a4217f6fbf56bd6a763e9235b5519ff0");

	/* Only GREASE in a list leaves that field empty. */
	static const uint32_t only[] = {0x0a0a, 0x2f};
	static const uint16_t only_g[] = {0x1a1a};
	const struct ch_spec s3 = {0x0301, LIST(only), LIST(only_g), LIST(only_g), NONE};

	ch_fill(&s3);
	check_fp("ja3 grease only", call_ja3, &ch, "769,47,,,", "b02be259814e870a469a20ce9b2a7900");
}

static void test_ja3_empty(void)
{
	static const uint32_t ciphers[] = {0x002f, 0x0035};
	const struct ch_spec s = {0x0301, LIST(ciphers), NONE, NONE, NONE};
	const struct ch_spec none = {0x0301, NONE, NONE, NONE, NONE};

	ch_fill(&s);
	check_fp("ja3 empty lists", call_ja3, &ch, "769,47-53,,,",
	         "dac4920d4335e769327dbf4e1b759e15");
	ch_fill(&none);
	check_fp("ja3 all empty", call_ja3, &ch, "769,,,,", "f5d1076d0d11b5cd81c4c4e8e8ee881a");
}

/* JA3 has no definition for the SSLv2 record format: 0, and outputs left empty. */
static void test_ja3_sslv2(void)
{
	static const uint32_t kinds[] = {0x010080, 0x0700c0, 0x000035};
	const struct ch_spec s = {TC_V_TLS10, LIST(kinds), NONE, NONE, NONE};
	char str[32] = "stale", hex[33] = "stale";

	ch_fill(&s);
	ch.sslv2 = 1;
	CHECK(tc_ja3(&ch, str, sizeof(str), hex) == 0, "ja3 sslv2: defined");
	CHECK(str[0] == '\0' && hex[0] == '\0', "ja3 sslv2: outputs not emptied");
	CHECK(tc_ja3(&ch, NULL, 0, hex) == 0, "ja3 sslv2 NULL: defined");

	sh_fill(TC_V_SSL2, 0, NULL, 0);
	sh.sslv2 = 1;
	strcpy(str, "stale");
	strcpy(hex, "stale");
	CHECK(tc_ja3s(&sh, str, sizeof(str), hex) == 0, "ja3s sslv2: defined");
	CHECK(str[0] == '\0' && hex[0] == '\0', "ja3s sslv2: outputs not emptied");
}

/*
 * Long lists (0.2's capacities; lists are whole since), values chosen to need five digits and
 * avoid GREASE: ciphers 0xc000+i (i < 1024), extensions 0xf000+i and groups 0xe000+i
 * (i < 128), point formats 255-i (i < 16), version 65535. The string (7749 characters) was built by
 * the same rule in python3
 * ("65535," + "-".join(map(str, ciphers)) + "," + ...) and hashed with hashlib.md5. check_fp
 * then shows strcap 1..64 and NULL give that hash too.
 */
static void test_ja3_capacity(void)
{
	static uint32_t ciphers[1024];
	static uint16_t exts[128], groups[128];
	static uint8_t pf[16];
	static char want[16384];
	size_t len = 0;

	for (size_t i = 0; i < N(ciphers); i++)
		ciphers[i] = 0xc000 + (uint32_t)i;
	for (size_t i = 0; i < N(exts); i++)
		exts[i] = (uint16_t)(0xf000 + i);
	for (size_t i = 0; i < N(groups); i++)
		groups[i] = (uint16_t)(0xe000 + i);
	for (size_t i = 0; i < N(pf); i++)
		pf[i] = (uint8_t)(255 - i);
	const struct ch_spec s = {0xffff, LIST(ciphers), LIST(exts), LIST(groups), LIST(pf)};
	ch_fill(&s);

	/* The expected string for the string comparison; the hash is the Python constant. */
	len += (size_t)snprintf(want + len, sizeof(want) - len, "65535");
	for (size_t i = 0; i < N(ciphers); i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%c%u", i ? '-' : ',',
		                        (unsigned)ciphers[i]);
	for (size_t i = 0; i < N(exts); i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%c%u", i ? '-' : ',',
		                        exts[i]);
	for (size_t i = 0; i < N(groups); i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%c%u", i ? '-' : ',',
		                        groups[i]);
	for (size_t i = 0; i < N(pf); i++)
		len +=
		    (size_t)snprintf(want + len, sizeof(want) - len, "%c%u", i ? '-' : ',', pf[i]);
	CHECK(len == 7749 && len < sizeof(want), "capacity string length %zu", len);
	check_fp("ja3 capacity", call_ja3, &ch, want, "f571f56bfca767c214197255ed1c8684");
}

/*
 * Real hellos. Values read with TShark 4.0.17 (Debian 12), e.g. for the first one:
 *   tshark -r zeek__tls1_1.pcap -Y frame.number==4 -T fields -e tls.handshake.version
 *     -e tls.handshake.ciphersuite -e tls.handshake.extension.type
 *     -e tls.handshake.extensions_supported_group -e tls.handshake.extensions_ec_point_format
 *     -e tls.handshake.ja3_full -e tls.handshake.ja3
 * The lists below are the first five fields as printed; the expected string and hash are
 * tshark's ja3_full and ja3, not ours. For ServerHellos the same with
 * tls.handshake.extensions.supported_version, ja3s_full and ja3s.
 */

/* corpus/pcaps/zeek__tls1_1.pcap frame 4: TLS 1.1 client; the oracle's ja3 agrees. */
static void test_ja3_real_zeek(void)
{
	static const uint32_t ciphers[] = {
	    0xc014, 0xc00a, 0x0039, 0x0038, 0x0037, 0x0036, 0x0088, 0x0087, 0x0086, 0x0085,
	    0xc00f, 0xc005, 0x0035, 0x0084, 0xc013, 0xc009, 0x0033, 0x0032, 0x0031, 0x0030,
	    0x009a, 0x0099, 0x0098, 0x0097, 0x0045, 0x0044, 0x0043, 0x0042, 0xc00e, 0xc004,
	    0x002f, 0x0096, 0x0041, 0x0007, 0xc011, 0xc007, 0xc00c, 0xc002, 0x0005, 0x0004,
	    0xc012, 0xc008, 0x0016, 0x0013, 0x0010, 0x000d, 0xc00d, 0xc003, 0x000a, 0x00ff,
	};
	static const uint16_t exts[] = {11, 10, 35, 15};
	static const uint16_t groups[] = {0x0017, 0x0019, 0x001c, 0x001b, 0x0018, 0x001a, 0x0016,
	                                  0x000e, 0x000d, 0x000b, 0x000c, 0x0009, 0x000a};
	static const uint8_t pf[] = {0, 1, 2};
	const struct ch_spec s = {0x0302, LIST(ciphers), LIST(exts), LIST(groups), LIST(pf)};

	ch_fill(&s);
	check_fp("ja3 zeek__tls1_1", call_ja3, &ch,
	         "770,49172-49162-57-56-55-54-136-135-134-133-49167-49157-53-132-49171-49161-51-"
	         "50-49-48-154-153-152-151-69-68-67-66-49166-49156-47-150-65-7-49169-49159-49164-"
	         "49154-5-4-49170-49160-22-19-16-13-49165-49155-10-255,11-10-35-15,23-25-28-27-24-"
	         "26-22-14-13-11-12-9-10,0-1-2",
	         "5eb6e1fe80f696450a62a48bb3d6a965");
}

/* corpus/pcaps/ja4__tls12.pcap frame 1: a Mozilla client (SNI contile.services.mozilla.com)
 * offering TLS 1.3 and 1.2 (no ServerHello in this capture). */
static void test_ja3_real_ja4_tls12(void)
{
	static const uint32_t ciphers[] = {
	    0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030,
	    0xc00a, 0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
	};
	static const uint16_t exts[] = {0,  23, 65281, 10, 11, 35, 16, 5,
	                                34, 51, 43,    13, 45, 28, 21};
	static const uint16_t groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101};
	static const uint8_t pf[] = {0};
	const struct ch_spec s = {0x0303, LIST(ciphers), LIST(exts), LIST(groups), LIST(pf)};

	ch_fill(&s);
	check_fp("ja3 ja4__tls12", call_ja3, &ch,
	         "771,4865-4867-4866-49195-49199-52393-52392-49196-49200-49162-49161-49171-49172-"
	         "156-157-47-53,0-23-65281-10-11-35-16-5-34-51-43-13-45-28-21,29-23-24-25-256-257,"
	         "0",
	         "579ccef312d18482fc42e2b822ca2430");
}

/* corpus/pcaps/ndpi__chrome.pcap frame 4: Chrome, with GREASE in ciphers (0x9a9a), extensions
 * (19018 = 0x4a4a, 27242 = 0x6a6a) and groups (0x6a6a), which tshark's string leaves out. */
static void test_ja3_real_chrome(void)
{
	static const uint32_t ciphers[] = {
	    0x9a9a, 0x1303, 0x1301, 0x1302, 0xcca9, 0xcca8, 0xc02b, 0xc02f,
	    0xc02c, 0xc030, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
	};
	static const uint16_t exts[] = {19018, 0,  23, 65281, 10, 11, 35,    16,    5,
	                                13,    18, 51, 45,    43, 27, 17513, 27242, 21};
	static const uint16_t groups[] = {0x6a6a, 0x001d, 0x0017, 0x0018};
	static const uint8_t pf[] = {0};
	const struct ch_spec s = {0x0303, LIST(ciphers), LIST(exts), LIST(groups), LIST(pf)};

	ch_fill(&s);
	check_fp("ja3 ndpi__chrome", call_ja3, &ch,
	         "771,4867-4865-4866-52393-52392-49195-49199-49196-49200-49171-49172-156-157-47-53,"
	         "0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513-21,29-23-24,0",
	         "aa50c12a5dfa717d9d6ab34e97de79d5");
}

static void test_ja3s(void)
{
	/* Hand-made: TLS 1.3 ServerHello; the string uses legacy_version 0x0303, not the
	 * supported_versions 0x0304. MD5 from python3 hashlib as above; tshark prints the same
	 * pair for corpus/pcaps/ja4__tls3.pcapng frame 65. */
	static const uint16_t exts13[] = {43, 51};
	sh_fill(TC_V_TLS12, 0x1301, exts13, N(exts13));
	sh.selected_version = TC_V_TLS13;
	check_fp("ja3s tls13", call_ja3s, &sh, "771,4865,43-51",
	         "f4febc55ea12b31ae17cfb7e614afda8");

	/* GREASE among the server's extensions is dropped like the client's. */
	static const uint16_t greased[] = {0x0a0a, 43, 0xdada, 51, 0xfafa};
	sh_fill(TC_V_TLS12, 0x1301, greased, N(greased));
	sh.selected_version = TC_V_TLS13;
	check_fp("ja3s grease", call_ja3s, &sh, "771,4865,43-51",
	         "f4febc55ea12b31ae17cfb7e614afda8");

	/* No extensions: an empty last field. */
	sh_fill(TC_V_SSL3, 0x0005, NULL, 0);
	check_fp("ja3s empty", call_ja3s, &sh, "768,5,", "09dc4beaf549afb0edb5ed50da347005");

	/* Real: corpus/pcaps/zeek__tls1_1.pcap frame 6 (the oracle's ja3s agrees). */
	static const uint16_t zeek[] = {65281, 35, 11};
	sh_fill(0x0302, 0xc013, zeek, N(zeek));
	check_fp("ja3s zeek__tls1_1", call_ja3s, &sh, "770,49171,65281-35-11",
	         "b5237e0430ad71aac52aa90b6627cb5f");

	/* Real: corpus/pcaps/ndpi__chrome.pcap frame 6, answering the Chrome hello above with
	 * TLS 1.3 (supported_version 0x0304, legacy_version 0x0303). */
	static const uint16_t chrome[] = {43, 51};
	sh_fill(0x0303, 0x1302, chrome, N(chrome));
	sh.selected_version = TC_V_TLS13;
	check_fp("ja3s ndpi__chrome", call_ja3s, &sh, "771,4866,43-51",
	         "15af977ce25de452b96affa2addb1036");
}

int main(void)
{
	test_md5_rfc();
	test_md5_padding();
	test_md5_chunks();
	test_ja3_known();
	test_ja3_grease();
	test_ja3_empty();
	test_ja3_sslv2();
	test_ja3_capacity();
	test_ja3_real_zeek();
	test_ja3_real_ja4_tls12();
	test_ja3_real_chrome();
	test_ja3s();

	printf("test_fingerprint: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
