/*
 * nameset.h: every row of the names table, by the hash of its text: hash -> row id, 16 bytes an
 * entry. While it holds every row, a name it lacks is new and goes in without a look-up, so the
 * table needs no index on its text (schema version 8, store.c). It keeps no text: a hash it
 * holds is checked against the row. Bounded: past its max it says so, and the store indexes
 * the table instead. Not an idcache: that keeps one id a key in 64-byte slots (a million names
 * would take 128 MiB) and forgets everything when full, where this must hold every row or say
 * it cannot.
 */
#ifndef TLSCENSUS_NAMESET_H
#define TLSCENSUS_NAMESET_H

#include <stddef.h>
#include <stdint.h>

struct nameset {
	struct nameset_slot {
		uint64_t key; /* 0: empty */
		int64_t id;
	} * slots;
	size_t cap, used, max;
};

/* max: entries at most. Takes memory as it fills (at most 32 bytes an entry). */
void nameset_init(struct nameset *n, size_t max);
void nameset_free(struct nameset *n);
void nameset_clear(struct nameset *n);
/* Adds key -> id (a key may come more than once: two texts of one hash). 0; 1 when max
 * entries are held already, -1 out of memory: not added either way. */
int nameset_add(struct nameset *n, uint64_t key, int64_t id);
/* The ids held for key, one a call: *pos starts at 0; 0 when there is no other. */
int64_t nameset_next(const struct nameset *n, uint64_t key, size_t *pos);

#endif
