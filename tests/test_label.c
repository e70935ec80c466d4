/*
 * test_label.c: label_sni's cache of SNI -> application. Every answer is the automaton's,
 * however many names pass through the cache's sets; a set keeps the newest four names, and
 * drops the oldest. And held packets: copied once the caller is done with them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label.h"
#include "tc_test.h"

/* Names nDPI 4.2's host-name list knows, and one it does not. */
static const char *const known[] = {
    "www.netflix.com", "www.google.com", "api.github.com", "www.facebook.com",
    "login.microsoftonline.com", "www.amazon.com", "www.youtube.com", "nothing.example.invalid",
};
#define NKNOWN (sizeof known / sizeof known[0])

static void name(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "r%u.example.invalid", i);
}

/* What a labeler with nothing cached says of the name: the automaton's answer. */
static void fresh(const char *sni, char out[LABEL_MAX])
{
	char err[256];
	struct labeler *l = label_open(err, sizeof err);

	if (!l) {
		fprintf(stderr, "label_open: %s\n", err);
		exit(1);
	}
	label_sni(l, sni, strlen(sni), out);
	label_close(l);
}

/* The known names asked again and again between 300,000 others: every set of the cache sees
 * many names come and go, and each answer stays the automaton's. */
static void test_churn(struct labeler *l)
{
	char want[NKNOWN][LABEL_MAX], got[LABEL_MAX], other[LABEL_MAX], buf[64];
	int wrong = 0, known_differ = 0, keys_zero = 0;

	fresh("nothing.example.invalid", other);
	for (size_t k = 0; k < NKNOWN; k++) {
		fresh(known[k], want[k]);
		known_differ += strcmp(want[k], other) != 0;
	}
	CHECK(known_differ >= 5); /* the list still names most of them */
	for (unsigned round = 0; round < 30; round++) {
		for (size_t k = 0; k < NKNOWN; k++) {
			/* every other round with the key label_sni_prefetch gave (the writer's
			 * way): the same answer, from the cache or, on a miss, the automaton */
			uint64_t key = round & 1 ? label_sni_prefetch(l, known[k], strlen(known[k])) : 0;
			label_sni_keyed(l, known[k], strlen(known[k]), key, got);
			wrong += strcmp(got, want[k]) != 0;
		}
		for (unsigned i = 0; i < 10000; i++) {
			name(buf, sizeof buf, round * 10000 + i);
			uint64_t key = label_sni_prefetch(l, buf, strlen(buf));
			keys_zero += key == 0;
			if (i & 1)
				label_sni_keyed(l, buf, strlen(buf), key, got);
			else
				label_sni(l, buf, strlen(buf), got);
			wrong += strcmp(got, other) != 0;
		}
	}
	CHECK_EQ(wrong, 0);
	CHECK_EQ(keys_zero, 0);
	CHECK_EQ(label_sni_prefetch(l, "", 0), 0);
	CHECK_EQ(label_sni_prefetch(l, NULL, 0), 0);
	/* Upper case and a NUL inside: matched as nDPI would, lower case up to the NUL. */
	label_sni(l, "WWW.NETFLIX.COM", 15, got);
	CHECK(!strcmp(got, want[0]));
	label_sni(l, "www.netflix.com\0.evil", 21, got);
	CHECK(!strcmp(got, want[0]));
}

