/*
 * metrics.h: a capture's counters for Prometheus, in the text exposition format that
 * node_exporter's textfile collector reads (a *.prom file in its directory), so kernel and
 * queue drops alert like any other metric. The file is replaced whole (a temporary file beside
 * it, then rename), so the collector never reads half of it.
 */
#ifndef TLSCENSUS_METRICS_H
#define TLSCENSUS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct capture_metrics {
	uint64_t received;        /* pcap_stats ps_recv, summed over the workers */
	uint64_t kernel_drops;    /* ps_drop */
	uint64_t interface_drops; /* ps_ifdrop */
	uint64_t packets;         /* frames decoded */
	uint64_t queue_drops;     /* records lost to the writer queue, frames to a full inbox */
	uint64_t handshakes;      /* TLS connections recorded */
	uint64_t hello_truncated, hello_malformed;
	uint64_t flows;         /* created */
	uint64_t flows_evicted; /* pushed out by --max-flows */
	uint64_t flows_tracked; /* open now (a gauge) */
	int has_log;            /* a --log stream runs: log_drops is written */
	uint64_t log_drops;     /* its lines lost (a full buffer, or a failed write) */
	unsigned workers;
	double time; /* unix seconds of these figures */
};

/* Writes m for interface iface to path, replacing it; 0, or -1 with a message naming the file
 * in err. */
int metrics_write(const char *path, const char *iface, const struct capture_metrics *m, char *err,
                  size_t errlen);

#endif
