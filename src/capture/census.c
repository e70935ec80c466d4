/*
 * census.c: one frame in, at most one connection record out per connection.
 * A flow is dissected until both directions have said what their hellos say; from then on a
 * packet costs one hash lookup and a few counters. Records are written when the handshake is
 * complete and touched (last_ts, counters) when the flow is released.
 */
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "tlscensus/fingerprint.h"
#include "defrag.h"
#include "flow.h"
#include "grave.h"

/* Openings kept for reuse at most, and the largest stream buffer one may keep: 64 x 2 x
 * 16 KiB = 2 MiB per worker at worst. */
#define OPEN_SPARE     64
#define OPEN_SPARE_BUF (16u << 10)

struct census {
	struct census_config cfg;
	struct flow_table *flows;
	struct graves *graves; /* TCP connections released lately, for their late copies */
	struct defrag *defrag; /* IP fragments waiting for the rest of their datagram */
	struct tc_sink sink;   /* where finished records go (main wires the store's writer) */
	uint64_t tokens;       /* last token given to a written connection */
	struct labeler *labeler;
	struct run_stats stats;
	uint64_t last_expiry; /* capture time of the last expiry sweep */
	uint64_t latest_ts;   /* the latest frame time so far */
	uint32_t near_full;   /* flows from which every packet moves its flow (LRU_GRAIN_SHIFT) */
	/* Openings of finished flows kept for the next ones, with their stream buffers, so a
	 * connection's opening costs no allocation of its own in the steady state. */
	struct flow_open *spare[OPEN_SPARE];
	unsigned nspare;
	/* The same for their labelling state (1.4 KiB each, nDPI's flow released). */
	struct label_flow *spare_lf[OPEN_SPARE];
	unsigned nspare_lf;
	/* The flow whose labeler may hold the packet being handled uncopied (label_packet_end). */
	struct label_flow *lf_pending;
};

struct census *census_new(const struct census_config *cfg, const struct tc_sink *sink,
                          struct labeler *lb)
{
	struct census *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = *cfg;
	c->sink = *sink;
	c->labeler = lb;
	c->flows = flow_table_new(cfg->max_flows);
	c->near_full = cfg->max_flows - cfg->max_flows / 8;
	/* Late copies come within a retransmission timeout or two; twice the idle timeout also
	 * covers a flow released for being idle that then wakes up. */
	c->graves = graves_new(GRAVE_MAX, 2 * (uint64_t)cfg->idle_timeout_s * 1000000);
	/* 4096 datagrams in 16 MiB: a hello is a few fragments at most; far more in flight at
	 * once is an attack or a broken path, not traffic to wait for. */
	c->defrag = defrag_new(4096, 16u << 20, DEFRAG_DEFAULT_TIMEOUT_S);
	if (!c->flows || !c->defrag || !c->graves) {
		flow_table_free(c->flows);
		graves_free(c->graves);
		defrag_free(c->defrag);
		free(c);
		return NULL;
	}
	return c;
}

static void label_done(struct census *c, struct flow *f)
{
	struct flow_open *op = f->op;

	if (!op || !op->lf)
		return;
	if (!op->label[0] && !op->label_by_sni)
		label_finish(c->labeler, op->lf, op->label);
	if (c->lf_pending == op->lf)
		c->lf_pending = NULL; /* label_finish took the packet, or the label needs it no more */
	if (c->nspare_lf < OPEN_SPARE) {
		label_flow_clear(op->lf);
		c->spare_lf[c->nspare_lf++] = op->lf;
	} else {
		label_flow_free(op->lf);
	}
	op->lf = NULL;
	f->labelling = 0;
}

/* The opening's state, allocated at a flow's first byte of payload: the streams start from
 * the SYNs seen so far, as if they had been there all along. NULL when out of memory. */
static struct flow_open *opening(struct census *c, struct flow *f)
{
	struct flow_open *op;

