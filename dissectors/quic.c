/*
 * quic.c: QUIC Initial packets of one 5-tuple (RFC 9000 17.2, 19; RFC 9001 4-5; RFC 9369).
 * Walks the packets coalesced in each datagram, opens the Initials with the keys of the
 * client's Destination Connection ID (quic_keys.c), puts each sender's CRYPTO frames back in
 * offset order, and hands the stream to the TLS handshake walker (tls.c), which keeps the
 * hellos. Handshake and 1-RTT packets are never opened: their keys are not on the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "handshake.h"
#include "quic.h"
#include "tlscensus/fingerprint.h"

/* The CRYPTO stream kept per sender: a hello of TC_MAX_HELLO_MSG and its header. Bytes past
 * it are dropped; the hello walker then reports TC_ERR_BOUND or a truncated hello. */
#define QUIC_MAX_CRYPTO (TC_MAX_HELLO_MSG + TC_HS_HEADER)
/* Out-of-order CRYPTO pieces held beyond the contiguous prefix: Chrome splits its hello into
 * a dozen frames and sends them shuffled; a piece that would need more holes than this is
 * dropped, and its retransmission fills the hole. */
#define QUIC_MAX_HELD 32
#define QUIC_GROW     2048

/* Frame types allowed in Initial packets (RFC 9000 12.4, 19). */
#define QF_PADDING        0x00
#define QF_PING           0x01
#define QF_ACK            0x02
#define QF_ACK_ECN        0x03
#define QF_CRYPTO         0x06
#define QF_CLOSE          0x1c
#define QF_CLOSE_APP      0x1d
#define QUIC_CRYPTO_ERROR 0x100 /* RFC 9000 20.1: CRYPTO_ERROR 0x0100-0x01ff */

struct quic_range {
	uint32_t lo, hi;
};

/* One sender's Initial CRYPTO stream. */
struct quic_stream {
	uint8_t *buf; /* stream bytes from offset 0; cap bytes */
	uint32_t cap;
	uint32_t done;                         /* contiguous from 0 and handed to the walker */
	struct quic_range held[QUIC_MAX_HELD]; /* received past done, sorted, disjoint */
	uint8_t nheld;
	uint8_t over;    /* bytes past QUIC_MAX_CRYPTO were dropped */
	int64_t largest; /* largest Initial packet number opened, -1 none */
};

struct tc_quic {
	const struct tc_quic_version *qv; /* of the keys */
	uint8_t dcid[TC_QUIC_MAX_CID];    /* the client Destination Connection ID they come from */
	uint8_t dcid_len;
	uint8_t keyed;
	int8_t client_dir;
	struct tc_quic_keys keys[2]; /* [0] opens the client's Initials, [1] the server's */
	struct quic_stream s[2];     /* by direction */
};

/* One long-header packet as its header says, before anything is opened. */
struct quic_long {
	uint8_t first;
	uint32_t version;
	const struct tc_quic_version *qv; /* NULL: a version we cannot read */
	enum tc_quic_ptype type;
	struct tc_cursor dcid, scid;
	const uint8_t *start; /* first byte of the packet */
	size_t len;           /* whole packet, header included */
	size_t pn_off;        /* Initial, 0-RTT, Handshake: where the packet number starts */
};

/* RFC 9000 16: a variable-length integer, its length in the two top bits. */
static int quic_varint(struct tc_cursor *c, uint64_t *v)
{
	uint8_t first;
	uint32_t hi = 0, lo = 0;
	size_t n;

	if (!tc_cursor_peek_u8(c, 0, &first))
		return 0;
	n = (size_t)1 << (first >> 6);
	if (tc_cursor_left(c) < n)
		return 0;
	if (n <= 4) {
		tc_cursor_get_be(c, n, &lo);
		*v = lo & ((n == 1 ? 0x3fu : n == 2 ? 0x3fffu : 0x3fffffffu));
		return 1;
	}
	tc_cursor_get_u32(c, &hi);
	tc_cursor_get_u32(c, &lo);
	*v = (uint64_t)(hi & 0x3fffffffu) << 32 | lo;
	return 1;
}

