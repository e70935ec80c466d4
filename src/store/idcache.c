/*
 * idcache.c: open addressing with linear probing; no deletes, so no tombstones. An entry's key,
 * id and text sit together, so a hit costs the slot's cache line and, for a name, its text's
 * (the four arrays this had before cost four lines: idcache_get was 7 % of the database
 * thread on bench-1G).
 */
#include <stdlib.h>
#include <string.h>

#include "idcache.h"
#include "util.h"

/* Slots a cache starts with; it doubles as it fills, up to what max needs. */
#define IDCACHE_FIRST 1024

int idcache_init(struct idcache *c, size_t max, int with_text)
{
	size_t cap = 16;

	memset(c, 0, sizeof *c);
	while (cap < 2 * max)
		cap *= 2;
	c->limit = cap;
	if (cap > IDCACHE_FIRST)
		cap = IDCACHE_FIRST;
	if (!(c->slots = tc_zalloc(cap, sizeof *c->slots)))
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

	if (2 * (c->used + 1) <= c->cap || cap > c->limit || !(n = tc_zalloc(cap, sizeof *n)))
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

void idcache_clear(struct idcache *c)
{
	if (!c->cap)
		return;
	if (c->with_text)
		for (size_t i = 0; i < c->cap; i++)
			free(c->slots[i].text);
	memset(c->slots, 0, c->cap * sizeof *c->slots);
	c->used = 0;
}

void idcache_free(struct idcache *c)
{
	if (c->slots)
		idcache_clear(c);
	free(c->slots);
	memset(c, 0, sizeof *c);
}

static int same(const struct idcache *c, const struct idcache_slot *e, uint64_t key,
                const void *text, size_t len)
{
	return e->key == key && (!c->with_text || (e->len == len && !memcmp(e->text, text, len)));
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
	char *copy = NULL;
	size_t i;

	if (!c->cap || (c->with_text && !(copy = malloc(len ? len : 1))))
		return;
	if (copy)
		memcpy(copy, text, len);
	if (c->used >= c->max)
		idcache_clear(c);
	grow(c);
	for (i = tc_slot(key, c->cap); c->slots[i].key; i = (i + 1) & (c->cap - 1))
		if (same(c, &c->slots[i], key, text, len)) {
			free(copy);
			c->slots[i].id = id;
			return;
		}
	c->slots[i] = (struct idcache_slot){.key = key, .id = id, .text = copy, .len = len};
	c->used++;
}

uint64_t idcache_text_key(const void *text, size_t len)
{
	uint64_t h = tc_hash_bytes(text, len);

	return h ? h : 1;
}