	if (f->op)
		return f->op;
	if (c->nspare) {
		/* as new, but for the stream buffers it keeps */
		op = c->spare[--c->nspare];
		uint8_t *buf[2] = {op->st[0].buf, op->st[1].buf};
		uint32_t cap[2] = {op->st[0].cap, op->st[1].cap};
		memset(op, 0, sizeof *op);
		for (int d = 0; d < 2; d++) {
			op->st[d].buf = buf[d];
			op->st[d].cap = cap[d];
		}
	} else if (!(op = calloc(1, sizeof *op))) {
		return NULL;
	}
	tc_handshake_init(&op->hs);
	for (int d = 0; d < 2; d++)
		if (f->syn_seen & (1u << d)) {
			op->st[d].isn = f->syn_seq[d] + 1;
			op->st[d].has_base = op->st[d].from_syn = 1;
		}
	if (c->labeler)
		op->lf = c->nspare_lf ? label_flow_renew(c->labeler, c->spare_lf[--c->nspare_lf],
		                                         f->key.proto == 6)
		                      : label_flow_new(c->labeler, f->key.proto == 6);
	f->labelling = op->lf != NULL;
	f->op = op;
	return op;
}

/* The hellos are recorded (or the flow is not TLS): free the opening, keeping the few facts
 * later packets and the touch still read. */
static void opening_free(struct census *c, struct flow *f)
{
	struct flow_open *op = f->op;

	if (!op)
		return;
	int keep = c->nspare < OPEN_SPARE; /* for the next opening, with its stream buffers */
	label_done(c, f);
	f->client_dir = op->hs.client_dir;
	for (int d = 0; d < 2; d++) {
		uint8_t bit = (uint8_t)(1u << d);
		f->over = (uint8_t)(op->st[d].over ? f->over | bit : f->over & ~bit);
		f->syn_seen =
		    (uint8_t)(op->st[d].from_syn ? f->syn_seen | bit : f->syn_seen & ~bit);
		f->syn_seq[d] = op->st[d].isn - 1;
		if (!keep || op->st[d].cap > OPEN_SPARE_BUF)
			stream_release(&op->st[d]);
	}
	tc_handshake_free(&op->hs);
	if (keep)
		c->spare[c->nspare++] = op;
	else
		free(op);
	f->op = NULL;
}

static int from_syn(const struct flow *f, int d)
{
	return f->op ? f->op->st[d].from_syn : !!(f->syn_seen & (1u << d));
}

/* Which side is the client when no hello said so (a mid-stream TLS flow): the side that sent
 * a bare SYN, else the side with the higher port. */
static int guess_client_dir(const struct flow *f)
{
	if (from_syn(f, 0) != from_syn(f, 1))
		return from_syn(f, 0) ? 0 : 1;
	return f->key.pa >= f->key.pb ? 0 : 1;
}

static enum tc_conn_status conn_status(const struct flow *f)
{
	static const struct tc_handshake none = {.client_dir = -1};
	const struct tc_handshake *hs = f->op ? &f->op->hs : &none;

	if (!hs->ch && !hs->sh)
		return TC_CONN_MIDSTREAM;
	if (hs->err == TC_ERR_TRUNCATED || hs->err == TC_ERR_BOUND)
		return TC_CONN_TRUNCATED;
	if (hs->err != TC_ERR_NONE)
		return TC_CONN_MALFORMED;
	if (!f->packets[0] || !f->packets[1])
		return TC_CONN_ONE_SIDED;
	return TC_CONN_OK;
}

/* The endpoint that sends direction d: dir 0 is a->b, so a sends it. */
static const struct tc_addr *sender(const struct flow *f, int d)
{
	return d == 0 ? &f->key.a : &f->key.b;
}

static uint16_t sender_port(const struct flow *f, int d)
{
	return d == 0 ? f->key.pa : f->key.pb;
}

/* The client's direction: the hello's, or the guess. */
static int client_dir_of(const struct flow *f)
{
	const struct flow_open *op = f->op;
	int known = op ? op->hs.client_dir : f->client_dir;

	return known >= 0 ? known : guess_client_dir(f);
}

