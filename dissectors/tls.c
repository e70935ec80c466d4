/*
 * tls.c: the TLS record layer of one direction (RFC 8446 5, RFC 5246 6.2) up to encryption.
 * Walks records from where TLS starts, reassembles hello messages split over records, skips
 * every other handshake message without keeping it, notes plaintext alerts, and stops at
 * ChangeCipherSpec or application data: past that point nothing is readable.
 */
#include <stdlib.h>
#include <string.h>

#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"
#include "tlscensus/fingerprint.h"
#include "handshake.h"
#include "quic.h"

void tc_handshake_init(struct tc_handshake *hs)
{
	memset(hs, 0, sizeof(*hs));
	hs->client_dir = -1;
}

void tc_handshake_free(struct tc_handshake *hs)
{
	tc_client_hello_free(hs->ch);
	tc_server_hello_free(hs->sh);
	if (hs->prints)
		tc_prints_free(hs->prints);
	free(hs->prints);
	hs->prints = NULL;
	free(hs->dir[0].msg);
	free(hs->dir[1].msg);
	tc_quic_free(hs->quic);
	hs->quic = NULL;
	hs->ch = NULL;
	hs->sh = NULL;
	hs->dir[0].msg = hs->dir[1].msg = NULL;
}

int tc_tls_record_plausible(const uint8_t *buf, size_t len)
{
	struct tc_cursor c;
	uint8_t type, major, minor;
	uint16_t rlen;

	tc_cursor_init(&c, buf, len);
	if (!tc_cursor_get_u8(&c, &type) || !tc_cursor_get_u8(&c, &major) ||
	    !tc_cursor_get_u8(&c, &minor) || !tc_cursor_get_u16(&c, &rlen))
		return 0;
	return type >= TC_RT_CCS && type <= TC_RT_HEARTBEAT && major == 3 && minor <= 4 &&
	       rlen <= TC_MAX_RECORD;
}

/* An SSLv2-format hello: 2-byte header with the high bit set, then CLIENT-HELLO (1) carrying
 * version 0x0002 or 0x03XX, or SERVER-HELLO (4). */
static int sslv2_hello_plausible(const uint8_t *buf, size_t len)
{
	struct tc_cursor c;
	uint16_t hdr, version;
	uint8_t type, skip;

	tc_cursor_init(&c, buf, len);
	if (!tc_cursor_get_u16(&c, &hdr) || !(hdr & 0x8000) || !tc_cursor_get_u8(&c, &type))
		return 0;
	if (type == TC_SSL2_MT_CLIENT_HELLO)
		return tc_cursor_get_u16(&c, &version) &&
		       (version == TC_V_SSL2 || (version >> 8) == 3) && (hdr & 0x7fff) >= 9;
	if (type == TC_SSL2_MT_SERVER_HELLO)
		return tc_cursor_get_u8(&c, &skip) && tc_cursor_get_u8(&c, &skip) &&
		       tc_cursor_get_u16(&c, &version) && version == TC_V_SSL2;
	return 0;
}

void tc_hs_set_err(struct tc_handshake *hs, enum tc_dir d, enum tc_err e)
{
	if (hs->err == TC_ERR_NONE) {
		hs->err = (uint8_t)e;
		hs->err_dir = (uint8_t)d;
	}
}

void tc_hs_dir_finish(struct tc_handshake *hs, enum tc_dir d)
{
	struct tc_dir_parse *dp = &hs->dir[d];

	dp->state = TC_DS_DONE;
	free(dp->msg);
	dp->msg = NULL;
}

void tc_hs_keep_client_hello(struct tc_handshake *hs, enum tc_dir d, struct tc_client_hello *ch,
                             enum tc_err err)
{
	hs->ch = ch;
	hs->client_dir = (int8_t)d;
	hs->dir[d].hello_seen = 1;
	if (err != TC_ERR_NONE) {
		ch->partial = 1;
		tc_hs_set_err(hs, d, err);
		ch->shape = 0; /* the parser's was a whole hello's */
	}
	if (!ch->shape) /* SSLv2's parser leaves it to us */
		ch->shape = tc_client_hello_shape(ch);
}

/* Client identity follows the ClientHello; a ServerHello from the client's own direction is
 * not an answer to it (the oracle's rule too) and is ignored. */
