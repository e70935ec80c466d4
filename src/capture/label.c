/*
 * label.c: nDPI (4.2 API) behind a small interface. One detection module per process; one
 * ndpi_flow_struct per connection, alive only for the connection's first packets.
 *
 * Most TLS connections are labelled from their ClientHello without packet DPI. nDPI 4.2, fed
 * a TCP flow up to its ClientHello, settles on: the TLS master protocol, refined by port
 * (465/587 SMTPS, 993 IMAPS, 995 POPS: ndpi_tls_refine_master_protocol), and an application
 * from the SNI through its host-name automaton (ndpi_match_hostname_protocol, on the SNI
 * lower-cased and cut to its last 79 bytes as ndpi_hostname_sni_set keeps it), or from its IP
 * lists. label_hello answers the same question directly for the plain case (port 443 or 8443, TLS
 * at the start of the stream, IPv4 addresses on none of nDPI's IP lists), and hands everything else
 * to packet DPI with every held packet, so the label is the same either way (the test `labels`
 * compares both on the samples and the shared corpus). The SNI's part of the plain case,
 * label_sni, may run on another thread's labeler: read and capture leave it to the database
 * thread (LABEL_BY_SNI), away from the thread that sets the pace.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <ndpi/ndpi_api.h>

#include "label.h"
#include "util.h"

/* Held packets: a TCP handshake, the ClientHello (one or two segments) and a little slack. */
#define LABEL_HOLD_PACKETS 8
#define LABEL_HOLD_BYTES   (16 * 1024)

/* SNIs repeat (popular services): nDPI's automaton answers once per name. A slot keeps only
 * the name's 64-bit hash, keyed with a per-process random seed so no SNI can be made to
 * collide with another's on purpose: its top 48 bits (the top one always set, so by chance one
 * lookup in 2^45 meets another name's tag among the four) and the application (16 bits), in
 * one word. With 4096 slots of 96 bytes (the name kept to compare) most names were gone before
 * they came again, and the automaton took 5 % of a bench-1G read. One slot per hash still lost
 * a quarter of bench-flows' names (93,900 of them, in 32,768 slots) to another name's before
 * they came again; four slots to a set, in half a cache line, keep the newest four names of
 * the set, and the writer's label_sni_prefetch puts the set in cache before it is read. */
#define SNI_SETS 32768 /* a power of two: 1 MiB */
#define SNI_WAYS 4
#define SNI_TAG  (~(uint64_t)0xffff)

struct sni_set {
	uint64_t way[SNI_WAYS]; /* hash & SNI_TAG | application, newest first; 0: empty */
} __attribute__((aligned(32)));

/* Names by protocol pair: ndpi_protocol2name formats one (~600 instructions) per call. */
#define NAME_CACHE 256 /* slots, a power of two */

struct name_entry {
	uint32_t key; /* master << 16 | app, plus 1; 0: empty */
	char name[LABEL_MAX];
};

struct labeler {
	struct ndpi_detection_module_struct *ndpi;
	struct sni_set *sni_sets;
	struct name_entry names[NAME_CACHE];
	struct ndpi_flow_struct *scratch; /* for host-name matching outside a flow */
	uint64_t sni_seed;
	uint64_t sni_matched; /* SNIs matched by the automaton (the cache's misses) */
	size_t flow_size;
	int hello_labels; /* 0: TLSCENSUS_LABEL_DPI set, every flow goes through packet DPI */
};

struct held {
	uint64_t ts_usec;
	size_t len;
	size_t off; /* into label_flow.buf */
};

struct label_flow {
	struct ndpi_flow_struct *nf; /* NULL while holding */
	ndpi_protocol proto;
	struct held held[LABEL_HOLD_PACKETS];
	unsigned n_held;
	uint8_t *buf; /* inline, or malloc'd once the packets outgrow it */
	size_t buf_len, buf_cap;
	int holding;
	/* The last held packet, its room taken but its bytes not yet copied: the caller's until
	 * label_packet_end, and most often never copied (the hello settles the label first). */
	const uint8_t *pending;
	uint8_t inline_buf[4096]; /* last (not zeroed): SYN, SYN-ACK, ACK and a ClientHello of up
	                           * to 3.8 KiB (post-quantum key shares); with 1 KiB, perf found a
	                           * malloc under label_packet as often as the ClientHello's own */
};

