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
