/*
 * test_pcapfile.c: the in-place pcap reader (src/capture/pcapfile.c) over files written here,
 * whose frames straddle every 8 MiB mark where the reader unmaps what lies behind it. Every
 * frame must come back whole and unchanged, and the part of the file the reader has given up
 * must never hold the frame it just returned (a frame the caller reads after its pages were
 * dropped is faulted in again, and stays mapped: 0.3 kept 256 MiB of bench-1G resident that
 * way). The read-ahead must stay ahead of every frame returned (page tables filled, lines
 * prefetched) and within its bound of the frame, so the resident set stays flat: done by the
 * walk itself over 24 MiB, and by the pager thread over 72 MiB, where the bound is smaller
 * than the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pcapfile.h"
#include "tc_test.h"

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

static uint32_t write_file(const char *path, long bytes)
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
	while (size < bytes) {
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

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits up to two seconds for the pager to fill the page tables through upto: 0 when it did. */
static int wait_populated(struct pcapfile *f, size_t upto)
{
	double until = now_s() + 2.0;

	while (f->populated < upto && now_s() < until)
		nanosleep(&(struct timespec){0, 100000}, NULL);
	return f->populated < upto;
}

/* The whole file, frame by frame, with the pager or without: the checks are the same, but the
 * pager fills the page tables on its own time, so a frame it has not reached yet is waited
 * for (two seconds at most: a pager that does nothing fails there). */
static void walk(const char *path, uint32_t n, int pager)
{
	const char *how = pager ? "pcapfile (pager)" : "pcapfile";
	struct pcapfile f;
	struct pcapfile_frame fr;
	char msg[256];
	uint32_t got = 0, straddling = 0, bad = 0, behind = 0, unready = 0, far = 0;
	size_t bound = (pager ? PCAPFILE_LEAD : 0) + PCAPFILE_POPULATE + PCAPFILE_RELEASE;
	long first_kib = -1;
	int rc;

	CHECK_EQ(pcapfile_open(&f, path, msg, sizeof msg), PCAPFILE_OPENED);
	if (pager) {
		CHECK_EQ(pcapfile_pager(&f), 0);
		CHECK(f.pager_on);
		CHECK(f.size > bound + (8u << 20)); /* else the bound below says nothing */
	}
	while ((rc = pcapfile_next(&f, &fr, msg, sizeof msg)) == 1) {
		size_t at = (size_t)(fr.data - f.base);
		uint32_t len = frame_len(got);

		if ((at >> 23) != ((at + fr.caplen - 1) >> 23))
			straddling++;
		if (at < f.released)
			behind++;
		/* read-ahead: past the whole frame, and never more than the bounds away from it */
		if (pager && unready < 3 && f.populated < at + fr.caplen)
			unready += wait_populated(&f, at + fr.caplen);
		else if (!pager && f.populated < at + fr.caplen)
			unready++;
		if (f.prefetched < at + fr.caplen)
			unready++;
		size_t populated = f.populated, released = f.released; /* in this order */
		if (populated - released > bound)
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
	/* the file crosses 8 MiB marks; each frame over one is the case at stake */
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
		printf("%s: this kernel cannot populate page tables ahead; not checked\n", how);
	/* the walk gave up what lay behind: all but the last step (the pager in its own time) */
	size_t last = (f.size - 1) & ~(size_t)(PCAPFILE_RELEASE - 1);
	for (double until = now_s() + 2.0; pager && f.released < last && now_s() < until;)
		nanosleep(&(struct timespec){0, 100000}, NULL);
	CHECK(f.released >= last - (pager ? 0 : PCAPFILE_RELEASE));
	CHECK(f.released >= (16u << 20));
	printf("%s: %u frames, %u over an 8 MiB mark, %zu of %zu bytes released, %ld KiB mapped "
	       "ahead of the first\n",
	       how, got, straddling, (size_t)f.released, f.size, first_kib);
	pcapfile_close(&f);
	CHECK(!f.pager_on); /* the thread was stopped and joined */
}

int main(void)
{
	char path[] = "/tmp/tc-pcapfile-XXXXXX";
	int fd = mkstemp(path);
	uint32_t n;

	CHECK(fd >= 0);
	if (fd < 0)
		TEST_DONE("pcapfile");
	close(fd);
	n = write_file(path, 24l << 20);
	CHECK(n > 0);
	walk(path, n, 0);
	n = write_file(path, 72l << 20);
	CHECK(n > 0);
	walk(path, n, 1);
	unlink(path);
	TEST_DONE("pcapfile");
}