struct labeler *label_open(char *err, size_t errlen)
{
	struct labeler *l = calloc(1, sizeof(*l));
	NDPI_PROTOCOL_BITMASK all;

	if (!l) {
		snprintf(err, errlen, "out of memory initialising nDPI");
		return NULL;
	}
	/* Tor host lists and libgcrypt are for features we do not use. */
	l->ndpi = ndpi_init_detection_module(ndpi_dont_load_tor_hosts | ndpi_dont_init_libgcrypt);
	if (!l->ndpi) {
		snprintf(err, errlen, "nDPI failed to initialise (libndpi %s)", ndpi_revision());
		free(l);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(l->ndpi, &all);
	ndpi_finalize_initialization(l->ndpi);
	l->flow_size = ndpi_detection_get_sizeof_ndpi_flow_struct();
	l->scratch = calloc(1, l->flow_size);
	/* On cache-line boundaries: a set never straddles two lines (malloc aligns to 16). */
	void *sets = NULL;
	if (posix_memalign(&sets, 64, SNI_SETS * sizeof *l->sni_sets) == 0) {
		memset(sets, 0, SNI_SETS * sizeof *l->sni_sets);
		l->sni_sets = sets;
	}
	l->sni_seed = tc_random_seed();
	if (!l->scratch || !l->sni_sets) {
		snprintf(err, errlen, "out of memory initialising nDPI");
		label_close(l);
		return NULL;
	}
	/* For comparing the two paths (tests/labels_test.py): every flow through packet DPI. */
	l->hello_labels = !getenv("TLSCENSUS_LABEL_DPI");
	return l;
}

void label_close(struct labeler *l)
{
	if (!l)
		return;
	if (l->ndpi)
		ndpi_exit_detection_module(l->ndpi);
	free(l->scratch);
	free(l->sni_sets);
	free(l);
}

struct label_flow *label_flow_new(struct labeler *l, int tcp)
{
	/* malloc, not calloc: the inline buffer needs no zeroing. */
	struct label_flow *f = malloc(sizeof(*f));

