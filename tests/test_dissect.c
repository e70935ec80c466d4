/*
 * test_dissect.c: the cursor, the hello parsers and the record walker on bytes built here:
 * hellos split over records and segments, several messages per record, HelloRetryRequest,
 * alerts, SSLv2, a STARTTLS preamble, malformed lengths, and a hello cut at every offset.
 */
#include <pthread.h>
#include <stdlib.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "hsbuild.h"
#include "tc_test.h"
#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"
#include "tlscensus/fingerprint.h"

static struct hsb scratch, body, msgs, wire;

/* The parsers on a hello that may hold lists from an earlier parse (or none: calloc'd). */
static enum tc_err parse_ch(const uint8_t *b, size_t n, struct tc_client_hello *ch)
{
	tc_client_hello_clear(ch);
	return tc_parse_client_hello(b, n, ch);
}

static enum tc_err parse_sh(const uint8_t *b, size_t n, struct tc_server_hello *sh)
{
	tc_server_hello_clear(sh);
	return tc_parse_server_hello(b, n, sh);
}

static void test_cursor(void)
{
	static const uint8_t b[] = {1, 2, 3, 4, 5, 0, 2, 9, 9, 0, 9};
	struct tc_cursor c, child, save;
	uint16_t v16;
	uint32_t v32;
	uint8_t v8;

	tc_cursor_init(&c, b, sizeof(b));
	CHECK(tc_cursor_get_u8(&c, &v8) && v8 == 1);
	CHECK(tc_cursor_get_u16(&c, &v16) && v16 == 0x0203);
	CHECK(tc_cursor_get_u16(&c, &v16) && v16 == 0x0405);
	CHECK(tc_cursor_get_prefixed(&c, 2, &child) && tc_cursor_left(&child) == 2);
	CHECK(tc_cursor_get_u16(&child, &v16) && v16 == 0x0909);
	CHECK(!tc_cursor_get_u8(&child, &v8));
	save = c;
	/* 0x0009: a prefix that promises more than is left fails and moves nothing. */
	CHECK(!tc_cursor_get_prefixed(&c, 2, &child));
	CHECK(c.data == save.data && c.len == save.len);
	CHECK(!tc_cursor_get_u32(&c, &v32));
	CHECK(tc_cursor_get_u16(&c, &v16) && v16 == 9);
	CHECK(!tc_cursor_skip(&c, 1));
	CHECK(!tc_cursor_get_be(&c, 5, &v32));
	tc_cursor_init(&c, NULL, 10);
	CHECK(tc_cursor_left(&c) == 0);
}

/* A vector that must fill what holds it: {0, 2, 7, 8} is exact, one byte more is not. */
static void test_cursor_exact(void)
{
	static const uint8_t b[] = {0, 2, 7, 8, 9};
	struct tc_cursor c, child, save;
	uint8_t v8;

	tc_cursor_init(&c, b, 4);
	CHECK(tc_cursor_get_prefixed_exact(&c, 2, &child));
	CHECK_EQ(tc_cursor_left(&c), 0);
	CHECK(tc_cursor_left(&child) == 2 && tc_cursor_get_u8(&child, &v8) && v8 == 7);

	/* A trailing byte: fails and moves nothing, where the plain read takes the vector. */
	tc_cursor_init(&c, b, 5);
	save = c;
	CHECK(!tc_cursor_get_prefixed_exact(&c, 2, &child));
	CHECK(c.data == save.data && c.len == save.len);
	CHECK(tc_cursor_get_prefixed(&c, 2, &child) && tc_cursor_left(&c) == 1);

	/* A prefix that promises more than is left fails too. */
	tc_cursor_init(&c, b, 3);
	CHECK(!tc_cursor_get_prefixed_exact(&c, 2, &child));
	CHECK_EQ(tc_cursor_left(&c), 3);

	/* An empty vector that ends the field is exact. */
	tc_cursor_init(&c, b, 1);
	CHECK(tc_cursor_get_prefixed_exact(&c, 1, &child) && tc_cursor_left(&child) == 0);
}

static void test_cursor_equal(void)
{
	static const uint8_t b[] = {'h', '2', 'x'};
	struct tc_cursor c;

	tc_cursor_init(&c, b, 2);
	CHECK(tc_cursor_equal(&c, (const uint8_t *)"h2", 2));
	CHECK(!tc_cursor_equal(&c, (const uint8_t *)"h3", 2));
	/* The whole remainder, never a prefix of either side. */
	CHECK(!tc_cursor_equal(&c, (const uint8_t *)"h", 1));
	CHECK(!tc_cursor_equal(&c, b, 3));
	CHECK(tc_cursor_skip(&c, 2) && tc_cursor_equal(&c, NULL, 0));
	tc_cursor_init(&c, NULL, 0);
	CHECK(tc_cursor_equal(&c, (const uint8_t *)"", 0));
}

static void test_cursor_copy(void)
{
	static const uint8_t b[] = {1, 2, 3};
	uint8_t out[4] = {9, 9, 9, 9};
	struct tc_cursor c;
	size_t n = 77;

	tc_cursor_init(&c, b, 3);
	CHECK(tc_cursor_copy(&c, out, 3, &n) && n == 3 && !memcmp(out, b, 3) && out[3] == 9);
	CHECK_EQ(tc_cursor_left(&c), 3); /* the cursor does not move */
	/* Too small: nothing copied, n untouched. */
	memset(out, 9, sizeof(out));
	n = 77;
	CHECK(!tc_cursor_copy(&c, out, 2, &n));
	CHECK(n == 77 && out[0] == 9 && out[1] == 9);
	/* Nothing left copies nothing, even into no room. */
	CHECK(tc_cursor_skip(&c, 3) && tc_cursor_copy(&c, NULL, 0, &n) && n == 0);
}

static void build_client_hello_msg(struct hsb *out, const char *sni)
{
	body.n = 0;
	hsb_client_hello_body(&body, sni);
	hsb_message(out, 1, &body);
}

static void test_client_hello_fields(void)
{
	struct tc_client_hello *ch = calloc(1, sizeof(*ch));

	body.n = 0;
	hsb_client_hello_body(&body, "legacy.example.test");
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_NONE);
	CHECK_EQ(ch->legacy_version, 0x0303);
	CHECK_EQ(ch->session_id_len, 32);
	CHECK_EQ(ch->cipher_n, 6);
	CHECK_EQ(ch->ciphers[0], 0x8a8a);
	CHECK_EQ(ch->ciphers[4], 0x000a);
	CHECK_EQ(ch->fallback_scsv, 0);
	CHECK_EQ(ch->compress_n, 1);
	CHECK_EQ(ch->ext_n, 9);
	CHECK_EQ(ch->exts[0], 0x2a2a);
	CHECK_EQ(ch->exts[8], 51);
	CHECK(ch->has_sni && !strcmp(ch->sni, "legacy.example.test"));
	CHECK_EQ(ch->group_n, 3);
	CHECK_EQ(ch->groups[1], 0x001d);
	CHECK_EQ(ch->pointfmt_n, 1);
	CHECK_EQ(ch->sigalg_n, 2);
	CHECK_EQ(ch->sigalgs[1], 0x0804);
	CHECK(ch->has_alpn && ch->alpn_len == 12 && !memcmp(ch->alpn, "\x02h2\x08http/1.1", 12));
	CHECK(ch->has_session_ticket);
	CHECK(ch->has_versions && ch->version_n == 3 && ch->versions[1] == 0x0304);
	CHECK_EQ(ch->kshare_n, 1);
	CHECK_EQ(ch->kshares[0], 0x001d);
	CHECK_EQ(tc_client_max_version(ch), 0x0304);
	CHECK(!ch->trunc);
	tc_client_hello_clear(ch);
	/* TLS_FALLBACK_SCSV (RFC 7507) in the suites, here in the last place (bytes 79-80 of
	 * the body: version, random, session id, the list's length, five suites before it) */
	body.b[79] = 0x56;
	body.b[80] = 0x00;
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_NONE);
	CHECK_EQ(ch->cipher_n, 6);
	CHECK_EQ(ch->ciphers[5], 0x5600);
	CHECK_EQ(ch->fallback_scsv, 1);
	tc_client_hello_clear(ch);
	free(ch);
}

