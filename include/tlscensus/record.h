/*
 * record.h: one connection as it goes to storage. The flow room fills it from its flow and
 * the handshake facts; the store room writes it and keeps no pointer into it after the call.
 */
#ifndef TLSCENSUS_RECORD_H
#define TLSCENSUS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "tlscensus/dissector.h"
#include "tlscensus/packet.h"

/* Connection-level status beyond the dissector's error (stored as parse_status). */
enum tc_conn_status {
	TC_CONN_OK = 0,    /* hellos parsed (one or both) without error */
	TC_CONN_TRUNCATED, /* a hello was cut (capture ended, gap, reassembly bound) */
	TC_CONN_MALFORMED, /* the dissector stopped on bytes that cannot be (see err) */
	TC_CONN_ONE_SIDED, /* only one direction was seen */
	TC_CONN_MIDSTREAM, /* TLS records, but the capture began after the hellos */
	TC_CONN_STATUS_COUNT
};

struct tc_record {
	/* What the flow's end may change, first: a sink's touch (tc_sink) needs only these
	 * TC_RECORD_TOUCHED bytes of the record. */
	uint64_t last_ts;        /* microseconds since the epoch */
	uint64_t packets[2];     /* [0] client->server, [1] server->client */
	uint64_t bytes[2];       /* transport payload bytes */
	uint8_t stream_trunc[2]; /* reassembly bound reached in that direction */
	uint8_t transport;       /* 6 TCP, 17 UDP */
	uint8_t ip_version;
	uint16_t client_port, server_port;
	uint64_t first_ts;
	struct tc_addr client, server;
	const struct tc_handshake *hs; /* ch/sh/alert; client_dir tells which dir is the client */
	const char *app_label;         /* nDPI's name, NULL when not known */
	uint8_t status;                /* enum tc_conn_status */
	/* app_label is NULL and the ClientHello's SNI names it: the sink that asked for this
	 * (census_config.sni_labels_later) names it on its own thread (label_sni). */
	uint8_t label_by_sni;
};

#define TC_RECORD_TOUCHED (offsetof(struct tc_record, stream_trunc) + 2)

const char *tc_conn_status_name(enum tc_conn_status s);

/* Counters of one run ("read" of some files, or a capture), kept in the runs table. */
struct run_stats {
	uint64_t packets;        /* frames handed to decode */
	uint64_t bytes;          /* captured bytes */
	uint64_t not_ip;         /* frames without IP (ARP, ...) */
	uint64_t undecodable;    /* truncated, malformed or unsupported */
	uint64_t fragments_held; /* IP fragments kept for reassembly (or refused) */
	uint64_t reassembled;    /* IP datagrams rebuilt from fragments */
	uint64_t tcp_packets;
	uint64_t flows;          /* flows created */
	uint64_t flows_evicted;  /* flows pushed out by the table bound before they went idle */
	uint64_t late_segments;  /* TCP segments of a connection already released, not reopened */
	uint64_t time_backwards; /* frames stamped over a second before the latest frame before */
	uint64_t time_back_max;  /* microseconds: the largest such step back */
	uint64_t handshakes;     /* records written */
	uint64_t hello_truncated;
	uint64_t hello_malformed;
	uint64_t kernel_drops; /* live capture: pcap_stats ps_drop + ps_ifdrop */
	uint64_t queue_drops;  /* live capture: records lost to a full writer queue */
};

/* Adds b's counters to a: several packet threads' runs make one (time_back_max, the largest
 * step back, is kept as the larger, not summed). */
void run_stats_add(struct run_stats *a, const struct run_stats *b);

#endif
