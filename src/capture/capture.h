/*
 * capture.h: live capture from an interface through libpcap, feeding the same census path as
 * capture files. Opening the interface needs privileges; everything after it runs as an
 * unprivileged user (tcpdump's -Z).
 */
#ifndef TLSCENSUS_CAPTURE_H
#define TLSCENSUS_CAPTURE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "census.h"

struct capture_config {
	const char *iface;
	const char *filter; /* BPF, NULL for everything */
	int snaplen;
	int buffer_mib; /* kernel buffer */
	int promisc;
	int timeout_ms;      /* 0: immediate delivery */
	uint64_t duration_s; /* 0: until a signal */
	uint64_t retain_s;   /* 0: keep every connection row */
	uint32_t stats_every_s;
	unsigned workers; /* packet threads in one PACKET_FANOUT group; 0 or 1: one */
	const char *metrics_path; /* Prometheus textfile (metrics.h), every stats_every_s; NULL */
	/* Lines the --log stream lost so far, for the metrics; NULL without a stream (set with
	 * capture_set_log_dropped: the stream opens after the interface). */
	uint64_t (*log_dropped)(void *ctx);
	void *log_ctx;
};

struct capture;

/* Opens and activates the interface and applies the filter. NULL with a message naming the
 * interface (and what to do) in err. */
struct capture *capture_open(const struct capture_config *cfg, char *err, size_t errlen);

/* Prints the interfaces libpcap can open (capture -D). 0, or -1 with a message on stderr. */
int capture_list_interfaces(void);

/* Drops root: to user (NULL: "tlscensus" if that user exists, else "nobody"); "root" keeps
 * root. Returns 0, or -1 with a message in err. Does nothing when not running as root. */
int capture_drop_privileges(const char *user, char *err, size_t errlen);

/* The workers the capture was opened with (cfg.workers, at least 1). */
unsigned capture_workers(const struct capture *cap);

/* census_config.redirect for the capture's workers: a tunnelled frame whose inner flow is
 * another worker's is copied to that worker's inbox (bounded: a full inbox drops and counts). */
void capture_redirect(void *cap, unsigned owner, int linktype, const uint8_t *frame,
                      size_t caplen, uint64_t ts_usec);

/* Runs until stop is set, the duration passes, or the interface fails: worker i reads its
 * handle into census[i], worker 0 on the calling thread, the others on threads of their own.
 * usr1 asks for the statistics on stderr. Returns 0, or -1 when the interface failed (message
 * on stderr). */
int capture_run(struct capture *cap, struct census *const *census, volatile sig_atomic_t *stop,
                volatile sig_atomic_t *usr1);

/* Writes --metrics FILE with zeros, so it exists before the first packet (call before saying
 * that the capture runs). */
void capture_metrics_start(struct capture *cap);

/* Prints the statistics (pcap_stats, census and queue counters) to stderr, a line per worker
 * when there are several and a total, and fills each census's kernel drop counter. */
void capture_report(struct capture *cap, struct census *const *census);

/* The --log stream's loss counter for --metrics (tlscensus_log_drops_total); before
 * capture_run. */
void capture_set_log_dropped(struct capture *cap, uint64_t (*fn)(void *ctx), void *ctx);

void capture_close(struct capture *cap);

#endif