/*
 * Feeds wire to direction d as one stream in chunks of step bytes (TCP segments). With consume,
 * the way the census does: each call gets only the bytes the dissector has not consumed
 * (tc_dir_consume; the census drops the rest, stream_consume); kept_most (may be NULL) is the
 * most bytes held back between calls. Without, each call gets every byte from the first.
 */
static void feed_segments(struct tc_handshake *hs, enum tc_dir d, const uint8_t *b, size_t n,
                          size_t step, int eof, int consume, size_t *kept_most)
{
	size_t base = 0;

	if (kept_most)
		*kept_most = 0;
	for (size_t have = step < n ? step : n;; have += step) {
		if (have > n)
			have = n;
		tc_dissector_tls.feed(hs, d, b + base, have - base, eof && have == n);
		if (consume)
			base += tc_dir_consume(hs, d);
		if (kept_most && have - base > *kept_most)
			*kept_most = have - base;
		if (have == n)
			break;
	}
}

static void feed_stream(struct tc_handshake *hs, enum tc_dir d, const uint8_t *b, size_t n,
                        size_t step, int eof)
{
	feed_segments(hs, d, b, n, step, eof, 0, NULL);
}

static void test_records_and_segments(void)
{
	static const size_t frags[] = {16384, 700, 100, 1};
	static const size_t steps[] = {100000, 1460, 7, 1};

	msgs.n = 0;
	build_client_hello_msg(&msgs, "split.example.test");
	for (size_t f = 0; f < 4; f++) {
		for (size_t s = 0; s < 4; s++) {
			struct tc_handshake hs;
			wire.n = 0;
			hsb_records(&wire, 22, 0x0301, msgs.b, msgs.n, frags[f]);
			tc_handshake_init(&hs);
			feed_stream(&hs, TC_DIR_A, wire.b, wire.n, steps[s], 0);
			CHECK(hs.ch != NULL);
			CHECK(hs.ch && !strcmp(hs.ch->sni, "split.example.test"));
			/* its shape worked out as it was kept, whatever the records and segments */
			CHECK(hs.ch && hs.ch->shape && hs.ch->shape == tc_client_hello_shape(hs.ch));
			CHECK_EQ(hs.client_dir, TC_DIR_A);
			CHECK_EQ(hs.err, TC_ERR_NONE);
			CHECK_EQ(hs.dir[0].state, TC_DS_RECORDS);
			tc_handshake_free(&hs);
		}
	}
}

/* ServerHello + Certificate + ServerHelloDone in one record, then CCS; an HRR first. */
static void test_server_flight(void)
{
	struct tc_handshake hs;

	tc_handshake_init(&hs);
	msgs.n = 0;
	build_client_hello_msg(&msgs, "a.test");
	wire.n = 0;
	hsb_records(&wire, 22, 0x0301, msgs.b, msgs.n, 16384);
	tc_dissector_tls.feed(&hs, TC_DIR_B, wire.b, wire.n, 0);

	msgs.n = 0;
	body.n = 0;
	hsb_server_hello_body(&body, 0x0303, 0x1301, 1, 1); /* HelloRetryRequest */
	hsb_message(&msgs, 2, &body);
	body.n = 0;
	hsb_server_hello_body(&body, 0x0303, 0xc02f, 0, 0);
	hsb_message(&msgs, 2, &body);
	body.n = 0;
	for (int i = 0; i < 3000; i++)
		hsb_u8(&body, 0x30);
	hsb_message(&msgs, 11, &body); /* Certificate, skipped unread */
	body.n = 0;
	hsb_message(&msgs, 14, &body); /* ServerHelloDone */
	wire.n = 0;
	hsb_records(&wire, 22, 0x0303, msgs.b, msgs.n, 16384);
	hsb_records(&wire, 20, 0x0303, (const uint8_t *)"\x01", 1, 16);
	hsb_records(&wire, 23, 0x0303, (const uint8_t *)"garbage-ciphertext", 18, 16384);
	feed_stream(&hs, TC_DIR_A, wire.b, wire.n, 1460, 0);
	CHECK(hs.hrr_seen);
	CHECK(hs.sh && hs.sh->cipher == 0xc02f && !hs.sh->is_hrr);
	CHECK(hs.sh && hs.sh->shape && hs.sh->shape == tc_server_hello_shape(hs.sh));
	CHECK(hs.sh && tc_server_version(hs.sh) == 0x0303);
	CHECK_EQ(hs.client_dir, TC_DIR_B);
	CHECK(tc_dir_done(&hs, TC_DIR_A));
	CHECK(hs.dir[0].ccs_seen);
	CHECK_EQ(hs.err, TC_ERR_NONE);
	tc_handshake_free(&hs);

	/* TLS 1.3: supported_versions decides the version. */
	struct tc_server_hello sh = {0};
	body.n = 0;
	hsb_server_hello_body(&body, 0x0303, 0x1302, 1, 0);
	CHECK_EQ(parse_sh(body.b, body.n, &sh), TC_ERR_NONE);
	CHECK_EQ(tc_server_version(&sh), 0x0304);
	CHECK_EQ(sh.ext_n, 2);
	tc_server_hello_clear(&sh);
}

/*
 * Once both hellos are parsed, a handshake record is read as it arrives: a certificate chain
 * over several segments is not held whole (the caller keeps a few bytes at most), and what the
 * direction says is what it said read whole: the alert after the chain, the records walked, no
 * error; cut inside the chain, the direction ends as before. Before the ServerHello nothing is
 * read early (a ClientHello split over segments is kept: test_records_and_segments).
 */
