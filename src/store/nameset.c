/*
 * nameset.c: open addressing with linear probing, no deletes. Equal keys (two texts of one
 * hash) each take a slot of their own; a look-up walks them all until an empty slot.
 */
#include <stdlib.h>
#include <string.h>

#include "nameset.h"
#include "util.h"

/* Slots a set starts with; it doubles when half full. */
#define NAMESET_FIRST 4096

void nameset_init(struct nameset *n, size_t max)
{
	memset(n, 0, sizeof *n);
	n->max = max;
}

void nameset_free(struct nameset *n)
{
	free(n->slots);
	nameset_init(n, n->max);
}

void nameset_clear(struct nameset *n)
{
	if (n->slots)
		memset(n->slots, 0, n->cap * sizeof *n->slots);
	n->used = 0;
}

static void place(struct nameset_slot *slots, size_t cap, uint64_t key, int64_t id)
{
	size_t i = tc_slot(key, cap);

	while (slots[i].key)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct nameset_slot){key, id};
}

/* Room for one more entry at most half full: 0, or -1 out of memory. */
static int make_room(struct nameset *n)
{
	size_t cap = n->cap ? n->cap * 2 : NAMESET_FIRST;
	struct nameset_slot *s;

	if (2 * (n->used + 1) <= n->cap)
		return 0;
	/* tc_zalloc, not calloc: see util.h (a TLB flush of the other core per page) */
	if (!(s = tc_zalloc(cap, sizeof *s)))
		return -1;
	for (size_t i = 0; i < n->cap; i++)
		if (n->slots[i].key)
			place(s, cap, n->slots[i].key, n->slots[i].id);
	free(n->slots);
	n->slots = s;
	n->cap = cap;
	return 0;
}

int nameset_add(struct nameset *n, uint64_t key, int64_t id)
{
	if (n->used >= n->max)
		return 1;
	if (make_room(n))
		return -1;
	place(n->slots, n->cap, key ? key : 1, id);
	n->used++;
	return 0;
}

int64_t nameset_next(const struct nameset *n, uint64_t key, size_t *pos)
{
	if (!n->cap)
		return 0;
	key = key ? key : 1;
	/* *pos counts the slots walked from the key's first, so the walk resumes there. */
	for (size_t i = (tc_slot(key, n->cap) + *pos) & (n->cap - 1); n->slots[i].key;
	     i = (i + 1) & (n->cap - 1)) {
		++*pos;
		if (n->slots[i].key == key)
			return n->slots[i].id;
	}
	return 0;
}
