/*
 * capture.c: a live interface through libpcap. The loop only decodes and dissects; records go to
 * the writer thread, which drops (and counts) rather than make this loop wait. Capture time for
 * flow expiry is the packets' own, advanced by the wall clock when the interface is quiet.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <grp.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "metrics.h"
#include "util.h"

#define CAPTURE_MAX_WORKERS 64
/* Frames waiting in a worker's inbox at most: tunnelled frames other workers passed on. */
#define INBOX_FRAMES 4096

struct inbox_frame {
	uint8_t *data;
	uint32_t len;
	int linktype;
	uint64_t ts;
};

struct inbox {
	pthread_mutex_t lock;
	struct inbox_frame ring[INBOX_FRAMES];
	size_t head, count;
	uint64_t passed;  /* frames other workers passed on to this one */
	uint64_t dropped; /* full: the frame is lost (counted as a queue drop) */
};

struct worker {
	struct capture *cap;
	unsigned id;
	pcap_t *p;
	struct census *census;
	/* What worker 0's SIGUSR1 line shows of the others: their counters as of their last
	 * second, copied under inbox.lock (a census is only ever touched by its own thread). */
	struct run_stats snap;
	struct pcap_stat snap_ps;
	uint32_t snap_flows;
	uint64_t last_ts;
	struct inbox inbox;
	pthread_t thread;
	int rc;
	volatile sig_atomic_t *stop, *usr1;
};