static void test_streamed_records(void)
{
	msgs.n = 0;
	build_client_hello_msg(&msgs, "chain.test");
	static struct hsb ch, flight;
	ch.n = flight.n = 0;
	hsb_records(&ch, 22, 0x0301, msgs.b, msgs.n, 16384);

	body.n = 0;
	msgs.n = 0;
	hsb_server_hello_body(&body, 0x0303, 0xc02f, 0, 0);
	hsb_message(&msgs, 2, &body);
	hsb_records(&flight, 22, 0x0303, msgs.b, msgs.n, 16384); /* ServerHello alone */
	size_t sh_end = flight.n;
	body.n = 0;
	msgs.n = 0;
	for (int i = 0; i < 5000; i++)
		hsb_u8(&body, (uint8_t)(0x30 + i));
	hsb_message(&msgs, 11, &body); /* Certificate: 5004 bytes in one record */
	body.n = 0;
	hsb_message(&msgs, 14, &body); /* ServerHelloDone */
	hsb_records(&flight, 22, 0x0303, msgs.b, msgs.n, 16384);
	size_t chain_end = flight.n;
	hsb_records(&flight, 21, 0x0303, (const uint8_t *)"\x02\x28", 2, 16); /* fatal, 40 */

	static const size_t steps[] = {1460, 536, 7, 1};
	for (size_t k = 0; k < 4; k++) {
		for (int cut = 0; cut < 2; cut++) {
			/* whole: the caller keeps every byte; consumed: the census's way */
			struct tc_handshake whole, part;
			size_t n = cut ? sh_end + (chain_end - sh_end) / 2 : flight.n, kept;

			tc_handshake_init(&whole);
			tc_handshake_init(&part);
			tc_dissector_tls.feed(&whole, TC_DIR_A, ch.b, ch.n, 0);
			tc_dissector_tls.feed(&part, TC_DIR_A, ch.b, ch.n, 0);
			feed_stream(&whole, TC_DIR_B, flight.b, n, steps[k], cut);
			feed_segments(&part, TC_DIR_B, flight.b, n, steps[k], cut, 1, &kept);
			CHECK(part.sh && part.sh->cipher == 0xc02f);
			CHECK(tc_dir_done(&part, TC_DIR_B));
			CHECK_EQ(part.err, TC_ERR_NONE);
			CHECK_EQ(part.err, whole.err);
			CHECK_EQ(part.alert.seen, !cut);
			CHECK(cut || (part.alert.level == 2 && part.alert.desc == 40 &&
			              part.alert.dir == TC_DIR_B));
			CHECK(!memcmp(&part.alert, &whole.alert, sizeof part.alert));
			CHECK_EQ(part.dir[1].records, whole.dir[1].records);
			CHECK_EQ(part.dir[1].records, cut ? 1 : 3);
			/* a segment's bytes at most (or the ServerHello's record, before it
			 * is whole), and a record header cut between two; held whole, the
			 * chain's record was 5 KB */
			CHECK(kept <= (steps[k] > sh_end ? steps[k] : sh_end) + 5);
			tc_handshake_free(&whole);
			tc_handshake_free(&part);
		}
	}
}

static void test_alert(void)
{
	struct tc_handshake hs;

	tc_handshake_init(&hs);
	msgs.n = 0;
	build_client_hello_msg(&msgs, "old.test");
	wire.n = 0;
	hsb_records(&wire, 22, 0x0301, msgs.b, msgs.n, 16384);
	tc_dissector_tls.feed(&hs, TC_DIR_A, wire.b, wire.n, 0);
	wire.n = 0;
	hsb_records(&wire, 21, 0x0303, (const uint8_t *)"\x02\x46", 2, 16);
	tc_dissector_tls.feed(&hs, TC_DIR_B, wire.b, wire.n, 1);
	CHECK(hs.alert.seen && hs.alert.level == 2 && hs.alert.desc == 70);
	CHECK_EQ(hs.alert.dir, TC_DIR_B);
	CHECK(hs.sh == NULL);
	CHECK(tc_dir_done(&hs, TC_DIR_B));
	tc_handshake_free(&hs);
}

static void test_sslv2(void)
{
	struct tc_handshake hs;
	size_t at;

	/* SSLv2-compatible hello (RFC 5246 E.2) announcing TLS 1.0 with two TLS suites and one
	 * SSLv2 kind. */
	wire.n = 0;
	at = hsb_open(&wire, 2);
	hsb_u8(&wire, 1);
	hsb_u16(&wire, 0x0301);
	hsb_u16(&wire, 9);
	hsb_u16(&wire, 0);
	hsb_u16(&wire, 16);
	hsb_bytes(&wire, "\x00\x00\x2f\x00\x00\x35\x01\x00\x80", 9);
	for (int i = 0; i < 16; i++)
		hsb_u8(&wire, i);
	hsb_close(&wire, at, 2);
	wire.b[0] |= 0x80;
	tc_handshake_init(&hs);
	tc_dissector_tls.feed(&hs, TC_DIR_A, wire.b, wire.n, 0);
	CHECK(hs.ch && hs.ch->sslv2 && hs.ch->legacy_version == 0x0301);
	CHECK(hs.ch && hs.ch->cipher_n == 3 && hs.ch->ciphers[2] == 0x010080);
	CHECK(hs.ch && hs.ch->shape == tc_client_hello_shape(hs.ch));
	CHECK_EQ(hs.err, TC_ERR_NONE);
	/* Still reading: TLS records follow a version-2 compatible hello. */
	CHECK_EQ(hs.dir[0].state, TC_DS_RECORDS);
	tc_handshake_free(&hs);
}

/* A hello's lists live in the struct while they fit (TC_HELLO_INLINE bytes), else in one
 * allocation; either way every list is usable, and clearing frees only what was allocated. */
/* A thread's freed hellos come back to it, lists freed (ASan's leak check holds the rest):
 * newest first, at most the pool's bound kept, and a thread's pool goes with the thread. */
static void *pool_thread(void *arg)
{
	struct tc_client_hello *ch[3];

	(void)arg;
	for (int i = 0; i < 3; i++) {
		ch[i] = tc_client_hello_new();
		tc_client_hello_alloc(ch[i], &(struct tc_hello_room){.ciphers = 3000});
	}
	for (int i = 0; i < 3; i++)
		tc_client_hello_free(ch[i]);
	struct tc_server_hello *sh = tc_server_hello_new();
	tc_server_hello_alloc(sh, 2);
	tc_server_hello_free(sh);
	return NULL; /* the pool's destructor frees the four */
}

