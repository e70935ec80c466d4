/*
 * flow.c: the flow table: a chained hash on the folded 5-tuple plus an LRU list.
 * The hash is keyed with a per-process random seed so crafted traffic cannot aim for one
 * chain. The bucket array grows with the flows held (a small table stays in cache) up to the
 * size max_flows needs; nothing here grows without bound.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "util.h"

struct flow_table {
	struct flow **buckets;
	uint32_t mask;
	uint32_t count, max;
	uint64_t seed;
	struct flow *oldest, *youngest;
	/* Freed flows kept for the next ones (chained on hnext): a flow is born and freed per
	 * connection, and malloc and free were 12 % of a bench-1G read's packet thread. */
	struct flow *spare;
	uint32_t nspare;
};

#define FLOW_SPARE 1024

/* Three multiplications, the first two side by side, where the finaliser chain had ten in a
 * row (perf: 3 % of a bench-1G read in this function). Every operand is keyed by the seed,
 * so no key bytes can be picked to zero a product without knowing it. */
uint64_t flow_key_hash(uint64_t seed, const struct flow_key *k)
{
	uint64_t a0, a1, b0, b1;
	uint64_t s1 = seed * 0x9e3779b97f4a7c15ULL, s2 = seed * 0xc2b2ae3d27d4eb4fULL;
	uint64_t s3 = seed * 0x165667b19e3779f9ULL, s4 = seed * 0x27d4eb2f165667c5ULL;

	memcpy(&a0, k->a.b, 8);
	memcpy(&a1, k->a.b + 8, 8);
	memcpy(&b0, k->b.b, 8);
	memcpy(&b1, k->b.b + 8, 8);
	uint64_t ports = (uint64_t)k->pa << 48 | (uint64_t)k->pb << 32 | k->proto;
	uint64_t h = tc_mum(a0 ^ ports ^ seed, a1 ^ s1) ^ tc_mum(b0 ^ s2, b1 ^ s3);
	return tc_mum(h ^ s4, (h >> 29) ^ s1);
}

static uint64_t hash_key(const struct flow_table *t, const struct flow_key *k)
{
	return flow_key_hash(t->seed, k);
}

/* memcmp's order on the 16 address bytes, as two big-endian words (no call per packet). */
static int addr_cmp(const struct tc_addr *x, const struct tc_addr *y)
{
	uint64_t a[2], b[2];

	memcpy(a, x->b, 16);
	memcpy(b, y->b, 16);
	for (int i = 0; i < 2; i++)
		if (a[i] != b[i])
			return be64toh(a[i]) < be64toh(b[i]) ? -1 : 1;
	return 0;
}

/* Folds the packet's endpoints so both directions give the same key; returns the direction. */
int flow_key_make(const struct tc_packet *pkt, struct flow_key *k)
{
	int c = addr_cmp(&pkt->src, &pkt->dst);
	int swap = c > 0 || (c == 0 && pkt->sport > pkt->dport);

	memset(k, 0, sizeof(*k));
	k->a = swap ? pkt->dst : pkt->src;
	k->b = swap ? pkt->src : pkt->dst;
	k->pa = swap ? pkt->dport : pkt->sport;
	k->pb = swap ? pkt->sport : pkt->dport;
	k->proto = pkt->proto;
	return swap;
}

struct flow_table *flow_table_new(uint32_t max_flows)
{
	struct flow_table *t = calloc(1, sizeof(*t));
	uint32_t n = 1024;

	if (!t)
		return NULL;
	t->buckets = tc_zalloc(n, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	t->max = max_flows;
	t->seed = tc_random_seed();
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	while (t->spare) {
		struct flow *f = t->spare;
		t->spare = f->hnext;
		free(f);
	}
	free(t->buckets);
	free(t);
}

void flow_probe_make(const struct flow_table *t, const struct tc_packet *pkt, struct flow_probe *pr)
{
	pr->dir = flow_key_make(pkt, &pr->key);
	pr->hash = (uint32_t)hash_key(t, &pr->key);
}

struct flow *flow_lookup(struct flow_table *t, const struct flow_probe *pr)
{
	struct flow *f;