/*
 * RFC 9000 17.2 (and 8999 5.1 for any version): first byte, version, both connection IDs;
 * then for a version we know, the token of an Initial and the Length that ends the packet.
 * Version Negotiation and Retry run to the end of the datagram. Returns 0, leaving c, when the
 * header does not fit.
 */
static int read_long(struct tc_cursor *c, struct quic_long *h)
{
	struct tc_cursor k = *c, token;
	uint8_t len;
	uint64_t v;

	h->start = tc_cursor_ptr(c);
	if (!tc_cursor_get_u8(&k, &h->first) || !(h->first & 0x80) ||
	    !tc_cursor_get_u32(&k, &h->version) || !tc_cursor_get_u8(&k, &len) ||
	    !tc_cursor_get_bytes(&k, len, &h->dcid) || !tc_cursor_get_u8(&k, &len) ||
	    !tc_cursor_get_bytes(&k, len, &h->scid))
		return 0;
	h->qv = tc_quic_version_find(h->version);
	h->type = tc_quic_ptype(h->qv, h->first);
	if (!h->qv || h->type == TC_QP_RETRY) {
		h->len = tc_cursor_left(c);
		h->pn_off = 0;
		tc_cursor_skip(c, h->len);
		return 1;
	}
	if (tc_cursor_left(&h->dcid) > TC_QUIC_MAX_CID ||
	    tc_cursor_left(&h->scid) > TC_QUIC_MAX_CID)
		return 0;
	if (h->type == TC_QP_INITIAL &&
	    (!quic_varint(&k, &v) || v > tc_cursor_left(&k) || !tc_cursor_get_bytes(&k, v, &token)))
		return 0;
	if (!quic_varint(&k, &v) || v > tc_cursor_left(&k))
		return 0;
	h->pn_off = tc_cursor_left(c) - tc_cursor_left(&k);
	h->len = h->pn_off + (size_t)v;
	tc_cursor_skip(c, h->len);
	return 1;
}

int tc_quic_opens(const uint8_t *p, size_t n)
{
	struct tc_cursor c;
	struct quic_long h;

	tc_cursor_init(&c, p, n);
	/* The fixed bit (RFC 9000 17.2) and an Initial of a version we read, long enough for a
	 * packet number, a sample and a tag. DNS and the rest fail on the version already. */
	return read_long(&c, &h) && (h.first & 0x40) && h.qv && h.type == TC_QP_INITIAL &&
	       h.len - h.pn_off >= 4 + TC_QUIC_SAMPLE;
}

void tc_quic_free(struct tc_quic *q)
{
	if (!q)
		return;
	free(q->s[0].buf);
	free(q->s[1].buf);
	free(q);
}

static struct tc_quic *quic_state(struct tc_handshake *hs)
{
	if (!hs->quic) {
		hs->quic = calloc(1, sizeof *hs->quic);
		if (hs->quic) {
			hs->quic->client_dir = -1;
			hs->quic->s[0].largest = hs->quic->s[1].largest = -1;
		}
	}
	return hs->quic;
}

static void stream_release(struct quic_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}

/* Room for the stream up to end, grown in steps and never past the bound. */
static int stream_room(struct quic_stream *s, uint32_t end)
{
	uint32_t cap;
	uint8_t *buf;

	if (end <= s->cap)
		return 1;
	cap = (end + QUIC_GROW - 1) / QUIC_GROW * QUIC_GROW;
	if (cap > QUIC_MAX_CRYPTO)
		cap = QUIC_MAX_CRYPTO;
	buf = realloc(s->buf, cap);
	if (!buf)
		return 0;
	s->buf = buf;
	s->cap = cap;
	return 1;
}

/* Notes [lo, hi) as held past the contiguous prefix; 0 when that needs one hole too many. */
static int stream_hold(struct quic_stream *s, uint32_t lo, uint32_t hi)
{
	size_t i = 0, j;

	while (i < s->nheld && s->held[i].hi < lo)
		i++;
	/* held[i] is the first range that ends at or after lo: merge every one that touches. */
	for (j = i; j < s->nheld && s->held[j].lo <= hi; j++) {
		if (s->held[j].lo < lo)
			lo = s->held[j].lo;
		if (s->held[j].hi > hi)
			hi = s->held[j].hi;
	}
	if (j == i && s->nheld == QUIC_MAX_HELD)
		return 0;
	memmove(&s->held[i + 1], &s->held[j], (s->nheld - j) * sizeof s->held[0]);
	s->nheld = (uint8_t)(s->nheld - (j - i) + 1);
	s->held[i] = (struct quic_range){lo, hi};
	return 1;
}

