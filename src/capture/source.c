/*
 * source.c: capture files: regular pcap/pcapng files walked in place (pcapfile.c), anything
 * else (standard input, pipes, formats we do not walk) through libpcap's offline reader.
 * libpcap's own messages are kept, but the first words are ours: which file, what is wrong
 * with it, and what to do.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pcapfile.h"
#include "source.h"

#define IDENTITY_SPAN (1u << 20)

/* SHA-256 through libcrypto (linked for QUIC): its SHA-NI and AVX2 code hashes the 2 MiB of
 * a file in about 1.5 ms, where the dissectors' portable one took 15 ms before every read. */
static int hash_span(int fd, off_t at, size_t n, EVP_MD_CTX *h)
{
	static uint8_t buf[64 * 1024];

	while (n) {
		ssize_t got = pread(fd, buf, n < sizeof buf ? n : sizeof buf, at);
		if (got <= 0)
			return got == 0 ? 0 : -1;
		if (!EVP_DigestUpdate(h, buf, (size_t)got))
			return -1;
		at += got;
		n -= (size_t)got;
	}
	return 0;
}

int source_identity(const char *path, struct source_identity *id)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t sum[EVP_MAX_MD_SIZE], le[8];
	unsigned sumlen = 0;
	EVP_MD_CTX *h;
	struct stat st;
	int fd, rc = -1;

	if (!strcmp(path, "-") || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(h = EVP_MD_CTX_new())) {
		close(fd);
		return -1;
	}
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)st.st_size >> (8 * i));
	off_t tail = st.st_size > 2 * (off_t)IDENTITY_SPAN ? st.st_size - IDENTITY_SPAN
	                                                   : (off_t)IDENTITY_SPAN;
	if (!EVP_DigestInit_ex(h, EVP_sha256(), NULL) || !EVP_DigestUpdate(h, le, sizeof le) ||
	    hash_span(fd, 0, IDENTITY_SPAN, h) ||
	    (tail < st.st_size && hash_span(fd, tail, (size_t)(st.st_size - tail), h)) ||
	    !EVP_DigestFinal_ex(h, sum, &sumlen) || sumlen != 32)
		goto out;
	for (int i = 0; i < 32; i++) {
		id->hash[2 * i] = hex[sum[i] >> 4];
		id->hash[2 * i + 1] = hex[sum[i] & 15];
	}
	id->hash[64] = '\0';
	id->size = (long long)st.st_size;
	id->mtime = (long long)st.st_mtime;
	id->dev = (long long)st.st_dev;
	id->ino = (long long)st.st_ino;
	rc = 0;
out:
	EVP_MD_CTX_free(h);
	close(fd);
	return rc;
}

