/*
 * source.h: where frames come from. A capture file (pcap or pcapng, via libpcap; "-" is
 * standard input) is read to its end and every frame goes to census_frame. Errors name the
 * file and say what to do; a file cut short is read up to the cut.
 */
#ifndef TLSCENSUS_SOURCE_H
#define TLSCENSUS_SOURCE_H

#include <signal.h>
#include <stddef.h>

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
};

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

double source_now(void);

#endif