/* A CRYPTO frame's bytes at stream offset off (RFC 9000 19.6). What is new is copied into the
 * stream; once the prefix from 0 grows, the new bytes go to the hello walker. */
static void stream_add(struct tc_handshake *hs, enum tc_dir d, uint64_t off, struct tc_cursor data)
{
	struct quic_stream *s = &hs->quic->s[d];
	uint64_t end = off + tc_cursor_left(&data);
	uint32_t lo, hi, from;
	struct tc_cursor fresh;
	size_t copied;

	if (end > QUIC_MAX_CRYPTO) {
		s->over = 1;
		end = QUIC_MAX_CRYPTO;
	}
	if (off >= end || end <= s->done)
		return;
	lo = off < s->done ? s->done : (uint32_t)off;
	hi = (uint32_t)end;
	if (!stream_room(s, hi) || !stream_hold(s, lo, hi))
		return;
	/* Skip what is already contiguous, and copy up to the bound: held[] covers it now. */
	tc_cursor_skip(&data, lo - off);
	tc_cursor_get_bytes(&data, hi - lo, &fresh);
	tc_cursor_copy(&fresh, s->buf + lo, s->cap - lo, &copied);
	if (s->held[0].lo > s->done)
		return;
	from = s->done;
	s->done = s->held[0].hi;
	memmove(&s->held[0], &s->held[1], (s->nheld - 1) * sizeof s->held[0]);
	s->nheld--;
	tc_cursor_init(&fresh, s->buf + from, s->done - from);
	tc_hs_handshake_bytes(hs, d, fresh);
}

/* Skips an ACK frame's fields after its type (RFC 9000 19.3). */
static int skip_ack(struct tc_cursor *c, uint64_t type)
{
	uint64_t v, ranges;

	if (!quic_varint(c, &v) || !quic_varint(c, &v) || !quic_varint(c, &ranges) ||
	    !quic_varint(c, &v))
		return 0;
	for (uint64_t i = 0; i < ranges; i++)
		if (!quic_varint(c, &v) || !quic_varint(c, &v))
			return 0;
	if (type == QF_ACK_ECN)
		for (int i = 0; i < 3; i++)
			if (!quic_varint(c, &v))
				return 0;
	return 1;
}

/* RFC 9001 4.8: a TLS alert ends a QUIC handshake as a CONNECTION_CLOSE with the error code
 * 0x100 + the alert (always fatal). In an Initial it is as readable as a plaintext alert over
 * TCP, and is recorded the same way. */
static void on_close(struct tc_handshake *hs, enum tc_dir d, uint64_t code)
{
	if (code >= QUIC_CRYPTO_ERROR && code <= QUIC_CRYPTO_ERROR + 0xff && !hs->alert.seen)
		hs->alert = (struct tc_alert){1, TC_ALERT_FATAL, (uint8_t)code, (uint8_t)d};
	tc_hs_dir_finish(hs, d);
}

/* The frames of one opened Initial. A frame that Initials may not carry, or one cut short,
 * ends the packet: what came before it stays. */
