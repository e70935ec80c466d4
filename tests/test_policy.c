/*
 * test_policy.c: the judge, which needs no database: policy files (errors with line numbers,
 * each built-in policy judging a table of versions and suites), address filters (CIDR, IPv4 and
 * IPv6), SNI globs, points in time, deadlines, attribution and folding of plain pairs, the
 * provider catalog, the fingerprint map and the embedded copies of the data files; the groups
 * registry, the group rules and the key-exchange attribution (post-quantum readiness).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "datafile.h"
#include "groups.h"
#include "hints.h"
#include "legacy.h"
#include "tc_test.h"
#include "tlscensus/hello.h"

static int contains(const char *hay, const char *needle)
{
	int ok = hay && strstr(hay, needle) != NULL;

	if (!ok)
		fprintf(stderr, "  '%s' does not contain '%s'\n", hay ? hay : "(null)", needle);
	return ok;
}

static int same(const char *got, const char *want)
{
	int ok = got && want ? strcmp(got, want) == 0 : got == want;

	if (!ok)
		fprintf(stderr, "  got '%s', want '%s'\n", got ? got : "(null)",
		        want ? want : "(null)");
	return ok;
}

/* ---------------------------------------------------------------- policy files */

static struct policy *parse(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return policy_parse(text, strlen(text), "t.policy", err, errlen);
}

static void check_policy_errors(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"name x\nmin-version TLSv9\n", "t.policy:2: unknown version 'TLSv9'"},
	    {"# c\n\nmin-version TLSv1.2\nfrobnicate yes\n",
	     "t.policy:4: unknown directive 'frobnicate'"},
	    {"deny-cipher 3DES FOO\n", "t.policy:1: unknown cipher suite or class 'FOO'"},
	    {"min-version TLSv1.2\nallow-cipher 3DES\n", "t.policy:2: allow-cipher takes suites"},
	    {"allow-cipher TLS_NOT_A_SUITE\n",
	     "t.policy:1: unknown cipher suite 'TLS_NOT_A_SUITE'"},
	    {"min-version TLSv1.2 TLSv1.3\n", "t.policy:1: min-version takes one version"},
	    {"min-version TLSv1.2\nmin-version TLSv1.3\n", "t.policy:2: min-version given twice"},
	    {"min-version\n", "t.policy:1: min-version wants a version"},
	    {"name a b\nmin-version TLSv1.2\n", "t.policy:1: name wants one word"},
	    {"name a\nname b\nmin-version TLSv1.2\n", "t.policy:2: name given twice"},
	    {"description\n", "t.policy:1: description wants text"},
	    {"deny-version 0x\n", "t.policy:1: unknown version '0x'"},
	    {"name only\n# nothing else\n", "t.policy: no rule"},
	    {"", "t.policy: no rule"},
	};
	char err[512];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct policy *p = parse(bad[i].text, err, sizeof err);

		CHECK(p == NULL);
		CHECK(contains(err, bad[i].want));
		policy_free(p);
	}
	/* A NUL byte is not text. */
	{
		static const char nul[] = "min-version TLSv1.2\nname a\0b\n";
		struct policy *p = policy_parse(nul, sizeof nul - 1, "n.policy", err, sizeof err);

		CHECK(p == NULL);
		CHECK(contains(err, "n.policy:2: a NUL byte"));
	}
	/* A hostile word is quoted cut short, so the message stays one readable line. */
	{
		char text[600] = "min-version ";
		struct policy *p;

		memset(text + strlen(text), 'A', 500);
		p = parse(text, err, sizeof err);
		CHECK(p == NULL);
		CHECK(strlen(err) < 300);
		policy_free(p);
	}
}

static void check_policy_syntax(void)
{
	char err[512];
	struct policy *p;

	/* Comments after a blank, case-insensitive names, "v" optional, hex values, '#' in a URL.
	 */
	p = policy_parse("# header\n\n  min-version tls1.2   # trailing\n"
	                 "source https://example.test/a#frag\n"
	                 "deny-version 0x0303\n"
	                 "deny-cipher rc4 tls_rsa_with_aes_128_cbc_sha 0x009c\n",
	                 strlen("# header\n\n  min-version tls1.2   # trailing\n"
	                        "source https://example.test/a#frag\n"
	                        "deny-version 0x0303\n"
	                        "deny-cipher rc4 tls_rsa_with_aes_128_cbc_sha 0x009c\n"),
	                 "dir/mine.policy", err, sizeof err);
	CHECK(p != NULL);
	if (!p) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK(same(policy_name(p), "mine"));           /* from the file name */
	CHECK(same(policy_description(p), "mine"));    /* defaults to the name */
	CHECK(!policy_accepts_version(p, TC_V_TLS11)); /* min-version */
	CHECK(!policy_accepts_version(p, TC_V_TLS12)); /* deny-version 0x0303 */
	CHECK(policy_accepts_version(p, TC_V_TLS13));
	CHECK(policy_accepts_version(p, 0x7f1c)); /* a draft cannot be judged */
	CHECK(same(policy_judge(p, TC_V_TLS13, 1, 0x002f), "denied cipher"));
	CHECK(same(policy_judge(p, TC_V_TLS13, 1, 0x009c), "denied cipher"));
	CHECK(same(policy_judge(p, TC_V_TLS13, 1, 0x0005), "RC4 cipher"));
	CHECK(policy_judge(p, TC_V_TLS13, 1, 0x1301) == NULL);
	policy_free(p);

	p = parse("name strict\ndescription Strict, really\nallow-cipher TLS_AES_128_GCM_SHA256\n"
	          "deny-cipher 0x1301\n",
	          err, sizeof err);
	CHECK(p != NULL);
	if (p) {
		CHECK(same(policy_description(p), "Strict, really"));
		/* deny-cipher wins over allow-cipher */
		CHECK(same(policy_judge(p, TC_V_TLS13, 1, 0x1301), "denied cipher"));
		CHECK(same(policy_judge(p, TC_V_TLS13, 1, 0x1302), "cipher not in policy"));
		CHECK(policy_accepts_version(p, TC_V_SSL3)); /* no version rule */
		policy_free(p);
	}
}

