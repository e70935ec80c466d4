/*
 * main.c: the command line. Parses options, wires source -> census -> store for "read", and
 * hands the query commands to the store. No packet or SQL logic lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "catalog.h"
#include "ch_read.h"
#include "census.h"
#include "collect.h"
#include "hints.h"
#include "label.h"
#include "outbox.h"
#include "legacy.h"
#include "legacy_out.h"
#include "logstream.h"
#include "read.h"
#include "records.h"
#include "report.h"
#include "ship.h"
#include "source.h"
#include "store.h"
#include "tlscensus/hello.h"
#include "util.h"
#include "writer.h"

/* Exit codes, documented in the README and in --help. */
enum {
	EXIT_OK = 0,
	EXIT_LEGACY = 1, /* legacy and report with --fail-on-legacy: legacy clients found */
	EXIT_USAGE = 2,
	EXIT_CAPTURE = 3,   /* a capture could not be read at all */
	EXIT_TRUNCATED = 4, /* a capture was cut short; what came before it is recorded */
	EXIT_DATABASE = 5,
	EXIT_CENTRAL =
	    7, /* ship: ClickHouse unreachable or refusing; the rows stay in the outbox */
	EXIT_INTERRUPTED = 130,
};

#define DEFAULT_DB "tlscensus.db"

static volatile sig_atomic_t stop_requested, stats_requested, reopen_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_requested = 1;
	else if (sig == SIGHUP)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

/* hup: SIGHUP reopens the --log file (logrotate); without --log it keeps its default (a
 * closed terminal ends a read). */
static void install_signals(int hup)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* Restarted: a read of standard input must not take a rotation for the end of input. */
	sa.sa_flags = SA_RESTART;
	if (hup)
		sigaction(SIGHUP, &sa, NULL);
}

static const char usage_main[] =
    "usage: tlscensus COMMAND [OPTIONS]\n"
    "\n"
    "Passive TLS census: which clients still speak legacy TLS, to whom.\n"
    "\n"
    "commands:\n"
    "  read    record the TLS handshakes of pcap/pcapng files into the database\n"
    "  capture record the TLS handshakes seen live on an interface (span port, mirror)\n"
    "  legacy  list clients that used legacy TLS (below 1.2, or 3DES/RC4/DES/NULL/EXPORT/anon)\n"
    "  export  write the recorded connections as NDJSON, with the policy's verdict\n"
    "  report  a report for people: who must fix what, by when; trend, changes, coverage\n"
    "  migrate bring a database written by an older tlscensus to the current schema\n"
    "  ship    send the database's records to ClickHouse, the fleet's central store\n"
    "\n"
    "tlscensus COMMAND --help (or tlscensus help COMMAND) shows a command's options;\n"
    "tlscensus --version its version.\n"
    "exit codes: 0 ok, 2 usage, 3 unreadable capture, 4 truncated capture (records kept),\n"
    "            5 database error, 130 interrupted (records kept); report: 1 legacy found\n"
    "            (--fail-on-legacy), 6 report file not written; ship: 7 ClickHouse\n"
    "            unreachable or refusing (the records stay in the database)\n";

static const char usage_read[] =
    "usage: tlscensus read [--db FILE] [OPTIONS] [-r] CAPTURE...\n"
    "\n"
    "Reads pcap or pcapng files (- for standard input; a directory for the capture files in\n"
    "it, in time order) and records one row per TLS connection: what the client offered and\n"
    "what was negotiated.\n"
    "\n"
    "  --db FILE          database (default " DEFAULT_DB ", created if missing)\n"
    "  --no-label         skip nDPI application labels\n"
    "  --max-flows N      flows tracked at once (default 1048576); the oldest is evicted\n"
    "  --idle-timeout S   seconds of capture time after which a silent flow is closed (120)\n"
    "  -r FILE            a capture to read, as tcpdump -r (the same as naming it)\n"
    "  -f, --filter EXPR  BPF filter, as for capture: only matching frames are read\n"
    "  -c, --count N      stop after N frames (over all files)\n"
    "  --follow           CAPTURE is a directory of rotated captures (tcpdump -G/-C -w,\n"
    "                     dumpcap -b): read each file once it is closed, until stopped\n"
    "  --settle S         --follow: the newest file is closed once unchanged this long (60)\n"
    "  --workers N        packet threads, each walking the files and keeping its own flows\n"
    "                     (default 1; standard input is read by one)\n"
    "  --progress         force the progress line (default: only on a terminal)\n"
    "  --quiet            no progress line and no summary\n"
    "  --log FILE         also write each connection as it is recorded as one NDJSON line\n"
    "                     (the keys of tlscensus export), appended to FILE (- for standard\n"
    "                     output); SIGHUP opens FILE again (logrotate)\n"
    "  --policy P         the policy that judges the --log lines (default: default)\n";

static const char usage_capture[] =
    "usage: tlscensus capture -i IFACE [--db FILE] [-f 'BPF filter'] [OPTIONS]\n"
    "\n"
    "Records the TLS handshakes seen on a live interface (a span port, a traffic mirror,\n"
    "or 'any') until SIGINT/SIGTERM or --duration. SIGUSR1 prints the statistics.\n"
    "\n"
    "  -i, --interface IFACE  interface to capture on (required)\n"
    "  -D, --list-interfaces  list the interfaces, as tcpdump -D, and exit\n"
    "  --db FILE              database (default " DEFAULT_DB ", created 0640)\n"
    "  -f, --filter EXPR      BPF capture filter, e.g. 'tcp' or 'not port 22'\n"
    "  --snaplen N            bytes kept per packet (default 262144)\n"
    "  --buffer-size MiB      kernel capture buffer (default 64)\n"
    "  --no-promisc           do not put the interface in promiscuous mode\n"
    "  --timeout-ms N         deliver packets in batches every N ms (default: immediately)\n"
    "  -Z, --user USER        user to run as once the interface is open (default: tlscensus\n"
    "                         if it exists, else nobody; 'root' keeps root)\n"
    "  --duration D           stop after D (e.g. 90s, 30m, 1h, 7d)\n"
    "  --retain D             delete connection rows older than D (e.g. 90d); the inventory\n"
    "                         keeps one row per client/server/version/cipher for ever\n"
    "  --no-label             skip nDPI application labels\n"
    "  --max-flows N          flows tracked at once (default 1048576)\n"
    "  --idle-timeout S       seconds after which a silent flow is closed (120)\n"
    "  --stats-every S        seconds between refreshes of the run's counters (60)\n"
    "  --workers N            packet threads in one PACKET_FANOUT group, flows spread by\n"
    "                         their hash (default: the number of cores)\n"
    "  --log FILE             also write each connection as it is recorded as one NDJSON\n"
    "                         line (the keys of tlscensus export), appended to FILE (- for\n"
    "                         standard output), at least once a second; never waits: lines\n"
    "                         it cannot take are dropped and counted; SIGHUP opens FILE\n"
    "                         again (logrotate)\n"
    "  --policy P             the policy that judges the --log lines (default: default)\n"
    "  --metrics FILE         the counters (packets, drops, handshakes, flows) in the\n"
    "                         Prometheus text format for node_exporter's textfile\n"
    "                         collector, replaced every --stats-every seconds and at exit\n"
    "  --ship URL             also send the records to ClickHouse as they are committed (a\n"
    "                         thread; the capture never waits for it): see tlscensus ship;\n"
    "                         --database, --sensor, --credentials, --cacert as there\n";

static const char usage_legacy[] =
    "usage: tlscensus legacy [--db FILE] [--format table|csv|json] [--policy NAME|FILE]\n"
    "                        [FILTERS] [--group client|server] [--sort KEY] [--wide]\n"
    "                        [--columns LIST] [--limit N] [--fail-on-legacy]\n"
    "\n"
    "Per client IP, every server and SNI it reached with legacy TLS, who must act, and by\n"
    "when. Legacy is what the policy says; without --policy: below TLS 1.2, or a 3DES, RC4,\n"
    "DES, NULL, EXPORT, anonymous or RC2 suite. When the server never answered, the client's\n"
    "highest offered version counts.\n"
    "\n"
    "ATTRIBUTION: failing (no ServerHello, or a protocol_version, handshake_failure or\n"
    "inappropriate_fallback alert), fallback (TLS_FALLBACK_SCSV, or a lower retry within 60 s\n"
    "of a failed attempt), client-limited (the client offers nothing newer), server-limited\n"
    "(the client offered more, the server chose less), cipher (the suite, not the version).\n"
    "Under key-exchange rules (--policy pq): client-limited (no acceptable group offered),\n"
    "draft-only (only Kyber drafts), server-limited (the server chose a classical group),\n"
    "hrr-cost (post-quantum, but after a HelloRetryRequest); what passes is \"ready\".\n"
    "Connections whose hellos could not be parsed are counted after the table (CSV: rows\n"
    "with attribution \"unknown\"; JSON: \"unknown\").\n"
    "\n"
    "  --db FILE        database (default " DEFAULT_DB ")\n"
    "  --format F       table (default), csv or json\n"
    "  --policy P       default, entra, nist, pci, pq, tls12, or a policy file\n"
    "                   (policies/README.md)\n"
    "  --since WHEN     connections from WHEN on: 2026-11-01, 2026-11-01T12:00:00Z, @UNIX,\n"
    "                   or 7d, 24h, 30m (that long before now); UTC\n"
    "  --until WHEN     connections up to WHEN (same forms)\n"
    "  --client CIDR    client addresses, e.g. 10.0.0.0/8, 2001:db8::/32, 192.0.2.7\n"
    "  --server CIDR    server addresses\n"
    "  --sni GLOB       server names, e.g. '*.example.com' (case-insensitive)\n"
    "  --port N         server port\n"
    "  --group G        client or server: one section per client or per server address\n"
    "  --sort KEY       client (default), server, connections, last (seen) or deadline\n"
    "  --catalog FILE   provider catalog (services, cutoff dates) instead of the built-in one\n"
    "  --hints FILE     fingerprint to software map (ja4, ja3, software, note; TSV)\n"
    "  --wide           the table with every column (default: client, sni, version,\n"
    "                   attribution, conns, last-seen; and reason under key-exchange rules)\n"
    "  --columns LIST   the table's columns, e.g. client,server,sni,version,software; names:\n"
    "                   client, server, sni, attribution, version, cipher, client-max, conns,\n"
    "                   first-seen, last-seen, reason, service, deadline, software\n"
    "  --limit N        show the first N entries (in --sort order)\n"
    "  --fail-on-legacy exit 1 when a legacy client is listed\n"
    "  --clickhouse URL read the fleet's records from ClickHouse instead of --db\n"
    "                   (http://HOST:8123 or https://...); with --database NAME (tlscensus),\n"
    "                   --sensor NAME (repeatable: only those sensors), --credentials FILE\n"
    "                   (user:password; else TLSCENSUS_CLICKHOUSE_USER/_PASSWORD), --cacert\n"
    "                   FILE\n"
    "\n"
    "On a terminal the table fits its width (the window, else $COLUMNS): long names are cut in\n"
    "the middle, attribution and legacy versions are coloured (not with NO_COLOR set). Piped,\n"
    "every cell is whole and nothing is coloured.\n"
    "exit codes: 0 listed; 1 listed legacy clients, with --fail-on-legacy; 2 usage;\n"
    "            5 database error\n";

