/*
 * test_community_id.c: Community ID v1 against the values the spec publishes in its baseline
 * (community-id-spec/baseline: TCP and UDP over IPv4, TCP over IPv6, seeds 0 and 1, both
 * directions). Standalone: exits non-zero with the failures on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "community_id.h"

static int failures;

static void id_is(const char *a, unsigned pa, const char *b, unsigned pb, unsigned proto,
                  unsigned seed, const char *want)
{
	char got[COMMUNITY_ID_LEN];

	for (int dir = 0; dir < 2; dir++) {
		int rc = dir ? community_id(b, (uint16_t)pb, a, (uint16_t)pa, (uint8_t)proto,
		                            (uint16_t)seed, got)
		             : community_id(a, (uint16_t)pa, b, (uint16_t)pb, (uint8_t)proto,
		                            (uint16_t)seed, got);
		if (rc || strcmp(got, want)) {
			fprintf(stderr, "community id %s:%u %s:%u/%u seed %u%s: %s, want %s\n", a,
			        pa, b, pb, proto, seed, dir ? " (reversed)" : "",
			        rc ? "error" : got, want);
			failures++;
		}
	}
}

static void test_community_id(void)
{
	char out[COMMUNITY_ID_LEN];

	id_is("128.232.110.120", 34855, "66.35.250.204", 80, 6, 0,
	      "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	id_is("128.232.110.120", 34855, "66.35.250.204", 80, 6, 1,
	      "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
	id_is("192.168.1.52", 54585, "8.8.8.8", 53, 17, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
	id_is("192.168.1.52", 54585, "8.8.8.8", 53, 17, 1, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=");
	id_is("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25, 6, 0,
	      "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
	id_is("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25, 6, 1,
	      "1:eJYTW6AOzFLlSUoESovMjnu7rMw=");
	if (community_id("10.0.0.1", 1, "::1", 2, 6, 0, out) != -1 || out[0] ||
	    community_id("not an address", 1, "10.0.0.1", 2, 6, 0, out) != -1) {
		fprintf(stderr, "community id: mixed families or bad text must fail\n");
		failures++;
	}
}

int main(void)
{
	test_community_id();
	printf("community_id: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
