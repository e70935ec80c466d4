/*
 * policy.h: what counts as legacy, as data. A policy says which versions and suites are
 * acceptable; it is parsed from a small text file (policies/README.md), the built-in ones
 * (default, entra, nist, pci, pq, tls12) being such files compiled in. No database, no output.
 */
#ifndef TLSCENSUS_POLICY_H
#define TLSCENSUS_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct policy;

/* A built-in policy's name (a bare word), or a policy file's path. NULL on error, with a
 * message naming the policy or the file and line in err. */
struct policy *policy_load(const char *name_or_path, char *err, size_t errlen);
/* The same from text in memory; origin names it in errors ("FILE:LINE: ..."). */
struct policy *policy_parse(const char *text, size_t len, const char *origin, char *err,
                            size_t errlen);
/* Writes "default, entra, nist, pci, pq, tls12" (the built-in names) into buf, for messages. */
void policy_builtin_names(char *buf, size_t len);
void policy_free(struct policy *p);
const char *policy_name(const struct policy *p);
const char *policy_description(const struct policy *p);

/* What a connection's key exchange says, for the group rules (require-group, deny-group,
 * deny-hrr). */
struct policy_kx {
	int group; /* the group in the TLS 1.3 ServerHello's key_share; -1: none (TLS 1.2 and
	            * older, or no ServerHello) */
	int hrr;   /* 1: a HelloRetryRequest came before the ServerHello */
};

/* What policy_judge_kx found wrong, as bits. */
#define POLICY_FLAG_VERSION 1u
#define POLICY_FLAG_CIPHER  2u
#define POLICY_FLAG_GROUP   4u /* the negotiated group (or none) fails require-group/deny-group */
#define POLICY_FLAG_HRR     8u /* deny-hrr, and a HelloRetryRequest came first */

/* Returns NULL when acceptable, else a short reason ("TLSv1.0", "3DES cipher", "ECDHE group
 * x25519"). version is the effective version (negotiated, or the client's highest offered when
 * negotiated is 0). kx NULL: no key-exchange facts, the group rules pass. flags (may be NULL)
 * receives the POLICY_FLAG_* bits of what failed. The text lives as long as the policy. This is
 * the one judging function; policy_judge is it without key-exchange facts. */
const char *policy_judge_kx(const struct policy *p, uint16_t version, int negotiated,
                            uint32_t cipher, const struct policy_kx *kx, unsigned *flags);
const char *policy_judge(const struct policy *p, uint16_t version, int negotiated, uint32_t cipher);
/* 1 when the policy has a group rule (require-group, deny-group or deny-hrr). */
int policy_judges_groups(const struct policy *p);
/* 1 when the group passes the policy's group rules (for attribution: could the client's offer
 * have satisfied it?). */
int policy_accepts_group(const struct policy *p, uint16_t group);
/* 1 when the policy accepts this version (the client's highest offer, for attribution). Versions
 * without a rank (drafts, GREASE) are accepted: they cannot be judged. */
int policy_accepts_version(const struct policy *p, uint16_t version);
/* For cipher: a negotiated connection without a suite (SSL 2.0 keeps its cipher kind apart). */
#define POLICY_NO_CIPHER 0xffffffffu

#endif
