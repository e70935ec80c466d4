/*
 * source.h: where frames come from. A capture file (pcap or pcapng, via libpcap; "-" is
 * standard input) is read to its end and every frame goes to census_frame. Errors name the
 * file and say what to do; a file cut short is read up to the cut.
 */
#ifndef TLSCENSUS_SOURCE_H
#define TLSCENSUS_SOURCE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "census.h"

enum source_result {
	SOURCE_OK = 0,
	SOURCE_UNREADABLE, /* missing, empty, not a capture, unsupported link type */
	SOURCE_TRUNCATED,  /* read up to a cut: what came before is recorded */
	SOURCE_STOPPED,    /* interrupted by a signal: what came before is recorded */
};

struct source_progress {
	int enabled;      /* redraw a status line on stderr */
	double last_draw; /* wall clock of the last redraw */
	double started;
	unsigned long long packets_before; /* packets of the files already read */
	volatile sig_atomic_t *stop;       /* set by a signal handler: stop after this frame */
	const char *filter;                /* BPF: only matching frames are read (NULL: all) */
	uint64_t max_frames;               /* stop after this many frames over all files (0: no) */
	uint64_t frames;                   /* frames read so far, over all files */
};

/* Whether a BPF filter compiles; why says what libpcap found wrong, naming the filter. */
int source_filter_ok(const char *filter, char *why, size_t whylen);

/* A regular file's identity: size, modification time, device, inode, and a content hash
 * (SHA-256 in hex of the size as 8 bytes little-endian, the first MiB and the last MiB: cheap
 * on a GB capture, and rotated captures differ in their first packets). 0, or -1 for standard
 * input, pipes and files that cannot be opened (the read reports those). */
struct source_identity {
	char hash[65];
	long long size, mtime, dev, ino;
};
int source_identity(const char *path, struct source_identity *id);

/* Reads one capture file into the census. On a problem, msg holds one line naming the file. */
enum source_result source_read_file(struct census *c, const char *path,
                                    struct source_progress *prog, char *msg, size_t msglen);

/* Whether path is a pcap/pcapng file read in place: such a file can be walked by several
 * workers at once, each taking its own flows (standard input and pipes cannot). */
int source_walkable(const char *path);

/* A capture file of a directory: where, how big, which file (device, inode), and the time of
 * its first frame (INT64_MAX - 1: no frame yet; INT64_MAX: empty). */
struct source_entry {
	char path[4096];
	uint64_t size, dev, ino;
	int64_t mtime;
	int64_t first_usec;
};

int source_is_dir(const char *path);

/* The pcap/pcapng files of a directory (not hidden, not others), in the time order of their
 * first frames, then by name. 0, or -1 with msg naming the directory. *out is malloc'd. */
int source_list_dir(const char *dir, struct source_entry **out, size_t *n, char *msg,
                    size_t msglen);

double source_now(void);

#endif