	for (f = t->buckets[pr->hash & t->mask]; f; f = f->hnext)
		if (f->hash == pr->hash && flow_key_eq(&f->key, &pr->key)) {
			/* The lines past the key, which the packet's accounting reads and writes next,
			 * all asked for at once rather than each missed in turn. */
			__builtin_prefetch((const char *)f + 64, 1);
			__builtin_prefetch((const char *)f + 128, 1);
			__builtin_prefetch((const char *)f + sizeof *f - 1, 1);
			/* and the opening's that a packet reads: its labeler's pointer, the
			 * streams and the parse state (flow.h) */
			if (f->op)
				flow_open_prefetch(f->op, pr->dir);
			return f;
		}
	return NULL;
}

struct flow *flow_find(struct flow_table *t, const struct tc_packet *pkt, int *dir)
{
	struct flow_probe pr;

	flow_probe_make(t, pkt, &pr);
	*dir = pr.dir;
	return flow_lookup(t, &pr);
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		t->oldest = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		t->youngest = f->prev;
	f->prev = f->next = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f)
{
	f->prev = t->youngest;
	f->next = NULL;
	if (t->youngest)
		t->youngest->next = f;
	else
		t->oldest = f;
	t->youngest = f;
}

/* Doubles the bucket array once the table holds more flows than half its buckets (load factor
 * 1/2, 16 bytes of buckets per flow: a step along a chain is a cache miss, 22 % of a lookup's
 * samples at load factor 1). When memory is short the table keeps working with longer chains. */
static void grow(struct flow_table *t)
{
	uint32_t n = (t->mask + 1) * 2;
	struct flow **nb;

	if (2 * t->count < t->mask + 1 || n > (1u << 30)) /* 2^30: the hash kept is 32 bits */
		return;
	nb = tc_zalloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct flow *f = t->buckets[i], *next;
		for (; f; f = next) {
			next = f->hnext;
			uint64_t b = f->hash & (n - 1);
			f->hnext = nb[b];
			nb[b] = f;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = n - 1;
}

struct flow *flow_insert(struct flow_table *t, const struct flow_probe *pr)
{
	struct flow *f = t->spare;
	uint64_t b;

	if (f) {
		t->spare = f->hnext;
		t->nspare--;
		memset(f, 0, sizeof *f);
	} else if (!(f = calloc(1, sizeof(*f)))) {
		return NULL;
	}
	grow(t);
	f->key = pr->key;
	f->client_dir = -1;
	f->hash = pr->hash;
	b = f->hash & t->mask;
	f->hnext = t->buckets[b];
	t->buckets[b] = f;
	lru_append(t, f);
	t->count++;
	return f;
}

struct flow *flow_add(struct flow_table *t, const struct tc_packet *pkt, int *dir)
{
	struct flow_probe pr;

	flow_probe_make(t, pkt, &pr);
	*dir = pr.dir;
	return flow_insert(t, &pr);
}

void flow_touch(struct flow_table *t, struct flow *f)
{
	if (t->youngest == f)
		return;
	lru_unlink(t, f);
	lru_append(t, f);
}

void flow_unlink(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[f->hash & t->mask];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(t, f);
	t->count--;
}

void flow_free(struct flow_table *t, struct flow *f)
{
	if (t->nspare < FLOW_SPARE) {
		f->hnext = t->spare;
		t->spare = f;
		t->nspare++;
		return;
	}
	free(f);
}

void flow_seq_note(struct flow *f, int dir, const struct tc_packet *pkt)
{
	struct flow_seq *q = &f->seq[dir];
	uint32_t end = pkt->seq + (uint32_t)pkt->payload_len +
	               ((pkt->tcp_flags & TC_TCP_SYN) ? 1 : 0) +
	               ((pkt->tcp_flags & TC_TCP_FIN) ? 1 : 0);

	if (!(f->seq_known & (1u << dir))) {
		q->lo = pkt->seq;
		q->hi = end;
		f->seq_known |= (uint8_t)(1u << dir);
		return;
	}
	/* Modulo 2^32: before lo, or past hi, by less than half the space. */
	if ((int32_t)(pkt->seq - q->lo) < 0)
		q->lo = pkt->seq;
	if ((int32_t)(end - q->hi) > 0)
		q->hi = end;
}

struct flow *flow_oldest(const struct flow_table *t)
{
	return t->oldest;
}

uint32_t flow_count(const struct flow_table *t)
{
	return t->count;
}

uint32_t flow_capacity(const struct flow_table *t)
{
	return t->max;
}
