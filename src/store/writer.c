/*
 * writer.c: a ring of queued work between the packet thread and the database thread.
 * The packet thread only copies a small struct and moves two pointers; all SQL runs here.
 * Row ids of written connections are remembered by token until the connection is released,
 * so a later touch can find its row; the map holds at most one entry per live flow.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "writer.h"
#include "tlscensus/fingerprint.h"

#define WRITER_BATCH 64 /* items taken out of the queue per lock */
/* Records wake the writer only in bunches: a wake-up per record cost the packet thread a
 * futex call per connection (perf: ~8 % of a bench-1G read). The writer also looks on its own
 * every WRITER_NAP_MS, so a quiet live capture still commits its records within a second. */
#define WRITER_WAKE 256
/* Reading files, records and touches are handed over 32 at a time under one lock (the packet
 * thread's own staging area): a lock per record made the two threads contend on every
 * connection.
 * A live capture (WRITER_DROP) hands each over at once, so a drop is counted when it happens. */
#define WRITER_STAGE  32
#define WRITER_NAP_MS 20
/* Reading files, the packet thread never wakes the writer for records: the writer looks every
 * 250 us on its own. A wake-up was a futex call on the thread that sets the pace, 24 us each
 * on these VMs (an IPI to the other core: 3-4 % of a bench-1G read's packet thread); a nap
 * costs the database thread, which has time to spare or is busy anyway. Longer naps (2 ms)
 * let the queue fill and the packet thread wait for room (bench-flows 10 % slower). */
#define WRITER_NAP_BLOCK_US 250
/* Records are held back (WRITER_PENDING of them at most) for the touch that usually follows
 * soon, at the connection's end: the row is then inserted once with its final counters
 * instead of inserted and updated (callgrind: the UPDATE was a third of the database thread's
 * instructions per connection). They are written before every commit and before any other
 * kind of item, so a record is in the database as soon as before, and row ids keep the order
 * records came in. */

enum item_kind {
	ITEM_PUT,
	ITEM_TOUCH,
	ITEM_FORGET,
	ITEM_STATS,
	ITEM_PRUNE,
	ITEM_SYNC,
	ITEM_INPUT, /* a file starts (token 0) or ends (token 1); input is the writer's to free */
};

/* Copied into the ring and, for a record, on to pending: what only one kind uses shares the
 * space (a third fewer bytes to copy per record). */
struct item {
	uint8_t kind;
	uint8_t port; /* the producer that queued it (struct writer_port) */
	uint64_t token;
	struct tc_record rec; /* ITEM_PUT, ITEM_TOUCH, ITEM_FORGET */
	union {
		struct { /* ITEM_PUT */
			char label[64];
			/* Owns ch and sh. Only its first TC_HS_CARRIED bytes are copied: the
			 * parse state after them is the flow's, and is never read here. */
			struct tc_handshake hs;
		};
		struct run_stats stats;    /* ITEM_STATS */
		double before;             /* ITEM_PRUNE */
		struct store_input *input; /* ITEM_INPUT */
	};
};

/* The bytes of an item that mean something: a touch (one per connection, as many as records)
 * is the part of its record the flow's end changes (TC_RECORD_TOUCHED: 58 bytes of the item,
 * where its whole record was 136, and before that the hellos' and label's room too);
 * a record is its record, its label and what its handshake carries, not the handshake's parse
 * state (two fifths of a record's bytes, copied three times on its way). */
static size_t item_bytes(const struct item *it)
{
	if (it->kind == ITEM_TOUCH || it->kind == ITEM_FORGET)
		return offsetof(struct item, rec) + TC_RECORD_TOUCHED;
	if (it->kind == ITEM_PUT)
		return offsetof(struct item, hs) + TC_HS_CARRIED;
	return sizeof *it;
}

static void item_copy(struct item *to, const struct item *from)
{
	memcpy(to, from, item_bytes(from));
}

/* token -> row id, open addressing with tombstones; tokens start at 1. */
struct rowmap {
	uint64_t *keys; /* 0 empty, UINT64_MAX deleted */
	int64_t *rows;
	size_t cap, used, live;
};

