/*
 * collect.c: legacy_collect, the glue from a store's reader (store/reader.h) to the judge
 * (judge/legacy.h). It owns neither SQL nor verdicts: it passes pairs from one to the other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "reader.h"

static int judge_one(void *judge, const struct tc_pair *p)
{
	return legacy_judge_pair(judge, p);
}

static void out_of_memory(const struct census_reader *r)
{
	fprintf(stderr, "tlscensus: database '%s': out of memory reading the report\n", r->name);
}

int legacy_collect(const struct census_reader *r, const struct legacy_query *q,
                   struct legacy_result *out)
{
	struct filter f = legacy_query_filter(q);
	struct legacy_judge *j = NULL;
	int rc = -1, read;

	memset(out, 0, sizeof *out);
	/* Records still queued in this process count too. */
	if (r->ops->flush(r->self) || !(j = legacy_judge_begin(q, out)))
		goto done;
	out->db = strdup(r->name);
	read = r->ops->pairs(r->self, &f, judge_one, j, &out->from_connections);
	if (read < 0)
		goto done;
	if (read > 0 || !out->db || legacy_judge_end(j)) {
		out_of_memory(r);
		goto done;
	}
	rc = 0;
done:
	legacy_judge_free(j);
	if (rc)
		legacy_result_free(out);
	return rc;
}