/* ---------------------------------------------------------------- built-in policies */

enum { P_DEFAULT, P_ENTRA, P_TLS12, P_NIST, P_PCI, P_COUNT };
static const char *const builtin[P_COUNT] = {"default", "entra", "tls12", "nist", "pci"};

static void check_builtin_policies(void)
{
	/* version, negotiated, cipher, then the expected reason per policy (NULL: acceptable). */
	static const struct {
		uint16_t version;
		int negotiated;
		uint32_t cipher;
		const char *want[P_COUNT];
	} cases[] = {
	    {TC_V_TLS10, 1, 0xc014, {"TLSv1.0", "TLSv1.0", "TLSv1.0", "TLSv1.0", "TLSv1.0"}},
	    {TC_V_TLS11, 1, 0xc014, {"TLSv1.1", "TLSv1.1", "TLSv1.1", "TLSv1.1", "TLSv1.1"}},
	    {TC_V_SSL3,
	     1,
	     0x000a,
	     {"SSLv3, 3DES cipher", "SSLv3, 3DES cipher", "SSLv3", "SSLv3, cipher not in policy",
	      "SSLv3, 3DES cipher"}},
	    {0xfeff, 1, 0xc02f, {"DTLSv1.0", "DTLSv1.0", "DTLSv1.0", "DTLSv1.0", "DTLSv1.0"}},
	    /* no ServerHello: the client's offer counts, the suite does not */
	    {TC_V_TLS10,
	     0,
	     0,
	     {"TLSv1.0 offered, no ServerHello", "TLSv1.0 offered, no ServerHello",
	      "TLSv1.0 offered, no ServerHello", "TLSv1.0 offered, no ServerHello",
	      "TLSv1.0 offered, no ServerHello"}},
	    {TC_V_TLS12, 0, 0, {NULL, NULL, NULL, NULL, NULL}},
	    /* TLS 1.2, per suite */
	    {TC_V_TLS12,
	     1,
	     0x000a,
	     {"3DES cipher", "3DES cipher", NULL, "cipher not in policy", "3DES cipher"}},
	    {TC_V_TLS12,
	     1,
	     0x0005,
	     {"RC4 cipher", NULL, NULL, "cipher not in policy", "RC4 cipher"}},
	    {TC_V_TLS12,
	     1,
	     0x0004,
	     {"RC4 cipher", NULL, NULL, "cipher not in policy", "RC4,MD5 cipher"}},
	    {TC_V_TLS12,
	     1,
	     0x0001,
	     {"NULL cipher", NULL, NULL, "cipher not in policy", "NULL,MD5 cipher"}},
	    {TC_V_TLS12,
	     1,
	     0x003b,
	     {"NULL cipher", NULL, NULL, "cipher not in policy", "NULL cipher"}},
	    {TC_V_TLS12,
	     1,
	     0xc018,
	     {"ANON cipher", NULL, NULL, "cipher not in policy", "ANON cipher"}},
	    {TC_V_TLS12,
	     1,
	     0x0009,
	     {"DES cipher", NULL, NULL, "cipher not in policy", "DES cipher"}},
	    {TC_V_TLS12,
	     1,
	     0x0003,
	     {"EXPORT,RC4 cipher", NULL, NULL, "cipher not in policy", "EXPORT,RC4,MD5 cipher"}},
	    {TC_V_TLS12,
	     1,
	     0x0006,
	     {"EXPORT,RC2 cipher", NULL, NULL, "cipher not in policy", "EXPORT,RC2,MD5 cipher"}},
	    {TC_V_TLS12, 1, 0xc02f, {NULL, NULL, NULL, NULL, NULL}},
	    {TC_V_TLS12, 1, 0xc02c, {NULL, NULL, NULL, NULL, NULL}},
	    {TC_V_TLS12,
	     1,
	     0x0033,
	     {NULL, NULL, NULL, NULL, NULL}}, /* DHE_RSA AES128 CBC: NIST ok */
	    {TC_V_TLS12, 1, 0x009c, {NULL, NULL, NULL, "cipher not in policy", NULL}}, /* RSA kx */
	    {TC_V_TLS12,
	     1,
	     0xcca8,
	     {NULL, NULL, NULL, "cipher not in policy", NULL}}, /* ChaCha20 */
	    {TC_V_TLS13, 1, 0x1301, {NULL, NULL, NULL, NULL, NULL}},
	    {TC_V_TLS13, 1, 0x1302, {NULL, NULL, NULL, NULL, NULL}},
	    {TC_V_TLS13, 1, 0x1303, {NULL, NULL, NULL, "cipher not in policy", NULL}},
	    {TC_V_TLS13, 1, 0x1305, {NULL, NULL, NULL, NULL, NULL}}, /* CCM_8: in 800-52r2 */
	    /* a draft version cannot be judged; SSL 2.0 has no suite to judge */
	    {0x7f1c, 1, 0x1301, {NULL, NULL, NULL, NULL, NULL}},
	    {TC_V_SSL2, 1, POLICY_NO_CIPHER, {"SSLv2", "SSLv2", "SSLv2", "SSLv2", "SSLv2"}},
	};
	struct policy *p[P_COUNT];
	char err[512];

	for (int k = 0; k < P_COUNT; k++) {
		p[k] = policy_load(builtin[k], err, sizeof err);
		CHECK(p[k] != NULL);
		if (!p[k]) {
			fprintf(stderr, "  %s: %s\n", builtin[k], err);
			return;
		}
		CHECK(same(policy_name(p[k]), builtin[k]));
		CHECK(strlen(policy_description(p[k])) > 20);
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int k = 0; k < P_COUNT; k++) {
			const char *got = policy_judge(p[k], cases[i].version, cases[i].negotiated,
			                               cases[i].cipher);

			if (!same(got, cases[i].want[k])) {
				tc_failed++;
				fprintf(stderr, "  case %zu, policy %s\n", i, builtin[k]);
			}
			tc_checks++;
		}
	/* The reason text lives as long as the policy: the same pointer comes back. */
	CHECK(policy_judge(p[P_PCI], TC_V_TLS12, 1, 0x0004) ==
	      policy_judge(p[P_PCI], TC_V_TLS12, 1, 0x0004));
	/* Attribution reads the version rule alone. */
	CHECK(!policy_accepts_version(p[P_ENTRA], TC_V_TLS11));
	CHECK(policy_accepts_version(p[P_ENTRA], TC_V_TLS12));
	for (int k = 0; k < P_COUNT; k++)
		policy_free(p[k]);
}

