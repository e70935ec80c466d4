/*
 * community_id.h: the Community ID flow hash, version 1 (github.com/corelight/community-id-spec),
 * the string Zeek, Suricata, Arkime and most SIEM pipelines attach to a connection, so a
 * tlscensus record joins with their logs on one field.
 */
#ifndef TLSCENSUS_COMMUNITY_ID_H
#define TLSCENSUS_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

/* "1:" and the base64 of a SHA-1 digest (28 characters), and the NUL. */
#define COMMUNITY_ID_LEN 31

/*
 * The ID of a TCP or UDP flow between two endpoints given as address text (IPv4 dotted or
 * IPv6), in either order: the spec orders the endpoints itself, so both directions give one
 * ID. seed is the spec's 16-bit seed (0 unless every sensor agrees on another). 0, or -1 when
 * an address is not one or the two are of different families.
 */
int community_id(const char *addr_a, uint16_t port_a, const char *addr_b, uint16_t port_b,
                 uint8_t proto, uint16_t seed, char out[COMMUNITY_ID_LEN]);

#endif