/* What a touch carries (TC_RECORD_TOUCHED bytes); the rest of r is left as it was. */
static void fill_touched(const struct flow *f, struct tc_record *r, int cd)
{
	const struct flow_open *op = f->op;
	int sd = cd ^ 1;

	r->last_ts = f->last_ts;
	r->packets[0] = f->packets[cd];
	r->packets[1] = f->packets[sd];
	r->bytes[0] = f->bytes[cd];
	r->bytes[1] = f->bytes[sd];
	r->stream_trunc[0] = op ? op->st[cd].over : (f->over >> cd) & 1;
	r->stream_trunc[1] = op ? op->st[sd].over : (f->over >> sd) & 1;
}

static void fill_record(const struct flow *f, struct tc_record *r)
{
	const struct flow_open *op = f->op;
	int cd = client_dir_of(f);
	int sd = cd ^ 1;

	memset(r, 0, sizeof(*r));
	fill_touched(f, r, cd);
	r->first_ts = f->first_ts;
	r->transport = f->key.proto;
	r->ip_version = f->ip_version;
	r->client = *sender(f, cd);
	r->server = *sender(f, sd);
	r->client_port = sender_port(f, cd);
	r->server_port = sender_port(f, sd);
	r->hs = op ? &op->hs : NULL;
	r->app_label = op && op->label[0] ? op->label : NULL;
	r->label_by_sni = op && op->label_by_sni;
	r->status = (uint8_t)conn_status(f);
}

static void write_record(struct census *c, struct flow *f)
{
	struct tc_handshake *hs = f->op ? &f->op->hs : NULL;
	struct tc_record r;

	if (f->token || !hs || (!hs->ch && !hs->sh && !hs->midstream))
		return;
	label_done(c, f);
	/* Fingerprints are the store's to compute, once per hello shape (the parser worked out
	 * the shapes, hello.h). */
	fill_record(f, &r);
	/* The sink takes the hellos; the flow keeps its counters for a later touch. */
	if (c->sink.ops->put(c->sink.ctx, c->tokens + 1, &r, hs) != 0) {
		c->stats.queue_drops++;
		hs->midstream = 0;
		return;
	}
	f->token = ++c->tokens;
	f->row_packets = f->packets[0] + f->packets[1];
	c->stats.handshakes++;
	if (r.status == TC_CONN_TRUNCATED)
		c->stats.hello_truncated++;
	else if (r.status == TC_CONN_MALFORMED)
		c->stats.hello_malformed++;
}

/* Both directions are past their hellos: record, and drop everything but the counters. */
static void handshake_over(struct census *c, struct flow *f)
{
	write_record(c, f);
	f->state = FLOW_DONE;
	opening_free(c, f); /* what a later touch needs stays in the flow */
}

/* One dissector per transport: TCP is a byte stream (TLS, after any plaintext preamble), UDP
 * a sequence of datagrams (DTLS, told apart from STUN and the rest by the dissector). */
static const struct tc_dissector *dissector_for(uint8_t proto)
{
	return proto == 17 ? &tc_dissector_udp : &tc_dissector_tls;
}

/* view: the direction's bytes where the packet holds them (stream_add_view), else NULL. A
 * direction the dissector is done with copies nothing more; one it is not keeps the bytes
 * from the record it has not read yet: a ClientHello read where the packet holds it is not
 * copied, and a record that spans segments is kept alone, not with the opening before it. */
