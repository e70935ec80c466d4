/*
 * test_quic.c: QUIC Initials. First the published example of RFC 9001 Appendix A (v1) and
 * RFC 9369 Appendix A (v2): initial secrets, keys, header protection and the decrypted payload
 * of the client's and the server's Initial, and the hellos the UDP dissector finds in them.
 * Then Initials sealed here with those keys (AES-128-GCM and the header protection of RFC 9001
 * 5.3-5.4, through libcrypto): a ClientHello cut into CRYPTO frames sent out of order over two
 * packets, coalesced with a Handshake packet, under a second connection ID; a hello over the
 * bound; a hello with a hole; which datagrams may open a flow; every cut of the client's
 * datagram, which must never crash nor yield a hello.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../dissectors/quic.h"
#include "quic_vectors.h"
#include "tc_test.h"
#include "tlscensus/dissector.h"
#include "tlscensus/fingerprint.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static int same_hex(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[2048];

	return unhex(hex, want, sizeof want) == n && memcmp(p, want, n) == 0;
}

/* ------------------------------------------------------------------ the RFC examples */

static void check_keys(const struct tc_quic_version *qv, const char *cs, const char *ss,
                       const char *ckih, const char *skih)
{
	uint8_t dcid[8], c[TC_QUIC_SECRET], s[TC_QUIC_SECRET];
	struct tc_quic_keys k[2];

	unhex(qv_dcid, dcid, sizeof dcid);
	CHECK(tc_quic_initial_secrets(qv, dcid, sizeof dcid, c, s) == 0);
	CHECK(same_hex(c, sizeof c, cs));
	CHECK(same_hex(s, sizeof s, ss));
	CHECK(tc_quic_initial_keys(qv, dcid, sizeof dcid, k) == 0);
	uint8_t kih[44];
	memcpy(kih, k[0].key, 16);
	memcpy(kih + 16, k[0].iv, 12);
	memcpy(kih + 28, k[0].hp, 16);
	CHECK(same_hex(kih, sizeof kih, ckih));
	memcpy(kih, k[1].key, 16);
	memcpy(kih + 16, k[1].iv, 12);
	memcpy(kih + 28, k[1].hp, 16);
	CHECK(same_hex(kih, sizeof kih, skih));
}

/* Opens the RFC's packet: header protection off (packet number pn), payload as published. */
static void check_open(const struct tc_quic_version *qv, const char *packet, int server)
{
	uint8_t dcid[8], pkt[1200], want[1200];
	struct tc_quic_keys k[2];
	size_t n = unhex(packet, pkt, sizeof pkt), off = 0, wn;
	uint64_t pn = 0;
	long got;

	unhex(qv_dcid, dcid, sizeof dcid);
	tc_quic_initial_keys(qv, dcid, sizeof dcid, k);
	/* The client's header: first, version, 8-byte DCID, empty SCID, empty token, 2-byte
	 * Length: 18 bytes to the packet number. The server's has an 8-byte SCID instead. */
	got = tc_quic_open(&k[server], pkt, n, 18, -1, &pn, &off);
	memset(want, 0, sizeof want);
	wn = unhex(server ? qv_server_payload : qv_client_frames, want, sizeof want);
	CHECK_EQ(pn, server ? 1 : 2);
	CHECK_EQ(off, server ? 20 : 22);
	CHECK_EQ(got, server ? 99 : 1162);
	CHECK(got > 0 && memcmp(pkt + off, want, (size_t)got) == 0);
	CHECK(wn <= (size_t)(got > 0 ? got : 0));
	/* The unprotected first byte: Initial, 2-byte (server) or 4-byte (client) number. */
	CHECK_EQ(pkt[0], qv->v2 ? (server ? 0xd1 : 0xd3) : (server ? 0xc1 : 0xc3));

	/* The other side's keys, or one bit changed, and it does not open. */
	n = unhex(packet, pkt, sizeof pkt);
	CHECK(tc_quic_open(&k[!server], pkt, n, 18, -1, &pn, &off) < 0);
	n = unhex(packet, pkt, sizeof pkt);
	pkt[n - 40] ^= 1;
	CHECK(tc_quic_open(&k[server], pkt, n, 18, -1, &pn, &off) < 0);
	n = unhex(packet, pkt, sizeof pkt);
	pkt[7] ^= 1; /* the DCID, covered by the AEAD only */
	CHECK(tc_quic_open(&k[server], pkt, n, 18, -1, &pn, &off) < 0);
}

