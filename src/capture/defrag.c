/*
 * defrag.c: reassembles IP datagrams from fragments the way RFC 791 3.2 describes it, a data
 * buffer and a bit table of 8-byte blocks per datagram, with RFC 8200 4.5 for IPv6. It reads
 * only the bytes decode described, and it never holds more than the caller's bounds: when a
 * fragment does not fit, the oldest datagrams go first, then the fragment.
 */
#include <stdlib.h>
#include <string.h>

#include "defrag.h"
#include "util.h"

/* Fragment offsets count 8-byte units, and every piece but the last is a whole number of
 * them, so one bit per 8-byte block says exactly which bytes are held. */
#define BLOCK     8
#define MAP_BYTES ((DEFRAG_MAX_DATA / BLOCK + 1 + 7) / 8)

struct dg_key {
	struct tc_addr src, dst;
	uint32_t id;
	uint8_t version, proto;
};

struct dg {
	struct dg *hnext;         /* hash chain */
	struct dg *older, *newer; /* age list, by first fragment */
	struct dg_key key;
	uint64_t first_ts;
	uint8_t *hdr; /* the fragment at offset 0 gives the header (RFC 791, RFC 8200 4.5) */
	size_t hdr_len, nh_off;
	uint8_t *data;      /* the fragmentable part, as far as it has arrived */
	uint32_t cap;       /* bytes allocated at data */
	uint32_t extent;    /* end of the furthest byte held */
	uint32_t total;     /* length of the fragmentable part, with has_total */
	uint32_t blocks;    /* blocks held */
	uint16_t fragments; /* offered, duplicates included */
	uint8_t has_total;  /* the last fragment (MF or M clear) has been held */
	uint8_t dead;       /* discarded: swallows its remaining fragments until it expires */
	uint8_t map[MAP_BYTES];
};

struct defrag {
	struct dg **buckets;
	uint32_t mask;
	size_t max_datagrams, max_bytes;
	uint64_t timeout_usec;
	uint64_t seed;
	struct dg *oldest, *youngest;
	uint8_t *out; /* the datagram last handed back */
	struct defrag_stats st;
};

enum cover { COVER_NEW, COVER_DUP, COVER_OVERLAP };

/* FNV-1a over the key, started from a per-table random seed so that crafted fragments cannot
 * aim for one chain, then folded so the high bits reach the bucket mask. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint32_t hash_key(const struct defrag *d, const struct dg_key *k)
{
	uint8_t tail[6] = {(uint8_t)(k->id >> 24),
	                   (uint8_t)(k->id >> 16),
	                   (uint8_t)(k->id >> 8),
	                   (uint8_t)k->id,
	                   k->version,
	                   k->proto};
	uint64_t h = d->seed ^ 0xcbf29ce484222325ULL;

	h = hash_bytes(h, k->src.b, 16);
	h = hash_bytes(h, k->dst.b, 16);
	h = hash_bytes(h, tail, sizeof(tail));
	return (uint32_t)(h ^ h >> 32) & d->mask;
}

static int key_eq(const struct dg_key *x, const struct dg_key *y)
{
	return x->id == y->id && x->version == y->version && x->proto == y->proto &&
	       !memcmp(x->src.b, y->src.b, 16) && !memcmp(x->dst.b, y->dst.b, 16);
}

struct defrag *defrag_new(size_t max_datagrams, size_t max_bytes, uint32_t timeout_s)
{
	struct defrag *d = calloc(1, sizeof(*d));
	uint32_t n = 64;

	if (!d)
		return NULL;
	if (max_datagrams == 0)
		max_datagrams = 1;
	while (n < max_datagrams && n < (1u << 24))
		n <<= 1;
	d->buckets = tc_zalloc(n, sizeof(*d->buckets));
	if (!d->buckets) {
		free(d);
		return NULL;
	}
	d->mask = n - 1;
	d->max_datagrams = max_datagrams;
	d->max_bytes = max_bytes;
	d->timeout_usec = (uint64_t)(timeout_s ? timeout_s : DEFRAG_DEFAULT_TIMEOUT_S) * 1000000;
	d->seed = tc_random_seed();
	return d;
}

static void charge(struct defrag *d, size_t n)
{
	d->st.bytes += n;
	if (d->st.bytes > d->st.peak_bytes)
		d->st.peak_bytes = d->st.bytes;
}

/* Gives back the data and header, keeping the small record. */
static void dg_empty(struct defrag *d, struct dg *e)
{
	d->st.bytes -= e->cap + (e->hdr ? e->hdr_len : 0);
	free(e->data);
	free(e->hdr);
	e->data = NULL;
	e->hdr = NULL;
	e->cap = 0;
}