struct writer {
	struct store *store;
	enum writer_mode mode;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, synced;
	struct item *ring;
	size_t head, count;    /* items at ring[head .. head+count) mod WRITER_QUEUE */
	size_t cap;            /* items queued at most: WRITER_QUEUE, or WRITER_QUEUE_BLOCK */
	uint64_t queued, done; /* sequence numbers, for writer_sync */
	uint64_t dropped, errors;
	/* Write failures (disk full, I/O error): the store rolls the transaction back. With
	 * stop_flag set (reading files), the first one stops every later write and raises the
	 * flag, so the reader stops; without (a capture), the writer goes on and retries. */
	volatile sig_atomic_t *stop_flag;
	int failed;         /* stop_flag mode: a write failed, nothing more is written */
	unsigned failures;  /* store rollbacks seen */
	uint64_t skipped;   /* records not written after the failure (stop_flag mode) */
	uint64_t committed; /* copies of the store's counters, for the packet thread */
	uint64_t lost;
	int stopping;
	int urgent;   /* a control item is queued: do not nap */
	int sleeping; /* the writer waits on not_empty (under the lock) */
	struct writer_port *ports[WRITER_MAX_PORTS];
	unsigned nports;
	struct run_stats *port_stats; /* the latest counters of each port, summed into the run */
	/* token -> row id; a record still pending maps to -(its index in pending + 1) */
	struct rowmap map;
	struct item *pending; /* records taken, not yet written (WRITER_PENDING) */
	struct store_ahead *ahead; /* what store_put_ahead found for each of them */
	uint64_t *label_key;       /* and on_label_ahead (0: not called) */
	size_t npending;
	writer_record_fn on_record; /* set under lock before the first record */
	void *on_record_ctx;
	writer_label_fn on_label; /* the same */
	writer_label_ahead_fn on_label_ahead;
	void *on_label_ctx;
};

/*
 * One producer (a packet thread) of a writer. Its staging area and its trash are its own:
 * memory a packet thread allocated goes back to that thread to be freed, because glibc's arena
 * lock, taken by a free from another thread, cost both threads futex waits on every
 * connection (perf: ~8 % of a bench-1G read). The trash is guarded by the writer's lock.
 */
struct writer_port {
	struct writer *w;
	unsigned id;
	void **trash; /* under the lock: for the port's thread to free */
	size_t trash_n, trash_cap;
	void **out; /* the writer thread's own: trash gathered, not yet handed over */
	size_t out_n, out_cap;
	struct item *stage; /* records not yet in the queue */
	size_t staged;
	struct tc_sink sink; /* this port as its census sees it */
};

#define TOMBSTONE UINT64_MAX

static int map_grow(struct rowmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct rowmap n = {tc_zalloc(cap, sizeof(uint64_t)), tc_zalloc(cap, sizeof(int64_t)), cap,
	                   0, 0};

	if (!n.keys || !n.rows) {
		free(n.keys);
		free(n.rows);
		return -1;
	}
	/* Live entries shrink the table's load: rehash only them, dropping tombstones. */
	if (m->live * 4 < m->cap)
		n.cap = cap = m->cap;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == 0 || m->keys[i] == TOMBSTONE)
			continue;
		size_t j = tc_slot(m->keys[i], cap);
		while (n.keys[j])
			j = (j + 1) & (cap - 1);
		n.keys[j] = m->keys[i];
		n.rows[j] = m->rows[i];
		n.used++;
		n.live++;
	}
	free(m->keys);
	free(m->rows);
	*m = n;
	return 0;
}

static void map_put(struct rowmap *m, uint64_t key, int64_t row)
{
	if ((m->used + 1) * 2 > m->cap && map_grow(m))
		return; /* out of memory: the touch will miss, the row itself is written */
	size_t i = tc_slot(key, m->cap);
	while (m->keys[i] && m->keys[i] != TOMBSTONE)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->used++;
	m->keys[i] = key;
	m->rows[i] = row;
	m->live++;
}

/* The slot of key, or NULL. */
static int64_t *map_find(struct rowmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = tc_slot(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return &m->rows[i];
	return NULL;
}

/* Removes key and returns its row, or 0. */
static int64_t map_take(struct rowmap *m, uint64_t key)
{
	if (!m->cap)
		return 0;
	for (size_t i = tc_slot(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->keys[i] = TOMBSTONE;
			m->live--;
			return m->rows[i];
		}
	}
	return 0;
}

/* The trash holds hellos marked in their address's low bits (malloc aligns to 16): they go
 * back to the freeing thread's pool of hellos (hello.h) with their lists; the rest is freed. */
#define TRASH_CH 1u
#define TRASH_SH 2u
#define TRASH_TAG 3u
_Static_assert(_Alignof(max_align_t) > TRASH_TAG, "malloc leaves the tag bits clear");

#define FREE_AHEAD 4

static void free_all(void **p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)p[i];
		void *q = (void *)(a & ~(uintptr_t)TRASH_TAG);

		/* Each is out of this core's cache (the writer read it last): the lines of those
		 * a few places on are asked for while this one is freed. */
		if (i + FREE_AHEAD < n)
			__builtin_prefetch((void *)((uintptr_t)p[i + FREE_AHEAD] & ~(uintptr_t)TRASH_TAG),
			                   1);

		if ((a & TRASH_TAG) == TRASH_CH)
			tc_client_hello_free(q);
		else if ((a & TRASH_TAG) == TRASH_SH)
			tc_server_hello_free(q);
		else
			free(q);
	}
}

