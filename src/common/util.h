/*
 * util.h: the few helpers every room uses: array length, hashing, zeroed tables and the two
 * clocks. Header only, so including it links nothing.
 */
#ifndef TLSCENSUS_UTIL_H
#define TLSCENSUS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* FNV-1a over bytes: for keys and texts from this program, not from an attacker who could aim
 * collisions (the flow table and defrag use seeded hashes for those). */
static inline uint64_t tc_hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* The 128-bit product of two words, folded: the mixing step of wyhash's design, for the seeded
 * hashes of the flow table and the SNI cache. */
static inline uint64_t tc_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A seed for a hash an attacker must not aim collisions at: from the kernel's random pool, or,
 * where that cannot answer at once, from the clock. */
static inline uint64_t tc_random_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s)
		return s;
	return (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
}

/* The slot of a 64-bit key in an open-addressing table of cap (a power of two) slots. */
static inline size_t tc_slot(uint64_t key, size_t cap)
{
	key ^= key >> 31;
	key *= 0x7fb5d329728ea185ULL;
	key ^= key >> 27;
	return (size_t)key & (cap - 1);
}

/*
 * n zeroed elements of size bytes, for the tables looked up on the hot path. Not calloc: a
 * large calloc is fresh pages that all map the kernel's one zero page on a first read, and
 * the first write to each then copies it and flushes the TLB of every CPU the process runs
 * on, an interrupt to the other core per page (perf: 12 % of a bench-small read, in the
 * writer's name cache). Zeroed here, each page is written, so mapped, once, with no flush.
 */
static inline void *tc_zalloc(size_t n, size_t size)
{
	size_t bytes = n * size;
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	if ((p = malloc(bytes > 0 ? bytes : 1)))
		memset(p, 0, bytes);
	return p;
}

/* Wall-clock time, unix seconds with the fraction. */
static inline double tc_now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Monotonic seconds, for intervals (never jumps with the wall clock). */
static inline double tc_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