static const char usage_export[] =
    "usage: tlscensus export [--db FILE] [--format ndjson] [--policy NAME|FILE] [FILTERS]\n"
    "\n"
    "One JSON object per connection that showed a ClientHello or a ServerHello, in time\n"
    "order: the recorded keys, then community_id, cipher_name and the policy's word on it\n"
    "(policy, verdict, reason, attribution, service, deadline, software), the keys of the\n"
    "--log stream of read and capture.\n"
    "\n"
    "  --db FILE        database (default " DEFAULT_DB ")\n"
    "  --format F       ndjson (the default and only format)\n"
    "  --policy P       default, entra, nist, pci, pq, tls12, or a policy file\n"
    "  --since WHEN, --until WHEN, --client CIDR, --server CIDR, --sni GLOB, --port N,\n"
    "  --catalog FILE, --hints FILE  as for tlscensus legacy\n";

static const char usage_migrate[] =
    "usage: tlscensus migrate [--db FILE]\n"
    "\n"
    "Brings a database written by an older tlscensus to the current schema, in place and in\n"
    "one transaction (read and capture do the same whenever they open one). Nothing is lost.\n"
    "\n"
    "  --db FILE      database (default " DEFAULT_DB ")\n";

static const char usage_report[] =
    "usage: tlscensus report [--db FILE] [--since WHEN|last] [--until WHEN]\n"
    "                        [--format html|md|csv] [-o FILE] [--policy NAME|FILE] [FILTERS]\n"
    "                        [--fail-on-legacy] [--no-record]\n"
    "\n"
    "A report for people who will not read packet dumps: which clients use legacy TLS, to\n"
    "which service, who must act and by when; the traffic by version and cipher suite, a\n"
    "per-day trend, what changed since the previous report, and what the capture could not\n"
    "see. HTML is one self-contained page (no script, no external file), fit to print.\n"
    "\n"
    "  --db FILE         database (default " DEFAULT_DB ")\n"
    "  --since WHEN      start: 2026-11-01, 2026-11-01T12:00:00Z, @UNIX, or 7d, 24h, 30m (that\n"
    "                    long before now), UTC; or last: where the previous report with the\n"
    "                    same policy and filters ended (default: the first record)\n"
    "  --until WHEN      end, same forms (default: now)\n"
    "  --format F        html, md or csv (default: from the -o extension, else html)\n"
    "  -o, --output FILE write there, replacing it whole; strftime(3) patterns are expanded in\n"
    "                    local time: -o legacy-%Y-%m-%d.html (default: standard output); a\n"
    "                    dated file holding another window's report is kept, this one goes\n"
    "                    to NAME-2.html (-3, ...)\n"
    "  --policy P        default, entra, nist, pci, pq, tls12, or a policy file\n"
    "  --client CIDR, --server CIDR, --sni GLOB, --port N, --sort KEY, --catalog FILE,\n"
    "  --hints FILE      as for tlscensus legacy\n"
    "  --top N           cipher suites listed by name (default 10)\n"
    "  --fail-on-legacy  exit 1 when the report lists a legacy client\n"
    "  --no-record       do not remember this report (for --since last and its changes)\n"
    "  --clickhouse URL  read the fleet's records from ClickHouse instead of --db\n"
    "                    (http://HOST:8123 or https://...); with --database NAME (tlscensus),\n"
    "                    --sensor NAME (repeatable: only those sensors), --credentials FILE\n"
    "                    (user:password; else TLSCENSUS_CLICKHOUSE_USER/_PASSWORD), --cacert\n"
    "                    FILE; the report is remembered in ClickHouse\n"
    "\n"
    "exit codes: 0 written; 1 written, and --fail-on-legacy found legacy clients; 2 usage;\n"
    "            5 database error; 6 the report file could not be written\n";

static const char usage_ship[] =
    "usage: tlscensus ship --db FILE --to URL [--database NAME] [--sensor NAME]\n"
    "                      [--credentials FILE] [--cacert FILE] [--batch N] [--ttl D]\n"
    "                      [--follow] [--give-up-after D]\n"
    "       tlscensus ship --db FILE --status\n"
    "\n"
    "Sends the database's connection records, runs and inventory to ClickHouse over its HTTP\n"
    "interface, creating the tables it needs. The database is the outbox: what ClickHouse\n"
    "acknowledged is remembered in it (table ship_state), so a second run, or one after a crash\n"
    "or kill -9, sends only the rest; a batch sent twice is counted once. While the server is\n"
    "down or refuses, the batch is tried again with backoff (1 s doubling to 60 s).\n"
    "\n"
    "  --db FILE            database (default " DEFAULT_DB ")\n"
    "  --to URL             http://HOST:8123, or https://HOST:8443 (verified certificate)\n"
    "  --database NAME      ClickHouse database (default tlscensus)\n"
    "  --sensor NAME        this database's name in the fleet (default: the host name);\n"
    "                       letters, digits and . _ : -\n"
    "  --credentials FILE   user:password on the first line; else the environment's\n"
    "                       TLSCENSUS_CLICKHOUSE_USER and TLSCENSUS_CLICKHOUSE_PASSWORD\n"
    "  --cacert FILE        CA certificates for an https server (default: the system's)\n"
    "  --batch N            rows per INSERT (default 10000)\n"
    "  --ttl D              drop connection rows older than D (e.g. 90d) from ClickHouse, by\n"
    "                       whole months; the central inventory keeps their summary\n"
    "  --follow             keep shipping new records until SIGINT/SIGTERM\n"
    "  --give-up-after D    stop retrying after D (default 10m) and exit 7; the records\n"
    "                       stay in the database for the next run\n"
    "  --status             per destination: the sensor name, rows shipped and pending, the\n"
    "                       last success and the last error (also while capture --ship runs)\n"
    "\n"
    "exit codes: 0 all sent; 2 usage; 5 database error; 7 ClickHouse unreachable or refusing;\n"
    "            130 interrupted (what was acknowledged stays acknowledged)\n";

/* "read" from "usage: tlscensus read ...": the command a usage text is about, for the hint. */
static void usage_command(const char *usage, char *out, size_t len)
{
	const char *p = usage + strlen("usage: tlscensus ");

	snprintf(out, len, "%.*s", (int)strcspn(p, " \n"), p);
}

/* A usage error says the one wrong thing and where the help is, not the whole help. what is a
 * complete sentence; arg, when not NULL, is quoted after it. */
static int usage_error(const char *usage, const char *what, const char *arg)
{
	char cmd[16];

	usage_command(usage, cmd, sizeof cmd);
	if (arg)
		fprintf(stderr, "tlscensus: %s '%s'\n", what, arg);
	else
		fprintf(stderr, "tlscensus: %s\n", what);
	if (!strcmp(cmd, "COMMAND"))
		fputs("try 'tlscensus --help'\n", stderr);
	else
		fprintf(stderr, "try 'tlscensus %s --help'\n", cmd);
	return EXIT_USAGE;
}

/* What getopt_long refused (the option strings start with ':', and opterr is 0, so it says
 * nothing itself): a missing value, or an option the command does not have. */
static int bad_option(const char *usage, int o, char **argv)
{
	const char *opt = argv[optind - 1];
	char shortopt[3] = {'-', (char)optopt, '\0'};

	/* "-x" inside a cluster ("-qx") is not argv[optind - 1] itself: name the letter. */
	if (optopt && strncmp(opt, "--", 2) && (opt[0] != '-' || opt[1] != optopt))
		opt = shortopt;
	return usage_error(usage, o == ':' ? "missing value for option" : "unknown option", opt);
}

static int parse_u32(const char *s, uint32_t min, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < min || v > 0xffffffffUL)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

static int join_sources(int n, char **paths, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + used, outlen - used, "%s%s", i ? " " : "", paths[i]);
		if (w < 0 || (size_t)w >= outlen - used)
			return 0;
		used += (size_t)w;
	}
	return 1;
}

/*
 * The labels a ClientHello's SNI settles are named on the writer thread, with a labeler of
 * its own, opened there on first use: nDPI's host-name automaton and the SNI cache were 3-5 % of
 * a bench-1G read on the packet thread, which sets the pace, and the writer's core had time
 * to spare.
 */
struct sni_namer {
	struct labeler *labeler;
	int failed; /* label_open failed once: said, not tried again */
};

static void name_by_sni(void *ctx, const char *sni, size_t len, uint64_t key, char *out,
                        size_t outlen)
{
	struct sni_namer *n = ctx;
	char label[LABEL_MAX], err[512];

	out[0] = '\0';
	if (!n->labeler && !n->failed && !(n->labeler = label_open(err, sizeof err))) {
		n->failed = 1;
		fprintf(stderr,
		        "tlscensus: %s; connections that their SNI would label are recorded "
		        "without an application label\n",
		        err);
	}
	if (!n->labeler)
		return;
	if (outlen >= LABEL_MAX) { /* the writer's own buffer (it is): no copy */
		label_sni_keyed(n->labeler, sni, len, key, out);
		return;
	}
	label_sni_keyed(n->labeler, sni, len, key, label);
	size_t k = strnlen(label, outlen - 1);
	memcpy(out, label, k);
	out[k] = '\0';
}

static uint64_t name_by_sni_ahead(void *ctx, const char *sni, size_t len)
{
	struct sni_namer *n = ctx;

	return n->labeler ? label_sni_prefetch(n->labeler, sni, len) : 0;
}

/* What read and capture share: database, labels, writer thread and one census per worker
 * (each with its own labeler: nDPI's detection module is not shared between threads), opened
 * in that order and closed in reverse. */
struct pipeline {
	struct store *store;
	struct writer *writer;
	unsigned workers;
	struct labeler *labels[WRITER_MAX_PORTS];
	struct census *census[WRITER_MAX_PORTS];
	struct sni_namer namer; /* the writer thread's */
};

static void pipeline_free(struct pipeline *pl)
{
	for (unsigned i = 0; i < pl->workers; i++)
		census_free(pl->census[i]);
	writer_stop(pl->writer);
	tc_hello_pool_release();
	for (unsigned i = 0; i < pl->workers; i++)
		label_close(pl->labels[i]);
	label_close(pl->namer.labeler);
	store_close(pl->store);
}

/* nDPI's set-up (about 20 ms: its automata and IP lists, per worker) runs beside the
 * database's opening and the input files' identity hashes, which need none of it. */
struct labels_job {
	struct labeler **labels;
	unsigned n;
	char err[1024];
};

static void *labels_open(void *arg)
{
	struct labels_job *j = arg;

	for (unsigned i = 0; i < j->n; i++) {
		if (!(j->labels[i] = label_open(j->err, sizeof j->err))) {
			for (unsigned k = 0; k < i; k++) { /* all workers label, or none */
				label_close(j->labels[k]);
				j->labels[k] = NULL;
			}
			break;
		}
	}
	return NULL;
}

static void labels_join(struct labels_job *j, pthread_t *t, int threaded)
{
	if (threaded)
		pthread_join(*t, NULL);
	else
		labels_open(j);
	if (j->n && !j->labels[0])
		fprintf(stderr, "tlscensus: %s; continuing without application labels\n", j->err);
}

static void *labels_close_all(void *arg)
{
	struct labels_job *j = arg;

	for (unsigned i = 0; i < j->n; i++) {
		label_close(j->labels[i]);
		j->labels[i] = NULL;
	}
	return NULL;
}

