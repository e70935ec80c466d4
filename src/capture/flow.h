/*
 * flow.h: the flow table. One entry per TCP/UDP 5-tuple, both directions folded together;
 * dir 0 is the packet direction from the lower (address, port) endpoint. Entries live on an
 * LRU list so the idle ones expire first, and the table never holds more than max_flows.
 */
#ifndef TLSCENSUS_FLOW_H
#define TLSCENSUS_FLOW_H

#include <stdint.h>
#include <string.h>

#include "label.h"
#include "stream.h"
#include "tlscensus/dissector.h"
#include "tlscensus/packet.h"

struct flow_key {
	struct tc_addr a, b; /* a < b, or a == b and pa <= pb */
	uint16_t pa, pb;
	uint8_t proto;
};

enum flow_state {
	FLOW_HANDSHAKE = 0, /* bytes go to the dissector */
	FLOW_DONE,          /* hellos recorded, or not TLS: later packets are only counted */
};

/* The sequence numbers a direction used: [lo, hi) modulo 2^32 (lo is the SYN's when one was
 * seen), kept for every packet so a late copy can be told from a new connection (grave.h). */
struct flow_seq {
	uint32_t lo, hi;
};

/* What a flow holds only while its opening is read: from its first byte of payload until
 * both directions are past their hellos. A SYN flood or a scan (flows that never carry a byte)
 * costs no more than struct flow. */
struct flow_open {
	struct stream st[2];
	struct tc_handshake hs;
	struct label_flow *lf;  /* nDPI state while labelling, else NULL */
	uint32_t label_packets; /* packets shown to nDPI */
	uint8_t label_by_sni;   /* the sink names the label from the SNI (tc_record) */
	char label[LABEL_MAX];
};

/* The opening's lines a packet of direction dir reads, asked for (flow_lookup). */
static inline void flow_open_prefetch(const struct flow_open *op, int dir)
{
	__builtin_prefetch(&op->st[dir], 1);
	__builtin_prefetch(&op->hs.dir[dir], 1);
	__builtin_prefetch(&op->lf);
}

/* The opening's address beside the key and hash, which the lookup's compare reads first: the
 * opening's lines are asked for with the flow's others. */
struct flow {
	struct flow_key key;
	uint32_t hash;                 /* the key's hash (its low bits pick the bucket); in the
	                                * key's cache line, compared before the key */
	struct flow *hnext;            /* hash chain */
	struct flow_open *op;          /* NULL before the first payload and after the hellos */
	struct flow *prev, *next;      /* LRU list, oldest first */
	uint64_t first_ts, last_ts;    /* microseconds */
	uint64_t packets[2], bytes[2]; /* per dir (0: a->b) */
	uint64_t token;                /* writer token once the record is queued, else 0 */
	uint64_t row_packets;          /* packets counted when the record was written */
	struct flow_seq seq[2];
	uint32_t syn_seq[2]; /* the first SYN's sequence number per direction (syn_seen) */
	uint32_t lru_grain;  /* the census's: when the flow last moved in the LRU list */
	uint8_t state;       /* enum flow_state */
	uint8_t ip_version;
	uint8_t closed[2];  /* FIN or RST seen in that direction */
	uint8_t udp_misses; /* UDP: datagrams that were not DTLS before any that was */
	uint8_t seq_known;  /* bit d: seq[d] holds a range */
	uint8_t syn_seen;   /* bit d: direction d's stream is based on a SYN (syn_seq[d]) */
	uint8_t over;       /* bit d: direction d's opening was longer than the bound */
	int8_t client_dir;  /* kept from the handshake once the opening is freed; -1 unknown */
	uint8_t labelling;  /* the opening's labeler is on (op->lf): packets go to nDPI */
};

struct flow_table;

struct flow_table *flow_table_new(uint32_t max_flows);
void flow_table_free(struct flow_table *t);

/* A packet's folded key, its hash under the table's seed and its direction, made once per
 * packet for the lookup, the graves (grave.h) and the add that may follow. */
struct flow_probe {
	struct flow_key key;
	uint32_t hash;
	int dir;
};

void flow_probe_make(const struct flow_table *t, const struct tc_packet *pkt,
                     struct flow_probe *pr);
/* The flow of a probe, or NULL. */
struct flow *flow_lookup(struct flow_table *t, const struct flow_probe *pr);
/* Adds the probe's flow (the caller checked it is absent and made room). */
struct flow *flow_insert(struct flow_table *t, const struct flow_probe *pr);
/* Finds the flow of pkt, or NULL. *dir is set to the packet's direction. */
struct flow *flow_find(struct flow_table *t, const struct tc_packet *pkt, int *dir);
/* Adds a flow for pkt (the caller checked it is absent and made room). */
struct flow *flow_add(struct flow_table *t, const struct tc_packet *pkt, int *dir);
/* Marks f as just used (moves it to the young end of the LRU list). */
void flow_touch(struct flow_table *t, struct flow *f);
/* Unlinks f from the table; the caller frees what f holds, then calls flow_free. */
void flow_unlink(struct flow_table *t, struct flow *f);
void flow_free(struct flow_table *t, struct flow *f);

/* The folded key of pkt and its direction; the key's hash under seed; key equality. */
int flow_key_make(const struct tc_packet *pkt, struct flow_key *k);
uint64_t flow_key_hash(uint64_t seed, const struct flow_key *k);
/* Inline: it runs on every packet's lookup (as a call it was 6 % of a bench-flows read). */
static inline int flow_addr_eq(const struct tc_addr *x, const struct tc_addr *y)
{
	uint64_t a[2], b[2];

	memcpy(a, x->b, 16);
	memcpy(b, y->b, 16);
	return a[0] == b[0] && a[1] == b[1];
}

static inline int flow_key_eq(const struct flow_key *x, const struct flow_key *y)
{
	return x->pa == y->pa && x->pb == y->pb && x->proto == y->proto &&
	       flow_addr_eq(&x->a, &y->a) && flow_addr_eq(&x->b, &y->b);
}
/* Widens f's sequence range of direction dir by pkt (TCP). */
void flow_seq_note(struct flow *f, int dir, const struct tc_packet *pkt);

struct flow *flow_oldest(const struct flow_table *t);
uint32_t flow_count(const struct flow_table *t);
uint32_t flow_capacity(const struct flow_table *t);

#endif
