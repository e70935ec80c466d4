/*
 * test_pcapfile.c: the in-place pcap reader (src/capture/pcapfile.c) over a file of 24 MiB
 * written here, whose frames straddle every 8 MiB mark where the reader unmaps what lies
 * behind it. Every frame must come back whole and unchanged, and the part of the file the
 * reader has given up must never hold the frame it just returned (a frame the caller reads
 * after its pages were dropped is faulted in again, and stays mapped: 0.3 kept 256 MiB of
 * bench-1G resident that way). The read-ahead must stay ahead of every frame returned (page
 * tables filled, lines prefetched) and within its bound of the frame, so the resident set
 * stays flat.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcapfile.h"
#include "tc_test.h"

#define FILE_BYTES (24u << 20)

static void put32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	fwrite(b, 1, 4, f);
}

/* Frame i: caplen from a small cycle (64..1514), bytes (i * 7 + k) & 0xff. */
static uint32_t frame_len(uint32_t i)
{
	return 64 + (i * 389) % 1451;
}

static uint8_t frame_byte(uint32_t i, uint32_t k)
{
	return (uint8_t)(i * 7 + k);
}

static uint32_t write_file(const char *path)
{
	FILE *f = fopen(path, "wb");
	uint8_t frame[1600];
	uint32_t n = 0;
	long size = 24;

	if (!f)
		return 0;
	put32(f, 0xa1b2c3d4);
	put32(f, 2 | 4u << 16); /* version 2.4 */
	put32(f, 0);
	put32(f, 0);
	put32(f, 65535);
	put32(f, 1); /* Ethernet */
	while (size < (long)FILE_BYTES) {
		uint32_t len = frame_len(n);
		for (uint32_t k = 0; k < len; k++)
			frame[k] = frame_byte(n, k);
		put32(f, 1700000000 + n / 1000);
		put32(f, n % 1000 * 1000);
		put32(f, len);
		put32(f, len);
		fwrite(frame, 1, len, f);
		size += 16 + len;
		n++;
	}
	if (fclose(f) != 0)
		return 0;
	return n;
}

/* Resident KiB of the mapping that holds p (/proc/self/smaps), -1 when not found. */
static long mapped_kib(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = (unsigned long)p >= lo && (unsigned long)p < hi;
			continue;
		}
		if (in && sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

int main(void)
{
	char path[] = "/tmp/tc-pcapfile-XXXXXX";
	int fd = mkstemp(path);
	struct pcapfile f;
	struct pcapfile_frame fr;
	char msg[256];
	uint32_t n, got = 0, straddling = 0, bad = 0, behind = 0, unready = 0, far = 0;
	long first_kib = -1;
	int rc;

	CHECK(fd >= 0);
	if (fd < 0)
		TEST_DONE("pcapfile");
	close(fd);
	n = write_file(path);
	CHECK(n > 0);
	CHECK_EQ(pcapfile_open(&f, path, msg, sizeof msg), PCAPFILE_OPENED);
	while ((rc = pcapfile_next(&f, &fr, msg, sizeof msg)) == 1) {
		size_t at = (size_t)(fr.data - f.base);
		uint32_t len = frame_len(got);

		if ((at >> 23) != ((at + fr.caplen - 1) >> 23))
			straddling++;
		if (at < f.released)
			behind++;
		/* read-ahead: past the whole frame, and never more than one populate step (8 MiB)
		 * and the release step (8 MiB) away from it */
		if (f.populated < at + fr.caplen || f.prefetched < at + fr.caplen)
			unready++;
		if (f.populated - f.released > (16u << 20) + (1u << 16))
			far++;
		if (got == 0)
			first_kib = mapped_kib(fr.data);
		if (fr.caplen != len) {
			bad++;
		} else {
			for (uint32_t k = 0; k < len; k++)
				if (fr.data[k] != frame_byte(got, k)) {
					bad++;
					break;
				}
		}
		got++;
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(got, n);
	CHECK_EQ(bad, 0);
	/* the file crosses two 8 MiB marks; each frame over one is the case at stake */
	CHECK(straddling >= 1);
	CHECK_EQ(behind, 0);
	CHECK_EQ(unready, 0);
	CHECK_EQ(far, 0);
	/* The first frame found the first 8 MiB mapped already, in one call (where the kernel has
	 * MADV_POPULATE_READ, 5.14 on; before it, pages fault in one by one). */
	int populate = madvise((void *)f.base, 4096, 22 /* MADV_POPULATE_READ */) == 0;
	if (populate)
		CHECK(first_kib >= (long)(8u << 10) - 4);
	else
		printf("pcapfile: this kernel cannot populate page tables ahead; not checked\n");
	CHECK(f.released >= (16u << 20)); /* the walk did give up what lay behind */
	printf("pcapfile: %u frames, %u over an 8 MiB mark, %zu bytes released, %ld KiB mapped "
	       "ahead of the first\n",
	       got, straddling, f.released, first_kib);
	pcapfile_close(&f);
	unlink(path);
	TEST_DONE("pcapfile");
}