static void check_policy_load(void)
{
	char err[512], path[64], names[128];
	struct policy *p;
	FILE *f;

	policy_builtin_names(names, sizeof names);
	CHECK(same(names, "default, entra, nist, pci, pq, tls12"));
	p = policy_load("nosuch", err, sizeof err);
	CHECK(p == NULL);
	CHECK(contains(err, "unknown policy 'nosuch'"));
	CHECK(contains(err, "default, entra, nist, pci, pq, tls12"));
	p = policy_load("./nosuch.policy", err, sizeof err);
	CHECK(p == NULL);
	CHECK(contains(err, "cannot open policy file './nosuch.policy'"));
	snprintf(path, sizeof path, "/tmp/tc_test_policy_%d.policy", (int)getpid());
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("name mine\n# ok so far\ndeny-version TLSv1.1 TLSv1.4\n", f);
	fclose(f);
	p = policy_load(path, err, sizeof err);
	CHECK(p == NULL);
	CHECK(contains(err, path) && contains(err, ":3: unknown version 'TLSv1.4'"));
	f = fopen(path, "w");
	if (f) {
		fputs("name mine\ndeny-version TLSv1.1\n", f);
		fclose(f);
	}
	p = policy_load(path, err, sizeof err);
	CHECK(p != NULL && same(policy_name(p), "mine"));
	CHECK(p && !policy_accepts_version(p, TC_V_TLS11) && policy_accepts_version(p, TC_V_TLS10));
	policy_free(p);
	unlink(path);
}

/* ---------------------------------------------------------------- filters */

static void check_cidr(void)
{
	static const struct {
		const char *cidr, *ip;
		int match;
	} cases[] = {
	    {"10.0.0.0/8", "10.1.2.3", 1},
	    {"10.0.0.0/8", "11.0.0.1", 0},
	    {"10.0.0.0/8", "10.255.255.255", 1},
	    {"10.1.2.3", "10.1.2.3", 1},
	    {"10.1.2.3", "10.1.2.4", 0},
	    {"10.1.2.3/8", "10.200.0.1", 1}, /* host bits cleared */
	    {"10.16.0.0/12", "10.31.255.255", 1},
	    {"10.16.0.0/12", "10.32.0.0", 0},
	    {"10.16.0.0/12", "10.15.255.255", 0},
	    {"0.0.0.0/0", "192.0.2.1", 1},
	    {"0.0.0.0/0", "2001:db8::1", 0}, /* IPv4 prefixes cover IPv4 only */
	    {"2001:db8::/32", "2001:db8:0:0:1::443", 1},
	    {"2001:db8::/32", "2001:db9::1", 0},
	    {"fd00:99::1", "fd00:99::1", 1},
	    {"fd00:99::/64", "fd00:99::2", 1},
	    {"fd00:99::/64", "fd00:99:0:1::2", 0},
	    {"fd00::/7", "fdff::1", 1},
	    {"fd00::/7", "fe00::1", 0},
	    {"::/0", "10.0.0.1", 1},
	    {"::ffff:10.0.0.0/104", "10.9.8.7", 1}, /* IPv4-mapped form */
	    {"10.0.0.0/8", "not an address", 0},
	    {"10.0.0.0/8", NULL, 0},
	};
	static const char *const bad[] = {
	    "10.0.0.0/33", "10.0.0.0/",   "/8",       "fd00::/129", "banana",
	    "10.0.0.0/8x", "10.0.0.0/-1", "10.0.0/8", "",           "10.0.0.0/+8"};
	struct cidr c;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(cidr_parse(cases[i].cidr, &c));
		if (cidr_match(&c, cases[i].ip) != cases[i].match) {
			tc_failed++;
			fprintf(stderr, "  cidr %s vs %s: want %d\n", cases[i].cidr,
			        cases[i].ip ? cases[i].ip : "(null)", cases[i].match);
		}
		tc_checks++;
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (cidr_parse(bad[i], &c)) {
			tc_failed++;
			fprintf(stderr, "  cidr '%s' parsed\n", bad[i]);
		}
		tc_checks++;
	}
	memset(&c, 0, sizeof c); /* an unset filter matches everything */
	CHECK(cidr_match(&c, "192.0.2.1") && cidr_match(&c, NULL));
}

