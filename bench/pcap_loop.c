/*
 * pcap_loop.c: the baseline for bench/run.sh, the cost of reading a capture and nothing else.
 * It opens each file offline, takes every packet with pcap_next_ex and reads one byte of it;
 * it must not decode anything, or the baseline stops being a floor.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <pcap/pcap.h>

struct loop_totals {
	uint64_t packets;
	uint64_t bytes; /* captured bytes, the ones the reader had to copy */
	uint64_t wire;  /* original lengths, for comparison with the capture's own claim */
	uint64_t touch; /* sum of one byte per packet, printed so the reads cannot be elided */
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns 0 when the whole file was read, -1 (after saying why) otherwise. */
static int loop_file(const char *path, struct loop_totals *t)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	pcap_t *p;
	int rc = -1;
	int r;

	p = pcap_open_offline(path, errbuf);
	if (!p) {
		fprintf(stderr, "pcap_loop: cannot open capture %s: %s\n", path, errbuf);
		return -1;
	}
	while ((r = pcap_next_ex(p, &hdr, &data)) == 1) {
		t->packets++;
		t->bytes += hdr->caplen;
		t->wire += hdr->len;
		/* The middle byte, so the packet's memory is really touched, not only its header.
		 */
		if (hdr->caplen)
			t->touch += data[hdr->caplen / 2];
	}
	if (r != PCAP_ERROR_BREAK) {
		fprintf(stderr, "pcap_loop: reading capture %s: %s\n", path, pcap_geterr(p));
		goto out;
	}
	rc = 0;
out:
	pcap_close(p);
	return rc;
}

int main(int argc, char **argv)
{
	struct loop_totals t = {0};
	double start, secs;

	if (argc < 2) {
		fprintf(stderr, "usage: pcap_loop CAPTURE...\n"
		                "Reads every packet of the captures and prints how fast.\n");
		return 2;
	}
	start = now_seconds();
	for (int i = 1; i < argc; i++)
		if (loop_file(argv[i], &t) < 0)
			return 3;
	secs = now_seconds() - start;

	/* One "name value" pair per line: bench/run.sh reads them with awk. */
	printf("packets %" PRIu64 "\n", t.packets);
	printf("bytes %" PRIu64 "\n", t.bytes);
	printf("wire_bytes %" PRIu64 "\n", t.wire);
	printf("seconds %.6f\n", secs);
	printf("packets_per_s %.0f\n", secs > 0 ? (double)t.packets / secs : 0.0);
	printf("mb_per_s %.1f\n", secs > 0 ? (double)t.bytes / secs / 1e6 : 0.0);
	printf("touch %" PRIu64 "\n", t.touch);
	return 0;
}
