/*
 * legacy_json.c: the legacy command's JSON: the question (policy, window), the entries, the
 * groups with --group, the unknown bucket and one sentence of advice per attribution present.
 * One document, RFC 8259 strings.
 */
#include "legacy_out.h"
#include "text.h"

static void json_kv(FILE *out, const char *key, const char *value, int comma)
{
	fprintf(out, "%s\"%s\": ", comma ? ", " : "", key);
	text_json_string(out, value);
}

static int json_begin(struct legacy_out *o)
{
	const struct legacy_result *r = o->r;
	const struct legacy_query *q = o->q;
	char since[24], until[24];

	if (q->since > 0)
		legacy_time_text(q->since, since);
	if (q->until > 0)
		legacy_time_text(q->until, until);
	fputs("{", o->f);
	json_kv(o->f, "policy", r->policy, 0);
	json_kv(o->f, "since", q->since > 0 ? since : NULL, 1);
	json_kv(o->f, "until", q->until > 0 ? until : NULL, 1);
	json_kv(o->f, "counted_from", r->from_connections ? "connections" : "inventory", 1);
	fprintf(o->f, ", \"connections\": %llu, \"legacy_connections\": %llu,\n  \"entries\": [",
	        (unsigned long long)r->connections, (unsigned long long)r->legacy_connections);
	return 0;
}

static void json_entry(struct legacy_out *o, size_t k)
{
	const struct legacy_entry *e = &o->r->v[k];
	struct legacy_entry_text t;
	FILE *out = o->f;

	legacy_entry_texts(e, o->r->now, &t);
	fputs(k ? ",\n" : "\n", out);
	fputs("    {", out);
	json_kv(out, "client_ip", e->client_ip, 0);
	json_kv(out, "server_ip", e->server_ip, 1);
	fprintf(out, ", \"server_port\": %d", e->server_port);
	json_kv(out, "sni", e->sni, 1);
	json_kv(out, "version", t.version, 1);
	fprintf(out, ", \"negotiated\": %s", e->negotiated ? "true" : "false");
	json_kv(out, "cipher", t.cipher_name, 1);
	json_kv(out, "client_max_version", t.client_max[0] ? t.client_max : NULL, 1);
	fprintf(out, ", \"connections\": %s", t.conns);
	json_kv(out, "first_seen", t.first, 1);
	json_kv(out, "last_seen", t.last, 1);
	json_kv(out, "reason", e->reason, 1);
	json_kv(out, "attribution", attribution_name(e->attr), 1);
	json_kv(out, "service", e->service, 1);
	json_kv(out, "retired", e->retired, 1);
	json_kv(out, "deadline", t.deadline[0] ? t.deadline : NULL, 1);
	json_kv(out, "software", e->software, 1);
	json_kv(out, "ja3", e->ja3, 1);
	json_kv(out, "ja4", e->ja4, 1);
	if (o->r->judges_groups) { /* after every older key, so other policies keep their bytes */
		char g[8];

		json_kv(out, "server_group", legacy_group_text(e, g), 1);
		fprintf(out, ", \"hrr\": %s", e->hrr ? "true" : "false");
	}
	fputc('}', out);
}

/* Closes the entries; with --group, the groups follow as a list of their own. */
static void json_entries_end(struct legacy_out *o)
{
	const struct legacy_group_totals *g = o->groups;
	FILE *out = o->f;

	fputs(o->shown ? "\n  ]" : "]", out);
	if (o->view->limit) /* only under --limit, so other documents keep their bytes */
		fprintf(out, ",\n  \"more_entries\": %zu", o->r->n - o->shown);
	if (!g)
		return;
	fputs(",\n  \"groups\": [", out);
	for (size_t k = 0; k < o->ngroups; k++) {
		fprintf(out, "%s\n    {", k ? "," : "");
		json_kv(out, o->q->group == GROUP_SERVER ? "server_ip" : "client_ip", g[k].key, 0);
		fprintf(out, ", \"entries\": %zu, \"connections\": %llu, \"attributions\": {",
		        g[k].entries, (unsigned long long)g[k].connections);
		for (int a = 0, first = 1; a < ATTR_COUNT; a++) {
			if (!g[k].by_attr[a])
				continue;
			fprintf(out, "%s\"%s\": %llu", first ? "" : ", ",
			        attribution_name((enum attribution)a),
			        (unsigned long long)g[k].by_attr[a]);
			first = 0;
		}
		fputs("}}", out);
	}
	fputs(o->ngroups ? "\n  ]" : "]", out);
}

static void json_unknown(struct legacy_out *o, const struct legacy_unknown *u)
{
	fputs(",\n  \"unknown\": {", o->f);
	for (size_t k = 0; k < LEGACY_UNKNOWN_KINDS; k++)
		fprintf(o->f, "\"%s\": %llu, ", legacy_unknown_kinds[k].key,
		        (unsigned long long)legacy_unknown_at(u, k));
	fprintf(o->f, "\"total\": %llu}", (unsigned long long)legacy_unknown_total(u));
}

/* Connections by the kind of key exchange negotiated; "ready": what the policy accepted. */
static void json_key_exchange(struct legacy_out *o)
{
	const struct legacy_kx *k = &o->r->kx;

	fprintf(o->f,
	        ",\n  \"key_exchange\": {\"" LEGACY_READY
	        "\": %llu, \"pq\": %llu, \"draft\": %llu, "
	        "\"classical\": %llu, \"no_group\": %llu, \"no_facts\": %llu}",
	        (unsigned long long)o->r->accepted_connections, (unsigned long long)k->pq,
	        (unsigned long long)k->draft, (unsigned long long)k->classical,
	        (unsigned long long)k->none, (unsigned long long)k->no_facts);
	fputs(",\n  \"ready_clients\": [", o->f);
	for (size_t i = 0; i < o->r->n_accepted; i++) {
		fputs(i ? ", {" : "{", o->f);
		json_kv(o->f, "client_ip", o->r->accepted[i].client_ip, 0);
		fprintf(o->f, ", \"connections\": %llu}",
		        (unsigned long long)o->r->accepted[i].connections);
	}
	fputs("]", o->f);
}

/* The advice for each attribution the entries show, in attribution order. */
static void json_end(struct legacy_out *o)
{
	int seen[ATTR_COUNT] = {0}, first = 1;

	for (size_t i = 0; i < o->r->n; i++)
		seen[o->r->v[i].attr] = 1;
	fputs(",\n  \"advice\": {", o->f);
	for (int a = 0; a < ATTR_COUNT; a++) {
		if (!seen[a])
			continue;
		json_kv(o->f, attribution_name((enum attribution)a),
		        attribution_advice((enum attribution)a), !first);
		first = 0;
	}
	fputs("}}\n", o->f);
}

const struct legacy_output legacy_json = {
    .begin = json_begin,
    .entry = json_entry,
    .entries_end = json_entries_end,
    .unknown = json_unknown,
    .key_exchange = json_key_exchange,
    .end = json_end,
};
