/*
 * test_dtls.c: the DTLS record layer on datagrams built here field by field from RFC 6347
 * 4.1-4.2 and RFC 7983: a ClientHello with and without cookie, fragmented over records and
 * over datagrams, HelloVerifyRequest then the second ClientHello (the first wins), ServerHello,
 * a STUN datagram, a later epoch, and every datagram cut at every offset. Then the UDP
 * dissector the census calls: which datagrams open a flow, and what each one was.
 */
#include <stdlib.h>

#include "../dissectors/handshake.h" /* the DTLS layer under tc_dissector_udp */
#include "hsbuild.h"
#include "tc_test.h"
#include "tlscensus/dissector.h"

#define V_DTLS10 0xfeff
#define V_DTLS12 0xfefd

static struct hsb body, dg, dg2;

/* RFC 6347 4.2.1 ClientHello: version, random, session_id, cookie, suites, compression,
 * extensions (supported_groups, ec_point_formats). */
static void client_hello(struct hsb *h, unsigned cookie_len, unsigned first_suite)
{
	size_t at, ext;

	h->n = 0;
	hsb_u16(h, V_DTLS12);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, i);
	hsb_u8(h, 0); /* session_id */
	hsb_u8(h, cookie_len);
	for (unsigned i = 0; i < cookie_len; i++)
		hsb_u8(h, 0xc0 + i);
	hsb_u16(h, 4);
	hsb_u16(h, first_suite);
	hsb_u16(h, 0xc02f);
	hsb_u8(h, 1);
	hsb_u8(h, 0);
	at = hsb_open(h, 2);
	hsb_u16(h, 10);
	ext = hsb_open(h, 2);
	hsb_u16(h, 2);
	hsb_u16(h, 0x001d);
	hsb_close(h, ext, 2);
	hsb_u16(h, 11);
	hsb_u16(h, 2);
	hsb_u8(h, 1);
	hsb_u8(h, 0);
	hsb_close(h, at, 2);
}

static void server_hello(struct hsb *h)
{
	h->n = 0;
	hsb_u16(h, V_DTLS12);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, 0x40 + i);
	hsb_u8(h, 0);
	hsb_u16(h, 0xc02b);
	hsb_u8(h, 0);
	hsb_u16(h, 0); /* empty extensions block */
}

/* A DTLS record header (RFC 6347 4.1): type, version, epoch, sequence_number(6), length. */
static void record(struct hsb *out, unsigned type, unsigned epoch, const uint8_t *p, size_t n)
{
	hsb_u8(out, type);
	hsb_u16(out, V_DTLS10);
	hsb_u16(out, epoch);
	hsb_u16(out, 0);
	hsb_u16(out, 0);
	hsb_u16(out, 1);
	hsb_u16(out, (unsigned)n);
	hsb_bytes(out, p, n);
}

/* One handshake record holding the fragment [off, off + n) of a message (RFC 6347 4.2.2). */
static void fragment(struct hsb *out, unsigned type, unsigned seq, const struct hsb *msg,
                     size_t off, size_t n)
{
	struct hsb *r = malloc(sizeof(*r));

	r->n = 0;
	hsb_u8(r, type);
	hsb_u24(r, (unsigned)msg->n);
	hsb_u16(r, seq);
	hsb_u24(r, (unsigned)off);
	hsb_u24(r, (unsigned)n);
	hsb_bytes(r, msg->b + off, n);
	record(out, 22, 0, r->b, r->n);
	free(r);
}

static void test_whole(unsigned cookie)
{
	struct tc_handshake hs;

	client_hello(&body, cookie, 0xc02b);
	dg.n = 0;
	fragment(&dg, 1, 0, &body, 0, body.n);
	CHECK(tc_dtls_plausible(dg.b, dg.n));
	tc_handshake_init(&hs);
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);
	CHECK(hs.ch != NULL);
	if (hs.ch) {
		CHECK_EQ(hs.ch->legacy_version, V_DTLS12);
		CHECK_EQ(hs.ch->dtls, 1);
		CHECK_EQ(hs.ch->cookie_len, cookie);
		CHECK_EQ(hs.ch->cipher_n, 2);
		CHECK_EQ(hs.ch->ciphers[0], 0xc02b);
		CHECK_EQ(hs.ch->ext_n, 2);
		CHECK_EQ(hs.ch->group_n, 1);
	}
	CHECK_EQ(hs.client_dir, 0);
	CHECK_EQ(hs.err, TC_ERR_NONE);
	CHECK(!tc_dir_done(&hs, TC_DIR_A));
	tc_handshake_free(&hs);
}

