/*
 * pair_row.c: the one row-to-pair conversion of every store (pair_row.h). It knows column
 * names and struct offsets, no SQL dialect and no connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pair_row.h"
#include "util.h"

#define AT(field) offsetof(struct tc_pair, field)

/* none: as the view inventory_keys (schema.c) turns a connection's NULL into a key. */
const struct pair_column pair_columns[] = {
    {"client_ip", PAIR_TEXT, AT(client_ip), NULL},
    {"server_ip", PAIR_TEXT, AT(server_ip), NULL},
    {"server_port", PAIR_INT, AT(server_port), NULL},
    {"sni", PAIR_NAME, AT(sni), "''"},
    {"version", PAIR_INT, AT(version), "-1"},
    {"cipher", PAIR_INT, AT(cipher), "-1"},
    {"ch_max_version", PAIR_INT, AT(ch_max_version), "-1"},
    {"ja3", PAIR_NAME, AT(ja3), "''"},
    {"ja4", PAIR_NAME, AT(ja4), "''"},
    {"alert_desc", PAIR_INT, AT(alert_desc), "-1"},
    {"fallback_scsv", PAIR_INT, AT(fallback_scsv), "0"},
    {"retry", PAIR_INT, AT(retry), NULL},
    {"parse_status", PAIR_STATUS, AT(parse_status), "'ok'"},
    /* computed per query, after the key */
    {"connections", PAIR_COUNT, AT(connections), NULL},
    {"first_seen", PAIR_TIME, AT(first_seen), NULL},
    {"last_seen", PAIR_TIME, AT(last_seen), NULL},
    /* key exchange (post-quantum rules): NULL in rows folded by --retain */
    {"groups", PAIR_GROUPS, AT(groups), "''", AT(n_groups)},
    {"key_shares", PAIR_GROUPS, AT(key_shares), "''", AT(n_key_shares)},
    {"sh_group", PAIR_INT, AT(server_group), "-1"},
    {"hrr", PAIR_KNOWN, AT(hrr), "0"},
};
const size_t pair_column_count = COUNT_OF(pair_columns);
const size_t pair_kx_count = 4;
const size_t pair_key_count = COUNT_OF(pair_columns) - PAIR_COUNTS - 4;

enum tc_conn_status pair_status_of(const char *text)
{
	if (!text)
		return TC_CONN_OK;
	for (int i = 0; i < TC_CONN_STATUS_COUNT; i++)
		if (!strcmp(text, tc_conn_status_name((enum tc_conn_status)i)))
			return (enum tc_conn_status)i;
	return TC_CONN_STATUS_COUNT;
}

size_t pair_parse_groups(const char *text, uint16_t *v, size_t cap)
{
	size_t n = 0;
	const char *p = text ? strchr(text, '[') : NULL;

	while (p && n < cap) {
		char *end;
		long g;

		p++;
		while (*p == ' ')
			p++;
		g = strtol(p, &end, 10);
		if (end == p || g < 0 || g > 0xffff)
			break;
		v[n++] = (uint16_t)g;
		p = strchr(end, ',');
	}
	return n;
}

int pair_from_row(struct tc_pair *p, const struct pair_cells *cells, void *row,
                  struct pair_lists *lists)
{
	size_t list = 0;

	memset(p, 0, sizeof *p);
	for (size_t i = 0; i < pair_column_count; i++) {
		const struct pair_column *c = &pair_columns[i];
		char *at = (char *)p + c->offset;
		const char *t;

		switch (c->cell) {
		case PAIR_TEXT:
		case PAIR_NAME:
			t = cells->text(row, (int)i);
			if (c->cell == PAIR_TEXT && !t)
				return -1;
			if (c->cell == PAIR_NAME && t && !*t)
				t = NULL;
			memcpy(at, &t, sizeof t);
			break;
		case PAIR_INT:
			*(int *)at = (int)cells->integer(row, (int)i);
			break;
		case PAIR_STATUS:
			*(enum tc_conn_status *)at = pair_status_of(cells->text(row, (int)i));
			break;
		case PAIR_COUNT:
			*(uint64_t *)at = (uint64_t)cells->integer(row, (int)i);
			break;
		case PAIR_TIME:
			*(double *)at = cells->real(row, (int)i);
			break;
		case PAIR_GROUPS: {
			uint16_t *v = lists->v[list++ % 2];
			const uint16_t *cv = v;

			*(size_t *)((char *)p + c->count_offset) =
			    pair_parse_groups(cells->text(row, (int)i), v, STORE_PAIR_GROUPS);
			memcpy(at, &cv, sizeof cv);
			break;
		}
		case PAIR_KNOWN:
			*(int *)at = (int)cells->integer(row, (int)i);
			p->kx_known = cells->text(row, (int)i) != NULL;
			break;
		}
	}
	/* without the facts, no group either (a folded inventory row) */
	if (!p->kx_known)
		p->server_group = -1;
	return 0;
}

static const char *names(char buf[PAIR_KEY_NAMES_MAX], size_t from, size_t count)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = from; i < from + count && n < PAIR_KEY_NAMES_MAX; i++)
		n += (size_t)snprintf(buf + n, PAIR_KEY_NAMES_MAX - n, "%s%s", i > from ? ", " : "",
		                      pair_columns[i].name);
	return buf;
}

const char *pair_key_names(char buf[PAIR_KEY_NAMES_MAX])
{
	return names(buf, 0, pair_key_count);
}

const char *pair_kx_names(char buf[PAIR_KEY_NAMES_MAX])
{
	return names(buf, pair_key_count + PAIR_COUNTS, pair_kx_count);
}