	return f ? label_flow_renew(l, f, tcp) : NULL;
}

struct label_flow *label_flow_renew(struct labeler *l, struct label_flow *f, int tcp)
{
	memset(f, 0, offsetof(struct label_flow, inline_buf));
	f->buf = f->inline_buf;
	f->buf_cap = sizeof f->inline_buf;
	f->holding = tcp && l->hello_labels;
	if (!f->holding) {
		f->nf = ndpi_flow_malloc(l->flow_size);
		if (!f->nf) {
			free(f);
			return NULL;
		}
		memset(f->nf, 0, l->flow_size);
	}
	return f;
}

static void drop_held(struct label_flow *f)
{
	if (f->buf != f->inline_buf)
		free(f->buf);
	f->buf = f->inline_buf;
	f->buf_cap = sizeof f->inline_buf;
	f->buf_len = 0;
	f->n_held = 0;
	f->pending = NULL;
}

/* The pending packet's bytes into its room (the last held packet's). */
static void copy_pending(struct label_flow *f)
{
	if (f->pending) {
		const struct held *h = &f->held[f->n_held - 1];

		memcpy(f->buf + h->off, f->pending, h->len);
		f->pending = NULL;
	}
}

static void name_of(struct labeler *l, ndpi_protocol p, char out[LABEL_MAX])
{
	uint32_t key = ((uint32_t)p.master_protocol << 16 | p.app_protocol) + 1;
	struct name_entry *e = &l->names[(key * 0x9e3779b1u) >> 24 & (NAME_CACHE - 1)];

	if (e->key != key) {
		ndpi_protocol2name(l->ndpi, p, e->name, LABEL_MAX);
		e->key = key;
	}
	memcpy(out, e->name, LABEL_MAX);
}

static int dpi_packet(struct labeler *l, struct label_flow *f, const uint8_t *l3, size_t len,
                      uint64_t ts_usec, char out[LABEL_MAX])
{
	/* nDPI takes the length as an unsigned short: an IP packet is never longer. */
	if (len > 0xffff)
		len = 0xffff;
	f->proto =
	    ndpi_detection_process_packet(l->ndpi, f->nf, l3, (unsigned short)len, ts_usec / 1000);
	if (f->proto.app_protocol == NDPI_PROTOCOL_UNKNOWN &&
	    f->proto.master_protocol == NDPI_PROTOCOL_UNKNOWN)
		return 0;
	name_of(l, f->proto, out);
	return 1;
}

/* Ends holding: nDPI gets the held packets in order. Returns 1 when one of them settled the
 * label; -1 when nDPI's flow cannot be allocated (the flow then stays unlabelled). */
static int start_dpi(struct labeler *l, struct label_flow *f, char out[LABEL_MAX])
{
	int settled = 0;

	copy_pending(f);
	f->holding = 0;
	f->nf = ndpi_flow_malloc(l->flow_size);
	if (f->nf) {
		memset(f->nf, 0, l->flow_size);
		for (unsigned i = 0; i < f->n_held && !settled; i++)
			settled = dpi_packet(l, f, f->buf + f->held[i].off, f->held[i].len,
			                     f->held[i].ts_usec, out);
	}
	drop_held(f);
	return f->nf ? settled : -1;
}

/* Room for one more held packet, taken: 0, or -1 past the bound or out of memory. The bytes
 * are copied later (copy_pending), if they are ever needed. */
static int hold(struct label_flow *f, size_t len, uint64_t ts_usec)
{
	uint8_t *p;

	if (f->n_held == LABEL_HOLD_PACKETS || f->buf_len + len > LABEL_HOLD_BYTES)
		return -1;
	if (f->buf_len + len > f->buf_cap) {
		size_t cap = f->buf_cap * 2;
		while (cap < f->buf_len + len)
			cap *= 2;
		if (!(p = malloc(cap)))
			return -1;
		memcpy(p, f->buf, f->buf_len);
		if (f->buf != f->inline_buf)
			free(f->buf);
		f->buf = p;
		f->buf_cap = cap;
	}
	f->held[f->n_held++] = (struct held){ts_usec, len, f->buf_len};
	f->buf_len += len;
	return 0;
}

int label_packet(struct labeler *l, struct label_flow *f, const uint8_t *l3, size_t len,
                 uint64_t ts_usec, char out[LABEL_MAX])
{
	if (f->holding) {
		copy_pending(f); /* none after label_packet_end; the order of the rooms if one is */
		if (hold(f, len, ts_usec) == 0) {
			f->pending = l3;
			return 0;
		}
		/* Past the bound: what nDPI would have seen so far, then this packet. */
		int settled = start_dpi(l, f, out);
		if (settled)
			return settled > 0;
	}
	if (!f->nf)
		return 0;
	return dpi_packet(l, f, l3, len, ts_usec, out);
}

void label_packet_end(struct label_flow *f)
{
	copy_pending(f);
}

static int on_ip_list(struct labeler *l, const uint8_t *ip4)
{
	struct in_addr a;

	memcpy(&a.s_addr, ip4, 4);
	return ndpi_network_ptree_match(l->ndpi, &a) != NDPI_PROTOCOL_UNKNOWN;
}

/* A keyed hash of a name (at most 79 bytes), its top bit set (a tag is never 0). */
static uint64_t name_hash(uint64_t seed, const char *p, size_t n)
{
	uint64_t h = seed ^ n, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = tc_mum(h ^ w, seed ^ 0x9e3779b97f4a7c15ULL);
	}
	w = 0;
	memcpy(&w, p, n);
	h = tc_mum(h ^ w, seed ^ 0xc2b2ae3d27d4eb4fULL);
	return tc_mum(h, 0x165667b19e3779f9ULL) | (uint64_t)1 << 63;
}

/* The name as nDPI matches it (name, n: the last 79 bytes of the SNI, lower case, up to a NUL),
 * and its hash. */
static uint64_t sni_hash(const struct labeler *l, const char *sni, size_t len, char name[80],
                         u_int *n)
{
	size_t keep = len < 79 ? len : 79;

	for (size_t i = 0; i < keep; i++)
		name[i] = (char)tolower((unsigned char)sni[len - keep + i]);
	name[keep] = '\0';
	*n = (u_int)strlen(name); /* a NUL inside the SNI ends the name, as nDPI's strings do */
	return name_hash(l->sni_seed, name, *n);
}

static struct sni_set *sni_set_of(const struct labeler *l, uint64_t h)
{
	return &l->sni_sets[h & (SNI_SETS - 1)];
}

