/*
 * label.h: an application label per connection from nDPI (e.g. "TLS.Microsoft" from the SNI).
 * nDPI sees only the first packets of a flow; its per-flow state is then released, so the cost
 * per connection stays bounded whatever the connection's length.
 */
#ifndef TLSCENSUS_LABEL_H
#define TLSCENSUS_LABEL_H

#include <stddef.h>
#include <stdint.h>

#define LABEL_MAX 48

struct labeler;
struct label_flow;

/* NULL with a message in err when nDPI cannot be initialised. */
struct labeler *label_open(char *err, size_t errlen);
void label_close(struct labeler *l);

/* A new flow's labelling. A TCP flow (tcp set) starts by holding its packets back (copies,
 * bounded): when the ClientHello alone settles the label (label_hello), nDPI never runs for
 * the flow. Any other goes to packet DPI from its first packet. */
struct label_flow *label_flow_new(struct labeler *l, int tcp);
/* The same in the memory of a flow label_flow_clear released (freed on failure). */
struct label_flow *label_flow_renew(struct labeler *l, struct label_flow *f, int tcp);
/* Feeds one IP packet (l3 = IP header). Returns 1 once a label is settled (written to out).
 * A packet held back is not copied yet: l3 must stay readable until label_packet_end is
 * called for the flow (or label_hello, label_finish or label_flow_clear, which take it). */
int label_packet(struct labeler *l, struct label_flow *f, const uint8_t *l3, size_t len,
                 uint64_t ts_usec, char out[LABEL_MAX]);
/* The caller is done with the packet label_packet was given last: a held one is copied now. */
void label_packet_end(struct label_flow *f);
/* What the census knows once it has parsed a TCP flow's ClientHello. */
struct label_hello {
	const char *sni; /* raw bytes as sent, NULL when none */
	size_t sni_len;
	uint16_t client_port, server_port;
	const uint8_t *client_ip4, *server_ip4; /* 4 bytes each, network order; NULL for IPv6 */
	int tls_at_start; /* the client's first bytes are the TLS record (no STARTTLS preamble) */
	int sni_later;    /* an SNI that settles the label is not matched here: LABEL_BY_SNI */
};

/* label_hello: the SNI settles the label, and h->sni_later asked for it to be named later,
 * by label_sni on another labeler (the database thread's). */
#define LABEL_BY_SNI 2

/*
 * Called with the held packets once the ClientHello is parsed. Returns 1 with the label in
 * out when the hello settles it exactly as nDPI's packet DPI would, or LABEL_BY_SNI (out
 * untouched) when that label is label_sni's of the SNI and h->sni_later is set; else 0, and
 * the held packets go to nDPI in order (packet DPI carries on from there).
 */
int label_hello(struct labeler *l, struct label_flow *f, const struct label_hello *h,
                char out[LABEL_MAX]);

/* The label of a TLS connection that label_hello settled by its SNI (sni: raw bytes as
 * sent): nDPI's host-name automaton, behind a cache. A labeler is one thread's at a time. */
void label_sni(struct labeler *l, const char *sni, size_t len, char out[LABEL_MAX]);
/* Starts the load of what label_sni will read for this SNI, a few records before it is
 * called, and returns the name's key (never 0; 0 for no SNI), which label_sni_keyed takes so
 * the name is not lower-cased and hashed twice. */
uint64_t label_sni_prefetch(const struct labeler *l, const char *sni, size_t len);
/* label_sni with label_sni_prefetch's key for the same SNI on the same labeler (0: none). */
void label_sni_keyed(struct labeler *l, const char *sni, size_t len, uint64_t key,
                     char out[LABEL_MAX]);
/* For the tests: SNIs label_sni sent to the automaton (its cache did not know them), and the
 * cache set an SNI is kept in. */
uint64_t label_sni_matched(const struct labeler *l);
uint32_t label_sni_set(const struct labeler *l, const char *sni, size_t len);

/* No more packets will be fed: writes nDPI's best guess (possibly "Unknown") to out. */
void label_finish(struct labeler *l, struct label_flow *f, char out[LABEL_MAX]);
void label_flow_free(struct label_flow *f);
/* Releases what f holds (nDPI's flow, held packets) but not f, for label_flow_renew. */
void label_flow_clear(struct label_flow *f);

#endif
