/*
 * records.c: one connection record as an NDJSON line with the judge's verdict (records.h).
 * The keys after the store's are new in 0.4 and come last, in a fixed order, on every line, so
 * a line's older keys keep the bytes earlier releases wrote.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ciphers.h"
#include "community_id.h"
#include "records.h"
#include "text.h"

struct record_judge {
	struct legacy_judge *judge;
	struct legacy_result counts; /* the judge's running totals; not reported */
	double now;                  /* for "failing since" and "fails on"; 0: the clock */
};

struct record_judge *record_judge_new(const struct legacy_query *q)
{
	struct record_judge *rj = calloc(1, sizeof *rj);

	if (!rj) {
		fprintf(stderr, "tlscensus: out of memory for the judge\n");
		return NULL;
	}
	rj->now = q->now; /* 0: the clock at each record (a capture runs for months) */
	if (!(rj->judge = legacy_judge_begin(q, &rj->counts))) {
		free(rj);
		return NULL;
	}
	return rj;
}

void record_judge_free(struct record_judge *rj)
{
	if (!rj)
		return;
	legacy_judge_free(rj->judge);
	legacy_result_free(&rj->counts);
	free(rj);
}

static void kv(FILE *out, const char *key, const char *value)
{
	fprintf(out, ", \"%s\": ", key);
	text_json_string(out, value);
}

int record_write(struct record_judge *rj, const struct store_export_row *row, FILE *out)
{
	const struct tc_pair *p = &row->pair;
	struct legacy_entry e;
	char cid[COMMUNITY_ID_LEN], deadline[48];
	int verdict = legacy_judge_one(rj->judge, p, &e);

	if (verdict < 0)
		return -1;
	fwrite(row->json, 1, row->json_len, out);
	kv(out, "community_id",
	   community_id(p->client_ip, (uint16_t)row->client_port, p->server_ip,
	                (uint16_t)p->server_port, (uint8_t)row->proto, 0, cid)
	       ? NULL
	       : cid);
	kv(out, "cipher_name", p->cipher >= 0 ? cipher_name((uint32_t)p->cipher) : NULL);
	kv(out, "policy", rj->counts.policy);
	kv(out, "verdict",
	   verdict == LEGACY_FLAGGED    ? "legacy"
	   : verdict == LEGACY_ACCEPTED ? "ok"
	                                : "unknown");
	if (e.retired)
		legacy_deadline_text(e.retired, rj->now > 0 ? rj->now : (double)time(NULL), deadline,
		                     sizeof deadline);
	kv(out, "reason", e.reason);
	kv(out, "attribution", verdict == LEGACY_FLAGGED ? attribution_name(e.attr) : NULL);
	kv(out, "service", e.service);
	kv(out, "deadline", e.retired ? deadline : NULL);
	kv(out, "software", e.software);
	fputs("}\n", out);
	legacy_entry_free(&e);
	return 0;
}
