/*
 * addr.h: text for struct tc_addr, both ways. tc_addr_format (declared in packet.h) writes it;
 * tc_addr_parse reads it back, for tests and for address filters given on the command line.
 */
#ifndef TLSCENSUS_ADDR_H
#define TLSCENSUS_ADDR_H

#include "tlscensus/packet.h"

/* Parses a dotted quad (stored IPv4-mapped) or an IPv6 address; 1 on success, 0 otherwise. */
int tc_addr_parse(const char *text, struct tc_addr *out);

#endif
