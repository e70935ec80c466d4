/*
 * record.c: names for the connection record's status, shared by the census that sets it and
 * the store that writes it.
 */
#include "tlscensus/record.h"

const char *tc_conn_status_name(enum tc_conn_status s)
{
	static const char *const names[TC_CONN_STATUS_COUNT] = {
	    [TC_CONN_OK] = "ok",
	    [TC_CONN_TRUNCATED] = "truncated",
	    [TC_CONN_MALFORMED] = "malformed",
	    [TC_CONN_ONE_SIDED] = "one_sided",
	    [TC_CONN_MIDSTREAM] = "midstream",
	};
	return (unsigned)s < TC_CONN_STATUS_COUNT ? names[s] : "unknown";
}

_Static_assert(sizeof(struct run_stats) % sizeof(uint64_t) == 0, "run_stats: counters only");

void run_stats_add(struct run_stats *a, const struct run_stats *b)
{
	uint64_t back_max =
	    a->time_back_max > b->time_back_max ? a->time_back_max : b->time_back_max;
	uint64_t *x = (uint64_t *)a;
	const uint64_t *y = (const uint64_t *)b;

	for (size_t i = 0; i < sizeof *a / sizeof *x; i++)
		x[i] += y[i];
	a->time_back_max = back_max;
}