static void check_glob(void)
{
	CHECK(filter_glob_match("*.example.test", "tls10.example.test"));
	CHECK(
	    filter_glob_match("*.example.test", "A.B.EXAMPLE.TEST")); /* case, and '*' spans dots */
	CHECK(!filter_glob_match("*.example.test", "example.test"));
	CHECK(filter_glob_match("old?lient.*", "oldclient.example.test"));
	CHECK(filter_glob_match("[ot]*", "tls10.example.test"));
	CHECK(!filter_glob_match("*.example.test", NULL));
	/* Stored SNI holds \xHH escapes; a backslash in the pattern is a plain character. */
	CHECK(filter_glob_match("*\\x1b*", "<script>\\x1b[31m"));
	CHECK(filter_glob_match("=cmd|*", "=cmd|' /C calc'!A0"));
}

static void check_time(void)
{
	static const struct {
		const char *text;
		double want;
	} good[] = {
	    {"2026-11-01", 1793491200},
	    {"2026-11-01T12:00:00Z", 1793491200 + 43200},
	    {"2026-11-01T12:00:00", 1793491200 + 43200},
	    {"2026-11-01T12:00Z", 1793491200 + 43200},
	    {"2026-11-01 12:00:30", 1793491200 + 43230},
	    {"2024-02-29", 1709164800},
	    {"7d", 1e9 - 7 * 86400},
	    {"24h", 1e9 - 86400},
	    {"30m", 1e9 - 1800},
	    {"90s", 1e9 - 90},
	    {"2w", 1e9 - 14 * 86400},
	    {"0d", 1e9},
	    {"@1704067200", 1704067200},
	    {"now", 1e9},
	};
	static const char *const bad[] = {"",
	                                  "2026-13-01",
	                                  "2026-02-30",
	                                  "7x",
	                                  "d7",
	                                  "7",
	                                  "2026-11-01T25:00",
	                                  "2026-11-01Z",
	                                  "2026-11-01Tfoo",
	                                  "2026-1-1",
	                                  "2026-11-01T12:00:00Zjunk",
	                                  "@",
	                                  "@x",
	                                  "-7d",
	                                  "yesterday"};
	double t;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		t = -1;
		if (filter_parse_time(good[i].text, 1e9, &t) || t != good[i].want) {
			tc_failed++;
			fprintf(stderr, "  time '%s': got %.0f, want %.0f\n", good[i].text, t,
			        good[i].want);
		}
		tc_checks++;
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (filter_parse_time(bad[i], 1e9, &t) == 0) {
			tc_failed++;
			fprintf(stderr, "  time '%s' parsed\n", bad[i]);
		}
		tc_checks++;
	}
}

static void check_deadline(void)
{
	char buf[64];
	double now = 1793491200 + 3600; /* 2026-11-01T01:00:00Z */

	legacy_deadline_text("2022-01-31", now, buf, sizeof buf);
	CHECK(same(buf, "failing since 2022-01-31"));
	legacy_deadline_text("2026-11-01", now, buf, sizeof buf); /* today: already */
	CHECK(same(buf, "failing since 2026-11-01"));
	legacy_deadline_text("2026-11-02", now, buf, sizeof buf);
	CHECK(same(buf, "fails on 2026-11-02"));
}

static void check_attribution_names(void)
{
	CHECK(same(attribution_name(ATTR_FAILING), "failing"));
	CHECK(same(attribution_name(ATTR_FALLBACK), "fallback"));
	CHECK(same(attribution_name(ATTR_CLIENT), "client-limited"));
	CHECK(same(attribution_name(ATTR_SERVER), "server-limited"));
	CHECK(same(attribution_name(ATTR_CIPHER), "cipher"));
	CHECK(same(attribution_name(ATTR_DRAFT), "draft-only"));
	CHECK(same(attribution_name(ATTR_HRR), "hrr-cost"));
	for (int a = 0; a < ATTR_COUNT; a++)
		CHECK(strlen(attribution_advice((enum attribution)a)) > 40);
}

/* ---------------------------------------------------------------- the judge on plain pairs */

static struct tc_pair pair(const char *client, const char *server, int port, int version,
                           int cipher, int ch_max, uint64_t connections)
{
	return (struct tc_pair){
	    .client_ip = client,
	    .server_ip = server,
	    .server_port = port,
	    .version = version,
	    .cipher = cipher,
	    .ch_max_version = ch_max,
	    .alert_desc = -1,
	    .parse_status = TC_CONN_OK,
	    .connections = connections,
	    .first_seen = 1000,
	    .last_seen = 2000,
	};
}

