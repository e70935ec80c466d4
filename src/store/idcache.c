/*
 * idcache.c: open addressing with linear probing; no deletes, so no tombstones. An entry's key,
 * id and text sit together in one cache line, so a hit costs that line (the four arrays this
 * had before cost four lines: idcache_get was 7 % of the database thread on bench-1G), and a
 * name longer than IDCACHE_INLINE a second one for its text.
 */
#include <stdlib.h>
#include <string.h>

#include "idcache.h"
#include "util.h"

/* Slots a cache starts with; it doubles as it fills, up to what max needs. */
#define IDCACHE_FIRST 1024

_Static_assert(sizeof(struct idcache_slot) == 64, "an id cache slot is one cache line");

/* cap zeroed slots on cache-line boundaries, or NULL. Zeroed by writing (util.h, tc_zalloc). */
static struct idcache_slot *slots_new(size_t cap)
{
	void *p;

	if (cap > SIZE_MAX / sizeof(struct idcache_slot) ||
	    posix_memalign(&p, 64, cap * sizeof(struct idcache_slot)) != 0)
		return NULL;
	memset(p, 0, cap * sizeof(struct idcache_slot));
	return p;
}

static const char *text_of(const struct idcache_slot *e)
{
	return e->len <= IDCACHE_INLINE ? e->text.in : e->text.out;
}

int idcache_init(struct idcache *c, size_t max, int with_text)
{
	size_t cap = 16;

	memset(c, 0, sizeof *c);
	while (cap < 2 * max)
		cap *= 2;
	c->limit = cap;
	if (cap > IDCACHE_FIRST)
		cap = IDCACHE_FIRST;
	if (!(c->slots = slots_new(cap)))
		return -1;
	c->with_text = with_text;
	c->cap = cap;
	c->max = max;
	return 0;
}

/* Half full: twice the slots while the limit allows (a cache touches the memory it uses). */
static void grow(struct idcache *c)
{
	size_t cap = c->cap * 2;
	struct idcache_slot *n;

	if (2 * (c->used + 1) <= c->cap || cap > c->limit || !(n = slots_new(cap)))
		return;
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->slots[i].key)
			continue;
		size_t j = tc_slot(c->slots[i].key, cap);
		while (n[j].key)
			j = (j + 1) & (cap - 1);
		n[j] = c->slots[i];
	}
	free(c->slots);
	c->slots = n;
	c->cap = cap;
}

/* The texts kept out of line. */
static void free_texts(struct idcache *c)
{
	if (c->with_text)
		for (size_t i = 0; i < c->cap; i++)
			if (c->slots[i].key && c->slots[i].len > IDCACHE_INLINE)
				free(c->slots[i].text.out);
}

void idcache_clear(struct idcache *c)
{
	if (!c->cap)
		return;
	free_texts(c);
	memset(c->slots, 0, c->cap * sizeof *c->slots);
	c->used = 0;
}

void idcache_free(struct idcache *c)
{
	/* Not idcache_clear: its zeroing of every slot, just before the free, was the store's
	 * last work at a read's close (perf). */
	if (c->slots)
		free_texts(c);
	free(c->slots);
	memset(c, 0, sizeof *c);
}

static int same(const struct idcache *c, const struct idcache_slot *e, uint64_t key,
                const void *text, size_t len)
{
	return e->key == key &&
	       (!c->with_text || (e->len == len && !memcmp(text_of(e), text, len)));
}

int64_t idcache_get(const struct idcache *c, uint64_t key, const void *text, size_t len)
{
	if (!c->cap)
		return 0;
	for (size_t i = tc_slot(key, c->cap); c->slots[i].key; i = (i + 1) & (c->cap - 1))
		if (same(c, &c->slots[i], key, text, len))
			return c->slots[i].id;
	return 0;
}

void idcache_put(struct idcache *c, uint64_t key, const void *text, size_t len, int64_t id)
{
	struct idcache_slot e = {.key = key, .id = id};
	size_t i;

	if (!c->cap || (c->with_text && len > UINT32_MAX))
		return;
	if (c->with_text) {
		e.len = (uint32_t)len;
		if (len <= IDCACHE_INLINE)
			memcpy(e.text.in, text, len);
		else if ((e.text.out = malloc(len)))
			memcpy(e.text.out, text, len);
		else
			return;
	}
	if (c->used >= c->max)
		idcache_clear(c);
	grow(c);
	for (i = tc_slot(key, c->cap); c->slots[i].key; i = (i + 1) & (c->cap - 1))
		if (same(c, &c->slots[i], key, text, len)) {
			if (c->with_text && len > IDCACHE_INLINE)
				free(e.text.out);
			c->slots[i].id = id;
			return;
		}
	c->slots[i] = e;
	c->used++;
}

uint64_t idcache_text_key(const void *text, size_t len)
{
	uint64_t h = tc_hash_bytes(text, len);

	return h ? h : 1;
}

void idcache_prefetch(const struct idcache *c, uint64_t key)
{
	if (c->cap && key)
		__builtin_prefetch(&c->slots[tc_slot(key, c->cap)]);
}
