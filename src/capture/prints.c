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
	e = side_find(s, shape);
	if (e->shape) { /* the other side missed: this one is known already */
		free(copy);
		return;
	}
	e->shape = shape;
	e->has_hash = (uint8_t)has_hash;
	e->has_ja4 = (uint8_t)has_ja4;
	memcpy(e->hash, hash, sizeof e->hash);
	if (ja4)
		memcpy(e->ja4, ja4, sizeof e->ja4);
	e->str = copy;
	s->used++;
}

static int attach_cached(struct prints_cache *pc, struct tc_handshake *hs, struct tc_prints *p)
{
	struct print_entry *c = NULL, *s = NULL;

	if (hs->ch) {
		p->ch_shape = tc_client_hello_shape(hs->ch);
		c = side_find(&pc->ch, p->ch_shape);
		if (!c->shape)
			return 0;
	}
	if (hs->sh) {
		p->sh_shape = tc_server_hello_shape(hs->sh);
		s = side_find(&pc->sh, p->sh_shape);
		if (!s->shape)
			return 0;
	}
	if (c) {
		p->has_ja3 = c->has_hash;
		p->has_ja4 = c->has_ja4;
		memcpy(p->ja3, c->hash, sizeof p->ja3);
		memcpy(p->ja4, c->ja4, sizeof p->ja4);
		if (!(p->ja3_str = strdup(c->str)))
			return -1;
	}
	if (s) {
		p->has_ja3s = s->has_hash;
		memcpy(p->ja3s, s->hash, sizeof p->ja3s);
		if (!(p->ja3s_str = strdup(s->str)))
			return -1;
	}
	return 1;
}

int prints_attach(struct prints_cache *pc, struct tc_handshake *hs)
{
	struct tc_prints *p = calloc(1, sizeof *p);
	int rc;

	if (!p)
		return -1;
	rc = attach_cached(pc, hs, p);
	if (rc == 0) {
		tc_prints_free(p);
		if (tc_prints_compute(hs->ch, hs->sh, p) == 0) {
			if (hs->ch)
				side_keep(&pc->ch, p->ch_shape, p->has_ja3, p->ja3, p->has_ja4,
				          p->ja4, p->ja3_str);
			if (hs->sh)
				side_keep(&pc->sh, p->sh_shape, p->has_ja3s, p->ja3s, 0, NULL,
				          p->ja3s_str);
			rc = 1;
		}
	}
	if (rc < 0 || rc == 0) {
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
