/*
 * test_label.c: label_sni's cache of SNI -> application. Every answer is the automaton's,
 * however many names pass through the cache's sets; a set keeps the newest four names, and
 * drops the oldest.
 */
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
	int wrong = 0, known_differ = 0;

	fresh("nothing.example.invalid", other);
	for (size_t k = 0; k < NKNOWN; k++) {
		fresh(known[k], want[k]);
		known_differ += strcmp(want[k], other) != 0;
	}
	CHECK(known_differ >= 5); /* the list still names most of them */
	for (unsigned round = 0; round < 30; round++) {
		for (size_t k = 0; k < NKNOWN; k++) {
			label_sni(l, known[k], strlen(known[k]), got);
			wrong += strcmp(got, want[k]) != 0;
		}
		for (unsigned i = 0; i < 10000; i++) {
			name(buf, sizeof buf, round * 10000 + i);
			label_sni_prefetch(l, buf, strlen(buf));
			label_sni(l, buf, strlen(buf), got);
			wrong += strcmp(got, other) != 0;
		}
	}
	CHECK_EQ(wrong, 0);
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
		label_close(l);
	}
	TEST_DONE("label");
}