/*
 * The memory of written records joins their ports' trash in two steps: gathered by the
 * writer thread without the lock (reading each record's pointers, lines the packet thread
 * wrote), then handed over under it, a copy of each port's list. Gathering under the lock
 * held the packet thread waiting on it: a quarter of its sleeps on bench-flows.
 */
static void trash_items(struct writer *w, struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		void *p[5];
		size_t k = 0;

		if (it->kind != ITEM_PUT || (!it->hs.ch && !it->hs.sh && !it->hs.prints))
			continue;
		struct writer_port *port = w->ports[it->port];
		if (it->hs.ch) /* with its lists */
			p[k++] = (void *)((uintptr_t)it->hs.ch | TRASH_CH);
		if (it->hs.sh)
			p[k++] = (void *)((uintptr_t)it->hs.sh | TRASH_SH);
		if (it->hs.prints) {
			p[k++] = it->hs.prints->ja3_str;
			p[k++] = it->hs.prints->ja3s_str;
			p[k++] = it->hs.prints;
		}
		it->hs.ch = NULL;
		it->hs.sh = NULL;
		it->hs.prints = NULL;
		if (port->out_n + k > port->out_cap) {
			size_t cap = port->out_cap ? port->out_cap * 2 : 1024;
			void **t = realloc(port->out, cap * sizeof *t);
			if (!t) { /* out of memory: freed here, on the wrong thread's pool */
				free_all(p, k);
				continue;
			}
			port->out = t;
			port->out_cap = cap;
		}
		for (size_t j = 0; j < k; j++)
			port->out[port->out_n++] = p[j];
	}
}

/* Under the lock: what trash_items gathered goes to the ports' threads. */
static void trash_hand_over(struct writer *w)
{
	for (unsigned i = 0; i < w->nports; i++) {
		struct writer_port *port = w->ports[i];
		size_t n = port->out_n;

		if (!n)
			continue;
		if (port->trash_n + n > port->trash_cap) {
			size_t cap = port->trash_cap ? port->trash_cap : 1024;
			while (cap < port->trash_n + n)
				cap *= 2;
			void **t = realloc(port->trash, cap * sizeof *t);
			if (!t) /* out of memory: kept for the next hand-over */
				continue;
			port->trash = t;
			port->trash_cap = cap;
		}
		memcpy(port->trash + port->trash_n, port->out, n * sizeof *port->out);
		port->trash_n += n;
		port->out_n = 0;
	}
}

/* Under the lock: takes up to max pointers of a port's trash into out, for freeing after
 * unlocking. */
static size_t trash_take(struct writer_port *p, void **out, size_t max)
{
	size_t n = p->trash_n < max ? p->trash_n : max;

	p->trash_n -= n;
	if (n) /* trash is NULL until the first batch */
		memcpy(out, p->trash + p->trash_n, n * sizeof *out);
	return n;
}

/* Tokens are the census's own; the port makes them one name space in the row map. */
static uint64_t map_key(const struct item *it)
{
	return it->token << 8 | it->port;
}

static void count_error(struct writer *w)
{
	__atomic_add_fetch(&w->errors, 1, __ATOMIC_RELAXED);
}

/* Forgets the tokens of rows a rollback took: their ids may be given to new rows. */
static void map_drop_above(struct rowmap *m, int64_t max_id)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != TOMBSTONE && m->rows[i] > max_id) {
			m->keys[i] = TOMBSTONE;
			m->live--;
		}
}

/* After each store call: a new rollback forgets the lost rows' tokens and is said once per
 * streak (a capture goes on and retries; reading files stops). */
static void check_failure(struct writer *w)
{
	const char *why = store_failure(w->store);
	uint64_t lost = store_lost(w->store);

	__atomic_store_n(&w->committed, store_committed(w->store), __ATOMIC_RELAXED);
	if (lost == w->lost && !(why && !w->failures)) {
		if (!why && w->failures && !w->stop_flag) {
			fprintf(stderr,
			        "tlscensus: database '%s': commits work again; %llu records were "
			        "lost while they failed\n",
			        store_path(w->store), (unsigned long long)lost);
			w->failures = 0;
		}
		return;
	}
	__atomic_store_n(&w->lost, lost, __ATOMIC_RELAXED);
	map_drop_above(&w->map, store_committed_max_id(w->store));
	if (w->stop_flag) {
		w->failed = 1;
		*w->stop_flag = 1;
	} else if (!w->failures) {
		fprintf(
		    stderr,
		    "tlscensus: database '%s': %s; capturing goes on, commits are retried "
		    "every second, and the records they held are counted as lost (%llu so far); "
		    "free space on its file system\n",
		    store_path(w->store), why ? why : "write failed", (unsigned long long)lost);
	}
	w->failures++;
}

