/*
 * stream.c: per-direction reassembly of the opening bytes of a TCP connection.
 * Offsets are relative to the direction's first byte; sequence arithmetic is modulo 2^32.
 * Overlaps keep the bytes that arrived first (a retransmission cannot rewrite what the
 * dissector may already have read). Memory is bounded by the caller's bound.
 */
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "tlscensus/packet.h"

static int grow(struct stream *s, uint32_t need, uint32_t bound)
{
	uint32_t cap = s->cap ? s->cap : 2048;
	uint8_t *nb;

	if (need <= s->cap)
		return 1;
	while (cap < need)
		cap *= 2;
	if (cap > bound)
		cap = bound;
	nb = realloc(s->buf, cap);
	if (!nb)
		return 0;
	s->buf = nb;
	s->cap = cap;
	return 1;
}

/* Whether offset off is already filled (in order, or in a held range). */
static int filled(const struct stream *s, uint32_t off)
{
	if (off < s->contig)
		return 1;
	for (unsigned i = 0; i < s->n_ranges; i++)
		if (off >= s->ranges[i].start && off < s->ranges[i].end)
			return 1;
	return 0;
}

/* Inserts [start, end) into the sorted range list, merging neighbours, then moves contig. */
static int add_range(struct stream *s, uint32_t start, uint32_t end)
{
	struct stream_range *r = s->ranges;
	unsigned n = s->n_ranges, i = 0, j;

	while (i < n && r[i].end < start)
		i++;
	j = i;
	while (j < n && r[j].start <= end) {
		if (r[j].start < start)
			start = r[j].start;
		if (r[j].end > end)
			end = r[j].end;
		j++;
	}
	if (i == j && n == STREAM_MAX_HOLES)
		return 0;
	/* Ranges i..j-1 collapse into one at i. */
	memmove(&r[i + 1], &r[j], (n - j) * sizeof(*r));
	r[i] = (struct stream_range){start, end};
	s->n_ranges = (uint8_t)(n - (j - i) + 1);
	while (s->n_ranges && r[0].start <= s->contig) {
		if (r[0].end > s->contig)
			s->contig = r[0].end;
		memmove(&r[0], &r[1], (s->n_ranges - 1) * sizeof(*r));
		s->n_ranges--;
	}
	return 1;
}

/* Bytes arrived from before offset 0 (span ports miss SYNs, and the first segment captured is
 * not always the first sent): shift everything up by delta when it still fits, and nothing
 * was consumed. */
static int rebase(struct stream *s, uint32_t delta, uint32_t bound)
{
	uint32_t top = s->contig;

	if ((s->contig && s->n_ranges == STREAM_MAX_HOLES) || s->base)
		return 0;
	if (s->n_ranges)
		top = s->ranges[s->n_ranges - 1].end;
	if ((uint64_t)top + delta > bound || !grow(s, top + delta, bound))
		return 0;
	memmove(s->buf + delta, s->buf, top);
	for (unsigned i = 0; i < s->n_ranges; i++) {
		s->ranges[i].start += delta;
		s->ranges[i].end += delta;
	}
	if (s->contig) {
		/* The old in-order bytes become a held range; contig restarts at 0 and grows
		 * again once the new first bytes are placed. */
		uint32_t old = s->contig;
		s->contig = 0;
		if (!add_range(s, delta, delta + old))
			return 0;
	}
	if (s->fin)
		s->fin_off += delta;
	s->isn -= delta;
	return 1;
}

/* The bytes of [start, start + len) (start at or past base) into buf (made room for), or, for
 * the direction's first bytes in order and a caller that can read them in place, *view
 * (stream_add_view). */
