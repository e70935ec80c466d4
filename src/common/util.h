/*
 * util.h: the few helpers every room uses: array length and the two clocks. Header only, so
 * including it links nothing.
 */
#ifndef TLSCENSUS_UTIL_H
#define TLSCENSUS_UTIL_H

#include <time.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

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
