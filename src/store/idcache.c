/*
 * idcache.c: open addressing with linear probing; no deletes, so no tombstones.
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
	c->keys = calloc(cap, sizeof *c->keys);
	c->ids = calloc(cap, sizeof *c->ids);
	c->texts = with_text ? calloc(cap, sizeof *c->texts) : NULL;
	c->lens = with_text ? calloc(cap, sizeof *c->lens) : NULL;
	if (!c->keys || !c->ids || (with_text && (!c->texts || !c->lens))) {
		idcache_free(c);
		return -1;
	}
	c->cap = cap;
	c->max = max;
	return 0;
}

void idcache_clear(struct idcache *c)
{
	if (!c->cap)
		return;
	if (c->texts)
		for (size_t i = 0; i < c->cap; i++) {
			free(c->texts[i]);
			c->texts[i] = NULL;
		}
	memset(c->keys, 0, c->cap * sizeof *c->keys);
	c->used = 0;
}

void idcache_free(struct idcache *c)
{
	if (c->keys && c->texts)
		idcache_clear(c);
	free(c->keys);
	free(c->ids);
	free(c->texts);
	free(c->lens);
	memset(c, 0, sizeof *c);
}

static int same(const struct idcache *c, size_t i, uint64_t key, const void *text, size_t len)
{
	return c->keys[i] == key &&
	       (!c->texts || (c->lens[i] == len && !memcmp(c->texts[i], text, len)));
}

int64_t idcache_get(const struct idcache *c, uint64_t key, const void *text, size_t len)
{
	if (!c->cap)
		return 0;
	for (size_t i = tc_slot(key, c->cap); c->keys[i]; i = (i + 1) & (c->cap - 1))
		if (same(c, i, key, text, len))
			return c->ids[i];
	return 0;
}

void idcache_put(struct idcache *c, uint64_t key, const void *text, size_t len, int64_t id)
{
	char *copy = NULL;
	size_t i;

	if (!c->cap || (c->texts && !(copy = malloc(len ? len : 1))))
		return;
	if (copy)
		memcpy(copy, text, len);
	if (c->used >= c->max)
		idcache_clear(c);
	for (i = tc_slot(key, c->cap); c->keys[i]; i = (i + 1) & (c->cap - 1))
		if (same(c, i, key, text, len)) {
			free(copy);
			c->ids[i] = id;
			return;
		}
	c->keys[i] = key;
	c->ids[i] = id;
	if (c->texts) {
		c->texts[i] = copy;
		c->lens[i] = len;
	}
	c->used++;
}

uint64_t idcache_text_key(const void *text, size_t len)
{
	uint64_t h = tc_hash_bytes(text, len);

	return h ? h : 1;
}