double source_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void draw(struct census *c, double done, const char *path, struct source_progress *prog,
                 int final)
{
	struct run_stats *st = census_stats(c);
	double now = source_now();

	if (!final && now - prog->last_draw < 0.25)
		return;
	prog->last_draw = now;
	double rate = (double)(st->packets - prog->packets_before) / (now - prog->started + 1e-9);
	fprintf(stderr, "\r\033[K%s: %5.1f%%  %llu packets  %.0f packets/s  %llu handshakes", path,
	        100.0 * done, (unsigned long long)st->packets, rate,
	        (unsigned long long)st->handshakes);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/* The libpcap text for an unreadable file, turned into advice. */
static void explain_open_error(const char *path, const char *pcap_err, char *msg, size_t msglen)
{
	struct stat sb;

	if (strcmp(path, "-") != 0 && stat(path, &sb) != 0)
		snprintf(msg, msglen, "%s: cannot open capture: %s (check the path)", path,
		         strerror(errno));
	else if (strcmp(path, "-") != 0 && S_ISDIR(sb.st_mode))
		snprintf(msg, msglen, "%s: is a directory, not a capture file", path);
	else if (strcmp(path, "-") != 0 && sb.st_size == 0)
		snprintf(msg, msglen,
		         "%s: empty file, not a capture (was the capture stopped "
		         "before it wrote anything?)",
		         path);
	else if (strstr(pcap_err, "unknown file format") || strstr(pcap_err, "bad dump file"))
		snprintf(msg, msglen,
		         "%s: not a pcap or pcapng capture (%s); a capture in another format "
		         "(snoop, ERF, ...) can be converted with 'editcap -F pcapng'",
		         path, pcap_err);
	else if (strstr(pcap_err, "truncated"))
		snprintf(msg, msglen, "%s: capture file header is cut short (%s)", path, pcap_err);
	else
		snprintf(msg, msglen, "%s: cannot read capture: %s", path, pcap_err);
}

/* stdio's default buffer is the file system's block size, so libpcap's freads cost a read(2)
 * every 4 KiB: a quarter of a million system calls per GB. A regular file is opened here with
 * a 1 MiB buffer (iobuf; glibc ignores the size of a NULL buffer). Anything else, or a file
 * libpcap refuses, goes to pcap_open_offline, whose messages explain_open_error knows. */
#define SOURCE_IOBUF (1u << 20)

static pcap_t *open_buffered(const char *path, char *iobuf, char *errbuf)
{
	struct stat sb;
	FILE *fp;
	pcap_t *p;

	if (iobuf && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (fp = fopen(path, "rb"))) {
		setvbuf(fp, iobuf, _IOFBF, SOURCE_IOBUF);
		p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO,
		                                             errbuf);
		if (p)
			return p; /* pcap_close closes fp */
		fclose(fp);
	}
	return pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
}

static int linktype_refused(const char *path, int lt, char *msg, size_t msglen)
{
	const char *name = pcap_datalink_val_to_name(lt);

	if (tc_decode_linktype_supported(lt))
		return 0;
	snprintf(msg, msglen,
	         "%s: link type %d (%s) is not supported; supported are Ethernet, Linux "
	         "cooked (SLL, SLL2), raw IP, BSD loopback and PPP",
	         path, lt, name ? name : "unknown");
	return 1;
}

/* A BPF filter compiled once per link type met (pcapng interfaces may differ). */
#define FILTER_TYPES 8
struct filters {
	const char *expr;
	int n;
	int lt[FILTER_TYPES];
	struct bpf_program prog[FILTER_TYPES];
	int ok[FILTER_TYPES];
};

/* pcap files name LINKTYPE_ values, pcap_compile wants DLT_ ones; they differ for raw IP. */
static int linktype_dlt(int lt)
{
	return lt == 101 ? DLT_RAW : lt;
}

static int compile_filter(const char *expr, int lt, struct bpf_program *prog, char *why,
                          size_t whylen)
{
	pcap_t *dead = pcap_open_dead(linktype_dlt(lt), 262144);
	int rc;

	if (!dead) {
		snprintf(why, whylen, "out of memory compiling the filter '%s'", expr);
		return -1;
	}
	rc = pcap_compile(dead, prog, expr, 1, PCAP_NETMASK_UNKNOWN);
	if (rc != 0)
		snprintf(why, whylen, "bad filter '%s': %s", expr, pcap_geterr(dead));
	pcap_close(dead);
	return rc;
}

int source_filter_ok(const char *filter, char *why, size_t whylen)
{
	struct bpf_program prog;

	if (compile_filter(filter, DLT_EN10MB, &prog, why, whylen) != 0)
		return 0;
	pcap_freecode(&prog);
	return 1;
}

/* Whether a frame passes the filter; a link type the filter cannot be compiled for (a
 * pcapng interface of another kind) passes nothing. */