static void feed(struct census *c, struct flow *f, int dir, int eof, const uint8_t *view)
{
	struct flow_open *op = f->op;
	struct stream *s = &op->st[dir];

	/* The dissector reads from the stream's base; its offsets (dp->pos) are from there. */
	dissector_for(f->key.proto)->feed(&op->hs, (enum tc_dir)dir, view ? view : s->buf,
	                                  s->contig - s->base, eof);
	if (tc_dir_done(&op->hs, dir)) {
		stream_forget(s);
	} else {
		/* Past the preamble, records are read front to back and never again. */
		size_t read = tc_dir_consume(&op->hs, (enum tc_dir)dir);

		if (read)
			stream_consume(s, s->base + (uint32_t)read);
		stream_keep(s, view);
	}
	if (tc_dir_done(&op->hs, 0) && tc_dir_done(&op->hs, 1))
		handshake_over(c, f);
}

/* No more datagrams will come: a hello still missing fragments is recorded as cut. */
static void datagrams_end(struct census *c, struct flow *f, const struct tc_dissector *dis)
{
	for (int d = 0; d < 2; d++)
		dis->end(&f->op->hs, (enum tc_dir)d);
	handshake_over(c, f);
}

static void release(struct census *c, struct flow *f)
{
	const struct tc_dissector *dis = dissector_for(f->key.proto);

	if (f->state == FLOW_HANDSHAKE && f->op && dis->end)
		datagrams_end(c, f, dis);
	if (f->state == FLOW_HANDSHAKE && f->op) {
		for (int d = 0; d < 2 && f->state == FLOW_HANDSHAKE; d++)
			if (!tc_dir_done(&f->op->hs, d))
				feed(c, f, d, 1, NULL);
		if (f->state == FLOW_HANDSHAKE)
			handshake_over(c, f);
	}
	if (f->token) {
		/* The hellos are gone by now; the touch carries only times and counters. */
		struct tc_record r;
		fill_touched(f, &r, client_dir_of(f));
		c->sink.ops->touch(c->sink.ctx, f->token, &r,
		                   f->packets[0] + f->packets[1] != f->row_packets);
	}
	opening_free(c, f);
	/* A TCP connection that carried bytes may still have copies on the way. */
	if (f->key.proto == 6 && f->bytes[0] + f->bytes[1])
		graves_add(c->graves, f, f->last_ts);
	flow_unlink(c->flows, f);
	flow_free(c->flows, f);
}

static void expire(struct census *c, uint64_t now)
{
	uint64_t idle = (uint64_t)c->cfg.idle_timeout_s * 1000000;
	struct flow *f;

	if (now < c->last_expiry + 1000000)
		return;
	c->last_expiry = now;
	while ((f = flow_oldest(c->flows)) && f->last_ts + idle < now)
		release(c, f);
}

/* A bare SYN on a finished flow with a new sequence number: the 5-tuple is reused. */
static int reused(const struct flow *f, const struct tc_packet *pkt, int dir)
{
	int has_base;
	uint32_t isn;

	if ((pkt->tcp_flags & (TC_TCP_SYN | TC_TCP_ACK)) != TC_TCP_SYN)
		return 0;
	if (f->state != FLOW_DONE && !f->closed[0] && !f->closed[1])
		return 0;
	if (f->op) {
		has_base = f->op->st[dir].has_base;
		isn = f->op->st[dir].isn;
	} else {
		has_base = !!(f->syn_seen & (1u << dir));
		isn = f->syn_seq[dir] + 1;
	}
	return !has_base || pkt->seq + 1 != isn;
}

static void label_step(struct census *c, struct flow *f, const struct tc_packet *pkt)
{
	struct flow_open *op = f->op;

	if (!f->labelling || !op || !op->lf) /* the flag first: it is in the flow's lines */
		return;
	c->lf_pending = op->lf;
	if (label_packet(c->labeler, op->lf, pkt->l3, pkt->l3_len, pkt->ts_usec, op->label) ||
	    ++op->label_packets >= c->cfg.label_packets)
		label_done(c, f);
}

/* The client's hello is parsed: for most TLS flows it settles the label without packet DPI
 * (label.c says when). */