/* The pipeline does not open after all: the set-up is waited for, then undone. */
static void labels_drop(struct labels_job *j, pthread_t *t, int threaded)
{
	if (threaded)
		pthread_join(*t, NULL);
	labels_close_all(j);
}

/* cfg->workers, sees_all and redirect say how the censuses share the traffic (census.h).
 * prep, when set, runs on the open store before the writer thread takes it (read: which files
 * were read before); non-zero stops there. */
static int pipeline_open(struct pipeline *pl, const char *db, const struct census_config *cfg,
                         int no_label, enum writer_mode mode, const char *source,
                         const char *command, const char *as_user,
                         int (*prep)(struct store *, void *), void *arg)
{
	unsigned n = cfg->workers ? cfg->workers : 1;
	char err[1024];

	memset(pl, 0, sizeof(*pl));
	struct labels_job job = {.labels = pl->labels, .n = no_label ? 0 : n};
	pthread_t lt;
	int threaded = job.n && pthread_create(&lt, NULL, labels_open, &job) == 0;
	pl->store = store_open(db, STORE_READ_WRITE, err, sizeof(err));
	if (!pl->store) {
		labels_drop(&job, &lt, threaded);
		if (as_user)
			fprintf(
			    stderr,
			    "tlscensus: as user %s (-Z): %s; that user must be able to write the "
			    "database and its directory, or name another with -Z\n",
			    as_user, err);
		else
			fprintf(stderr, "tlscensus: %s\n", err);
		return -1;
	}
	if (prep && prep(pl->store, arg)) {
		labels_drop(&job, &lt, threaded);
		store_close(pl->store);
		pl->store = NULL;
		return -1;
	}
	labels_join(&job, &lt, threaded);
	store_run_begin(pl->store, source, command);
	pl->writer = writer_start_ports(pl->store, mode, n);
	pl->workers = n;
	if (pl->writer && pl->labels[0])
		writer_on_label(pl->writer, name_by_sni, name_by_sni_ahead, &pl->namer);
	for (unsigned i = 0; pl->writer && i < n; i++) {
		struct census_config c = *cfg;

		c.worker = (uint16_t)i;
		c.workers = (uint16_t)n;
		c.sni_labels_later = pl->labels[0] != NULL;
		c.max_flows = cfg->max_flows / n ? cfg->max_flows / n : 1;
		pl->census[i] =
		    census_new(&c, writer_port_sink(writer_port(pl->writer, i)), pl->labels[i]);
		if (!pl->census[i]) {
			fprintf(stderr,
			        "tlscensus: out of memory for %u flows (lower --max-flows)\n",
			        cfg->max_flows);
			pipeline_free(pl);
			return -1;
		}
	}
	if (!pl->writer) {
		fprintf(stderr, "tlscensus: cannot start the database thread\n");
		pipeline_free(pl);
		return -1;
	}
	return 0;
}

/* What a run left in the database, for the command's last words. */
struct pipeline_end {
	uint64_t committed; /* connection records committed */
	uint64_t lost;      /* records that failed to commit, or were not written after that */
	int failed;         /* a write failed for good (disk full, I/O error) */
	char why[256];      /* the store's reason */
};

/* Records every open flow, ends the run; stats receives the run's counters (all workers').
 * Returns 0, or -1 when the database reported an error along the way. After a write failure
 * the run is left unended (as a killed one is): nothing more is written to a database that
 * refuses writes. */
static int pipeline_close(struct pipeline *pl, struct run_stats *stats, struct pipeline_end *end)
{
	memset(stats, 0, sizeof *stats);
	for (unsigned i = 0; i < pl->workers; i++) {
		census_flush(pl->census[i]);
		run_stats_add(stats, census_stats(pl->census[i]));
		/* each worker's last counters go the way its earlier ones went (run_workers); the
		 * writer blocks by now (a capture switched it), so they are not dropped */
		if (pl->workers > 1)
			writer_port_run_stats(writer_port(pl->writer, i),
			                      census_stats(pl->census[i]));
	}
	for (unsigned i = 0; i < pl->workers; i++) {
		census_free(pl->census[i]);
		pl->census[i] = NULL;
	}
	uint64_t write_errors = writer_errors(pl->writer);
	end->failed = writer_failed(pl->writer);
	end->lost = writer_lost(pl->writer);
	writer_stop(pl->writer);
	pl->writer = NULL;
	tc_hello_pool_release(); /* this thread's pool: worker 0's and the writer's last trash */
	/* nDPI's tear-down (a few ms: its automata and IP trees) beside the database's end; the
	 * writer's labeler too, now that the writer is done with it. */
	struct labeler *all[WRITER_MAX_PORTS + 1];
	struct labels_job job = {.labels = all, .n = 0};
	for (unsigned i = 0; i < pl->workers; i++) {
		all[job.n++] = pl->labels[i];
		pl->labels[i] = NULL;
	}
	all[job.n++] = pl->namer.labeler;
	pl->namer.labeler = NULL;
	pthread_t lt;
	int threaded = pthread_create(&lt, NULL, labels_close_all, &job) == 0;
	end->committed = store_committed(pl->store);
	snprintf(end->why, sizeof end->why, "%s",
	         store_failure(pl->store) ? store_failure(pl->store) : "write failed");
	int rc = write_errors || end->failed || store_run_end(pl->store, stats) != 0 ? -1 : 0;
	store_close(pl->store);
	if (threaded)
		pthread_join(lt, NULL);
	else
		labels_close_all(&job);
	return rc;
}

/* Options read and capture share (--no-label, --max-flows, --idle-timeout). */
static int pipeline_option(int o, const char *arg, struct census_config *cfg, int *no_label,
                           const char *usage)
{
	switch (o) {
	case 'L':
		*no_label = 1;
		return 0;
	case 'm':
		if (!parse_u32(arg, 1, &cfg->max_flows))
			return usage_error(usage, "--max-flows wants a number >= 1, not", arg);
		return 0;
	default: /* 't' */
		if (!parse_u32(arg, 1, &cfg->idle_timeout_s))
			return usage_error(usage, "--idle-timeout wants seconds >= 1, not", arg);
		return 0;
	}
}

/* --log FILE and the policy that judges its lines, for read and capture. */
struct log_opts {
	const char *path, *policy_arg;
	struct policy *policy;
	struct legacy_query q;
	struct logstream *ls;
};

/* The policy of the lines, read before anything is opened (and before capture drops root):
 * a bad one is a usage error. 0 or an exit code. */
static int log_policy(struct log_opts *lo, const char *usage)
{
	char err[1024];

	if (lo->policy_arg && !lo->path)
		return usage_error(usage, "--policy judges the --log lines; it needs --log FILE",
		                   NULL);
	if (lo->policy_arg && !(lo->policy = policy_load(lo->policy_arg, err, sizeof err))) {
		fprintf(stderr, "tlscensus: %s\n", err);
		return EXIT_USAGE;
	}
	lo->q.policy = lo->policy;
	return EXIT_OK;
}

/* Opens the stream (after the privilege drop, for capture); 0 or an exit code. */
static int log_start(struct log_opts *lo, int may_wait)
{
	char err[1024];

	if (!lo->path)
		return EXIT_OK;
	struct logstream_config c = {lo->path, may_wait, &reopen_requested, &lo->q};
	if (!(lo->ls = logstream_open(&c, err, sizeof err))) {
		fprintf(stderr, "tlscensus: %s\n", err);
		policy_free(lo->policy);
		lo->policy = NULL;
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static uint64_t log_dropped(void *ls)
{
	return logstream_dropped(ls);
}

/* After the pipeline closed (the writer has let go of the stream): the rest is written. */
static void log_stop(struct log_opts *lo)
{
	uint64_t lost;

	if (!lo->ls) {
		policy_free(lo->policy); /* an exit before the stream opened */
		lo->policy = NULL;
		return;
	}
	lost = logstream_close(lo->ls);
	if (lost)
		fprintf(stderr,
		        "tlscensus: --log %s: %llu connection%s not logged (the stream "
		        "could not keep up, or could not be written)\n",
		        lo->path, (unsigned long long)lost, lost == 1 ? "" : "s");
	policy_free(lo->policy);
	lo->ls = NULL;
}

/* Each file of a read, and what the database remembers of it. */
struct read_file {
	const char *path;
	int known; /* a regular file with an identity */
	int skip;  /* read whole before (or earlier in this command): not read again */
	struct source_identity id;
};

struct read_plan {
	struct read_file *files;
	int n, reread;
	const char *db;
};

static void to_input(const struct read_file *f, struct store_input *in)
{
	snprintf(in->path, sizeof in->path, "%s", f->path);
	memcpy(in->hash, f->id.hash, sizeof in->hash);
	in->size = f->id.size;
	in->mtime = f->id.mtime;
	in->dev = f->id.dev;
	in->ino = f->id.ino;
}

/*
 * Before reading: a file read whole before into this database is skipped with a note (a cron
 * job over rotated captures stays idempotent; --reread reads it anyway); one whose read was
 * cut (disk full, a signal, kill -9) has what it committed removed, and is read again whole.
 */
static int read_prep(struct store *st, void *arg)
{
	struct read_plan *plan = arg;

	for (int i = 0; i < plan->n; i++) {
		struct read_file *f = &plan->files[i];
		struct store_input_seen seen;

		f->known = source_identity(f->path, &f->id) == 0;
		if (!f->known)
			continue;
		for (int j = 0; j < i && !plan->reread; j++)
			if (plan->files[j].known && !strcmp(plan->files[j].id.hash, f->id.hash)) {
				fprintf(
				    stderr,
				    "tlscensus: %s: the same capture as %s, given earlier; read "
				    "once (--reread reads it again)\n",
				    f->path, plan->files[j].path);
				f->skip = 1;
				break;
			}
		if (f->skip)
			continue;
		int found = store_input_lookup(st, f->id.hash, &seen);
		if (found < 0)
			return -1;
		if (!found)
			continue;
		if (!strcmp(seen.status, "read") && !plan->reread) {
			fprintf(
			    stderr,
			    "tlscensus: %s: already read into %s (as %s, run %lld, %s); skipped "
			    "(--reread reads it again)\n",
			    f->path, plan->db, seen.path, (long long)seen.run, seen.when);
			f->skip = 1;
			continue;
		}
		if (!strcmp(seen.status, "reading")) {
			int64_t n = store_input_redo(st, &seen);
			if (n < 0)
				return -1;
			fprintf(stderr,
			        "tlscensus: %s: its read of %s (run %lld) was cut; the %lld "
			        "connections it recorded are replaced by this read\n",
			        f->path, seen.when, (long long)seen.run, (long long)n);
		}
	}
	return 0;
}

/* The files a read goes through, directories expanded. */
struct file_list {
	char **v;
	size_t n, cap;
};

static int file_list_add(struct file_list *l, const char *path)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			fprintf(stderr, "tlscensus: out of memory for the list of files\n");
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(path))) {
		fprintf(stderr, "tlscensus: out of memory for the list of files\n");
		return -1;
	}
	l->n++;
	return 0;
}

static void file_list_free(struct file_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* A file of a followed directory, as last seen. */
struct followed {
	uint64_t dev, ino, size;
	double stable_since; /* when its size was last seen to change */
	int read;            /* 1: read; 2: read, and it grew after: said once */
};

static struct followed *followed_find(struct followed *v, size_t n, const struct source_entry *e)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].dev == e->dev && v[i].ino == e->ino)
			return &v[i];
	return NULL;
}

