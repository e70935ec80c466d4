/*
 * tc_test.h: the few lines every unit test program shares: CHECK counts and reports, and
 * TEST_DONE prints "name: N checks, M failed" and gives the exit status meson reads.
 */
#ifndef TC_TEST_H
#define TC_TEST_H

#include <stdio.h>

static int tc_checks, tc_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		tc_checks++;                                                                       \
		if (!(cond)) {                                                                     \
			tc_failed++;                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long va_ = (long long)(a), vb_ = (long long)(b);                              \
		tc_checks++;                                                                       \
		if (va_ != vb_) {                                                                  \
			tc_failed++;                                                               \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,        \
			        __LINE__, #a, #b, va_, vb_);                                       \
		}                                                                                  \
	} while (0)

#define TEST_DONE(name)                                                                            \
	do {                                                                                       \
		printf("%s: %d checks, %d failed\n", name, tc_checks, tc_failed);                  \
		return tc_failed ? 1 : 0;                                                          \
	} while (0)

#endif
