/*
 * pair_row.h: one row of a store's answer turned into a struct tc_pair, whichever store gave
 * it. Both the SQLite readers (read_pairs.c) and the ClickHouse reader (src/fleet) select the
 * columns of pair_columns, in that order and under those names, and hand each row to
 * pair_from_row through a small table of cell getters. A new field of struct tc_pair is one
 * line in pair_columns (and the column, by the same name, in both stores' views).
 */
#ifndef TLSCENSUS_STORE_PAIR_ROW_H
#define TLSCENSUS_STORE_PAIR_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "read.h" /* STORE_PAIR_GROUPS */
#include "tlscensus/pair.h"

enum pair_cell {
	PAIR_TEXT,   /* const char *, never NULL (addresses) */
	PAIR_NAME,   /* const char *; NULL and '' (the inventory's "none") are NULL */
	PAIR_INT,    /* int */
	PAIR_STATUS, /* parse_status text to enum tc_conn_status */
	PAIR_COUNT,  /* uint64_t */
	PAIR_TIME,   /* double, unix seconds */
	PAIR_GROUPS, /* a JSON array of integers into a uint16_t list (offset) and its size_t
	              * count (count_offset), kept in the caller's struct pair_lists */
	PAIR_KNOWN,  /* int, and kx_known: the cell is not NULL (the key-exchange facts exist) */
};

struct pair_column {
	const char *name; /* the column as both stores name it */
	enum pair_cell cell;
	size_t offset;       /* in struct tc_pair */
	const char *none;    /* SQL literal the inventory keys "none" by (a connection's NULL);
	                      * NULL for a column that is never NULL */
	size_t count_offset; /* PAIR_GROUPS: the list's size_t count in struct tc_pair */
};

/*
 * The key columns a pair is grouped by (pair_key_count of them); then connections, first_seen
 * and last_seen, which each query computes its own way (PAIR_COUNTS of them); then the
 * key-exchange columns (pair_kx_count), which a pair is grouped by too, and which the rows
 * --retain folded into inventory_kept do not have (NULL: kx_known 0).
 */
#define PAIR_COUNTS 3
extern const struct pair_column pair_columns[];
extern const size_t pair_key_count, pair_kx_count, pair_column_count;

/* Room for the lists of one pair (PAIR_GROUPS cells), valid while the pair is. */
struct pair_lists {
	uint16_t v[2][STORE_PAIR_GROUPS];
};

/* How a reader gets at the cells of its current row; col counts from 0 in pair_columns order.
 * text returns NULL for a NULL cell. */
struct pair_cells {
	const char *(*text)(void *row, int col);
	int64_t (*integer)(void *row, int col);
	double (*real)(void *row, int col);
};

/* Fills *p from the row: 0, or -1 when a PAIR_TEXT cell is missing (the store ran out of
 * memory, or the row is not what was selected). Text points into the row, lists into *lists. */
int pair_from_row(struct tc_pair *p, const struct pair_cells *cells, void *row,
                  struct pair_lists *lists);

/* "client_ip, server_ip, ..." of the key columns, for SELECT and GROUP BY, into buf; and
 * "groups, key_shares, ..." of the key-exchange columns. */
#define PAIR_KEY_NAMES_MAX 512
const char *pair_key_names(char buf[PAIR_KEY_NAMES_MAX]);
const char *pair_kx_names(char buf[PAIR_KEY_NAMES_MAX]);

/* A stored JSON array of integers ("[4588,29,23]", as the writer makes it) into v; the count.
 * '' or NULL (no such extension) is none; anything past cap or not a number ends it. */
size_t pair_parse_groups(const char *text, uint16_t *v, size_t cap);

/* parse_status as stored ('ok' when NULL); TC_CONN_STATUS_COUNT for one this build does not
 * know. */
enum tc_conn_status pair_status_of(const char *text);

#endif