/*
 * read --follow DIR: a ring of rotated captures (tcpdump -G/-C -w, dumpcap -b) read as it
 * turns. A file is read once it is closed: a file with newer frames exists in the directory
 * (the writer moved on) and its size held for a scan, or it is the newest and has not changed
 * for settle seconds. Each file is read once; the flows go on from one file to the next (a
 * connection across a rotation is one connection). Until SIGINT/SIGTERM.
 */
static int read_follow(const char *dir, const char *db, struct census_config *cfg, int no_label,
                       struct source_progress *prog, uint32_t settle, int quiet,
                       const char *sources, struct log_opts *lo, int reread)
{
	struct followed *seen = NULL;
	size_t nseen = 0, capseen = 0, files = 0;
	struct pipeline pl;
	int rc = EXIT_OK;

	cfg->workers = 1;
	if (pipeline_open(&pl, db, cfg, no_label, WRITER_BLOCK, sources, "read --follow", NULL,
	                  NULL, NULL)) {
		log_stop(lo);
		return EXIT_DATABASE;
	}
	/* What this database read before (idempotent reads): looked up on a connection of its
	 * own, beside the writer's. */
	char err[1024];
	struct store *seen_db = store_open(db, STORE_READ_ONLY, err, sizeof err);
	if (!seen_db)
		fprintf(stderr, "tlscensus: %s; files read before are not recognised\n", err);
	writer_stop_on_failure(pl.writer, &stop_requested);
	if (lo->ls)
		writer_on_record(pl.writer, logstream_record, lo->ls);
	install_signals(lo->path != NULL);
	if (!quiet)
		fprintf(stderr,
		        "tlscensus: following %s into %s (a file is read once it is "
		        "closed; SIGTERM stops)\n",
		        dir, db);
	while (!stop_requested && rc != EXIT_DATABASE) {
		struct source_entry *ents;
		size_t n, newest = 0;
		char msg[4200];
		double now = source_now();

		if (source_list_dir(dir, &ents, &n, msg, sizeof msg) != 0) {
			fprintf(stderr, "tlscensus: %s\n", msg);
			rc = EXIT_CAPTURE;
			break;
		}
		/* The file being written is the last in time order: a ring's writer moves on to a
		 * file whose first frame is newer (a file of headers only sorts last too). */
		newest = n ? n - 1 : 0;
		for (size_t i = 0; i < n && !stop_requested; i++) {
			struct followed *f = followed_find(seen, nseen, &ents[i]);
			if (!f) {
				if (nseen == capseen) {
					size_t cap = capseen ? capseen * 2 : 64;
					struct followed *v = realloc(seen, cap * sizeof *v);
					if (!v)
						break;
					seen = v;
					capseen = cap;
				}
				f = &seen[nseen++];
				*f = (struct followed){ents[i].dev, ents[i].ino, ents[i].size, now,
				                       0};
				continue; /* seen once: its size must hold until the next scan */
			}
			if (f->read) {
				if (ents[i].size != f->size && f->read == 1) {
					fprintf(
					    stderr,
					    "tlscensus: %s grew after it was read; what it gained "
					    "is not read\n",
					    ents[i].path);
					f->read = 2;
				}
				continue;
			}
			if (ents[i].size != f->size) {
				f->size = ents[i].size;
				f->stable_since = now;
				continue;
			}
			if (ents[i].first_usec == INT64_MAX)
				continue; /* still empty */
			if (i == newest && now - f->stable_since < settle)
				continue; /* the file being written, or the last one of a quiet ring
				           */
			struct read_file rf = {.path = ents[i].path};
			struct store_input in;
			struct store_input_seen before;
			rf.known = source_identity(rf.path, &rf.id) == 0;
			f->read = 1;
			if (rf.known && seen_db && !reread &&
			    store_input_lookup(seen_db, rf.id.hash, &before) == 1 &&
			    !strcmp(before.status, "read")) {
				fprintf(stderr,
				        "tlscensus: %s: already read into %s (run %lld); skipped "
				        "(--reread reads it again)\n",
				        rf.path, db, (long long)before.run);
				continue;
			}
			if (rf.known) {
				to_input(&rf, &in);
				writer_input(pl.writer, &in, 0);
			}
			enum source_result r =
			    source_read_file(pl.census[0], ents[i].path, prog, msg, sizeof msg);
			if (rf.known && (r == SOURCE_OK || r == SOURCE_TRUNCATED) &&
			    !stop_requested)
				writer_input(pl.writer, &in, 1);
			files++;
			if (r != SOURCE_OK)
				fprintf(stderr, "tlscensus: %s\n", msg);
			if (r == SOURCE_TRUNCATED && rc == EXIT_OK)
				rc = EXIT_TRUNCATED;
			/* what was read is durable before the next file: a kill loses nothing read
			 */
			const struct tc_sink *sk = census_sink(pl.census[0]);
			sk->ops->sync(sk->ctx);
		}
		free(ents);
		for (int t = 0; t < 10 && !stop_requested; t++)
			usleep(100000);
	}
	struct run_stats stats;
	struct pipeline_end end;
	if (seen_db)
		store_close(seen_db);
	if (pipeline_close(&pl, &stats, &end) != 0)
		rc = EXIT_DATABASE;
	if (end.failed)
		fprintf(stderr,
		        "tlscensus: database '%s': %s: stopped writing; it keeps the %llu "
		        "connections committed before (free space, then follow again: files "
		        "read whole are skipped)\n",
		        db, end.why, (unsigned long long)end.committed);
	if (!quiet)
		fprintf(stderr, "%s: %zu files, %llu packets, %llu TLS connections recorded\n", db,
		        files, (unsigned long long)stats.packets,
		        (unsigned long long)end.committed);
	free(seen);
	log_stop(lo);
	return rc == EXIT_OK && stop_requested ? EXIT_OK : rc;
}

/* The cores this process may run on: the default number of capture workers. */
static uint32_t default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (uint32_t)n;
}

/*
 * Several workers read the files in step: at each file's start and end every worker waits for
 * the others (and has handed its records over), so the rows of a file lie between its two
 * marks in the database (what --reread and a cut read's replacement go by). Every worker
 * passes every barrier, even one told to stop, so none waits for ever.
 */
struct read_step {
	pthread_mutex_t lock;
	pthread_cond_t turn;
	unsigned workers, arrived, generation;
};

static void read_step_wait(struct read_step *rs)
{
	pthread_mutex_lock(&rs->lock);
	unsigned gen = rs->generation;
	if (++rs->arrived >= rs->workers) {
		rs->arrived = 0;
		rs->generation++;
		pthread_cond_broadcast(&rs->turn);
	} else {
		while (gen == rs->generation)
			pthread_cond_wait(&rs->turn, &rs->lock);
	}
	pthread_mutex_unlock(&rs->lock);
}

/* Fewer workers than planned (a thread could not start): the steps wait for those there are. */
static void read_step_resize(struct read_step *rs, unsigned workers)
{
	pthread_mutex_lock(&rs->lock);
	rs->workers = workers;
	if (rs->arrived && rs->arrived >= workers) {
		rs->arrived = 0;
		rs->generation++;
		pthread_cond_broadcast(&rs->turn);
	}
	pthread_mutex_unlock(&rs->lock);
}

/* A worker's records so far are in the writer's queue (its staging flushed, and waited for). */
static void hand_over(struct census *c)
{
	const struct tc_sink *sk = census_sink(c);

	sk->ops->sync(sk->ctx);
}

/* A worker other than the first, reading the same files as it (census_config.sees_all): its
 * messages would repeat the first worker's, so it keeps them to itself. */
struct read_worker {
	struct census *census;
	char **paths;
	int n;
	const struct source_progress *like; /* worker 0's: the same filter and --count */
	const struct read_plan *plan;
	struct read_step *step;
	pthread_t thread;
};

static void *read_worker_main(void *arg)
{
	struct read_worker *w = arg;
	struct source_progress quiet = {
	    .stop = &stop_requested, .filter = w->like->filter, .max_frames = w->like->max_frames};
	char msg[1024];

	for (int i = 0; i < w->n; i++) {
		if (w->plan->files[i].skip)
			continue;
		read_step_wait(w->step); /* worker 0 marks the file's start */
		read_step_wait(w->step);
		if (!stop_requested)
			source_read_file(w->census, w->paths[i], &quiet, msg, sizeof msg);
		hand_over(w->census);
		read_step_wait(w->step); /* every worker's rows of it are queued */
	}
	return NULL;
}