static int filter_pass(struct filters *fl, int lt, const uint8_t *data, uint32_t caplen)
{
	struct pcap_pkthdr h = {.caplen = caplen, .len = caplen};
	char why[256];
	int i;

	if (!fl->expr)
		return 1;
	for (i = 0; i < fl->n && fl->lt[i] != lt; i++)
		;
	if (i == fl->n) {
		if (fl->n == FILTER_TYPES)
			return 0;
		fl->lt[i] = lt;
		fl->ok[i] = compile_filter(fl->expr, lt, &fl->prog[i], why, sizeof why) == 0;
		fl->n++;
	}
	return fl->ok[i] && pcap_offline_filter(&fl->prog[i], &h, data) != 0;
}

static void filters_free(struct filters *fl)
{
	for (int i = 0; i < fl->n; i++)
		if (fl->ok[i])
			pcap_freecode(&fl->prog[i]);
}

/* Whether a read should stop before the next frame: a signal, or --count reached. */
static int read_stops(const struct source_progress *prog)
{
	return (prog->stop && *prog->stop) ||
	       (prog->max_frames && prog->frames >= prog->max_frames);
}

static void warn_bad_time(const char *path, uint64_t n)
{
	if (n)
		fprintf(
		    stderr,
		    "tlscensus: %s: %llu frames carry a time before 1970 or in the future; each "
		    "was given the time of the frame before it\n",
		    path, (unsigned long long)n);
}

static enum source_result stopped(const char *path, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s: interrupted; the packets read so far were recorded", path);
	return SOURCE_STOPPED;
}

/* A regular pcap/pcapng file, walked in place (pcapfile.c): no copy per frame, and pcapng
 * interfaces each with their own link type. */
static enum source_result read_mapped(struct census *c, struct pcapfile *f, const char *path,
                                      struct source_progress *prog, char *msg, size_t msglen)
{
	struct pcapfile_frame fr;
	char why[256] = "";
	int rc = 0;

	if (linktype_refused(path, (int)f->linktype, msg, msglen)) {
		pcapfile_close(f);
		return SOURCE_UNREADABLE;
	}
	struct filters fl = {.expr = prog->filter};
	pcapfile_pager(f); /* when it cannot start, pcapfile_next fills the page tables itself */
	while (!read_stops(prog) && (rc = pcapfile_next(f, &fr, why, sizeof why)) == 1) {
		if (!filter_pass(&fl, (int)fr.linktype, fr.data, fr.caplen))
			continue;
		prog->frames++;
		census_frame(c, (int)fr.linktype, fr.data, fr.caplen, fr.usec);
		if (prog->enabled && (census_stats(c)->packets & 1023) == 0)
			draw(c, pcapfile_done(f), path, prog, 0);
	}
	filters_free(&fl);
	if (prog->enabled)
		draw(c, 1.0, path, prog, 1);
	warn_bad_time(path, f->bad_time);
	pcapfile_close(f);
	if (rc < 0) {
		snprintf(
		    msg, msglen,
		    "%s: capture cut short after %llu packets (%s); the packets before the cut "
		    "were recorded",
		    path, (unsigned long long)(census_stats(c)->packets - prog->packets_before),
		    why);
		return SOURCE_TRUNCATED;
	}
	if (prog->stop && *prog->stop)
		return stopped(path, msg, msglen);
	return SOURCE_OK;
}

