/*
 * dissector.h: the interface between the capture rooms and the wire-protocol dissectors.
 * For a stream transport the stream hands each direction's reassembled opening bytes (always
 * from offset 0 of that direction) to the dissector, which advances its own position; for a
 * datagram transport each datagram goes over whole. Either way the dissector writes facts into
 * a tc_handshake. Dissectors never see packets, flows, libpcap, SQLite or nDPI.
 */
#ifndef TLSCENSUS_DISSECTOR_H
#define TLSCENSUS_DISSECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "tlscensus/hello.h"

enum tc_dir { TC_DIR_A = 0, TC_DIR_B = 1 };

/* Why a parse ended early. Stored on the connection by name (tc_err_name). */
enum tc_err {
	TC_ERR_NONE = 0,
	TC_ERR_RECORD_LENGTH,    /* record length over 2^14 + 2048 (RFC 8446 5.2) */
	TC_ERR_RECORD_VERSION,   /* record header is not TLS */
	TC_ERR_HANDSHAKE_LENGTH, /* handshake message length impossible or over the bound */
	TC_ERR_CLIENT_HELLO,     /* ClientHello body malformed */
	TC_ERR_SERVER_HELLO,     /* ServerHello body malformed */
	TC_ERR_SSLV2,            /* SSLv2 hello malformed */
	TC_ERR_EXTENSION,        /* an extension's inner lengths do not add up */
	TC_ERR_UNEXPECTED,       /* message not allowed here (e.g. ServerHello from the client) */
	TC_ERR_BOUND,            /* hello did not complete within the reassembly bound */
	TC_ERR_TRUNCATED,        /* stream ended (or a gap was never filled) inside a hello */
	TC_ERR_COUNT
};

const char *tc_err_name(enum tc_err e);

/* Where a direction's dissection stands. */
enum tc_dir_state {
	TC_DS_SEEK = 0, /* looking for where TLS starts (offset 0, or after a plaintext preamble) */
	TC_DS_RECORDS,  /* walking TLS records */
	TC_DS_DONE,     /* encrypted, finished, failed or not TLS: no more bytes wanted */
};

struct tc_dir_parse {
	uint32_t pos;       /* stream offset of the next record (or preamble scan point) */
	uint8_t state;      /* enum tc_dir_state */
	uint8_t sslv2;      /* this direction speaks the SSLv2 record format */
	uint8_t ccs_seen;   /* ChangeCipherSpec: what follows is encrypted */
	uint8_t hello_seen; /* this direction's hello is parsed */
	uint8_t hdr[4];     /* handshake message header being assembled */
	uint8_t hdr_len;
	uint8_t *msg;      /* hello body being reassembled across records (NULL: skipping) */
	uint32_t msg_len;  /* body bytes collected, or skipped when msg is NULL */
	uint32_t body_len; /* length from the handshake header */
	uint32_t records;  /* TLS records walked */
	uint32_t scan;     /* TC_DS_SEEK: preamble bytes already scanned */
	uint32_t rec_left; /* body bytes still to come of a handshake record read as it arrives */
	uint16_t msg_seq;  /* DTLS: message_seq of the hello in msg */
};

struct tc_alert {
	uint8_t seen;
	uint8_t level;
	uint8_t desc;
	uint8_t dir; /* enum tc_dir of the sender */
};

/* Everything one connection's opening says. Owned by the flow; freed with tc_handshake_free. */
struct tc_prints;
struct tc_quic;

struct tc_handshake {
	/* What the record carries (TC_HS_CARRIED bytes: a sink may copy only these) */
	struct tc_client_hello *ch; /* the first ClientHello, NULL until seen */
	struct tc_server_hello *sh; /* the first ServerHello that is not a HelloRetryRequest */
	struct tc_prints *prints;   /* fingerprints a caller computed, or NULL (the store does) */
	struct tc_alert alert;      /* the first plaintext alert */
	int8_t client_dir;          /* direction that sent the ClientHello, -1 unknown */
	uint8_t hrr_seen;           /* a HelloRetryRequest came before the ServerHello */
	uint8_t ch_count;           /* ClientHellos seen (a second one follows an HRR) */
	uint8_t err;                /* enum tc_err, first error */
	uint32_t quic_version;      /* QUIC: version of the client's first Initial; 0 for TLS/DTLS */
	uint8_t err_dir;
	uint8_t tls_found; /* some direction holds TLS records */
	uint8_t midstream; /* TLS records seen, but the capture began after the hellos */
	/* The parse state, the flow's alone */
	uint32_t tls_offset[2]; /* where TLS starts in each direction (non-zero after STARTTLS) */
	struct tc_dir_parse dir[2];
	struct tc_quic *quic; /* QUIC: keys and CRYPTO streams while the Initials last */
};

/* The bytes of a tc_handshake a record needs: everything before the parse state. */
#define TC_HS_CARRIED offsetof(struct tc_handshake, tls_offset)

