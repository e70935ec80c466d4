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
	      "software,ja3,ja4\r\n",
	      o->f);
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
		fputs(",\"unknown\",,,,,,\r\n", o->f);
	}
}

/* CSV has no group rows: --group only orders the entries. */
const struct legacy_output legacy_csv = {
    .begin = csv_begin,
    .entry = csv_entry,
    .unknown = csv_unknown,
};