static void test_fragments(void)
{
	struct tc_handshake hs;
	size_t half;

	client_hello(&body, 0, 0xc02b);
	half = body.n / 2;
	/* Over two records of one datagram. */
	dg.n = 0;
	fragment(&dg, 1, 0, &body, 0, half);
	fragment(&dg, 1, 0, &body, half, body.n - half);
	tc_handshake_init(&hs);
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);
	CHECK(hs.ch && hs.ch->cipher_n == 2 && hs.ch->group_n == 1);
	CHECK_EQ(hs.err, TC_ERR_NONE);
	tc_handshake_free(&hs);

	/* Over two datagrams, the first repeated (a retransmission) in between. */
	dg.n = dg2.n = 0;
	fragment(&dg, 1, 0, &body, 0, half + 3);
	fragment(&dg2, 1, 0, &body, half, body.n - half);
	tc_handshake_init(&hs);
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);
	CHECK(hs.ch == NULL);
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);
	CHECK(hs.ch == NULL);
	tc_dtls_datagram(&hs, TC_DIR_A, dg2.b, dg2.n);
	CHECK(hs.ch && hs.ch->cipher_n == 2 && hs.ch->group_n == 1);
	CHECK_EQ(hs.err, TC_ERR_NONE);
	tc_handshake_free(&hs);

	/* The second half never comes: the first half is kept, and the hello is cut. */
	tc_handshake_init(&hs);
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);
	tc_dtls_end(&hs, TC_DIR_A);
	CHECK(hs.ch != NULL);
	CHECK_EQ(hs.err, TC_ERR_TRUNCATED);
	CHECK(tc_dir_done(&hs, TC_DIR_A));
	tc_handshake_free(&hs);
}

/* RFC 6347 4.2.1: ClientHello, HelloVerifyRequest, ClientHello with the cookie; the first
 * ClientHello defines the connection. Then the ServerHello, and ChangeCipherSpec both ways. */
static void test_exchange(void)
{
	static const uint8_t hvr_body[] = {0xfe, 0xff, 4, 1, 2, 3, 4};
	static const uint8_t ccs[] = {1};
	struct tc_handshake hs;
	struct hsb hvr;

	tc_handshake_init(&hs);
	client_hello(&body, 0, 0xc02b);
	dg.n = 0;
	fragment(&dg, 1, 0, &body, 0, body.n);
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);

	hvr.n = 0;
	hsb_bytes(&hvr, hvr_body, sizeof(hvr_body));
	dg.n = 0;
	fragment(&dg, 3, 0, &hvr, 0, hvr.n);
	tc_dtls_datagram(&hs, TC_DIR_B, dg.b, dg.n);
	CHECK(hs.sh == NULL);

	client_hello(&body, 4, 0x1301);
	dg.n = 0;
	fragment(&dg, 1, 1, &body, 0, body.n);
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);
	CHECK(hs.ch && hs.ch->cookie_len == 0 && hs.ch->ciphers[0] == 0xc02b);

	server_hello(&body);
	dg.n = 0;
	fragment(&dg, 2, 1, &body, 0, body.n);
	tc_dtls_datagram(&hs, TC_DIR_B, dg.b, dg.n);
	CHECK(hs.sh != NULL);
	if (hs.sh) {
		CHECK_EQ(hs.sh->legacy_version, V_DTLS12);
		CHECK_EQ(hs.sh->cipher, 0xc02b);
		CHECK_EQ(hs.sh->is_hrr, 0);
	}
	CHECK_EQ(hs.err, TC_ERR_NONE);

	dg.n = 0;
	record(&dg, 20, 0, ccs, sizeof(ccs));
	tc_dtls_datagram(&hs, TC_DIR_A, dg.b, dg.n);
	CHECK(tc_dir_done(&hs, TC_DIR_A));
	/* The server's next flight in epoch 1 is encrypted: the direction is over. */
	dg.n = 0;
	record(&dg, 22, 1, ccs, sizeof(ccs));
	tc_dtls_datagram(&hs, TC_DIR_B, dg.b, dg.n);
	CHECK(tc_dir_done(&hs, TC_DIR_B));
	tc_handshake_free(&hs);
}

/* RFC 7983: STUN (first byte 0..3) is not DTLS and changes nothing; nor does a TLS record. */
static void test_not_dtls(void)
{
	static const uint8_t stun[] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
	                               3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
	static const uint8_t tls[] = {22, 3, 3, 0, 4, 1, 0, 0, 0};
	static const uint8_t alert[] = {2, 40};
	struct tc_handshake hs;

	CHECK(!tc_dtls_plausible(stun, sizeof(stun)));
	CHECK(!tc_dtls_plausible(tls, sizeof(tls)));
	tc_handshake_init(&hs);
	tc_dtls_datagram(&hs, TC_DIR_A, stun, sizeof(stun));
	CHECK_EQ(hs.dir[0].state, TC_DS_SEEK);
	CHECK_EQ(hs.tls_found, 0);
	CHECK(hs.ch == NULL);

	/* A fatal plaintext alert ends its direction, as in TLS. */
	dg.n = 0;
	record(&dg, 21, 0, alert, sizeof(alert));
	tc_dtls_datagram(&hs, TC_DIR_B, dg.b, dg.n);
	CHECK(hs.alert.seen && hs.alert.desc == 40 && hs.alert.dir == TC_DIR_B);
	CHECK(tc_dir_done(&hs, TC_DIR_B));
	tc_handshake_free(&hs);
}

