/*
 * grave.c: recently released TCP connections (see grave.h), in a set-associative table: a
 * grave's hash (the flow table's hash of its folded 5-tuple) picks a set of GRAVE_WAYS graves,
 * whose tags (the hashes) share one cache line apart from the graves themselves. Finding a
 * grave, or finding there is none, costs that line; a burial, that line and the grave written,
 * sixteen burials at a time (below).
 * The ring with hash chains this replaces took three to five cache misses a burial and two a
 * search: perf put the two functions at 13 % of a bench-flows read's packet thread.
 *
 * A set full of graves still kept doubles the table while its bound allows; past it, a burial
 * forgets the oldest grave of its set (each set is first in, first out), so the table forgets
 * roughly in burial order, as the ring did.
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

#define GRAVE_WAYS  4
#define GRAVE_FIRST 1024 /* graves the table starts with */

struct grave {
	struct flow_key key;
	struct flow_seq seq[2];
	uint64_t ts; /* capture time of burial */
	uint8_t seq_known;
};

/* A set's tags: two sets to a cache line. */
struct grave_set {
	uint32_t tag[GRAVE_WAYS]; /* the hash of the grave in each way */
	uint8_t live;             /* bit w: way w holds a grave */
	uint8_t next;             /* the way the next burial takes when all are live */
	uint8_t pad[32 - 4 * GRAVE_WAYS - 2];
};

_Static_assert(sizeof(struct grave_set) == 32, "two sets to a cache line");

/* Burials wait in a small queue and go into the table GRAVE_BATCH at a time, their sets and
 * graves prefetched first: one cache miss's wait for the batch instead of two per burial
 * (perf: graves_add was 5.5 % of a bench-1G read's packet thread, nearly all of it those
 * two misses). A search looks in the queue first, newest first. */
#define GRAVE_BATCH 16
_Static_assert(GRAVE_BATCH <= 32, "queue_dead has a bit for each queued burial");

struct graves {
	struct grave_set *sets;
	struct grave *graves; /* GRAVE_WAYS per set */
	uint32_t nsets, mask, max_sets;
	uint64_t keep;
	struct grave queue[GRAVE_BATCH];
	uint32_t queue_hash[GRAVE_BATCH];
	uint32_t queue_dead; /* bit i: queue[i] was forgotten before it went in */
	unsigned nqueue;
};

static int alloc(struct graves *g, uint32_t nsets)
{
	struct grave_set *sets = NULL;
	struct grave *graves = malloc((size_t)nsets * GRAVE_WAYS * sizeof *graves);

	if (!graves || posix_memalign((void **)&sets, 64, (size_t)nsets * sizeof *sets) != 0) {
		free(graves);
		return 0;
	}
	memset(sets, 0, (size_t)nsets * sizeof *sets);
	g->sets = sets;
	g->graves = graves;
	g->nsets = nsets;
	g->mask = nsets - 1;
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
	g->max_sets = cap / GRAVE_WAYS;
	g->keep = keep_usec;
	if (!alloc(g, (GRAVE_FIRST < cap ? GRAVE_FIRST : cap) / GRAVE_WAYS)) {
		free(g);
		return NULL;
	}
	return g;
}

void graves_free(struct graves *g)
{
	if (!g)
		return;
	free(g->sets);
	free(g->graves);
	free(g);
}

/* Twice the sets. A set's graves go to the two sets that split it, so none is lost. */
static void grow(struct graves *g)
{
	struct graves old = *g;

	if (g->nsets >= g->max_sets || !alloc(g, old.nsets * 2)) {
		*g = old;
		return;
	}
	for (uint32_t s = 0; s < old.nsets; s++)
		for (unsigned w = 0; w < GRAVE_WAYS; w++) {
			if (!(old.sets[s].live & (1u << w)))
				continue;
			uint32_t hash = old.sets[s].tag[w];
			struct grave_set *n = &g->sets[hash & g->mask];
			unsigned to = (unsigned)__builtin_ctz(~n->live & 0xffu);
			n->tag[to] = hash;
			n->live |= (uint8_t)(1u << to);
			n->next = (uint8_t)((to + 1) % GRAVE_WAYS);
			g->graves[(size_t)(hash & g->mask) * GRAVE_WAYS + to] =
			    old.graves[(size_t)s * GRAVE_WAYS + w];
		}
	free(old.sets);
	free(old.graves);
}

/* The way a grave of this hash goes to in set s: its 5-tuple's old grave, else a free way,
 * else the oldest. */
