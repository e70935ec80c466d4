/*
 * idcache.h: the writer's memory of rows it need not look up again: hello shape -> row id, and
 * name text -> row id. Bounded: a full cache is emptied and fills again from the database
 * (a miss is answered by the hello tables' UNIQUE index on shape, or for a name by the store's
 * set of every name row, nameset.h), so memory stays flat whatever the traffic.
 */
#ifndef TLSCENSUS_IDCACHE_H
#define TLSCENSUS_IDCACHE_H

#include <stddef.h>
#include <stdint.h>

/* Name bytes kept in the slot itself. A name looked up in a text of its own was a second cache
 * miss per hit: the id caches were 9 % of the database thread on bench-flows, most of it
 * there. Server names are mostly shorter than this (bench-flows': about 20 bytes). */
#define IDCACHE_INLINE 40

struct idcache_slot { /* 64 bytes, one cache line (the array is aligned to it) */
	uint64_t key; /* 0: empty */
	int64_t id;
	union {                          /* a byte-string key (a name); nothing in a shape cache */
		char in[IDCACHE_INLINE]; /* len <= IDCACHE_INLINE */
		char *out;               /* longer: a copy of its own */
	} text;
	uint32_t len;
};

struct idcache {
	struct idcache_slot *slots;
	size_t cap, used, max;
	size_t limit; /* slots at most (cap grows to it) */
	int with_text;
};

/* max: entries kept at most (a power of two at least twice max is allocated). with_text: the
 * keys are byte strings (hashed; the bytes are compared on a hash match). 0, or -1 out of
 * memory. */
int idcache_init(struct idcache *c, size_t max, int with_text);
void idcache_free(struct idcache *c);
/* Forgets every entry (the rows they name may be gone: a rolled-back transaction). */
void idcache_clear(struct idcache *c);
/* The id kept for key (and text, len bytes), or 0. */
int64_t idcache_get(const struct idcache *c, uint64_t key, const void *text, size_t len);
/* Keeps key -> id; when full, forgets everything first. Out of memory: not kept. */
void idcache_put(struct idcache *c, uint64_t key, const void *text, size_t len, int64_t id);
/* The key of a byte string for a text cache; never 0. */
uint64_t idcache_text_key(const void *text, size_t len);
/* Starts the load of the slot where key's search begins, for an idcache_get a little later. */
void idcache_prefetch(const struct idcache *c, uint64_t key);

#endif
