/*
 * util.h: the few helpers every room uses: array length and the two clocks. Header only, so
 * including it links nothing.
 */
#ifndef TLSCENSUS_UTIL_H
#define TLSCENSUS_UTIL_H

#include <stddef.h>
#include <stdint.h>
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

/* The slot of a 64-bit key in an open-addressing table of cap (a power of two) slots. */
static inline size_t tc_slot(uint64_t key, size_t cap)
{
	key ^= key >> 31;
	key *= 0x7fb5d329728ea185ULL;
	key ^= key >> 27;
	return (size_t)key & (cap - 1);
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