/* No store in sight: the judge takes pairs as any reader would hand them over. */
static void check_judge(void)
{
	struct legacy_query q = {.now = 1793491200};
	struct legacy_result r;
	struct legacy_group_totals *g;
	struct legacy_judge *j = legacy_judge_begin(&q, &r);
	struct tc_pair p[10];
	size_t n = 0, ng = 0;

	CHECK(j != NULL);
	if (!j)
		return;
	p[n] = pair("10.0.0.2", "192.0.2.1", 443, TC_V_TLS10, 0x002f, TC_V_TLS10, 3);
	p[n++].sni = "login.microsoftonline.com";
	p[n] = pair("10.0.0.2", "192.0.2.1", 443, TC_V_TLS10, 0x002f, TC_V_TLS10, 5);
	p[n].sni = "login.microsoftonline.com";
	p[n].ja4 = "t10d0000_000000000000_000000000000";
	p[n].first_seen = 500;
	p[n++].last_seen = 2500;
	p[n++] = pair("10.0.0.1", "192.0.2.9", 443, -1, -1, TC_V_TLS10, 1);
	p[n++] = pair("10.0.0.1", "192.0.2.9", 443, TC_V_TLS13, 0x1301, TC_V_TLS13, 1);
	p[n] = pair("10.0.0.1", "192.0.2.9", 443, -1, -1, -1, 2);
	p[n++].parse_status = TC_CONN_TRUNCATED;
	p[n] = pair("10.0.0.1", "192.0.2.9", 0, -1, -1, -1, 4);
	p[n++].parse_status = TC_CONN_MIDSTREAM;
	p[n++] = pair("10.0.0.3", "192.0.2.1", 8443, TC_V_TLS12, 0x000a, TC_V_TLS13, 1);
	p[n] = pair("10.0.0.3", "192.0.2.1", 443, TC_V_TLS10, 0x002f, TC_V_TLS10, 1);
	p[n++].fallback_scsv = 1;
	p[n++] = pair("10.0.0.3", "192.0.2.2", 443, TC_V_TLS10, 0x002f, TC_V_TLS12, 1);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(legacy_judge_pair(j, &p[i]), 0);
	CHECK_EQ(legacy_judge_end(j), 0);
	legacy_judge_free(j);
	CHECK(same(r.policy, "default"));
	CHECK_EQ(r.connections, 19);
	CHECK_EQ(r.legacy_connections, 12);
	CHECK_EQ(r.unknown.truncated, 2);
	CHECK_EQ(r.unknown.midstream, 4);
	CHECK_EQ(r.n, 5);
	if (r.n == 5) {
		CHECK(same(r.v[0].client_ip, "10.0.0.1") && r.v[0].attr == ATTR_FAILING &&
		      !r.v[0].negotiated && same(r.v[0].reason, "TLSv1.0 offered, no ServerHello"));
		/* Two pairs, one entry: counts add up, times widen, the catalog names the service.
		 */
		CHECK(same(r.v[1].client_ip, "10.0.0.2") && r.v[1].attr == ATTR_CLIENT);
		CHECK_EQ(r.v[1].connections, 8);
		CHECK(r.v[1].first_seen == 500 && r.v[1].last_seen == 2500);
		CHECK(same(r.v[1].service, "Microsoft Entra ID") && r.v[1].retired != NULL);
		CHECK(same(r.v[1].ja4, "t10d0000_000000000000_000000000000"));
		CHECK(r.v[2].server_port == 443 && r.v[2].attr == ATTR_FALLBACK);
		CHECK(r.v[3].server_port == 8443 && r.v[3].attr == ATTR_CIPHER &&
		      same(r.v[3].reason, "3DES cipher"));
		CHECK(same(r.v[4].server_ip, "192.0.2.2") && r.v[4].attr == ATTR_SERVER &&
		      r.v[4].client_max == TC_V_TLS12);
	}
	g = legacy_groups(&r, GROUP_CLIENT, SORT_CLIENT, &ng);
	CHECK(g != NULL && ng == 3);
	if (g && ng == 3) {
		CHECK(same(g[2].key, "10.0.0.3") && g[2].entries == 3 && g[2].connections == 3);
		CHECK(g[2].by_attr[ATTR_CIPHER] == 1 && g[2].by_attr[ATTR_FAILING] == 0);
	}
	free(g);
	legacy_result_free(&r);
}

/* ---------------------------------------------------------------- groups and group rules */

static void check_groups(void)
{
	char hex[8];

	for (size_t i = 1; i < group_count(); i++)
		CHECK(group_at(i - 1)->value < group_at(i)->value);
	for (size_t i = 0; i < group_count(); i++)
		CHECK(group_lookup(group_at(i)->value) == group_at(i));
	CHECK(group_at(group_count()) == NULL);
	CHECK(same(group_name(0x11ec), "X25519MLKEM768") && group_kind(0x11ec) == GROUP_HYBRID);
	CHECK(same(group_name(0x11eb), "SecP256r1MLKEM768") && group_kind(0x11eb) == GROUP_HYBRID);
	CHECK(same(group_name(0x11ed), "SecP384r1MLKEM1024") && group_kind(0x11ed) == GROUP_HYBRID);
	for (uint16_t v = 0x0200; v <= 0x0202; v++)
		CHECK(group_kind(v) == GROUP_MLKEM);
	CHECK(same(group_name(0x0201), "MLKEM768"));
	CHECK(same(group_name(0x6399), "X25519Kyber768Draft00") &&
	      group_kind(0x6399) == GROUP_DRAFT);
	CHECK(same(group_name(0x639a), "SecP256r1Kyber768Draft00") &&
	      group_kind(0x639a) == GROUP_DRAFT);
	CHECK(same(group_name(0x001d), "x25519") && group_kind(0x001d) == GROUP_ECDHE);
	CHECK(same(group_name(0x0017), "secp256r1") && group_kind(0x0017) == GROUP_ECDHE);
	CHECK(group_kind(0x0100) == GROUP_FFDHE);
	/* GREASE (RFC 8701) and private use must look unknown */
	CHECK(group_lookup(0x0a0a) == NULL && group_kind(0xfafa) == 0 && group_kind(0xfe00) == 0);
	CHECK(same(group_text(0x0a0a, hex), "0x0a0a") &&
	      same(group_text(0x11ec, hex), "X25519MLKEM768"));
	CHECK(same(group_kind_name(GROUP_HYBRID), "hybrid") && same(group_kind_name(0), "unknown"));
}