static int cmd_read(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"no-label", no_argument, NULL, 'L'},
	    {"max-flows", required_argument, NULL, 'm'},
	    {"idle-timeout", required_argument, NULL, 't'},
	    {"progress", no_argument, NULL, 'p'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"workers", required_argument, NULL, 'w'},
	    {"filter", required_argument, NULL, 'f'},
	    {"count", required_argument, NULL, 'c'},
	    {"follow", no_argument, NULL, 'F'},
	    {"settle", required_argument, NULL, 'e'},
	    {"log", required_argument, NULL, 'G'},
	    {"policy", required_argument, NULL, 'Y'},
	    {"reread", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct census_config cfg = CENSUS_DEFAULT_CONFIG;
	struct source_progress prog = {.stop = &stop_requested};
	struct read_plan plan = {0};
	char *named[256];
	int nnamed = 0, follow = 0;
	uint32_t settle = 60;
	struct log_opts lo = {0};
	/* One by default: on a machine of few cores the writer thread needs one of them, and a
	 * single worker writes rows in capture order (ids follow the file). */
	uint32_t workers = 1;
	const char *db = DEFAULT_DB;
	int no_label = 0, quiet = 0, force_progress = 0, o, rc = EXIT_OK;
	char sources[4096];

	while ((o = getopt_long(argc, argv, ":d:hqr:f:c:", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'r':
			if (nnamed == (int)COUNT_OF(named))
				return usage_error(usage_read, "too many -r options", NULL);
			named[nnamed++] = optarg;
			break;
		case 'f':
			prog.filter = optarg;
			break;
		case 'c': {
			char *end;
			unsigned long long n = strtoull(optarg, &end, 10);
			if (!*optarg || *end || n == 0)
				return usage_error(usage_read,
				                   "--count wants a number of frames >= 1, not",
				                   optarg);
			prog.max_frames = n;
			break;
		}
		case 'L':
		case 'm':
		case 't':
			if (pipeline_option(o, optarg, &cfg, &no_label, usage_read) != 0)
				return EXIT_USAGE;
			break;
		case 'p':
			force_progress = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'w':
			if (!parse_u32(optarg, 1, &workers) || workers > WRITER_MAX_PORTS)
				return usage_error(usage_read, "--workers wants 1..64, not",
				                   optarg);
			break;
		case 'F':
			follow = 1;
			break;
		case 'R':
			plan.reread = 1;
			break;
		case 'e':
			if (!parse_u32(optarg, 1, &settle))
				return usage_error(usage_read, "--settle wants seconds >= 1, not",
				                   optarg);
			break;
		case 'G':
			lo.path = optarg;
			break;
		case 'Y':
			lo.policy_arg = optarg;
			break;
		case 'h':
			fputs(usage_read, stdout);
			return EXIT_OK;
		default:
			return bad_option(usage_read, o, argv);
		}
	}
	/* -r files first, then the named ones, in the order given */
	for (int i = optind; i < argc && nnamed < (int)COUNT_OF(named); i++)
		named[nnamed++] = argv[i];
	if (nnamed == 0)
		return usage_error(usage_read,
		                   "read needs at least one capture file (or - for standard input)",
		                   NULL);
	if (follow && (nnamed != 1 || !source_is_dir(named[0])))
		return usage_error(usage_read, "--follow wants one directory", NULL);
	if (prog.filter) {
		char why[512];
		if (!source_filter_ok(prog.filter, why, sizeof why)) {
			fprintf(stderr, "tlscensus: %s (the syntax is pcap-filter(7))\n", why);
			return EXIT_USAGE;
		}
	}
	if (!join_sources(nnamed, named, sources, sizeof(sources)))
		snprintf(sources, sizeof(sources), "%d files", nnamed);
	int lrc;
	if ((lrc = log_policy(&lo, usage_read)) != EXIT_OK)
		return lrc;
	/* Files are never dropped from: a full queue makes the reader wait, and so does a full
	 * log stream. */
	if ((lrc = log_start(&lo, 1)) != EXIT_OK)
		return lrc;
	if (follow)
		return read_follow(named[0], db, &cfg, no_label, &prog, settle, quiet, sources, &lo,
		                   plan.reread);
	/* A directory stands for its capture files, in the time order of their first frames. */
	struct file_list fl = {0};
	for (int i = 0; i < nnamed; i++) {
		if (!source_is_dir(named[i])) {
			if (file_list_add(&fl, named[i]))
				return EXIT_DATABASE;
			continue;
		}
		struct source_entry *ents;
		size_t n;
		char msg[4200];
		if (source_list_dir(named[i], &ents, &n, msg, sizeof msg) != 0) {
			fprintf(stderr, "tlscensus: %s\n", msg);
			rc = EXIT_CAPTURE;
			continue;
		}
		if (n == 0) {
			fprintf(stderr, "tlscensus: %s: no pcap or pcapng file in the directory\n",
			        named[i]);
			rc = EXIT_CAPTURE;
		}
		for (size_t j = 0; j < n; j++)
			if (file_list_add(&fl, ents[j].path)) {
				free(ents);
				return EXIT_DATABASE;
			}
		free(ents);
	}
	if (fl.n == 0) {
		file_list_free(&fl);
		log_stop(&lo);
		return rc == EXIT_OK ? EXIT_CAPTURE : rc;
	}
	argv = fl.v;
	argc = (int)fl.n;
	optind = 0;
	prog.enabled = !quiet && (force_progress || isatty(STDERR_FILENO));

	/* Several workers each walk every file and keep their own flows; standard input and
	 * pipes can be read once only, so they are read by one. */
	for (int i = optind; i < argc && workers > 1; i++)
		if (!source_walkable(argv[i]))
			workers = 1;
	cfg.workers = (uint16_t)workers;
	cfg.sees_all = 1;
	plan.n = argc;
	plan.db = db;
	plan.files = calloc((size_t)(unsigned)argc, sizeof *plan.files);
	if (!plan.files) {
		file_list_free(&fl);
		log_stop(&lo);
		return EXIT_DATABASE;
	}
	for (int i = 0; i < argc; i++)
		plan.files[i].path = argv[i];
	struct pipeline pl;
	if (pipeline_open(&pl, db, &cfg, no_label, WRITER_BLOCK, sources, "read", NULL, read_prep,
	                  &plan) != 0) {
		free(plan.files);
		file_list_free(&fl);
		log_stop(&lo);
		return EXIT_DATABASE;
	}
	if (lo.ls)
		writer_on_record(pl.writer, logstream_record, lo.ls);
	install_signals(lo.path != NULL);
	/* A failed write (disk full) stops the reading as a signal would; told apart below. */
	writer_stop_on_failure(pl.writer, &stop_requested);

	double t0 = source_now();
	struct read_worker helpers[WRITER_MAX_PORTS];
	struct read_step step = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, pl.workers};
	unsigned started = 0;
	for (unsigned w = 1; w < pl.workers; w++) {
		helpers[w] = (struct read_worker){pl.census[w], argv, argc, &prog, &plan, &step};
		if (pthread_create(&helpers[w].thread, NULL, read_worker_main, &helpers[w]) != 0)
			break;
		started = w;
	}
	if (started + 1 < pl.workers) {
		/* cannot happen short of a thread limit: the others' flows would be lost */
		fprintf(stderr, "tlscensus: cannot start %u reading threads; try --workers 1\n",
		        pl.workers);
		stop_requested = 1;
		read_step_resize(&step, started + 1);
	}
	const char *stopped_in = NULL;
	for (int i = 0; i < argc; i++) {
		const struct read_file *f = &plan.files[i];
		struct store_input in;
		char msg[1024];
		if (f->skip)
			continue;
		read_step_wait(&step); /* every worker is done with the files before */
		if (f->known && !stop_requested) {
			to_input(f, &in);
			writer_input(pl.writer, &in, 0);
		}
		read_step_wait(&step);
		enum source_result r = SOURCE_STOPPED;
		if (!stop_requested)
			r = source_read_file(pl.census[0], argv[i], &prog, msg, sizeof(msg));
		else
			snprintf(msg, sizeof msg, "%s: not read (stopped)", argv[i]);
		if (pl.workers > 1)
			hand_over(pl.census[0]);
		read_step_wait(&step); /* every worker's rows of this file are queued */
		if (writer_failed(pl.writer)) {
			if (!stopped_in)
				stopped_in = argv[i];
			continue;
		}
		/* Read to its end (or to a cut in the file itself, which a second read would
		 * meet again): done. Stopped by a signal: left 'reading', so the next read of it
		 * replaces what this one recorded. */
		if (f->known && (r == SOURCE_OK || r == SOURCE_TRUNCATED) && !stop_requested)
			writer_input(pl.writer, &in, 1);
		if (r == SOURCE_OK)
			continue;
		if (r == SOURCE_STOPPED && rc == EXIT_INTERRUPTED)
			continue; /* said once */
		fprintf(stderr, "tlscensus: %s\n", msg);
		if (r == SOURCE_UNREADABLE)
			rc = EXIT_CAPTURE;
		else if (r == SOURCE_TRUNCATED && rc == EXIT_OK)
			rc = EXIT_TRUNCATED;
		else if (r == SOURCE_STOPPED)
			rc = EXIT_INTERRUPTED;
	}
	for (unsigned w = 1; w <= started; w++)
		pthread_join(helpers[w].thread, NULL);
	if (started + 1 < pl.workers && rc == EXIT_OK)
		rc = EXIT_INTERRUPTED;
	struct run_stats stats;
	struct pipeline_end end;
	if (pipeline_close(&pl, &stats, &end) != 0)
		rc = EXIT_DATABASE;
	log_stop(&lo);
	if (end.failed) {
		/* One message: what failed, what is kept, what to do. */
		fprintf(stderr,
		        "tlscensus: database '%s': %s%s%s: stopped writing. It keeps the %llu "
		        "connections committed before; %llu records of this run were not written. "
		        "Free space on its file system (df '%s'), then run the same read again: "
		        "captures already read whole are skipped, the rest is read again.\n",
		        db, end.why, stopped_in ? " while reading " : "",
		        stopped_in ? stopped_in : "", (unsigned long long)end.committed,
		        (unsigned long long)end.lost, db);
		rc = EXIT_DATABASE;
	}
	free(plan.files);
	double secs = source_now() - t0;
	if (!quiet)
		fprintf(stderr,
		        "%s: %llu packets, %llu TCP, %llu flows, %llu TLS connections recorded "
		        "(%llu truncated, %llu malformed) in %.2f s\n",
		        db, (unsigned long long)stats.packets,
		        (unsigned long long)stats.tcp_packets, (unsigned long long)stats.flows,
		        (unsigned long long)end.committed, /* only what the database holds */
		        (unsigned long long)stats.hello_truncated,
		        (unsigned long long)stats.hello_malformed, secs);
	file_list_free(&fl);
	return rc;
}

/* "90", "90s", "30m", "1h", "7d", "2w" -> seconds. */
static int parse_duration(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t unit = 1;

	if (end == s)
		return 0;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return 0;
	}
	if (*end && end[1])
		return 0;
	*out = v * unit;
	return v > 0;
}

/* ---------------------------------------------------------------- the fleet (ClickHouse) */

/* Options of the fleet, beyond single letters so they meet no command's own. */
enum {
	OPT_CLICKHOUSE = 256,
	OPT_DATABASE,
	OPT_SENSOR,
	OPT_CREDENTIALS,
	OPT_CACERT,
	OPT_TO,
	OPT_BATCH,
	OPT_TTL,
	OPT_FOLLOW,
	OPT_GIVE_UP,
	OPT_SHIP,
	OPT_STATUS,
};

#define FLEET_MAX_SENSORS 64
/* Seconds between passes of a shipper that keeps running (--follow, capture --ship): each pass
 * is an INSERT or two, and ClickHouse wants inserts in batches, not a trickle. */
#define SHIP_EVERY_S 5

#define FLEET_OPTIONS                                                                              \
	{"database", required_argument, NULL, OPT_DATABASE},                                       \
	    {"sensor", required_argument, NULL, OPT_SENSOR},                                       \
	    {"credentials", required_argument, NULL, OPT_CREDENTIALS},                             \
	{                                                                                          \
		"cacert", required_argument, NULL, OPT_CACERT                                      \
	}

struct fleet_opts {
	struct ch_config ch; /* ch.url NULL: not asked for */
	const char *sensors[FLEET_MAX_SENSORS];
	size_t nsensors;
};

/* 1 when o is a fleet option (taken), 0 when not, -1 after a usage message. */
static int fleet_option(struct fleet_opts *f, int o, const char *arg, const char *usage)
{
	switch (o) {
	case OPT_CLICKHOUSE:
	case OPT_TO:
	case OPT_SHIP:
		f->ch.url = arg;
		return 1;
	case OPT_DATABASE:
		f->ch.database = arg;
		return 1;
	case OPT_CREDENTIALS:
		f->ch.credentials = arg;
		return 1;
	case OPT_CACERT:
		f->ch.cacert = arg;
		return 1;
	case OPT_SENSOR:
		if (!ship_sensor_valid(arg)) {
			usage_error(usage,
			            "--sensor wants 1 to 64 letters, digits and . _ : -, not", arg);
			return -1;
		}
		if (f->nsensors == FLEET_MAX_SENSORS) {
			usage_error(usage, "at most 64 --sensor names, not more:", arg);
			return -1;
		}
		f->sensors[f->nsensors++] = arg;
		return 1;
	default:
		return 0;
	}
}

/* The sensor a database ships as: --sensor, else the host name. NULL after a message. */
static const char *ship_sensor(const struct fleet_opts *f, char *buf, size_t len)
{
	if (f->nsensors)
		return f->sensors[f->nsensors - 1];
	if (gethostname(buf, len) != 0 || !buf[0]) {
		fprintf(stderr, "tlscensus: cannot tell the host name; name the sensor: --sensor "
		                "NAME\n");
		return NULL;
	}
	buf[len - 1] = '\0';
	if (!ship_sensor_valid(buf)) {
		fprintf(stderr,
		        "tlscensus: the host name '%s' is not a sensor name (letters, digits and "
		        ". _ : -); name the sensor: --sensor NAME\n",
		        buf);
		return NULL;
	}
	return buf;
}

