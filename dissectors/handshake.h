/*
 * handshake.h: what the TLS and DTLS record layers share inside the dissector room: keeping
 * the first hellos, the first alert and the first error on a tc_handshake. Not for src/:
 * the program sees only dissector.h.
 */
#ifndef TC_DISSECTORS_HANDSHAKE_H
#define TC_DISSECTORS_HANDSHAKE_H

#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"

#define TC_HT_CLIENT_HELLO 1
#define TC_HT_SERVER_HELLO 2

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
/* A plaintext alert record body (two bytes); anything else is encrypted and ends the dir. */
void tc_hs_alert(struct tc_handshake *hs, enum tc_dir d, struct tc_cursor body);

#endif
