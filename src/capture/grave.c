/*
 * grave.c: recently released TCP connections (see grave.h). A ring of graves in burial
 * order, indexed by a chained hash on the folded 5-tuple (the flow table's hash of it); the
 * ring grows by doubling up to its bound, and beyond it the oldest grave is forgotten first.
 *
 * Graves are numbered in burial order (a 32-bit serial; the ring slot is its low bits), and a
 * chain is walked by number: a link is the number and the hash of the next grave in the chain,
 * newest first. A grave whose slot a later burial took is forgotten without being unchained:
 * it is older than every grave the ring holds, and so is everything after it in its chain, so
 * a walk stops at the first number that is not among the last cap burials. A burial thus costs
 * its bucket and the next slots of the ring (their loads started one burial ahead), and a
 * packet whose hash is not in its bucket's chain costs the bucket's 8 bytes alone. The buckets
 * are twice the ring's slots, so most chains are empty or one grave long.
 *
 * perf put the graves, walked through the graves themselves, at 8 % of a bench-1G read's
 * packet thread, and with chains of indices unchained at each burial at 13 % of bench-flows'
 * (a miss for the bucket, one for each link, one for the ring slot a burial reuses and one or
 * more for the chain of the grave it forgets).
 */
#include <stdlib.h>
#include <string.h>

#include "grave.h"
#include "util.h"

/* How far outside what the connection sent a late copy may still lie: a segment the capture
 * missed, then its retransmission. A reused port's new ISN is far from the old one (RFC 6528
 * clocks move it 250,000 per second at least), and Linux accepts a SYN in TIME_WAIT only past
 * the old connection's last byte. */
#define LATE_SLACK       (1u << 20)
#define SYN_SLACK        (1u << 16)
#define LATE_BEFORE_USEC 1000
#define GRAVE_FIRST      1024 /* ring slots to start with */

struct grave {
	uint64_t ts; /* capture time of burial; 0: empty, or forgotten */
	uint32_t hash; /* the flow table's hash of the key */
	uint8_t seq_known;
	struct flow_key key;
	struct flow_seq seq[2];
};

/* A grave in a chain: its burial number, and its hash. A zeroed ref is none: numbering
 * starts at 2 * cap, so 0 is not among the last cap burials (until the numbers wrap, when a
 * walk may read slot 0's grave and compare its key for nothing). */
struct ref {
	uint32_t serial;
	uint32_t hash;
};

/*
 * Which hashes were buried lately: two bitmaps of SEEN_BITS bits, by the hash's top bits. A
 * burial sets its bit in the current one; after cap burials (the ring's size at that moment)
 * the older one is cleared and becomes the current one. A grave still in the ring was buried
 * within the last cap burials, so its bit is set in one of the two: a hash whose bit is clear
 * in both has no grave, and graves_hit says so from 512 KiB that stay in the cache, where the
 * chains' buckets and links cost a miss or two (a SYN asks the graves first: 7 % of a
 * bench-flows read, all of it for nothing there). With GRAVE_MAX graves buried and as many
 * before, one hash in eight passes the filter for nothing.
 */
#define SEEN_BITS 21
#define SEEN_WORDS (((size_t)1 << SEEN_BITS) / 64)

struct graves {
	struct grave *ring;  /* slot: serial & mask */
	struct ref *next_of; /* per ring slot: the grave after it in its chain */
	struct ref *heads;   /* hash buckets (2 * cap): each chain's newest grave */
	uint32_t cap, max, mask, bucket_mask;
	uint32_t serial; /* the next burial's number; the ring holds serial - cap .. serial - 1 */
	uint64_t keep;
	/* The two maps word by word, side by side (a hash's two words in one cache line: one
	 * miss where there were two): map m's word w is seen[2 * w + m]; map cur takes the
	 * burials. */
	uint64_t *seen;
	uint32_t cur, since;   /* burials into seen[cur] since it was cleared */
};

static uint32_t seen_bit(uint32_t hash)
{
	return hash >> (32 - SEEN_BITS);
}

static int seen(const struct graves *g, uint32_t hash)
{
	uint32_t b = seen_bit(hash);
	uint64_t m = 1ull << (b & 63);

	const uint64_t *w = &g->seen[2 * (b >> 6)];

	return ((w[0] | w[1]) & m) != 0;
}

/* Whether burial number n is still in the ring. Numbers wrap at 2^32: a link older than that
 * would need its bucket untouched for 2^32 burials, and would still have to match the packet's
 * whole key. */
static int in_ring(const struct graves *g, uint32_t n)
{
	return g->serial - n - 1 < g->cap;
}

/* Empty arrays for cap graves in g, numbering from the start (the old arrays, if any, are the
 * caller's to free). 0, g unchanged, when memory is short. */
static int alloc(struct graves *g, uint32_t cap)
{
	struct grave *ring = tc_zalloc(cap, sizeof *ring);
	struct ref *next_of = tc_zalloc(cap, sizeof *next_of);
	struct ref *heads = tc_zalloc((size_t)cap * 2, sizeof *heads);

	if (!ring || !next_of || !heads) {
		free(ring);
		free(next_of);
		free(heads);
		return 0;
	}
	g->ring = ring;
	g->next_of = next_of;
	g->heads = heads;
	g->cap = cap;
	g->mask = cap - 1;
	g->bucket_mask = cap * 2 - 1;
	g->serial = cap * 2; /* see struct ref */
	return 1;
}

struct graves *graves_new(uint32_t max, uint64_t keep_usec)
{
	struct graves *g = calloc(1, sizeof *g);
	uint32_t cap = GRAVE_FIRST;

