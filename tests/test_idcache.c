/*
 * test_idcache.c: the writer's id caches (src/store/idcache.c) as they grow from their first
 * 1024 slots to their limit, and empty themselves there: every key kept comes back with its
 * id, names are told apart by their bytes and not only by their hash, and a full cache starts
 * over rather than growing past its bound.
 */
#include <stdio.h>
#include <string.h>

#include "idcache.h"
#include "tc_test.h"

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
	idcache_free(&shapes);
	idcache_free(&names);
	TEST_DONE("idcache");
}