static void initial_frames(struct tc_handshake *hs, enum tc_dir d, struct tc_cursor c,
                           const struct tc_quic_version *qv)
{
	uint64_t type, off, len, v, code;
	struct tc_cursor data;

	while (tc_cursor_left(&c) && hs->dir[d].state == TC_DS_RECORDS) {
		if (!quic_varint(&c, &type))
			return;
		if (type == qv->crypto_frame)
			type = QF_CRYPTO;
		else if (type == QF_CRYPTO)
			return;
		switch (type) {
		case QF_PADDING:
		case QF_PING:
			break;
		case QF_ACK:
		case QF_ACK_ECN:
			if (!skip_ack(&c, type))
				return;
			break;
		case QF_CRYPTO:
			if (!quic_varint(&c, &off) || !quic_varint(&c, &len) ||
			    !tc_cursor_get_bytes(&c, len, &data))
				return;
			stream_add(hs, d, off, data);
			break;
		case QF_CLOSE:
		case QF_CLOSE_APP:
			if (!quic_varint(&c, &code) || (type == QF_CLOSE && !quic_varint(&c, &v)) ||
			    !quic_varint(&c, &len) || !tc_cursor_skip(&c, len))
				return;
			on_close(hs, d, type == QF_CLOSE ? code : 0);
			return;
		default:
			return;
		}
	}
}

/* Opens h with keys k, on a copy (the datagram is the caller's); on success the frames are
 * read and the packet number is remembered. */
static int open_initial(struct tc_handshake *hs, enum tc_dir d, const struct quic_long *h,
                        const struct tc_quic_keys *k)
{
	struct quic_stream *s = &hs->quic->s[d];
	uint8_t *copy = malloc(h->len);
	size_t payload;
	uint64_t pn;
	long n;

	if (!copy)
		return 0;
	memcpy(copy, h->start, h->len);
	n = tc_quic_open(k, copy, h->len, h->pn_off, s->largest, &pn, &payload);
	if (n >= 0) {
		if ((int64_t)pn > s->largest)
			s->largest = (int64_t)pn;
		if (hs->dir[d].state == TC_DS_SEEK)
			hs->dir[d].state = TC_DS_RECORDS;
		hs->tls_found = 1;
		struct tc_cursor frames;
		tc_cursor_init(&frames, copy + payload, (size_t)n);
		initial_frames(hs, d, frames, h->qv);
	}
	free(copy);
	return n >= 0;
}

/* Keys from this client Initial's Destination Connection ID and version, tried on it. */
static int rekey(struct tc_handshake *hs, enum tc_dir d, const struct quic_long *h)
{
	struct tc_quic *q = hs->quic;
	struct tc_quic_keys keys[2];

	if (tc_quic_initial_keys(h->qv, tc_cursor_ptr(&h->dcid), tc_cursor_left(&h->dcid), keys))
		return 0;
	/* A new attempt (after Retry or Version Negotiation) numbers its packets on. */
	int64_t largest = q->s[d].largest;
	q->s[d].largest = -1;
	if (!open_initial(hs, d, h, &keys[0])) {
		q->s[d].largest = largest;
		return 0;
	}
	memcpy(q->keys, keys, sizeof keys);
	q->qv = h->qv;
	q->dcid_len = (uint8_t)tc_cursor_left(&h->dcid);
	memcpy(q->dcid, tc_cursor_ptr(&h->dcid), q->dcid_len);
	q->s[d ^ 1].largest = -1;
	q->keyed = 1;
	q->client_dir = (int8_t)d;
	if (!hs->quic_version)
		hs->quic_version = h->version;
	return 1;
}

static int same_dcid(const struct tc_quic *q, const struct quic_long *h)
{
	return q->qv == h->qv && tc_cursor_equal(&h->dcid, q->dcid, q->dcid_len);
}

/* The ClientHello came in QUIC Initials (JA4 starts with "q"), whether whole or cut. */
static void mark_quic(struct tc_handshake *hs)
{
	if (hs->ch && hs->quic && hs->quic->keyed && !hs->ch->quic) {
		hs->ch->quic = 1;
		hs->ch->shape = tc_client_hello_shape(hs->ch); /* the flag is part of it */
	}
}

/* A sender is finished: what its stream still holds incomplete is a cut hello. */
static void dir_close(struct tc_handshake *hs, enum tc_dir d)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	struct quic_stream *s = hs->quic ? &hs->quic->s[d] : NULL;

	if (dp->state == TC_DS_DONE)
		goto out;
	if (!tc_hs_msg_cut(hs, d, 0) && !dp->hello_seen && s &&
	    (dp->hdr_len || s->nheld || s->over))
		tc_hs_set_err(hs, d, s->over ? TC_ERR_BOUND : TC_ERR_TRUNCATED);
	tc_hs_dir_finish(hs, d);
