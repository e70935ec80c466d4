/*
 * handshake.h: what the TLS and DTLS record layers share inside the dissector room: the wire
 * constants, and keeping the first hellos, the first alert and the first error on a
 * tc_handshake. Not for src/: the program sees only dissector.h.
 */
#ifndef TC_DISSECTORS_HANDSHAKE_H
#define TC_DISSECTORS_HANDSHAKE_H

#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"

/* ContentType (RFC 8446 5.1, RFC 6520 for heartbeat); DTLS uses the same values. */
#define TC_RT_CCS       20
#define TC_RT_ALERT     21
#define TC_RT_HANDSHAKE 22
#define TC_RT_APPDATA   23
#define TC_RT_HEARTBEAT 24

/* The TLS record header: type, version, length (RFC 8446 5.1). */
#define TC_RECORD_HEADER 5
/* RFC 8446 5.2: a TLSCiphertext fragment is at most 2^14 + 256; RFC 5246 6.2.3 allowed
 * 2^14 + 2048 for TLS 1.2 and below. The larger bound accepts every legal record. */
#define TC_MAX_RECORD (16384 + 2048)

/* HandshakeType (RFC 8446 4). */
#define TC_HT_CLIENT_HELLO 1
#define TC_HT_SERVER_HELLO 2
#define TC_HT_HRR_DRAFT    6 /* hello_retry_request in TLS 1.3 drafts before -22 */
/* The handshake header: type, uint24 length (RFC 8446 4). */
#define TC_HS_HEADER 4

/* AlertLevel (RFC 8446 6). */
#define TC_ALERT_WARNING 1
#define TC_ALERT_FATAL   2

/* SSL 2.0 message types (the SSL 2.0 specification, appendix A). */
#define TC_SSL2_MT_CLIENT_HELLO 1
#define TC_SSL2_MT_SERVER_HELLO 4

void tc_hs_set_err(struct tc_handshake *hs, enum tc_dir d, enum tc_err e);
/* The direction wants no more bytes; a hello being assembled is dropped. */
void tc_hs_dir_finish(struct tc_handshake *hs, enum tc_dir d);
void tc_hs_keep_client_hello(struct tc_handshake *hs, enum tc_dir d, struct tc_client_hello *ch,
                             enum tc_err err);
/* A complete hello body; only the first ClientHello and first real ServerHello are kept. */
void tc_hs_on_client_hello(struct tc_handshake *hs, enum tc_dir d, const uint8_t *body, size_t len,
                           int dtls);
void tc_hs_on_server_hello(struct tc_handshake *hs, enum tc_dir d, const uint8_t *body, size_t len);
/* Whether a handshake message of this type is still worth keeping. */
int tc_hs_wanted(const struct tc_handshake *hs, uint8_t type);
/* TLS handshake messages in stream order (the payload of handshake records, or QUIC's CRYPTO
 * stream): hellos are kept, every other message is counted off unread. */
void tc_hs_handshake_bytes(struct tc_handshake *hs, enum tc_dir d, struct tc_cursor c);
/* A plaintext alert record body (two bytes); anything else is encrypted and ends the dir. */
void tc_hs_alert(struct tc_handshake *hs, enum tc_dir d, struct tc_cursor body);

/*
 * The hello body being kept in dir[d].msg (reasm.c), of the message type in dir[d].hdr[0].
 * tc_hs_msg_start: a body of len bytes is coming; 0 when the direction gave up (over
 * TC_MAX_HELLO_MSG, reported as TC_ERR_BOUND, or no memory).
 * tc_hs_msg_add: the piece at offset off of the body (off plus the piece within the body).
 * Bytes already held are skipped; a piece that starts past them leaves a hole and is dropped.
 * Returns 1 once the body is whole: it has then been parsed as the hello it is, and let go.
 * tc_hs_msg_cut: the direction ends with the body incomplete; what arrived is parsed (a
 * ClientHello keeps the fields before the cut) and the hello is reported truncated. Returns 0
 * when no byte of a body was held. The caller finishes the direction.
 * dtls: parse a ClientHello with the DTLS cookie.
 */
int tc_hs_msg_start(struct tc_handshake *hs, enum tc_dir d, uint8_t type, uint32_t len);
int tc_hs_msg_add(struct tc_handshake *hs, enum tc_dir d, uint32_t off, struct tc_cursor piece,
                  int dtls);
int tc_hs_msg_cut(struct tc_handshake *hs, enum tc_dir d, int dtls);
/* A whole hello body of message type type (ClientHello or ServerHello), wherever it lies: in
 * one record (parsed in place) or put together by the calls above. */
void tc_hs_on_hello(struct tc_handshake *hs, enum tc_dir d, uint8_t type, const uint8_t *body,
                    size_t len, int dtls);

/*
 * DTLS over UDP (RFC 6347, RFC 9147), under tc_dissector_udp: each datagram a direction sends
 * goes to tc_dtls_datagram whole, and tc_dtls_end says none will follow. The direction's
 * tc_dir_parse reassembles one hello from handshake fragments.
 */
void tc_dtls_datagram(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p, size_t n);
void tc_dtls_end(struct tc_handshake *hs, enum tc_dir d);
/* Whether a datagram opens with a DTLS handshake record of epoch 0 with a DTLS version (1.0,
 * 1.2, 1.3, or the pre-RFC 4347 OpenSSL value 0x0100) that fits the datagram. */
int tc_dtls_plausible(const uint8_t *p, size_t n);

#endif