static enum source_result read_file(struct census *c, const char *path,
                                    struct source_progress *prog, char *msg, size_t msglen,
                                    char *iobuf)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcapfile f;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct stat sb;
	off_t size = 0;
	uint64_t ts = 0, bad_time = 0;
	pcap_t *p;
	int rc, lt;

	msg[0] = '\0';
	prog->started = source_now();
	prog->packets_before = census_stats(c)->packets;
	if (strcmp(path, "-") != 0) {
		char why[256];

		switch (pcapfile_open(&f, path, why, sizeof why)) {
		case PCAPFILE_OPENED:
			return read_mapped(c, &f, path, prog, msg, msglen);
		case PCAPFILE_BAD:
			snprintf(msg, msglen, "%s: cannot read capture: %s", path, why);
			return SOURCE_UNREADABLE;
		case PCAPFILE_NOT_MINE:
			break;
		}
	}
	if (strcmp(path, "-") == 0)
		p = pcap_fopen_offline_with_tstamp_precision(stdin, PCAP_TSTAMP_PRECISION_MICRO,
		                                             errbuf);
	else
		p = open_buffered(path, iobuf, errbuf);
	if (!p) {
		explain_open_error(path, errbuf, msg, msglen);
		return SOURCE_UNREADABLE;
	}
	lt = pcap_datalink(p);
	if (linktype_refused(path, lt, msg, msglen)) {
		pcap_close(p);
		return SOURCE_UNREADABLE;
	}
	if (prog->filter) {
		struct bpf_program bpf;
		char why[512];
		if (compile_filter(prog->filter, lt, &bpf, why, sizeof why) != 0) {
			snprintf(msg, msglen, "%s: %s", path, why);
			pcap_close(p);
			return SOURCE_UNREADABLE;
		}
		rc = pcap_setfilter(p, &bpf);
		pcap_freecode(&bpf);
		if (rc != 0) {
			snprintf(msg, msglen, "%s: cannot apply the filter: %s", path,
			         pcap_geterr(p));
			pcap_close(p);
			return SOURCE_UNREADABLE;
		}
	}
	if (strcmp(path, "-") != 0 && stat(path, &sb) == 0)
		size = sb.st_size;
	rc = 0;
	while (!read_stops(prog) && (rc = pcap_next_ex(p, &h, &data)) == 1) {
		prog->frames++;
		/* tv_sec before 1970 (libpcap reads it signed): the time is unknown, so the frame
		 * takes the time of the one before, as in pcapfile.c */
		if (h->ts.tv_sec < 0)
			bad_time++;
		else
			ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		census_frame(c, lt, data, h->caplen, ts);
		if (prog->enabled && (census_stats(c)->packets & 1023) == 0) {
			FILE *fp = pcap_file(p);
			long pos = fp ? ftell(fp) : -1;
			draw(c, size > 0 && pos >= 0 ? (double)pos / (double)size : 0, path, prog,
			     0);
		}
	}
	if (prog->enabled)
		draw(c, 1.0, path, prog, 1);
	warn_bad_time(path, bad_time);
	if (rc == PCAP_ERROR) {
		/* libpcap says "truncated dump file; tried to read N captured bytes, only got M"
		 * for a file cut inside a packet; everything before the cut has been read. */
		snprintf(msg, msglen,
		         "%s: capture cut short after %llu packets (%s); the packets "
		         "before the cut were recorded",
		         path,
		         (unsigned long long)(census_stats(c)->packets - prog->packets_before),
		         pcap_geterr(p));
		pcap_close(p);
		return SOURCE_TRUNCATED;
	}
	pcap_close(p);
	if (prog->stop && *prog->stop)
		return stopped(path, msg, msglen);
	return SOURCE_OK;
}

int source_walkable(const char *path)
{
	struct pcapfile f;
	char why[256];

	if (strcmp(path, "-") == 0 || pcapfile_open(&f, path, why, sizeof why) != PCAPFILE_OPENED)
		return 0;
	pcapfile_close(&f);
	return 1;
}

/* What a file held that could not be read as traffic, said once per file: each is counted in
 * the run and skipped, and the rest of the file is read. */
