/*
 * dtls.c: the DTLS record layer of one direction (RFC 6347 4.1-4.2, RFC 9147 4-5) up to
 * encryption. A datagram holds whole records; hello messages may be split into fragments over
 * records and datagrams, and are reassembled in order up to TC_MAX_HELLO_MSG (reasm.c). Reading
 * stops at ChangeCipherSpec or at the first record of a later epoch: past that nothing is readable.
 * Nothing here knows about UDP, flows or which datagrams were DTLS: the caller decides.
 */
#include "handshake.h"
#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"

/* RFC 6347 4.1: DTLS 1.0 is {254, 255}, 1.2 is {254, 253}; RFC 9147 5.3 adds {254, 252} for
 * DTLS 1.3 ClientHellos. OpenSSL before 0.9.8f sent 0x0100 (DTLS1_BAD_VER). */
static int dtls_version(uint16_t v)
{
	return v == 0xfeff || v == 0xfefd || v == 0xfefc || v == 0x0100;
}

/* RFC 6347 4.1: the 13-byte record header. */
struct dtls_rec {
	uint8_t type;
	uint16_t version;
	uint16_t epoch;
	struct tc_cursor body;
};

static int read_record(struct tc_cursor *c, struct dtls_rec *r)
{
	struct tc_cursor save = *c;

	if (!tc_cursor_get_u8(c, &r->type) || !tc_cursor_get_u16(c, &r->version) ||
	    !tc_cursor_get_u16(c, &r->epoch) || !tc_cursor_skip(c, 6) ||
	    !tc_cursor_get_prefixed(c, 2, &r->body)) {
		*c = save;
		return 0;
	}
	return 1;
}

int tc_dtls_plausible(const uint8_t *p, size_t n)
{
	struct tc_cursor c;
	struct dtls_rec r;

	tc_cursor_init(&c, p, n);
	/* The length must fit the datagram too: a record never spans datagrams (RFC 6347 4.1.1). */
	if (!read_record(&c, &r))
		return 0;
	return r.type == TC_RT_HANDSHAKE && dtls_version(r.version) && r.epoch == 0;
}

/* RFC 6347 4.2.2: the 12-byte handshake header of one fragment. */
struct dtls_frag {
	uint8_t type;
	uint32_t length;
	uint16_t seq;
	uint32_t offset;
	struct tc_cursor bytes;
};

static int read_fragment(struct tc_cursor *c, struct dtls_frag *f)
{
	uint32_t flen;

	return tc_cursor_get_u8(c, &f->type) && tc_cursor_get_u24(c, &f->length) &&
	       tc_cursor_get_u16(c, &f->seq) && tc_cursor_get_u24(c, &f->offset) &&
	       tc_cursor_get_u24(c, &flen) && tc_cursor_get_bytes(c, flen, &f->bytes);
}

/*
 * One fragment. Only the first ClientHello and the first ServerHello are kept; a retransmitted
 * hello repeats its message_seq, and the ClientHello that answers a HelloVerifyRequest (type 3)
 * or a HelloRetryRequest is a later one, which tc_hs_on_client_hello ignores once the first is
 * kept. Fragments are taken in order (overlaps allowed, as retransmissions may re-split a
 * message); one that leaves a hole is dropped and its retransmission fills the hole.
 */
static void on_fragment(struct tc_handshake *hs, enum tc_dir d, const struct dtls_frag *f)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	size_t n = tc_cursor_left(&f->bytes);

	if (!tc_hs_wanted(hs, f->type))
		return;
	if (f->offset > f->length || n > f->length - f->offset) {
		tc_hs_set_err(hs, d, TC_ERR_HANDSHAKE_LENGTH);
		return;
	}
	if (dp->msg &&
	    (dp->hdr[0] != f->type || dp->msg_seq != f->seq || dp->body_len != f->length))
		return; /* another message while the first is still incomplete */
	if (!dp->msg) {
		if (!tc_hs_msg_start(hs, d, f->type, f->length))
			return;
		dp->msg_seq = f->seq;
	}
	tc_hs_msg_add(hs, d, f->offset, f->bytes, 1);
}

static void on_handshake(struct tc_handshake *hs, enum tc_dir d, struct tc_cursor body)
{
	struct dtls_frag f;

	while (tc_cursor_left(&body) && hs->dir[d].state == TC_DS_RECORDS) {
		if (!read_fragment(&body, &f)) {
			tc_hs_set_err(hs, d, TC_ERR_HANDSHAKE_LENGTH);
			return;
		}
		on_fragment(hs, d, &f);
	}
}

void tc_dtls_datagram(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p, size_t n)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	struct tc_cursor c;
	struct dtls_rec r;

	if (dp->state == TC_DS_DONE)
		return;
	tc_cursor_init(&c, p, n);
	while (tc_cursor_left(&c) && dp->state != TC_DS_DONE) {
		/* A record cut by the datagram (snap length) or not DTLS at all ends this datagram
		 * only: STUN, RTP and DTLS may share the 5-tuple (RFC 7983). */
		if (!read_record(&c, &r) || !dtls_version(r.version))
			return;
		if (dp->state == TC_DS_SEEK) {
			dp->state = TC_DS_RECORDS;
			hs->tls_found = 1;
		}
		dp->records++;
		if (r.epoch > 0) {
			if (!hs->ch && !hs->sh)
				hs->midstream = 1;
			tc_hs_dir_finish(hs, d);
			return;
		}
		switch (r.type) {
		case TC_RT_HANDSHAKE:
			on_handshake(hs, d, r.body);
			break;
		case TC_RT_ALERT:
			tc_hs_alert(hs, d, r.body);
			break;
		case TC_RT_CCS:
			dp->ccs_seen = 1;
			tc_hs_dir_finish(hs, d);
			break;
		case TC_RT_APPDATA: /* never in epoch 0 on a sane peer */
			tc_hs_dir_finish(hs, d);
			break;
		default:
			break;
		}
	}
}

void tc_dtls_end(struct tc_handshake *hs, enum tc_dir d)
{
	struct tc_dir_parse *dp = &hs->dir[d];

	if (dp->state == TC_DS_DONE)
		return;
	/* Keep the fields before the missing fragment, and say the hello was cut. */
	if (!tc_hs_msg_cut(hs, d, 1) && dp->msg)
		tc_hs_set_err(hs, d, TC_ERR_TRUNCATED);
	tc_hs_dir_finish(hs, d);
}