static void check_group_rules(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"require-group\n", "t.policy:1: require-group wants at least one group"},
	    {"name x\ndeny-group DRAFT FOO\n", "t.policy:2: unknown group 'FOO'"},
	    {"deny-hrr now\n", "t.policy:1: deny-hrr takes no argument"},
	};
	struct policy *p, *pq, *def;
	struct policy_kx kx;
	unsigned flags;
	char err[512];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p = parse(bad[i].text, err, sizeof err);
		CHECK(p == NULL && contains(err, bad[i].want));
		policy_free(p);
	}
	/* One group rule is a policy; names, values and kinds mix, case-insensitively. */
	p = parse("deny-hrr\n", err, sizeof err);
	CHECK(p && policy_judges_groups(p));
	policy_free(p);
	p = parse("require-group x25519mlkem768 0x0201 hybrid\ndeny-group SecP256r1MLKEM768\n", err,
	          sizeof err);
	CHECK(p != NULL);
	if (p) {
		CHECK(policy_accepts_group(p, 0x11ec) && policy_accepts_group(p, 0x0201));
		CHECK(policy_accepts_group(p, 0x11ed) && !policy_accepts_group(p, 0x11eb));
		CHECK(!policy_accepts_group(p, 0x0200) && !policy_accepts_group(p, 0x001d));
		policy_free(p);
	}

	pq = policy_load("pq", err, sizeof err);
	def = policy_load("default", err, sizeof err);
	CHECK(pq && def);
	if (!pq || !def)
		goto out;
	CHECK(policy_judges_groups(pq) && !policy_judges_groups(def));
	CHECK(policy_accepts_group(pq, 0x11ec) && policy_accepts_group(pq, 0x0202));
	CHECK(!policy_accepts_group(pq, 0x6399) && !policy_accepts_group(pq, 0x001d));
	kx = (struct policy_kx){0x11ec, 0};
	CHECK(policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, &flags) == NULL && flags == 0);
	kx.hrr = 1;
	CHECK(same(policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, &flags),
	           "X25519MLKEM768 after HelloRetryRequest") &&
	      flags == POLICY_FLAG_HRR);
	kx = (struct policy_kx){0x001d, 0};
	CHECK(same(policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, &flags), "ECDHE group x25519") &&
	      flags == POLICY_FLAG_GROUP);
	kx = (struct policy_kx){0x0017, 1};
	CHECK(same(policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, &flags),
	           "ECDHE group secp256r1, after HelloRetryRequest") &&
	      flags == (POLICY_FLAG_GROUP | POLICY_FLAG_HRR));
	kx = (struct policy_kx){0x6399, 0};
	CHECK(same(policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, NULL),
	           "draft group X25519Kyber768Draft00"));
	kx = (struct policy_kx){-1, 0};
	CHECK(same(policy_judge_kx(pq, TC_V_TLS12, 1, 0xc02f, &kx, &flags),
	           "no key_share group (TLSv1.2)") &&
	      flags == POLICY_FLAG_GROUP);
	CHECK(same(policy_judge_kx(pq, TC_V_TLS13, 0, 0, &kx, NULL), "no ServerHello"));
	/* No key-exchange facts: the group rules cannot judge, the pair passes them. */
	CHECK(policy_judge_kx(pq, TC_V_TLS12, 1, 0xc02f, NULL, &flags) == NULL && flags == 0);
	/* The same reason text for the same facts, a different one for a different group. */
	kx = (struct policy_kx){0x001d, 0};
	CHECK(policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, NULL) ==
	      policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, NULL));
	kx.group = 0x0017;
	CHECK(same(policy_judge_kx(pq, TC_V_TLS13, 1, 0x1301, &kx, NULL), "ECDHE group secp256r1"));
	/* A policy without group rules ignores the facts; the version still counts. */
	CHECK(policy_judge_kx(def, TC_V_TLS13, 1, 0x1301, &kx, &flags) == NULL && flags == 0);
	CHECK(same(policy_judge_kx(def, TC_V_TLS10, 1, 0x002f, &kx, &flags), "TLSv1.0") &&
	      flags == POLICY_FLAG_VERSION);
out:
	policy_free(pq);
	policy_free(def);
}