static void dg_remove(struct defrag *d, struct dg *e)
{
	struct dg **pp = &d->buckets[hash_key(d, &e->key)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->older)
		e->older->newer = e->newer;
	else
		d->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		d->youngest = e->older;
	dg_empty(d, e);
	d->st.bytes -= sizeof(*e);
	d->st.datagrams--;
	free(e);
}

/* RFC 5722 and the fragment limit: the datagram is given up, and the record stays until its
 * time runs out, so the fragments still on their way cannot start it afresh. */
static void dg_discard(struct defrag *d, struct dg *e)
{
	dg_empty(d, e);
	e->dead = 1;
	d->st.discarded++;
}

static void dg_evict(struct defrag *d, struct dg *e)
{
	if (!e->dead)
		d->st.evictions++;
	dg_remove(d, e);
}

/* Capture time, not the clock: a datagram is given timeout seconds from its first fragment
 * (RFC 791 3.2 sets the timer on the first fragment). Records are aged in arrival order. */
static void expire(struct defrag *d, uint64_t now)
{
	struct dg *e;

	while ((e = d->oldest) && now >= e->first_ts + d->timeout_usec) {
		if (!e->dead)
			d->st.timeouts++;
		dg_remove(d, e);
	}
}

/* Makes room for need more bytes by evicting the oldest datagrams other than keep. */
static int make_room(struct defrag *d, const struct dg *keep, size_t need)
{
	struct dg *v;

	while (d->st.bytes + need > d->max_bytes) {
		v = d->oldest;
		if (v == keep)
			v = v->newer;
		if (!v)
			return 0;
		dg_evict(d, v);
	}
	return 1;
}

static struct dg *dg_find(const struct defrag *d, const struct dg_key *k)
{
	struct dg *e;

	for (e = d->buckets[hash_key(d, k)]; e; e = e->hnext)
		if (key_eq(&e->key, k))
			return e;
	return NULL;
}

static struct dg *dg_new(struct defrag *d, const struct dg_key *k, uint64_t ts)
{
	struct dg **b;
	struct dg *e;

	while (d->st.datagrams >= d->max_datagrams && d->oldest)
		dg_evict(d, d->oldest);
	if (!make_room(d, NULL, sizeof(*e)))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = *k;
	e->first_ts = ts;
	b = &d->buckets[hash_key(d, k)];
	e->hnext = *b;
	*b = e;
	e->older = d->youngest;
	if (d->youngest)
		d->youngest->newer = e;
	else
		d->oldest = e;
	d->youngest = e;
	d->st.datagrams++;
	charge(d, sizeof(*e));
	return e;
}

/* Lengths a fragment may have at all: the header decode describes, an offset in 8-byte units,
 * a non-last piece of whole units (RFC 8200 4.5; RFC 791 implies it), and a datagram that
 * stays within the 16-bit length of its IP header. */
static int frag_valid(const struct tc_frag *f)
{
	size_t end, fixed;

	if (f->ip_version == 4) {
		if (f->hdr_len < 20 || f->hdr_len > 60)
			return 0;
		fixed = f->hdr_len;
	} else if (f->ip_version == 6) {
		if (f->hdr_len < 40 || f->nh_off >= f->hdr_len || f->hdr_len > DEFRAG_MAX_DATA)
			return 0;
		fixed = f->hdr_len - 40;
	} else {
		return 0;
	}
	if (!f->hdr || (!f->data && f->data_len) || f->offset % BLOCK != 0)
		return 0;
	if (f->more && (f->data_len == 0 || f->data_len % BLOCK != 0))
		return 0;
	if (f->offset > DEFRAG_MAX_DATA || f->data_len > DEFRAG_MAX_DATA)
		return 0;
	end = (size_t)f->offset + f->data_len;
	return fixed + end <= DEFRAG_MAX_DATA;
}