static unsigned way_for(const struct graves *g, const struct grave_set *s, uint32_t hash,
                        const struct flow_key *key)
{
	for (unsigned v = 0; v < GRAVE_WAYS; v++)
		if ((s->live & (1u << v)) && s->tag[v] == hash &&
		    flow_key_eq(&g->graves[(size_t)(hash & g->mask) * GRAVE_WAYS + v].key, key))
			return v;
	return s->live == (1u << GRAVE_WAYS) - 1 ? s->next
	                                         : (unsigned)__builtin_ctz(~s->live & 0xffu);
}

static void put(struct graves *g, const struct grave *gr, uint32_t hash)
{
	struct grave_set *s = &g->sets[hash & g->mask];

	if (s->live == (1u << GRAVE_WAYS) - 1 && g->nsets < g->max_sets) {
		const struct grave *old = &g->graves[(size_t)(hash & g->mask) * GRAVE_WAYS + s->next];
		if (old->ts + g->keep >= gr->ts) {
			grow(g);
			s = &g->sets[hash & g->mask];
		}
	}
	unsigned w = way_for(g, s, hash, &gr->key);
	g->graves[(size_t)(hash & g->mask) * GRAVE_WAYS + w] = *gr;
	s->tag[w] = hash;
	s->live |= (uint8_t)(1u << w);
	s->next = (uint8_t)((w + 1) % GRAVE_WAYS);
}

/* The queue into the table: the sets loaded, then the graves about to be written, then the
 * writes, in burial order. */
static void flush(struct graves *g)
{
	for (unsigned i = 0; i < g->nqueue; i++)
		__builtin_prefetch(&g->sets[g->queue_hash[i] & g->mask], 1);
	for (unsigned i = 0; i < g->nqueue; i++) {
		uint32_t h = g->queue_hash[i];
		const struct grave_set *s = &g->sets[h & g->mask];
		unsigned w = s->live == (1u << GRAVE_WAYS) - 1
		                 ? s->next
		                 : (unsigned)__builtin_ctz(~s->live & 0xffu);
		__builtin_prefetch(&g->graves[(size_t)(h & g->mask) * GRAVE_WAYS + w], 1);
	}
	for (unsigned i = 0; i < g->nqueue; i++)
		if (!(g->queue_dead & (1u << i)))
			put(g, &g->queue[i], g->queue_hash[i]);
	g->nqueue = 0;
	g->queue_dead = 0;
}

void graves_add(struct graves *g, const struct flow *f, uint64_t now)
{
	struct grave *gr = &g->queue[g->nqueue];

	gr->key = f->key;
	memcpy(gr->seq, f->seq, sizeof gr->seq);
	gr->seq_known = f->seq_known;
	gr->ts = now;
	g->queue_hash[g->nqueue++] = f->hash;
	if (g->nqueue == GRAVE_BATCH)
		flush(g);
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
	struct grave_set *s = &g->sets[pr->hash & g->mask];
	struct grave *gr = NULL;
	int dir = pr->dir;
	unsigned w = 0, q = g->nqueue;

	while (q-- > 0)
		if (g->queue_hash[q] == pr->hash && !(g->queue_dead & (1u << q)) &&
		    flow_key_eq(&g->queue[q].key, &pr->key)) {
			gr = &g->queue[q];
			break;
		}
	if (!gr) {
		for (w = 0; w < GRAVE_WAYS; w++)
			if ((s->live & (1u << w)) && s->tag[w] == pr->hash) {
				gr = &g->graves[(size_t)(pr->hash & g->mask) * GRAVE_WAYS + w];
				if (flow_key_eq(&gr->key, &pr->key))
					break;
			}
		if (w == GRAVE_WAYS)
			return 0;
	}
	/* Forgetting it: out of the queue, or out of its set. */
#define FORGET()                                                                                   \
	do {                                                                                       \
		if (q < GRAVE_BATCH)                                                               \
			g->queue_dead |= 1u << q;                                                  \
		else                                                                               \
			s->live &= (uint8_t) ~(1u << w);                                           \
	} while (0)
	if (gr->ts + g->keep < now) {
		FORGET();
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
		FORGET();
		return 0;
	}
	if (known)
		return near(&gr->seq[dir], pkt->seq, LATE_SLACK, LATE_SLACK);
	/* That side sent nothing we saw: judge by what it acknowledges of the other's bytes. */
	if ((pkt->tcp_flags & TC_TCP_ACK) && (gr->seq_known & (1u << (dir ^ 1))))
		return near(&gr->seq[dir ^ 1], pkt->ack, LATE_SLACK, LATE_SLACK);
	return 1;
}

#undef FORGET

uint32_t graves_count(struct graves *g)
{
	uint32_t n = 0;

	flush(g);
	for (uint32_t s = 0; s < g->nsets; s++)
		n += (uint32_t)__builtin_popcount(g->sets[s].live);
	return n;
}

uint32_t graves_capacity(const struct graves *g)
{
	return g->nsets * GRAVE_WAYS;
}