/* One datagram handed over in a buffer of exactly its size, as the census does. */
static enum tc_datagram_kind feed(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p,
                                  size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	enum tc_datagram_kind k;

	memcpy(copy, p, n);
	k = tc_dissector_udp.datagram(hs, d, copy, n);
	free(copy);
	return k;
}

static void check_dissected(const char *client, const char *server, uint32_t version)
{
	uint8_t c[1200], s[200];
	size_t cn = unhex(client, c, sizeof c), sn = unhex(server, s, sizeof s);
	struct tc_handshake hs;

	CHECK(tc_dissector_udp.opens(c, cn));
	tc_handshake_init(&hs);
	CHECK_EQ(feed(&hs, TC_DIR_A, c, cn), TC_DG_DISSECTED);
	CHECK(hs.ch != NULL);
	if (hs.ch) {
		CHECK(hs.ch->has_sni && hs.ch->sni_len == 11 &&
		      memcmp(hs.ch->sni, "example.com", 11) == 0);
		CHECK(hs.ch->quic);
		CHECK_EQ(hs.ch->cipher_n, 2);
		/* the shape covers the flag set after the parse: not a TCP hello's row */
		CHECK(hs.ch->shape && hs.ch->shape == tc_client_hello_shape(hs.ch));
	}
	CHECK_EQ(hs.quic_version, version);
	CHECK_EQ(hs.client_dir, TC_DIR_A);
	CHECK(!tc_dir_done(&hs, TC_DIR_A));
	CHECK_EQ(feed(&hs, TC_DIR_B, s, sn), TC_DG_DISSECTED);
	CHECK(hs.sh != NULL);
	if (hs.sh) {
		CHECK_EQ(hs.sh->cipher, 0x1301);
		CHECK_EQ(hs.sh->selected_version, 0x0304);
	}
	CHECK(tc_dir_done(&hs, TC_DIR_A) && tc_dir_done(&hs, TC_DIR_B));
	CHECK_EQ(hs.err, TC_ERR_NONE);
	tc_handshake_free(&hs);
}

/* ------------------------------------------------------------------ Initials sealed here */

struct sealer {
	const struct tc_quic_version *qv;
	struct tc_quic_keys k[2];
	uint8_t dcid[8];
};

/* An Initial carrying payload (padded so the header protection sample exists), with a 2-byte
 * packet number: RFC 9000 17.2.2, RFC 9001 5.3-5.4. Returns its length. */
static size_t seal(const struct sealer *s, int server, const uint8_t *dcid, uint64_t pn,
                   const uint8_t *payload, size_t plen, uint8_t *out)
{
	uint8_t nonce[12], mask[16];
	size_t at = 0, pn_off, body;
	int outl;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const struct tc_quic_keys *k = &s->k[server];

	out[at++] = (uint8_t)(0xc0 | (s->qv->v2 ? 1 : 0) << 4 | 1);
	for (int i = 3; i >= 0; i--)
		out[at++] = (uint8_t)(s->qv->version >> (8 * i));
	out[at++] = 8;
	memcpy(out + at, dcid, 8);
	at += 8;
	out[at++] = 0; /* SCID */
	out[at++] = 0; /* token */
	out[at++] = (uint8_t)(0x40 | (2 + plen + 16) >> 8);
	out[at++] = (uint8_t)(2 + plen + 16);
	pn_off = at;
	out[at++] = (uint8_t)(pn >> 8);
	out[at++] = (uint8_t)pn;
	body = at;
	memcpy(nonce, k->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k->key, nonce);
	EVP_EncryptUpdate(ctx, NULL, &outl, out, (int)body);
	EVP_EncryptUpdate(ctx, out + body, &outl, payload, (int)plen);
	EVP_EncryptFinal_ex(ctx, out + body + plen, &outl);
	EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + body + plen);
	EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k->hp, NULL);
	EVP_EncryptUpdate(ctx, mask, &outl, out + pn_off + 4, 16);
	EVP_CIPHER_CTX_free(ctx);
	out[0] ^= mask[0] & 0x0f;
	out[pn_off] ^= mask[1];
	out[pn_off + 1] ^= mask[2];
	return body + plen + 16;
}

