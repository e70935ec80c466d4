/*
 * collect.c: legacy_collect, the glue from a store's reader (store/read.h) to the judge
 * (judge/legacy.h). It owns neither SQL nor verdicts: it passes pairs from one to the other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "read.h"

static int judge_one(void *judge, const struct tc_pair *p)
{
	return legacy_judge_pair(judge, p);
}

static void out_of_memory(struct store *s)
{
	fprintf(stderr, "tlscensus: database '%s': out of memory reading the report\n",
	        store_path(s));
}

int legacy_collect(struct store *s, const struct legacy_query *q, struct legacy_result *out)
{
	struct filter f = legacy_query_filter(q);
	struct legacy_judge *j = NULL;
	int rc = -1, read;

	memset(out, 0, sizeof *out);
	/* Records still queued in this process count too. */
	if (store_flush(s) || !(j = legacy_judge_begin(q, out)))
		goto done;
	out->db = strdup(store_path(s));
	read = store_read_pairs(s, &f, judge_one, j, &out->from_connections);
	if (read < 0)
		goto done;
	if (read > 0 || !out->db || legacy_judge_end(j)) {
		out_of_memory(s);
		goto done;
	}
	rc = 0;
done:
	legacy_judge_free(j);
	if (rc)
		legacy_result_free(out);
	return rc;
}
