/*
 * quic.h: QUIC Initial packets inside the dissector room (RFC 9000 17.2, RFC 9001 5,
 * RFC 9369 3): the versions whose Initials can be read, their packet protection keys, and
 * opening one protected Initial. Not for src/: the program sees only tc_dissector_udp.
 */
#ifndef TC_DISSECTORS_QUIC_H
#define TC_DISSECTORS_QUIC_H

#include <stddef.h>
#include <stdint.h>

#include "tlscensus/dissector.h"

#define TC_QUIC_MAX_CID 20 /* RFC 9000 17.2: a v1 connection ID is at most 20 bytes */
#define TC_QUIC_TAG     16 /* AEAD_AES_128_GCM tag (RFC 9001 5.3) */
#define TC_QUIC_SAMPLE  16 /* header protection sample (RFC 9001 5.4.2) */
#define TC_QUIC_SECRET  32 /* SHA-256 */
#define TC_QUIC_KEY     16
#define TC_QUIC_IV      12

/* Long-header packet types, named as in v1; a version says how it numbers them. */
enum tc_quic_ptype { TC_QP_INITIAL, TC_QP_0RTT, TC_QP_HANDSHAKE, TC_QP_RETRY };

/* A version whose Initial packets tlscensus decrypts: its salt (RFC 9001 5.2, RFC 9369 3.3.1,
 * the drafts' own), and whether it is v2-shaped (RFC 9369 3.2, 3.3.2: other packet type
 * numbers, "quicv2 " key labels). */
struct tc_quic_version {
	uint32_t version;
	uint32_t last; /* a range of draft numbers sharing one salt: version..last */
	uint8_t salt[20];
	uint8_t v2;
	uint8_t crypto_frame; /* the CRYPTO frame's type: 0x06, but 0x08 in Google's T051 */
	const char *name;     /* of the version, or of the first of its range */
};

const struct tc_quic_version *tc_quic_version_find(uint32_t version);
/* The packet type that the two type bits of a long header (first byte >> 4 & 3) mean. */
enum tc_quic_ptype tc_quic_ptype(const struct tc_quic_version *qv, uint8_t first);

/* What opens one sender's Initial packets. */
struct tc_quic_keys {
	uint8_t key[TC_QUIC_KEY];
	uint8_t iv[TC_QUIC_IV];
	uint8_t hp[TC_QUIC_KEY];
};

/* RFC 9001 5.2: the client and server initial secrets from the client's Destination
 * Connection ID. 0 on success, -1 when libcrypto fails. */
int tc_quic_initial_secrets(const struct tc_quic_version *qv, const uint8_t *dcid, size_t dcid_len,
                            uint8_t client[TC_QUIC_SECRET], uint8_t server[TC_QUIC_SECRET]);
/* RFC 9001 5.1: key, iv and hp from one secret. */
int tc_quic_keys_from_secret(const struct tc_quic_version *qv, const uint8_t secret[TC_QUIC_SECRET],
                             struct tc_quic_keys *k);
/* Both senders' keys from the client's Destination Connection ID: [0] client, [1] server. */
int tc_quic_initial_keys(const struct tc_quic_version *qv, const uint8_t *dcid, size_t dcid_len,
                         struct tc_quic_keys keys[2]);

/*
 * Opens one long-header packet in place: pkt holds the whole packet (len bytes, up to the end
 * its Length field gives), pn_off is where the packet number field starts. Removes header
 * protection (RFC 9001 5.4), recovers the full packet number from largest (RFC 9000 A.3; -1
 * when none was seen), and decrypts with AES-128-GCM (RFC 9001 5.3). Returns the payload
 * length (the payload starts at *payload_off) or -1 when the packet does not open with k.
 */
long tc_quic_open(const struct tc_quic_keys *k, uint8_t *pkt, size_t len, size_t pn_off,
                  int64_t largest, uint64_t *pn, size_t *payload_off);

/* The UDP demultiplexer's side of QUIC (quic.c): whether a datagram is a long-header Initial
 * of a known version that may open a flow, each datagram of a QUIC 5-tuple, and its end. */
int tc_quic_opens(const uint8_t *p, size_t n);
enum tc_datagram_kind tc_quic_datagram(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p,
                                       size_t n);
void tc_quic_end(struct tc_handshake *hs, enum tc_dir d);
void tc_quic_free(struct tc_quic *q);

#endif