/* What the store reads of the hellos of the record WRITER_AHEAD places on, which a packet
 * thread wrote on the other core: their lines are on their way while this one is written. A
 * hello of a known shape costs its first bytes (counts, flags, the shape its parser worked
 * out) and its SNI; a new shape reads the rest for its fingerprints, rarely. The record
 * WRITER_KEYS_AHEAD places on, whose lines are in by then, has its SNI's key worked out, and
 * its id cache slots on their way (store_put_ahead). */
#define WRITER_AHEAD      8
#define WRITER_KEYS_AHEAD 4

static void prefetch_hellos(const struct item *it)
{
	const struct tc_client_hello *ch = it->hs.ch;
	const struct tc_server_hello *sh = it->hs.sh;

	if (ch) {
		__builtin_prefetch(ch);
		__builtin_prefetch((const char *)(&ch->shape + 1) - 1);
		__builtin_prefetch(ch->sni);
		__builtin_prefetch(ch->sni + 63);
	}
	if (sh) {
		__builtin_prefetch(sh);
		__builtin_prefetch((const char *)(&sh->shape + 1) - 1);
	}
}

/* A record the census left to the writer to label by its SNI. */
static int labelled_by_sni(const struct writer *w, const struct item *it)
{
	return it->rec.label_by_sni && w->on_label && it->hs.ch && it->hs.ch->has_sni;
}

static void put_ahead(struct writer *w, size_t i)
{
	struct item *it = &w->pending[i];

	it->rec.hs = &it->hs;
	store_put_ahead(w->store, &it->rec, &w->ahead[i]);
	w->label_key[i] = labelled_by_sni(w, it) && w->on_label_ahead
	                      ? w->on_label_ahead(w->on_label_ctx, it->hs.ch->sni,
	                                          it->hs.ch->sni_len)
	                      : 0;
}

/* Writes the pending records in the order they came (so their ids are what they would have
 * been), STORE_ROWS to a statement, then hands their hellos back to the packet threads. A
 * record already touched for the last time (token 0) leaves nothing in the map. */
static void drain(struct writer *w)
{
	size_t n = w->npending, fetched = 0, worked = 0;

	for (size_t i = 0; i < n;) {
		size_t k = n - i < STORE_ROWS ? n - i : STORE_ROWS, m;
		const struct tc_record *recs[STORE_ROWS];
		int64_t ids[STORE_ROWS];

		/* this batch's lookups worked out, the next records' on their way */
		for (; fetched < n && fetched < i + k + WRITER_AHEAD; fetched++)
			prefetch_hellos(&w->pending[fetched]);
		for (; worked < n && worked < i + k + WRITER_KEYS_AHEAD; worked++)
			put_ahead(w, worked);
		if (w->failed) { /* reading files after a failed commit: nothing more is written */
			w->skipped++;
			i++;
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			struct item *it = &w->pending[i + j];

			if (labelled_by_sni(w, it))
				w->on_label(w->on_label_ctx, it->hs.ch->sni, it->hs.ch->sni_len,
				            w->label_key[i + j], it->label, sizeof it->label);
			it->rec.app_label = it->label[0] ? it->label : NULL;
			recs[j] = &it->rec;
		}
		m = store_put_rows(w->store, recs, &w->ahead[i], k, ids);
		for (size_t j = 0; j < m; j++) {
			struct item *it = &w->pending[i + j];
			int64_t row = ids[j];
			int64_t *slot = it->token ? map_find(&w->map, map_key(it)) : NULL;

			if (slot && row > 0)
				*slot = row; /* its pending entry (absent if memory ran out), now the row */
			else if (slot)
				map_take(&w->map, map_key(it));
			if (row <= 0)
				count_error(w);
			if (row > 0 && w->on_record)
				w->on_record(w->on_record_ctx, w->store, row);
		}
		check_failure(w); /* a failure stops a read before the next records */
		i += m;
	}
	trash_items(w, w->pending, w->npending);
	pthread_mutex_lock(&w->lock);
	trash_hand_over(w);
	pthread_mutex_unlock(&w->lock);
	w->npending = 0;
}

/* A touch of a record still pending: its final counters go into the row to be inserted. */
static void touch_pending(struct item *p, const struct item *t)
{
	p->rec.last_ts = t->rec.last_ts;
	memcpy(p->rec.packets, t->rec.packets, sizeof p->rec.packets);
	memcpy(p->rec.bytes, t->rec.bytes, sizeof p->rec.bytes);
	memcpy(p->rec.stream_trunc, t->rec.stream_trunc, sizeof p->rec.stream_trunc);
	p->token = 0; /* the flow's last word: nothing will look for its row */
}

