/*
 * grave.c: recently released TCP connections (see grave.h). A ring of graves in burial
 * order, indexed by a chained hash on the folded 5-tuple; the ring grows by doubling up to
 * its bound, and beyond it the oldest grave is forgotten first.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "grave.h"

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
	uint64_t ts;    /* capture time of burial; 0: empty slot */
	uint32_t hnext; /* hash chain, ring index or NIL */
	uint8_t seq_known;
};

struct graves {
	struct grave *ring;
	uint32_t *heads; /* hash buckets, ring indices */
	uint32_t cap, max, next, mask;
	uint64_t keep, seed;
};

static int alloc(struct graves *g, uint32_t cap)
{
	struct grave *ring = calloc(cap, sizeof *ring);
	uint32_t *heads = malloc((size_t)cap * sizeof *heads);

	if (!ring || !heads) {
		free(ring);
		free(heads);
		return 0;
	}
	memset(heads, 0xff, (size_t)cap * sizeof *heads);
	free(g->ring);
	free(g->heads);
	g->ring = ring;
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
	if (getrandom(&g->seed, sizeof g->seed, GRND_NONBLOCK) != sizeof g->seed)
		g->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
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
	free(g->heads);
	free(g);
}

static uint32_t *bucket(struct graves *g, const struct flow_key *k)
{
	return &g->heads[flow_key_hash(g->seed, k) & g->mask];
}

static void unchain(struct graves *g, uint32_t i)
{
	uint32_t *pp = bucket(g, &g->ring[i].key);

	while (*pp != NIL && *pp != i)
		pp = &g->ring[*pp].hnext;
	if (*pp == i)
		*pp = g->ring[i].hnext;
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
	g->heads = NULL;
	if (!alloc(g, old.cap * 2)) {
		g->ring = old.ring;
		g->heads = old.heads;
		return;
	}
	for (uint32_t n = 0; n < old.cap; n++) {
		const struct grave *o = &old.ring[(old.next + n) & old.mask];
		if (!o->ts || o->ts + g->keep < now)
			continue;
		uint32_t i = g->next++;
		g->ring[i] = *o;
		uint32_t *b = bucket(g, &o->key);
		g->ring[i].hnext = *b;
		*b = i;
	}
	free(old.ring);
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
	uint32_t *b = bucket(g, &f->key);
	gr->hnext = *b;
	*b = i;
	g->next = (g->next + 1) & g->mask;
}

/* Whether seq lies in [lo - below, hi + above] modulo 2^32. */
static int near(const struct flow_seq *q, uint32_t seq, uint32_t below, uint32_t above)
{
	return (int32_t)(seq - q->lo) >= -(int64_t)below &&
	       (int32_t)(seq - q->hi) <= (int64_t)above;
}

int graves_hit(struct graves *g, const struct tc_packet *pkt, uint64_t now)
{
	struct flow_key k;
	int dir = flow_key_make(pkt, &k);
	uint32_t i;

	for (i = *bucket(g, &k); i != NIL; i = g->ring[i].hnext)
		if (flow_key_eq(&g->ring[i].key, &k))
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
