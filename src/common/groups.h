/*
 * groups.h: the IANA "TLS Supported Groups" registry as data, with what each group is worth
 * against a quantum computer: classical (elliptic curve or finite field), hybrid (a classical
 * group combined with ML-KEM), pure ML-KEM, or a pre-standard Kyber draft. Lookups only.
 */
#ifndef TLSCENSUS_GROUPS_H
#define TLSCENSUS_GROUPS_H

#include <stddef.h>
#include <stdint.h>

/* One bit per kind, so a policy can name several at once. */
enum group_kind {
	GROUP_ECDHE = 1 << 0,  /* elliptic curve Diffie-Hellman (RFC 8422, RFC 7748, RFC 8734) */
	GROUP_FFDHE = 1 << 1,  /* finite field Diffie-Hellman (RFC 7919) */
	GROUP_HYBRID = 1 << 2, /* ECDHE combined with ML-KEM (draft-ietf-tls-ecdhe-mlkem) */
	GROUP_MLKEM = 1 << 3,  /* ML-KEM alone, FIPS 203 (draft-ietf-tls-mlkem) */
	GROUP_DRAFT = 1 << 4,  /* pre-standard Kyber hybrids: obsolete drafts */
};

#define GROUP_PQ        (GROUP_HYBRID | GROUP_MLKEM)
#define GROUP_CLASSICAL (GROUP_ECDHE | GROUP_FFDHE)

struct tls_group {
	uint16_t value;
	const char *name; /* the registry's description, e.g. "X25519MLKEM768" */
	unsigned kind;    /* one enum group_kind bit; 0 for the two explicit-curve markers */
};

const struct tls_group *group_lookup(uint16_t value); /* NULL if not in the registry */
const char *group_name(uint16_t value);               /* NULL if unknown */
unsigned group_kind(uint16_t value);                  /* 0 if unknown (GREASE, private use) */
/* "X25519MLKEM768" for a known group, else "0x1234"; buf has room for 7 bytes. */
const char *group_text(uint16_t value, char buf[8]);
/* "hybrid", "ML-KEM", "draft", "ECDHE", "FFDHE"; "unknown" for 0 or several bits. */
const char *group_kind_name(unsigned kind);

/* Iterate in ascending value order. group_at returns NULL past the end. */
size_t group_count(void);
const struct tls_group *group_at(size_t i);

#endif