struct capture {
	struct capture_config cfg;
	int linktype;
	unsigned n;
	int metrics_warned; /* --metrics failed: said once until it works again */
	struct worker w[CAPTURE_MAX_WORKERS];
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

static pcap_t *open_handle(const struct capture_config *cfg, int *linktype, char *err,
                           size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	pcap_t *p;
	int rc;

	p = pcap_create(cfg->iface, errbuf);
	if (!p) {
		snprintf(err, errlen, "cannot capture on '%s': %s", cfg->iface, errbuf);
		return NULL;
	}
	pcap_set_snaplen(p, cfg->snaplen);
	pcap_set_promisc(p, cfg->promisc);
	pcap_set_buffer_size(p, cfg->buffer_mib * 1024 * 1024);
	/* Immediate delivery by default; either way the poll wakes up at least every 200 ms so
	 * signals and the once-a-second chores are served on a quiet interface. With a timeout
	 * libpcap uses TPACKET_V3's block ring (immediate mode: V2). */
	if (cfg->timeout_ms == 0) {
		pcap_set_immediate_mode(p, 1);
		pcap_set_timeout(p, 200);
	} else {
		pcap_set_timeout(p, cfg->timeout_ms);
	}
	rc = pcap_activate(p);
	if (rc < 0) {
		explain_activate(cfg->iface, rc, p, err, errlen);
		goto fail;
	}
	if (rc > 0) /* a warning: promiscuous mode unsupported, timestamp type... */
		fprintf(stderr, "tlscensus: %s: %s (%s)\n", cfg->iface, pcap_statustostr(rc),
		        pcap_geterr(p));
	*linktype = pcap_datalink(p);
	if (!tc_decode_linktype_supported(*linktype)) {
		const char *name = pcap_datalink_val_to_name(*linktype);
		snprintf(err, errlen,
		         "interface '%s' has link type %d (%s), which is not supported", cfg->iface,
		         *linktype, name ? name : "unknown");
		goto fail;
	}
	/* Non-blocking, with our own bounded poll in capture_run: libpcap 1.10's ring-buffer wait
	 * ignores the timeout on an idle interface, and a signal alone does not end it, so a
	 * blocking read would leave SIGTERM and --duration unanswered until the next packet. */
	if (pcap_setnonblock(p, 1, errbuf) < 0) {
		snprintf(err, errlen, "%s: %s", cfg->iface, errbuf);
		goto fail;
	}
	if (cfg->filter) {
		if (pcap_compile(p, &prog, cfg->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			snprintf(err, errlen, "bad filter '%s' for '%s': %s", cfg->filter,
			         cfg->iface, pcap_geterr(p));
			goto fail;
		}
		rc = pcap_setfilter(p, &prog);
		pcap_freecode(&prog);
		if (rc < 0) {
			snprintf(err, errlen, "cannot apply filter on '%s': %s", cfg->iface,
			         pcap_geterr(p));
			goto fail;
		}
	}
	return p;
fail:
	pcap_close(p);
	return NULL;
}

/*
 * Joins a handle to the capture's fanout group. PACKET_FANOUT_HASH sends both directions of a
 * flow to one socket (the kernel's flow hash is symmetric); FLAG_DEFRAG rebuilds IP fragments
 * first, so a fragmented datagram goes where its flow's other packets go.
 */
static int join_fanout(pcap_t *p, unsigned group, const char *iface, char *err, size_t errlen)
{
	/* unsigned: FLAG_DEFRAG (0x8000) shifted into the sign bit of an int is undefined */
	int arg = (int)((group & 0xffffu) |
	                (unsigned)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);

	if (setsockopt(pcap_fileno(p), SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) == 0)
		return 0;
	snprintf(err, errlen,
	         "cannot spread '%s' over several workers (PACKET_FANOUT: %s); use --workers 1",
	         iface, strerror(errno));
	return -1;
}

struct capture *capture_open(const struct capture_config *cfg, char *err, size_t errlen)
{
	struct capture *cap = calloc(1, sizeof(*cap));
	unsigned n = cfg->workers ? cfg->workers : 1;

	if (!cap || n > CAPTURE_MAX_WORKERS) {
		snprintf(err, errlen, cap ? "at most %d workers" : "out of memory",
		         CAPTURE_MAX_WORKERS);
		free(cap);
		return NULL;
	}
	cap->cfg = *cfg;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &cap->w[i];
		int lt;

		w->cap = cap;
		w->id = i;
		pthread_mutex_init(&w->inbox.lock, NULL);
		cap->n = i + 1;
		if (!(w->p = open_handle(cfg, &lt, err, errlen)))
			goto fail;
		cap->linktype = lt;
		if (n > 1 && join_fanout(w->p, (unsigned)getpid(), cfg->iface, err, errlen))
			goto fail;
	}
	return cap;
fail:
	capture_close(cap);
	return NULL;
}

unsigned capture_workers(const struct capture *cap)
{
	return cap->n;
}

void capture_redirect(void *arg, unsigned owner, int linktype, const uint8_t *frame, size_t caplen,
                      uint64_t ts_usec)
{
	struct capture *cap = arg;
	struct inbox *in;
	uint8_t *copy;

	if (owner >= cap->n)
		return;
	in = &cap->w[owner].inbox;
	copy = malloc(caplen ? caplen : 1);
	pthread_mutex_lock(&in->lock);
	if (!copy || in->count == INBOX_FRAMES) {
		in->dropped++;
		pthread_mutex_unlock(&in->lock);
		free(copy);
		return;
	}
	memcpy(copy, frame, caplen);
	in->passed++;
	in->ring[(in->head + in->count++) % INBOX_FRAMES] =
	    (struct inbox_frame){copy, (uint32_t)caplen, linktype, ts_usec};
	pthread_mutex_unlock(&in->lock);
}

/* The frames other workers passed on, taken out under one lock and read after it. */
static void drain_inbox(struct worker *w)
{
	struct inbox_frame got[256];
	size_t n;

	do {
		pthread_mutex_lock(&w->inbox.lock);
		n = w->inbox.count < COUNT_OF(got) ? w->inbox.count : COUNT_OF(got);
		for (size_t i = 0; i < n; i++)
			got[i] = w->inbox.ring[(w->inbox.head + i) % INBOX_FRAMES];
		w->inbox.head = (w->inbox.head + n) % INBOX_FRAMES;
		w->inbox.count -= n;
		pthread_mutex_unlock(&w->inbox.lock);
		for (size_t i = 0; i < n; i++) {
			census_frame_redirected(w->census, got[i].linktype, got[i].data, got[i].len,
			                        got[i].ts);
			free(got[i].data);
		}
	} while (n == COUNT_OF(got));
}

/* capture -D: the interfaces libpcap can open, numbered as tcpdump -D numbers them. */
int capture_list_interfaces(void)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_if_t *all, *d;
	int n = 0;

