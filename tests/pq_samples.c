/*
 * pq_samples.c: writes the post-quantum sample captures (the .pcap files in samples/pq).
 * Debian 12's openssl 3.0 and gnutls 3.7 cannot negotiate ML-KEM, so these handshakes are built
 * here, field by field (tests/hsbuild.h), not recorded: each file is one TCP connection between the
 * sample addresses, with the hellos a hybrid-capable client and server would send, then a
 * ChangeCipherSpec and one record of (stand-in) encrypted data each way, and FIN. Key shares and
 * encrypted records are fixed byte patterns of the real sizes, not keys: the census reads only
 * the groups and the lengths. Output depends on nothing but this file (no clock, no randomness).
 *
 * Usage: pq_samples DIR        writes every sample into DIR
 *        pq_samples --list     prints the file names
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsbuild.h"

/* TLS Supported Groups (IANA) and sizes of their key shares (draft-ietf-tls-ecdhe-mlkem 4:
 * the ML-KEM-768 encapsulation key is 1184 bytes, its ciphertext 1088; X25519 adds 32). */
#define G_X25519         0x001d
#define G_SECP256R1      0x0017
#define G_SECP384R1      0x0018
#define G_MLKEM768       0x0201
#define G_X25519MLKEM768 0x11ec
#define G_X25519KYBER768 0x6399 /* X25519Kyber768Draft00: obsolete */

static size_t client_share_len(unsigned group)
{
	switch (group) {
	case G_X25519:
		return 32;
	case G_SECP256R1:
		return 65;
	case G_MLKEM768:
		return 1184;
	case G_X25519MLKEM768:
	case G_X25519KYBER768:
		return 1184 + 32;
	default:
		return 0;
	}
}

