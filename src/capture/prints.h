/*
 * prints.h: the census's fingerprint cache. A connection's JA3/JA4/JA3S are computed once per
 * hello shape (tlscensus/fingerprint.h) and copied for every later connection of that shape, so
 * MD5 and SHA-256 run per client stack, not per connection. Bounded: when full it starts over.
 */
#ifndef TLSCENSUS_PRINTS_H
#define TLSCENSUS_PRINTS_H

#include "tlscensus/dissector.h"
#include "tlscensus/fingerprint.h"

#define PRINTS_CACHE_MAX 4096 /* shapes per side; real traffic has hundreds */

struct prints_cache;

struct prints_cache *prints_cache_new(void);
void prints_cache_free(struct prints_cache *pc);

/* Sets hs->prints (malloc'd, owned by hs) from its hellos. 0, or -1 when out of memory (the
 * record then goes without fingerprints). */
int prints_attach(struct prints_cache *pc, struct tc_handshake *hs);

#endif
