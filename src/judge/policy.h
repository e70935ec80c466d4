/*
 * policy.h: what counts as legacy, as data. A policy says which versions and suites are
 * acceptable; it is parsed from a small text file (policies/README.md), the built-in ones
 * (default, entra, nist, pci, tls12) being such files compiled in. No database, no output.
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
/* Writes "default, entra, nist, pci, tls12" (the built-in names) into buf, for messages. */
void policy_builtin_names(char *buf, size_t len);
void policy_free(struct policy *p);
const char *policy_name(const struct policy *p);
const char *policy_description(const struct policy *p);

/* Returns NULL when acceptable, else a short reason ("TLSv1.0", "3DES cipher"). version is the
 * effective version (negotiated, or the client's highest offered when negotiated is 0). The text
 * lives as long as the policy. */
const char *policy_judge(const struct policy *p, uint16_t version, int negotiated, uint32_t cipher);
/* 1 when the policy accepts this version (the client's highest offer, for attribution). Versions
 * without a rank (drafts, GREASE) are accepted: they cannot be judged. */
int policy_accepts_version(const struct policy *p, uint16_t version);
/* For cipher: a negotiated connection without a suite (SSL 2.0 keeps its cipher kind apart). */
#define POLICY_NO_CIPHER 0xffffffffu

#endif