/* Sleeps up to s seconds, waking early when *stop is set. */
static void nap(double s, const volatile sig_atomic_t *stop)
{
	for (double t = 0; t < s && !*stop; t += 0.1)
		nanosleep(&(struct timespec){0, 100000000L}, NULL);
}

static void ship_summary(const struct shipper *sh, const char *sensor, double secs)
{
	const struct ship_stats *st = ship_stats(sh);

	fprintf(stderr,
	        "tlscensus: shipped %llu connection rows to %s as sensor '%s' in %.2f s "
	        "(%.0f rows/s while sending); %lld pending\n",
	        (unsigned long long)st->shipped, ship_destination(sh), sensor, secs,
	        st->busy_s > 0 ? (double)st->shipped / st->busy_s : 0.0, (long long)st->pending);
}

static struct store *open_for_query(const char *db);

static void time_text(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "never");
}

static void print_status(void *ctx, const struct outbox_status *o)
{
	char ok[32], tried[32];

	(*(int *)ctx)++;
	time_text(o->last_success, ok, sizeof ok);
	time_text(o->last_attempt, tried, sizeof tried);
	printf("%s: sensor %s, %lld rows shipped, %lld pending; last success %s, last attempt "
	       "%s%s%s\n",
	       o->destination, o->sensor, (long long)o->shipped, (long long)o->pending, ok, tried,
	       o->last_error ? "; last error: " : "", o->last_error ? o->last_error : "");
}

static int ship_status(const char *db)
{
	struct store *st = open_for_query(db);
	int n = 0, rc;

	if (!st)
		return EXIT_DATABASE;
	rc = outbox_status_read(st, print_status, &n);
	store_close(st);
	if (rc == 0 && !n)
		printf("%s: never shipped (tlscensus ship --db %s --to URL)\n", db, db);
	return rc ? EXIT_DATABASE : EXIT_OK;
}

static int cmd_ship(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"to", required_argument, NULL, OPT_TO},
	    FLEET_OPTIONS,
	    {"batch", required_argument, NULL, OPT_BATCH},
	    {"ttl", required_argument, NULL, OPT_TTL},
	    {"follow", no_argument, NULL, OPT_FOLLOW},
	    {"give-up-after", required_argument, NULL, OPT_GIVE_UP},
	    {"status", no_argument, NULL, OPT_STATUS},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fleet_opts f = {0};
	struct ship_config cfg = {.db_path = DEFAULT_DB};
	uint64_t give_up = 600, ttl = 0;
	uint32_t batch;
	int o, follow = 0, status = 0, rc;
	char host[256], err[1024];

	while ((o = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			cfg.db_path = optarg;
			break;
		case OPT_BATCH:
			if (!parse_u32(optarg, 1, &batch) || batch > 1000000)
				return usage_error(usage_ship, "--batch wants 1..1000000 rows, not",
				                   optarg);
			cfg.batch_rows = (int)batch;
			break;
		case OPT_TTL:
			if (!parse_duration(optarg, &ttl))
				return usage_error(usage_ship, "--ttl wants e.g. 90d, not", optarg);
			break;
		case OPT_FOLLOW:
			follow = 1;
			break;
		case OPT_STATUS:
			status = 1;
			break;
		case OPT_GIVE_UP:
			if (!parse_duration(optarg, &give_up))
				return usage_error(
				    usage_ship, "--give-up-after wants e.g. 10m, 1h, not", optarg);
			break;
		case 'h':
			fputs(usage_ship, stdout);
			return EXIT_OK;
		default:
			rc = fleet_option(&f, o, optarg, usage_ship);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc == 0)
				return bad_option(usage_ship, o, argv);
		}
	}
	if (optind < argc)
		return usage_error(usage_ship, "unexpected argument", argv[optind]);
	if (status)
		return ship_status(cfg.db_path);
	if (!f.ch.url)
		return usage_error(usage_ship, "ship needs the server: --to http://HOST:8123",
		                   NULL);
	if (f.nsensors > 1)
		return usage_error(usage_ship, "a database ships as one sensor: one --sensor",
		                   NULL);
	cfg.ch = f.ch;
	cfg.ttl_s = (double)ttl;
	if (!(cfg.sensor = ship_sensor(&f, host, sizeof host)))
		return EXIT_USAGE;
	int db_failed;
	struct shipper *sh = ship_open(&cfg, &db_failed, err, sizeof err);
	if (!sh) {
		fprintf(stderr, "tlscensus: %s\n", err);
		return db_failed ? EXIT_DATABASE : EXIT_USAGE;
	}
	install_signals(0);
	double t0 = tc_now_mono(), failing_since = 0, backoff = 1;
	rc = EXIT_OK;
	for (;;) {
		int pass = ship_pass(sh, &stop_requested, err, sizeof err);

		if (stop_requested) {
			rc = EXIT_INTERRUPTED;
			break;
		}
		if (pass == 0) {
			failing_since = 0;
			backoff = 1;
			if (!follow)
				break;
			nap(SHIP_EVERY_S, &stop_requested);
			continue;
		}
		if (pass == -2) {
			/* the database, not ClickHouse: trying again will not help */
			fprintf(stderr, "tlscensus: %s\n", err);
			rc = EXIT_DATABASE;
			break;
		}
		double now = tc_now_mono();
		if (!failing_since)
			failing_since = now;
		if (!follow && now - failing_since >= (double)give_up) {
			fprintf(stderr,
			        "tlscensus: %s; gave up after %llu s: the records stay in the "
			        "outbox '%s', run tlscensus ship again\n",
			        err, (unsigned long long)give_up, cfg.db_path);
			rc = EXIT_CENTRAL;
			break;
		}
		fprintf(stderr,
		        "tlscensus: %s; records stay in the outbox, trying again in %.0f s\n", err,
		        backoff);
		nap(backoff, &stop_requested);
		backoff = backoff * 2 > 60 ? 60 : backoff * 2;
	}
	ship_summary(sh, cfg.sensor, tc_now_mono() - t0);
	ship_close(sh);
	return rc;
}

/* capture --ship: a thread that ships what the writer committed, never in the capture's way
 * (its own database connection and HTTP handle); failures back off up to a minute. */
struct ship_thread {
	pthread_t tid;
	struct shipper *sh;
	volatile sig_atomic_t stop;
	char last_err[1024];
	const char *sensor;
	double seconds; /* monotonic start */
};

static void *ship_main(void *arg)
{
	struct ship_thread *t = arg;
	double backoff = 1;
	char err[1024];
	sigset_t all;

	/* the capture's thread takes the signals */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!t->stop) {
		int pass = ship_pass(t->sh, &t->stop, err, sizeof err);

		if (pass == 0) {
			if (t->last_err[0])
				fprintf(stderr, "tlscensus: shipping to %s again\n",
				        ship_destination(t->sh));
			t->last_err[0] = '\0';
			backoff = 1;
			nap(SHIP_EVERY_S, &t->stop);
			continue;
		}
		if (strcmp(err, t->last_err))
			fprintf(stderr,
			        "tlscensus: %s; records stay in the outbox, retrying with "
			        "backoff\n",
			        err);
		snprintf(t->last_err, sizeof t->last_err, "%s", err);
		nap(backoff, &t->stop);
		backoff = backoff * 2 > 60 ? 60 : backoff * 2;
	}
	return NULL;
}

static struct ship_thread *ship_thread_start(const struct fleet_opts *f, const char *db,
                                             double hold_s)
{
	struct ship_config cfg = {.ch = f->ch, .db_path = db, .hold_s = hold_s};
	struct ship_thread *t = calloc(1, sizeof *t);
	char host[256], err[1024];
	int db_failed;

	if (!t || !(cfg.sensor = ship_sensor(f, host, sizeof host))) {
		free(t);
		return NULL;
	}
	if (!(t->sensor = strdup(cfg.sensor)) ||
	    !(t->sh = ship_open(&cfg, &db_failed, err, sizeof err))) {
		fprintf(stderr, "tlscensus: --ship: %s\n", t->sensor ? err : "out of memory");
		free((char *)t->sensor);
		free(t);
		return NULL;
	}
	t->seconds = tc_now_mono();
	if (pthread_create(&t->tid, NULL, ship_main, t) != 0) {
		fprintf(stderr, "tlscensus: --ship: cannot start the shipping thread\n");
		ship_close(t->sh);
		free((char *)t->sensor);
		free(t);
		return NULL;
	}
	return t;
}

/* After the capture committed everything: one last pass, without the hold (every flow is
 * recorded now), if the server answers; what it does not take stays in the outbox. */
static void ship_thread_stop(struct ship_thread *t)
{
	static const volatile sig_atomic_t go_on = 0;
	char err[1024];

	if (!t)
		return;
	t->stop = 1;
	pthread_join(t->tid, NULL);
	ship_set_hold(t->sh, 0);
	if (ship_pass(t->sh, &go_on, err, sizeof err) != 0)
		fprintf(
		    stderr,
		    "tlscensus: %s; the records not sent stay in the outbox: run tlscensus ship "
		    "--sensor %s\n",
		    err, t->sensor);
	ship_summary(t->sh, t->sensor, t->seconds > 0 ? tc_now_mono() - t->seconds : 0);
	ship_close(t->sh);
	free((char *)t->sensor);
	free(t);
}

