/*
 * fuzz_dissect.c: libFuzzer entry for the dissectors. The input is split at its first byte into
 * two directions of one connection, fed in uneven chunks to tc_dissector_tls as a TLS stream
 * would be, or (second byte's top bit) cut into datagrams for tc_dissector_udp, then ended. The
 * sanitizers catch any over-read; the fuzzer catches crashes and hangs. The datagrams reach
 * DTLS and QUIC alike (udp.c tells them apart). The hellos' parsers
 * run again on their own over the input, and the fingerprints over what they found.
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true (scripts/fuzz.sh).
 */
#include <stdlib.h>
#include <string.h>

#include "tlscensus/dissector.h"
#include "tlscensus/fingerprint.h"
#include "tlscensus/ja4.h"

static void feed(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p, size_t n, size_t step)
{
	/* A private copy of exactly n bytes, so ASan sees a read past the end of the stream. */
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	for (size_t have = 0; have < n && !tc_dir_done(hs, d);) {
		have = have + step < n ? have + step : n;
		tc_dissector_tls.feed(hs, d, copy, have, 0);
	}
	if (!tc_dir_done(hs, d))
		tc_dissector_tls.feed(hs, d, copy, n, 1);
	free(copy);
}

/* The same bytes as datagrams of at most step bytes, each in a buffer of its own. */
static void datagrams(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p, size_t n,
                      size_t step)
{
	for (size_t off = 0; off < n; off += step) {
		size_t len = n - off < step ? n - off : step;
		uint8_t *copy = malloc(len);
		memcpy(copy, p + off, len);
		tc_dissector_udp.opens(copy, len);
		if (!tc_dir_done(hs, d))
			tc_dissector_udp.datagram(hs, d, copy, len);
		free(copy);
	}
	tc_dissector_udp.end(hs, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tc_handshake hs;
	struct tc_prints p;
	char ja4[TC_JA4_LEN];

	if (size < 2)
		return 0;
	size_t split = (size_t)data[0] * (size - 1) / 255, step = 1 + data[1] % 64;
	int dtls = data[1] & 0x80;
	data += 2;
	size -= 2;
	if (split > size)
		split = size;
	tc_handshake_init(&hs);
	if (dtls) {
		datagrams(&hs, TC_DIR_A, data, split, step * 23);
		datagrams(&hs, TC_DIR_B, data + split, size - split, step * 23);
	} else {
		feed(&hs, TC_DIR_A, data, split, step);
		feed(&hs, TC_DIR_B, data + split, size - split, step * 7);
	}
	/* Fingerprints over whole lists, into buffers sized by the hello (as the census does). */
	if (tc_prints_compute(hs.ch, hs.sh, &p) == 0)
		tc_prints_free(&p);
	if (hs.ch) {
		size_t cap = tc_ja4_raw_size(hs.ch);
		char *raw = malloc(cap);
		if (raw)
			tc_ja4_raw(hs.ch, hs.ch->quic ? TC_JA4_QUIC : dtls ? TC_JA4_DTLS : TC_JA4_TCP,
			           raw, cap, ja4);
		free(raw);
	}
	tc_handshake_free(&hs);
	return 0;
}