	if (!g)
		return NULL;
	while (cap < max && cap < GRAVE_MAX)
		cap *= 2;
	g->max = cap;
	g->keep = keep_usec;
	g->seen = tc_zalloc(2 * SEEN_WORDS, sizeof *g->seen);
	if (!g->seen || !alloc(g, GRAVE_FIRST < cap ? GRAVE_FIRST : cap)) {
		free(g->seen);
		free(g);
		return NULL;
	}
	return g;
}

void graves_free(struct graves *g)
{
	if (!g)
		return;
	free(g->seen);
	free(g->ring);
	free(g->next_of);
	free(g->heads);
	free(g);
}

/* Takes the next burial number's slot for gr (a copy): the slot's old grave is forgotten. */
static void bury(struct graves *g, const struct grave *gr)
{
	uint32_t n = g->serial++, i = n & g->mask;
	struct ref *b = &g->heads[gr->hash & g->bucket_mask];

	g->ring[i] = *gr;
	g->next_of[i] = *b;
	*b = (struct ref){n, gr->hash};
	if (g->since >= g->cap) { /* the other map's burials are all out of the ring by now */
		g->cur ^= 1;
		for (size_t w = g->cur; w < 2 * SEEN_WORDS; w += 2)
			g->seen[w] = 0;
		g->since = 0;
	}
	uint32_t bit = seen_bit(gr->hash);
	g->seen[2 * (bit >> 6) + g->cur] |= 1ull << (bit & 63);
	g->since++;
}

/* The ring is full of graves still kept: double it (re-burying the live ones, oldest first)
 * while the bound allows. */
static void grow(struct graves *g, uint64_t now)
{
	struct graves old = *g;

	if (g->cap >= g->max || !alloc(g, old.cap * 2))
		return; /* alloc changes nothing when it fails */
	for (uint32_t n = old.serial - old.cap; n != old.serial; n++) {
		const struct grave *gr = &old.ring[n & old.mask];
		if (gr->ts && gr->ts + g->keep >= now)
			bury(g, gr);
	}
	free(old.ring);
	free(old.next_of);
	free(old.heads);
}

void graves_add(struct graves *g, const struct flow *f, uint64_t now)
{
	const struct grave *oldest = &g->ring[g->serial & g->mask];
	struct grave gr;

	if (oldest->ts && oldest->ts + g->keep >= now)
		grow(g, now);
	memset(&gr, 0, sizeof gr);
	gr.key = f->key;
	memcpy(gr.seq, f->seq, sizeof gr.seq);
	gr.seq_known = f->seq_known;
	gr.ts = now ? now : 1;
	gr.hash = f->hash;
	bury(g, &gr);

	/* The slot the burial after next takes, and its link (in by then). */
	uint32_t ahead = (g->serial + 1) & g->mask;
	__builtin_prefetch(&g->ring[ahead]);
	__builtin_prefetch((const char *)&g->ring[ahead] + sizeof(struct grave) - 1);
	__builtin_prefetch(&g->next_of[ahead]);
}

void graves_prefetch(const struct graves *g, uint32_t hash)
{
	uint32_t b = seen_bit(hash);

	__builtin_prefetch(&g->heads[hash & g->bucket_mask]);
	__builtin_prefetch(&g->seen[2 * (b >> 6)]);
}

/* Whether seq lies in [lo - below, hi + above] modulo 2^32. */
static int near(const struct flow_seq *q, uint32_t seq, uint32_t below, uint32_t above)
{
	return (int32_t)(seq - q->lo) >= -(int64_t)below &&
	       (int32_t)(seq - q->hi) <= (int64_t)above;
}

int graves_hit(struct graves *g, const struct flow_probe *pr, const struct tc_packet *pkt,
               uint64_t now)
{
	int dir = pr->dir;
	struct grave *gr = NULL;

	if (!seen(g, pr->hash))
		return 0;
	for (struct ref r = g->heads[pr->hash & g->bucket_mask]; in_ring(g, r.serial);) {
		struct grave *x = &g->ring[r.serial & g->mask];
		if (r.hash == pr->hash && x->ts && flow_key_eq(&x->key, &pr->key)) {
			gr = x;
			break;
		}
		struct ref next = g->next_of[r.serial & g->mask];
		if (next.serial - r.serial < g->cap) /* not older: a link from before a wrap */
			break;
		r = next;
	}
	if (!gr)
		return 0;
	if (gr->ts + g->keep < now) {
		gr->ts = 0;
		return 0;
	}
	/* A copy comes after the connection's last packet. One stamped before it is not a late
	 * copy but another capture of the same moment (a second file read in the same run, a
	 * tunnel's view of the same traffic): a connection of its own, as it always was. The
	 * millisecond allows for timestamps a multi-queue capture interleaves. */
	if (now + LATE_BEFORE_USEC < gr->ts)
		return 0;
	int known = gr->seq_known & (1u << dir);
	if (pkt->tcp_flags & TC_TCP_SYN) {
		/* A copy of the old SYN (or SYN-ACK), or a new connection on the same ports. */
		if (known && near(&gr->seq[dir], pkt->seq, SYN_SLACK, 0))
			return 1;
		gr->ts = 0; /* forgotten where it lies: walks pass over it */
		return 0;
	}
	if (known)
		return near(&gr->seq[dir], pkt->seq, LATE_SLACK, LATE_SLACK);
	/* That side sent nothing we saw: judge by what it acknowledges of the other's bytes. */
	if ((pkt->tcp_flags & TC_TCP_ACK) && (gr->seq_known & (1u << (dir ^ 1))))
		return near(&gr->seq[dir ^ 1], pkt->ack, LATE_SLACK, LATE_SLACK);
	return 1;
}

uint32_t graves_count(const struct graves *g)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < g->cap; i++)
		n += g->ring[i].ts != 0;
	return n;
}

uint32_t graves_capacity(const struct graves *g)
{
	return g->cap;
}