static void label_from_hello(struct census *c, struct flow *f)
{
	struct flow_open *op = f->op;
	const struct tc_client_hello *ch = op->hs.ch;
	int cd = op->hs.client_dir;
	const struct tc_addr *cip = sender(f, cd), *sip = sender(f, cd ^ 1);
	struct label_hello h = {
	    .sni = ch->has_sni ? ch->sni : NULL,
	    .sni_len = ch->has_sni ? ch->sni_len : 0,
	    .client_port = sender_port(f, cd),
	    .server_port = sender_port(f, cd ^ 1),
	    .client_ip4 = tc_addr_is_v4(cip) ? cip->b + 12 : NULL,
	    .server_ip4 = tc_addr_is_v4(sip) ? sip->b + 12 : NULL,
	    .tls_at_start = op->hs.tls_offset[cd] == 0,
	    .sni_later = c->cfg.sni_labels_later,
	};
	int rc = label_hello(c->labeler, op->lf, &h, op->label);

	op->label_by_sni = rc == LABEL_BY_SNI;
	if (rc)
		label_done(c, f);
}

/* A flow moves to the young end of the LRU list once per grain of capture time, not at
 * every packet: a move touches its two neighbours, other flows' lines (with the counters, 5 %
 * of bench-flows' packet thread, whose connections send 7 packets in well under a grain). The
 * list is then in the order of each flow's last move, at most a grain before its last packet,
 * and an idle flow is expired at most a grain late. A table near its bound evicts the oldest
 * flow for each new one, and may go round in less than a grain (a flood): every packet then
 * moves its flow, so a flow that just sent one is never the one evicted. */
#define LRU_GRAIN_SHIFT 20 /* 2^20 us, about a second */

static uint32_t lru_grain(uint64_t ts_usec)
{
	return (uint32_t)(ts_usec >> LRU_GRAIN_SHIFT);
}

static struct flow *flow_for(struct census *c, const struct tc_packet *pkt, int *dir)
{
	struct flow_probe pr;
	struct flow *f;

	flow_probe_make(c->flows, pkt, &pr);
	*dir = pr.dir;
	/* A SYN opens a connection, which asks the graves first: that load goes beside the flow
	 * table's. */
	if (pkt->proto == 6 && (pkt->tcp_flags & (TC_TCP_SYN | TC_TCP_ACK)) == TC_TCP_SYN)
		graves_prefetch(c->graves, pr.hash);
	f = flow_lookup(c->flows, &pr);

	if (f && reused(f, pkt, *dir)) {
		release(c, f);
		f = NULL;
	}
	if (f)
		return f;
	/* A pure ACK or a FIN/RST of a flow we never saw opens nothing. */
	if (!pkt->payload_len && !(pkt->tcp_flags & TC_TCP_SYN))
		return NULL;
	/* Nor does a late copy of a segment of a connection already released (its record is
	 * written): a second record for it would be an invented connection. */
	if (pkt->proto == 6 && graves_hit(c->graves, &pr, pkt, pkt->ts_usec)) {
		c->stats.late_segments++;
		return NULL;
	}
	if (flow_count(c->flows) >= flow_capacity(c->flows)) {
		release(c, flow_oldest(c->flows));
		c->stats.flows_evicted++;
	}
	f = flow_insert(c->flows, &pr);
	if (!f)
		return NULL;
	c->stats.flows++;
	f->first_ts = pkt->ts_usec;
	f->lru_grain = lru_grain(pkt->ts_usec); /* inserted at the young end */
	f->ip_version = pkt->ip_version;
	return f;
}

/* Datagrams that are neither DTLS nor QUIC before the first that is: past this the flow is left
 * alone, so RTP-only or STUN-only flows cost a lookup per packet and nothing more. WebRTC
 * runs ICE connectivity checks (STUN) on the 5-tuple before its DTLS handshake, and zeek's
 * webrtc-stun capture has eight of them, so a STUN datagram weighs an eighth of any other:
 * 8 other datagrams, or 64 STUN ones. */
#define UDP_MAX_MISSES 64
#define UDP_MISS_STUN  1
#define UDP_MISS_OTHER 8

