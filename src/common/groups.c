/*
 * groups.c: the IANA "TLS Supported Groups" registry (tls-parameters-8) as a sorted constant
 * table searched by value, with each group's kind. Pure data and lookups.
 *
 * Where the data comes from: the registry's assigned values and descriptions. The ML-KEM rows
 * are those of draft-ietf-tls-mlkem (0x0200-0x0202) and draft-ietf-tls-ecdhe-mlkem
 * (0x11EB-0x11ED); 0x6399 and 0x639A were registered for the pre-standard Kyber drafts
 * (draft-tls-westerbaan-xyber768d00, draft-kwiatkowski-tls-ecdhe-kyber) and are obsolete now
 * that ML-KEM (FIPS 203) is final: their kind is GROUP_DRAFT, not hybrid. GREASE values
 * (RFC 8701: 0x0A0A, 0x1A1A, ...) and the private-use range 0xFE00-0xFEFF are not groups and
 * must look unknown. The two explicit-curve markers (0xFF01, 0xFF02, deprecated by RFC 8422)
 * are listed for their names only; they have no kind.
 */
#include <stdio.h>
#include <string.h>

#include "groups.h"

#define EC GROUP_ECDHE
#define FF GROUP_FFDHE

/* Sorted by value, no duplicates: group_lookup relies on it and tests/test_policy.c checks it. */
static const struct tls_group group_table[] = {
    {0x0001, "sect163k1", EC},
    {0x0002, "sect163r1", EC},
    {0x0003, "sect163r2", EC},
    {0x0004, "sect193r1", EC},
    {0x0005, "sect193r2", EC},
    {0x0006, "sect233k1", EC},
    {0x0007, "sect233r1", EC},
    {0x0008, "sect239k1", EC},
    {0x0009, "sect283k1", EC},
    {0x000a, "sect283r1", EC},
    {0x000b, "sect409k1", EC},
    {0x000c, "sect409r1", EC},
    {0x000d, "sect571k1", EC},
    {0x000e, "sect571r1", EC},
    {0x000f, "secp160k1", EC},
    {0x0010, "secp160r1", EC},
    {0x0011, "secp160r2", EC},
    {0x0012, "secp192k1", EC},
    {0x0013, "secp192r1", EC},
    {0x0014, "secp224k1", EC},
    {0x0015, "secp224r1", EC},
    {0x0016, "secp256k1", EC},
    {0x0017, "secp256r1", EC},
    {0x0018, "secp384r1", EC},
    {0x0019, "secp521r1", EC},
    {0x001a, "brainpoolP256r1", EC},
    {0x001b, "brainpoolP384r1", EC},
    {0x001c, "brainpoolP512r1", EC},
    {0x001d, "x25519", EC},
    {0x001e, "x448", EC},
    {0x001f, "brainpoolP256r1tls13", EC},
    {0x0020, "brainpoolP384r1tls13", EC},
    {0x0021, "brainpoolP512r1tls13", EC},
    {0x0022, "GC256A", EC},
    {0x0023, "GC256B", EC},
    {0x0024, "GC256C", EC},
    {0x0025, "GC256D", EC},
    {0x0026, "GC512A", EC},
    {0x0027, "GC512B", EC},
    {0x0028, "GC512C", EC},
    {0x0029, "curveSM2", EC},
    {0x0100, "ffdhe2048", FF},
    {0x0101, "ffdhe3072", FF},
    {0x0102, "ffdhe4096", FF},
    {0x0103, "ffdhe6144", FF},
    {0x0104, "ffdhe8192", FF},
    {0x0200, "MLKEM512", GROUP_MLKEM},
    {0x0201, "MLKEM768", GROUP_MLKEM},
    {0x0202, "MLKEM1024", GROUP_MLKEM},
    {0x11eb, "SecP256r1MLKEM768", GROUP_HYBRID},
    {0x11ec, "X25519MLKEM768", GROUP_HYBRID},
    {0x11ed, "SecP384r1MLKEM1024", GROUP_HYBRID},
    {0x6399, "X25519Kyber768Draft00", GROUP_DRAFT},
    {0x639a, "SecP256r1Kyber768Draft00", GROUP_DRAFT},
    {0xff01, "arbitrary_explicit_prime_curves", 0},
    {0xff02, "arbitrary_explicit_char2_curves", 0},
};

const struct tls_group *group_lookup(uint16_t value)
{
	size_t lo = 0, hi = sizeof group_table / sizeof group_table[0];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (group_table[mid].value == value)
			return &group_table[mid];
		if (group_table[mid].value < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *group_name(uint16_t value)
{
	const struct tls_group *g = group_lookup(value);

	return g ? g->name : NULL;
}

unsigned group_kind(uint16_t value)
{
	const struct tls_group *g = group_lookup(value);

	return g ? g->kind : 0;
}

const char *group_text(uint16_t value, char buf[8])
{
	const char *name = group_name(value);

	if (name)
		return name;
	snprintf(buf, 8, "0x%04x", value);
	return buf;
}

const char *group_kind_name(unsigned kind)
{
	switch (kind) {
	case GROUP_ECDHE:
		return "ECDHE";
	case GROUP_FFDHE:
		return "FFDHE";
	case GROUP_HYBRID:
		return "hybrid";
	case GROUP_MLKEM:
		return "ML-KEM";
	case GROUP_DRAFT:
		return "draft";
	default:
		return "unknown";
	}
}

size_t group_count(void)
{
	return sizeof group_table / sizeof group_table[0];
}

const struct tls_group *group_at(size_t i)
{
	return i < group_count() ? &group_table[i] : NULL;
}
