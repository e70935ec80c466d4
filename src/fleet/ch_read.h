/*
 * ch_read.h: the fleet's records in ClickHouse as a census reader (store/reader.h): the same
 * pairs and report figures SQLite's readers give over one database holding the same records,
 * so `legacy` and `report` judge and print them with the same code. --sensor names restrict
 * every figure to those sensors.
 */
#ifndef TLSCENSUS_FLEET_CH_READ_H
#define TLSCENSUS_FLEET_CH_READ_H

#include <stddef.h>

#include "clickhouse.h"
#include "reader.h"

struct ch_reader;

/* Checks that the server answers and holds the census tables. NULL with the reason in err. */
struct ch_reader *ch_reader_open(const struct ch_config *cfg, const char *const *sensors,
                                 size_t nsensors, char *err, size_t errlen);
void ch_reader_close(struct ch_reader *r);
struct census_reader ch_reader(struct ch_reader *r);

#endif
