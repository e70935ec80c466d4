/*
 * fuzz_pipeline.c: libFuzzer entry for the whole path a capture file takes: the input is a
 * pcap or pcapng file, read by the source room (pcapfile.c in place) through decode, IP
 * reassembly, the flow table, stream reassembly, the dissectors and the fingerprints into a
 * store: an in-memory SQLite database behind a sink that writes each record at once (the
 * writer thread's job, without the thread). The flow table is small, so eviction runs too.
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true (scripts/fuzz.sh).
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "census.h"
#include "source.h"
#include "store.h"
#include "tlscensus/fingerprint.h"

#define REOPEN_EVERY 500 /* inputs per in-memory database, so memory stays flat */

static struct store *store;
static int64_t *rows; /* token -> row id, for touches */
static size_t rows_cap;
static int fd = -1;
static char path[64];
static unsigned inputs;

static void give_back(struct tc_handshake *hs)
{
	tc_client_hello_clear(hs->ch);
	tc_server_hello_clear(hs->sh);
	free(hs->ch);
	free(hs->sh);
	if (hs->prints) {
		tc_prints_free(hs->prints);
		free(hs->prints);
	}
	hs->ch = NULL;
	hs->sh = NULL;
	hs->prints = NULL;
}

static int sink_put(void *ctx, uint64_t token, const struct tc_record *r, struct tc_handshake *hs)
{
	(void)ctx;
	int64_t id = store_put(store, r);
	if (token >= rows_cap) {
		size_t cap = rows_cap ? rows_cap * 2 : 64;
		while (cap <= token)
			cap *= 2;
		int64_t *n = realloc(rows, cap * sizeof *n);
		if (n) {
			memset(n + rows_cap, 0, (cap - rows_cap) * sizeof *n);
			rows = n;
			rows_cap = cap;
		}
	}
	if (token < rows_cap)
		rows[token] = id;
	give_back(hs);
	return 0;
}

static int sink_touch(void *ctx, uint64_t token, const struct tc_record *r, int changed)
{
	(void)ctx;
	if (changed && token < rows_cap && rows[token] > 0)
		store_touch(store, rows[token], r);
	return 0;
}

static int sink_run_stats(void *ctx, const struct run_stats *st)
{
	(void)ctx;
	return store_run_update(store, st);
}

static int sink_prune(void *ctx, double before)
{
	(void)ctx;
	return store_prune(store, before, 100) < 0 ? -1 : 0;
}

static void sink_sync(void *ctx)
{
	(void)ctx;
	store_flush(store);
}

static uint64_t sink_dropped(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct tc_sink_ops ops = {
    .put = sink_put,
    .touch = sink_touch,
    .run_stats = sink_run_stats,
    .prune = sink_prune,
    .sync = sink_sync,
    .dropped = sink_dropped,
};

static int setup(void)
{
	char err[512];

	if (store && inputs % REOPEN_EVERY)
		return 0;
	store_close(store);
	store = store_open(":memory:", STORE_READ_WRITE, err, sizeof err);
	if (!store) {
		fprintf(stderr, "fuzz_pipeline: %s\n", err);
		abort();
	}
	store_run_begin(store, "fuzz", "read");
	if (fd < 0) {
		fd = memfd_create("fuzz.pcap", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct census_config cfg = CENSUS_DEFAULT_CONFIG;
	struct tc_sink sink = {&ops, NULL};
	struct source_progress prog = {0};
	char msg[1024];

	setup();
	inputs++;
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	cfg.max_flows = 8; /* eviction and reuse run too */
	cfg.idle_timeout_s = 30;
	struct census *c = census_new(&cfg, &sink, NULL);
	if (!c)
		return 0;
	source_read_file(c, path, &prog, msg, sizeof msg);
	census_flush(c);
	store_run_update(store, census_stats(c));
	census_free(c);
	if (rows)
		memset(rows, 0, rows_cap * sizeof *rows);
	store_flush(store);
	return 0;
}