/* Every prefix of every datagram above: no read past the cut, no leak, no crash. */
static void test_cuts(void)
{
	client_hello(&body, 8, 0xc02b);
	dg.n = 0;
	fragment(&dg, 1, 0, &body, 0, body.n / 3);
	fragment(&dg, 1, 0, &body, body.n / 3, body.n - body.n / 3);
	for (size_t cut = 0; cut <= dg.n; cut++) {
		struct tc_handshake hs;
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, dg.b, cut);
		tc_handshake_init(&hs);
		tc_dtls_plausible(copy, cut);
		tc_dtls_datagram(&hs, TC_DIR_A, copy, cut);
		CHECK(cut == dg.n ? hs.ch != NULL : 1);
		tc_dtls_end(&hs, TC_DIR_A);
		tc_dtls_end(&hs, TC_DIR_B);
		tc_handshake_free(&hs);
		free(copy);
	}
}

/* RFC 7983 7 and RFC 8489 5 through tc_dissector_udp: a STUN binding with the magic cookie
 * or a DTLS handshake record may open a flow, nothing else; each datagram is named, and once
 * DTLS was seen every datagram in its range goes to the record layer. */
static void test_udp(void)
{
	static const uint8_t stun[] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
	                               3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
	static const uint8_t rtp[] = {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t quic[] = {0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t alert[] = {1, 0};
	const struct tc_dissector *udp = &tc_dissector_udp;
	struct tc_handshake hs;
	uint8_t b[sizeof(stun)];

	CHECK(udp->opens && udp->datagram && udp->end && !udp->feed);
	CHECK(udp->opens(stun, sizeof(stun)));
	/* Without the cookie, or shorter than a STUN header, it is not STUN that opens a flow. */
	memcpy(b, stun, sizeof(b));
	b[7] ^= 1;
	CHECK(!udp->opens(b, sizeof(b)));
	CHECK(!udp->opens(stun, sizeof(stun) - 1));
	CHECK(!udp->opens(rtp, sizeof(rtp)));
	CHECK(!udp->opens(quic, sizeof(quic)));
	CHECK(!udp->opens(NULL, 0));
	client_hello(&body, 0, 0xc02b);
	dg.n = 0;
	fragment(&dg, 1, 0, &body, 0, body.n);
	CHECK(udp->opens(dg.b, dg.n));
	/* A DTLS record that is not a handshake opens nothing. */
	dg2.n = 0;
	record(&dg2, 21, 0, alert, sizeof(alert));
	CHECK(!udp->opens(dg2.b, dg2.n));

	tc_handshake_init(&hs);
	CHECK_EQ(udp->datagram(&hs, TC_DIR_A, stun, sizeof(stun)), TC_DG_STUN);
	CHECK_EQ(udp->datagram(&hs, TC_DIR_A, b, 4), TC_DG_STUN); /* the range, not the cookie */
	CHECK_EQ(udp->datagram(&hs, TC_DIR_A, rtp, sizeof(rtp)), TC_DG_OTHER);
	CHECK_EQ(udp->datagram(&hs, TC_DIR_A, quic, sizeof(quic)), TC_DG_OTHER);
	CHECK_EQ(udp->datagram(&hs, TC_DIR_A, NULL, 0), TC_DG_OTHER);
	/* Before any DTLS handshake record, an alert in DTLS's range is not taken. */
	CHECK_EQ(udp->datagram(&hs, TC_DIR_B, dg2.b, dg2.n), TC_DG_OTHER);
	CHECK(!hs.tls_found && !hs.alert.seen);
	CHECK_EQ(udp->datagram(&hs, TC_DIR_A, dg.b, dg.n), TC_DG_DISSECTED);
	CHECK(hs.tls_found && hs.ch && hs.ch->dtls);
	/* After it, the same alert is DTLS. */
	CHECK_EQ(udp->datagram(&hs, TC_DIR_B, dg2.b, dg2.n), TC_DG_DISSECTED);
	CHECK(hs.alert.seen && hs.alert.dir == TC_DIR_B);
	CHECK_EQ(udp->datagram(&hs, TC_DIR_B, stun, sizeof(stun)), TC_DG_STUN);
	udp->end(&hs, TC_DIR_A);
	udp->end(&hs, TC_DIR_B);
	CHECK(tc_dir_done(&hs, TC_DIR_A) && tc_dir_done(&hs, TC_DIR_B));
	CHECK_EQ(hs.err, TC_ERR_NONE);
	tc_handshake_free(&hs);

	/* end() inside a fragmented hello keeps what came and says it was cut. */
	dg.n = 0;
	fragment(&dg, 1, 0, &body, 0, body.n / 2);
	tc_handshake_init(&hs);
	CHECK_EQ(udp->datagram(&hs, TC_DIR_A, dg.b, dg.n), TC_DG_DISSECTED);
	CHECK(hs.ch == NULL);
	udp->end(&hs, TC_DIR_A);
	CHECK(hs.ch != NULL);
	CHECK_EQ(hs.err, TC_ERR_TRUNCATED);
	tc_handshake_free(&hs);
}

int main(void)
{
	test_whole(0);
	test_whole(32);
	test_fragments();
	test_exchange();
	test_not_dtls();
	test_cuts();
	test_udp();
	TEST_DONE("dtls");
}
