/*
 * pair.h: what a store tells the judge: this client met this server with these hellos, N times,
 * from T1 to T2. A reader of a store (src/store/read_pairs.c today) produces pairs; the judge
 * (src/judge) takes them and never learns where they came from, so any store can feed it.
 */
#ifndef TLSCENSUS_PAIR_H
#define TLSCENSUS_PAIR_H

#include <stdint.h>

#include "tlscensus/record.h"

struct tc_pair {
	const char *client_ip, *server_ip; /* address text as stored */
	const char *sni, *ja3, *ja4;       /* stored (inert) text; NULL when none */
	int server_port;
	int version;        /* negotiated (ServerHello); -1: no ServerHello */
	int cipher;         /* negotiated suite; -1: none */
	int ch_max_version; /* the client's highest offered version; -1: no ClientHello */
	int alert_desc;     /* the first plaintext alert; -1: none */
	int fallback_scsv;  /* 1: TLS_FALLBACK_SCSV offered (RFC 7507) */
	int retry; /* 1: a lower hello shortly after a failed one (store.c, inventory_keys) */
	/* TC_CONN_OK: the hellos can be judged. Anything else goes to the unknown bucket; a
	 * connection without any hello comes as TC_CONN_MIDSTREAM with only its addresses, and a
	 * status the reader does not know as TC_CONN_STATUS_COUNT. */
	enum tc_conn_status parse_status;
	/* Key exchange, for the group rules (post-quantum readiness). groups: the ClientHello's
	 * supported_groups, key_shares: the groups of its key_share entries, both wire values in
	 * wire order (GREASE kept); server_group: the group of the TLS 1.3 ServerHello's key_share,
	 * -1 when none; hrr: a HelloRetryRequest came first. kx_known 0: the reader has none of
	 * these (an inventory row folded by --retain before they were kept), so the group rules
	 * cannot judge the pair. */
	const uint16_t *groups, *key_shares;
	size_t n_groups, n_key_shares;
	int server_group;
	int hrr;
	int kx_known;
	uint64_t connections;
	double first_seen, last_seen; /* unix seconds: start of the first and of the latest */
};

#endif