out:
	if (s)
		stream_release(s);
}

/* RFC 9368 2.3: a server that takes another version the client listed (compatible version
 * negotiation, v1 to v2) sends its Initials in that version, keyed from the same connection
 * ID; the client follows. */
static void server_switched(struct tc_handshake *hs, enum tc_dir d, const struct quic_long *h)
{
	struct tc_quic *q = hs->quic;
	struct tc_quic_keys keys[2];

	if (tc_quic_initial_keys(h->qv, q->dcid, q->dcid_len, keys) ||
	    !open_initial(hs, d, h, &keys[1]))
		return;
	memcpy(q->keys, keys, sizeof keys);
	q->qv = h->qv;
}

/*
 * An Initial. The first one that opens with the keys of its own Destination Connection ID is
 * the client's (RFC 9001 5.2); later client Initials keep those keys even when they name
 * another connection ID, unless they open only with their own: then the client started over
 * after a Retry or a Version Negotiation, and the server answers under the new keys.
 */
static void on_initial(struct tc_handshake *hs, enum tc_dir d, const struct quic_long *h)
{
	struct tc_quic *q = hs->quic;

	if (!q->keyed || (int8_t)d == q->client_dir) {
		/* Opened until the ServerHello, so that the ClientHello answering a
		 * HelloRetryRequest is counted (hello_count 2) as over TCP. */
		if (!(q->keyed && open_initial(hs, d, h, &q->keys[0])) &&
		    (!q->keyed || !same_dcid(q, h)))
			rekey(hs, d, h);
	} else if (h->qv == q->qv) {
		open_initial(hs, d, h, &q->keys[1]);
	} else {
		server_switched(hs, d, h);
	}
	/* The ServerHello, or a CONNECTION_CLOSE, ends both directions' interest (the peer's
	 * once its hello is whole): what follows is in Handshake and 1-RTT packets, or nothing. */
	if (hs->sh && (int8_t)d != q->client_dir)
		dir_close(hs, d);
	if (tc_dir_done(hs, d) && hs->dir[d ^ 1].hello_seen)
		dir_close(hs, (enum tc_dir)(d ^ 1));
}

enum tc_datagram_kind tc_quic_datagram(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p,
                                       size_t n)
{
	struct tc_quic *q = quic_state(hs);
	enum tc_datagram_kind kind = TC_DG_OTHER;
	struct tc_cursor c;
	struct quic_long h;
	uint8_t first;

	if (!q)
		return TC_DG_OTHER;
	tc_cursor_init(&c, p, n);
	while (hs->dir[d].state != TC_DS_DONE && tc_cursor_peek_u8(&c, 0, &first)) {
		if (!(first & 0x80)) {
			/* A short header runs to the end of the datagram. The client sends 1-RTT
			 * only once the server's Initials reached it: nothing more to wait for.
			 * Zeros after a coalesced packet are padding (quic-go pads so), not a
			 * short header; a greased fixed bit (RFC 9287) is not trusted here. */
			if (q->keyed && (first & 0x40)) {
				kind = TC_DG_DISSECTED;
				if ((int8_t)d == q->client_dir) {
					dir_close(hs, d);
					dir_close(hs, (enum tc_dir)(d ^ 1));
				}
			}
			break;
		}
		if (!read_long(&c, &h))
			break;
		/* Version Negotiation (version 0) and Retry are QUIC too, not misses; what they
		 * change, a new version or connection ID, is seen in the client's next Initial,
		 * which on_initial keys afresh. Both run to the end of the datagram. */
		kind = TC_DG_DISSECTED;
		if (h.version == 0)
			break;
		if (h.qv && h.type == TC_QP_INITIAL)
			on_initial(hs, d, &h);
		/* Coalesced packets follow (RFC 9000 12.2); a version we cannot read has no
		 * Length we understand, and read_long took the rest. */
	}
	mark_quic(hs);
	return kind;
}

void tc_quic_end(struct tc_handshake *hs, enum tc_dir d)
{
	if (!hs->quic)
		return;
	dir_close(hs, d);
	mark_quic(hs);
}