static void test_hello_pool(void)
{
	enum { MANY = 5000 };
	static struct tc_client_hello *ch[MANY];
	struct tc_server_hello *sh, *again;
	pthread_t t;

	ch[0] = tc_client_hello_new();
	ch[1] = tc_client_hello_new();
	CHECK(ch[0] && ch[1] && ch[0] != ch[1]);
	CHECK_EQ(tc_client_hello_alloc(ch[0], &(struct tc_hello_room){.ciphers = 2000}), 0);
	CHECK(ch[0]->mem != NULL);
	CHECK_EQ(tc_client_hello_alloc(ch[1], &(struct tc_hello_room){0}), 0);
	tc_client_hello_free(ch[0]); /* its lists freed */
	tc_client_hello_free(ch[1]);
#if defined(__SANITIZE_ADDRESS__)
	/* a use after free is still one: the pooled hello is poisoned but for its link */
	CHECK(__asan_address_is_poisoned((const char *)ch[0] + 64));
	CHECK(!__asan_address_is_poisoned(ch[0]));
#endif
	CHECK(tc_client_hello_new() == ch[1]); /* newest first */
	CHECK(tc_client_hello_new() == ch[0]);
	/* A recycled hello filled by hand has no shape of another's: its lists laid out, the
	 * store works it out (a shape left from the hello before would name another row). */
	ch[0]->shape = 0x1234;
	CHECK_EQ(tc_client_hello_alloc(ch[0], &(struct tc_hello_room){.ciphers = 2}), 0);
	CHECK_EQ(ch[0]->shape, 0);
	ch[0]->shape = 0x1234;
	tc_client_hello_clear(ch[0]);
	CHECK_EQ(ch[0]->shape, 0);
	tc_client_hello_free(NULL);
	free(ch[0]); /* a pooled hello is malloc's memory */
	free(ch[1]);
	sh = tc_server_hello_new();
	sh->shape = 0x1234;
	CHECK_EQ(tc_server_hello_alloc(sh, 300), 0);
	CHECK_EQ(sh->shape, 0);
	tc_server_hello_free(sh);
	again = tc_server_hello_new();
	CHECK(again == sh);
	free(again);
	/* more than the bound: the rest are freed, not kept (the leak check would say) */
	for (int i = 0; i < MANY; i++) {
		ch[i] = tc_client_hello_new();
		tc_client_hello_alloc(ch[i], &(struct tc_hello_room){0});
	}
	for (int i = 0; i < MANY; i++)
		tc_client_hello_free(ch[i]);
	struct tc_client_hello *kept = tc_client_hello_new();
	int found = 0;
	for (int i = 0; i < MANY - 1; i++)
		found |= kept == ch[i];
	CHECK(found); /* one kept, but not the last: it came past the bound */
	free(kept);
	tc_hello_pool_release();
	CHECK(pthread_create(&t, NULL, pool_thread, NULL) == 0);
	pthread_join(t, NULL);
}

static void test_hello_lists_inline(void)
{
	static struct tc_client_hello ch;
	static struct tc_server_hello sh;
	const uint8_t *lo = (const uint8_t *)&ch, *hi = lo + sizeof ch;

	CHECK_EQ(tc_client_hello_alloc(&ch, &(struct tc_hello_room){.ciphers = 40, .exts = 20,
	                                                              .groups = 8, .alpn = 30}),
	         0);
	CHECK(ch.mem == NULL);
	CHECK((const uint8_t *)ch.ciphers >= lo && (const uint8_t *)(ch.ciphers + 40) <= hi);
	CHECK((const uint8_t *)(ch.alpn + 30) <= hi);
	for (int i = 0; i < 40; i++)
		ch.ciphers[i] = (uint32_t)i;
	memset(ch.alpn, 'h', 30);
	CHECK(ch.ciphers[39] == 39 && ch.exts != NULL && ch.groups != NULL);
	tc_client_hello_clear(&ch);
	CHECK_EQ(tc_client_hello_alloc(&ch, &(struct tc_hello_room){.ciphers = 2000, .alpn = 800}),
	         0);
	CHECK(ch.mem != NULL && (const uint8_t *)ch.ciphers == (const uint8_t *)ch.mem);
	ch.ciphers[1999] = 7;
	ch.alpn[799] = 1;
	tc_client_hello_clear(&ch);
	CHECK(ch.mem == NULL && ch.cipher_n == 0);

	CHECK_EQ(tc_server_hello_alloc(&sh, 5), 0);
	CHECK(sh.mem == NULL && sh.exts == sh.exts_inline);
	tc_server_hello_clear(&sh);
	CHECK_EQ(tc_server_hello_alloc(&sh, 300), 0);
	CHECK(sh.mem != NULL && sh.exts == sh.mem);
	sh.exts[299] = 1;
	tc_server_hello_clear(&sh);
}

/* The rule of preamble.c's opens_tls, written again from its description: a handshake record
 * (3.0 .. 3.4, length within bounds) opening a ClientHello or ServerHello of plausible length
 * and version, or a two-byte alert of level 1 or 2. */
static int ref_opens(const uint8_t *p, size_t n)
{
	if (n < 5 || p[1] != 3 || p[2] > 4 || (size_t)(p[3] << 8 | p[4]) > 16384 + 2048)
		return 0;
	size_t rlen = (size_t)(p[3] << 8 | p[4]);
	if (p[0] == 21)
		return n >= 7 && rlen == 2 && (p[5] == 1 || p[5] == 2);
	if (p[0] != 22 || rlen < 4 || n < 11 || (p[5] != 1 && p[5] != 2))
		return 0;
	size_t hlen = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
	if (hlen < 36 || hlen > TC_MAX_HELLO_MSG)
		return 0;
	return p[9] == 3 || (p[5] == 2 && p[9] == 0x7f);
}

/* tc_find_tls_start jumps from one byte 21 or 22 to the next: on buffers dense with those and
 * with near-miss records it finds what the rule tested at every offset finds. */
static void test_find_tls_start_dense(void)
{
	static const uint8_t alphabet[] = {0x15, 0x16, 0x03, 0x01, 0x02, 0x00, 0x04, 0x05, 0x30};
	uint8_t buf[160];
	uint32_t x = 12345;
	int found = 0, bad = 0;

	for (int round = 0; round < 4000; round++) {
		size_t len = 1 + round % sizeof buf, resume;
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = alphabet[(x >> 16) % sizeof alphabet];
		}
		/* a ClientHello's first bytes, or an alert, somewhere; often with one byte wrong */
		static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x30, 0x01,
		                                0x00, 0x00, 0x30, 0x03, 0x03};
		static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
		for (int k = 0; k < 3; k++) {
			x = x * 1103515245u + 12345u;
			const uint8_t *h = (x >> 8) & 1 ? hello : alert;
			size_t hn = h == hello ? sizeof hello : sizeof alert;
			if (len < hn)
				break;
			size_t at = (x >> 12) % (len - hn + 1);
			memcpy(buf + at, h, hn);
			if ((x >> 9) & 1)
				buf[at + (x >> 24) % hn] ^= (uint8_t)(1u << ((x >> 4) & 7));
		}
		long want = -1;
		for (size_t i = 0; i < len && want < 0; i++)
			if (ref_opens(buf + i, len - i))
				want = (long)i;
		long got = tc_find_tls_start(buf, len, &resume);
		bad += got != want || (got >= 0 && resume != (size_t)got) ||
		       (got < 0 && resume != (len >= 11 ? len - 10 : 0));
		found += got >= 0;
	}
	CHECK_EQ(bad, 0);
	CHECK(found > 100); /* the buffers do hold openings to find */
}

