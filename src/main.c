/*
 * main.c: the command line. Parses options, wires source -> census -> store for "read", and
 * hands the query commands to the store. No packet or SQL logic lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "catalog.h"
#include "census.h"
#include "collect.h"
#include "hints.h"
#include "label.h"
#include "legacy.h"
#include "legacy_out.h"
#include "report.h"
#include "source.h"
#include "store.h"
#include "writer.h"

/* Exit codes, documented in the README and in --help. */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 2,
	EXIT_CAPTURE = 3,   /* a capture could not be read at all */
	EXIT_TRUNCATED = 4, /* a capture was cut short; what came before it is recorded */
	EXIT_DATABASE = 5,
	EXIT_INTERRUPTED = 130,
};

#define DEFAULT_DB "tlscensus.db"

static volatile sig_atomic_t stop_requested, stats_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_requested = 1;
	else
		stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
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
    "  export  write every recorded connection as NDJSON\n"
    "  report  a report for people: who must fix what, by when; trend, changes, coverage\n"
    "  migrate bring a database written by an older tlscensus to the current schema\n"
    "\n"
    "tlscensus COMMAND --help shows a command's options; tlscensus --version its version.\n"
    "exit codes: 0 ok, 2 usage, 3 unreadable capture, 4 truncated capture (records kept),\n"
    "            5 database error, 130 interrupted (records kept); report: 1 legacy found\n"
    "            (--fail-on-legacy), 6 report file not written\n";

static const char usage_read[] =
    "usage: tlscensus read [--db FILE] [OPTIONS] CAPTURE...\n"
    "\n"
    "Reads pcap or pcapng files (- for standard input) and records one row per TLS\n"
    "connection: what the client offered and what was negotiated.\n"
    "\n"
    "  --db FILE          database (default " DEFAULT_DB ", created if missing)\n"
    "  --no-label         skip nDPI application labels\n"
    "  --max-flows N      flows tracked at once (default 1048576); the oldest is evicted\n"
    "  --idle-timeout S   seconds of capture time after which a silent flow is closed (120)\n"
    "  --progress         force the progress line (default: only on a terminal)\n"
    "  --quiet            no progress line and no summary\n"
    "  --reread           read captures this database has read before (skipped\n"
    "                     otherwise, with a note: reads are idempotent)\n";

static const char usage_capture[] =
    "usage: tlscensus capture -i IFACE [--db FILE] [-f 'BPF filter'] [OPTIONS]\n"
    "\n"
    "Records the TLS handshakes seen on a live interface (a span port, a traffic mirror,\n"
    "or 'any') until SIGINT/SIGTERM or --duration. SIGUSR1 prints the statistics.\n"
    "\n"
    "  -i, --interface IFACE  interface to capture on (required)\n"
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
    "  --stats-every S        seconds between refreshes of the run's counters (60)\n";

static const char usage_legacy[] =
    "usage: tlscensus legacy [--db FILE] [--format table|csv|json] [--policy NAME|FILE]\n"
    "                        [FILTERS] [--group client|server] [--sort KEY]\n"
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
    "Connections whose hellos could not be parsed are counted after the table (CSV: rows\n"
    "with attribution \"unknown\"; JSON: \"unknown\").\n"
    "\n"
    "  --db FILE        database (default " DEFAULT_DB ")\n"
    "  --format F       table (default), csv or json\n"
    "  --policy P       default, entra, nist, pci, tls12, or a policy file (policies/README.md)\n"
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
    "  --hints FILE     fingerprint to software map (ja4, ja3, software, note; TSV)\n";

static const char usage_export[] =
    "usage: tlscensus export [--db FILE] --format ndjson\n"
    "\n"
    "One JSON object per connection that showed a ClientHello or a ServerHello.\n"
    "\n"
    "  --db FILE      database (default " DEFAULT_DB ")\n"
    "  --format F     ndjson (the only format)\n";

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
    "                    local time: -o legacy-%Y-%m-%d.html (default: standard output)\n"
    "  --policy P        default, entra, nist, pci, tls12, or a policy file\n"
    "  --client CIDR, --server CIDR, --sni GLOB, --port N, --sort KEY, --catalog FILE,\n"
    "  --hints FILE      as for tlscensus legacy\n"
    "  --top N           cipher suites listed by name (default 10)\n"
    "  --fail-on-legacy  exit 1 when the report lists a legacy client\n"
    "  --no-record       do not remember this report (for --since last and its changes)\n"
    "\n"
    "exit codes: 0 written; 1 written, and --fail-on-legacy found legacy clients; 2 usage;\n"
    "            5 database error; 6 the report file could not be written\n";