/* What every packet of a flow costs once it is found: the LRU move, the counters, and nDPI
 * while the flow is still being labelled. */
static void account(struct census *c, struct flow *f, int dir, const struct tc_packet *pkt)
{
	uint32_t grain = lru_grain(pkt->ts_usec);

	if (grain != f->lru_grain || flow_count(c->flows) >= c->near_full) {
		flow_touch(c->flows, f);
		f->lru_grain = grain;
	}
	if (pkt->ts_usec > f->last_ts)
		f->last_ts = pkt->ts_usec;
	f->packets[dir]++;
	f->bytes[dir] += pkt->payload_len;
	label_step(c, f, pkt);
}

/*
 * A UDP datagram goes whole to the dissector, which says what it was; only a datagram that may
 * open a flow (DTLS, STUN, a QUIC Initial) gets one: DNS, QUIC short headers and the rest of UDP
 * cost one lookup. There is no FIN: the record is written when both directions are past their
 * hellos (a QUIC flow: the ServerHello, or the client's first 1-RTT packet), else on idle expiry
 * or at the end of input.
 */
static void udp_packet(struct census *c, const struct tc_packet *pkt)
{
	const struct tc_dissector *dis = dissector_for(17);
	enum tc_datagram_kind kind;
	struct flow *f;
	int dir;

	expire(c, pkt->ts_usec);
	f = flow_find(c->flows, pkt, &dir);
	if (!f && !dis->opens(pkt->payload, pkt->payload_len))
		return;
	if (!f)
		f = flow_for(c, pkt, &dir);
	if (!f)
		return;
	if (f->state == FLOW_HANDSHAKE && !opening(c, f))
		return;
	account(c, f, dir, pkt);
	if (f->state != FLOW_HANDSHAKE || tc_dir_done(&f->op->hs, dir))
		return;
	struct tc_handshake *hs = &f->op->hs;
	kind = dis->datagram(hs, (enum tc_dir)dir, pkt->payload, pkt->payload_len);
	if (kind != TC_DG_DISSECTED && !hs->tls_found) {
		f->udp_misses += kind == TC_DG_STUN ? UDP_MISS_STUN : UDP_MISS_OTHER;
		if (f->udp_misses >= UDP_MAX_MISSES) {
			f->state = FLOW_DONE;
			opening_free(c, f);
			return;
		}
	}
	if (tc_dir_done(hs, 0) && tc_dir_done(hs, 1))
		handshake_over(c, f);
}

