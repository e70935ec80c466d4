/*
 * grave.c: recently released TCP connections (see grave.h). A ring of graves in burial
 * order, indexed by a chained hash on the folded 5-tuple (the flow table's hash of it); the
 * ring grows by doubling up to its bound, and beyond it the oldest grave is forgotten first.
 * The chains and the hashes live apart from the graves, 8 bytes each: a chain is walked, and a
 * grave unchained, without touching the 80-byte graves (perf: the graves, walked through the
 * graves themselves at a cache miss a step, were 8 % of a bench-1G read's packet thread).
 */
#include <stdlib.h>
#include <string.h>

#include "grave.h"
#include "util.h"

#define NIL UINT32_MAX

/* How far outside what the connection sent a late copy may still lie: a segment the capture
 * missed, then its retransmission. A reused port's new ISN is far from the old one (RFC 6528
 * clocks move it 250,000 per second at least), and Linux accepts a SYN in TIME_WAIT only past
 * the old connection's last byte. */
#define LATE_SLACK       (1u << 20)
#define SYN_SLACK        (1u << 16)
#define LATE_BEFORE_USEC 1000

struct grave {
	struct flow_key key;
	struct flow_seq seq[2];
	uint64_t ts; /* capture time of burial; 0: empty slot */
	uint8_t seq_known;
};

struct grave_link {
	uint32_t next; /* hash chain, ring index or NIL */
	uint32_t hash; /* the flow table's hash of the grave's key */
};

struct graves {
	struct grave *ring;
	struct grave_link *links; /* one per ring slot */
	uint32_t *heads;          /* hash buckets, ring indices */
	uint32_t cap, max, next, mask;
	uint64_t keep;
};

static int alloc(struct graves *g, uint32_t cap)
{
	struct grave *ring = tc_zalloc(cap, sizeof *ring);
	struct grave_link *links = malloc((size_t)cap * sizeof *links);
	uint32_t *heads = malloc((size_t)cap * sizeof *heads);

	if (!ring || !links || !heads) {
		free(ring);
		free(links);
		free(heads);
		return 0;
	}
	memset(heads, 0xff, (size_t)cap * sizeof *heads);
	free(g->ring);
	free(g->links);
	free(g->heads);
	g->ring = ring;
	g->links = links;
	g->heads = heads;
	g->cap = cap;
	g->mask = cap - 1;
	g->next = 0;
	return 1;
}

struct graves *graves_new(uint32_t max, uint64_t keep_usec)
{
	struct graves *g = calloc(1, sizeof *g);
	uint32_t cap = 1024;

	if (!g)
		return NULL;
	while (cap < max && cap < GRAVE_MAX)
		cap *= 2;
	g->max = cap;
	g->keep = keep_usec;
	if (!alloc(g, 1024 < cap ? 1024 : cap)) {
		free(g);
		return NULL;
	}
	return g;
}

void graves_free(struct graves *g)
{
	if (!g)
		return;
	free(g->ring);
	free(g->links);
	free(g->heads);
	free(g);
}

static void chain(struct graves *g, uint32_t i, uint32_t hash)
{
	uint32_t *b = &g->heads[hash & g->mask];

	g->links[i] = (struct grave_link){*b, hash};
	*b = i;
}

static void unchain(struct graves *g, uint32_t i)
{
	uint32_t *pp = &g->heads[g->links[i].hash & g->mask];

	while (*pp != NIL && *pp != i)
		pp = &g->links[*pp].next;
	if (*pp == i)
		*pp = g->links[i].next;
	g->ring[i].ts = 0;
}

/* The ring is full of graves still kept: double it (rehashing the live ones) while the bound
 * allows. */
static void grow(struct graves *g, uint64_t now)
{
	struct graves old = *g;

	if (g->cap >= g->max)
		return;
	g->ring = NULL;
	g->links = NULL;
	g->heads = NULL;
	if (!alloc(g, old.cap * 2)) {
		g->ring = old.ring;
		g->links = old.links;
		g->heads = old.heads;
		return;
	}
	for (uint32_t n = 0; n < old.cap; n++) {
		uint32_t o = (old.next + n) & old.mask;
		if (!old.ring[o].ts || old.ring[o].ts + g->keep < now)
			continue;
		uint32_t i = g->next++;
		g->ring[i] = old.ring[o];
		chain(g, i, old.links[o].hash);
	}
	free(old.ring);
	free(old.links);
	free(old.heads);
}

void graves_add(struct graves *g, const struct flow *f, uint64_t now)
{
	uint32_t i = g->next & g->mask;

	if (g->ring[i].ts && g->ring[i].ts + g->keep >= now) {
		grow(g, now);
		i = g->next & g->mask;
	}
	if (g->ring[i].ts)
		unchain(g, i);
	struct grave *gr = &g->ring[i];
	gr->key = f->key;
	memcpy(gr->seq, f->seq, sizeof gr->seq);
	gr->seq_known = f->seq_known;
	gr->ts = now ? now : 1;
	chain(g, i, f->hash);
	g->next = (g->next + 1) & g->mask;
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
	uint32_t i;

	for (i = g->heads[pr->hash & g->mask]; i != NIL; i = g->links[i].next)
		if (g->links[i].hash == pr->hash && flow_key_eq(&g->ring[i].key, &pr->key))
			break;
	if (i == NIL)
		return 0;
	struct grave *gr = &g->ring[i];
	if (gr->ts + g->keep < now) {
		unchain(g, i);
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
		unchain(g, i);
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