	if (pcap_findalldevs(&all, errbuf) != 0) {
		fprintf(stderr, "tlscensus: cannot list the interfaces: %s\n", errbuf);
		return -1;
	}
	for (d = all; d; d = d->next) {
		printf("%d.%s", ++n, d->name);
		if (d->description)
			printf(" (%s)", d->description);
		printf(" [%s%s%s]\n", d->flags & PCAP_IF_UP ? "Up" : "Down",
		       d->flags & PCAP_IF_RUNNING ? ", Running" : "",
		       d->flags & PCAP_IF_LOOPBACK ? ", Loopback" : "");
	}
	pcap_freealldevs(all);
	if (n == 0)
		fprintf(stderr, "tlscensus: no interface to capture on (as root, or with "
		                "CAP_NET_RAW, more may show)\n");
	return 0;
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
	struct worker *w = (struct worker *)arg;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

	census_frame(w->census, w->cap->linktype, data, h->caplen, ts);
	w->last_ts = ts;
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

/* A worker's drop counters into its census's statistics: the kernel's for its socket, and
 * (worker 0 only, so the sum over workers counts each once) the writer queue's, plus the
 * tunnelled frames its inbox had no room for. */
static void worker_drops(struct worker *w, struct pcap_stat *ps)
{
	const struct tc_sink *sink = census_sink(w->census);
	struct run_stats *st = census_stats(w->census);
	uint64_t inbox;

	if (pcap_stats(w->p, ps) == 0)
		st->kernel_drops = (uint64_t)ps->ps_drop + ps->ps_ifdrop;
	else
		memset(ps, 0, sizeof(*ps));
	pthread_mutex_lock(&w->inbox.lock);
	inbox = w->inbox.dropped;
	pthread_mutex_unlock(&w->inbox.lock);
	st->queue_drops = inbox + (w->id == 0 ? sink->ops->dropped(sink->ctx) : 0);
}

static void report_line(const char *who, const struct pcap_stat *ps, const struct run_stats *st,
                        uint32_t flows)
{
	fprintf(stderr,
	        "tlscensus: %s: %u received, %u dropped by the kernel, %u by the interface; "
	        "%llu packets decoded, %llu TLS connections recorded (%llu truncated, %llu "
	        "malformed); %u flows tracked, %llu evicted; %llu records lost (a full queue, or "
	        "commits that failed)\n",
	        who, ps->ps_recv, ps->ps_drop, ps->ps_ifdrop, (unsigned long long)st->packets,
	        (unsigned long long)st->handshakes, (unsigned long long)st->hello_truncated,
	        (unsigned long long)st->hello_malformed, flows,
	        (unsigned long long)st->flows_evicted, (unsigned long long)st->queue_drops);
}

/* A worker's counters for the statistics line of another thread. */
static void publish(struct worker *w)
{
	struct pcap_stat ps;

	worker_drops(w, &ps);
	pthread_mutex_lock(&w->inbox.lock);
	w->snap = *census_stats(w->census);
	w->snap_ps = ps;
	w->snap_flows = census_flows(w->census);
	pthread_mutex_unlock(&w->inbox.lock);
}

/* One worker's counters: as it last published them (it is running: its census is its own
 * thread's), or read from its census (it has stopped). */
static void worker_counters(struct worker *w, int published, struct run_stats *st,
                            struct pcap_stat *ps, uint32_t *flows)
{
	if (published) {
		pthread_mutex_lock(&w->inbox.lock);
		*st = w->snap;
		*ps = w->snap_ps;
		*flows = w->snap_flows;
		pthread_mutex_unlock(&w->inbox.lock);
	} else {
		worker_drops(w, ps);
		*st = *census_stats(w->census);
		*flows = census_flows(w->census);
	}
}

/* published: read the workers' published counters (they are running), else their own. */
static void print_report(struct capture *cap, int published)
{
	struct pcap_stat ps, total = {0};
	struct run_stats sum = {0}, st;
	uint32_t flows = 0, f;
	char who[300];

	for (unsigned i = 0; i < cap->n; i++) {
		struct worker *w = &cap->w[i];

		worker_counters(w, published, &st, &ps, &f);
		if (cap->n > 1) {
			snprintf(who, sizeof who, "%s worker %u", cap->cfg.iface, i);
			report_line(who, &ps, &st, f);
		}
		total.ps_recv += ps.ps_recv;
		total.ps_drop += ps.ps_drop;
		total.ps_ifdrop += ps.ps_ifdrop;
		flows += f;
		run_stats_add(&sum, &st);
	}
	snprintf(who, sizeof who, "%s%s", cap->cfg.iface, cap->n > 1 ? " (all workers)" : "");
	report_line(who, &total, &sum, flows);
	if (cap->n > 1) {
		uint64_t passed = 0;
		for (unsigned i = 0; i < cap->n; i++) {
			pthread_mutex_lock(&cap->w[i].inbox.lock);
			passed += cap->w[i].inbox.passed;
			pthread_mutex_unlock(&cap->w[i].inbox.lock);
		}
		fprintf(stderr,
		        "tlscensus: %s: %llu tunnelled frames passed to the worker of their inner "
		        "flow\n",
		        cap->cfg.iface, (unsigned long long)passed);
	}
}

/* The workers' counters summed into --metrics FILE (published: as print_report). A failure
 * is said once: the capture goes on without the file. */
static void write_metrics(struct capture *cap, int published)
{
	struct capture_metrics m = {.workers = cap->n, .time = (double)wall_usec() / 1e6};
	struct pcap_stat ps;
	struct run_stats st;
	char err[512];

	if (!cap->cfg.metrics_path)
		return;
	for (unsigned i = 0; i < cap->n; i++) {
		struct worker *w = &cap->w[i];
		uint32_t f;

		worker_counters(w, published, &st, &ps, &f);
		m.received += ps.ps_recv;
		m.kernel_drops += ps.ps_drop;
		m.interface_drops += ps.ps_ifdrop;
		m.packets += st.packets;
		m.queue_drops += st.queue_drops;
		m.handshakes += st.handshakes;
		m.hello_truncated += st.hello_truncated;
		m.hello_malformed += st.hello_malformed;
		m.flows += st.flows;
		m.flows_evicted += st.flows_evicted;
		m.flows_tracked += f;
	}
	if (cap->cfg.log_dropped) {
		m.has_log = 1;
		m.log_drops = cap->cfg.log_dropped(cap->cfg.log_ctx);
	}
	if (metrics_write(cap->cfg.metrics_path, cap->cfg.iface, &m, err, sizeof err) == 0)
		cap->metrics_warned = 0;
	else if (!cap->metrics_warned++)
		fprintf(stderr, "tlscensus: %s; the capture goes on\n", err);
}

void capture_set_log_dropped(struct capture *cap, uint64_t (*fn)(void *ctx), void *ctx)
{
	cap->cfg.log_dropped = fn;
	cap->cfg.log_ctx = ctx;
}

void capture_report(struct capture *cap, struct census *const *census)
{
	for (unsigned i = 0; i < cap->n; i++)
		cap->w[i].census = census[i];
	print_report(cap, 0);
	write_metrics(cap, 0);
}

static void refresh_counters(struct worker *w)
{
	const struct tc_sink *sink = census_sink(w->census);
	struct pcap_stat ps;

	worker_drops(w, &ps);
	sink->ops->run_stats(sink->ctx, census_stats(w->census));
}

/* One worker's loop. Worker 0 also answers SIGUSR1, prunes and keeps the duration. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct capture *cap = w->cap;
	double start = mono(), last_tick = start, last_stats = start, last_prune = 0;

	if (w->id) {
		char name[16];
		snprintf(name, sizeof name, "tlscensus-w%u", w->id % 100);
		pthread_setname_np(pthread_self(), name);
	}
	while (!*w->stop) {
		int n = pcap_dispatch(w->p, 256, on_packet, (u_char *)w);
		if (n == PCAP_ERROR) {
			fprintf(stderr, "tlscensus: capture on '%s' failed: %s\n", cap->cfg.iface,
			        pcap_geterr(w->p));
			w->rc = -1;
			*w->stop = 1; /* the other workers end too */
			break;
		}
		drain_inbox(w);
		if (n == 0) {
			struct pollfd pfd = {.fd = pcap_get_selectable_fd(w->p), .events = POLLIN};
			/* Shorter with peers: their redirected frames wait in the inbox meanwhile.
			 */
			poll(&pfd, 1, cap->n > 1 ? 20 : 200); /* a signal cuts it short: fine */
		}
		double now = mono();
		if (w->id == 0 && *w->usr1) {
			*w->usr1 = 0;
			publish(w);
			print_report(cap, 1);
		}
		if (now - last_tick >= 1.0) {
			last_tick = now;
			publish(w);
			/* A quiet interface still ages its flows. */
			uint64_t wall = wall_usec();
			census_tick(w->census, wall > w->last_ts ? wall : w->last_ts);
		}
		if (now - last_stats >= cap->cfg.stats_every_s) {
			last_stats = now;
			refresh_counters(w);
			if (w->id == 0) {
				publish(w);
				write_metrics(cap, 1);
			}
		}
		/* Every minute: a prune deletes at most 200000 rows, so a backlog goes in steps. */
		if (w->id == 0 && cap->cfg.retain_s &&
		    (last_prune == 0 || now - last_prune >= 60)) {
			last_prune = now;
			const struct tc_sink *sink = census_sink(w->census);
			sink->ops->prune(sink->ctx,
			                 (double)wall_usec() / 1e6 - (double)cap->cfg.retain_s);
		}
		if (cap->cfg.duration_s && now - start >= (double)cap->cfg.duration_s)
			break;
	}
	/* What the kernel already holds was seen before the stop: take it too (bounded, so a
	 * flood cannot keep a stopping capture alive). */
	for (int i = 0;
	     w->rc == 0 && i < 64 && pcap_dispatch(w->p, 256, on_packet, (u_char *)w) > 0; i++)
		;
	return NULL;
}