static void process(struct writer *w, struct item *it)
{
	int64_t row;

	/* Anything but a record or a touch sees the records before it written. */
	if (it->kind != ITEM_PUT && it->kind != ITEM_TOUCH && it->kind != ITEM_FORGET)
		drain(w);
	if (w->failed) { /* reading files after a failed commit: nothing more is written */
		if (it->kind == ITEM_PUT)
			w->skipped++;
		if (it->kind == ITEM_INPUT)
			free(it->input);
		return;
	}
	switch (it->kind) {
	case ITEM_PUT:
		if (w->npending == WRITER_PENDING)
			drain(w);
		/* The item moves to pending with its hellos (its queue slot keeps none). */
		item_copy(&w->pending[w->npending], it);
		it->hs.ch = NULL;
		it->hs.sh = NULL;
		it->hs.prints = NULL;
		map_put(&w->map, map_key(it), -(int64_t)(++w->npending));
		break;
	case ITEM_TOUCH:
	case ITEM_FORGET:
		/* Either is the flow's last word: its token is not used again. */
		row = map_take(&w->map, map_key(it));
		if (row < 0 && it->kind == ITEM_TOUCH)
			touch_pending(&w->pending[-row - 1], it);
		else if (row < 0) /* nothing counted since: the record stays as it came */
			w->pending[-row - 1].token = 0;
		else if (row > 0 && it->kind == ITEM_TOUCH && store_touch(w->store, row, &it->rec))
			count_error(w);
		break;
	case ITEM_STATS: {
		struct run_stats sum;

		w->port_stats[it->port] = it->stats;
		/* a run's counters are the sum of its ports' (each packet thread counts its own) */
		memset(&sum, 0, sizeof sum);
		for (unsigned i = 0; i < w->nports; i++)
			run_stats_add(&sum, &w->port_stats[i]);
		if (store_run_update(w->store, &sum))
			count_error(w);
		/* and each packet thread's, when there are several */
		for (unsigned i = 0; w->nports > 1 && i < w->nports; i++)
			if (store_run_worker(w->store, i, &w->port_stats[i]))
				count_error(w);
		break;
	}
	case ITEM_PRUNE:
		/* Batches of 10000 keep each write transaction short, so readers and the next
		 * records never wait long behind a prune of months of rows. */
		for (int i = 0, n = 1; i < 20 && n > 0; i++)
			if ((n = (int)store_prune(w->store, it->before, 10000)) < 0)
				count_error(w);
		break;
	case ITEM_SYNC:
		if (store_flush(w->store))
			count_error(w);
		break;
	case ITEM_INPUT:
		if (store_input_mark(w->store, it->input, (int)it->token))
			count_error(w);
		free(it->input);
		break;
	}
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	double last_commit = mono();

	pthread_setname_np(pthread_self(), "tlscensus-db"); /* for top -H and perf */

	int napped = 0;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->count < WRITER_WAKE && !w->urgent && !w->stopping) {
			struct timespec until;
			if (w->count && napped)
				break; /* a few records have waited a nap: take them */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += w->mode == WRITER_BLOCK ? WRITER_NAP_BLOCK_US * 1000L
			                                         : WRITER_NAP_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			w->sleeping = 1;
			napped = pthread_cond_timedwait(&w->not_empty, &w->lock, &until) != 0;
			w->sleeping = 0;
			/* Idle: what was written must not wait for the next record. */
			if (!w->count && mono() - last_commit >= 1.0 && !w->failed) {
				pthread_mutex_unlock(&w->lock);
				drain(w);
				if (!w->failed && store_flush(w->store))
					count_error(w);
				check_failure(w);
				last_commit = mono();
				pthread_mutex_lock(&w->lock);
			}
		}
		napped = 0;
		if (!w->count && w->stopping)
			break;
		if (!w->count) {
			w->urgent = 0;
			continue;
		}
		/* A batch is processed where it lies in the queue, outside the lock (producers
		 * write only past head + count), and its slots are given back after it, so
		 * neither side pays a lock and a wake-up per record. (Copied out under the lock,
		 * the packet thread waited on it; copied out at all, it was two copies of every
		 * record on this thread where one, into pending, is needed.) */
		size_t n = w->count < WRITER_BATCH ? w->count : WRITER_BATCH, h = w->head;
		pthread_mutex_unlock(&w->lock);

		int synced = 0;
		for (size_t i = 0; i < n; i++) {
			struct item *it = &w->ring[(h + i) % WRITER_QUEUE];
			process(w, it);
			check_failure(w); /* a failure stops a read before the next item */
			synced |= it->kind == ITEM_SYNC;
			trash_items(w, it, 1); /* a record not moved to pending (dropped) */
		}
		check_failure(w);

		/* The slots go back before a commit, which may wait on the disk. */
		pthread_mutex_lock(&w->lock);
		int was_full = w->count == w->cap;
		w->head = (h + n) % WRITER_QUEUE;
		w->count -= n;
		if (!w->count)
			w->urgent = 0;
		if (was_full)
			pthread_cond_broadcast(&w->not_full);
		trash_hand_over(w);
		w->done += n;
		if (synced)
			pthread_cond_broadcast(&w->synced);
		if (mono() - last_commit >= 1.0 && !w->failed) {
			pthread_mutex_unlock(&w->lock);
			drain(w);
			if (!w->failed && store_flush(w->store))
				count_error(w);
			last_commit = mono();
			check_failure(w);
			pthread_mutex_lock(&w->lock);
		}
	}
	pthread_mutex_unlock(&w->lock);
	drain(w);
	if (!w->failed && store_flush(w->store))
		count_error(w);
	check_failure(w);
	if (w->on_record)
		w->on_record(w->on_record_ctx, w->store, -1);
	return NULL;
}

