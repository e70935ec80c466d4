/*
 * stream.h: per-direction TCP reassembly of a connection's opening bytes only.
 * Segments may arrive in order, out of order, retransmitted, duplicated or overlapping; the
 * stream places the bytes from the direction's first byte up to a bound, and says how many of
 * them are contiguous. It keeps those its reader has not read for good (stream_consume), never
 * more than the bound, and frees everything on release.
 */
#ifndef TLSCENSUS_STREAM_H
#define TLSCENSUS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_MAX_HOLES 8 /* out-of-order ranges kept ahead of the contiguous part */

struct stream_range {
	uint32_t start, end; /* offsets, end exclusive */
};

struct stream {
	uint8_t *buf;
	uint32_t cap;     /* bytes allocated (grows by doubling up to the bound) */
	uint32_t isn;     /* sequence number of offset 0 */
	uint32_t contig;  /* [0, contig) received without a gap */
	uint32_t base;    /* offset of buf[0] (at most contig): the reader is done with the bytes
	                   * before it, which are not kept (stream_consume) */
	uint32_t view_at; /* offset of a view's first byte (stream_add_view) */
	uint32_t fin_off; /* offset of FIN, valid with fin */
	uint8_t has_base; /* isn known (from SYN, or from the first data segment) */
	uint8_t from_syn; /* isn came from a SYN: nothing can precede offset 0 */
	uint8_t fin;
	uint8_t rst;
	uint8_t over; /* data beyond the bound arrived: the opening is longer than we keep */
	uint8_t n_ranges;
	uint8_t unkept; /* buf does not hold [base, contig): a view not yet kept, or forgotten */
	struct stream_range ranges[STREAM_MAX_HOLES]; /* sorted, disjoint, all above contig */
	uint32_t dropped; /* segments that could not be placed (too many holes, memory) */
};

enum stream_result {
	STREAM_NOTHING = 0, /* nothing new in order */
	STREAM_GREW,        /* contig moved: feed the dissector */
	STREAM_REBASED,     /* bytes arrived before offset 0: offsets moved, restart parsing */
};

/* Adds a segment. bound caps the offsets placed (e.g. 64 KiB). may_rebase says the caller has
 * not consumed any bytes yet, so offset 0 may still move back. */
enum stream_result stream_add(struct stream *s, uint32_t seq, uint8_t tcp_flags,
                              const uint8_t *data, size_t len, uint32_t bound, int may_rebase);

/*
 * The same, for a reader that may need no copy. Bytes arriving in order where the reader has
 * read everything before them (a direction's first bytes, the usual opening: the whole hello in
 * one segment; or, after stream_consume, the next segment of a certificate chain) are not
 * copied: *view points at them in data, room for them is made, and the caller reads them there,
 * as buf from base on. If it wants more than they hold, stream_keep(s, *view) copies what it
 * has not consumed before data goes away. Else *view is NULL and the bytes are in buf as with
 * stream_add.
 */
enum stream_result stream_add_view(struct stream *s, uint32_t seq, uint8_t tcp_flags,
                                   const uint8_t *data, size_t len, uint32_t bound,
                                   int may_rebase, const uint8_t **view);
void stream_keep(struct stream *s, const uint8_t *view);
/*
 * The reader is done with the bytes before offset upto (at most contig) and will read from
 * there on: they are dropped, and buf then starts at upto (s->base). A reader that reads
 * records as they complete keeps only the record still arriving, not the opening so far: the
 * bytes of a ClientHello read where the packet holds them are not copied at all. Offsets
 * (contig, fin_off, the ranges, the bound) stay the direction's; nothing before base is moved
 * again (no rebase).
 */
void stream_consume(struct stream *s, uint32_t upto);
/* The reader is done with the direction: later segments move the offsets (contig, fin, over)
 * and are not copied. buf no longer holds the bytes. */
void stream_forget(struct stream *s);

/* No more bytes will come in order: FIN or RST reached, or the bound is full. */
int stream_ended(const struct stream *s, uint32_t bound);

/* Releases the buffer (the counters stay). */
void stream_release(struct stream *s);

#endif