static void test_starttls_preamble(void)
{
	static const char smtp[] = "EHLO client.test\r\nSTARTTLS\r\n";
	struct tc_handshake hs;
	size_t resume;

	wire.n = 0;
	hsb_bytes(&wire, smtp, sizeof(smtp) - 1);
	msgs.n = 0;
	build_client_hello_msg(&msgs, "mail.test");
	hsb_records(&wire, 22, 0x0301, msgs.b, msgs.n, 16384);
	CHECK_EQ(tc_find_tls_start(wire.b, wire.n, &resume), (long)(sizeof(smtp) - 1));
	CHECK_EQ(tc_find_tls_start((const uint8_t *)smtp, sizeof(smtp) - 1, &resume), -1);
	CHECK_EQ(resume, sizeof(smtp) - 1 - 10);

	tc_handshake_init(&hs);
	feed_stream(&hs, TC_DIR_A, wire.b, wire.n, 5, 0);
	CHECK(hs.ch && !strcmp(hs.ch->sni, "mail.test"));
	CHECK_EQ(hs.tls_offset[0], sizeof(smtp) - 1);
	tc_handshake_free(&hs);

	/* Plain text that never turns into TLS is given up at the bound, or at the end. */
	tc_handshake_init(&hs);
	scratch.n = 0;
	for (size_t i = 0; i < TC_MAX_PREAMBLE + 100; i++)
		hsb_u8(&scratch, "GET / HTTP/1.1\r\n"[i % 16]);
	tc_dissector_tls.feed(&hs, TC_DIR_A, scratch.b, scratch.n, 0);
	CHECK(tc_dir_done(&hs, TC_DIR_A));
	CHECK(!hs.tls_found && !hs.ch);
	tc_handshake_free(&hs);
}

static void test_malformed(void)
{
	struct tc_client_hello *ch = calloc(1, sizeof(*ch));
	struct tc_handshake hs;

	/* Cipher list with an odd length. */
	body.n = 0;
	hsb_client_hello_body(&body, "x.test");
	body.b[2 + 32 + 1 + 32 + 1] ^= 1;
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_CLIENT_HELLO);
	CHECK_EQ(ch->legacy_version, 0x0303);

	/* An extension whose inner length overruns it: reported, the walk goes on. */
	body.n = 0;
	hsb_client_hello_body(&body, "y.test");
	/* The ALPN list length (first bytes of extension 16's body) claims 0x4000 bytes. */
	for (size_t i = 0; i + 6 < body.n; i++) {
		if (!memcmp(body.b + i, "\x00\x10\x00\x0e\x00\x0c", 6)) {
			body.b[i + 4] = 0x40;
			break;
		}
	}
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_EXTENSION);
	CHECK(ch->has_versions && ch->version_n == 3);
	tc_client_hello_clear(ch);
	free(ch);

	/* After a good record, a record length over the bound ends the direction. */
	tc_handshake_init(&hs);
	msgs.n = 0;
	build_client_hello_msg(&msgs, "z.test");
	wire.n = 0;
	hsb_records(&wire, 22, 0x0301, msgs.b, msgs.n, 16384);
	hsb_bytes(&wire, "\x16\x03\x03\x48\x01\x01", 6);
	tc_dissector_tls.feed(&hs, TC_DIR_A, wire.b, wire.n, 0);
	CHECK(tc_dir_done(&hs, TC_DIR_A));
	CHECK_EQ(hs.err, TC_ERR_RECORD_VERSION);
	tc_handshake_free(&hs);
}

/* A ClientHello body with one suite, null compression and the extensions block exts. */
static void hello_with_exts(struct hsb *h, const void *exts, size_t n)
{
	h->n = 0;
	hsb_u16(h, 0x0303);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, i);
	hsb_u8(h, 0);
	hsb_bytes(h, "\x00\x02\x13\x01\x01\x00", 6);
	hsb_u16(h, (unsigned)n);
	hsb_bytes(h, exts, n);
}

/* A ClientHello body with the given suites (count of them, numbered from 0) and extensions
 * block, in big: hsb's 64 KiB is too small for these. */
static size_t big_hello(uint8_t *big, unsigned suites, const uint8_t *exts, size_t n)
{
	size_t at = 0;

	big[at++] = 3;
	big[at++] = 3;
	memset(big + at, 0, 33); /* random, empty session id */
	at += 33;
	big[at++] = (uint8_t)(suites * 2 >> 8);
	big[at++] = (uint8_t)(suites * 2);
	for (unsigned i = 0; i < suites; i++) {
		big[at++] = (uint8_t)(i >> 8);
		big[at++] = (uint8_t)i;
	}
	big[at++] = 1;
	big[at++] = 0;
	big[at++] = (uint8_t)(n >> 8);
	big[at++] = (uint8_t)n;
	if (n)
		memcpy(big + at, exts, n);
	return at + n;
}

/* Lists as long as the wire allows, which the one-pass parser's room must hold (hello.c,
 * struct scratch): 65535 bytes of extensions as 16383 empty ones and a lone type, one
 * supported_groups or key_share as large as the block, and 32767 suites. ASan and valgrind
 * watch the room's bounds. */
static void test_lists_at_the_wire_bound(void)
{
	static uint8_t exts[65535], big[2 * 65536 + 64];
	struct tc_client_hello *ch = calloc(1, sizeof(*ch));
	size_t n = 0;

	for (int i = 0; i < 16383; i++) {
		exts[n++] = 0xfa;
		exts[n++] = 0xce;
		exts[n++] = 0;
		exts[n++] = 0;
	}
	exts[n++] = 0xfa;
	exts[n++] = 0xcf; /* a type, then one byte where its length should be */
	exts[n++] = 0;
	CHECK_EQ(n, 65535);
	CHECK_EQ(parse_ch(big, big_hello(big, 1, exts, n), ch), TC_ERR_EXTENSION);
	CHECK_EQ(ch->ext_n, 16384);
	CHECK_EQ(ch->exts[16383], 0xfacf);
	CHECK_EQ(ch->shape, tc_client_hello_shape(ch));
	/* supported_groups: 32764 groups in 65528 bytes; then key_share: 16382 empty shares */
	for (int kind = 0; kind < 2; kind++) {
		const size_t list = 65528;
		n = 0;
		exts[n++] = 0;
		exts[n++] = kind == 0 ? 10 : 51;
		exts[n++] = (uint8_t)((list + 2) >> 8);
		exts[n++] = (uint8_t)(list + 2);
		exts[n++] = (uint8_t)(list >> 8);
		exts[n++] = (uint8_t)list;
		for (size_t i = 0; i < list; i += 2) {
			exts[n++] = kind == 0 ? (uint8_t)(i >> 9) : (i / 2) % 2 ? 0 : 0x11;
			exts[n++] = kind == 0 ? (uint8_t)(i >> 1) : 0;
		}
		CHECK_EQ(parse_ch(big, big_hello(big, 1, exts, n), ch), TC_ERR_NONE);
		if (kind == 0) {
			CHECK_EQ(ch->group_n, 32764);
			CHECK_EQ(ch->groups[32763], (65526 >> 9) << 8 | (uint8_t)(65526 >> 1));
		} else {
			CHECK_EQ(ch->kshare_n, 16382);
			CHECK_EQ(ch->kshares[16381], 0x1100);
		}
	}
	/* 32767 suites, no extensions */
	CHECK_EQ(parse_ch(big, big_hello(big, 32767, NULL, 0), ch), TC_ERR_NONE);
	CHECK_EQ(ch->cipher_n, 32767);
	CHECK_EQ(ch->ciphers[32766], 32766);
	CHECK(ch->mem != NULL); /* too long for the struct: its own allocation */
	tc_client_hello_clear(ch);
	free(ch);
}