/* what is a complete sentence; arg, when not NULL, is quoted after it. */
static int usage_error(const char *usage, const char *what, const char *arg)
{
	if (arg)
		fprintf(stderr, "tlscensus: %s '%s'\n\n%s", what, arg, usage);
	else
		fprintf(stderr, "tlscensus: %s\n\n%s", what, usage);
	return EXIT_USAGE;
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

/* What read and capture share: database, labels, writer thread and census, opened in that
 * order and closed in reverse. */
struct pipeline {
	struct store *store;
	struct labeler *labels;
	struct writer *writer;
	struct census *census;
};

/* prep, when set, runs on the open store before the writer thread takes it (read: which files
 * were read before); non-zero stops there. */
static int pipeline_open(struct pipeline *pl, const char *db, const struct census_config *cfg,
                         int no_label, enum writer_mode mode, const char *source,
                         const char *command, int (*prep)(struct store *, void *), void *arg)
{
	char err[1024];

	memset(pl, 0, sizeof(*pl));
	pl->store = store_open(db, STORE_READ_WRITE, err, sizeof(err));
	if (!pl->store) {
		fprintf(stderr, "tlscensus: %s\n", err);
		return -1;
	}
	if (prep && prep(pl->store, arg)) {
		store_close(pl->store);
		return -1;
	}
	if (!no_label && !(pl->labels = label_open(err, sizeof(err))))
		fprintf(stderr, "tlscensus: %s; continuing without application labels\n", err);
	store_run_begin(pl->store, source, command);
	pl->writer = writer_start(pl->store, mode);
	pl->census = pl->writer ? census_new(cfg, writer_sink(pl->writer), pl->labels) : NULL;
	if (!pl->census) {
		fprintf(stderr, "tlscensus: out of memory for %u flows (lower --max-flows)\n",
		        cfg->max_flows);
		writer_stop(pl->writer);
		label_close(pl->labels);
		store_close(pl->store);
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

/* Records every open flow, ends the run; stats receives the run's counters. Returns 0, or -1
 * when the database reported an error along the way. After a write failure the run is left
 * unended (as a killed one is): nothing more is written to a database that refuses writes. */
static int pipeline_close(struct pipeline *pl, struct run_stats *stats, struct pipeline_end *end)
{
	census_flush(pl->census);
	*stats = *census_stats(pl->census);
	census_free(pl->census);
	uint64_t write_errors = writer_errors(pl->writer);
	end->failed = writer_failed(pl->writer);
	end->lost = writer_lost(pl->writer);
	writer_stop(pl->writer);
	end->committed = store_committed(pl->store);
	snprintf(end->why, sizeof end->why, "%s",
	         store_failure(pl->store) ? store_failure(pl->store) : "write failed");
	int rc = write_errors || end->failed || store_run_end(pl->store, stats) != 0 ? -1 : 0;
	label_close(pl->labels);
	store_close(pl->store);
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
			        "connections "
			        "it recorded are replaced by this read\n",
			        f->path, seen.when, (long long)seen.run, (long long)n);
		}
	}
	return 0;
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
	    {"reread", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct census_config cfg = CENSUS_DEFAULT_CONFIG;
	struct source_progress prog = {.stop = &stop_requested};
	struct read_plan plan = {0};
	const char *db = DEFAULT_DB;
	int no_label = 0, quiet = 0, force_progress = 0, o, rc = EXIT_OK;
	char sources[4096];

	while ((o = getopt_long(argc, argv, "d:hq", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
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
		case 'R':
			plan.reread = 1;
			break;
		case 'h':
			fputs(usage_read, stdout);
			return EXIT_OK;
		default:
			fputs(usage_read, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error(usage_read,
		                   "read needs at least one capture file (or - for standard input)",
		                   NULL);
	prog.enabled = !quiet && (force_progress || isatty(STDERR_FILENO));

	if (!join_sources(argc - optind, argv + optind, sources, sizeof(sources)))
		snprintf(sources, sizeof(sources), "%d files", argc - optind);
	/* Files are never dropped from: a full queue makes the reader wait. */
	struct pipeline pl;
	plan.n = argc - optind;
	plan.db = db;
	plan.files = calloc((size_t)(unsigned)plan.n, sizeof *plan.files);
	if (!plan.files)
		return EXIT_DATABASE;
	for (int i = 0; i < plan.n; i++)
		plan.files[i].path = argv[optind + i];
	if (pipeline_open(&pl, db, &cfg, no_label, WRITER_BLOCK, sources, "read", read_prep,
	                  &plan) != 0) {
		free(plan.files);
		return EXIT_DATABASE;
	}
	struct census *c = pl.census;
	install_signals();
	/* A failed write (disk full) stops the reading as a signal would; told apart below. */
	writer_stop_on_failure(pl.writer, &stop_requested);

	double t0 = source_now();
	const char *stopped_in = NULL;
	for (int i = optind; i < argc && !stop_requested; i++) {
		const struct read_file *f = &plan.files[i - optind];
		struct store_input in;
		char msg[1024];
		if (f->skip)
			continue;
		if (f->known) {
			to_input(f, &in);
			writer_input(pl.writer, &in, 0);
		}
		enum source_result r = source_read_file(c, argv[i], &prog, msg, sizeof(msg));
		if (writer_failed(pl.writer)) {
			stopped_in = argv[i];
			break;
		}
		/* Read to its end (or to a cut in the file itself, which a second read would
		 * meet again): done. Stopped by a signal: left 'reading', so the next read of it
		 * replaces what this one recorded. */
		if (f->known && (r == SOURCE_OK || r == SOURCE_TRUNCATED))
			writer_input(pl.writer, &in, 1);
		if (r == SOURCE_OK)
			continue;
		fprintf(stderr, "tlscensus: %s\n", msg);
		if (r == SOURCE_UNREADABLE)
			rc = EXIT_CAPTURE;
		else if (r == SOURCE_TRUNCATED && rc == EXIT_OK)
			rc = EXIT_TRUNCATED;
		else if (r == SOURCE_STOPPED)
			rc = EXIT_INTERRUPTED;
	}
	struct run_stats stats;
	struct pipeline_end end;
	if (pipeline_close(&pl, &stats, &end) != 0)
		rc = EXIT_DATABASE;
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
	    {"duration", required_argument, NULL, 'D'},
	    {"retain", required_argument, NULL, 'R'},
	    {"no-label", no_argument, NULL, 'L'},
	    {"max-flows", required_argument, NULL, 'm'},
	    {"idle-timeout", required_argument, NULL, 't'},
	    {"stats-every", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct capture_config cc = {
	    .snaplen = 262144,
	    .buffer_mib = 64,
	    .promisc = 1,
	    .stats_every_s = 60,
	};
	struct census_config cfg = CENSUS_DEFAULT_CONFIG;
	const char *db = DEFAULT_DB, *user = NULL;
	uint32_t u;
	int no_label = 0, o, rc = EXIT_OK;
	char err[1024];

	while ((o = getopt_long(argc, argv, "i:d:f:Z:h", opts, NULL)) != -1) {
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
		case 'h':
			fputs(usage_capture, stdout);
			return EXIT_OK;
		default:
			fputs(usage_capture, stderr);
			return EXIT_USAGE;
		}
	}
	if (!cc.iface)
		return usage_error(usage_capture, "capture needs an interface: -i IFACE", NULL);
	if (optind < argc)
		return usage_error(usage_capture, "unexpected argument", argv[optind]);

	struct capture *cap = capture_open(&cc, err, sizeof(err));
	if (!cap) {
		fprintf(stderr, "tlscensus: %s\n", err);
		return EXIT_CAPTURE;
	}
	/* Root is needed to open the interface and for nothing after it: the database and all
	 * parsing of hostile bytes run unprivileged. */
	if (capture_drop_privileges(user, err, sizeof(err)) != 0) {
		fprintf(stderr, "tlscensus: %s\n", err);
		capture_close(cap);
		return EXIT_CAPTURE;
	}
	umask(027); /* the database and its -wal/-shm files: 0640 */
	char source[512];
	snprintf(source, sizeof(source), "%s%s%s", cc.iface, cc.filter ? " filter " : "",
	         cc.filter ? cc.filter : "");
	/* A live capture never waits for the disk: a full queue drops and counts. */
	struct pipeline pl;
	if (pipeline_open(&pl, db, &cfg, no_label, WRITER_DROP, source, "capture", NULL, NULL) !=
	    0) {
		capture_close(cap);
		return EXIT_DATABASE;
	}
	install_signals();
	fprintf(stderr, "tlscensus: capturing on %s into %s\n", cc.iface, db);
	if (capture_run(cap, pl.census, &stop_requested, &stats_requested) != 0)
		rc = EXIT_CAPTURE;
	/* The capture is over: the flows still open are recorded however long the queue takes. */
	writer_set_mode(pl.writer, WRITER_BLOCK);
	census_flush(pl.census);
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
static int filter_option(struct legacy_query *q, int o, const char *arg, const char *usage)
{
	const char *what = NULL;
	int rc = legacy_filter_option(q, o, arg, &what);

	if (rc < 0)
		return usage_error(usage, what, arg);
	if (rc == 0) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* What legacy and report both need before judging: the policy (NULL name: the built-in
 * default, unless the caller loads it by name), readable data files, the database read-only.
 * NULL with *rc set to the exit code on failure; the caller frees *policy after closing. */
static struct store *open_judged(const char *db, const char *policy_arg, struct legacy_query *q,
                                 struct policy **policy, int *rc)
{
	char err[1024];

	*policy = NULL;
	if (policy_arg && !(*policy = policy_load(policy_arg, err, sizeof(err)))) {
		fprintf(stderr, "tlscensus: %s\n", err);
		*rc = EXIT_USAGE;
		return NULL;
	}
	q->policy = *policy;
	if (check_data_files(q)) {
		policy_free(*policy);
		*rc = EXIT_USAGE;
		return NULL;
	}
	struct store *st = open_for_query(db);
	if (!st) {
		policy_free(*policy);
		*rc = EXIT_DATABASE;
	}
	return st;
}

static int cmd_legacy(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},     {"format", required_argument, NULL, 'f'},
	    {"policy", required_argument, NULL, 'P'}, LEGACY_FILTER_OPTIONS,
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct legacy_query q = {0};
	struct legacy_result res;
	struct policy *policy = NULL;
	enum legacy_format fmt = LEGACY_TABLE;
	const char *db = DEFAULT_DB, *policy_arg = NULL;
	int o, rc;

	while ((o = getopt_long(argc, argv, "d:f:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "table"))
				fmt = LEGACY_TABLE;
			else if (!strcmp(optarg, "csv"))
				fmt = LEGACY_CSV;
			else if (!strcmp(optarg, "json"))
				fmt = LEGACY_JSON;
			else
				return usage_error(
				    usage_legacy, "format must be table, csv or json, not", optarg);
			break;
		case 'P':
			policy_arg = optarg;
			break;
		case 'h':
			fputs(usage_legacy, stdout);
			return EXIT_OK;
		default:
			if (filter_option(&q, o, optarg, usage_legacy) != 0)
				return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(usage_legacy, "unexpected argument", argv[optind]);
	struct store *st = open_judged(db, policy_arg, &q, &policy, &rc);
	if (!st)
		return rc;
	rc = EXIT_DATABASE;
	if (legacy_collect(st, &q, &res) == 0) {
		rc = legacy_print(&res, &q, fmt, stdout) == 0 ? EXIT_OK : EXIT_DATABASE;
		legacy_result_free(&res);
	}
	store_close(st);
	policy_free(policy);
	return rc;
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = DEFAULT_DB, *format = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "d:f:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'h':
			fputs(usage_export, stdout);
			return EXIT_OK;
		default:
			fputs(usage_export, stderr);
			return EXIT_USAGE;
		}
	}
	if (!format)
		return usage_error(usage_export, "export needs --format ndjson", NULL);
	if (strcmp(format, "ndjson") != 0)
		return usage_error(usage_export, "export format must be ndjson, not", format);
	if (optind < argc)
		return usage_error(usage_export, "unexpected argument", argv[optind]);
	struct store *st = open_for_query(db);
	if (!st)
		return EXIT_DATABASE;
	int rc = store_export_ndjson(st, stdout) == 0 ? EXIT_OK : EXIT_DATABASE;
	store_close(st);
	if (fflush(stdout) != 0) {
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

	while ((o = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(usage_migrate, stdout);
			return EXIT_OK;
		default:
			fputs(usage_migrate, stderr);
			return EXIT_USAGE;
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
	    {"db", required_argument, NULL, 'd'},     {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'O'}, {"policy", required_argument, NULL, 'P'},
	    {"top", required_argument, NULL, 'T'},    {"fail-on-legacy", no_argument, NULL, 'F'},
	    {"no-record", no_argument, NULL, 'R'},    LEGACY_FILTER_OPTIONS,
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct report_options ro = {.record = 1, .top_ciphers = 10};
	const char *db = DEFAULT_DB, *format = NULL, *policy_arg = "default";
	struct policy *policy;
	uint32_t top;
	int o, rc;

	/* -o is the output; the shared filters give 'o' to --sort, told apart by the long index. */
	for (int li = -1; (o = getopt_long(argc, argv, "d:f:o:h", opts, &li)) != -1; li = -1) {
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
			if (o == 'S') { /* the last --since wins */
				ro.since_last = !strcmp(optarg, "last");
				ro.q.since = 0;
				if (ro.since_last)
					break;
			}
			if (filter_option(&ro.q, o, optarg, usage_report) != 0)
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
	ro.db_label = db;
	struct store *st = open_judged(db, policy_arg, &ro.q, &policy, &rc);
	if (!st)
		return rc;
	rc = report_run(st, &ro);
	store_close(st);
	policy_free(policy);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {
	    {"read", cmd_read},     {"capture", cmd_capture}, {"legacy", cmd_legacy},
	    {"export", cmd_export}, {"report", cmd_report},   {"migrate", cmd_migrate},
	};

	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("tlscensus %s\n", TC_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tlscensus: unknown command '%s'\n\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
