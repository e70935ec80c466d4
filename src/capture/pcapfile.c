/*
 * pcapfile.c: pcap and pcapng files walked in place (see pcapfile.h). Block and record layouts:
 * the pcap and pcapng drafts of the IETF OPSAWG (draft-ietf-opsawg-pcap, -pcapng).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pcapfile.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
#define PCAPNG_SHB      0x0a0d0d0au
#define PCAPNG_BOM      0x1a2b3c4du
#define PCAPNG_IDB      1u
#define PCAPNG_OPB      2u /* obsolete Packet Block */
#define PCAPNG_SPB      3u
#define PCAPNG_EPB      6u
/* A block longer than this is damage, not data (libpcap's bound is the same 16 MiB). */
#define PCAPNG_MAX_BLOCK (16u << 20)

static uint32_t swap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

static uint32_t rd32(const struct pcapfile *f, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return f->swapped ? swap32(v) : v;
}

static uint16_t rd16(const struct pcapfile *f, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return f->swapped ? __builtin_bswap16(v) : v;
}

static uint32_t raw32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Later than a day from now cannot be a capture's time: it is a timestamp read wrongly (a
 * negative tv_sec, 0xffffffff, is year 2106 read as unsigned and 1969 as libpcap reads it). */
static int64_t latest_plausible_s(void)
{
	return (int64_t)time(NULL) + 86400;
}

/* seconds + units of 1/units second -> microseconds; a bad time takes the frame before's. */
static uint64_t frame_time(struct pcapfile *f, int64_t sec, uint64_t frac, uint64_t units)
{
	int64_t usec;

	if (sec < 0 || sec > f->latest_s) {
		f->bad_time++;
		return (uint64_t)f->last_usec;
	}
	/* the two units of pcap files without a division call per frame */
	if (units == 1000000u)
		usec = sec * 1000000 + (int64_t)frac;
	else if (units == 1000000000u)
		usec = sec * 1000000 + (int64_t)(frac / 1000u);
	else
		usec = sec * 1000000 + (int64_t)((unsigned __int128)frac * 1000000u / units);
	f->last_usec = usec;
	return (uint64_t)usec;
}

