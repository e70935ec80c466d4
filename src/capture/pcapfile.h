/*
 * pcapfile.h: capture files read in place. A regular pcap or pcapng file is mapped into memory
 * and walked record by record, so a frame reaches the census without a copy (libpcap's offline
 * reader copies every frame from the page cache into its own buffer first). pcapng is read per
 * interface: each frame keeps the link type and time resolution of the interface it came from,
 * so a file that mixes Ethernet and raw-IP interfaces is read whole (libpcap refuses it).
 *
 * Formats: pcap (microsecond and nanosecond magic, either byte order) and pcapng (sections in
 * either byte order, Interface Description, Enhanced, Simple and obsolete Packet blocks; the
 * other blocks are skipped). Anything else is left to libpcap (source.c), whose messages say
 * what the file is not.
 */
#ifndef TLSCENSUS_PCAPFILE_H
#define TLSCENSUS_PCAPFILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Largest frame kept; libpcap's own bound (MAXIMUM_SNAPLEN). A record claiming more is damage. */
#define PCAPFILE_MAX_FRAME  262144u
#define PCAPFILE_MAX_IFACES 256

/* The walk's bounds on what it keeps mapped (pcapfile.c says why): page tables are filled
 * PCAPFILE_POPULATE bytes at a time, the pager (pcapfile_pager) keeps them PCAPFILE_LEAD
 * ahead of the frame returned last, and what lies behind is unmapped in PCAPFILE_RELEASE
 * steps. The mapped span stays below LEAD + POPULATE + RELEASE, plus what the reader walks
 * while the pager pauses (about 10 MB; 8 MiB + 8 MiB without the pager), whatever the file's
 * size. */
#define PCAPFILE_POPULATE (8u << 20)
#define PCAPFILE_LEAD     (24u << 20)
#define PCAPFILE_RELEASE  (8u << 20)

struct pcapfile_iface {
	uint32_t linktype;
	uint64_t units;   /* timestamp units per second (if_tsresol) */
	int64_t offset_s; /* if_tsoffset */
};

struct pcapfile {
	const uint8_t *base;
	size_t size, pos;
	/* bytes before this are unmapped; never a frame pcapfile_next returned last (its data
	 * lies at or after this) */
	_Atomic size_t released;
	size_t prefetched;        /* bytes before this are prefetched or were read (pcapfile.c) */
	_Atomic size_t populated; /* bytes before this had their page tables filled */
	_Atomic size_t at;        /* with a pager: where the frame returned last starts */
	_Atomic int pager_stop;
	int pager_on; /* pcapfile_pager: the page tables are the pager thread's job */
	pthread_t pager;
	int swapped;
	int ng;            /* pcapng */
	uint32_t linktype; /* pcap: the file's; pcapng: the first interface's */
	uint64_t units;    /* pcap: 10^6 or 10^9 */
	unsigned nifaces;
	struct pcapfile_iface ifaces[PCAPFILE_MAX_IFACES];
	uint64_t frames;
	uint64_t bad_time; /* frames stamped before 1970 (tv_sec read as negative) */
	int64_t last_usec;
	int64_t latest_s; /* a frame stamped later than this (a day past the opening) is bad */
};

struct pcapfile_frame {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t linktype;
	uint64_t usec; /* microseconds since the epoch */
};

enum pcapfile_open {
	PCAPFILE_NOT_MINE = 0, /* not a regular pcap/pcapng file: let libpcap open it */
	PCAPFILE_OPENED = 1,
	PCAPFILE_BAD = -1, /* a pcap/pcapng file whose header is damaged; msg says how */
};

/* Maps path and reads its header. */
enum pcapfile_open pcapfile_open(struct pcapfile *f, const char *path, char *msg, size_t msglen);

/* The next frame: 1, or 0 at a clean end of file, or -1 where the file is cut or damaged
 * (msg says how; every frame before it was returned). */
int pcapfile_next(struct pcapfile *f, struct pcapfile_frame *fr, char *msg, size_t msglen);

/* Hands the page tables to a thread of their own (pcapfile.c says why): 0, or -1 when it
 * could not start, and then pcapfile_next goes on doing that work itself. */
int pcapfile_pager(struct pcapfile *f);

/* How far through the file, 0..1, for progress lines. */
double pcapfile_done(const struct pcapfile *f);

void pcapfile_close(struct pcapfile *f);

#endif