static void port_free(struct writer_port *p)
{
	if (!p)
		return;
	free_all(p->trash, p->trash_n);
	free(p->trash);
	free_all(p->out, p->out_n);
	free(p->out);
	free(p->stage);
	free(p);
}

static const struct tc_sink_ops port_sink_ops;

struct writer *writer_start_ports(struct store *st, enum writer_mode mode, unsigned nports)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (!w || nports == 0 || nports > WRITER_MAX_PORTS) {
		free(w);
		return NULL;
	}
	w->ring = calloc(WRITER_QUEUE, sizeof(*w->ring));
	w->pending = calloc(WRITER_PENDING, sizeof(*w->pending));
	w->ahead = calloc(WRITER_PENDING, sizeof(*w->ahead));
	w->label_key = calloc(WRITER_PENDING, sizeof(*w->label_key));
	w->port_stats = calloc(nports, sizeof(*w->port_stats));
	int ok = w->ring && w->pending && w->ahead && w->label_key && w->port_stats;
	for (unsigned i = 0; ok && i < nports; i++) {
		struct writer_port *p = calloc(1, sizeof(*p));
		if (p && !(p->stage = calloc(WRITER_STAGE, sizeof(*p->stage)))) {
			free(p);
			p = NULL;
		}
		if (!p) {
			ok = 0;
			break;
		}
		p->w = w;
		p->id = i;
		p->sink.ops = &port_sink_ops;
		p->sink.ctx = p;
		w->ports[w->nports++] = p;
	}
	w->store = st;
	w->mode = mode;
	/* Reading files, the queue only evens out the two threads' pace; every queued record
	 * holds its hellos (a ClientHello's lists are several KiB), so a long one is memory that
	 * buys nothing. A live capture keeps the long queue: bursts must not drop. */
	w->cap = mode == WRITER_BLOCK ? WRITER_QUEUE_BLOCK : WRITER_QUEUE;
	/* Adaptive: a thread that finds the lock held spins a moment before it sleeps. Either
	 * side holds it for a few pointer moves or a staged batch's copy, and on two cores a
	 * sleep and a wake-up (a futex call on each side) cost more than that. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&w->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_cond_init(&w->not_empty, NULL);
	pthread_cond_init(&w->not_full, NULL);
	pthread_cond_init(&w->synced, NULL);
	if (!ok || pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		for (unsigned i = 0; i < w->nports; i++)
			port_free(w->ports[i]);
		free(w->ring);
		free(w->pending);
		free(w->ahead);
		free(w->label_key);
		free(w->port_stats);
		free(w);
		return NULL;
	}
	/* Checkpoints off the writer thread (store.c); without that thread SQLite's own. */
	store_checkpoint_thread(st);
	return w;
}

void writer_on_record(struct writer *w, writer_record_fn fn, void *ctx)
{
	pthread_mutex_lock(&w->lock);
	w->on_record = fn;
	w->on_record_ctx = ctx;
	pthread_mutex_unlock(&w->lock);
}

void writer_on_label(struct writer *w, writer_label_fn fn, writer_label_ahead_fn ahead, void *ctx)
{
	pthread_mutex_lock(&w->lock);
	w->on_label = fn;
	w->on_label_ahead = ahead;
	w->on_label_ctx = ctx;
	pthread_mutex_unlock(&w->lock);
}

struct writer *writer_start(struct store *st, enum writer_mode mode)
{
	return writer_start_ports(st, mode, 1);
}

struct writer_port *writer_port(struct writer *w, unsigned i)
{
	return i < w->nports ? w->ports[i] : NULL;
}

/* Reserves a slot; returns NULL (and counts) when dropping. Called with the lock held. */
static struct item *reserve(struct writer *w, int may_drop)
{
	while (w->count == w->cap) {
		if (may_drop && w->mode == WRITER_DROP) {
			w->dropped++;
			return NULL;
		}
		pthread_cond_wait(&w->not_full, &w->lock);
	}
	struct item *it = &w->ring[(w->head + w->count) % WRITER_QUEUE];
	return it;
}

/* A record wakes the writer when the queue reaches WRITER_WAKE; a control item (sync, stats,
 * prune) at once, since its caller may be waiting for it. */
