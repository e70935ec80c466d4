/*
 * defrag.h: IPv4 and IPv6 fragment reassembly between decode and the flow table. Fragments
 * that tc_decode described (struct tc_frag) go in; whole IP datagrams come out, to be decoded
 * again as raw IP. Everything it holds is bounded: datagrams, bytes, fragments per datagram
 * and capture time; what does not fit is dropped and counted, never grown into.
 */
#ifndef TLSCENSUS_DEFRAG_H
#define TLSCENSUS_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "tlscensus/packet.h"

#define DEFRAG_DEFAULT_TIMEOUT_S 30   /* used when timeout_s is 0 */
#define DEFRAG_MAX_FRAGMENTS     1024 /* per datagram, duplicates included */
/* Largest fragmentable part: an IPv4 total length, or an IPv6 payload length (no jumbograms,
 * RFC 2675 forbids them a fragment header), cannot pass 65535. */
#define DEFRAG_MAX_DATA 65535

/* Counters since defrag_new; datagrams and bytes are the current load. */
struct defrag_stats {
	uint64_t fragments;   /* offered to defrag_add */
	uint64_t reassembled; /* datagrams completed and handed back */
	/* Fragments refused: not a fragment, offset or length out of bounds, a non-last piece not
	 * a multiple of 8 bytes, a last piece or an end that contradicts one already held, over
	 * the fragment limit, belonging to a discarded datagram, or no memory. */
	uint64_t dropped;
	uint64_t duplicates; /* every byte already held, and the same: ignored */
	/* Fragments that overlap held bytes with other bytes: for IPv4 the bytes that arrived
	 * first win; an IPv6 datagram with one is discarded whole (RFC 5722). */
	uint64_t overlaps;
	uint64_t discarded; /* datagrams given up: IPv6 overlap, fragment limit, too long */
	uint64_t timeouts;  /* incomplete datagrams whose time ran out */
	uint64_t evictions; /* incomplete datagrams pushed out by max_datagrams or max_bytes */
	size_t datagrams;   /* held now, discarded ones included until their time runs out */
	size_t bytes;       /* accounted now: never above max_bytes */
	size_t peak_bytes;
};

struct defrag;

/*
 * max_datagrams bounds the datagrams under reassembly (key: version, source, destination,
 * identification, protocol, RFC 791 3.2 and RFC 8200 4.5). max_bytes bounds what they hold:
 * each costs about 1.2 KiB of state plus its header and its data as far as it has arrived; a
 * bound below one largest datagram (about 67 KiB) refuses the largest. Not counted: the hash
 * table (one pointer per max_datagrams, allocated here) and the one completed datagram kept
 * for the caller. A datagram lives timeout_s seconds of capture time from its first fragment
 * (0: DEFRAG_DEFAULT_TIMEOUT_S). Returns NULL when out of memory.
 */
struct defrag *defrag_new(size_t max_datagrams, size_t max_bytes, uint32_t timeout_s);
void defrag_free(struct defrag *d);

/*
 * Takes the fragment frag_pkt->frag (tc_decode returned TC_DEC_FRAGMENT) seen at ts_usec;
 * its bytes are copied, so the frame may go. Returns 1 when it completes a datagram: *out
 * and *outlen then hold the whole IP datagram, IPv4 with MF and offset cleared, total length
 * and checksum fixed, or IPv6 with the fragment header removed and the payload length fixed,
 * for tc_decode(LINKTYPE_RAW = 101, ...). That buffer belongs to the table and stays valid
 * until the next defrag_add or defrag_free; a fragment pointing into it (a datagram that was
 * fragmented inside a fragmented tunnel) may be passed to the next defrag_add. Returns 0 when
 * the fragment was taken (or was a duplicate) and the datagram is not complete yet, -1 when
 * it was refused (see defrag_stats.dropped). Datagrams older than the timeout expire first.
 */
int defrag_add(struct defrag *d, const struct tc_packet *frag_pkt, uint64_t ts_usec, uint8_t **out,
               size_t *outlen);

const struct defrag_stats *defrag_stats(const struct defrag *d);

#endif
