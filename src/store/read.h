/*
 * read.h: the store's answers for readers: the pairs (tlscensus/pair.h) a question is about,
 * for the judge. The SQL stays in this room; what leaves it are plain structs.
 */
#ifndef TLSCENSUS_STORE_READ_H
#define TLSCENSUS_STORE_READ_H

#include "filter.h"
#include "tlscensus/pair.h"

struct store;

/* Takes one pair, whose text lives until it returns; 0 to go on, anything else to stop. */
typedef int (*store_pair_fn)(void *ctx, const struct tc_pair *p);

/*
 * Calls fn for every pair within f: without a window, the inventory's rows; with one, the
 * connection rows grouped the same way when they still cover it (*from_connections = 1: exact),
 * else the inventory rows that overlap it (*from_connections = 0: a row counts whole). Then the
 * connections without any hello, one pair per client and server. Returns 0 when all were read,
 * 1 when fn stopped the reading, -1 when the database failed (message on stderr, naming it).
 */
int store_read_pairs(struct store *s, const struct filter *f, store_pair_fn fn, void *ctx,
                     int *from_connections);

#endif
