/*
 * test_idcache.c: the writer's id caches (src/store/idcache.c) as they grow from their first
 * 1024 slots to their limit, and empty themselves there: every key kept comes back with its
 * id, names are told apart by their bytes and not only by their hash (those kept in the slot,
 * up to IDCACHE_INLINE bytes, and the longer ones kept apart), and a full cache starts over
 * rather than growing past its bound. Under AddressSanitizer, the long names' copies must be
 * freed once each, by the clear and by idcache_free.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "idcache.h"
#include "nameset.h"
#include "tc_test.h"

/* The store's set of every name row (nameset.c): it grows from nothing, finds every id, keeps
 * two ids of one key apart (two texts of one hash; the store checks each against its row),
 * says when it holds its max and then adds nothing, and starts over when cleared. */
static void check_nameset(void)
{
	struct nameset n;
	size_t pos;
	int wrong = 0;

	nameset_init(&n, 100000);
	CHECK_EQ(nameset_next(&n, 5, &(size_t){0}), 0); /* empty: no slots yet */
	for (uint64_t k = 1; k <= 100000; k++)
		CHECK_EQ(nameset_add(&n, k * 0x9e3779b97f4a7c15ULL, (int64_t)k), 0);
	CHECK(n.used == 100000 && 2 * n.used <= n.cap && n.cap <= 262144);
	for (uint64_t k = 1; k <= 100000; k++) {
		pos = 0;
		wrong += nameset_next(&n, k * 0x9e3779b97f4a7c15ULL, &pos) != (int64_t)k;
		wrong += nameset_next(&n, k * 0x9e3779b97f4a7c15ULL, &pos) != 0;
	}
	CHECK_EQ(wrong, 0);
	CHECK_EQ(nameset_add(&n, 12345, 1), 1); /* full: nothing added */
	CHECK_EQ(n.used, 100000);
	pos = 0;
	CHECK_EQ(nameset_next(&n, 12345, &pos), 0);
	nameset_clear(&n);
	CHECK_EQ(n.used, 0);
	pos = 0;
	CHECK_EQ(nameset_next(&n, 1 * 0x9e3779b97f4a7c15ULL, &pos), 0);
	/* one key, three ids: each comes back once, in the order added; key 0 is a key too */
	for (int64_t id = 1; id <= 3; id++)
		CHECK_EQ(nameset_add(&n, 0, id), 0);
	CHECK_EQ(nameset_add(&n, 77, 4), 0);
	pos = 0;
	CHECK_EQ(nameset_next(&n, 0, &pos), 1);
	CHECK_EQ(nameset_next(&n, 0, &pos), 2);
	CHECK_EQ(nameset_next(&n, 0, &pos), 3);
	CHECK_EQ(nameset_next(&n, 0, &pos), 0);
	pos = 0;
	CHECK_EQ(nameset_next(&n, 77, &pos), 4);
	nameset_free(&n);
	CHECK(n.slots == NULL && n.used == 0 && n.max == 100000);
}

int main(void)
{
	struct idcache shapes, names;
	char text[32];
	int wrong = 0;

	CHECK_EQ(idcache_init(&shapes, 50000, 0), 0);
	CHECK_EQ(idcache_init(&names, 50000, 1), 0);
	for (uint64_t k = 1; k <= 40000; k++) {
		idcache_put(&shapes, k * 0x9e3779b97f4a7c15ULL | 1, NULL, 0, (int64_t)k);
		int n = snprintf(text, sizeof text, "host-%llu.example", (unsigned long long)k);
		idcache_put(&names, idcache_text_key(text, (size_t)n), text, (size_t)n, (int64_t)k);
	}
	CHECK(shapes.cap > 1024 && shapes.cap <= shapes.limit); /* it grew, within its limit */
	for (uint64_t k = 1; k <= 40000; k++) {
		int n = snprintf(text, sizeof text, "host-%llu.example", (unsigned long long)k);
		wrong += idcache_get(&shapes, k * 0x9e3779b97f4a7c15ULL | 1, NULL, 0) != (int64_t)k;
		wrong += idcache_get(&names, idcache_text_key(text, (size_t)n), text, (size_t)n) !=
		         (int64_t)k;
	}
	CHECK_EQ(wrong, 0);
	/* the same hash with other bytes is another name */
	CHECK_EQ(idcache_get(&names, idcache_text_key("host-1.example", 14), "host-1.examplf", 14),
	         0);
	CHECK_EQ(idcache_get(&shapes, 12345678, NULL, 0), 0);
	/* past max, the cache starts over: bounded, and what it keeps after is right */
	for (uint64_t k = 40001; k <= 60000; k++)
		idcache_put(&shapes, k * 0x9e3779b97f4a7c15ULL | 1, NULL, 0, (int64_t)k);
	CHECK(shapes.used <= shapes.max && shapes.cap <= shapes.limit);
	CHECK_EQ(idcache_get(&shapes, 60000 * 0x9e3779b97f4a7c15ULL | 1, NULL, 0), 60000);
	/* Names around the inline bound and far past it: kept, found by their bytes, one id each,
	 * and a name put again keeps one slot with the new id. */
	struct idcache mixed;
	char name[300];
	int lens[] = {0, 1, IDCACHE_INLINE - 1, IDCACHE_INLINE, IDCACHE_INLINE + 1, 64, 255};
	int nl = (int)(sizeof lens / sizeof lens[0]);
	CHECK_EQ(idcache_init(&mixed, 4000, 1), 0);
	wrong = 0;
	for (int round = 0; round < 2; round++)
		for (int k = 0; k < 500; k++)
			for (int j = 0; j < nl; j++) {
				memset(name, 'a' + k % 26, sizeof name);
				int n = lens[j];
				if (n >= 4)
					memcpy(name, &k, sizeof k);
				int64_t want = (int64_t)(k * nl + j + 1) + round * 100000;
				if (n < 4 && k > 0)
					continue; /* too short to tell k apart */
				uint64_t key = idcache_text_key(name, (size_t)n);
				idcache_put(&mixed, key, name, (size_t)n, want);
				wrong += idcache_get(&mixed, key, name, (size_t)n) != want;
			}
	CHECK_EQ(wrong, 0);
	CHECK(mixed.used <= 500 * (size_t)nl); /* put again: the same slots */
	/* a long name differing in its last byte only, under the same hash, is another name */
	memset(name, 'q', sizeof name);
	uint64_t key = idcache_text_key(name, 200);
	idcache_put(&mixed, key, name, 200, 7);
	name[199] = 'r';
	CHECK_EQ(idcache_get(&mixed, key, name, 200), 0);
	name[199] = 'q';
	CHECK_EQ(idcache_get(&mixed, key, name, 200), 7);
	CHECK_EQ(idcache_get(&mixed, key, name, 199), 0); /* a prefix is another name */
	idcache_clear(&mixed);
	CHECK_EQ(idcache_get(&mixed, key, name, 200), 0);
	CHECK_EQ(mixed.used, 0);
	idcache_put(&mixed, key, name, 200, 8);
	CHECK_EQ(idcache_get(&mixed, key, name, 200), 8);
	CHECK_EQ((uintptr_t)mixed.slots % 64, 0); /* a slot is one cache line */
	idcache_free(&mixed);
	idcache_free(&shapes);
	idcache_free(&names);
	check_nameset();
	TEST_DONE("idcache");
}
