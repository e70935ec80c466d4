/*
 * grave.h: TCP connections recently released, remembered by 5-tuple and sequence space.
 * A span port delivers late copies of a connection's segments after its FIN or RST (loss,
 * reordering, duplication on the path): they belong to the connection already recorded and
 * must not open a second one. A SYN outside the old sequence space is a reused port, a new
 * connection. Bounded in count and in capture time; nothing here grows without bound.
 */
#ifndef TLSCENSUS_GRAVE_H
#define TLSCENSUS_GRAVE_H

#include <stdint.h>

#include "flow.h"

#define GRAVE_MAX 65536 /* connections remembered at most (about 100 bytes each) */

struct graves;

struct graves *graves_new(uint32_t max, uint64_t keep_usec);
void graves_free(struct graves *g);

/* Remembers a released flow (f's key, its hash and sequence spaces) at capture time now. */
void graves_add(struct graves *g, const struct flow *f, uint64_t now);

/* Whether pkt, which has no flow, is a late segment of a remembered connection (1: drop
 * it). A SYN outside the old sequence space forgets the grave (0: a new connection). The
 * probe is the one the flow table was asked with: graves are found by the flow table's hash,
 * so a packet is folded and hashed once. */
int graves_hit(struct graves *g, const struct flow_probe *pr, const struct tc_packet *pkt,
               uint64_t now);

/* Starts the load of what graves_hit and graves_add will read first for this hash (a new
 * connection's SYN, a connection about to be released). */
void graves_prefetch(const struct graves *g, uint32_t hash);

/* The graves held (a 5-tuple buried twice counts twice), and the room there is now (for
 * tests). */
uint32_t graves_count(const struct graves *g);
uint32_t graves_capacity(const struct graves *g);

#endif
