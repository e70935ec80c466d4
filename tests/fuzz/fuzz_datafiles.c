/*
 * fuzz_datafiles.c: libFuzzer entry for the judge's data-file parsers: a policy file
 * (policies/README.md), a provider catalog and a software-hints file, each parsed from the
 * input; what parses is then asked a few questions (a verdict per version and suite, a
 * catalog lookup, a hint lookup), so the parsed structures are walked too.
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true (scripts/fuzz.sh).
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "hints.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t versions[] = {0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfefd};
	static const uint32_t suites[] = {0x000a, 0x0005, 0x002f, 0xc02f, 0x1301, 0x0700c0};
	char err[512];
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size); /* exact size, not NUL-terminated: ASan sees a read past it */
	struct policy *p = policy_parse(text, size, "fuzz.policy", err, sizeof err);
	if (p) {
		for (size_t v = 0; v < sizeof versions / sizeof versions[0]; v++) {
			policy_accepts_version(p, versions[v]);
			for (size_t c = 0; c < sizeof suites / sizeof suites[0]; c++)
				policy_judge(p, versions[v], (int)(c & 1), suites[c]);
		}
		policy_name(p);
		policy_description(p);
		policy_free(p);
	}
	struct catalog *cat = catalog_parse(text, size, "fuzz.catalog", err, sizeof err);
	if (cat) {
		catalog_count(cat);
		catalog_lookup(cat, "login.microsoftonline.com");
		catalog_lookup(cat, "a.b.example.test");
		catalog_lookup(cat, "");
		catalog_free(cat);
	}
	struct hints *h = hints_parse(text, size, "fuzz.tsv", err, sizeof err);
	if (h) {
		hints_count(h);
		hints_lookup(h, "t13d1516h2_8daaf6152771_e5627efa2ab1", NULL);
		hints_lookup(h, NULL, "771,4865-4866,0-23,29,0");
		hints_free(h);
	}
	free(text);
	return 0;
}