/* Vectors that must fill their extension (RFC 6066 3, RFC 7301 3.1, RFC 8446 4.2): one byte
 * more spoils that extension and is reported, and the walk goes on to the next. */
static void test_exact_vectors(void)
{
	/* server_name "a.bc", then supported_groups x25519. */
	static const uint8_t sni_ok[] = {0,   0,   0, 9,  0, 7, 0, 0, 4, 'a', '.',
	                                 'b', 'c', 0, 10, 0, 4, 0, 2, 0, 0x1d};
	static const uint8_t sni_trailing[] = {0,   0,   0, 10, 0,  7, 0, 0, 4, 'a', '.',
	                                       'b', 'c', 0, 0,  10, 0, 4, 0, 2, 0,   0x1d};
	static const uint8_t groups_trailing[] = {0, 10, 0, 5, 0, 2, 0, 0x1d, 0};
	static const uint8_t versions_trailing[] = {0, 43, 0, 4, 2, 3, 4, 0};
	struct tc_client_hello *ch = calloc(1, sizeof(*ch));
	struct tc_server_hello *sh = calloc(1, sizeof(*sh));

	hello_with_exts(&body, sni_ok, sizeof(sni_ok));
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_NONE);
	CHECK(ch->has_sni && !strcmp(ch->sni, "a.bc") && ch->group_n == 1);

	hello_with_exts(&body, sni_trailing, sizeof(sni_trailing));
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_EXTENSION);
	CHECK(!ch->has_sni && ch->ext_n == 2 && ch->group_n == 1);

	hello_with_exts(&body, groups_trailing, sizeof(groups_trailing));
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_EXTENSION);
	CHECK_EQ(ch->group_n, 0);

	hello_with_exts(&body, versions_trailing, sizeof(versions_trailing));
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_EXTENSION);
	CHECK_EQ(ch->version_n, 0);

	/* A byte after the extensions block: what the block held is kept, the cut reported. */
	hello_with_exts(&body, sni_ok, sizeof(sni_ok));
	hsb_u8(&body, 0);
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_EXTENSION);
	CHECK(ch->has_sni && ch->group_n == 1);

	/* The server's ALPN names exactly one protocol. */
	body.n = 0;
	hsb_server_hello_body(&body, 0x0303, 0x1301, 0, 0);
	body.n -= 7; /* drop renegotiation_info: the block is written again below */
	hsb_u16(&body, 9);
	hsb_ext(&body, 16, "\x00\x03\x02h2", 5);
	CHECK_EQ(parse_sh(body.b, body.n, sh), TC_ERR_NONE);
	CHECK(sh->alpn_len == 2 && !strcmp(sh->alpn, "h2"));
	body.n -= 2 + 9;
	hsb_u16(&body, 13);
	hsb_ext(&body, 16, "\x00\x07\x02h2\x03h2c", 9);
	CHECK_EQ(parse_sh(body.b, body.n, sh), TC_ERR_EXTENSION);
	CHECK_EQ(sh->alpn_len, 0);
	tc_server_hello_clear(sh);
	free(sh);
	tc_client_hello_clear(ch);
	free(ch);
}

/* An SNI longer than its field keeps 255 bytes and is flagged; ALPN names are kept whole,
 * however long the list (0.2 cut it at 512 bytes: two 255-byte names, and a third left out). */
static void test_long_names(void)
{
	struct tc_client_hello *ch = calloc(1, sizeof(*ch));
	static char name[301];
	size_t x, l;

	memset(name, 'n', 300);
	body.n = 0;
	hsb_client_hello_body(&body, name);
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_NONE);
	CHECK(ch->has_sni && ch->sni_len == TC_MAX_SNI && strlen(ch->sni) == TC_MAX_SNI);
	CHECK(ch->trunc & TC_TRUNC_SNI);

	scratch.n = 0;
	hsb_u16(&scratch, 16);
	x = hsb_open(&scratch, 2);
	l = hsb_open(&scratch, 2);
	for (int k = 0; k < 3; k++) {
		unsigned len = k < 2 ? 255 : 1;
		hsb_u8(&scratch, len);
		for (unsigned i = 0; i < len; i++)
			hsb_u8(&scratch, 'a' + k);
	}
	hsb_close(&scratch, l, 2);
	hsb_close(&scratch, x, 2);
	hello_with_exts(&body, scratch.b, scratch.n);
	CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_NONE);
	CHECK(ch->has_alpn && ch->alpn_len == 2 * 256 + 2 && !ch->trunc);
	CHECK(ch->alpn[0] == 255 && ch->alpn[1] == 'a' && ch->alpn[256] == 255);
	CHECK(ch->alpn[257] == 'b' && ch->alpn[511] == 'b' && ch->alpn[512] == 1);
	CHECK(ch->alpn[513] == 'c');
	tc_client_hello_clear(ch);
	free(ch);
}

/* A ClientHello with n ALPN names of name_len bytes, and long lists of everything else:
 * suites, extensions (GREASE-free private values, each empty), groups, signature algorithms,
 * supported versions and key shares, in one handshake message. */
static void long_lists_hello(struct hsb *h, unsigned n_alpn, unsigned name_len, unsigned many)
{
	size_t v, e, x, l;

	h->n = 0;
	hsb_u16(h, 0x0303);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, i);
	hsb_u8(h, 0);
	v = hsb_open(h, 2);
	for (unsigned i = 0; i < many * 4; i++)
		hsb_u16(h, 0xc100 + i);
	hsb_close(h, v, 2);
	hsb_bytes(h, "\x01\x00", 2);
	e = hsb_open(h, 2);
	hsb_u16(h, 16);
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	for (unsigned k = 0; k < n_alpn; k++) {
		hsb_u8(h, name_len);
		for (unsigned i = 0; i < name_len; i++)
			hsb_u8(h, 'a' + (k + i) % 26);
	}
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	hsb_u16(h, 10); /* supported_groups */
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	for (unsigned i = 0; i < many; i++)
		hsb_u16(h, 0x0100 + i);
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	hsb_u16(h, 13); /* signature_algorithms */
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	for (unsigned i = 0; i < many; i++)
		hsb_u16(h, 0x0400 + i);
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	hsb_u16(h, 43); /* supported_versions: u8 list, at most 127 */
	x = hsb_open(h, 2);
	l = hsb_open(h, 1);
	for (unsigned i = 0; i < 100; i++)
		hsb_u16(h, i % 2 ? 0x0304 : 0x7f00 + i);
	hsb_close(h, l, 1);
	hsb_close(h, x, 2);
	hsb_u16(h, 51); /* key_share: many entries with one-byte keys */
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	for (unsigned i = 0; i < many; i++) {
		hsb_u16(h, 0x0200 + i);
		hsb_u16(h, 1);
		hsb_u8(h, i);
	}
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	for (unsigned i = 0; i < many; i++)
		hsb_ext(h, 0xff00 - i, NULL, 0);
	hsb_close(h, e, 2);
}

/* Every list kept whole: 16, 20, 30 and 80 ALPN names of 100 bytes (0.2 kept 2-6 of them),
 * 2000 suites, 500+5 extensions, 500 groups, signature algorithms and key shares, 100
 * versions; no cut flag; JA3 and JA4 over all of it. */
