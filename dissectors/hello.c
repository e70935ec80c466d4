/*
 * hello.c: ClientHello and ServerHello bodies (RFC 5246 7.4.1, RFC 8446 4.1) into facts.
 * Input is one complete handshake message body; every read goes through the bounded cursor.
 * A malformed body ends the parse with a reason, keeping what was read before the damage.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"
#include "tlscensus/fingerprint.h"
#include "tlscensus/hello.h"
#include "util.h"
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/* RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256 of this text. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/*
 * Every list is parsed twice: a counting pass with no arrays (arr NULL), then, once the hello's
 * lists are allocated to those counts, a filling pass over the same bytes that reaches the same
 * counts. Counts fit their 16-bit fields: a list lies inside a 16-bit-prefixed block.
 */
#define LIST_PUSH(arr, n, v)                                                                       \
	do {                                                                                       \
		if (arr)                                                                           \
			(arr)[(n)] = (v);                                                          \
		(n)++;                                                                             \
	} while (0)

/* The k big-endian 16-bit values at p, appended to arr (NULL: only counted) after its *n.
 * The count is kept in a register: LIST_PUSH's `n++` in memory after each store through arr,
 * which may alias it, was a fifth of client_hello_pass on bench-flows. */
static void put_u16s(const uint8_t *p, size_t k, uint16_t *arr, uint16_t *n)
{
	if (arr) {
		uint16_t *to = arr + *n;
		for (size_t i = 0; i < k; i++)
			to[i] = (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
	}
	*n = (uint16_t)(*n + k);
}

static int read_u16_list(struct tc_cursor *c, size_t prefix, uint16_t *arr, uint16_t *n)
{
	struct tc_cursor list;

	if (!tc_cursor_get_prefixed_exact(c, prefix, &list) || tc_cursor_left(&list) % 2)
		return 0;
	put_u16s(tc_cursor_ptr(&list), tc_cursor_left(&list) / 2, arr, n);
	return 1;
}

/* Aligned slices of one allocation. */
static size_t slice(size_t *at, size_t bytes)
{
	size_t here = (*at + 7) & ~(size_t)7;

	*at = here + bytes;
	return here;
}

int tc_client_hello_alloc(struct tc_client_hello *ch, const struct tc_hello_room *r)
{
	static uint64_t none[1]; /* where empty lists point when memory ran out: never written */
	size_t at = 0, o_c, o_e, o_g, o_s, o_v, o_k, o_p, o_m, o_a;
	uint8_t *m;

	o_c = slice(&at, r->ciphers * sizeof *ch->ciphers);
	o_e = slice(&at, r->exts * sizeof *ch->exts);
	o_g = slice(&at, r->groups * sizeof *ch->groups);
	o_s = slice(&at, r->sigalgs * sizeof *ch->sigalgs);
	o_v = slice(&at, r->versions * sizeof *ch->versions);
	o_k = slice(&at, r->kshares * sizeof *ch->kshares);
	o_p = slice(&at, r->pointfmts);
	o_m = slice(&at, r->compress);
	o_a = slice(&at, r->alpn);
	ch->cipher_n = ch->ext_n = ch->group_n = ch->sigalg_n = ch->version_n = 0;
	ch->kshare_n = ch->pointfmt_n = ch->compress_n = ch->alpn_len = 0;
	ch->mem = NULL;
	ch->shape = 0; /* a recycled hello's is another's: worked out again once filled */
	m = at <= sizeof ch->lists_inline ? (uint8_t *)ch->lists_inline : (ch->mem = malloc(at));
	if (!m) {
		ch->ciphers = (uint32_t *)none;
		ch->exts = ch->groups = ch->sigalgs = ch->versions = ch->kshares = (uint16_t *)none;
		ch->pointfmts = ch->compress = ch->alpn = (uint8_t *)none;
		return -1;
	}
	ch->ciphers = (uint32_t *)(void *)(m + o_c);
	ch->exts = (uint16_t *)(void *)(m + o_e);
	ch->groups = (uint16_t *)(void *)(m + o_g);
	ch->sigalgs = (uint16_t *)(void *)(m + o_s);
	ch->versions = (uint16_t *)(void *)(m + o_v);
	ch->kshares = (uint16_t *)(void *)(m + o_k);
	ch->pointfmts = m + o_p;
	ch->compress = m + o_m;
	ch->alpn = m + o_a;
	return 0;
}

void tc_client_hello_clear(struct tc_client_hello *ch)
{
	if (!ch)
		return;
	free(ch->mem);
	ch->mem = NULL;
	ch->cipher_n = ch->ext_n = ch->group_n = ch->sigalg_n = ch->version_n = 0;
	ch->kshare_n = ch->pointfmt_n = ch->compress_n = ch->alpn_len = 0;
	ch->shape = 0;
}

int tc_server_hello_alloc(struct tc_server_hello *sh, size_t exts)
{
	static uint16_t none[1];

	sh->ext_n = 0;
	sh->shape = 0;
	if (exts <= sizeof sh->exts_inline / sizeof sh->exts_inline[0]) {
		sh->mem = NULL;
		sh->exts = sh->exts_inline;
		return 0;
	}
	sh->mem = malloc(exts * sizeof *sh->exts);
	sh->exts = sh->mem ? sh->mem : none;
	return sh->mem ? 0 : -1;
}

void tc_server_hello_clear(struct tc_server_hello *sh)
{
	if (!sh)
		return;
	free(sh->mem);
	sh->mem = NULL;
	sh->ext_n = 0;
	sh->shape = 0;
}

/*
 * Each thread keeps the hellos it freed (up to HELLO_POOL of each kind) for the next ones it
 * parses. A packet thread takes a ClientHello and a ServerHello per connection and gets them
 * back from the writer's trash a batch at a time: through malloc, the batch overflowed glibc's
 * per-thread cache (seven of a size) into its bins, and malloc and free with their bins were
 * 15 % of bench-flows' packet thread. The pool is a list through the hellos' first word, and a
 * thread's is freed when the thread ends (a pthread key's destructor).
 */
#define HELLO_POOL 4096

struct hello_pool {
	void *ch, *sh; /* free hellos, each holding the next one's address */
	unsigned n_ch, n_sh;
	struct scratch *scratch; /* the thread's parsing room (parse_client_hello), or NULL */
	int registered; /* the key's value is set: the pool is freed at the thread's end */
};

static __thread struct hello_pool pool;
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_key_ok; /* the key exists: without it, nothing is pooled */

/* Under AddressSanitizer a pooled hello is poisoned but for its link, so a use after
 * tc_*_hello_free is still caught (the tests and the fuzzers run such builds). */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_POISON(p, size)                                                                       \
	ASAN_POISON_MEMORY_REGION((char *)(p) + sizeof(void *), (size) - sizeof(void *))
#define POOL_UNPOISON(p, size) ASAN_UNPOISON_MEMORY_REGION((p), (size))
#else
#define POOL_POISON(p, size)   ((void)(p), (void)(size))
#define POOL_UNPOISON(p, size) ((void)(p), (void)(size))
#endif

static void free_list(void *p, size_t size)
{
	while (p) {
		void *next = *(void **)p;
		POOL_UNPOISON(p, size);
		free(p);
		p = next;
	}
}

struct scratch;
static void scratch_free(struct scratch *x);

static void pool_end(void *arg)
{
	struct hello_pool *hp = arg;

	free_list(hp->ch, sizeof(struct tc_client_hello));
	free_list(hp->sh, sizeof(struct tc_server_hello));
	scratch_free(hp->scratch);
	memset(hp, 0, sizeof *hp);
}

static void pool_key_make(void)
{
	pool_key_ok = pthread_key_create(&pool_key, pool_end) == 0;
}

static void *pool_take(void **head, unsigned *n, size_t size)
{
	void *p = *head;

	if (!p)
		return malloc(size);
	*head = *(void **)p;
	(*n)--;
	POOL_UNPOISON(p, size);
	/* The next one's lines are on their way for writing: a hello comes back from the writer
	 * long after it left, out of this core's cache, and the link read at the next take and the
	 * parser's first stores each waited on a miss (a twentieth of bench-flows' packet thread).
	 * The lines are its link and first fields, and the SNI's first bytes. */
	if (*head) {
		__builtin_prefetch(*head, 1);
		__builtin_prefetch((const char *)*head + 64, 1);
		__builtin_prefetch((const char *)*head + 128, 1);
	}
	return p;
}

/* Whether the pool will be freed at the thread's end (its key's value set). */
static int pool_register(void)
{
	if (!pool.registered) {
		pthread_once(&pool_once, pool_key_make);
		pool.registered = pool_key_ok && pthread_setspecific(pool_key, &pool) == 0;
	}
	return pool.registered;
}

static void pool_put(void **head, unsigned *n, void *p, size_t size)
{
	if (*n >= HELLO_POOL || !pool_register()) { /* beyond the bound, or never freed */
		free(p);
		return;
	}
	*(void **)p = *head;
	*head = p;
	(*n)++;
	POOL_POISON(p, size);
}

struct tc_client_hello *tc_client_hello_new(void)
{
	return pool_take(&pool.ch, &pool.n_ch, sizeof(struct tc_client_hello));
}

struct tc_server_hello *tc_server_hello_new(void)
{
	return pool_take(&pool.sh, &pool.n_sh, sizeof(struct tc_server_hello));
}

void tc_client_hello_free(struct tc_client_hello *ch)
{
	if (ch) {
		tc_client_hello_clear(ch);
		pool_put(&pool.ch, &pool.n_ch, ch, sizeof *ch);
	}
}

void tc_server_hello_free(struct tc_server_hello *sh)
{
	if (sh) {
		tc_server_hello_clear(sh);
		pool_put(&pool.sh, &pool.n_sh, sh, sizeof *sh);
	}
}

void tc_hello_pool_release(void)
{
	int registered = pool.registered;

	pool_end(&pool);
	if (registered)
		pthread_setspecific(pool_key, NULL);
}

/* RFC 6066 3: the first host_name entry. */
static int parse_sni(struct tc_cursor ext, struct tc_client_hello *ch)
{
	struct tc_cursor list, name, kept;
	uint8_t type;
	size_t n;

	if (!tc_cursor_get_prefixed_exact(&ext, 2, &list))
		return 0;
	while (tc_cursor_left(&list)) {
		if (!tc_cursor_get_u8(&list, &type) || !tc_cursor_get_prefixed(&list, 2, &name))
			return 0;
		if (type != 0 || ch->has_sni)
			continue;
		/* A name longer than the field keeps its first TC_MAX_SNI bytes. */
		kept = name;
		if (tc_cursor_left(&name) > TC_MAX_SNI) {
			tc_cursor_get_bytes(&name, TC_MAX_SNI, &kept);
			ch->trunc |= TC_TRUNC_SNI;
		}
		tc_cursor_copy(&kept, (uint8_t *)ch->sni, TC_MAX_SNI, &n);
		ch->sni[n] = '\0';
		ch->sni_len = (uint16_t)n;
		ch->has_sni = 1;
	}
	return 1;
}

/* RFC 7301 3.1: kept in wire form, every name. */
static int parse_alpn(struct tc_cursor ext, struct tc_client_hello *ch)
{
	struct tc_cursor list, name;
	size_t n;

	if (!tc_cursor_get_prefixed_exact(&ext, 2, &list))
		return 0;
	ch->has_alpn = 1;
	while (tc_cursor_left(&list)) {
		if (!tc_cursor_get_prefixed(&list, 1, &name))
			return 0;
		n = tc_cursor_left(&name);
		if (ch->alpn) {
			ch->alpn[ch->alpn_len] = (uint8_t)n;
			tc_cursor_copy(&name, ch->alpn + ch->alpn_len + 1, n, &n);
		}
		ch->alpn_len += (uint16_t)(1 + n);
	}
	return 1;
}

/* RFC 8446 4.2.8: client_shares, each {group, key_exchange<1..2^16-1>}. */
static int parse_key_share(struct tc_cursor ext, struct tc_client_hello *ch)
{
	struct tc_cursor list, key;
	uint16_t group;

	if (!tc_cursor_get_prefixed_exact(&ext, 2, &list))
		return 0;
	ch->has_key_share = 1;
	while (tc_cursor_left(&list)) {
		if (!tc_cursor_get_u16(&list, &group) || !tc_cursor_get_prefixed(&list, 2, &key))
			return 0;
		LIST_PUSH(ch->kshares, ch->kshare_n, group);
	}
	return 1;
}

static int parse_client_ext(uint16_t type, struct tc_cursor ext, struct tc_client_hello *ch)
{
	struct tc_cursor list;
	uint8_t b;

	switch (type) {
	case TC_EXT_SERVER_NAME:
		/* An empty server_name is legal in a ServerHello only; in a ClientHello it is
		 * still harmless, so accept it. */
		return tc_cursor_left(&ext) == 0 || parse_sni(ext, ch);
	case TC_EXT_SUPPORTED_GROUPS:
		ch->has_groups = 1;
		return read_u16_list(&ext, 2, ch->groups, &ch->group_n);
	case TC_EXT_EC_POINT_FORMATS:
		if (!tc_cursor_get_prefixed_exact(&ext, 1, &list))
			return 0;
		ch->has_pointfmt = 1;
		while (tc_cursor_get_u8(&list, &b))
			LIST_PUSH(ch->pointfmts, ch->pointfmt_n, b);
		return 1;
	case TC_EXT_SIGNATURE_ALGORITHMS:
		ch->has_sigalgs = 1;
		return read_u16_list(&ext, 2, ch->sigalgs, &ch->sigalg_n);
	case TC_EXT_ALPN:
		return parse_alpn(ext, ch);
	case TC_EXT_SESSION_TICKET:
		ch->has_session_ticket = 1;
		return 1;
	case TC_EXT_SUPPORTED_VERSIONS:
		ch->has_versions = 1;
		return read_u16_list(&ext, 1, ch->versions, &ch->version_n);
	case TC_EXT_KEY_SHARE:
		return parse_key_share(ext, ch);
	default:
		return 1;
	}
}

/*
 * Extensions block shared by both hellos: walks every extension by its outer length. A bad
 * inner length (one that overruns the extension, or leaves bytes after the vector that should
 * fill it) spoils that extension only (the walk goes on, as the outer lengths still frame the
 * rest), but is reported; a bad outer length ends the walk.
 */
static enum tc_err walk_extensions(struct tc_cursor *c, uint16_t *exts, uint16_t *ext_n,
                                   int (*one)(uint16_t, struct tc_cursor, void *), void *arg)
{
	struct tc_cursor block, ext;
	enum tc_err err = TC_ERR_NONE;
	uint16_t type;

	if (!tc_cursor_get_prefixed(c, 2, &block))
		return TC_ERR_EXTENSION;
	while (tc_cursor_left(&block)) {
		if (!tc_cursor_get_u16(&block, &type))
			return TC_ERR_EXTENSION;
		LIST_PUSH(exts, *ext_n, type);
		if (!tc_cursor_get_prefixed(&block, 2, &ext))
			return TC_ERR_EXTENSION;
		if (!one(type, ext, arg) && err == TC_ERR_NONE)
			err = TC_ERR_EXTENSION;
	}
	/* RFC 8446 4.1.2: nothing may follow the extensions block. What it held is kept; the
	 * length that does not add up is reported. */
	if (tc_cursor_left(c) && err == TC_ERR_NONE)
		err = TC_ERR_EXTENSION;
	return err;
}

static int client_ext_cb(uint16_t type, struct tc_cursor ext, void *arg)
{
	return parse_client_ext(type, ext, arg);
}

/* One pass of the ClientHello body parser (counting when ch's lists are NULL); dtls adds the
 * cookie of RFC 6347 4.2.1 after session_id (RFC 9147 5.3 keeps it as legacy_cookie). Nothing
 * else differs on the wire. */
static enum tc_err client_hello_pass(const uint8_t *body, size_t len, struct tc_client_hello *ch)
{
	struct tc_cursor c, list;
	uint8_t b;

	tc_cursor_init(&c, body, len);
	if (!tc_cursor_get_u16(&c, &ch->legacy_version) || !tc_cursor_skip(&c, 32))
		return TC_ERR_CLIENT_HELLO;
	if (!tc_cursor_get_prefixed(&c, 1, &list) || tc_cursor_left(&list) > 32)
		return TC_ERR_CLIENT_HELLO;
	ch->session_id_len = (uint8_t)tc_cursor_left(&list);
	/* RFC 6347 4.2.1: opaque cookie<0..2^8-1> (RFC 4347 had <0..32>). */
	if (ch->dtls && !tc_cursor_get_prefixed(&c, 1, &list))
		return TC_ERR_CLIENT_HELLO;
	if (ch->dtls)
		ch->cookie_len = (uint8_t)tc_cursor_left(&list);
	if (!tc_cursor_get_prefixed(&c, 2, &list) || tc_cursor_left(&list) % 2)
		return TC_ERR_CLIENT_HELLO;
	/* as put_u16s, into the wider array SSLv2's kinds need */
	const uint8_t *p = tc_cursor_ptr(&list);
	size_t k = tc_cursor_left(&list) / 2;
	uint32_t *to = ch->ciphers ? ch->ciphers + ch->cipher_n : NULL;
	int scsv = 0;
	for (size_t i = 0; i < k; i++) {
		uint16_t v = (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
		scsv |= v == TC_CS_FALLBACK_SCSV;
		if (to)
			to[i] = v;
	}
	if (scsv)
		ch->fallback_scsv = 1;
	ch->cipher_n = (uint16_t)(ch->cipher_n + k);
	if (!tc_cursor_get_prefixed(&c, 1, &list))
		return TC_ERR_CLIENT_HELLO;
	while (tc_cursor_get_u8(&list, &b))
		LIST_PUSH(ch->compress, ch->compress_n, b);
	/* RFC 5246 7.4.1.2: the extensions block may be absent altogether. */
	if (!tc_cursor_left(&c))
		return TC_ERR_NONE;
	ch->has_extensions = 1;
	return walk_extensions(&c, ch->exts, &ch->ext_n, client_ext_cb, ch);
}

/*
 * A thread's room to parse a hello in one pass: every list as long as the wire allows, so the
 * counts need not be known first. A ClientHello's cipher list is one 16-bit-prefixed vector
 * (32767 suites at most) and its compression methods one 8-bit-prefixed; every other list
 * comes from extensions, which all lie in one 16-bit-prefixed block, however many times one is
 * repeated: at most 65535 bytes of entries in all, each extension taking 4 bytes of header, a
 * key share 4 bytes at least. Only the first lines of each list are touched by a usual hello,
 * and they stay in the cache from one hello to the next; the hello kept gets its lists copied
 * to their exact lengths. Parsing twice (counting, then filling) was a tenth of bench-flows'
 * packet thread.
 */
/* Entries each list of the scratch holds. An extension's type is kept before its length is
 * read: 16383 whole extensions and a type. */
enum {
	ROOM_CIPHERS = 32767,
	ROOM_EXTS = 65535 / 4 + 1,
	ROOM_U16 = 65535 / 2,   /* groups, sigalgs, versions */
	ROOM_KSHARES = 65535 / 4,
	ROOM_BYTES = 65535,     /* pointfmts, alpn */
	ROOM_COMPRESS = 255,
};

/*
 * The shapes of the hellos this thread parsed lately, by a quicker hash of the same fields
 * (keyed with a secret seed, so no client can aim at another's entry): one multiplication per
 * 16 bytes where the shape takes one per 8 in a chain twice as long, whose value must not
 * change (it is stored). A hit is the shape; a collision of the quick hash is as likely as
 * one of the shape itself. The shape was a twentieth of bench-flows' packet thread.
 */
#define MEMO 1024 /* entries, a power of two */

struct memo {
	uint64_t quick, shape;
};

struct scratch {
	struct tc_client_hello ch; /* its lists each in an allocation of their own, so that
	                            * AddressSanitizer sees a room too small */
	struct tc_server_hello sh; /* its extensions in ch's */
	uint64_t seed;
	struct memo memo[MEMO];
};

/* tc_client_hello_shape of ch, from the memo when its fields were seen lately. */
static uint64_t shape_memo(struct scratch *x, const struct tc_client_hello *ch)
{
	uint64_t h = tc_client_hello_quick(ch, x->seed);
	struct memo *m = &x->memo[(h >> 32) & (MEMO - 1)];
	if (m->quick == h)
		return m->shape;
	*m = (struct memo){h, tc_client_hello_shape(ch)};
	return m->shape;
}

static void scratch_free(struct scratch *x)
{
	if (!x)
		return;
	free(x->ch.ciphers);
	free(x->ch.exts);
	free(x->ch.groups);
	free(x->ch.sigalgs);
	free(x->ch.versions);
	free(x->ch.kshares);
	free(x->ch.pointfmts);
	free(x->ch.compress);
	free(x->ch.alpn);
	free(x);
}

/* The thread's scratch, its lists in place; NULL when out of memory (or when nothing would
 * free it at the thread's end). */
static struct scratch *scratch_get(void)
{
	struct scratch *x = pool.scratch;

	if (x)
		return x;
	if (!pool_register() || !(x = calloc(1, sizeof *x)))
		return NULL;
	x->ch.ciphers = malloc(ROOM_CIPHERS * sizeof *x->ch.ciphers);
	x->ch.exts = malloc(ROOM_EXTS * sizeof *x->ch.exts);
	x->ch.groups = malloc(ROOM_U16 * sizeof *x->ch.groups);
	x->ch.sigalgs = malloc(ROOM_U16 * sizeof *x->ch.sigalgs);
	x->ch.versions = malloc(ROOM_U16 * sizeof *x->ch.versions);
	x->ch.kshares = malloc(ROOM_KSHARES * sizeof *x->ch.kshares);
	x->ch.pointfmts = malloc(ROOM_BYTES);
	x->ch.compress = malloc(ROOM_COMPRESS);
	x->ch.alpn = malloc(ROOM_BYTES);
	x->sh.exts = x->ch.exts;
	if (RAND_bytes((unsigned char *)&x->seed, sizeof x->seed) != 1)
		x->seed = tc_random_seed();
	if (!x->ch.ciphers || !x->ch.exts || !x->ch.groups || !x->ch.sigalgs || !x->ch.versions ||
	    !x->ch.kshares || !x->ch.pointfmts || !x->ch.compress || !x->ch.alpn) {
		scratch_free(x);
		return NULL;
	}
	pool.scratch = x;
	return x;
}

/* The fields before a hello's list pointers: flags, counts, lengths, the shape. */
#define CH_HEAD offsetof(struct tc_client_hello, ciphers)
#define SH_HEAD offsetof(struct tc_server_hello, exts)

/* Counting, then filling, for a thread without scratch. */
static enum tc_err parse_client_hello_twice(const uint8_t *body, size_t len,
                                            struct tc_client_hello *ch, int dtls)
{
	struct tc_client_hello count;
	struct tc_hello_room room;

	memset(&count, 0, sizeof count);
	count.dtls = (uint8_t)dtls;
	client_hello_pass(body, len, &count);
	room = (struct tc_hello_room){count.cipher_n,   count.ext_n,      count.group_n,
	                              count.sigalg_n,   count.version_n,  count.kshare_n,
	                              count.pointfmt_n, count.compress_n, count.alpn_len};
	memset(ch, 0, sizeof(*ch));
	ch->dtls = (uint8_t)dtls;
	if (tc_client_hello_alloc(ch, &room))
		return TC_ERR_CLIENT_HELLO; /* out of memory: nothing kept */
	enum tc_err err = client_hello_pass(body, len, ch);
	ch->shape = tc_client_hello_shape(ch);
	return err;
}

static enum tc_err parse_client_hello(const uint8_t *body, size_t len, struct tc_client_hello *ch,
                                      int dtls)
{
	struct scratch *x = scratch_get();
	struct tc_client_hello *t;
	struct tc_hello_room room;
	enum tc_err err;

	if (!x)
		return parse_client_hello_twice(body, len, ch, dtls);
	t = &x->ch;
	memset(t, 0, CH_HEAD);
	t->sni[0] = '\0';
	t->dtls = (uint8_t)dtls;
	err = client_hello_pass(body, len, t);
	t->shape = shape_memo(x, t); /* its lists in the cache, not the copy's */
	room = (struct tc_hello_room){t->cipher_n,   t->ext_n,      t->group_n,
	                              t->sigalg_n,   t->version_n,  t->kshare_n,
	                              t->pointfmt_n, t->compress_n, t->alpn_len};
	/* What the two passes left, as they left it: the fields written, the rest zero. Only the
	 * SNI's bytes and its NUL are written of sni[], only the lists' entries of their room. */
	memset(ch, 0, CH_HEAD);
	ch->sni[0] = '\0';
	ch->dtls = (uint8_t)dtls;
	if (tc_client_hello_alloc(ch, &room))
		return TC_ERR_CLIENT_HELLO; /* out of memory: nothing kept */
	memcpy(ch, t, CH_HEAD); /* the counts too */
	memcpy(ch->ciphers, t->ciphers, t->cipher_n * sizeof *t->ciphers);
	memcpy(ch->exts, t->exts, t->ext_n * sizeof *t->exts);
	memcpy(ch->groups, t->groups, t->group_n * sizeof *t->groups);
	memcpy(ch->sigalgs, t->sigalgs, t->sigalg_n * sizeof *t->sigalgs);
	memcpy(ch->versions, t->versions, t->version_n * sizeof *t->versions);
	memcpy(ch->kshares, t->kshares, t->kshare_n * sizeof *t->kshares);
	memcpy(ch->pointfmts, t->pointfmts, t->pointfmt_n);
	memcpy(ch->compress, t->compress, t->compress_n);
	memcpy(ch->alpn, t->alpn, t->alpn_len);
	if (t->has_sni)
		memcpy(ch->sni, t->sni, t->sni_len + 1u);
	return err;
}

enum tc_err tc_parse_client_hello(const uint8_t *body, size_t len, struct tc_client_hello *ch)
{
	return parse_client_hello(body, len, ch, 0);
}

enum tc_err tc_parse_dtls_client_hello(const uint8_t *body, size_t len, struct tc_client_hello *ch)
{
	return parse_client_hello(body, len, ch, 1);
}

static int server_ext_cb(uint16_t type, struct tc_cursor ext, void *arg)
{
	struct tc_server_hello *sh = arg;
	struct tc_cursor list, name;
	size_t n;

	switch (type) {
	case TC_EXT_SUPPORTED_VERSIONS:
		return tc_cursor_get_u16(&ext, &sh->selected_version) && !tc_cursor_left(&ext);
	case TC_EXT_ALPN:
		/* RFC 7301 3.1: the server's list holds exactly one name. */
		if (!tc_cursor_get_prefixed_exact(&ext, 2, &list) ||
		    !tc_cursor_get_prefixed_exact(&list, 1, &name) ||
		    !tc_cursor_copy(&name, (uint8_t *)sh->alpn, sizeof(sh->alpn) - 1, &n))
			return 0;
		sh->alpn_len = (uint16_t)n;
		sh->alpn[n] = '\0';
		return 1;
	case TC_EXT_KEY_SHARE:
		/* RFC 8446 4.2.8: a ServerHello's KeyShareEntry, or a HelloRetryRequest's bare
		 * selected_group; either way the group comes first. The key bytes are not needed.
		 */
		if (tc_cursor_get_u16(&ext, &sh->key_share_group))
			sh->has_key_share = 1;
		return 1;
	default:
		return 1;
	}
}

/*
 * TLS 1.3 drafts before -22 sent ServerHello as {version, random, cipher, extensions}: no
 * session id, no compression. They announce themselves by a legacy version of 0x0304 or
 * 0x7fXX (seen in suricata's draft-14 capture); final TLS 1.3 always sends 0x0303 there.
 */
static int is_draft_server_hello(uint16_t v)
{
	return v == TC_V_TLS13 || (v >> 8) == 0x7f;
}

static enum tc_err server_hello_pass(const uint8_t *body, size_t len, struct tc_server_hello *sh)
{
	struct tc_cursor c, random, sid;
	uint16_t cs;

	tc_cursor_init(&c, body, len);
	if (!tc_cursor_get_u16(&c, &sh->legacy_version) || !tc_cursor_get_bytes(&c, 32, &random))
		return TC_ERR_SERVER_HELLO;
	sh->is_hrr = tc_cursor_equal(&random, hrr_random, sizeof(hrr_random));
	if (!is_draft_server_hello(sh->legacy_version)) {
		if (!tc_cursor_get_prefixed(&c, 1, &sid) || tc_cursor_left(&sid) > 32)
			return TC_ERR_SERVER_HELLO;
		sh->session_id_len = (uint8_t)tc_cursor_left(&sid);
	}
	if (!tc_cursor_get_u16(&c, &cs))
		return TC_ERR_SERVER_HELLO;
	sh->cipher = cs;
	if (!is_draft_server_hello(sh->legacy_version) && !tc_cursor_get_u8(&c, &sh->compression))
		return TC_ERR_SERVER_HELLO;
	if (!tc_cursor_left(&c))
		return TC_ERR_NONE;
	sh->has_extensions = 1;
	return walk_extensions(&c, sh->exts, &sh->ext_n, server_ext_cb, sh);
}

enum tc_err tc_parse_server_hello(const uint8_t *body, size_t len, struct tc_server_hello *sh)
{
	struct scratch *x = scratch_get();
	struct tc_server_hello count, *t;
	enum tc_err err;

	if (!x) { /* counting, then filling */
		memset(&count, 0, sizeof count);
		server_hello_pass(body, len, &count);
		memset(sh, 0, sizeof(*sh));
		if (tc_server_hello_alloc(sh, count.ext_n))
			return TC_ERR_SERVER_HELLO;
		err = server_hello_pass(body, len, sh);
		sh->shape = tc_server_hello_shape(sh);
		return err;
	}
	/* As parse_client_hello: one pass into the scratch, copied to the exact lengths. */
	t = &x->sh;
	memset(t, 0, SH_HEAD);
	t->alpn[0] = '\0';
	err = server_hello_pass(body, len, t);
	t->shape = tc_server_hello_shape(t);
	memset(sh, 0, SH_HEAD);
	sh->alpn[0] = '\0';
	if (tc_server_hello_alloc(sh, t->ext_n))
		return TC_ERR_SERVER_HELLO;
	memcpy(sh, t, SH_HEAD);
	memcpy(sh->exts, t->exts, t->ext_n * sizeof *t->exts);
	if (t->alpn_len)
		memcpy(sh->alpn, t->alpn, t->alpn_len + 1u);
	return err;
}

int tc_version_rank(uint16_t v)
{
	switch (v) {
	case TC_V_SSL2:
		return 1;
	case TC_V_SSL3:
		return 2;
	case TC_V_TLS10:
		return 3;
	case TC_V_TLS11:
		return 4;
	case TC_V_TLS12:
		return 5;
	case TC_V_TLS13:
		return 6;
	/* DTLS (RFC 6347, RFC 9147): ranked beside the TLS version each is based on. */
	case 0xfeff:
		return 4;
	case 0xfefd:
		return 5;
	case 0xfefc:
		return 6;
	default:
		return 0;
	}
}

const char *tc_version_name(uint16_t v)
{
	switch (v) {
	case TC_V_SSL2:
		return "SSLv2";
	case TC_V_SSL3:
		return "SSLv3";
	case TC_V_TLS10:
		return "TLSv1.0";
	case TC_V_TLS11:
		return "TLSv1.1";
	case TC_V_TLS12:
		return "TLSv1.2";
	case TC_V_TLS13:
		return "TLSv1.3";
	case 0xfeff:
		return "DTLSv1.0";
	case 0xfefd:
		return "DTLSv1.2";
	case 0xfefc:
		return "DTLSv1.3";
	default:
		return NULL;
	}
}

uint16_t tc_client_max_version(const struct tc_client_hello *ch)
{
	uint16_t best = tc_version_rank(ch->legacy_version) ? ch->legacy_version : 0;

	for (size_t i = 0; i < ch->version_n; i++) {
		uint16_t v = ch->versions[i];
		if (tc_version_rank(v) > tc_version_rank(best))
			best = v;
	}
	return best;
}

const char *tc_err_name(enum tc_err e)
{
	static const char *const names[TC_ERR_COUNT] = {
	    [TC_ERR_NONE] = "none",
	    [TC_ERR_RECORD_LENGTH] = "record_length",
	    [TC_ERR_RECORD_VERSION] = "record_not_tls",
	    [TC_ERR_HANDSHAKE_LENGTH] = "handshake_length",
	    [TC_ERR_CLIENT_HELLO] = "client_hello_malformed",
	    [TC_ERR_SERVER_HELLO] = "server_hello_malformed",
	    [TC_ERR_SSLV2] = "sslv2_hello_malformed",
	    [TC_ERR_EXTENSION] = "extension_malformed",
	    [TC_ERR_UNEXPECTED] = "unexpected_message",
	    [TC_ERR_BOUND] = "hello_over_bound",
	    [TC_ERR_TRUNCATED] = "hello_truncated",
	};
	return (unsigned)e < TC_ERR_COUNT && names[e] ? names[e] : "unknown";
}