void tc_hs_on_client_hello(struct tc_handshake *hs, enum tc_dir d, const uint8_t *body, size_t len,
                           int dtls)
{
	struct tc_client_hello *ch;
	enum tc_err err;

	hs->ch_count++;
	if (hs->ch || (hs->client_dir >= 0 && hs->client_dir != (int8_t)d))
		return;
	ch = tc_client_hello_new();
	if (!ch)
		return;
	err =
	    dtls ? tc_parse_dtls_client_hello(body, len, ch) : tc_parse_client_hello(body, len, ch);
	tc_hs_keep_client_hello(hs, d, ch, err);
}

void tc_hs_on_server_hello(struct tc_handshake *hs, enum tc_dir d, const uint8_t *body, size_t len)
{
	struct tc_server_hello *sh;
	enum tc_err err;

	if (hs->sh || (hs->client_dir >= 0 && hs->client_dir == (int8_t)d))
		return;
	sh = tc_server_hello_new();
	if (!sh)
		return;
	err = tc_parse_server_hello(body, len, sh);
	if (err == TC_ERR_NONE && sh->is_hrr) {
		hs->hrr_seen = 1;
		tc_server_hello_free(sh);
		return;
	}
	hs->sh = sh;
	hs->dir[d].hello_seen = 1;
	if (hs->client_dir < 0)
		hs->client_dir = (int8_t)(d ^ 1);
	if (err != TC_ERR_NONE)
		tc_hs_set_err(hs, d, err);
}

int tc_hs_wanted(const struct tc_handshake *hs, uint8_t type)
{
	return (type == TC_HT_CLIENT_HELLO && !hs->ch) || (type == TC_HT_SERVER_HELLO && !hs->sh);
}

/* Feeds handshake-record payload; messages may span records and records may hold several.
 * A hello still wanted is kept (reasm.c); any other message is counted off unread. QUIC hands
 * its reassembled CRYPTO stream here too (quic.c). */
void tc_hs_handshake_bytes(struct tc_handshake *hs, enum tc_dir d, struct tc_cursor c)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	struct tc_cursor piece;

	while (tc_cursor_left(&c) && dp->state == TC_DS_RECORDS) {
		if (dp->hdr_len < TC_HS_HEADER) {
			tc_cursor_get_u8(&c, &dp->hdr[dp->hdr_len++]);
			if (dp->hdr_len < TC_HS_HEADER)
				continue;
			dp->body_len = (uint32_t)dp->hdr[1] << 16 | dp->hdr[2] << 8 | dp->hdr[3];
			dp->msg_len = 0;
			if (dp->hdr[0] == TC_HT_HRR_DRAFT)
				hs->hrr_seen = 1;
			/* The ClientHello after a HelloRetryRequest is counted (hello_count 2),
			 * though only the first is kept. */
			if (dp->hdr[0] == TC_HT_CLIENT_HELLO && hs->ch)
				hs->ch_count++;
			/* The usual case: the whole hello in this record. It is parsed where it
			 * lies; only a hello split over records is copied together (reasm.c). */
			if (tc_hs_wanted(hs, dp->hdr[0]) && dp->body_len <= TC_MAX_HELLO_MSG &&
			    tc_cursor_left(&c) >= dp->body_len) {
				tc_cursor_get_bytes(&c, dp->body_len, &piece);
				tc_hs_on_hello(hs, d, dp->hdr[0], piece.data, piece.len, 0);
				dp->hdr_len = 0;
				continue;
			}
			if (tc_hs_wanted(hs, dp->hdr[0]) &&
			    !tc_hs_msg_start(hs, d, dp->hdr[0], dp->body_len))
				return;
		}
		size_t want = dp->body_len - dp->msg_len;
		tc_cursor_get_bytes(&c, tc_cursor_left(&c) < want ? tc_cursor_left(&c) : want,
		                    &piece);
		if (dp->msg) {
			if (!tc_hs_msg_add(hs, d, dp->msg_len, piece, 0))
				continue;
		} else {
			dp->msg_len += (uint32_t)tc_cursor_left(&piece);
			if (dp->msg_len < dp->body_len)
				continue;
		}
		dp->hdr_len = 0;
	}
}

/* A direction ended (FIN, gap never filled, bound) inside a hello: parse what arrived, so the
 * record keeps the fields before the cut, and say it was cut. */