static void test_whole_lists(void)
{
	static const unsigned counts[] = {16, 20, 30, 80};
	struct tc_client_hello *ch = calloc(1, sizeof(*ch));
	struct tc_prints p;

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		unsigned n = counts[c], names = 0;
		long_lists_hello(&body, n, 100, 500);
		CHECK_EQ(parse_ch(body.b, body.n, ch), TC_ERR_NONE);
		CHECK_EQ(ch->alpn_len, n * 101);
		for (size_t at = 0; at < ch->alpn_len; at += 1 + ch->alpn[at])
			names += ch->alpn[at] == 100;
		CHECK_EQ(names, n);
		CHECK_EQ(ch->alpn[(n - 1) * 101 + 1], 'a' + (n - 1) % 26);
		CHECK_EQ(ch->cipher_n, 2000);
		CHECK_EQ(ch->ciphers[1999], 0xc100 + 1999);
		CHECK_EQ(ch->ext_n, 505);
		CHECK_EQ(ch->exts[504], 0xff00 - 499);
		CHECK_EQ(ch->group_n, 500);
		CHECK_EQ(ch->groups[499], 0x0100 + 499);
		CHECK_EQ(ch->sigalg_n, 500);
		CHECK_EQ(ch->sigalgs[499], 0x0400 + 499);
		CHECK_EQ(ch->kshare_n, 500);
		CHECK_EQ(ch->kshares[499], 0x0200 + 499);
		CHECK_EQ(ch->version_n, 100);
		CHECK_EQ(ch->trunc, 0);
		CHECK(!ch->partial);
		CHECK_EQ(tc_prints_compute(ch, NULL, &p), 0);
		CHECK(p.has_ja3 && p.has_ja4 && strlen(p.ja3_str) > 2000 * 5);
		CHECK(strstr(p.ja3_str, "-51407,") != NULL); /* the last suite, 0xc100 + 1999 */
		tc_prints_free(&p);
	}
	/* Through the record layer too (the hello over four records), into the handshake. */
	msgs.n = 0;
	hsb_message(&msgs, 1, &body);
	wire.n = 0;
	hsb_records(&wire, 22, 0x0301, msgs.b, msgs.n, 16384);
	struct tc_handshake hs;
	tc_handshake_init(&hs);
	feed_stream(&hs, TC_DIR_A, wire.b, wire.n, 1460, 0);
	CHECK(hs.ch && hs.ch->alpn_len == 80 * 101 && hs.ch->cipher_n == 2000);
	CHECK_EQ(hs.err, TC_ERR_NONE);
	tc_handshake_free(&hs);
	tc_client_hello_clear(ch);
	free(ch);
}

/* Every prefix of a hello, ended there: never a crash, never a read past the cut (ASan and
 * valgrind watch), and the cut is reported unless nothing TLS-like was there yet. */
static void test_cut_everywhere(void)
{
	int bad = 0;

	msgs.n = 0;
	build_client_hello_msg(&msgs, "cut.example.test");
	wire.n = 0;
	hsb_records(&wire, 22, 0x0301, msgs.b, msgs.n, 100);
	for (size_t cut = 0; cut < wire.n; cut++) {
		struct tc_handshake hs;
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, wire.b, cut);
		tc_handshake_init(&hs);
		tc_dissector_tls.feed(&hs, TC_DIR_A, copy, cut, 1);
		if (!tc_dir_done(&hs, TC_DIR_A))
			bad++;
		if (cut >= 5 && hs.err != TC_ERR_TRUNCATED) {
			fprintf(stderr, "cut %zu: err %d\n", cut, hs.err);
			bad++;
		}
		tc_handshake_free(&hs);
		free(copy);
	}
	CHECK_EQ(bad, 0);

	/* Parsers alone, on every prefix of the body. */
	struct tc_client_hello *ch = calloc(1, sizeof(*ch));
	body.n = 0;
	hsb_client_hello_body(&body, "cut.example.test");
	for (size_t cut = 0; cut < body.n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, body.b, cut);
		if (parse_ch(copy, cut, ch) == TC_ERR_NONE && cut != 2 + 32 + 1 + 32 + 14 + 2)
			bad++;
		/* each prefix's fields, the last list cut short of the one before: the parser's
		 * shape (from its memo when a prefix was seen) is the shape of what it kept */
		if (ch->shape != tc_client_hello_shape(ch))
			bad++;
		free(copy);
	}
	/* Hellos alike but for one byte of their ALPN name, wherever it falls in the list's
	 * words: each one's own shape, the memo holding its neighbours'. */
	for (unsigned n = 1; n <= 40; n++) {
		uint64_t first = 0;
		for (unsigned k = 0; k <= n; k++) {
			uint8_t ext[4 + 2 + 1 + 40];
			ext[0] = 0;
			ext[1] = 16;
			ext[2] = 0;
			ext[3] = (uint8_t)(2 + 1 + n);
			ext[4] = 0;
			ext[5] = (uint8_t)(1 + n);
			ext[6] = (uint8_t)n;
			memset(ext + 7, 'a', n);
			if (k < n)
				ext[7 + k] = 'b'; /* k == n: all 'a' */
			hello_with_exts(&body, ext, 7 + n);
			if (parse_ch(body.b, body.n, ch) != TC_ERR_NONE ||
			    ch->shape != tc_client_hello_shape(ch))
				bad++;
			if (k == 0)
				first = ch->shape;
			else if (ch->shape == first)
				bad++;
		}
	}
	/* again, longest first: every answer from the memo now, and still each one's own */
	for (size_t cut = body.n; cut-- > 0;) {
		parse_ch(body.b, cut, ch);
		if (ch->shape != tc_client_hello_shape(ch))
			bad++;
	}
	CHECK_EQ(bad, 0);
	tc_client_hello_clear(ch);
	free(ch);
}

/* One ClientHello message in records, fed whole or cut 40 bytes short, ended there. */
static void partial_case(const struct hsb *msg, size_t cut, int want_partial)
{
	struct tc_handshake hs;
	struct tc_prints p;

	wire.n = 0;
	hsb_records(&wire, 22, 0x0301, msg->b, msg->n, 16384);
	tc_handshake_init(&hs);
	tc_dissector_tls.feed(&hs, TC_DIR_A, wire.b, wire.n - cut, 1);
	CHECK(hs.ch != NULL);
	if (hs.ch) {
		CHECK_EQ(hs.ch->partial, want_partial);
		/* worked out after the damage was marked: a partial hello's own shape */
		CHECK_EQ(hs.ch->shape, tc_client_hello_shape(hs.ch));
		CHECK_EQ(tc_prints_compute(hs.ch, NULL, &p), 0);
		CHECK_EQ(p.has_ja3, !want_partial);
		CHECK_EQ(p.has_ja4, !want_partial);
		CHECK(p.ja3_str && (strlen(p.ja3_str) == 0) == want_partial);
		CHECK(want_partial ? !p.ja3[0] && !p.ja4[0] : p.ja3[0] && p.ja4[0]);
		tc_prints_free(&p);
	}
	tc_handshake_free(&hs);
}

