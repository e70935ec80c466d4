/*
 * census.h: the pipeline from a captured frame to a stored connection record:
 * decode -> flow table -> stream -> dissector -> label -> sink (the store). Files and live
 * interfaces both feed frames through census_frame, so there is one path for both.
 */
#ifndef TLSCENSUS_CENSUS_H
#define TLSCENSUS_CENSUS_H

#include <stdint.h>

#include "label.h"
#include "tlscensus/packet.h"
#include "tlscensus/sink.h"

/* A frame that belongs to another worker's census (see census_config.redirect). */
typedef void (*census_redirect_fn)(void *ctx, unsigned owner, int linktype, const uint8_t *frame,
                                   size_t caplen, uint64_t ts_usec);

struct census_config {
	uint32_t max_flows;      /* flow table bound; the oldest flow is evicted beyond it */
	uint32_t stream_bound;   /* bytes reassembled per direction */
	uint32_t idle_timeout_s; /* a flow silent this long (capture time) is closed */
	uint32_t label_packets;  /* packets per flow shown to nDPI at most */
	/*
	 * Several packet threads (--workers): census number `worker` of `workers` owns the flows
	 * whose folded 5-tuple (innermost headers) hashes to it, census_owner().
	 * sees_all: every census is shown every frame (reading a file): it skips the others'
	 * flows, and only worker 0 counts frames, so the counters add up across workers.
	 * Otherwise (a live fanout group) the kernel has spread the frames by their outer
	 * headers: a tunnelled frame whose inner flow is another worker's goes to redirect, which
	 * hands it to that worker's census_frame_redirected.
	 */
	uint16_t worker, workers;
	uint8_t sees_all;
	/* The sink names a label the ClientHello's SNI settles (tc_record.label_by_sni), on its
	 * own thread: nDPI's host-name automaton then costs this one nothing. */
	uint8_t sni_labels_later;
	census_redirect_fn redirect;
	void *redirect_ctx;
};

#define CENSUS_DEFAULT_CONFIG                                                                      \
	{                                                                                          \
		.max_flows = 1u << 20, .stream_bound = 64 * 1024, .idle_timeout_s = 120,           \
		.label_packets = 24,                                                               \
	}

struct census;

/* labeler may be NULL (no application labels). What the sink points to must outlive the
 * census. */
struct census *census_new(const struct census_config *cfg, const struct tc_sink *sink,
                          struct labeler *lb);
/* The sink records go to (the live capture reads its drops and refreshes run counters). */
const struct tc_sink *census_sink(const struct census *c);
void census_frame(struct census *c, int linktype, const uint8_t *frame, size_t caplen,
                  uint64_t ts_usec);
/* A frame another worker counted and passed on (census_config.redirect). */
void census_frame_redirected(struct census *c, int linktype, const uint8_t *frame, size_t caplen,
                             uint64_t ts_usec);
void census_packet(struct census *c, const struct tc_packet *pkt);
/* Which of n workers owns a decoded packet's flow: the same for both directions. */
unsigned census_owner(const struct tc_packet *pkt, unsigned n);
/* End of input: every open flow is recorded and released. */
void census_flush(struct census *c);
/* Capture time advanced without packets (a quiet live interface): expire idle flows. */
void census_tick(struct census *c, uint64_t now_usec);
struct run_stats *census_stats(struct census *c);
uint32_t census_flows(const struct census *c);
void census_free(struct census *c);

#endif