static void warn_hostile(const char *path, const struct run_stats *a, const struct run_stats *b)
{
	uint64_t back = b->time_backwards - a->time_backwards;
	uint64_t bad = b->undecodable - a->undecodable;
	uint64_t held = b->fragments_held - a->fragments_held;

	if (back)
		fprintf(
		    stderr,
		    "tlscensus: %s: %llu frames are stamped earlier than a frame before them "
		    "(up to %.0f s back: a clock stepped back, or captures merged out of order); "
		    "they were read in file order, and idle timeouts follow the latest time\n",
		    path, (unsigned long long)back, (double)b->time_back_max / 1e6);
	if (bad)
		fprintf(stderr,
		        "tlscensus: %s: %llu frames could not be decoded (malformed or unsupported "
		        "headers: a TCP data offset under 5 words, more than 16 IPv6 extension "
		        "headers, lengths that do not add up); counted (runs.undecodable) and "
		        "skipped\n",
		        path, (unsigned long long)bad);
	if (held && b->reassembled == a->reassembled)
		fprintf(
		    stderr,
		    "tlscensus: %s: %llu IP fragments and not one whole datagram from them (at "
		    "most 4096 datagrams and 16 MiB wait, 30 s each); counted (runs.fragments)\n",
		    path, (unsigned long long)held);
}

enum source_result source_read_file(struct census *c, const char *path,
                                    struct source_progress *prog, char *msg, size_t msglen)
{
	char *iobuf = malloc(SOURCE_IOBUF); /* out of memory: stdio's own buffer */
	struct run_stats before = *census_stats(c);
	enum source_result r = read_file(c, path, prog, msg, msglen, iobuf);

	free(iobuf); /* after pcap_close, which closed the stream that used it */
	if (r != SOURCE_UNREADABLE)
		warn_hostile(path, &before, census_stats(c));
	return r;
}

/* ---------------------------------------------------------------- directories of captures */

/* The time of a capture file's first frame, for ordering a directory: 0 when it has none (an
 * empty ring file), -1 when it is no capture at all. */
static int64_t first_frame_usec(const char *path)
{
	struct pcapfile f;
	struct pcapfile_frame fr;
	char why[256];
	int64_t t;

	if (pcapfile_open(&f, path, why, sizeof why) != PCAPFILE_OPENED)
		return -1;
	t = pcapfile_next(&f, &fr, why, sizeof why) == 1 ? (int64_t)fr.usec : 0;
	pcapfile_close(&f);
	return t;
}

static int by_time(const void *a, const void *b)
{
	const struct source_entry *x = a, *y = b;

	if (x->first_usec != y->first_usec)
		return x->first_usec < y->first_usec ? -1 : 1;
	return strcmp(x->path, y->path);
}

int source_is_dir(const char *path)
{
	struct stat sb;

	return strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int source_list_dir(const char *dir, struct source_entry **out, size_t *n, char *msg, size_t msglen)
{
	struct source_entry *v = NULL;
	size_t used = 0, cap = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	*out = NULL;
	*n = 0;
	if (!d) {
		snprintf(msg, msglen, "%s: cannot list the directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		struct source_entry en = {0};
		struct stat sb;

		if (e->d_name[0] == '.')
			continue; /* hidden, and the partial files some tools write first */
		if (snprintf(en.path, sizeof en.path, "%s/%s", dir, e->d_name) >=
		    (int)sizeof en.path)
			continue;
		if (stat(en.path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		en.size = (uint64_t)sb.st_size;
		en.mtime = (int64_t)sb.st_mtime;
		en.dev = (uint64_t)sb.st_dev;
		en.ino = (uint64_t)sb.st_ino;
		/* a file still empty may become a capture: kept, ordered last */
		en.first_usec = sb.st_size == 0 ? INT64_MAX : first_frame_usec(en.path);
		if (en.first_usec < 0)
			continue; /* not a pcap/pcapng file (a checksum list, a README...) */
		if (en.first_usec == 0)
			en.first_usec = INT64_MAX - 1; /* headers only: not yet a frame */
		if (used == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct source_entry *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				free(v);
				closedir(d);
				snprintf(msg, msglen, "%s: out of memory listing the directory",
				         dir);
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[used++] = en;
	}
	closedir(d);
	if (used)
		qsort(v, used, sizeof *v, by_time);
	*out = v;
	*n = used;
	return 0;
}
