/*
 * legacy_csv.c: the legacy command's CSV (RFC 4180), one row per entry and one per kind of
 * connection that could not be judged. Cells are whole, quoted and guarded against formulas.
 */
#include "legacy_out.h"
#include "text.h"

static void csv_sep(FILE *out, const char *text)
{
	fputc(',', out);
	text_csv(out, text);
}

static int csv_begin(struct legacy_out *o)
{
	/* The first eleven columns are those of the listing before policies; new ones follow. */
	fputs("client_ip,server_ip,server_port,sni,version,cipher,client_max_version,"
	      "connections,first_seen,last_seen,reason,attribution,service,retired,deadline,"
	      "software,ja3,ja4",
	      o->f);
	/* Group rules add two columns at the end; other policies keep their bytes. */
	fputs(o->r->judges_groups ? ",server_group,hrr\r\n" : "\r\n", o->f);
	return 0;
}

static void csv_entry(struct legacy_out *o, size_t k)
{
	const struct legacy_entry *e = &o->r->v[k];
	struct legacy_entry_text t;
	FILE *out = o->f;

	legacy_entry_texts(e, o->r->now, &t);
	text_csv(out, e->client_ip);
	csv_sep(out, e->server_ip);
	fprintf(out, ",%d", e->server_port);
	csv_sep(out, e->sni);
	csv_sep(out, t.version);
	csv_sep(out, t.cipher_name);
	csv_sep(out, t.client_max[0] ? t.client_max : NULL);
	fprintf(out, ",%s", t.conns);
	csv_sep(out, t.first);
	csv_sep(out, t.last);
	csv_sep(out, e->reason);
	csv_sep(out, attribution_name(e->attr));
	csv_sep(out, e->service);
	csv_sep(out, e->retired);
	csv_sep(out, t.deadline[0] ? t.deadline : NULL);
	csv_sep(out, e->software);
	csv_sep(out, e->ja3);
	csv_sep(out, e->ja4);
	if (o->r->judges_groups) {
		char g[8];

		csv_sep(out, legacy_group_text(e, g));
		fprintf(out, ",%d", e->hrr ? 1 : 0);
	}
	fputs("\r\n", out);
}

/* What could not be judged: one row per kind, attribution "unknown", the kind as reason. */
static void csv_unknown(struct legacy_out *o, const struct legacy_unknown *u)
{
	for (size_t k = 0; k < LEGACY_UNKNOWN_KINDS; k++) {
		if (!legacy_unknown_at(u, k))
			continue;
		fprintf(o->f, ",,,,,,,%llu,,,", (unsigned long long)legacy_unknown_at(u, k));
		text_csv(o->f, legacy_unknown_kinds[k].key);
		fputs(o->r->judges_groups ? ",\"unknown\",,,,,,,,\r\n" : ",\"unknown\",,,,,,\r\n",
		      o->f);
	}
}

/* Under group rules: what the policy accepted, one row per client (attribution "ready"), and
 * the connections without key-exchange facts (attribution "unknown"). */
static void csv_key_exchange(struct legacy_out *o)
{
	for (size_t i = 0; i < o->r->n_accepted; i++) {
		text_csv(o->f, o->r->accepted[i].client_ip);
		fprintf(o->f, ",,,,,,,%llu,,,", (unsigned long long)o->r->accepted[i].connections);
		text_csv(o->f, "accepted key exchange");
		fputs(",\"" LEGACY_READY "\",,,,,,,,\r\n", o->f);
	}
	if (o->r->kx.no_facts) {
		fprintf(o->f, ",,,,,,,%llu,,,", (unsigned long long)o->r->kx.no_facts);
		text_csv(o->f, "no_key_exchange_facts");
		fputs(",\"unknown\",,,,,,,,\r\n", o->f);
	}
}

/* CSV has no group rows: --group only orders the entries. */
const struct legacy_output legacy_csv = {
    .begin = csv_begin,
    .entry = csv_entry,
    .unknown = csv_unknown,
    .key_exchange = csv_key_exchange,
};