static void place(struct stream *s, uint32_t start, const uint8_t *data, size_t len,
                  const uint8_t **view)
{
	uint8_t *at = s->buf + (start - s->base);

	if (view && start == s->base && s->contig == s->base && s->n_ranges == 0) {
		*view = data; /* the room is there; stream_keep copies if it must */
		s->view_at = start;
		s->unkept = 1;
	} else if (s->n_ranges == 0 && start >= s->contig) {
		memcpy(at, data, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			if (!filled(s, start + i))
				at[i] = data[i];
	}
}

static enum stream_result add(struct stream *s, uint32_t seq, uint8_t tcp_flags,
                              const uint8_t *data, size_t len, uint32_t bound, int may_rebase,
                              const uint8_t **view)
{
	enum stream_result res = STREAM_NOTHING;
	uint32_t before = s->contig;
	int32_t rel;

	if (tcp_flags & TC_TCP_SYN) {
		/* The SYN takes one sequence number; data on a SYN (TCP Fast Open) follows it. */
		if (!s->has_base || (!s->from_syn && may_rebase && s->contig == 0)) {
			s->isn = seq + 1;
			s->has_base = s->from_syn = 1;
		}
		seq++;
	}
	if (tcp_flags & TC_TCP_RST)
		s->rst = 1;
	if (!s->has_base) {
		if (!len)
			return STREAM_NOTHING;
		s->isn = seq;
		s->has_base = 1;
	}
	rel = (int32_t)(seq - s->isn);
	/* Nothing placed yet and the data lies outside the window of the base we have: that base
	 * came from a SYN(-ACK) the connection did not go on with (servers that answer one SYN
	 * twice with different sequence numbers, seen in nDPI's and suricata's captures). The
	 * data is the better witness. */
	if (len && s->contig == 0 && s->n_ranges == 0 && (rel < 0 || (uint32_t)rel >= bound)) {
		s->isn = seq;
		s->from_syn = 0;
		rel = 0;
	}
	if (rel < 0 && len && !s->from_syn && may_rebase && !s->unkept && (uint32_t)-rel < bound &&
	    rel + (int64_t)len > 0 - (int64_t)bound) {
		if (rebase(s, (uint32_t)-rel, bound)) {
			res = STREAM_REBASED;
			rel = 0;
		}
	}
	if (tcp_flags & TC_TCP_FIN && !s->fin && rel + (int64_t)len >= 0) {
		s->fin = 1;
		s->fin_off = (uint32_t)(rel + (int64_t)len);
	}
	/* Trim what lies before offset 0 (retransmissions of the SYN's data, bytes before a
	 * base we could not move) and beyond the bound. */
	if (rel < 0) {
		if ((int64_t)len <= -(int64_t)rel)
			return res;
		data += -rel;
		len -= (size_t)-rel;
		rel = 0;
	}
	uint32_t start = (uint32_t)rel;
	if (start >= bound) {
		if (len)
			s->over = 1;
		return res;
	}
	if (len > bound - start) {
		len = bound - start;
		s->over = 1;
	}
	/* Bytes the reader consumed came in order before: nothing to place or move. */
	if (start < s->base) {
		size_t skip = s->base - start < len ? s->base - start : len;

		data += skip;
		len -= skip;
		start = s->base;
	}
	if (!len)
		return res;
	if (!s->unkept && !grow(s, start + (uint32_t)len - s->base, bound)) {
		s->dropped++;
		return res;
	}
	/* A forgotten direction (the reader is done with it) only moves its offsets. */
	if (!s->unkept)
		place(s, start, data, len, view);
	if (!add_range(s, start, start + (uint32_t)len))
		s->dropped++;
	if (res == STREAM_REBASED)
		return res;
	return s->contig > before ? STREAM_GREW : STREAM_NOTHING;
}

enum stream_result stream_add(struct stream *s, uint32_t seq, uint8_t tcp_flags,
                              const uint8_t *data, size_t len, uint32_t bound, int may_rebase)
{
	return add(s, seq, tcp_flags, data, len, bound, may_rebase, NULL);
}

enum stream_result stream_add_view(struct stream *s, uint32_t seq, uint8_t tcp_flags,
                                   const uint8_t *data, size_t len, uint32_t bound,
                                   int may_rebase, const uint8_t **view)
{
	*view = NULL;
	return add(s, seq, tcp_flags, data, len, bound, may_rebase, view);
}

void stream_keep(struct stream *s, const uint8_t *view)
{
	if (!view || !s->unkept)
		return;
	/* view[0] is offset view_at, where base was when the view was taken */
	memcpy(s->buf, view + (s->base - s->view_at), s->contig - s->base);
	s->unkept = 0;
}

void stream_consume(struct stream *s, uint32_t upto)
{
	if (upto <= s->base || upto > s->contig)
		return;
	if (!s->unkept) {
		uint32_t top = s->n_ranges ? s->ranges[s->n_ranges - 1].end : s->contig;

		memmove(s->buf, s->buf + (upto - s->base), top - upto);
	}
	s->base = upto;
}

void stream_forget(struct stream *s)
{
	s->unkept = 1;
}

int stream_ended(const struct stream *s, uint32_t bound)
{
	return s->rst || (s->fin && s->contig >= s->fin_off) || s->contig >= bound;
}

void stream_release(struct stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
	s->n_ranges = 0;
	s->unkept = 0;
}