static void tcp_packet(struct census *c, const struct tc_packet *pkt)
{
	struct flow *f;
	int dir;

	c->stats.tcp_packets++;
	expire(c, pkt->ts_usec);
	f = flow_for(c, pkt, &dir);
	if (!f)
		return;
	/* Bytes open the flow's opening state; before that, a SYN is only remembered. */
	if (f->state == FLOW_HANDSHAKE && pkt->payload_len && !opening(c, f))
		return; /* out of memory: as if the packet was not captured */
	if (!f->op && (pkt->tcp_flags & TC_TCP_SYN) && !(f->syn_seen & (1u << dir))) {
		f->syn_seq[dir] = pkt->seq;
		f->syn_seen |= (uint8_t)(1u << dir);
	}
	account(c, f, dir, pkt);
	flow_seq_note(f, dir, pkt);
	/* A bare ACK changes nothing of an opening whose labeler is done: the stream places
	 * nothing, ends nothing and feeds nothing, so the opening's lines are not read (about a
	 * packet in four of bench-flows' handshakes, each a miss). */
	if (f->op && !f->labelling && !pkt->payload_len &&
	    !(pkt->tcp_flags & (TC_TCP_SYN | TC_TCP_FIN | TC_TCP_RST)))
		return;
	if ((pkt->tcp_flags & TC_TCP_FIN) && !f->closed[dir]) {
		f->closed[dir] = 1;
		/* Its grave's bucket will be wanted: at the other side's FIN (asked early, it may
		 * be out of the cache again by then), or in a moment when that came first. */
		graves_prefetch(c->graves, f->hash);
	}
	if (pkt->tcp_flags & TC_TCP_RST) {
		f->closed[0] = f->closed[1] = 1;
		graves_prefetch(c->graves, f->hash);
	}
	if (f->state != FLOW_HANDSHAKE || !f->op) {
		if ((f->closed[0] && f->closed[1]) || (pkt->tcp_flags & TC_TCP_RST))
			release(c, f);
		return;
	}

	struct flow_open *op = f->op;
	struct tc_dir_parse *dp = &op->hs.dir[dir];
	struct stream *s = &op->st[dir];
	const uint8_t *view;
	enum stream_result r =
	    stream_add_view(s, pkt->seq, pkt->tcp_flags, pkt->payload, pkt->payload_len,
	                    c->cfg.stream_bound, dp->state == TC_DS_SEEK, &view);
	if (r == STREAM_REBASED)
		dp->scan = dp->pos = 0;
	if (pkt->tcp_flags & TC_TCP_RST)
		op->st[dir ^ 1].rst = 1;
	int ended = stream_ended(s, c->cfg.stream_bound);
	if ((r != STREAM_NOTHING || ended) && !tc_dir_done(&op->hs, dir))
		feed(c, f, dir, ended, view);
	else if (tc_dir_done(&op->hs, dir))
		stream_forget(s); /* bytes after its end: nothing to keep */
	/* feed may have recorded the flow and freed its opening (f->op NULL). */
	if (f->op && f->op->lf && f->op->hs.ch && f->op->hs.client_dir == dir)
		label_from_hello(c, f);
	/* A reset ends the other direction too. */
	if (f->op && f->state == FLOW_HANDSHAKE && (pkt->tcp_flags & TC_TCP_RST) &&
	    !tc_dir_done(&f->op->hs, dir ^ 1))
		feed(c, f, dir ^ 1, 1, NULL);
	/* Closed both ways: nothing more will come that matters, so free the entry now rather
	 * than at the idle timeout (keeps memory flat under high connection rates). */
	if ((f->closed[0] && f->closed[1]) || (pkt->tcp_flags & TC_TCP_RST))
		release(c, f);
}

/* A TCP flow's labeler holds its packets back until the ClientHello, which most often settles
 * the label: the packet is copied only if the labeler still wants it once the hello (in this
 * very packet, usually) is parsed. The copy of every ClientHello was 6 % of bench-flows' packet
 * thread. */
void census_packet(struct census *c, const struct tc_packet *pkt)
{
	if (pkt->proto == 17)
		udp_packet(c, pkt);
	else if (pkt->proto == 6)
		tcp_packet(c, pkt);
	if (c->lf_pending) {
		label_packet_end(c->lf_pending);
		c->lf_pending = NULL;
	}
}

static uint64_t owner_mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 32);
}

static uint64_t endpoint_hash(const struct tc_addr *a, uint16_t port)
{
	uint64_t w[2];

	memcpy(w, a->b, 16);
	return owner_mix(owner_mix(w[0] ^ port) ^ w[1]);
}

unsigned census_owner(const struct tc_packet *pkt, unsigned n)
{
	/* The sum of the two endpoints' hashes does not care which one sent the packet. */
	uint64_t h = endpoint_hash(&pkt->src, pkt->sport) + endpoint_hash(&pkt->dst, pkt->dport);

	return n > 1 ? (unsigned)(owner_mix(h ^ pkt->proto) % n) : 0;
}

