/*
 * versions_db.c: writes a database for versions_test.py through the store: one connection per
 * protocol version (SSL 2.0 to TLS 1.3, DTLS 1.0 to 1.3, and a value without a name), each
 * negotiating 3DES so that every one of them is legacy and printed by every command.
 *
 * usage: versions_db DATABASE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "store.h"
#include "tlscensus/fingerprint.h"
#include "tlscensus/hello.h"

#define CIPHER_3DES 0x000a /* TLS_RSA_WITH_3DES_EDE_CBC_SHA */

static const struct version {
	uint16_t wire;              /* the negotiated version */
	const char *sni;            /* the server name; the server address tells them apart */
	int dtls, sslv2, supported; /* supported: the version goes in supported_versions */
	uint16_t legacy;            /* legacy_version of both hellos when supported is set */
} versions[] = {
    {TC_V_SSL2, NULL, 0, 1, 0, 0}, /* an SSLv2 CLIENT-HELLO has no extensions */
    {TC_V_SSL3, "v-ssl3.example", 0, 0, 0, 0},
    {TC_V_TLS10, "v-tls10.example", 0, 0, 0, 0},
    {TC_V_TLS11, "v-tls11.example", 0, 0, 0, 0},
    {TC_V_TLS12, "v-tls12.example", 0, 0, 0, 0},
    {TC_V_TLS13, "v-tls13.example", 0, 0, 1, TC_V_TLS12},
    {0xfeff, "v-dtls10.example", 1, 0, 0, 0},
    {0xfefd, "v-dtls12.example", 1, 0, 0, 0},
    {0xfefc, "v-dtls13.example", 1, 0, 1, 0xfefd},
    {0x0305, "v-unknown.example", 0, 0, 1, TC_V_TLS12}, /* no name: printed as 0x0305 */
};

static int put(struct store *s, const struct version *v, size_t i)
{
	struct tc_client_hello *ch = calloc(1, sizeof *ch);
	struct tc_server_hello *sh = calloc(1, sizeof *sh);
	struct tc_handshake hs = {.ch = ch, .sh = sh, .client_dir = 0, .ch_count = 1};
	struct tc_record r = {0};
	char server[32];
	int rc = -1;

	if (!ch || !sh)
		goto out;
	tc_client_hello_alloc(ch, &(struct tc_hello_room){64, 64, 64, 64, 64, 64, 64, 64, 512});
	tc_server_hello_alloc(sh, 64);
	snprintf(server, sizeof server, "192.0.2.%zu", 10 + i);
	tc_addr_parse("10.0.0.1", &r.client);
	tc_addr_parse(server, &r.server);
	r.client_port = (uint16_t)(40000 + i);
	r.server_port = 443;
	r.first_ts = 1704067200000000ULL + i * 1000000ULL; /* 2024-01-01T00:00:00Z on */
	r.last_ts = r.first_ts + 250000;
	r.transport = v->dtls ? 17 : 6;
	r.ip_version = 4;
	r.packets[0] = r.packets[1] = 3;
	r.bytes[0] = r.bytes[1] = 300;
	r.hs = &hs;
	r.status = TC_CONN_OK;
	ch->legacy_version = v->supported ? v->legacy : v->wire;
	ch->sslv2 = (uint8_t)v->sslv2;
	ch->dtls = (uint8_t)v->dtls;
	ch->ciphers[0] = v->sslv2 ? 0x0700c0 : CIPHER_3DES; /* SSLv2: DES_192_EDE3_CBC_WITH_MD5 */
	ch->cipher_n = 1;
	ch->compress_n = 1;
	if (v->sni) {
		ch->has_extensions = 1;
		ch->has_sni = 1;
		ch->sni_len = (uint16_t)strlen(v->sni);
		memcpy(ch->sni, v->sni, ch->sni_len);
		ch->exts[ch->ext_n++] = TC_EXT_SERVER_NAME;
	}
	if (v->supported) {
		ch->has_versions = 1;
		ch->versions[ch->version_n++] = v->wire;
		ch->exts[ch->ext_n++] = TC_EXT_SUPPORTED_VERSIONS;
		sh->selected_version = v->wire;
	}
	sh->legacy_version = v->supported ? v->legacy : v->wire;
	sh->sslv2 = (uint8_t)v->sslv2;
	sh->cipher = v->sslv2 ? 0 : CIPHER_3DES;
	struct tc_prints fp; /* the census computes these before a record reaches the store */
	if (tc_prints_compute(ch, sh, &fp) == 0) {
		hs.prints = &fp;
		rc = store_put(s, &r) > 0 ? 0 : -1;
		tc_prints_free(&fp);
	}
out:
	tc_client_hello_clear(ch);
	tc_server_hello_clear(sh);
	free(ch);
	free(sh);
	return rc;
}

int main(int argc, char **argv)
{
	char err[512];
	struct store *s;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: versions_db DATABASE\n");
		return 2;
	}
	s = store_open(argv[1], STORE_READ_WRITE, err, sizeof err);
	if (!s) {
		fprintf(stderr, "versions_db: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
		rc |= put(s, &versions[i], i);
	store_close(s);
	return rc ? 1 : 0;
}