static void flush_partial(struct tc_handshake *hs, enum tc_dir d, int cut_in_record)
{
	struct tc_dir_parse *dp = &hs->dir[d];

	if (!tc_hs_msg_cut(hs, d, 0) && (dp->hdr_len || cut_in_record) && !dp->hello_seen)
		tc_hs_set_err(hs, d, TC_ERR_TRUNCATED);
	tc_hs_dir_finish(hs, d);
}

void tc_hs_alert(struct tc_handshake *hs, enum tc_dir d, struct tc_cursor body)
{
	uint8_t level, desc;

	/* Plaintext alerts are exactly two bytes; longer ones are encrypted. */
	if (tc_cursor_left(&body) == 2 && tc_cursor_get_u8(&body, &level) &&
	    tc_cursor_get_u8(&body, &desc)) {
		if (!hs->alert.seen)
			hs->alert = (struct tc_alert){1, level, desc, (uint8_t)d};
		if (level == TC_ALERT_FATAL)
			tc_hs_dir_finish(hs, d);
	} else {
		tc_hs_dir_finish(hs, d);
	}
}

static void on_record(struct tc_handshake *hs, enum tc_dir d, uint8_t type, struct tc_cursor body)
{
	struct tc_dir_parse *dp = &hs->dir[d];

	switch (type) {
	case TC_RT_HANDSHAKE:
		tc_hs_handshake_bytes(hs, d, body);
		break;
	case TC_RT_ALERT:
		tc_hs_alert(hs, d, body);
		break;
	case TC_RT_CCS:
		dp->ccs_seen = 1;
		/* TLS 1.3 peers send a compatibility CCS around a HelloRetryRequest (RFC 8446
		 * D.4): the server right after it, the real ServerHello still following in
		 * plaintext; the client just before its second ClientHello, which is counted. */
		if (hs->hrr_seen && !hs->sh && (int8_t)d != hs->client_dir)
			break;
		if (hs->hrr_seen && (int8_t)d == hs->client_dir && hs->ch_count == 1)
			break;
		tc_hs_dir_finish(hs, d);
		break;
	case TC_RT_APPDATA:
		if (!hs->ch && !hs->sh && dp->records == 0)
			hs->midstream = 1;
		tc_hs_dir_finish(hs, d);
		break;
	default: /* heartbeat: nothing to learn */
		break;
	}
}

/* The SSLv2 record format: only the hello is readable; what follows is SSLv2 key exchange or,
 * for a version-2 compatible hello, TLS records. */
static void sslv2_record(struct tc_handshake *hs, enum tc_dir d, const uint8_t *buf, size_t len)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	struct tc_cursor c, rec;
	uint16_t hdr;
	uint8_t type;

	tc_cursor_init(&c, buf + dp->pos, len - dp->pos);
	if (!tc_cursor_get_u16(&c, &hdr))
		return;
	if (!tc_cursor_get_bytes(&c, hdr & 0x7fff, &rec) || !tc_cursor_peek_u8(&rec, 0, &type))
		return; /* wait for the rest */
	if (type == TC_SSL2_MT_CLIENT_HELLO) {
		struct tc_client_hello *ch = malloc(sizeof(*ch));
		hs->ch_count++;
		if (ch && !hs->ch) {
			tc_hs_keep_client_hello(hs, d, ch,
			                        tc_parse_sslv2_client_hello(
			                            tc_cursor_ptr(&rec), tc_cursor_left(&rec), ch));
		} else {
			free(ch); /* never parsed: no lists */
		}
	} else if (!hs->sh) {
		struct tc_server_hello *sh = malloc(sizeof(*sh));
		if (sh) {
			enum tc_err err = tc_parse_sslv2_server_hello(tc_cursor_ptr(&rec),
			                                              tc_cursor_left(&rec), sh);
			sh->shape = tc_server_hello_shape(sh);
			hs->sh = sh;
			dp->hello_seen = 1;
			if (hs->client_dir < 0)
				hs->client_dir = (int8_t)(d ^ 1);
			if (err != TC_ERR_NONE)
				tc_hs_set_err(hs, d, err);
		}
	}
	dp->pos += 2 + (hdr & 0x7fff);
	dp->records++;
	dp->sslv2 = 0;
	/* A pure SSLv2 peer keeps talking SSLv2: nothing more to read. */
	if ((hs->ch && hs->ch->legacy_version == TC_V_SSL2) || (hs->sh && hs->sh->sslv2))
		tc_hs_dir_finish(hs, d);
}