static size_t server_share_len(unsigned group)
{
	switch (group) {
	case G_X25519:
		return 32;
	case G_SECP256R1:
		return 65;
	case G_MLKEM768:
		return 1088;
	case G_X25519MLKEM768:
	case G_X25519KYBER768:
		return 1088 + 32;
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------- hellos */

struct hello_spec {
	const char *sni;
	const unsigned *groups; /* supported_groups, 0-terminated */
	const unsigned *shares; /* key_share entries, 0-terminated */
	int second;             /* the ClientHello after a HelloRetryRequest (other random) */
};

static void share_bytes(struct hsb *h, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		hsb_u8(h, (seed + i * 7) & 0xff);
}

/* A TLS 1.3 ClientHello (RFC 8446 4.1.2) as a browser-like client sends it, as a handshake
 * message. */
static void client_hello(struct hsb *msg, const struct hello_spec *s)
{
	static const unsigned suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030};
	struct hsb body = {.n = 0};
	struct hsb *h = &body;
	size_t v, e, x, l;

	hsb_u16(h, 0x0303);
	for (int i = 0; i < 32; i++)
		hsb_u8(h, (s->second ? 0x80 : 0x40) + i);
	hsb_u8(h, 32); /* legacy_session_id (middlebox compatibility, RFC 8446 D.4) */
	for (int i = 0; i < 32; i++)
		hsb_u8(h, 0xe0 + i);
	v = hsb_open(h, 2);
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
		hsb_u16(h, suites[i]);
	hsb_close(h, v, 2);
	hsb_u8(h, 1);
	hsb_u8(h, 0);
	e = hsb_open(h, 2);
	hsb_u16(h, 0); /* server_name */
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	hsb_u8(h, 0);
	hsb_u16(h, (unsigned)strlen(s->sni));
	hsb_bytes(h, s->sni, strlen(s->sni));
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	hsb_u16(h, 10); /* supported_groups */
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	for (const unsigned *g = s->groups; *g; g++)
		hsb_u16(h, *g);
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	hsb_ext(h, 11, "\x01\x00", 2);                         /* ec_point_formats */
	hsb_ext(h, 13, "\x00\x06\x04\x03\x08\x04\x04\x01", 8); /* signature_algorithms */
	hsb_ext(h, 16, "\x00\x0c\x02h2\x08http/1.1", 14);      /* ALPN */
	hsb_ext(h, 43, "\x04\x03\x04\x03\x03", 5);             /* supported_versions 1.3, 1.2 */
	hsb_ext(h, 45, "\x01\x01", 2);                         /* psk_key_exchange_modes */
	hsb_u16(h, 51);                                        /* key_share */
	x = hsb_open(h, 2);
	l = hsb_open(h, 2);
	for (const unsigned *g = s->shares; *g; g++) {
		size_t k;

		hsb_u16(h, *g);
		k = hsb_open(h, 2);
		share_bytes(h, client_share_len(*g), *g);
		hsb_close(h, k, 2);
	}
	hsb_close(h, l, 2);
	hsb_close(h, x, 2);
	hsb_close(h, e, 2);
	hsb_message(msg, 1, &body);
}

/* A TLS 1.3 ServerHello choosing group; with hrr, the HelloRetryRequest that asks for it (RFC
 * 8446 4.1.3: the magic random, key_share holding only the selected group). */
static void server_hello(struct hsb *msg, unsigned group, int hrr)
{
	static const uint8_t hrr_random[32] = {
	    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	    0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	};
	struct hsb body = {.n = 0};
	struct hsb *h = &body;
	size_t e, x, k;

	hsb_u16(h, 0x0303);
	if (hrr)
		hsb_bytes(h, hrr_random, 32);
	else
		for (int i = 0; i < 32; i++)
			hsb_u8(h, 0x20 + i);
	hsb_u8(h, 32); /* echoes the client's legacy_session_id */
	for (int i = 0; i < 32; i++)
		hsb_u8(h, 0xe0 + i);
	hsb_u16(h, 0x1301);
	hsb_u8(h, 0);
	e = hsb_open(h, 2);
	hsb_ext(h, 43, "\x03\x04", 2);
	hsb_u16(h, 51);
	x = hsb_open(h, 2);
	hsb_u16(h, group);
	if (!hrr) {
		k = hsb_open(h, 2);
		share_bytes(h, server_share_len(group), group ^ 0xff);
		hsb_close(h, k, 2);
	}
	hsb_close(h, x, 2);
	hsb_close(h, e, 2);
	hsb_message(msg, 2, &body);
}

/* ---------------------------------------------------------------- pcap, Ethernet, IPv4, TCP */

#define CLIENT_IP   0x0a630001u /* 10.99.0.1, as in samples/README.md */
#define SERVER_IP   0x0a630002u /* 10.99.0.2 */
#define SERVER_PORT 443
#define MSS         1448
/* 2024-01-02 00:00:00 UTC: the day after the recorded samples, so a report over both shows a
 * trend. */
#define EPOCH 1704153600u

struct conn {
	FILE *f;
	uint16_t client_port;
	uint32_t seq[2]; /* next sequence number: [0] client, [1] server */
	uint32_t usec;   /* time of the next packet, from EPOCH */
	uint16_t ip_id;
};

static void le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	fwrite(b, 1, 4, f);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* One Ethernet/IPv4/TCP frame from the client (dir 0) or the server (dir 1). */
static void segment(struct conn *c, int dir, unsigned flags, const uint8_t *data, size_t n)
{
	struct hsb fr = {.n = 0};
	uint32_t src = dir ? SERVER_IP : CLIENT_IP, dst = dir ? CLIENT_IP : SERVER_IP;
	size_t ip, tcp;
	uint32_t s;

	hsb_bytes(&fr, dir ? "\x02\x00\x00\x00\x99\x01" : "\x02\x00\x00\x00\x99\x02", 6);
	hsb_bytes(&fr, dir ? "\x02\x00\x00\x00\x99\x02" : "\x02\x00\x00\x00\x99\x01", 6);
	hsb_u16(&fr, 0x0800);
	ip = fr.n;
	hsb_u8(&fr, 0x45);
	hsb_u8(&fr, 0);
	hsb_u16(&fr, (unsigned)(20 + 20 + n));
	hsb_u16(&fr, c->ip_id++);
	hsb_u16(&fr, 0x4000); /* DF */
	hsb_u8(&fr, 64);
	hsb_u8(&fr, 6);
	hsb_u16(&fr, 0);
	hsb_u16(&fr, src >> 16), hsb_u16(&fr, src & 0xffff);
	hsb_u16(&fr, dst >> 16), hsb_u16(&fr, dst & 0xffff);
	s = fold(sum16(fr.b + ip, 20, 0));
	fr.b[ip + 10] = (uint8_t)(s >> 8), fr.b[ip + 11] = (uint8_t)s;
	tcp = fr.n;
	hsb_u16(&fr, dir ? SERVER_PORT : c->client_port);
	hsb_u16(&fr, dir ? c->client_port : SERVER_PORT);
	hsb_u16(&fr, c->seq[dir] >> 16), hsb_u16(&fr, c->seq[dir] & 0xffff);
	if (flags & TCP_ACK)
		hsb_u16(&fr, c->seq[!dir] >> 16), hsb_u16(&fr, c->seq[!dir] & 0xffff);
	else
		hsb_u16(&fr, 0), hsb_u16(&fr, 0);
	hsb_u8(&fr, 5 << 4);
	hsb_u8(&fr, flags);
	hsb_u16(&fr, 64240);
	hsb_u16(&fr, 0); /* checksum, below */
	hsb_u16(&fr, 0);
	hsb_bytes(&fr, data, n);
	/* TCP checksum over the pseudo-header (RFC 793 3.1) and the segment */
	s = sum16(fr.b + ip + 12, 8, 6 + (uint32_t)(20 + n));
	s = fold(sum16(fr.b + tcp, 20 + n, s));
	fr.b[tcp + 16] = (uint8_t)(s >> 8), fr.b[tcp + 17] = (uint8_t)s;

	le32(c->f, EPOCH + c->usec / 1000000);
	le32(c->f, c->usec % 1000000);
	le32(c->f, (uint32_t)fr.n);
	le32(c->f, (uint32_t)fr.n);
	fwrite(fr.b, 1, fr.n, c->f);
	c->seq[dir] += (uint32_t)n + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
	c->usec += dir ? 900 : 150;
}

/* Bytes one side sends, cut into MSS-sized segments. */
static void send_bytes(struct conn *c, int dir, const struct hsb *b)
{
	for (size_t off = 0; off < b->n; off += MSS) {
		size_t k = b->n - off < MSS ? b->n - off : MSS;

		segment(c, dir, TCP_ACK | (off + k == b->n ? TCP_PSH : 0), b->b + off, k);
	}
}

static void record(struct hsb *out, unsigned type, const struct hsb *payload)
{
	hsb_records(out, type, 0x0303, payload->b, payload->n, 16384);
}

/* A ChangeCipherSpec and one record of stand-in ciphertext (what TLS 1.3 sends after the
 * hellos: the census stops reading at it). */
static void encrypted_tail(struct hsb *out, size_t len)
{
	struct hsb p = {.n = 0};

	hsb_bytes(out, "\x14\x03\x03\x00\x01\x01", 6);
	for (size_t i = 0; i < len; i++)
		hsb_u8(&p, (i * 29 + 3) & 0xff);
	record(out, 23, &p);
}

/* ---------------------------------------------------------------- the samples */

struct sample {
	const char *file;
	struct hello_spec ch;
	unsigned hrr_group;      /* 0: no HelloRetryRequest */
	const unsigned *shares2; /* key shares of the second ClientHello */
	unsigned server_group;
	uint16_t client_port;
};

static const unsigned g_pq[] = {G_X25519MLKEM768, G_X25519, G_SECP256R1, G_SECP384R1, 0};
static const unsigned s_pq[] = {G_X25519MLKEM768, G_X25519, 0};
static const unsigned s_x25519[] = {G_X25519, 0};
static const unsigned s_hybrid[] = {G_X25519MLKEM768, 0};
static const unsigned g_mlkem[] = {G_MLKEM768, 0};
static const unsigned s_mlkem[] = {G_MLKEM768, 0};
static const unsigned g_draft[] = {G_X25519KYBER768, G_X25519, G_SECP256R1, 0};
static const unsigned s_draft[] = {G_X25519KYBER768, G_X25519, 0};

static const struct sample samples[] = {
    /* ready: the hybrid key share up front, the server takes it */
    {"pq-x25519mlkem768.pcap",
     {"pq-ready.example.test", g_pq, s_pq, 0},
     0,
     NULL,
     G_X25519MLKEM768,
     50101},
    /* ready: ML-KEM alone (draft-ietf-tls-mlkem), as a CNSA 2.0 profile would have it */
    {"pq-mlkem768.pcap",
     {"pq-mlkem.example.test", g_mlkem, s_mlkem, 0},
     0,
     NULL,
     G_MLKEM768,
     50102},
    /* hrr-cost: X25519MLKEM768 listed, only an X25519 share sent; the server asks for it */
    {"pq-hrr.pcap",
     {"pq-hrr.example.test", g_pq, s_x25519, 0},
     G_X25519MLKEM768,
     s_hybrid,
     G_X25519MLKEM768,
     50103},
    /* draft-only: the client knows only the Kyber draft, a server still takes it */
    {"pq-draft.pcap",
     {"pq-draft.example.test", g_draft, s_draft, 0},
     0,
     NULL,
     G_X25519KYBER768,
     50104},
    /* server-limited: the hybrid share offered, the server chooses X25519 */
    {"pq-server-classical.pcap",
     {"pq-classical.example.test", g_pq, s_pq, 0},
     0,
     NULL,
     G_X25519,
     50105},
};

static int write_sample(const char *dir, const struct sample *s)
{
	char path[4096];
	struct conn c = {.client_port = s->client_port, .seq = {0x1000, 0x8000}};
	struct hsb msg = {.n = 0}, out = {.n = 0};
	static const uint8_t pcap_header[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
	                                        0,    0,    0,    0,    0, 0, 4, 0, 1, 0, 0, 0};

	snprintf(path, sizeof path, "%s/%s", dir, s->file);
	c.f = fopen(path, "wb");
	if (!c.f) {
		fprintf(stderr, "pq_samples: cannot write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	fwrite(pcap_header, 1, sizeof pcap_header, c.f);
	segment(&c, 0, TCP_SYN, NULL, 0);
	segment(&c, 1, TCP_SYN | TCP_ACK, NULL, 0);
	segment(&c, 0, TCP_ACK, NULL, 0);
	client_hello(&msg, &s->ch);
	record(&out, 22, &msg);
	send_bytes(&c, 0, &out);
	if (s->hrr_group) {
		struct hello_spec again = s->ch;

		msg.n = out.n = 0;
		server_hello(&msg, s->hrr_group, 1);
		record(&out, 22, &msg);
		hsb_bytes(&out, "\x14\x03\x03\x00\x01\x01", 6); /* compatibility CCS, D.4 */
		send_bytes(&c, 1, &out);
		again.shares = s->shares2;
		again.second = 1;
		msg.n = out.n = 0;
		hsb_bytes(&out, "\x14\x03\x03\x00\x01\x01", 6);
		client_hello(&msg, &again);
		record(&out, 22, &msg);
		send_bytes(&c, 0, &out);
	}
	msg.n = out.n = 0;
	server_hello(&msg, s->server_group, 0);
	record(&out, 22, &msg);
	encrypted_tail(&out, 2400); /* EncryptedExtensions ... Finished */
	send_bytes(&c, 1, &out);
	out.n = 0;
	if (!s->hrr_group)
		hsb_bytes(&out, "\x14\x03\x03\x00\x01\x01", 6);
	msg.n = 0;
	for (int i = 0; i < 74; i++) /* the client's Finished and its first request */
		hsb_u8(&msg, (i * 13 + 5) & 0xff);
	record(&out, 23, &msg);
	send_bytes(&c, 0, &out);
	segment(&c, 0, TCP_FIN | TCP_ACK, NULL, 0);
	segment(&c, 1, TCP_FIN | TCP_ACK, NULL, 0);
	segment(&c, 0, TCP_ACK, NULL, 0);
	if (fclose(c.f) != 0) {
		fprintf(stderr, "pq_samples: cannot write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pq_samples DIR | --list\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		if (!strcmp(argv[1], "--list"))
			printf("%s\n", samples[i].file);
		else if (write_sample(argv[1], &samples[i]))
			return 1;
	}
	return 0;
}