void capture_metrics_start(struct capture *cap)
{
	write_metrics(cap, 1); /* the file exists from the start (zeros) */
}

int capture_run(struct capture *cap, struct census *const *census, volatile sig_atomic_t *stop,
                volatile sig_atomic_t *usr1)
{
	unsigned started = 0;
	int rc = 0;

	for (unsigned i = 0; i < cap->n; i++) {
		cap->w[i].census = census[i];
		cap->w[i].stop = stop;
		cap->w[i].usr1 = usr1;
		cap->w[i].rc = 0;
	}
	for (unsigned i = 1; i < cap->n; i++) {
		if (pthread_create(&cap->w[i].thread, NULL, worker_main, &cap->w[i]) != 0) {
			fprintf(stderr,
			        "tlscensus: cannot start capture worker %u; try --workers %u\n", i,
			        i);
			*stop = 1;
			break;
		}
		started = i;
	}
	worker_main(&cap->w[0]);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(cap->w[i].thread, NULL);
	/* The frames passed on after their owner stopped reading its inbox. */
	for (unsigned i = 0; i < cap->n; i++)
		drain_inbox(&cap->w[i]);
	for (unsigned i = 0; i < cap->n; i++) {
		refresh_counters(&cap->w[i]);
		rc |= cap->w[i].rc;
	}
	return rc;
}

void capture_close(struct capture *cap)
{
	if (!cap)
		return;
	for (unsigned i = 0; i < cap->n; i++) {
		struct worker *w = &cap->w[i];
		if (w->p)
			pcap_close(w->p);
		for (size_t j = 0; j < w->inbox.count; j++)
			free(w->inbox.ring[(w->inbox.head + j) % INBOX_FRAMES].data);
		pthread_mutex_destroy(&w->inbox.lock);
	}
	free(cap);
}