__attribute__((format(printf, 3, 4))) static void fail(char *msg, size_t msglen, const char *fmt,
                                                       ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

#define U(x) ((unsigned long long)(x))

/* ---------------------------------------------------------------- pcap */

static int pcap_header(struct pcapfile *f, char *msg, size_t msglen)
{
	uint32_t magic = raw32(f->base);

	f->swapped = magic == swap32(PCAP_MAGIC_USEC) || magic == swap32(PCAP_MAGIC_NSEC);
	magic = f->swapped ? swap32(magic) : magic;
	if (f->size < 24) {
		snprintf(msg, msglen, "capture file header is cut short (%zu of 24 bytes)",
		         f->size);
		return -1;
	}
	f->units = magic == PCAP_MAGIC_NSEC ? 1000000000u : 1000000u;
	/* The upper bits of the link type field may carry FCS information (pcap draft 4). */
	f->linktype = rd32(f, f->base + 20) & 0x0fffffffu;
	f->pos = 24;
	return 0;
}

static int pcap_next_frame(struct pcapfile *f, struct pcapfile_frame *fr, char *msg, size_t msglen)
{
	const uint8_t *h = f->base + f->pos;
	uint32_t caplen;

	if (f->pos == f->size)
		return 0;
	if (f->size - f->pos < 16) {
		fail(msg, msglen, "a record header is cut after %llu bytes, after %llu frames",
		     U(f->size - f->pos), U(f->frames));
		return -1;
	}
	caplen = rd32(f, h + 8);
	if (caplen > PCAPFILE_MAX_FRAME) {
		fail(msg, msglen,
		     "a record claims %llu captured bytes, more than any capture keeps, after %llu "
		     "frames: the file is damaged there",
		     U(caplen), U(f->frames));
		return -1;
	}
	if (f->size - f->pos - 16 < caplen) {
		fail(msg, msglen, "a frame of %llu bytes is cut short, after %llu frames",
		     U(caplen), U(f->frames));
		return -1;
	}
	/* tv_sec is 32 bits; libpcap reads it signed, so a value with the top bit set is a time
	 * before 1970 to every tool that uses it: treated as bad here. */
	uint32_t frac = rd32(f, h + 4);
	frac = f->units == 1000000u ? frac % 1000000u : frac % 1000000000u; /* 10^6 or 10^9 */
	fr->usec = frame_time(f, (int32_t)rd32(f, h), frac, f->units);
	fr->data = h + 16;
	fr->caplen = caplen;
	fr->linktype = f->linktype;
	f->pos += 16 + (size_t)caplen;
	return 1;
}

/* ---------------------------------------------------------------- pcapng */

/* if_tsresol: 10^-v, or 2^-v with the top bit set; 0 when it cannot be represented. */
static uint64_t tsresol_units(uint8_t v)
{
	uint64_t u = 1;
	unsigned n = v & 0x7f;

	if (v & 0x80)
		return n < 64 ? (uint64_t)1 << n : 0;
	if (n > 19)
		return 0;
	while (n--)
		u *= 10;
	return u;
}

static void idb_options(struct pcapfile *f, struct pcapfile_iface *ifc, const uint8_t *p, size_t n)
{
	while (n >= 4) {
		uint16_t code = rd16(f, p), len = rd16(f, p + 2);
		size_t padded = ((size_t)len + 3) & ~(size_t)3;

		if (code == 0 || padded > n - 4)
			return;
		if (code == 9 && len == 1 && tsresol_units(p[4]))
			ifc->units = tsresol_units(p[4]);
		else if (code == 14 && len == 8) {
			uint64_t v;

			memcpy(&v, p + 4, 8);
			ifc->offset_s = (int64_t)(f->swapped ? __builtin_bswap64(v) : v);
		}
		p += 4 + padded;
		n -= 4 + padded;
	}
}

/* A Section Header Block at f->pos: byte order from its magic; interfaces start again. */
static int shb(struct pcapfile *f, char *msg, size_t msglen)
{
	const uint8_t *b = f->base + f->pos;
	uint32_t bom;

	if (f->size - f->pos < 28) {
		fail(msg, msglen,
		     "a pcapng section header is cut short (%llu bytes), after %llu frames",
		     U(f->size - f->pos), U(f->frames));
		return -1;
	}
	bom = raw32(b + 8);
	if (bom != PCAPNG_BOM && bom != swap32(PCAPNG_BOM)) {
		fail(msg, msglen,
		     "a pcapng section header has no byte-order magic (0x%08llx), after "
		     "%llu frames: the file is damaged there",
		     U(bom), U(f->frames));
		return -1;
	}
	f->swapped = bom != PCAPNG_BOM;
	f->nifaces = 0;
	return 0;
}

static int pcapng_next_frame(struct pcapfile *f, struct pcapfile_frame *fr, char *msg,
                             size_t msglen)
{
	for (;;) {
		const uint8_t *b = f->base + f->pos, *body;
		uint32_t type, len, blen;
		size_t left = f->size - f->pos;

		if (left == 0)
			return 0;
		if (left < 12) {
			fail(msg, msglen,
			     "a pcapng block is cut after %llu bytes, after %llu frames", U(left),
			     U(f->frames));
			return -1;
		}
		type = raw32(b) == PCAPNG_SHB ? PCAPNG_SHB : rd32(f, b);
		if (type == PCAPNG_SHB && shb(f, msg, msglen))
			return -1;
		len = rd32(f, b + 4);
		if (len < 12 || len % 4 || len > PCAPNG_MAX_BLOCK) {
			fail(msg, msglen,
			     "a pcapng block claims %llu bytes, after %llu frames: the file "
			     "is damaged there",
			     U(len), U(f->frames));
			return -1;
		}
		if (len > left) {
			fail(msg, msglen,
			     "a pcapng block of %llu bytes is cut short, after %llu frames", U(len),
			     U(f->frames));
			return -1;
		}
		f->pos += len;
		body = b + 8;
		blen = len - 12;
		switch (type) {
		case PCAPNG_IDB: {
			struct pcapfile_iface *ifc;

			if (blen < 8 || f->nifaces == PCAPFILE_MAX_IFACES) {
				fail(msg, msglen,
				     "a pcapng interface block is damaged or one too many (%llu "
				     "interfaces), after %llu frames",
				     U(f->nifaces), U(f->frames));
				return -1;
			}
			ifc = &f->ifaces[f->nifaces++];
			ifc->linktype = rd16(f, body);
			ifc->units = 1000000u;
			ifc->offset_s = 0;
			idb_options(f, ifc, body + 8, blen - 8);
			continue;
		}
		case PCAPNG_EPB:
		case PCAPNG_OPB: {
			uint32_t iface = type == PCAPNG_EPB ? rd32(f, body) : rd16(f, body);
			uint32_t caplen = rd32(f, body + 12);
			uint64_t t = (uint64_t)rd32(f, body + 4) << 32 | rd32(f, body + 8);
			const struct pcapfile_iface *ifc;

			if (blen < 20 || caplen > blen - 20 || caplen > PCAPFILE_MAX_FRAME ||
			    iface >= f->nifaces) {
				fail(msg, msglen,
				     "a pcapng packet block is damaged (captured length %llu, "
				     "or an interface not described), after %llu frames",
				     U(caplen), U(f->frames));
				return -1;
			}
			ifc = &f->ifaces[iface];
			fr->usec = frame_time(f, (int64_t)(t / ifc->units) + ifc->offset_s,
			                      t % ifc->units, ifc->units);
			fr->data = body + 20;
			fr->caplen = caplen;
			fr->linktype = ifc->linktype;
			return 1;
		}
		case PCAPNG_SPB: {
			uint32_t orig;

			if (blen < 4 || f->nifaces == 0) {
				fail(msg, msglen,
				     "a pcapng simple packet block is damaged (%llu bytes), "
				     "after %llu frames",
				     U(blen), U(f->frames));
				return -1;
			}
			orig = rd32(f, body);
			fr->caplen = orig < blen - 4 ? orig : blen - 4;
			if (fr->caplen > PCAPFILE_MAX_FRAME)
				fr->caplen = PCAPFILE_MAX_FRAME;
			fr->data = body + 4;
			fr->linktype = f->ifaces[0].linktype;
			fr->usec = (uint64_t)f->last_usec; /* the block has no time */
			return 1;
		}
		default:
			continue;
		}
	}
}

/* ---------------------------------------------------------------- open, next */

enum pcapfile_open pcapfile_open(struct pcapfile *f, const char *path, char *msg, size_t msglen)
{
	struct stat sb;
	uint32_t magic;
	void *map;
	int fd;

	memset(f, 0, sizeof *f);
	f->latest_s = latest_plausible_s(); /* once, not per frame */
	msg[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return PCAPFILE_NOT_MINE;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 4 ||
	    (uint64_t)sb.st_size > SIZE_MAX) {
		close(fd);
		return PCAPFILE_NOT_MINE;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return PCAPFILE_NOT_MINE;
	f->base = map;
	f->size = (size_t)sb.st_size;
	magic = raw32(f->base);
	if (magic == PCAP_MAGIC_USEC || magic == PCAP_MAGIC_NSEC ||
	    magic == swap32(PCAP_MAGIC_USEC) || magic == swap32(PCAP_MAGIC_NSEC)) {
		if (pcap_header(f, msg, msglen))
			goto bad;
	} else if (magic == PCAPNG_SHB) {
		struct pcapfile_frame fr;
		size_t start;

		f->ng = 1;
		if (shb(f, msg, msglen))
			goto bad;
		/* The first interface's link type stands for the file (it is what libpcap reports);
		 * read ahead to it, then start again from the top. */
		while (f->nifaces == 0) {
			start = f->pos;
			int rc = pcapng_next_frame(f, &fr, msg, msglen);
			if (rc <= 0 || f->pos == start)
				break;
		}
		if (f->nifaces == 0) {
			if (!msg[0])
				snprintf(msg, msglen,
				         "the pcapng file describes no interface, so it holds "
				         "no frame that can be read");
			goto bad;
		}
		f->linktype = f->ifaces[0].linktype;
		f->pos = 0;
		f->nifaces = 0;
		f->bad_time = 0;
	} else {
		pcapfile_close(f);
		return PCAPFILE_NOT_MINE;
	}
	madvise(map, f->size, MADV_SEQUENTIAL);
	return PCAPFILE_OPENED;
bad:
	pcapfile_close(f);
	return PCAPFILE_BAD;
}

/*
 * The walk reads every frame once, front to back, and each first touch of a frame (its record
 * header, then its headers and payload) was a cache miss and often a page fault: perf put the
 * header load alone at 11 % of a bench-1G read's packet thread. So the page tables are filled
 * a chunk ahead in one call (MADV_POPULATE_READ, Linux 5.14; older kernels refuse it and the
 * pages fault in as before), and the cache lines PCAPFILE_AHEAD bytes ahead are prefetched,
 * one instruction per line, so the lines are on their way while the frame before is handled.
 *
 * Frames are copied by whoever keeps one, so what lies behind is unmapped as the walk goes:
 * the file's pages stay in the page cache, not in this process's resident set. Behind means
 * before the frame returned last, which the caller is reading: one that straddles the boundary
 * would be faulted in again, and with the page cache's large folios a fault maps 2 MiB that
 * stay mapped behind the mark (0.3 had 256 MiB of a 1 GB capture resident that way).
 *
 * Filling and dropping page tables is the kernel's work, and it was 8 % of the packet thread's
 * time on bench-1G (the walk of 262,144 pages twice); the thread that reads the frames is the
 * one that sets the pace of a read, and the database thread's core had time to spare. So
 * pcapfile_pager gives that work to a thread of its own, which keeps the page tables
 * PCAPFILE_LEAD ahead of the frame returned last and drops them behind it; the page tables are
 * the process's, so what it fills the reader finds filled. Where it falls behind, the reader's
 * touches fault pages in as they would without it: slower, never wrong.
 */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define PCAPFILE_AHEAD  (16u << 10)
/* The pager's pause. bench-1G is walked at about 2 MB a millisecond: 10 MB a pause, within the
 * lead. Where both cores are busy (bench-flows), each wake-up takes the core from the reader or
 * the writer: at 500 us (4,000 a second) the read took 7 % longer than at 5 ms. */
#define PCAPFILE_NAP_US 5000

/* Page tables filled through upto: one populate step at a time. */
static void populate(struct pcapfile *f, size_t upto)
{
	size_t done = atomic_load_explicit(&f->populated, memory_order_relaxed);

	if (upto > f->size)
		upto = f->size;
	while (done < upto) {
		size_t n = f->size - done < PCAPFILE_POPULATE ? f->size - done : PCAPFILE_POPULATE;

		madvise((void *)(f->base + done), n, MADV_POPULATE_READ);
		done += n;
		atomic_store_explicit(&f->populated, done, memory_order_release);
	}
}

/* What lies before the frame at offset `behind` dropped, in whole release steps. */
static void release(struct pcapfile *f, size_t behind)
{
	size_t done = atomic_load_explicit(&f->released, memory_order_relaxed);

	if (behind > done && behind - done >= PCAPFILE_RELEASE) {
		size_t upto = behind & ~(size_t)(PCAPFILE_RELEASE - 1);

		madvise((void *)(f->base + done), upto - done, MADV_DONTNEED);
		atomic_store_explicit(&f->released, upto, memory_order_release);
	}
}

static void *pager_main(void *arg)
{
	struct pcapfile *f = arg;
	const struct timespec nap = {0, PCAPFILE_NAP_US * 1000L};
	sigset_t all;

	/* signals (an interrupted read) are the reading thread's to take */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_setname_np(pthread_self(), "tlscensus-page");
	while (!atomic_load_explicit(&f->pager_stop, memory_order_acquire)) {
		size_t at = atomic_load_explicit(&f->at, memory_order_acquire);

		/* dropped first, then filled: the mapped span never passes the two bounds */
		release(f, at);
		populate(f, at + PCAPFILE_LEAD);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

int pcapfile_pager(struct pcapfile *f)
{
	/* a file of two populate steps is mapped before a thread would have started */
	if (f->pager_on || f->size <= 2 * (size_t)PCAPFILE_POPULATE)
		return 0;
	populate(f, PCAPFILE_POPULATE); /* the first frames are read before the thread runs */
	atomic_store(&f->pager_stop, 0);
	if (pthread_create(&f->pager, NULL, pager_main, f) != 0)
		return -1;
	f->pager_on = 1;
	return 0;
}

int pcapfile_next(struct pcapfile *f, struct pcapfile_frame *fr, char *msg, size_t msglen)
{
	int rc =
	    f->ng ? pcapng_next_frame(f, fr, msg, msglen) : pcap_next_frame(f, fr, msg, msglen);
	size_t ahead = f->size - f->pos > PCAPFILE_AHEAD ? f->pos + PCAPFILE_AHEAD : f->size;
	size_t behind = rc == 1 ? (size_t)(fr->data - f->base) : f->pos;

	if (rc == 1)
		f->frames++;
	if (f->pager_on) {
		atomic_store_explicit(&f->at, behind, memory_order_release);
	} else {
		size_t populated = atomic_load_explicit(&f->populated, memory_order_relaxed);

		if (populated < ahead)
			populate(f, populated + PCAPFILE_POPULATE);
		release(f, behind);
	}
	for (; f->prefetched < ahead; f->prefetched += 64)
		__builtin_prefetch(f->base + f->prefetched);
	return rc;
}

double pcapfile_done(const struct pcapfile *f)
{
	return f->size ? (double)f->pos / (double)f->size : 1.0;
}

void pcapfile_close(struct pcapfile *f)
{
	if (f->pager_on) {
		atomic_store_explicit(&f->pager_stop, 1, memory_order_release);
		pthread_join(f->pager, NULL);
		f->pager_on = 0;
	}
	if (f->base)
		munmap((void *)f->base, f->size);
	f->base = NULL;
}