static void commit_slot(struct writer *w, const struct writer_port *p)
{
	struct item *it = &w->ring[(w->head + w->count) % WRITER_QUEUE];
	int urgent = it->kind == ITEM_SYNC || it->kind == ITEM_STATS || it->kind == ITEM_PRUNE;

	it->port = (uint8_t)p->id;
	w->count++;
	w->urgent |= urgent;
	/* Only a sleeping writer is signalled, once: an awake one looks at the queue again. */
	if (w->sleeping && (urgent || (w->count >= WRITER_WAKE && w->mode != WRITER_BLOCK))) {
		w->sleeping = 0;
		pthread_cond_signal(&w->not_empty);
	}
	w->queued++;
}

static void fill_put(struct item *it, uint64_t token, const struct tc_record *r,
                     struct tc_handshake *hs)
{
	it->kind = ITEM_PUT;
	it->token = token;
	it->rec = *r;
	/* Only the hellos travel; the parse state and its buffers stay with the flow. */
	memcpy(&it->hs, hs, TC_HS_CARRIED);
	hs->ch = NULL;
	hs->sh = NULL;
	hs->prints = NULL;
	/* Copied, not printed: snprintf per record was 1 % of bench-flows' packet thread. */
	size_t n = r->app_label ? strnlen(r->app_label, sizeof it->label - 1) : 0;
	memcpy(it->label, r->app_label ? r->app_label : "", n);
	it->label[n] = '\0';
}

/* Moves a port's staged records into the queue (waiting for room: only WRITER_BLOCK stages),
 * and frees the memory the writer is done with. The port's own thread only. */
static void stage_flush(struct writer_port *p)
{
	struct writer *w = p->w;
	void *trash[256];
	size_t nt;

	if (!p->staged)
		return;
	pthread_mutex_lock(&w->lock);
	nt = trash_take(p, trash, COUNT_OF(trash));
	for (size_t i = 0; i < p->staged; i++) {
		struct item *it = reserve(w, 0);
		item_copy(it, &p->stage[i]);
		commit_slot(w, p);
	}
	pthread_mutex_unlock(&w->lock);
	p->staged = 0;
	free_all(trash, nt);
}

int writer_port_put(struct writer_port *p, uint64_t token, const struct tc_record *r,
                    struct tc_handshake *hs)
{
	struct writer *w = p->w;
	void *trash[256];
	size_t nt;

	if (w->mode == WRITER_BLOCK) { /* mode changes only while producers are idle */
		fill_put(&p->stage[p->staged++], token, r, hs);
		if (p->staged == WRITER_STAGE)
			stage_flush(p);
		return 0;
	}
	pthread_mutex_lock(&w->lock);
	nt = trash_take(p, trash, COUNT_OF(trash));
	struct item *it = reserve(w, 1); /* NULL: dropped, the hellos stay with the caller */
	if (it) {
		fill_put(it, token, r, hs);
		commit_slot(w, p);
	}
	pthread_mutex_unlock(&w->lock);
	free_all(trash, nt);
	return it ? 0 : -1;
}

static void fill_touch(struct item *it, uint64_t token, const struct tc_record *r, int changed)
{
	it->kind = changed ? ITEM_TOUCH : ITEM_FORGET;
	it->token = token;
	memcpy(&it->rec, r, TC_RECORD_TOUCHED);
}

