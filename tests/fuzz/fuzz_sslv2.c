/*
 * fuzz_sslv2.c: libFuzzer entry for the SSLv2 record format (dissectors/sslv2.c, and tls.c's
 * SSLv2 path): the input as an SSLv2 CLIENT-HELLO or SERVER-HELLO record body for the parsers
 * alone, then behind a two-byte SSLv2 record header as a stream a client (or server) sent.
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true (scripts/fuzz.sh).
 */
#include <stdlib.h>
#include <string.h>

#include "tlscensus/dissector.h"
#include "tlscensus/fingerprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tc_client_hello ch;
	struct tc_server_hello sh;
	struct tc_handshake hs;
	struct tc_prints p;
	uint8_t *copy = malloc(size + 2);

	if (!copy)
		return 0;
	memcpy(copy + 2, data, size);
	/* The parsers on an exact-size buffer (ASan sees the first byte past it). */
	tc_parse_sslv2_client_hello(copy + 2, size, &ch);
	if (tc_prints_compute(&ch, NULL, &p) == 0)
		tc_prints_free(&p);
	tc_client_hello_clear(&ch);
	tc_parse_sslv2_server_hello(copy + 2, size, &sh);
	tc_server_hello_clear(&sh);
	/* As a stream: an SSLv2 record header (high bit set) over the input, up to 0x7fff. */
	size_t len = size < 0x7fff ? size : 0x7fff;
	copy[0] = (uint8_t)(0x80 | len >> 8);
	copy[1] = (uint8_t)len;
	for (int d = 0; d < 2; d++) {
		tc_handshake_init(&hs);
		tc_dissector_tls.feed(&hs, (enum tc_dir)d, copy, size + 2, 0);
		if (!tc_dir_done(&hs, (enum tc_dir)d))
			tc_dissector_tls.feed(&hs, (enum tc_dir)d, copy, size + 2, 1);
		if (tc_prints_compute(hs.ch, hs.sh, &p) == 0)
			tc_prints_free(&p);
		tc_handshake_free(&hs);
	}
	free(copy);
	return 0;
}
