/*
 * fuzz_decode.c: libFuzzer entry for the decode room (src/decode.c) and IP reassembly
 * (src/defrag.c). The whole input is one frame, decoded under every link type tc_decode knows;
 * then the same input is read as a sequence of frames, {link index, time step, u16 length,
 * bytes}, driven through tc_decode and defrag_add as census_frame drives them. Every frame and
 * every decode result is checked to point inside the bytes it came from; the sanitizers catch
 * any read past them, and the byte bound of the fragment table is checked after each fragment.
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true && ninja -C build-fuzz tests/fuzz_decode
 */
#include <stdlib.h>
#include <string.h>

#include "defrag.h"
#include "tlscensus/packet.h"

#define LINKTYPE_RAW 101
/* Small, so one input can fill the table and push datagrams out by count and by bytes. */
#define FUZZ_DATAGRAMS 8
#define FUZZ_BYTES     (200u * 1024)
#define STEP_USEC      250000 /* per unit of a frame's time step: 30 s is 120 units */

static const int linktypes[] = {0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 276};
#define LINKTYPES (sizeof(linktypes) / sizeof(linktypes[0]))

/* Where the bytes read go, so the reads are not optimised away. */
static volatile uint8_t sink;

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static int inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	return !n || (p && p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

/* Reads every byte a decode result points at, so an address outside buf is a sanitizer
 * report, and checks each span lies in buf. */
static void use(enum tc_decode_status st, const struct tc_packet *pkt, const uint8_t *buf,
                size_t len)
{
	char text[46];

	check(tc_decode_status_name(st) != NULL);
	if (st == TC_DEC_OK) {
		check(inside(pkt->payload, pkt->payload_len, buf, len));
		check(inside(pkt->l3, pkt->l3_len, buf, len));
		check(pkt->proto == 6 || pkt->proto == 17);
		for (size_t i = 0; i < pkt->payload_len; i++)
			sink ^= pkt->payload[i];
		tc_addr_format(&pkt->src, text, sizeof(text));
		tc_addr_format(&pkt->dst, text, sizeof(text));
	} else if (st == TC_DEC_FRAGMENT) {
		const struct tc_frag *f = &pkt->frag;
		check(f->ip_version == 4 || f->ip_version == 6);
		check(inside(f->hdr, f->hdr_len, buf, len));
		check(inside(f->data, f->data_len, buf, len));
		check(f->nh_off < f->hdr_len);
		for (size_t i = 0; i < f->data_len; i++)
			sink ^= f->data[i];
	}
}

/* Every link type on one exact-size copy of the input. */
static void one_frame(const uint8_t *data, size_t size)
{
	uint8_t *frame = malloc(size ? size : 1);
	struct tc_packet pkt;

	if (size)
		memcpy(frame, data, size);
	for (size_t i = 0; i < LINKTYPES; i++) {
		check(tc_decode_linktype_supported(linktypes[i]));
		use(tc_decode(linktypes[i], frame, size, &pkt), &pkt, frame, size);
	}
	free(frame);
}

/* census_frame's loop: a fragment goes to the table; a completed datagram is decoded again as
 * raw IP, and may itself be a fragment of a tunnelled datagram (twice at most). */
static void frame_through_defrag(struct defrag *df, int linktype, const uint8_t *frame, size_t len,
                                 uint64_t ts)
{
	struct tc_packet pkt;
	enum tc_decode_status st = tc_decode(linktype, frame, len, &pkt);

	use(st, &pkt, frame, len);
	for (int i = 0; st == TC_DEC_FRAGMENT && i < 2; i++) {
		uint8_t *dg = NULL;
		size_t dglen = 0;
		int r = defrag_add(df, &pkt, ts, &dg, &dglen);

		check(r >= -1 && r <= 1);
		check(defrag_stats(df)->bytes <= FUZZ_BYTES);
		if (r != 1)
			return;
		/* An IPv4 total length, or an IPv6 header and payload length (defrag.h). */
		check(dg && dglen > 0 && dglen <= 40 + DEFRAG_MAX_DATA);
		st = tc_decode(LINKTYPE_RAW, dg, dglen, &pkt);
		use(st, &pkt, dg, dglen);
	}
}

static void frame_sequence(const uint8_t *data, size_t size)
{
	struct defrag *df = defrag_new(FUZZ_DATAGRAMS, FUZZ_BYTES, 0);
	uint64_t ts = 1700000000ull * 1000000;
	size_t off = 0;

	if (!df)
		return;
	while (size - off >= 4) {
		int linktype = linktypes[data[off] % LINKTYPES];
		size_t len = (size_t)data[off + 2] << 8 | data[off + 3];

		ts += (uint64_t)data[off + 1] * STEP_USEC;
		off += 4;
		if (len > size - off)
			len = size - off;
		/* Its own exact-size copy, freed right after: the table must have copied what it
		 * keeps, and a read past the frame is a sanitizer report. */
		uint8_t *frame = malloc(len ? len : 1);
		if (len)
			memcpy(frame, data + off, len);
		frame_through_defrag(df, linktype, frame, len, ts);
		free(frame);
		off += len;
	}
	defrag_free(df);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_frame(data, size);
	frame_sequence(data, size);
	return 0;
}