int writer_port_touch(struct writer_port *p, uint64_t token, const struct tc_record *r, int changed)
{
	struct writer *w = p->w;

	/* Staged like records, behind the put it follows, so the order holds. */
	if (w->mode == WRITER_BLOCK) {
		fill_touch(&p->stage[p->staged++], token, r, changed);
		if (p->staged == WRITER_STAGE)
			stage_flush(p);
		return 0;
	}
	stage_flush(p); /* records staged before this call go first */
	pthread_mutex_lock(&w->lock);
	/* A touch is never dropped: its row is already in the database, and the map must not
	 * keep the token. The queue drains quickly, so this wait is short. */
	fill_touch(reserve(w, 0), token, r, changed);
	commit_slot(w, p);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int writer_port_run_stats(struct writer_port *p, const struct run_stats *st)
{
	struct writer *w = p->w;

	stage_flush(p); /* records staged before this call go first */
	pthread_mutex_lock(&w->lock);
	struct item *it = reserve(w, 1);
	if (it) {
		it->kind = ITEM_STATS;
		it->stats = *st;
		commit_slot(w, p);
	}
	pthread_mutex_unlock(&w->lock);
	return it ? 0 : -1;
}

int writer_input(struct writer *w, const struct store_input *in, int done)
{
	struct writer_port *p = w->ports[0];
	struct store_input *copy = malloc(sizeof *copy);

	if (!copy)
		return -1;
	*copy = *in;
	/* port 0's records staged before this call go first; other workers hand theirs over
	 * before a file's mark (main.c, read_step) */
	stage_flush(p);
	pthread_mutex_lock(&w->lock);
	struct item *it = reserve(w, 0);
	it->kind = ITEM_INPUT;
	it->token = (uint64_t)done;
	it->input = copy;
	commit_slot(w, p);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int writer_port_prune(struct writer_port *p, double before_unix)
{
	struct writer *w = p->w;

	stage_flush(p); /* records staged before this call go first */
	pthread_mutex_lock(&w->lock);
	struct item *it = reserve(w, 1);
	if (it) {
		it->kind = ITEM_PRUNE;
		it->before = before_unix;
		commit_slot(w, p);
	}
	pthread_mutex_unlock(&w->lock);
	return it ? 0 : -1;
}

void writer_port_sync(struct writer_port *p)
{
	struct writer *w = p->w;

	stage_flush(p); /* records staged before this call go first */
	pthread_mutex_lock(&w->lock);
	struct item *it = reserve(w, 0);
	it->kind = ITEM_SYNC;
	commit_slot(w, p);
	uint64_t mine = w->queued;
	while (w->done < mine)
		pthread_cond_wait(&w->synced, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

/* Port 0, for a writer with one producer. */
int writer_put(struct writer *w, uint64_t token, const struct tc_record *r, struct tc_handshake *hs)
{
	return writer_port_put(w->ports[0], token, r, hs);
}

int writer_touch(struct writer *w, uint64_t token, const struct tc_record *r, int changed)
{
	return writer_port_touch(w->ports[0], token, r, changed);
}

int writer_run_stats(struct writer *w, const struct run_stats *st)
{
	return writer_port_run_stats(w->ports[0], st);
}

int writer_prune(struct writer *w, double before_unix)
{
	return writer_port_prune(w->ports[0], before_unix);
}

void writer_sync(struct writer *w)
{
	writer_port_sync(w->ports[0]);
}

void writer_set_mode(struct writer *w, enum writer_mode mode)
{
	for (unsigned i = 0; i < w->nports; i++) /* records staged before this call go first */
		stage_flush(w->ports[i]);
	pthread_mutex_lock(&w->lock);
	w->mode = mode;
	pthread_mutex_unlock(&w->lock);
}

uint64_t writer_dropped(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	uint64_t n = w->dropped;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void writer_stop_on_failure(struct writer *w, volatile sig_atomic_t *flag)
{
	pthread_mutex_lock(&w->lock);
	w->stop_flag = flag;
	pthread_mutex_unlock(&w->lock);
}

int writer_failed(struct writer *w)
{
	return __atomic_load_n(&w->failed, __ATOMIC_RELAXED);
}

uint64_t writer_committed(struct writer *w)
{
	return __atomic_load_n(&w->committed, __ATOMIC_RELAXED);
}

uint64_t writer_lost(struct writer *w)
{
	return __atomic_load_n(&w->lost, __ATOMIC_RELAXED) +
	       __atomic_load_n(&w->skipped, __ATOMIC_RELAXED);
}

uint64_t writer_errors(struct writer *w)
{
	return __atomic_load_n(&w->errors, __ATOMIC_RELAXED);
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->nports; i++)
		stage_flush(w->ports[i]);
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->not_empty);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->not_empty);
	pthread_cond_destroy(&w->not_full);
	pthread_cond_destroy(&w->synced);
	for (unsigned i = 0; i < w->nports; i++)
		port_free(w->ports[i]);
	free(w->map.keys);
	free(w->map.rows);
	free(w->ring);
	free(w->pending);
	free(w->ahead);
	free(w->label_key);
	free(w->port_stats);
	free(w);
}

/* ---------------------------------------------------------------- the census's sink */

static int sink_put(void *ctx, uint64_t token, const struct tc_record *r, struct tc_handshake *hs)
{
	return writer_port_put(ctx, token, r, hs);
}

static int sink_touch(void *ctx, uint64_t token, const struct tc_record *r, int changed)
{
	return writer_port_touch(ctx, token, r, changed);
}

static int sink_run_stats(void *ctx, const struct run_stats *st)
{
	return writer_port_run_stats(ctx, st);
}

static int sink_prune(void *ctx, double before_unix)
{
	return writer_port_prune(ctx, before_unix);
}

static void sink_sync(void *ctx)
{
	writer_port_sync(ctx);
}

static uint64_t sink_dropped(void *ctx)
{
	struct writer_port *p = ctx;

	return writer_dropped(p->w) + writer_lost(p->w);
}

static const struct tc_sink_ops port_sink_ops = {
    .put = sink_put,
    .touch = sink_touch,
    .run_stats = sink_run_stats,
    .prune = sink_prune,
    .sync = sink_sync,
    .dropped = sink_dropped,
};

const struct tc_sink *writer_port_sink(struct writer_port *p)
{
	return &p->sink;
}

const struct tc_sink *writer_sink(struct writer *w)
{
	return writer_port_sink(w->ports[0]);
}