/* Five names of one set: the first four are all kept, the fifth drops the oldest. */
static void test_ways(struct labeler *l)
{
	char names[5][64], got[LABEL_MAX];
	unsigned n = 0;
	uint32_t set = UINT32_MAX;

	for (unsigned i = 0; n < 5 && i < 50000000; i++) {
		char buf[64];
		snprintf(buf, sizeof buf, "w%u.ways.invalid", i);
		uint32_t s = label_sni_set(l, buf, strlen(buf));
		if (set == UINT32_MAX)
			set = s;
		if (s == set)
			memcpy(names[n++], buf, sizeof buf);
	}
	CHECK_EQ(n, 5);
	if (n < 5)
		return;
	uint64_t m = label_sni_matched(l);
	for (int i = 0; i < 4; i++)
		label_sni(l, names[i], strlen(names[i]), got);
	CHECK_EQ(label_sni_matched(l) - m, 4);
	for (int i = 0; i < 4; i++)
		label_sni(l, names[i], strlen(names[i]), got);
	CHECK_EQ(label_sni_matched(l) - m, 4); /* all four kept */
	label_sni(l, names[4], strlen(names[4]), got);
	CHECK_EQ(label_sni_matched(l) - m, 5);
	label_sni(l, names[3], strlen(names[3]), got); /* the newest three stay */
	label_sni(l, names[2], strlen(names[2]), got);
	label_sni(l, names[1], strlen(names[1]), got);
	CHECK_EQ(label_sni_matched(l) - m, 5);
	label_sni(l, names[0], strlen(names[0]), got); /* the oldest went */
	CHECK_EQ(label_sni_matched(l) - m, 6);
}

/* An IPv4/TCP packet from 10.0.0.1 to 192.0.2.1 with this payload; its length. */
static size_t ip_tcp(uint8_t *b, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags,
                     const char *payload)
{
	size_t n = strlen(payload), len = 40 + n;

	memset(b, 0, 40);
	b[0] = 0x45, b[2] = (uint8_t)(len >> 8), b[3] = (uint8_t)len, b[8] = 64, b[9] = 6;
	b[12] = 10, b[15] = 1, b[16] = 192, b[18] = 2, b[19] = 1;
	b[20] = (uint8_t)(sport >> 8), b[21] = (uint8_t)sport;
	b[22] = (uint8_t)(dport >> 8), b[23] = (uint8_t)dport;
	b[24] = (uint8_t)(seq >> 24), b[25] = (uint8_t)(seq >> 16), b[26] = (uint8_t)(seq >> 8);
	b[27] = (uint8_t)seq, b[32] = 0x50, b[33] = flags, b[34] = b[35] = 0xff;
	memcpy(b + 40, payload, n);
	return len;
}

/* Held packets are copied only when the caller is done with them (label_packet_end), or when
 * the next one comes: a label reached by DPI afterwards is the packets' own, even with the
 * caller's buffers overwritten; without the copy it would be nDPI's answer to zeros. */
static void test_held_copy(struct labeler *l, int clobber)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: www.netflix.com\r\n\r\n";
	uint8_t a[1500], b[1500];
	char out[LABEL_MAX] = "";
	struct label_flow *f = label_flow_new(l, 1);
	size_t na = ip_tcp(a, 40000, 80, 1, 0x18, get);

	size_t nb = ip_tcp(b, 40000, 80, 1, 0x10, "");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(label_packet(l, f, b, nb, 1000000, out), 0); /* an ACK held, not copied yet */
	CHECK_EQ(label_packet(l, f, a, na, 1000100, out), 0); /* the ACK copied now */
	label_packet_end(f);                                   /* and the GET */
	if (clobber) {
		memset(a, 0, sizeof a);
		memset(b, 0, sizeof b);
	}
	label_finish(l, f, out);
	CHECK(strcmp(out, "HTTP.NetFlix") == 0);
	if (strcmp(out, "HTTP.NetFlix") != 0)
		fprintf(stderr, "held packets%s: label %s\n", clobber ? ", buffers overwritten" : "",
		        out);
	label_flow_free(f);
}

int main(void)
{
	char err[256];
	struct labeler *l = label_open(err, sizeof err);

	if (!l) {
		fprintf(stderr, "label_open: %s\n", err);
		return 1;
	}
	test_churn(l);
	label_close(l);
	l = label_open(err, sizeof err);
	CHECK(l != NULL);
	if (l) {
		test_ways(l);
		test_held_copy(l, 0);
		test_held_copy(l, 1);
		label_close(l);
	}
	TEST_DONE("label");
}