/* Each key-exchange class of --policy pq on plain pairs. */
static void check_judge_kx(void)
{
	static const uint16_t offer_pq[] = {0x0a0a, 0x11ec, 0x001d, 0x0017},
	                      share_pq[] = {0x0a0a, 0x11ec, 0x001d}, share_x[] = {0x001d},
	                      offer_draft[] = {0x6399, 0x001d}, offer_classic[] = {0x001d, 0x0017};
	static const struct {
		const char *client;
		int version, ch_max;
		const uint16_t *groups, *shares;
		size_t ng, ns;
		int server_group, hrr, kx_known;
		int attr; /* -1: accepted */
	} cases[] = {
	    {"10.0.0.1", TC_V_TLS13, TC_V_TLS13, offer_pq, share_pq, 4, 3, 0x11ec, 0, 1, -1},
	    {"10.0.0.2", TC_V_TLS13, TC_V_TLS13, offer_pq, share_x, 4, 1, 0x11ec, 1, 1, ATTR_HRR},
	    {"10.0.0.3", TC_V_TLS13, TC_V_TLS13, offer_draft, offer_draft, 2, 2, 0x6399, 0, 1,
	     ATTR_DRAFT},
	    {"10.0.0.4", TC_V_TLS13, TC_V_TLS13, offer_pq, share_pq, 4, 3, 0x001d, 0, 1,
	     ATTR_SERVER},
	    {"10.0.0.5", TC_V_TLS12, TC_V_TLS13, offer_pq, share_pq, 4, 3, -1, 0, 1, ATTR_SERVER},
	    {"10.0.0.6", TC_V_TLS13, TC_V_TLS13, offer_classic, share_x, 2, 1, 0x001d, 0, 1,
	     ATTR_CLIENT},
	    {"10.0.0.7", TC_V_TLS12, TC_V_TLS12, offer_pq, NULL, 4, 0, -1, 0, 1, ATTR_CLIENT},
	    {"10.0.0.8", TC_V_TLS13, TC_V_TLS13, offer_draft, share_x, 2, 1, 0x0017, 1, 1,
	     ATTR_DRAFT},
	    {"10.0.0.9", TC_V_TLS12, TC_V_TLS12, NULL, NULL, 0, 0, -1, 0, 0, -1}, /* no facts */
	};
	char err[512];
	struct policy *pq = policy_load("pq", err, sizeof err);
	struct legacy_query q = {.policy = pq, .now = 1793491200};
	struct legacy_result r;
	struct legacy_judge *j = pq ? legacy_judge_begin(&q, &r) : NULL;
	size_t listed = 0;

	CHECK(j != NULL);
	if (!j) {
		policy_free(pq);
		return;
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tc_pair p =
		    pair(cases[i].client, "192.0.2.1", 443, cases[i].version,
		         cases[i].version == TC_V_TLS13 ? 0x1301 : 0xc02f, cases[i].ch_max, 1);

		p.groups = cases[i].groups;
		p.n_groups = cases[i].ng;
		p.key_shares = cases[i].shares;
		p.n_key_shares = cases[i].ns;
		p.server_group = cases[i].server_group;
		p.hrr = cases[i].hrr;
		p.kx_known = cases[i].kx_known;
		CHECK_EQ(legacy_judge_pair(j, &p), 0);
	}
	CHECK_EQ(legacy_judge_end(j), 0);
	legacy_judge_free(j);
	CHECK(r.judges_groups);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct legacy_entry *e = NULL;

		for (size_t k = 0; k < r.n; k++)
			if (!strcmp(r.v[k].client_ip, cases[i].client))
				e = &r.v[k];
		if (cases[i].attr < 0) {
			CHECK(e == NULL);
			continue;
		}
		listed++;
		CHECK(e && (int)e->attr == cases[i].attr);
		if (e && (int)e->attr != cases[i].attr)
			fprintf(stderr, "  %s: %s\n", cases[i].client, attribution_name(e->attr));
		CHECK(e && e->server_group == cases[i].server_group && e->hrr == cases[i].hrr);
	}
	CHECK_EQ(r.n, listed);
	CHECK_EQ(r.kx.pq, 2);
	CHECK_EQ(r.kx.draft, 1);
	CHECK_EQ(r.kx.classical, 3);
	CHECK_EQ(r.kx.none, 2);
	CHECK_EQ(r.kx.no_facts, 1);
	/* accepted: 10.0.0.1 only; the pair without facts passes but is not counted ready */
	CHECK(r.n_accepted == 1 && same(r.accepted[0].client_ip, "10.0.0.1"));
	CHECK_EQ(r.accepted_connections, 1);
	legacy_result_free(&r);
	policy_free(pq);
}

/* ---------------------------------------------------------------- catalog and hints */

static void check_catalog(void)
{
	static const struct {
		const char *sni, *service;
	} lookups[] = {
	    {"login.microsoftonline.com", "Microsoft Entra ID"},
	    {"LOGIN.MicrosoftOnline.COM", "Microsoft Entra ID"},
	    {"device.login.microsoftonline.com", "Microsoft Entra ID"},
	    {"login.windows.net", "Microsoft Entra ID"},
	    {"graph.windows.net", "Microsoft Entra ID (Azure AD Graph)"},
	    {"myaccount.blob.core.windows.net", "Azure Blob Storage"},
	    {"blob.core.windows.net", NULL},
	    {"mybatch.westeurope.batch.azure.com", "Azure Batch"},
	    {"management.azure.com", "Azure Resource Manager"},
	    {"sts.us-east-1.amazonaws.com", "AWS API endpoint"},
	    {"example.com", NULL},
	    {"", NULL},
	};
	char err[512];
	struct catalog *c = catalog_load(NULL, err, sizeof err);
	const struct catalog_entry *e;

	CHECK(c != NULL);
	if (!c) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK(catalog_count(c) >= 20);
	for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
		e = catalog_lookup(c, lookups[i].sni);
		CHECK(same(e ? e->service : NULL, lookups[i].service));
	}
	CHECK(catalog_lookup(c, NULL) == NULL);
	e = catalog_lookup(c, "login.microsoftonline.com");
	if (e) {
		CHECK(same(e->date, "2022-01-31"));
		/* Entra refuses 3DES even on TLS 1.2, and TLS 1.0 whatever the suite... */
		CHECK(policy_judge(e->rule, TC_V_TLS12, 1, 0x000a) != NULL);
		CHECK(policy_judge(e->rule, TC_V_TLS10, 1, 0xc014) != NULL);
		/* ...but not RC4, which its retirement does not name. */
		CHECK(policy_judge(e->rule, TC_V_TLS12, 1, 0x0005) == NULL);
	}
	e = catalog_lookup(c, "x.blob.core.windows.net");
	if (e) {
		CHECK(policy_judge(e->rule, TC_V_TLS11, 1, 0xc014) != NULL);
		CHECK(policy_judge(e->rule, TC_V_TLS12, 1, 0x000a) == NULL);
	}
	catalog_free(c);
}

