/*
 * schema.h: the schema text (schema.c). Each migration takes the database from version - 1 to
 * version; the views are applied whenever their text changes.
 */
#ifndef TLSCENSUS_SCHEMA_H
#define TLSCENSUS_SCHEMA_H

#include <stddef.h>

struct store_migration {
	int version;
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_migration_count;
extern const char store_views_sql[];
extern const char store_outbox_sql[]; /* applied with the views */

/* Flags of conn.flags (schema v2). */
#define CONN_CLIENT_TRUNC 1
#define CONN_SERVER_TRUNC 2
#define CONN_HRR          4
#define CONN_HRR_KNOWN    8
#define CONN_SUMMARIZED   16

#endif