static int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"db", required_argument, NULL, 'd'},
	    {"filter", required_argument, NULL, 'f'},
	    {"snaplen", required_argument, NULL, 's'},
	    {"buffer-size", required_argument, NULL, 'B'},
	    {"no-promisc", no_argument, NULL, 'P'},
	    {"timeout-ms", required_argument, NULL, 'T'},
	    {"user", required_argument, NULL, 'Z'},
	    {"duration", required_argument, NULL, 'u'},
	    {"list-interfaces", no_argument, NULL, 'D'},
	    {"retain", required_argument, NULL, 'R'},
	    {"no-label", no_argument, NULL, 'L'},
	    {"max-flows", required_argument, NULL, 'm'},
	    {"idle-timeout", required_argument, NULL, 't'},
	    {"stats-every", required_argument, NULL, 'S'},
	    {"workers", required_argument, NULL, 'w'},
	    {"log", required_argument, NULL, 'G'},
	    {"policy", required_argument, NULL, 'Y'},
	    {"metrics", required_argument, NULL, 'M'},
	    {"ship", required_argument, NULL, OPT_SHIP},
	    FLEET_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fleet_opts fleet = {0};
	struct ship_thread *shipping = NULL;
	struct capture_config cc = {
	    .snaplen = 262144,
	    .buffer_mib = 64,
	    .promisc = 1,
	    .stats_every_s = 60,
	    .workers = default_workers(),
	};
	struct census_config cfg = CENSUS_DEFAULT_CONFIG;
	const char *db = DEFAULT_DB, *user = NULL;
	struct log_opts lo = {0};
	uint32_t u;
	int no_label = 0, o, rc = EXIT_OK;
	char err[1024];

	while ((o = getopt_long(argc, argv, ":i:d:f:Z:hD", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			cc.iface = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'f':
			cc.filter = optarg;
			break;
		case 's':
			if (!parse_u32(optarg, 64, &u) || u > 262144)
				return usage_error(usage_capture, "--snaplen wants 64..262144, not",
				                   optarg);
			cc.snaplen = (int)u;
			break;
		case 'B':
			if (!parse_u32(optarg, 1, &u) || u > 4096)
				return usage_error(usage_capture,
				                   "--buffer-size wants 1..4096 MiB, not", optarg);
			cc.buffer_mib = (int)u;
			break;
		case 'P':
			cc.promisc = 0;
			break;
		case 'T':
			if (!parse_u32(optarg, 1, &u) || u > 10000)
				return usage_error(usage_capture,
				                   "--timeout-ms wants 1..10000, not", optarg);
			cc.timeout_ms = (int)u;
			break;
		case 'Z':
			user = optarg;
			break;
		case 'D':
			return capture_list_interfaces() == 0 ? EXIT_OK : EXIT_CAPTURE;
		case 'u':
			if (!parse_duration(optarg, &cc.duration_s))
				return usage_error(usage_capture,
				                   "--duration wants e.g. 90s, 30m, 1h, not",
				                   optarg);
			break;
		case 'R':
			if (!parse_duration(optarg, &cc.retain_s))
				return usage_error(usage_capture, "--retain wants e.g. 90d, not",
				                   optarg);
			break;
		case 'L':
		case 'm':
		case 't':
			if (pipeline_option(o, optarg, &cfg, &no_label, usage_capture) != 0)
				return EXIT_USAGE;
			break;
		case 'S':
			if (!parse_u32(optarg, 1, &cc.stats_every_s))
				return usage_error(usage_capture,
				                   "--stats-every wants seconds >= 1, not", optarg);
			break;
		case 'w':
			if (!parse_u32(optarg, 1, &u) || u > WRITER_MAX_PORTS)
				return usage_error(usage_capture, "--workers wants 1..64, not",
				                   optarg);
			cc.workers = u;
			break;
		case 'G':
			lo.path = optarg;
			break;
		case 'Y':
			lo.policy_arg = optarg;
			break;
		case 'M':
			cc.metrics_path = optarg;
			break;
		case 'h':
			fputs(usage_capture, stdout);
			return EXIT_OK;
		default: {
			int taken = fleet_option(&fleet, o, optarg, usage_capture);

			if (taken < 0)
				return EXIT_USAGE;
			if (taken)
				break;
			return bad_option(usage_capture, o, argv);
		}
		}
	}
	if (!cc.iface)
		return usage_error(usage_capture, "capture needs an interface: -i IFACE", NULL);
	if (optind < argc)
		return usage_error(usage_capture, "unexpected argument", argv[optind]);
	if ((rc = log_policy(&lo, usage_capture)) != EXIT_OK)
		return rc;

	struct capture *cap = capture_open(&cc, err, sizeof(err));
	if (!cap) {
		fprintf(stderr, "tlscensus: %s\n", err);
		log_stop(&lo);
		return EXIT_CAPTURE;
	}
	/* Root is needed to open the interface and for nothing after it: the database and all
	 * parsing of hostile bytes run unprivileged. */
	int was_root = geteuid() == 0;
	if (capture_drop_privileges(user, err, sizeof(err)) != 0) {
		fprintf(stderr, "tlscensus: %s\n", err);
		log_stop(&lo);
		capture_close(cap);
		return EXIT_CAPTURE;
	}
	/* Who opens the database: a failure then names that user, not only the file. */
	char as_user[64] = "";
	struct passwd *pw = was_root && geteuid() != 0 ? getpwuid(geteuid()) : NULL;
	if (pw)
		snprintf(as_user, sizeof as_user, "%s", pw->pw_name);
	umask(027); /* the database and its -wal/-shm files: 0640 */
	char source[512];
	snprintf(source, sizeof(source), "%s%s%s", cc.iface, cc.filter ? " filter " : "",
	         cc.filter ? cc.filter : "");
	/* One census per worker; tunnelled frames go to the worker of their inner flow. */
	cfg.workers = (uint16_t)capture_workers(cap);
	cfg.redirect = capture_redirect;
	cfg.redirect_ctx = cap;
	/* A live capture never waits for the disk: a full queue drops and counts, and so does a
	 * full log stream. The log is opened as the unprivileged user, so it can open it again
	 * after logrotate. */
	if ((rc = log_start(&lo, 0)) != EXIT_OK) {
		capture_close(cap);
		return rc;
	}
	struct pipeline pl;
	if (pipeline_open(&pl, db, &cfg, no_label, WRITER_DROP, source, "capture",
	                  as_user[0] ? as_user : NULL, NULL, NULL) != 0) {
		log_stop(&lo);
		capture_close(cap);
		return EXIT_DATABASE;
	}
	/* Rows wait for the ship until their flows' retries can be judged: a failed first
	 * attempt is recorded when its flow goes idle, up to --idle-timeout after a retry that
	 * completed, and the retry test looks 60 s back. */
	if (fleet.ch.url &&
	    !(shipping = ship_thread_start(&fleet, db, (double)cfg.idle_timeout_s + 60))) {
		struct run_stats none;
		struct pipeline_end end;

		pipeline_close(&pl, &none, &end);
		capture_close(cap);
		return EXIT_USAGE;
	}
	if (lo.ls) {
		writer_on_record(pl.writer, logstream_record, lo.ls);
		capture_set_log_dropped(cap, log_dropped, lo.ls);
	}
	install_signals(lo.path != NULL);
	capture_metrics_start(cap);
	fprintf(stderr, "tlscensus: capturing on %s into %s (%u worker%s)%s%s\n", cc.iface, db,
	        pl.workers, pl.workers == 1 ? "" : "s", shipping ? ", shipping to " : "",
	        shipping ? ship_destination(shipping->sh) : "");
	if (capture_run(cap, pl.census, &stop_requested, &stats_requested) != 0)
		rc = EXIT_CAPTURE;
	/* The capture is over: the flows still open are recorded however long the queue takes. */
	writer_set_mode(pl.writer, WRITER_BLOCK);
	for (unsigned i = 0; i < pl.workers; i++)
		census_flush(pl.census[i]);
	capture_report(cap, pl.census);
	struct run_stats stats;
	struct pipeline_end end;
	if (pipeline_close(&pl, &stats, &end) != 0)
		rc = EXIT_DATABASE;
	if (end.lost)
		fprintf(stderr,
		        "tlscensus: database '%s': %llu records were lost to failed writes (%s); "
		        "%llu were committed\n",
		        db, (unsigned long long)end.lost, end.why,
		        (unsigned long long)end.committed);
	log_stop(&lo);
	ship_thread_stop(shipping);
	capture_close(cap);
	return rc;
}

static struct store *open_for_query(const char *db)
{
	char err[512];
	struct store *st = store_open(db, STORE_READ_ONLY, err, sizeof(err));

	if (!st)
		fprintf(stderr, "tlscensus: %s\n", err);
	return st;
}

/* Long options of the legacy filters (struct legacy_query), for every command that takes them. */
#define LEGACY_FILTER_OPTIONS                                                                      \
	{"since", required_argument, NULL, 'S'}, {"until", required_argument, NULL, 'U'},          \
	    {"client", required_argument, NULL, 'c'}, {"server", required_argument, NULL, 's'},    \
	    {"sni", required_argument, NULL, 'n'}, {"port", required_argument, NULL, 'p'},         \
	    {"group", required_argument, NULL, 'g'}, {"sort", required_argument, NULL, 'o'},       \
	    {"catalog", required_argument, NULL, 'C'},                                             \
	{                                                                                          \
		"hints", required_argument, NULL, 'H'                                              \
	}

/* One filter option into q. Returns 1 when o is one and its value is good, 0 when o is not a
 * filter option, -1 when the value is bad (*what then says what the option wants). */
static int legacy_filter_option(struct legacy_query *q, int o, const char *arg, const char **what)
{
	static const char *const sorts[] = {"client", "server", "connections", "last", "deadline"};
	uint32_t port;
	double now = (double)time(NULL);

	switch (o) {
	case 'S':
	case 'U':
		*what =
		    o == 'S'
		        ? "--since wants 2026-11-01, 2026-11-01T12:00:00Z, @UNIX or 7d/24h/30m, not"
		        : "--until wants 2026-11-01, 2026-11-01T12:00:00Z, @UNIX or 7d/24h/30m, "
		          "not";
		return filter_parse_time(arg, now, o == 'S' ? &q->since : &q->until) ? -1 : 1;
	case 'c':
	case 's':
		*what = o == 'c'
		            ? "--client wants an address or CIDR (10.0.0.0/8, 2001:db8::/32), not"
		            : "--server wants an address or CIDR (10.0.0.0/8, 2001:db8::/32), not";
		return cidr_parse(arg, o == 'c' ? &q->client : &q->server) ? 1 : -1;
	case 'n':
		q->sni_glob = arg;
		return 1;
	case 'p':
		*what = "--port wants a port number 1..65535, not";
		if (!parse_u32(arg, 1, &port) || port > 65535)
			return -1;
		q->port = (int)port;
		return 1;
	case 'g':
		*what = "--group wants client or server, not";
		if (strcmp(arg, "client") && strcmp(arg, "server"))
			return -1;
		q->group = arg[0] == 'c' ? GROUP_CLIENT : GROUP_SERVER;
		return 1;
	case 'o':
		*what = "--sort wants client, server, connections, last or deadline, not";
		for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
			if (!strcmp(arg, sorts[i])) {
				q->sort = (enum legacy_sort)i; /* same order as enum legacy_sort */
				return 1;
			}
		return -1;
	case 'C':
		q->catalog_path = arg;
		return 1;
	case 'H':
		q->hints_path = arg;
		return 1;
	default:
		return 0;
	}
}

/* The data files named on the command line are read once up front, so a bad one is a usage
 * error (exit 2) with its line number rather than a failed query. */
static int check_data_files(const struct legacy_query *q)
{
	char err[512];

	if (q->since > 0 && q->until > 0 && q->since > q->until) {
		fprintf(stderr, "tlscensus: --since is after --until: the window is empty\n");
		return -1;
	}
	if (q->catalog_path) {
		struct catalog *c = catalog_load(q->catalog_path, err, sizeof(err));

		if (!c) {
			fprintf(stderr, "tlscensus: %s\n", err);
			return -1;
		}
		catalog_free(c);
	}
	if (q->hints_path) {
		struct hints *h = hints_load(q->hints_path, err, sizeof(err));

		if (!h) {
			fprintf(stderr, "tlscensus: %s\n", err);
			return -1;
		}
		hints_free(h);
	}
	return 0;
}

/* A legacy/report filter option (--since, --client, ...), or a usage error. */
static int filter_option(struct legacy_query *q, int o, const char *arg, const char *usage,
                         char **argv)
{
	const char *what = NULL;
	int rc = legacy_filter_option(q, o, arg, &what);

	if (rc < 0)
		return usage_error(usage, what, arg);
	if (rc == 0)
		return bad_option(usage, o, argv);
	return 0;
}

/* The store a query command reads: the SQLite file, or ClickHouse (--clickhouse). */
struct query_source {
	struct store *st;
	struct ch_reader *ch;
	struct census_reader rd;
};

