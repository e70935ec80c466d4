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

int idcache_init(struct idcache *c, size_t max, int with_text)
{
	size_t cap = 16;

	memset(c, 0, sizeof *c);
	while (cap < 2 * max)
		cap *= 2;
	c->slots = calloc(cap, sizeof *c->slots);
	if (!c->slots)
		return -1;
	c->with_text = with_text;
	c->cap = cap;
	c->max = max;
	return 0;
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
