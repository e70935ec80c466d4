/*
 * fuzz_preamble.c: libFuzzer entry for the plaintext-before-TLS scanner (dissectors/
 * preamble.c: STARTTLS, SSLRequest, RDP, SOCKS, CONNECT, PROXY) and the record plausibility
 * check. The input is scanned whole, then from every resume point the scanner gives, as a
 * growing stream would be; every offset it returns must lie inside the bytes, and the TLS
 * dissector then reads the stream from its start (TC_DS_SEEK) in uneven pieces.
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true (scripts/fuzz.sh).
 */
#include <stdlib.h>
#include <string.h>

#include "tlscensus/dissector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct tc_handshake hs;
	size_t scan = 0, resume;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	tc_tls_record_plausible(copy, size);
	while (scan < size) {
		long off = tc_find_tls_start(copy + scan, size - scan, &resume);
		if (off >= 0 && (size_t)off >= size - scan)
			__builtin_trap(); /* a start outside the bytes */
		if (resume > size - scan)
			__builtin_trap();
		if (off >= 0 || resume == 0)
			break;
		scan += resume;
	}
	tc_handshake_init(&hs);
	for (size_t have = 0; have < size && !tc_dir_done(&hs, TC_DIR_A);) {
		have += 1 + (size - have) / 3;
		tc_dissector_tls.feed(&hs, TC_DIR_A, copy, have, 0);
	}
	if (!tc_dir_done(&hs, TC_DIR_A))
		tc_dissector_tls.feed(&hs, TC_DIR_A, copy, size, 1);
	tc_handshake_free(&hs);
	free(copy);
	return 0;
}