/* The end a fragment implies must agree with the last fragment and with the bytes held. */
static int end_agrees(const struct dg *e, const struct tc_frag *f, uint32_t end)
{
	if (e->has_total)
		return f->more ? end <= e->total : end == e->total;
	return f->more || e->extent <= end;
}

static int map_has(const struct dg *e, uint32_t b)
{
	return e->map[b / 8] >> (b % 8) & 1;
}

/* Whether [off, end) is new, an exact repeat of held bytes, or overlaps them otherwise. A held
 * block is held whole up to the datagram's end, and end_agrees keeps end within it. */
static enum cover cover(const struct dg *e, uint32_t off, uint32_t end, const uint8_t *p)
{
	int held = 0, fresh = 0, same = 1;
	uint32_t bs, be;

	for (uint32_t b = off / BLOCK; b * BLOCK < end; b++) {
		bs = b * BLOCK;
		be = bs + BLOCK < end ? bs + BLOCK : end;
		if (!map_has(e, b)) {
			fresh = 1;
			continue;
		}
		held = 1;
		if (memcmp(e->data + bs, p + (bs - off), be - bs) != 0)
			same = 0;
	}
	if (!held)
		return COVER_NEW;
	return !fresh && same ? COVER_DUP : COVER_OVERLAP;
}

/* Copies the blocks not held yet: where pieces overlap, the bytes that came first stay. */
static void fill(struct dg *e, uint32_t off, uint32_t end, const uint8_t *p)
{
	uint32_t bs, be;

	for (uint32_t b = off / BLOCK; b * BLOCK < end; b++) {
		if (map_has(e, b))
			continue;
		bs = b * BLOCK;
		be = bs + BLOCK < end ? bs + BLOCK : end;
		memcpy(e->data + bs, p + (bs - off), be - bs);
		e->map[b / 8] |= (uint8_t)(1u << (b % 8));
		e->blocks++;
	}
	if (end > e->extent)
		e->extent = end;
}

/* Grows the data buffer to hold need bytes, doubling, up to the largest datagram. */
static int grow(struct defrag *d, struct dg *e, uint32_t need)
{
	uint32_t cap = e->cap ? e->cap : 2048;
	uint8_t *nb;

	if (need <= e->cap)
		return 1;
	while (cap < need)
		cap *= 2;
	if (cap > DEFRAG_MAX_DATA)
		cap = DEFRAG_MAX_DATA;
	if (!make_room(d, e, cap - e->cap))
		return 0;
	nb = realloc(e->data, cap);
	if (!nb)
		return 0;
	memset(nb + e->cap, 0, cap - e->cap);
	charge(d, cap - e->cap);
	e->data = nb;
	e->cap = cap;
	return 1;
}

static int keep_hdr(struct defrag *d, struct dg *e, const struct tc_frag *f)
{
	if (!make_room(d, e, f->hdr_len))
		return 0;
	e->hdr = malloc(f->hdr_len);
	if (!e->hdr)
		return 0;
	memcpy(e->hdr, f->hdr, f->hdr_len);
	e->hdr_len = f->hdr_len;
	e->nh_off = f->nh_off;
	charge(d, f->hdr_len);
	return 1;
}

static void set16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 791 3.1: the one's complement of the one's complement sum of the header's 16-bit words,
 * the checksum field counted as zero. */
