/*
 * legacy_out.c: legacy_print, which walks a result through one format's struct legacy_output,
 * and the texts every format shares (times, versions, suites, the unknown bucket's kinds). It
 * judges nothing and reads no store: the result is complete before printing starts.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ciphers.h"
#include "groups.h"
#include "legacy_out.h"
#include "util.h"

static const struct legacy_output *const formats[] = {
    [LEGACY_TABLE] = &legacy_table,
    [LEGACY_CSV] = &legacy_csv,
    [LEGACY_JSON] = &legacy_json,
};

/* ---------------------------------------------------------------- shared texts */

void legacy_time_text(double t, char buf[24])
{
	time_t tt = (time_t)floor(t);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void legacy_entry_texts(const struct legacy_entry *e, double now, struct legacy_entry_text *t)
{
	char v[TC_VERSION_TEXT_MAX];

	snprintf(t->server, sizeof t->server, strchr(e->server_ip, ':') ? "[%s]:%d" : "%s:%d",
	         e->server_ip, e->server_port);
	tc_version_text(e->version, v);
	snprintf(t->version, sizeof t->version, "%s%s", v, e->negotiated ? "" : " (offered)");
	t->cipher_name = NULL;
	if (e->negotiated && e->cipher != POLICY_NO_CIPHER) {
		t->cipher_name = cipher_name(e->cipher);
		if (!t->cipher_name) {
			snprintf(t->cipher, sizeof t->cipher, "0x%04x", (unsigned)e->cipher);
			t->cipher_name = t->cipher;
		}
	}
	t->client_max[0] = '\0';
	if (e->client_max)
		tc_version_text(e->client_max, t->client_max);
	legacy_time_text(e->first_seen, t->first);
	legacy_time_text(e->last_seen, t->last);
	t->deadline[0] = '\0';
	if (e->retired)
		legacy_deadline_text(e->retired, now, t->deadline, sizeof t->deadline);
	snprintf(t->conns, sizeof t->conns, "%llu", (unsigned long long)e->connections);
}

const struct legacy_unknown_kind legacy_unknown_kinds[LEGACY_UNKNOWN_KINDS] = {
    {"truncated", "truncated hello"},
    {"malformed", "malformed hello"},
    {"one_sided", "one-sided (one direction not captured)"},
    {"midstream", "midstream (capture began after the hellos)"},
};

uint64_t legacy_unknown_at(const struct legacy_unknown *u, size_t kind)
{
	const uint64_t v[LEGACY_UNKNOWN_KINDS] = {u->truncated, u->malformed, u->one_sided,
	                                          u->midstream};

	return v[kind];
}

uint64_t legacy_unknown_total(const struct legacy_unknown *u)
{
	return u->truncated + u->malformed + u->one_sided + u->midstream;
}

const char *legacy_group_text(const struct legacy_entry *e, char buf[8])
{
	return e->server_group < 0 ? NULL : group_text((uint16_t)e->server_group, buf);
}

/* ---------------------------------------------------------------- the walk */

static int walk(const struct legacy_output *fo, struct legacy_out *o)
{
	const struct legacy_result *r = o->r;
	enum legacy_group g = o->q->group;

	if (fo->begin && fo->begin(o))
		return -1;
	/* legacy_collect put the entries in group order, so a new key starts the next group. */
	for (size_t k = 0, next = 0; k < o->shown; k++) {
		if (o->groups && next < o->ngroups &&
		    (k == 0 ||
		     strcmp(legacy_group_key(&r->v[k], g), legacy_group_key(&r->v[k - 1], g)))) {
			if (fo->group)
				fo->group(o, next);
			next++;
		}
		if (fo->entry)
			fo->entry(o, k);
	}
	if (fo->entries_end)
		fo->entries_end(o);
	if (fo->unknown)
		fo->unknown(o, &r->unknown);
	if (fo->key_exchange && r->judges_groups)
		fo->key_exchange(o);
	if (fo->end)
		fo->end(o);
	return 0;
}

int legacy_print(const struct legacy_result *r, const struct legacy_query *q,
                 const struct legacy_view *v, FILE *out)
{
	struct legacy_out o = {.r = r, .q = q, .f = out, .view = v};
	const struct legacy_output *fo =
	    (size_t)v->format < COUNT_OF(formats) ? formats[v->format] : &legacy_table;
	struct legacy_group_totals *groups = NULL;
	int rc = 0;

	if (q->group != GROUP_NONE && !(groups = legacy_groups(r, q->group, q->sort, &o.ngroups)))
		rc = -1;
	o.groups = groups;
	o.shown = v->limit && v->limit < r->n ? v->limit : r->n;
	if (!rc)
		rc = walk(fo, &o);
	free(groups);
	if (rc) {
		fprintf(stderr, "tlscensus: out of memory formatting the report\n");
		return -1;
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "tlscensus: cannot write the report: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}
