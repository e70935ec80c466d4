/*
 * read.h: the store's answers for readers: the pairs (tlscensus/pair.h) a question is about,
 * for the judge. The SQL stays in this room; what leaves it are plain structs.
 */
#ifndef TLSCENSUS_STORE_READ_H
#define TLSCENSUS_STORE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "tlscensus/pair.h"

struct store;

/* Takes one pair, whose text lives until it returns; 0 to go on, anything else to stop. */
typedef int (*store_pair_fn)(void *ctx, const struct tc_pair *p);

/*
 * Calls fn for every pair within f: without a window, the inventory's rows; with one, the
 * connection rows grouped the same way when they still cover it (*from_connections = 1: exact),
 * else the inventory rows that overlap it (*from_connections = 0: a row counts whole). Then the
 * connections without any hello, one pair per client and server. Returns 0 when all were read,
 * 1 when fn stopped the reading, -1 when the database failed (message on stderr, naming it).
 */
int store_read_pairs(struct store *s, const struct filter *f, store_pair_fn fn, void *ctx,
                     int *from_connections);

/* A stored JSON array of integers ("[4588,29,23]") into v, at most cap; the count. '' or NULL
 * is none; anything past the bound or not a number ends it. */
/* Groups a pair carries for the judge at most (a hello may list more; the policy's group rules
 * look at whether one of a kind is there, and real stacks offer a dozen). */
#define STORE_PAIR_GROUPS 256

size_t store_parse_groups(const char *text, uint16_t *v, size_t cap);

/*
 * The export's rows, for a caller that adds keys of its own (export with the judge's verdict,
 * the log stream): each connection that showed a hello as its JSON text (the object left
 * open: json has no closing brace) and the connection as a pair (connections 1) for a judge.
 */
struct store_export_row {
	const char *json;
	size_t json_len;
	struct tc_pair pair;
	int proto; /* IP protocol: 6 TCP, 17 UDP */
	int client_port;
	int64_t id;
};
/* Takes one row, whose text lives until it returns; 0 to go on, anything else to stop. */
typedef int (*store_export_fn)(void *ctx, const struct store_export_row *row);

struct store_exporter;
/* Prepares the export's statements on s; NULL after a message on stderr. */
struct store_exporter *store_exporter_new(struct store *s);
void store_exporter_free(struct store_exporter *x);
/* Every row within f (NULL: all), by first_ts: 0, 1 when fn stopped, -1 after a message. */
int store_export_each(struct store_exporter *x, const struct filter *f, store_export_fn fn,
                      void *ctx);
/* The row of one connection id (none when it showed no hello): as store_export_each. */
int store_export_id(struct store_exporter *x, int64_t id, store_export_fn fn, void *ctx);

#endif