static int source_open(struct query_source *src, const char *db, const struct fleet_opts *f)
{
	char err[1024];

	memset(src, 0, sizeof *src);
	if (f->ch.url) {
		src->ch = ch_reader_open(&f->ch, f->sensors, f->nsensors, err, sizeof err);
		if (!src->ch) {
			fprintf(stderr, "tlscensus: %s\n", err);
			return -1;
		}
		src->rd = ch_reader(src->ch);
		return 0;
	}
	if (f->nsensors) {
		fprintf(stderr, "tlscensus: --sensor picks sensors in ClickHouse: it goes with "
		                "--clickhouse URL\n");
		return -1;
	}
	if (!(src->st = open_for_query(db)))
		return -1;
	src->rd = store_reader(src->st);
	return 0;
}

static void source_close(struct query_source *src)
{
	store_close(src->st);
	ch_reader_close(src->ch);
}

/* What legacy and report both need before judging: the policy (NULL name: the built-in
 * default, unless the caller loads it by name), readable data files, the store. -1 with *rc
 * set to the exit code on failure; the caller frees *policy after closing. */
static int open_judged(const char *db, const struct fleet_opts *f, const char *policy_arg,
                       struct legacy_query *q, struct policy **policy, struct query_source *src,
                       int *rc)
{
	char err[1024];

	*policy = NULL;
	if (policy_arg && !(*policy = policy_load(policy_arg, err, sizeof(err)))) {
		fprintf(stderr, "tlscensus: %s\n", err);
		*rc = EXIT_USAGE;
		return -1;
	}
	q->policy = *policy;
	if (check_data_files(q)) {
		policy_free(*policy);
		*rc = EXIT_USAGE;
		return -1;
	}
	if (source_open(src, db, f)) {
		policy_free(*policy);
		*rc = f->ch.url || !f->nsensors ? EXIT_DATABASE : EXIT_USAGE;
		return -1;
	}
	return 0;
}

static int cmd_legacy(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, 'f'},
	    {"policy", required_argument, NULL, 'P'},
	    LEGACY_FILTER_OPTIONS,
	    {"wide", no_argument, NULL, 'W'},
	    {"columns", required_argument, NULL, 'K'},
	    {"limit", required_argument, NULL, 'l'},
	    {"fail-on-legacy", no_argument, NULL, 'F'},
	    {"clickhouse", required_argument, NULL, OPT_CLICKHOUSE},
	    FLEET_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fleet_opts fleet = {0};
	struct query_source src;
	struct legacy_query q = {0};
	struct legacy_result res;
	struct legacy_view view = {.format = LEGACY_TABLE, .colour = -1};
	struct policy *policy = NULL;
	const char *db = DEFAULT_DB, *policy_arg = NULL;
	int o, rc, fail_on_legacy = 0;
	uint32_t limit;
	char err[512];

	while ((o = getopt_long(argc, argv, ":d:f:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "table"))
				view.format = LEGACY_TABLE;
			else if (!strcmp(optarg, "csv"))
				view.format = LEGACY_CSV;
			else if (!strcmp(optarg, "json"))
				view.format = LEGACY_JSON;
			else
				return usage_error(
				    usage_legacy, "format must be table, csv or json, not", optarg);
			break;
		case 'P':
			policy_arg = optarg;
			break;
		case 'W':
			view.wide = 1;
			break;
		case 'K':
			if (legacy_columns_check(optarg, err, sizeof err))
				return usage_error(usage_legacy, err, NULL);
			view.columns = optarg;
			break;
		case 'l':
			if (!parse_u32(optarg, 1, &limit))
				return usage_error(usage_legacy, "--limit wants a number >= 1, not",
				                   optarg);
			view.limit = limit;
			break;
		case 'F':
			fail_on_legacy = 1;
			break;
		case 'h':
			fputs(usage_legacy, stdout);
			return EXIT_OK;
		default:
			rc = fleet_option(&fleet, o, optarg, usage_legacy);
			if (rc < 0 ||
			    (rc == 0 && filter_option(&q, o, optarg, usage_legacy, argv) != 0))
				return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(usage_legacy, "unexpected argument", argv[optind]);
	if (open_judged(db, &fleet, policy_arg, &q, &policy, &src, &rc))
		return rc;
	rc = EXIT_DATABASE;
	if (legacy_collect(&src.rd, &q, &res) == 0) {
		rc = legacy_print(&res, &q, &view, stdout) == 0 ? EXIT_OK : EXIT_DATABASE;
		if (rc == EXIT_OK && fail_on_legacy && res.n)
			rc = EXIT_LEGACY;
		legacy_result_free(&res);
	}
	source_close(&src);
	policy_free(policy);
	return rc;
}

static int export_one(void *ctx, const struct store_export_row *row)
{
	return record_write(ctx, row, stdout);
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},     {"format", required_argument, NULL, 'f'},
	    {"policy", required_argument, NULL, 'P'}, LEGACY_FILTER_OPTIONS,
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct legacy_query q = {0};
	struct policy *policy = NULL;
	const char *db = DEFAULT_DB, *policy_arg = NULL;
	int o, rc;

	while ((o = getopt_long(argc, argv, ":d:f:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "ndjson") != 0)
				return usage_error(usage_export,
				                   "export format must be ndjson, not", optarg);
			break;
		case 'P':
			policy_arg = optarg;
			break;
		case 'g':
		case 'o':
			return usage_error(usage_export,
			                   "export writes every record in time order; --group and "
			                   "--sort are for tlscensus legacy, not",
			                   optarg);
		case 'h':
			fputs(usage_export, stdout);
			return EXIT_OK;
		default:
			if (filter_option(&q, o, optarg, usage_export, argv) != 0)
				return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(usage_export, "unexpected argument", argv[optind]);
	struct fleet_opts sqlite_only = {0}; /* export reads the database file */
	struct query_source src;
	if (open_judged(db, &sqlite_only, policy_arg, &q, &policy, &src, &rc))
		return rc;
	struct store *st = src.st;
	struct filter f = legacy_query_filter(&q);
	struct record_judge *rj = record_judge_new(&q);
	struct store_exporter *x = rj ? store_exporter_new(st) : NULL;
	int walked = x ? store_export_each(x, &f, export_one, rj) : -1;
	rc = walked == 0 ? EXIT_OK : EXIT_DATABASE;
	if (walked > 0) /* the judge stopped it; a database error has had its message */
		fprintf(stderr, "tlscensus: out of memory exporting database '%s'\n", db);
	store_exporter_free(x);
	record_judge_free(rj);
	source_close(&src);
	policy_free(policy);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("tlscensus: writing the export");
		rc = EXIT_DATABASE;
	}
	return rc;
}

static int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = DEFAULT_DB;
	char err[512];
	struct stat sb;
	int o;

	while ((o = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(usage_migrate, stdout);
			return EXIT_OK;
		default:
			return bad_option(usage_migrate, o, argv);
		}
	}
	if (optind < argc)
		return usage_error(usage_migrate, "unexpected argument", argv[optind]);
	/* Migrating creates nothing: a missing file is a mistyped path. */
	if (stat(db, &sb) != 0) {
		fprintf(stderr, "tlscensus: no database '%s': %s\n", db, strerror(errno));
		return EXIT_DATABASE;
	}
	struct store *st = store_open(db, STORE_READ_WRITE, err, sizeof err);
	if (!st) {
		fprintf(stderr, "tlscensus: %s\n", err);
		return EXIT_DATABASE;
	}
	store_close(st);
	printf("%s: schema version %d\n", db, STORE_SCHEMA_VERSION);
	return EXIT_OK;
}

static int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'O'},
	    {"policy", required_argument, NULL, 'P'},
	    {"top", required_argument, NULL, 'T'},
	    {"fail-on-legacy", no_argument, NULL, 'F'},
	    {"no-record", no_argument, NULL, 'R'},
	    LEGACY_FILTER_OPTIONS,
	    {"clickhouse", required_argument, NULL, OPT_CLICKHOUSE},
	    FLEET_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fleet_opts fleet = {0};
	struct query_source src;
	struct report_options ro = {.record = 1, .top_ciphers = 10};
	const char *db = DEFAULT_DB, *format = NULL, *policy_arg = "default";
	struct policy *policy;
	uint32_t top;
	int o, rc;

	/* -o is the output; the shared filters give 'o' to --sort, told apart by the long index. */
	for (int li = -1; (o = getopt_long(argc, argv, ":d:f:o:h", opts, &li)) != -1; li = -1) {
		if (o == 'o' && li < 0)
			o = 'O';
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'O':
			ro.output = optarg;
			break;
		case 'P':
			policy_arg = optarg;
			break;
		case 'T':
			if (!parse_u32(optarg, 1, &top) || top > 1000)
				return usage_error(usage_report, "--top wants 1..1000, not",
				                   optarg);
			ro.top_ciphers = (int)top;
			break;
		case 'F':
			ro.fail_on_legacy = 1;
			break;
		case 'R':
			ro.record = 0;
			break;
		case 'g':
			return usage_error(
			    usage_report,
			    "the report groups by who must act; --group is for tlscensus "
			    "legacy, not",
			    optarg);
		case 'h':
			fputs(usage_report, stdout);
			return EXIT_OK;
		default:
			rc = fleet_option(&fleet, o, optarg, usage_report);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				break;
			if (o == 'S') { /* the last --since wins */
				ro.since_last = !strcmp(optarg, "last");
				ro.q.since = 0;
				if (ro.since_last)
					break;
			}
			if (filter_option(&ro.q, o, optarg, usage_report, argv) != 0)
				return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(usage_report, "unexpected argument", argv[optind]);
	if (!format) {
		const char *dot = ro.output ? strrchr(ro.output, '.') : NULL;

		format = dot && (!strcmp(dot, ".md") || !strcmp(dot, ".csv")) ? dot + 1 : "html";
	}
	if (!strcmp(format, "html"))
		ro.format = REPORT_HTML;
	else if (!strcmp(format, "md"))
		ro.format = REPORT_MD;
	else if (!strcmp(format, "csv"))
		ro.format = REPORT_CSV;
	else
		return usage_error(usage_report, "format must be html, md or csv, not", format);
	/* The default policy is loaded by name too: the report shows its description. */
	if (open_judged(db, &fleet, policy_arg, &ro.q, &policy, &src, &rc))
		return rc;
	ro.db_label = src.rd.name;
	rc = report_run(&src.rd, &ro);
	source_close(&src);
	policy_free(policy);
	return rc;
}

int main(int argc, char **argv)
{
	ch_global_init(); /* before any thread (capture --ship) */
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {
	    {"read", cmd_read},     {"capture", cmd_capture}, {"legacy", cmd_legacy},
	    {"export", cmd_export}, {"report", cmd_report},   {"migrate", cmd_migrate},
	    {"ship", cmd_ship},
	};

	opterr = 0; /* bad_option says what getopt_long refused, with the hint */
	if (argc < 2)
		return usage_error(usage_main,
		                   "a command is needed: read, capture, legacy, export, "
		                   "report or migrate",
		                   NULL);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("tlscensus %s\n", TC_VERSION);
		return EXIT_OK;
	}
	/* tlscensus help CMD is CMD --help, as with git */
	if (!strcmp(argv[1], "help") && argc > 2) {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (!strcmp(argv[2], cmds[i].name)) {
				char *args[] = {argv[2], "--help", NULL};
				return cmds[i].run(2, args);
			}
		fprintf(stderr, "tlscensus: no command '%s'; 'tlscensus help' lists them\n",
		        argv[2]);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	return usage_error(usage_main, "unknown command", argv[1]);
}