/* A CRYPTO frame (RFC 9000 19.6) with 2-byte varints for offset and length. */
static size_t crypto(uint8_t *out, uint32_t off, const uint8_t *data, size_t n)
{
	out[0] = 0x06;
	out[1] = (uint8_t)(0x40 | off >> 8);
	out[2] = (uint8_t)off;
	out[3] = (uint8_t)(0x40 | n >> 8);
	out[4] = (uint8_t)n;
	memcpy(out + 5, data, n);
	return 5 + n;
}

static void sealer_init(struct sealer *s, uint32_t version)
{
	s->qv = tc_quic_version_find(version);
	unhex(qv_dcid, s->dcid, sizeof s->dcid);
	tc_quic_initial_keys(s->qv, s->dcid, sizeof s->dcid, s->k);
}

/* The RFC's ClientHello (handshake header and body, 241 bytes) from its CRYPTO frame. */
static size_t rfc_hello(uint8_t *out)
{
	uint8_t f[300];
	size_t n = unhex(qv_client_frames, f, sizeof f);

	memcpy(out, f + 4, n - 4);
	return n - 4;
}

static void check_reordered(void)
{
	struct sealer s;
	struct tc_handshake hs;
	uint8_t ch[300], pay[1300], dg[3000], other[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	size_t chn = rfc_hello(ch), pn, dn;

	sealer_init(&s, 0x00000001);
	tc_handshake_init(&hs);
	/* Datagram 1: one Initial with the last third, then the first third (Chrome's order),
	 * padded; then a Handshake packet (type 2), which is not opened but skipped. */
	pn = crypto(pay, 160, ch + 160, chn - 160);
	pn += crypto(pay + pn, 0, ch, 80);
	memset(pay + pn, 0, 1000);
	pn += 1000;
	dn = seal(&s, 0, s.dcid, 0, pay, pn, dg);
	/* Handshake packet: first byte, version, DCID, empty SCID, no token, 2-byte Length. */
	size_t hs_at = dn;
	memcpy(dg + dn, dg, 40);
	dg[hs_at] = 0xe0;
	dg[hs_at + 15] = 0x40;
	dg[hs_at + 16] = 40 - 17;
	dn += 40;
	CHECK(tc_dissector_udp.opens(dg, dn));
	CHECK_EQ(feed(&hs, TC_DIR_A, dg, dn), TC_DG_DISSECTED);
	CHECK(hs.ch == NULL);
	/* Datagram 2: the middle third and some of what came, under another Destination
	 * Connection ID: the keys stay those of the first Initial's (RFC 9001 5.2). */
	pn = crypto(pay, 40, ch + 40, 120);
	memset(pay + pn, 0, 40);
	dn = seal(&s, 0, other, 1, pay, pn + 40, dg);
	CHECK_EQ(feed(&hs, TC_DIR_A, dg, dn), TC_DG_DISSECTED);
	CHECK(hs.ch != NULL);
	if (hs.ch)
		CHECK(hs.ch->has_sni && memcmp(hs.ch->sni, "example.com", 11) == 0);
	CHECK_EQ(hs.err, TC_ERR_NONE);
	/* A 1-RTT packet from the client: its handshake is past the Initials. */
	uint8_t shorthdr[40] = {0x41};
	CHECK_EQ(feed(&hs, TC_DIR_A, shorthdr, sizeof shorthdr), TC_DG_DISSECTED);
	CHECK(tc_dir_done(&hs, TC_DIR_A) && tc_dir_done(&hs, TC_DIR_B));
	tc_handshake_free(&hs);
}

/* A hello of 1,845 bytes (the RFC's with a 1,604-byte padding extension, as large as a
 * post-quantum key share makes Chrome's) over three Initials, last piece first. */
static void check_large(void)
{
	struct sealer s;
	struct tc_handshake hs;
	static uint8_t ch[2000], pay[1300], dg[1400];
	size_t chn = rfc_hello(ch), pn, dn, pad = 1600;
	uint32_t body;

	sealer_init(&s, 0x6b3343cf);
	tc_handshake_init(&hs);
	/* RFC 7685 padding extension (21) at the end; the body and extensions lengths grow. */
	ch[chn++] = 0x00;
	ch[chn++] = 21;
	ch[chn++] = (uint8_t)(pad >> 8);
	ch[chn++] = (uint8_t)pad;
	memset(ch + chn, 0, pad);
	chn += pad;
	body = (uint32_t)chn - 4;
	ch[1] = (uint8_t)(body >> 16);
	ch[2] = (uint8_t)(body >> 8);
	ch[3] = (uint8_t)body;
	/* The extensions block length sits after version, random, session_id (1), suites (2 + 4)
	 * and compression (1 + 1): at body offset 43. */
	unsigned ext = (unsigned)(ch[4 + 43] << 8 | ch[4 + 44]) + (unsigned)pad + 4;
	ch[4 + 43] = (uint8_t)(ext >> 8);
	ch[4 + 44] = (uint8_t)ext;
	const size_t cut[4] = {0, 700, 1400, chn};
	for (int i = 2; i >= 0; i--) {
		pn = crypto(pay, (uint32_t)cut[i], ch + cut[i], cut[i + 1] - cut[i]);
		memset(pay + pn, 0, pn < 1100 ? 1100 - pn : 0);
		pn = pn < 1100 ? 1100 : pn;
		dn = seal(&s, 0, s.dcid, (uint64_t)(2 - i), pay, pn, dg);
		CHECK(hs.ch == NULL);
		feed(&hs, TC_DIR_A, dg, dn);
	}
	CHECK(hs.ch != NULL);
	if (hs.ch) {
		CHECK(hs.ch->has_sni && memcmp(hs.ch->sni, "example.com", 11) == 0);
		CHECK_EQ(hs.ch->exts[hs.ch->ext_n - 1], 21);
	}
	CHECK_EQ(hs.quic_version, 0x6b3343cf);
	CHECK_EQ(hs.err, TC_ERR_NONE);
	tc_handshake_free(&hs);
}

/* RFC 8446 4.1.3: the server's Initial stream holds a HelloRetryRequest (the RFC's
 * ServerHello with the magic random), then, after the client's second ClientHello further on in
 * its stream, the real ServerHello. Both ClientHellos are counted; the second ServerHello is
 * kept. */
static void check_hrr(void)
{
	static const char hrr_random[] =
	    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c";
	struct sealer s;
	struct tc_handshake hs;
	uint8_t ch[300], sp[200], sh[100], hrr[100], pay[1300], dg[1400];
	size_t chn = rfc_hello(ch), shn, pn, dn;

	sealer_init(&s, 0x00000001);
	unhex(qv_server_payload, sp, sizeof sp);
	shn = 94; /* after the ACK frame (5 bytes) and the CRYPTO frame's header (4) */
	memcpy(sh, sp + 9, shn - 4);
	shn -= 4;
	memcpy(hrr, sh, shn);
	unhex(hrr_random, hrr + 6, 32);
	tc_handshake_init(&hs);
	for (int step = 0; step < 4; step++) {
		int server = step % 2;
		if (step == 0)
			pn = crypto(pay, 0, ch, chn);
		else if (step == 1)
			pn = crypto(pay, 0, hrr, shn);
		else if (step == 2)
			pn = crypto(pay, (uint32_t)chn, ch, chn);
		else
			pn = crypto(pay, (uint32_t)shn, sh, shn);
		memset(pay + pn, 0, 1000);
		dn = seal(&s, server, s.dcid, (uint64_t)step / 2, pay, pn + (server ? 20 : 1000),
		          dg);
		feed(&hs, server ? TC_DIR_B : TC_DIR_A, dg, dn);
		CHECK(hs.sh == NULL || step == 3);
	}
	CHECK(hs.hrr_seen);
	CHECK_EQ(hs.ch_count, 2);
	CHECK(hs.sh != NULL && !hs.sh->is_hrr && hs.sh->cipher == 0x1301);
	CHECK(tc_dir_done(&hs, TC_DIR_A) && tc_dir_done(&hs, TC_DIR_B));
	tc_handshake_free(&hs);
}

/* A hello whose header announces more than TC_MAX_HELLO_MSG, and one with a hole at the end. */
static void check_bounds(void)
{
	struct sealer s;
	struct tc_handshake hs;
	uint8_t ch[300], pay[1300], dg[1400];
	size_t chn = rfc_hello(ch), pn, dn;

	sealer_init(&s, 0x00000001);
	tc_handshake_init(&hs);
	ch[1] = 0x01; /* length 0x0100ed: over 64 KiB */
	pn = crypto(pay, 0, ch, chn);
	memset(pay + pn, 0, 900);
	dn = seal(&s, 0, s.dcid, 0, pay, pn + 900, dg);
	feed(&hs, TC_DIR_A, dg, dn);
	tc_dissector_udp.end(&hs, TC_DIR_A);
	tc_dissector_udp.end(&hs, TC_DIR_B);
	CHECK_EQ(hs.err, TC_ERR_BOUND);
	CHECK(hs.ch == NULL);
	tc_handshake_free(&hs);

	/* The first 200 bytes, then a piece past the bound: cut, flagged, the fields before the
	 * cut kept (the extensions block is incomplete, so it is not read). */
	rfc_hello(ch);
	tc_handshake_init(&hs);
	pn = crypto(pay, 0, ch, 200);
	pay[pn++] = 0x06; /* CRYPTO at offset 2^20, one byte */
	pay[pn++] = 0x80;
	pay[pn++] = 0x10;
	pay[pn++] = 0x00;
	pay[pn++] = 0x00;
	pay[pn++] = 0x01;
	pay[pn++] = 0xaa;
	memset(pay + pn, 0, 900);
	dn = seal(&s, 0, s.dcid, 0, pay, pn + 900, dg);
	feed(&hs, TC_DIR_A, dg, dn);
	CHECK(hs.ch == NULL);
	tc_dissector_udp.end(&hs, TC_DIR_A);
	tc_dissector_udp.end(&hs, TC_DIR_B);
	CHECK(hs.ch != NULL);
	CHECK_EQ(hs.err, TC_ERR_TRUNCATED);
	if (hs.ch) {
		CHECK(hs.ch->quic);
		CHECK_EQ(hs.ch->cipher_n, 2); /* what came before the cut */
		CHECK(hs.ch->partial && hs.ch->shape == tc_client_hello_shape(hs.ch));
	}
	tc_handshake_free(&hs);
}

/* What may open a flow: Initials of versions we read; not DNS, short headers, Version
 * Negotiation, Retry, or a cut Initial. */
static void check_opens(void)
{
	uint8_t c[1200], vn[64] = {0x80, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 1};
	uint8_t retry[64] = {0xf0, 0, 0, 0, 1, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	/* A DNS query for example.com (RFC 1035 4.1), and one whose ID starts like a long
	 * header with the fixed bit. */
	uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	                 0x00, 0x00, 7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',
	                 3,    'c',  'o',  'm',  0,    0x00, 0x01, 0x00, 0x01};
	uint8_t shorthdr[1200];
	size_t n = unhex(qv1_client_packet, c, sizeof c);

	CHECK(tc_dissector_udp.opens(c, n));
	CHECK(!tc_dissector_udp.opens(c, 40));
	CHECK(!tc_dissector_udp.opens(dns, sizeof dns));
	dns[0] = 0xc3;
	CHECK(!tc_dissector_udp.opens(dns, sizeof dns));
	memset(shorthdr, 0x5a, sizeof shorthdr);
	shorthdr[0] = 0x43;
	CHECK(!tc_dissector_udp.opens(shorthdr, sizeof shorthdr));
	CHECK(!tc_dissector_udp.opens(vn, sizeof vn));
	CHECK(!tc_dissector_udp.opens(retry, sizeof retry));
	c[1] = 0x1a; /* version 0x1a000001: nobody's */
	CHECK(!tc_dissector_udp.opens(c, n));

	/* On a QUIC flow, Version Negotiation and Retry are QUIC, and open nothing. */
	struct tc_handshake hs;
	tc_handshake_init(&hs);
	CHECK_EQ(feed(&hs, TC_DIR_B, vn, sizeof vn), TC_DG_OTHER); /* no QUIC flow yet */
	n = unhex(qv1_client_packet, c, sizeof c);
	feed(&hs, TC_DIR_A, c, n);
	CHECK_EQ(feed(&hs, TC_DIR_B, retry, sizeof retry), TC_DG_DISSECTED);
	CHECK_EQ(feed(&hs, TC_DIR_B, vn, sizeof vn), TC_DG_DISSECTED);
	CHECK(hs.sh == NULL && hs.ch != NULL);
	tc_handshake_free(&hs);
}

/* Every cut of the client's datagram, and every byte of its header changed: no crash (the
 * sanitizers watch), and no hello from bytes that do not authenticate. */
static void check_cuts(void)
{
	uint8_t c[1200];
	size_t n = unhex(qv1_client_packet, c, sizeof c);
	int hellos = 0;

	for (size_t k = 0; k < n; k++) {
		struct tc_handshake hs;
		tc_handshake_init(&hs);
		if (tc_dissector_udp.opens(c, k))
			hellos += 1000;
		feed(&hs, TC_DIR_A, c, k);
		tc_dissector_udp.end(&hs, TC_DIR_A);
		tc_dissector_udp.end(&hs, TC_DIR_B);
		hellos += hs.ch != NULL;
		tc_handshake_free(&hs);
	}
	CHECK_EQ(hellos, 0);
	for (size_t i = 0; i < 26; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			struct tc_handshake hs;
			n = unhex(qv1_client_packet, c, sizeof c);
			c[i] ^= (uint8_t)(1u << bit);
			tc_handshake_init(&hs);
			feed(&hs, TC_DIR_A, c, n);
			tc_dissector_udp.end(&hs, TC_DIR_A);
			/* Only the bits header protection masks may change and still open. */
			if (hs.ch && !(i == 0 && bit < 4) && !(i >= 18 && i < 22))
				hellos++;
			tc_handshake_free(&hs);
		}
	}
	CHECK_EQ(hellos, 0);
}

int main(void)
{
	const struct tc_quic_version *v1 = tc_quic_version_find(1),
	                             *v2 = tc_quic_version_find(0x6b3343cf);

	CHECK(v1 && v2 && !v1->v2 && v2->v2);
	CHECK(tc_quic_version_find(0xff00001d) && tc_quic_version_find(0x709a50c4));
	CHECK(!tc_quic_version_find(0) && !tc_quic_version_find(0x1a2a3a4a));
	if (!v1 || !v2)
		TEST_DONE("quic");
	check_keys(v1, qv1_client_secret, qv1_server_secret, qv1_client_kih, qv1_server_kih);
	check_keys(v2, qv2_client_secret, qv2_server_secret, qv2_client_kih, qv2_server_kih);
	check_open(v1, qv1_client_packet, 0);
	check_open(v1, qv1_server_packet, 1);
	check_open(v2, qv2_client_packet, 0);
	check_open(v2, qv2_server_packet, 1);
	check_dissected(qv1_client_packet, qv1_server_packet, 0x00000001);
	check_dissected(qv2_client_packet, qv2_server_packet, 0x6b3343cf);
	check_reordered();
	check_large();
	check_hrr();
	check_bounds();
	check_opens();
	check_cuts();
	TEST_DONE("quic");
}
