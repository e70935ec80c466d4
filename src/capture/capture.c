/*
 * capture.c: a live interface through libpcap. The loop only decodes and dissects; records go to
 * the writer thread, which drops (and counts) rather than make this loop wait. Capture time for
 * flow expiry is the packets' own, advanced by the wall clock when the interface is quiet.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

struct capture {
	struct capture_config cfg;
	pcap_t *p;
	int linktype;
	struct census *census;
	uint64_t last_ts;
};

static void explain_activate(const char *iface, int rc, pcap_t *p, char *err, size_t errlen)
{
	const char *detail = pcap_geterr(p);

	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		snprintf(err, errlen, "no interface '%s' (%s); 'ip link' lists the interfaces",
		         iface, detail);
		break;
	case PCAP_ERROR_PERM_DENIED:
		snprintf(err, errlen,
		         "permission denied capturing on '%s' (%s); run as root, or give the "
		         "binary CAP_NET_RAW and CAP_NET_ADMIN (setcap)",
		         iface, detail);
		break;
	case PCAP_ERROR_IFACE_NOT_UP:
		snprintf(err, errlen,
		         "interface '%s' is down; bring it up with 'ip link set %s up'", iface,
		         iface);
		break;
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		snprintf(
		    err, errlen,
		    "no permission for promiscuous mode on '%s'; run as root or use --no-promisc",
		    iface);
		break;
	default:
		snprintf(err, errlen, "cannot capture on '%s': %s (%s)", iface,
		         pcap_statustostr(rc), detail);
	}
}

struct capture *capture_open(const struct capture_config *cfg, char *err, size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *cap = calloc(1, sizeof(*cap));
	struct bpf_program prog;
	int rc;

	if (!cap) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cap->cfg = *cfg;
	cap->p = pcap_create(cfg->iface, errbuf);
	if (!cap->p) {
		snprintf(err, errlen, "cannot capture on '%s': %s", cfg->iface, errbuf);
		free(cap);
		return NULL;
	}
	pcap_set_snaplen(cap->p, cfg->snaplen);
	pcap_set_promisc(cap->p, cfg->promisc);
	pcap_set_buffer_size(cap->p, cfg->buffer_mib * 1024 * 1024);
	/* Immediate delivery by default; either way the poll wakes up at least every 200 ms so
	 * signals and the once-a-second chores are served on a quiet interface. */
	if (cfg->timeout_ms == 0) {
		pcap_set_immediate_mode(cap->p, 1);
		pcap_set_timeout(cap->p, 200);
	} else {
		pcap_set_timeout(cap->p, cfg->timeout_ms);
	}
	rc = pcap_activate(cap->p);
	if (rc < 0) {
		explain_activate(cfg->iface, rc, cap->p, err, errlen);
		goto fail;
	}
	if (rc > 0) /* a warning: promiscuous mode unsupported, timestamp type... */
		fprintf(stderr, "tlscensus: %s: %s (%s)\n", cfg->iface, pcap_statustostr(rc),
		        pcap_geterr(cap->p));
	cap->linktype = pcap_datalink(cap->p);
	if (!tc_decode_linktype_supported(cap->linktype)) {
		const char *name = pcap_datalink_val_to_name(cap->linktype);
		snprintf(err, errlen,
		         "interface '%s' has link type %d (%s), which is not supported", cfg->iface,
		         cap->linktype, name ? name : "unknown");
		goto fail;
	}
	/* Non-blocking, with our own bounded poll in capture_run: libpcap 1.10's ring-buffer wait
	 * ignores the timeout on an idle interface, and a signal alone does not end it, so a
	 * blocking read would leave SIGTERM and --duration unanswered until the next packet. */
	if (pcap_setnonblock(cap->p, 1, errbuf) < 0) {
		snprintf(err, errlen, "%s: %s", cfg->iface, errbuf);
		goto fail;
	}
	if (cfg->filter) {
		if (pcap_compile(cap->p, &prog, cfg->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			snprintf(err, errlen, "bad filter '%s' for '%s': %s", cfg->filter,
			         cfg->iface, pcap_geterr(cap->p));
			goto fail;
		}
		rc = pcap_setfilter(cap->p, &prog);
		pcap_freecode(&prog);
		if (rc < 0) {
			snprintf(err, errlen, "cannot apply filter on '%s': %s", cfg->iface,
			         pcap_geterr(cap->p));
			goto fail;
		}
	}
	return cap;
fail:
	pcap_close(cap->p);
	free(cap);
	return NULL;
}