static void check_catalog_parse(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"# x\na.test 2026-02-30 <TLSv1.2 A\n", "c.catalog:2: '2026-02-30' is not a date"},
	    {"a.test 2026-01-01 <TLSv1.2\n", "c.catalog:1: wants PATTERN DATE REFUSES SERVICE"},
	    {"a.test 2026-01-01\n", "c.catalog:1: wants PATTERN"},
	    {"\n\na.test 2026-01-01 <TLSv9 A\n", "c.catalog:3: REFUSES '<TLSv9'"},
	    {"a.test 2026-01-01 FOO A\n", "unknown cipher suite or class 'FOO'"},
	    {"a.test 2026-01-01 <TLSv1.2,,3DES A\n", "c.catalog:1: bad REFUSES item"},
	    {"a.test 26-01-01 <TLSv1.2 A\n", "is not a date"},
	};
	static const char good[] =
	    "# first match wins\n"
	    "special.example.test 2030-01-01 <TLSv1.3 Special # a comment\n"
	    "*.example.test       2020-06-30 <TLSv1.2,3DES,RC4 Example Cloud\n";
	char err[512];
	struct catalog *c;
	const struct catalog_entry *e;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		c = catalog_parse(bad[i].text, strlen(bad[i].text), "c.catalog", err, sizeof err);
		CHECK(c == NULL);
		CHECK(contains(err, bad[i].want));
		catalog_free(c);
	}
	c = catalog_parse(good, strlen(good), "c.catalog", err, sizeof err);
	CHECK(c != NULL && catalog_count(c) == 2);
	if (!c)
		return;
	e = catalog_lookup(c, "special.example.test");
	CHECK(e && same(e->service, "Special") && same(e->date, "2030-01-01") && e->line == 2);
	CHECK(e && policy_judge(e->rule, TC_V_TLS12, 1, 0xc02f) != NULL);
	e = catalog_lookup(c, "other.example.test");
	CHECK(e && same(e->service, "Example Cloud") && same(e->rule_text, "<TLSv1.2,3DES,RC4"));
	CHECK(e && policy_judge(e->rule, TC_V_TLS12, 1, 0x0005) != NULL);
	CHECK(e && policy_judge(e->rule, TC_V_TLS12, 1, 0xc02f) == NULL);
	catalog_free(c);
}

static void check_hints(void)
{
	static const char map[] = "ja4\tja3\tsoftware\tnote\n"
	                          "# recorded with curl\n"
	                          "t13d1516h2_8daaf6152771_e5627efa2ab1\t-\tcurl 7.88\tDebian 12\n"
	                          "-\t0123456789abcdef0123456789abcdef\tPython 3.11\t\n"
	                          "t13d1516h2_8daaf6152771_e5627efa2ab1\t-\tsomething else\tlater\n"
	                          "t10d090600_c491f621fb4c_195413a0cc0f\tfedcba\tOpenSSL 3.0\r\n";
	static const char bad[] = "ja4\tja3\tsoftware\tnote\nt13d\tabc\n";
	char err[512];
	struct hints *h = hints_parse(map, strlen(map), "m.tsv", err, sizeof err);

	CHECK(h != NULL);
	if (h) {
		CHECK_EQ(hints_count(h), 4);
		/* first line wins among equal fingerprints */
		CHECK(same(hints_lookup(h, "t13d1516h2_8daaf6152771_e5627efa2ab1", NULL),
		           "curl 7.88"));
		CHECK(same(hints_lookup(h, "t13dXXXX", "0123456789abcdef0123456789abcdef"),
		           "Python 3.11"));
		CHECK(same(hints_lookup(h, NULL, "fedcba"), "OpenSSL 3.0"));
		CHECK(hints_lookup(h, "t13dXXXX", "nope") == NULL);
		CHECK(hints_lookup(h, NULL, NULL) == NULL);
		CHECK(hints_lookup(h, "", "") == NULL);
	}
	hints_free(h);
	h = hints_parse(bad, strlen(bad), "m.tsv", err, sizeof err);
	CHECK(h == NULL);
	CHECK(contains(err, "m.tsv:2: wants tab-separated columns"));
	hints_free(h);
	/* The built-in map loads whatever it holds (one header line at least). */
	h = hints_load(NULL, err, sizeof err);
	CHECK(h != NULL);
	hints_free(h);
	h = hints_load("/nonexistent/map.tsv", err, sizeof err);
	CHECK(h == NULL && contains(err, "cannot open fingerprint map '/nonexistent/map.tsv'"));
}

static void check_embedded(void)
{
	static const char *const names[] = {"default.policy",  "entra.policy", "nist.policy",
	                                    "pci.policy",      "tls12.policy", "providers.catalog",
	                                    "fingerprints.tsv"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct embedded_file *e = embedded_find(names[i]);

		CHECK(e != NULL && e->len > 0 && strlen(e->text) == e->len);
	}
	CHECK(embedded_find("nosuch.policy") == NULL);
}

int main(void)
{
	check_policy_errors();
	check_policy_syntax();
	check_builtin_policies();
	check_policy_load();
	check_cidr();
	check_glob();
	check_time();
	check_deadline();
	check_attribution_names();
	check_judge();
	check_groups();
	check_group_rules();
	check_judge_kx();
	check_catalog();
	check_catalog_parse();
	check_hints();
	check_embedded();
	TEST_DONE("policy");
}