static uint16_t ipv4_checksum(const uint8_t *h, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		if (i != 10)
			sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The whole datagram: the first fragment's header, with the lengths and, for IPv4, the
 * fragment fields and checksum made those of an unfragmented packet; for IPv6 the byte that
 * named the fragment header names what the fragment header named (RFC 8200 4.5). */
static int emit(struct defrag *d, struct dg *e, uint8_t **out, size_t *outlen)
{
	size_t n = e->hdr_len + e->total;
	uint8_t *p;

	if (n - (e->key.version == 6 ? 40 : 0) > DEFRAG_MAX_DATA) {
		dg_discard(d, e);
		return -1;
	}
	p = malloc(n);
	if (!p) {
		dg_discard(d, e);
		return -1;
	}
	memcpy(p, e->hdr, e->hdr_len);
	if (e->total)
		memcpy(p + e->hdr_len, e->data, e->total);
	if (e->key.version == 4) {
		set16(p + 2, n);
		p[6] &= 0xc0; /* keep the reserved bit and DF; MF and the offset go */
		p[7] = 0;
		set16(p + 10, ipv4_checksum(p, e->hdr_len));
	} else {
		set16(p + 4, n - 40);
		p[e->nh_off] = e->key.proto;
	}
	dg_remove(d, e);
	d->out = p;
	*out = p;
	*outlen = n;
	d->st.reassembled++;
	return 1;
}

static int take(struct defrag *d, const struct tc_packet *pkt, uint64_t ts, uint8_t **out,
                size_t *outlen)
{
	const struct tc_frag *f = &pkt->frag;
	struct dg_key k;
	struct dg *e;
	uint32_t end;

	if (!frag_valid(f))
		return -1;
	end = f->offset + (uint32_t)f->data_len;
	expire(d, ts);
	memset(&k, 0, sizeof(k));
	k.src = pkt->src;
	k.dst = pkt->dst;
	k.id = f->id;
	k.version = f->ip_version;
	k.proto = f->proto;
	e = dg_find(d, &k);
	if (!e)
		e = dg_new(d, &k, ts);
	if (!e || e->dead)
		return -1;
	if (++e->fragments > DEFRAG_MAX_FRAGMENTS) {
		dg_discard(d, e);
		return -1;
	}
	if (!end_agrees(e, f, end))
		return -1;
	switch (cover(e, f->offset, end, f->data)) {
	case COVER_DUP:
		d->st.duplicates++;
		return 0;
	case COVER_OVERLAP:
		d->st.overlaps++;
		/* RFC 5722: overlapping IPv6 fragments discard the datagram. Exact repeats are
		 * not overlaps (RFC 8200 4.5 allows telling them apart): a span port or a
		 * mirror session often shows a packet twice. */
		if (k.version == 6) {
			dg_discard(d, e);
			return -1;
		}
		break;
	case COVER_NEW:
		break;
	}
	/* A datagram whose piece cannot be kept can never complete: let its memory go now. */
	if ((f->offset == 0 && !e->hdr && !keep_hdr(d, e, f)) || !grow(d, e, end)) {
		dg_discard(d, e);
		return -1;
	}
	fill(e, f->offset, end, f->data);
	if (!f->more) {
		e->has_total = 1;
		e->total = end;
	}
	if (!e->has_total || !e->hdr || e->blocks != (e->total + BLOCK - 1) / BLOCK)
		return 0;
	return emit(d, e, out, outlen);
}

int defrag_add(struct defrag *d, const struct tc_packet *frag_pkt, uint64_t ts_usec, uint8_t **out,
               size_t *outlen)
{
	/* The last datagram handed back is freed only now that this fragment has been copied:
	 * it may lie inside that datagram. */
	uint8_t *prev = d->out;
	int r;

	d->out = NULL;
	*out = NULL;
	*outlen = 0;
	d->st.fragments++;
	r = take(d, frag_pkt, ts_usec, out, outlen);
	if (r < 0)
		d->st.dropped++;
	free(prev);
	return r;
}

const struct defrag_stats *defrag_stats(const struct defrag *d)
{
	return &d->st;
}

void defrag_free(struct defrag *d)
{
	if (!d)
		return;
	while (d->oldest)
		dg_remove(d, d->oldest);
	free(d->out);
	free(d->buckets);
	free(d);
}
