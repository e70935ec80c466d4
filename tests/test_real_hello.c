/*
 * test_real_hello.c: hellos captured from real openssl and gnutls sessions (samples/), cut at
 * every byte offset and fed to the record walker as a stream that ends there. Every cut must end
 * cleanly as "truncated" (never a crash or an over-read: run under ASan/valgrind), and the
 * whole record must parse to the SNI the recording used.
 *
 * usage: test_real_hello SAMPLES_DIR
 */
#include <stdlib.h>
#include <string.h>

#include "tc_test.h"
#include "tlscensus/dissector.h"

static uint8_t file[1 << 20];

static size_t load(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 0;
	}
	size_t n = fread(file, 1, sizeof(file), f);
	fclose(f);
	return n;
}

/* The first TLS handshake record whose first message has type ht, found by its header bytes
 * (the samples hold each hello in one segment). */
static const uint8_t *find_record(size_t n, uint8_t ht, size_t *len)
{
	for (size_t i = 0; i + 6 <= n; i++) {
		if (file[i] != 22 || file[i + 1] != 3 || file[i + 2] > 4 || file[i + 5] != ht)
			continue;
		size_t rlen = (size_t)file[i + 3] << 8 | file[i + 4];
		if (i + 5 + rlen <= n && rlen >= 40) {
			*len = 5 + rlen;
			return file + i;
		}
	}
	return NULL;
}

static void cut_everywhere(const uint8_t *rec, size_t len, enum tc_dir d, const char *what)
{
	int bad = 0;

	for (size_t cut = 0; cut <= len; cut++) {
		struct tc_handshake hs;
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, rec, cut);
		tc_handshake_init(&hs);
		tc_dissector_tls.feed(&hs, d, copy, cut, 1);
		int whole = cut == len;
		if (!tc_dir_done(&hs, d))
			bad++;
		if (!whole && cut >= 5 && hs.err != TC_ERR_TRUNCATED)
			bad++;
		if (whole && hs.err != TC_ERR_NONE)
			bad++;
		tc_handshake_free(&hs);
		free(copy);
	}
	if (bad)
		fprintf(stderr, "%s: %d bad cuts\n", what, bad);
	CHECK_EQ(bad, 0);
}

static void one(const char *dir, const char *name, const char *sni)
{
	size_t n = load(dir, name), len = 0;
	const uint8_t *ch = find_record(n, 1, &len);
	CHECK(ch != NULL);
	if (!ch)
		return;
	struct tc_handshake hs;
	tc_handshake_init(&hs);
	tc_dissector_tls.feed(&hs, TC_DIR_A, ch, len, 0);
	CHECK(hs.ch && !strcmp(hs.ch->sni, sni));
	CHECK(hs.ch && hs.ch->cipher_n >= 1 && hs.ch->ext_n >= 1);
	tc_handshake_free(&hs);
	cut_everywhere(ch, len, TC_DIR_A, name);

	const uint8_t *sh = find_record(n, 2, &len);
	CHECK(sh != NULL);
	if (sh)
		cut_everywhere(sh, len, TC_DIR_B, name);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SAMPLES_DIR\n", argv[0]);
		return 2;
	}
	one(argv[1], "tls13-openssl.pcap", "tls13.example.test");
	one(argv[1], "tls13-gnutls.pcap", "gnutls13.example.test");
	one(argv[1], "tls10-openssl.pcap", "tls10.example.test");
	one(argv[1], "tls12-openssl-anon.pcap", "anon.example.test");
	TEST_DONE("real_hello");
}