static void seek(struct tc_handshake *hs, enum tc_dir d, const uint8_t *buf, size_t len, int eof)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	size_t resume = 0;
	long off;

	if (len < TC_RECORD_HEADER && !eof)
		return;
	if (dp->scan == 0 && sslv2_hello_plausible(buf, len)) {
		dp->sslv2 = 1;
		dp->state = TC_DS_RECORDS;
		hs->tls_found = 1;
		return;
	}
	if (dp->scan == 0 && tc_tls_record_plausible(buf, len)) {
		dp->state = TC_DS_RECORDS;
		hs->tls_found = 1;
		return;
	}
	off = tc_find_tls_start(buf + dp->scan, len - dp->scan, &resume);
	if (off >= 0) {
		dp->pos = dp->scan + (uint32_t)off;
		hs->tls_offset[d] = dp->pos;
		dp->state = TC_DS_RECORDS;
		hs->tls_found = 1;
		return;
	}
	dp->scan += (uint32_t)resume;
	if (eof || dp->scan >= TC_MAX_PREAMBLE)
		tc_hs_dir_finish(hs, d);
}

static void tls_feed(struct tc_handshake *hs, enum tc_dir d, const uint8_t *buf, size_t len,
                     int eof)
{
	static const uint8_t none[1];
	struct tc_dir_parse *dp = &hs->dir[d];
	struct tc_cursor c, body;
	uint8_t type;
	uint16_t rlen;

	/* A direction that ends before its first byte (a RST, a FIN alone) has no buffer yet:
	 * buf + 0 on NULL is undefined behaviour (found by fuzz_pipeline). */
	if (!buf) {
		buf = none;
		len = 0;
	}
	if (dp->state == TC_DS_SEEK)
		seek(hs, d, buf, len, eof);
	while (dp->state == TC_DS_RECORDS) {
		if (dp->rec_left) { /* the rest of a record read as it arrives (below) */
			size_t n = len - dp->pos < dp->rec_left ? len - dp->pos : dp->rec_left;

			tc_cursor_init(&body, buf + dp->pos, n);
			dp->pos += (uint32_t)n;
			dp->rec_left -= (uint32_t)n;
			tc_hs_handshake_bytes(hs, d, body);
			if (dp->rec_left) {
				if (eof)
					flush_partial(hs, d, 1);
				return;
			}
			dp->records++;
			continue;
		}
		if (dp->sslv2) {
			size_t before = dp->pos;
			sslv2_record(hs, d, buf, len);
			if (dp->pos == before) {
				if (eof)
					flush_partial(hs, d, len > dp->pos);
				return;
			}
			continue;
		}
		tc_cursor_init(&c, buf + dp->pos, len - dp->pos);
		if (tc_cursor_left(&c) < TC_RECORD_HEADER) {
			if (eof)
				flush_partial(hs, d, tc_cursor_left(&c) > 0);
			return;
		}
		if (!tc_tls_record_plausible(tc_cursor_ptr(&c), tc_cursor_left(&c))) {
			tc_hs_set_err(hs, d, TC_ERR_RECORD_VERSION);
			tc_hs_dir_finish(hs, d);
			return;
		}
		tc_cursor_get_u8(&c, &type);
		tc_cursor_skip(&c, 2);
		tc_cursor_get_u16(&c, &rlen);
		if (!tc_cursor_get_bytes(&c, rlen, &body)) {
			/* Once both hellos are parsed no handshake message is kept (tc_hs_wanted):
			 * a handshake record (a certificate chain, mostly) is read as its bytes
			 * arrive, so the caller need not keep it whole across segments. */
			if (!eof && type == TC_RT_HANDSHAKE && hs->ch && hs->sh) {
				dp->rec_left = rlen - (uint32_t)tc_cursor_left(&c);
				dp->pos += TC_RECORD_HEADER + (uint32_t)tc_cursor_left(&c);
				tc_hs_handshake_bytes(hs, d, c);
				return;
			}
			if (!eof)
				return;
			/* The capture ends inside this record: its first part may still hold a
			 * whole hello (the ServerHello before a long Certificate, say). */
			on_record(hs, d, type, c);
			flush_partial(hs, d, 1);
			return;
		}
		dp->pos += TC_RECORD_HEADER + rlen;
		on_record(hs, d, type, body);
		dp->records++;
	}
}

const struct tc_dissector tc_dissector_tls = {
    .name = "tls",
    .feed = tls_feed,
};
