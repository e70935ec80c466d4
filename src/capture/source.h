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

/* Reads one capture file into the census. On a problem, msg holds one line naming the file. */
enum source_result source_read_file(struct census *c, const char *path,
                                    struct source_progress *prog, char *msg, size_t msglen);

/* Whether path is a pcap/pcapng file read in place: such a file can be walked by several
 * workers at once, each taking its own flows (standard input and pipes cannot). */
int source_walkable(const char *path);

double source_now(void);

#endif