/* The application nDPI's host-name automaton gives the SNI, NDPI_PROTOCOL_UNKNOWN for none.
 * h: the SNI's sni_hash, or 0 to work it out. */
static uint16_t sni_app(struct labeler *l, const char *sni, size_t len, uint64_t h)
{
	char name[80];
	u_int n = 0;
	uint16_t app;

	if (!h)
		h = sni_hash(l, sni, len, name, &n);
	struct sni_set *set = sni_set_of(l, h);
	for (int i = 0; i < SNI_WAYS; i++)
		if ((set->way[i] & SNI_TAG) == (h & SNI_TAG))
			return (uint16_t)set->way[i];
	if (!n) /* the key came from label_sni_prefetch: the name is wanted now */
		sni_hash(l, sni, len, name, &n);
	l->sni_matched++;
	memset(l->scratch, 0, l->flow_size);
	app = ndpi_match_hostname_protocol(l->ndpi, l->scratch, NDPI_PROTOCOL_TLS, name, n)
	          ? l->scratch->detected_protocol_stack[0]
	          : NDPI_PROTOCOL_UNKNOWN;
	memmove(&set->way[1], &set->way[0], (SNI_WAYS - 1) * sizeof set->way[0]);
	set->way[0] = (h & SNI_TAG) | app;
	return app;
}

uint64_t label_sni_matched(const struct labeler *l)
{
	return l->sni_matched;
}

uint32_t label_sni_set(const struct labeler *l, const char *sni, size_t len)
{
	char name[80];
	u_int n;

	return (uint32_t)(sni_set_of(l, sni_hash(l, sni, len, name, &n)) - l->sni_sets);
}

uint64_t label_sni_prefetch(const struct labeler *l, const char *sni, size_t len)
{
	char name[80];
	u_int n;
	uint64_t h;

	if (!sni || !len)
		return 0;
	h = sni_hash(l, sni, len, name, &n);
	__builtin_prefetch(sni_set_of(l, h));
	return h;
}

int label_hello(struct labeler *l, struct label_flow *f, const struct label_hello *h,
                char out[LABEL_MAX])
{
	if (!f->holding)
		return 0;
	if (!h->tls_at_start || (h->server_port != 443 && h->server_port != 8443) ||
	    !h->client_ip4 || !h->server_ip4 || h->client_port == 465 || h->client_port == 587 ||
	    h->client_port == 993 || h->client_port == 995 || on_ip_list(l, h->client_ip4) ||
	    on_ip_list(l, h->server_ip4)) {
		if (start_dpi(l, f, out) > 0)
			return 1;
		return 0;
	}
	drop_held(f);
	f->holding = 0;
	if (h->sni && h->sni_len && h->sni_later)
		return LABEL_BY_SNI;
	label_sni(l, h->sni, h->sni_len, out);
	return 1;
}

void label_sni(struct labeler *l, const char *sni, size_t len, char out[LABEL_MAX])
{
	label_sni_keyed(l, sni, len, 0, out);
}

void label_sni_keyed(struct labeler *l, const char *sni, size_t len, uint64_t key,
                     char out[LABEL_MAX])
{
	uint16_t app = sni && len ? sni_app(l, sni, len, key) : NDPI_PROTOCOL_UNKNOWN;
	ndpi_protocol p;

	memset(&p, 0, sizeof p);
	p.master_protocol = NDPI_PROTOCOL_TLS;
	p.app_protocol = app != NDPI_PROTOCOL_UNKNOWN ? app : NDPI_PROTOCOL_TLS;
	name_of(l, p, out);
}

void label_finish(struct labeler *l, struct label_flow *f, char out[LABEL_MAX])
{
	uint8_t guessed = 0;

	if (f->holding && start_dpi(l, f, out) != 0)
		return;
	if (!f->nf)
		return;
	if (f->proto.app_protocol == NDPI_PROTOCOL_UNKNOWN &&
	    f->proto.master_protocol == NDPI_PROTOCOL_UNKNOWN)
		f->proto = ndpi_detection_giveup(l->ndpi, f->nf, 1, &guessed);
	name_of(l, f->proto, out);
}

void label_flow_clear(struct label_flow *f)
{
	if (f->nf)
		ndpi_free_flow(f->nf);
	f->nf = NULL;
	drop_held(f);
}

void label_flow_free(struct label_flow *f)
{
	if (!f)
		return;
	label_flow_clear(f);
	free(f);
}