/* A ClientHello cut by the end of its stream, or malformed, lists what came before the
 * damage: not the client's offer, so no JA3 or JA4 (a whole one has both), and its shape is
 * not a whole hello's. */
static void test_partial_no_prints(void)
{
	struct tc_client_hello *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	msgs.n = 0;
	build_client_hello_msg(&msgs, "partial.example.test");
	partial_case(&msgs, 0, 0);
	partial_case(&msgs, 40, 1);
	/* supported_groups whose list claims 6 bytes in a 4-byte extension */
	hello_with_exts(&body, "\x00\x0a\x00\x04\x00\x06\x00\x1d", 8);
	msgs.n = 0;
	hsb_message(&msgs, 1, &body);
	partial_case(&msgs, 0, 1);
	/* The same fields, partial or not, are two shapes. */
	hello_with_exts(&body, "", 0);
	CHECK_EQ(parse_ch(body.b, body.n, a), TC_ERR_NONE);
	memcpy(b, a, sizeof(*a));
	b->partial = 1;
	CHECK(tc_client_hello_shape(a) != tc_client_hello_shape(b));
	tc_client_hello_clear(a); /* b shares a's lists */
	free(a);
	free(b);
}

/* A direction that ends before its first byte (a RST): the census feeds no buffer at all.
 * Found by fuzz_pipeline (UBSan: NULL + 0 in the record walk). */
static void test_end_without_bytes(void)
{
	struct tc_handshake hs;

	tc_handshake_init(&hs);
	tc_dissector_tls.feed(&hs, TC_DIR_B, NULL, 0, 1);
	CHECK(tc_dir_done(&hs, TC_DIR_B));
	CHECK(!hs.ch && !hs.sh && hs.err == TC_ERR_NONE);
	tc_handshake_free(&hs);
}

/* Hand-built hellos whose lists end in every tail length a word can have. */
static void shape_case(int k, struct tc_client_hello *ch, struct tc_server_hello *sh)
{
	struct tc_hello_room room = {.ciphers = (size_t)k, .exts = (size_t)k + 1,
	                             .groups = (size_t)(k * 3 % 7), .sigalgs = (size_t)(k % 5),
	                             .versions = (size_t)(k % 3), .kshares = (size_t)(k % 2),
	                             .pointfmts = (size_t)(k % 8), .compress = (size_t)((k + 3) % 8),
	                             .alpn = (size_t)(k * 5 % 17)};
	uint32_t x = 0x9e37u * (uint32_t)(k + 1);
#define NEXT() (x = x * 1103515245u + 12345u, x >> 8)

	memset(ch, 0, sizeof *ch);
	tc_client_hello_alloc(ch, &room);
	ch->legacy_version = (uint16_t)(0x0300 + k % 4);
	ch->has_extensions = 1;
	ch->has_sni = (uint8_t)(k & 1);
	ch->has_alpn = room.alpn > 0;
	ch->partial = k == 5;
	ch->trunc = (uint16_t)(k == 7 ? 128 : 0);
	ch->dtls = k == 9;
	/* each list filled in turn from the one sequence, in this order */
#define FILL(list, count, want, type)                                                              \
	for (ch->count = 0; ch->count < (want); ch->count++)                                       \
		ch->list[ch->count] = (type)NEXT()
	FILL(ciphers, cipher_n, room.ciphers, uint16_t);
	FILL(exts, ext_n, room.exts, uint16_t);
	FILL(groups, group_n, room.groups, uint16_t);
	FILL(sigalgs, sigalg_n, room.sigalgs, uint16_t);
	FILL(versions, version_n, room.versions, uint16_t);
	FILL(kshares, kshare_n, room.kshares, uint16_t);
	FILL(pointfmts, pointfmt_n, room.pointfmts, uint8_t);
	FILL(compress, compress_n, room.compress, uint8_t);
	FILL(alpn, alpn_len, room.alpn, uint8_t);
#undef FILL

	memset(sh, 0, sizeof *sh);
	tc_server_hello_alloc(sh, (size_t)k);
	sh->legacy_version = 0x0303;
	sh->selected_version = (uint16_t)(k & 1 ? 0x0304 : 0);
	sh->cipher = (uint16_t)NEXT();
	sh->has_extensions = k > 0;
	sh->has_key_share = (uint8_t)(k % 3 == 0);
	sh->key_share_group = (uint16_t)NEXT();
	for (sh->ext_n = 0; sh->ext_n < (size_t)k; sh->ext_n++)
		sh->exts[sh->ext_n] = (uint16_t)NEXT();
	sh->alpn_len = (uint16_t)(k % 8);
	for (int i = 0; i < sh->alpn_len; i++)
		sh->alpn[i] = (char)('a' + NEXT() % 26);
#undef NEXT
}

/* A hello's shape is stored (client_hellos.shape, server_hellos.shape): its value must not
 * change from one release to the next, or a database's known hellos would be stored again.
 * These are the values of 0.3's code, on hellos whose lists end in every tail length. */
static void test_shape_values(void)
{
	static const uint64_t want[][2] = {
	    {0xf05f6303ecf11574u, 0x69b11df066253afau},
	    {0x21906a7201b34afdu, 0x5746e151c2076712u},
	    {0xa318fd482581c818u, 0x64768cd6cb589368u},
	    {0xfc00055f85eda8f9u, 0x29fa6f6d772f4bb1u},
	    {0x688578bc6d8b86b9u, 0xf63160df9ff8421cu},
	    {0x6ac43606a176b6aau, 0xa674498741cecb73u},
	    {0x992c8481c822240du, 0xc1b49c5905be93d7u},
	    {0xfcffc14f18e18edau, 0xcf259de67618d698u},
	    {0x38f0cb6ce4414a6fu, 0x38c30441a8234ff8u},
	    {0x7c6004800f45bc67u, 0xaa0b7646ba06daf1u},
	    {0x53ca97db82b953dbu, 0x29ab92d71fedf6c8u},
	    {0x49d9ce6203e0a09eu, 0xfdb0ac4102ee36f1u},
	};
	struct tc_client_hello *ch = malloc(sizeof *ch);
	struct tc_server_hello *sh = malloc(sizeof *sh);

	for (int k = 0; k < (int)(sizeof want / sizeof want[0]); k++) {
		shape_case(k, ch, sh);
		CHECK_EQ(tc_client_hello_shape(ch), want[k][0]);
		CHECK_EQ(tc_server_hello_shape(sh), want[k][1]);
		tc_client_hello_clear(ch);
		tc_server_hello_clear(sh);
	}
	free(ch);
	free(sh);
}

int main(void)
{
	test_find_tls_start_dense();
	test_hello_lists_inline();
	test_hello_pool();
	test_cursor();
	test_cursor_exact();
	test_cursor_equal();
	test_cursor_copy();
	test_client_hello_fields();
	test_records_and_segments();
	test_server_flight();
	test_streamed_records();
	test_alert();
	test_sslv2();
	test_starttls_preamble();
	test_malformed();
	test_exact_vectors();
	test_long_names();
	test_cut_everywhere();
	test_partial_no_prints();
	test_whole_lists();
	test_end_without_bytes();
	test_shape_values();
	test_lists_at_the_wire_bound();
	TEST_DONE("dissect");
}