int capture_drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (user && !strcmp(user, "root"))
		return 0;
	if (!user)
		user = getpwnam("tlscensus") ? "tlscensus" : "nobody";
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "no user '%s' to run as (-Z): create it, or name another",
		         user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot become user '%s': %s", user, strerror(errno));
		return -1;
	}
	/* setuid as root drops the saved uid too; prove it. */
	if (setuid(0) == 0) {
		snprintf(err, errlen, "dropping root to '%s' did not stick", user);
		return -1;
	}
	return 0;
}

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct capture *cap = (struct capture *)arg;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

	census_frame(cap->census, cap->linktype, data, h->caplen, ts);
	cap->last_ts = ts;
}

static uint64_t wall_usec(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void capture_report(struct capture *cap, struct census *c)
{
	const struct tc_sink *w = census_sink(c);
	struct run_stats *st = census_stats(c);
	struct pcap_stat ps;

	if (pcap_stats(cap->p, &ps) == 0)
		st->kernel_drops = (uint64_t)ps.ps_drop + ps.ps_ifdrop;
	else
		memset(&ps, 0, sizeof(ps));
	st->queue_drops = w->ops->dropped(w->ctx);
	fprintf(stderr,
	        "tlscensus: %s: %u received, %u dropped by the kernel, %u by the interface; "
	        "%llu packets decoded, %llu TLS connections recorded (%llu truncated, %llu "
	        "malformed); %u flows tracked, %llu evicted; %llu records lost (a full queue, or "
	        "commits that failed)\n",
	        cap->cfg.iface, ps.ps_recv, ps.ps_drop, ps.ps_ifdrop,
	        (unsigned long long)st->packets, (unsigned long long)st->handshakes,
	        (unsigned long long)st->hello_truncated, (unsigned long long)st->hello_malformed,
	        census_flows(c), (unsigned long long)st->flows_evicted,
	        (unsigned long long)st->queue_drops);
}

static void refresh_counters(struct capture *cap, struct census *c)
{
	const struct tc_sink *w = census_sink(c);
	struct run_stats *st = census_stats(c);
	struct pcap_stat ps;

	if (pcap_stats(cap->p, &ps) == 0)
		st->kernel_drops = (uint64_t)ps.ps_drop + ps.ps_ifdrop;
	st->queue_drops = w->ops->dropped(w->ctx);
	w->ops->run_stats(w->ctx, st);
}

int capture_run(struct capture *cap, struct census *c, volatile sig_atomic_t *stop,
                volatile sig_atomic_t *usr1)
{
	double start = mono(), last_tick = start, last_stats = start, last_prune = 0;
	int rc = 0;

	cap->census = c;
	while (!*stop) {
		int n = pcap_dispatch(cap->p, 256, on_packet, (u_char *)cap);
		if (n == PCAP_ERROR) {
			fprintf(stderr, "tlscensus: capture on '%s' failed: %s\n", cap->cfg.iface,
			        pcap_geterr(cap->p));
			rc = -1;
			break;
		}
		if (n == 0) {
			struct pollfd pfd = {.fd = pcap_get_selectable_fd(cap->p),
			                     .events = POLLIN};
			poll(&pfd, 1, 200); /* a signal cuts it short (EINTR): fine either way */
		}
		double now = mono();
		if (*usr1) {
			*usr1 = 0;
			capture_report(cap, c);
		}
		if (now - last_tick >= 1.0) {
			last_tick = now;
			/* A quiet interface still ages its flows. */
			uint64_t wall = wall_usec();
			census_tick(c, wall > cap->last_ts ? wall : cap->last_ts);
		}
		if (now - last_stats >= cap->cfg.stats_every_s) {
			last_stats = now;
			refresh_counters(cap, c);
		}
		/* Every minute: a prune deletes at most 200000 rows, so a backlog goes in steps. */
		if (cap->cfg.retain_s && (last_prune == 0 || now - last_prune >= 60)) {
			last_prune = now;
			const struct tc_sink *w = census_sink(c);
			w->ops->prune(w->ctx,
			              (double)wall_usec() / 1e6 - (double)cap->cfg.retain_s);
		}
		if (cap->cfg.duration_s && now - start >= (double)cap->cfg.duration_s)
			break;
	}
	/* What the kernel already holds was seen before the stop: take it too (bounded, so a
	 * flood cannot keep a stopping capture alive). */
	for (int i = 0;
	     rc == 0 && i < 64 && pcap_dispatch(cap->p, 256, on_packet, (u_char *)cap) > 0; i++)
		;
	refresh_counters(cap, c);
	return rc;
}

void capture_close(struct capture *cap)
{
	if (!cap)
		return;
	pcap_close(cap->p);
	free(cap);
}