/* Bound on a handshake message kept for parsing; ClientHellos with post-quantum key shares are
 * a few KiB, certificates are never needed, so the bound is on hellos only. */
#define TC_MAX_HELLO_MSG (64 * 1024)

/* What a datagram was, so the caller can account for those it had no use for. */
enum tc_datagram_kind {
	TC_DG_DISSECTED = 0, /* a wire-protocol dissector took it (DTLS, QUIC) */
	TC_DG_STUN,          /* STUN (RFC 7983 7), as WebRTC sends before its DTLS handshake */
	TC_DG_OTHER,         /* anything else (RTP, DNS, ...), or empty */
};

/*
 * A wire-protocol dissector, one per transport: the census picks it by transport and calls
 * nothing else. A stream transport fills feed, a datagram transport opens, datagram and end.
 *
 * feed() is called with the contiguous bytes of one direction so far, from the first byte the
 * direction sent or from the point tc_dir_consume let the caller drop them to (the census keeps
 * only what is not read yet). It parses from
 * dir[d].pos on, stores facts, and moves pos. eof says no more bytes will come for this
 * direction (FIN, gap never filled, reassembly bound reached), so an incomplete hello can be
 * recorded as truncated.
 *
 * opens() says whether a datagram that belongs to no flow yet may open one; the rest take no
 * flow-table slot. datagram() takes one whole datagram a direction sent and says what it was;
 * end() says none will follow for that direction (idle expiry, end of input), so a hello still
 * missing fragments is recorded as truncated.
 */
struct tc_dissector {
	const char *name;
	void (*feed)(struct tc_handshake *hs, enum tc_dir d, const uint8_t *buf, size_t len,
	             int eof);
	int (*opens)(const uint8_t *p, size_t n);
	enum tc_datagram_kind (*datagram)(struct tc_handshake *hs, enum tc_dir d, const uint8_t *p,
	                                  size_t n);
	void (*end)(struct tc_handshake *hs, enum tc_dir d);
};

/* TLS over TCP, from offset 0 or after a plaintext preamble (STARTTLS and the like). */
extern const struct tc_dissector tc_dissector_tls;
/* UDP: DTLS, told apart from the STUN that may share its 5-tuple, and QUIC Initials. */
extern const struct tc_dissector tc_dissector_udp;

void tc_handshake_init(struct tc_handshake *hs);
void tc_handshake_free(struct tc_handshake *hs);

/* A direction wants no more bytes. */
static inline int tc_dir_done(const struct tc_handshake *hs, enum tc_dir d)
{
	return hs->dir[d].state == TC_DS_DONE;
}

/* After feed: how many bytes from the start of what it was given the caller may drop, which
 * feed will not read again (past the preamble, everything before pos); pos is made relative
 * to what is left. 0 while the preamble is scanned. */
static inline size_t tc_dir_consume(struct tc_handshake *hs, enum tc_dir d)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	size_t n = dp->state == TC_DS_RECORDS ? dp->pos : 0;

	dp->pos -= (uint32_t)n;
	return n;
}

/* Hello parsers, exposed for unit tests and for the SSLv2 path.
 * body/len: the handshake message body (after the 4-byte handshake header). */
enum tc_err tc_parse_client_hello(const uint8_t *body, size_t len, struct tc_client_hello *ch);
/* The same body with the DTLS cookie after session_id (RFC 6347 4.2.1). */
enum tc_err tc_parse_dtls_client_hello(const uint8_t *body, size_t len, struct tc_client_hello *ch);
enum tc_err tc_parse_server_hello(const uint8_t *body, size_t len, struct tc_server_hello *sh);
/* rec/len: an SSLv2 record body (after the 2- or 3-byte SSLv2 record header). */
enum tc_err tc_parse_sslv2_client_hello(const uint8_t *rec, size_t len, struct tc_client_hello *ch);
enum tc_err tc_parse_sslv2_server_hello(const uint8_t *rec, size_t len, struct tc_server_hello *sh);

/* How far into a direction TLS may start after a plaintext preamble before we give up. */
#define TC_MAX_PREAMBLE (16 * 1024)

/*
 * Plaintext that precedes TLS on the same connection (STARTTLS in SMTP/IMAP/POP3/FTP/XMPP/IRC/
 * LDAP, PostgreSQL SSLRequest, MySQL SSL request, RDP X.224, SOCKS, HTTP CONNECT, PROXY
 * protocol): returns the offset in buf of the first TLS record that opens a hello (or an alert),
 * or -1 when none starts in buf. *resume is set to the first offset that more bytes could still
 * turn into a match, so a caller can scan each byte once.
 */
long tc_find_tls_start(const uint8_t *buf, size_t len, size_t *resume);

/* Whether buf starts with a plausible TLS record header of any content type. */
int tc_tls_record_plausible(const uint8_t *buf, size_t len);

#endif
