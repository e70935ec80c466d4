/*
 * hints.h: the fingerprint -> software map: which client software a JA4 or JA3 fingerprint
 * most likely is (data/fingerprints.tsv, embedded). Text in, lookups out.
 */
#ifndef TLSCENSUS_HINTS_H
#define TLSCENSUS_HINTS_H

#include <stddef.h>

struct hints;

/* path NULL: the built-in map (data/fingerprints.tsv, embedded). A TSV with the columns ja4, ja3,
 * software, note; '#' lines and the header are skipped, "-" or "" is an empty cell. */
struct hints *hints_load(const char *path, char *err, size_t errlen);
struct hints *hints_parse(const char *text, size_t len, const char *origin, char *err,
                          size_t errlen);
void hints_free(struct hints *h);
size_t hints_count(const struct hints *h);
/* The software for a JA4 (tried first) or JA3 fingerprint; NULL when the map has neither. */
const char *hints_lookup(const struct hints *h, const char *ja4, const char *ja3);

#endif
