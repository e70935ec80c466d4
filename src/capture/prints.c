/*
 * prints.c: the fingerprint cache (see prints.h). Open addressing on the 64-bit shape; an
 * entry keeps the fingerprint strings of one shape.
 */
#include <stdlib.h>
#include <string.h>

#include "prints.h"

#define SLOTS (2 * PRINTS_CACHE_MAX) /* power of two, load at most one half */

struct print_entry {
	uint64_t shape; /* 0: empty */
	uint8_t has_hash, has_ja4;
	char hash[33]; /* JA3 or JA3S */
	char ja4[40];
	char *str; /* the JA3 or JA3S input string */
};

struct print_side {
	struct print_entry slot[SLOTS];
	size_t used;
};

struct prints_cache {
	struct print_side ch, sh;
};

struct prints_cache *prints_cache_new(void)
{
	return calloc(1, sizeof(struct prints_cache));
}

static void side_clear(struct print_side *s)
{
	for (size_t i = 0; i < SLOTS; i++)
		free(s->slot[i].str);
	memset(s, 0, sizeof *s);
}

void prints_cache_free(struct prints_cache *pc)
{
	if (!pc)
		return;
	side_clear(&pc->ch);
	side_clear(&pc->sh);
	free(pc);
}

/* The slot of shape: its entry, or the empty slot where it goes. */
static struct print_entry *side_find(struct print_side *s, uint64_t shape)
{
	size_t i = (size_t)(shape ^ shape >> 29) & (SLOTS - 1);

	while (s->slot[i].shape && s->slot[i].shape != shape)
		i = (i + 1) & (SLOTS - 1);
	return &s->slot[i];
}

/* Remembers a computed side; a full cache starts over (a bound, not an eviction policy: a
 * network with more than PRINTS_CACHE_MAX client stacks pays the hashing more often). */
static void side_keep(struct print_side *s, uint64_t shape, int has_hash, const char *hash,
                      int has_ja4, const char *ja4, const char *str)
{
	struct print_entry *e;
	char *copy = strdup(str);

	if (!copy)
		return;
	if (s->used >= PRINTS_CACHE_MAX)
		side_clear(s);
	e = side_find(s, shape); /* empty: only a miss is kept */
	e->shape = shape;
	e->has_hash = (uint8_t)has_hash;
	e->has_ja4 = (uint8_t)has_ja4;
	memcpy(e->hash, hash, sizeof e->hash);
	if (ja4)
		memcpy(e->ja4, ja4, sizeof e->ja4);
	e->str = copy;
	s->used++;
}

/* Each side from the cache, or computed (and kept) on a miss: a known client stack meeting
 * a new server costs only the server's fingerprint. 0, or -1 when out of memory. */
static int attach_client(struct prints_cache *pc, const struct tc_client_hello *ch,
                         struct tc_prints *p)
{
	uint64_t shape = tc_client_hello_shape(ch);
	struct print_entry *e = side_find(&pc->ch, shape);

	if (!e->shape) {
		if (tc_prints_client(ch, p))
			return -1;
		side_keep(&pc->ch, p->ch_shape, p->has_ja3, p->ja3, p->has_ja4, p->ja4, p->ja3_str);
		return 0;
	}
	p->ch_shape = shape;
	p->has_ja3 = e->has_hash;
	p->has_ja4 = e->has_ja4;
	memcpy(p->ja3, e->hash, sizeof p->ja3);
	memcpy(p->ja4, e->ja4, sizeof p->ja4);
	return (p->ja3_str = strdup(e->str)) ? 0 : -1;
}

static int attach_server(struct prints_cache *pc, const struct tc_server_hello *sh,
                         struct tc_prints *p)
{
	uint64_t shape = tc_server_hello_shape(sh);
	struct print_entry *e = side_find(&pc->sh, shape);

	if (!e->shape) {
		if (tc_prints_server(sh, p))
			return -1;
		side_keep(&pc->sh, p->sh_shape, p->has_ja3s, p->ja3s, 0, NULL, p->ja3s_str);
		return 0;
	}
	p->sh_shape = shape;
	p->has_ja3s = e->has_hash;
	memcpy(p->ja3s, e->hash, sizeof p->ja3s);
	return (p->ja3s_str = strdup(e->str)) ? 0 : -1;
}

int prints_attach(struct prints_cache *pc, struct tc_handshake *hs)
{
	struct tc_prints *p = calloc(1, sizeof *p);

	if (!p)
		return -1;
	if ((hs->ch && attach_client(pc, hs->ch, p)) || (hs->sh && attach_server(pc, hs->sh, p))) {
		tc_prints_free(p);
		free(p);
		return -1;
	}
	if (hs->prints) {
		tc_prints_free(hs->prints);
		free(hs->prints);
	}
	hs->prints = p;
	return 0;
}