/* counted: the frame counters already hold this frame (another worker passed it on). */
static void frame_in(struct census *c, int linktype, const uint8_t *frame, size_t caplen,
                     uint64_t ts_usec, int counted)
{
	struct tc_packet pkt;
	enum tc_decode_status st;
	int reassembled = 0;

	/* Reading a file with several workers, each sees every frame: one counts them. */
	if (c->cfg.sees_all && c->cfg.worker != 0)
		counted = 1;
	if (!counted) {
		c->stats.packets++;
		c->stats.bytes += caplen;
		/* A clock stepped back (or files merged out of order): read in file order,
		 * counted. A second of slack: multi-queue captures interleave their stamps. */
		if (ts_usec + 1000000 < c->latest_ts) {
			c->stats.time_backwards++;
			if (c->latest_ts - ts_usec > c->stats.time_back_max)
				c->stats.time_back_max = c->latest_ts - ts_usec;
		} else if (ts_usec > c->latest_ts) {
			c->latest_ts = ts_usec;
		}
	}
	pkt.ts_usec = 0; /* tc_decode clears the rest */
	st = tc_decode(linktype, frame, caplen, &pkt);
	/* Twice at most: an inner datagram fragmented inside a fragmented tunnel packet. The
	 * reassembled datagram stays valid until the next defrag_add, i.e. through this packet. */
	for (int i = 0; st == TC_DEC_FRAGMENT && i < 2; i++) {
		uint8_t tunnels = pkt.tunnels, *dg;
		size_t dglen;

		if (defrag_add(c->defrag, &pkt, ts_usec, &dg, &dglen) != 1) {
			c->stats.fragments_held += !counted;
			return;
		}
		c->stats.reassembled += !counted;
		reassembled = 1;
		st = tc_decode(101 /* LINKTYPE_RAW */, dg, dglen, &pkt);
		pkt.tunnels += tunnels;
	}
	if (st == TC_DEC_NOT_IP || st == TC_DEC_NOT_TCP_UDP) {
		c->stats.not_ip += !counted;
		return;
	}
	if (st != TC_DEC_OK) {
		c->stats.undecodable += !counted;
		return;
	}
	if (c->cfg.workers > 1) {
		unsigned owner = census_owner(&pkt, c->cfg.workers);

		if (owner != c->cfg.worker) {
			if (c->cfg.sees_all)
				return; /* that worker reads this frame itself */
			/* Live: the kernel spread frames by their outer headers, which for a tunnel
			 * are the same for all its flows. A datagram rebuilt here from fragments
			 * stays (its pieces cannot be sent on one by one). */
			if (pkt.tunnels && !reassembled && c->cfg.redirect) {
				c->cfg.redirect(c->cfg.redirect_ctx, owner, linktype, frame, caplen,
				                ts_usec);
				return;
			}
		}
	}
	pkt.ts_usec = ts_usec;
	census_packet(c, &pkt);
}

void census_frame(struct census *c, int linktype, const uint8_t *frame, size_t caplen,
                  uint64_t ts_usec)
{
	frame_in(c, linktype, frame, caplen, ts_usec, 0);
}

void census_frame_redirected(struct census *c, int linktype, const uint8_t *frame, size_t caplen,
                             uint64_t ts_usec)
{
	frame_in(c, linktype, frame, caplen, ts_usec, 1);
}

void census_flush(struct census *c)
{
	struct flow *f;

	while ((f = flow_oldest(c->flows)))
		release(c, f);
	c->sink.ops->sync(c->sink.ctx);
}

void census_tick(struct census *c, uint64_t now_usec)
{
	expire(c, now_usec);
}

const struct tc_sink *census_sink(const struct census *c)
{
	return &c->sink;
}

struct run_stats *census_stats(struct census *c)
{
	return &c->stats;
}

uint32_t census_flows(const struct census *c)
{
	return flow_count(c->flows);
}

void census_free(struct census *c)
{
	if (!c)
		return;
	census_flush(c);
	while (c->nspare) {
		struct flow_open *op = c->spare[--c->nspare];
		stream_release(&op->st[0]);
		stream_release(&op->st[1]);
		free(op);
	}
	while (c->nspare_lf)
		label_flow_free(c->spare_lf[--c->nspare_lf]);
	flow_table_free(c->flows);
	graves_free(c->graves);
	defrag_free(c->defrag);
	free(c);
}
