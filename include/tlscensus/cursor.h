/*
 * cursor.h: the one way the dissectors read packet bytes.
 * A cursor is a {pointer, length} window; every read either succeeds and advances, or returns 0
 * and leaves the cursor untouched. Length-prefixed fields become child cursors, so a nested
 * vector can never be read past its own end, let alone past the packet.
 */
#ifndef TLSCENSUS_CURSOR_H
#define TLSCENSUS_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tc_cursor {
	const uint8_t *data;
	size_t len;
};

static inline void tc_cursor_init(struct tc_cursor *c, const uint8_t *data, size_t len)
{
	c->data = data;
	c->len = data ? len : 0;
}

static inline size_t tc_cursor_left(const struct tc_cursor *c)
{
	return c->len;
}

static inline const uint8_t *tc_cursor_ptr(const struct tc_cursor *c)
{
	return c->data;
}

static inline int tc_cursor_skip(struct tc_cursor *c, size_t n)
{
	if (c->len < n)
		return 0;
	c->data += n;
	c->len -= n;
	return 1;
}

/* Reads an unsigned big-endian integer of nbytes (1..4) bytes. */
static inline int tc_cursor_get_be(struct tc_cursor *c, size_t nbytes, uint32_t *out)
{
	uint32_t v = 0;

	if (nbytes == 0 || nbytes > 4 || c->len < nbytes)
		return 0;
	for (size_t i = 0; i < nbytes; i++)
		v = v << 8 | c->data[i];
	*out = v;
	c->data += nbytes;
	c->len -= nbytes;
	return 1;
}

static inline int tc_cursor_get_u8(struct tc_cursor *c, uint8_t *out)
{
	uint32_t v;

	if (!tc_cursor_get_be(c, 1, &v))
		return 0;
	*out = (uint8_t)v;
	return 1;
}

static inline int tc_cursor_get_u16(struct tc_cursor *c, uint16_t *out)
{
	uint32_t v;

	if (!tc_cursor_get_be(c, 2, &v))
		return 0;
	*out = (uint16_t)v;
	return 1;
}

static inline int tc_cursor_get_u24(struct tc_cursor *c, uint32_t *out)
{
	return tc_cursor_get_be(c, 3, out);
}

static inline int tc_cursor_get_u32(struct tc_cursor *c, uint32_t *out)
{
	return tc_cursor_get_be(c, 4, out);
}

/* Splits the next n bytes off into child. */
static inline int tc_cursor_get_bytes(struct tc_cursor *c, size_t n, struct tc_cursor *child)
{
	if (c->len < n)
		return 0;
	tc_cursor_init(child, c->data, n);
	c->data += n;
	c->len -= n;
	return 1;
}

/* A vector whose length is given by a prefix of prefix_bytes (1, 2 or 3) bytes. */
static inline int tc_cursor_get_prefixed(struct tc_cursor *c, size_t prefix_bytes,
                                         struct tc_cursor *child)
{
	struct tc_cursor save = *c;
	uint32_t n;

	if (!tc_cursor_get_be(c, prefix_bytes, &n) || !tc_cursor_get_bytes(c, n, child)) {
		*c = save;
		return 0;
	}
	return 1;
}

/*
 * A length-prefixed vector that must end where c ends: fails, leaving c untouched, when bytes
 * follow it, as picotls's ptls_decode_close_block fails a block its contents did not fill.
 * For a field that is one vector and nothing else (an extension_data holding a list).
 */
static inline int tc_cursor_get_prefixed_exact(struct tc_cursor *c, size_t prefix_bytes,
                                               struct tc_cursor *child)
{
	struct tc_cursor save = *c;

	if (!tc_cursor_get_prefixed(c, prefix_bytes, child) || c->len != 0) {
		*c = save;
		return 0;
	}
	return 1;
}

/* Whether the bytes left in c are exactly the n bytes at p (BoringSSL's CBS_mem_equal). */
static inline int tc_cursor_equal(const struct tc_cursor *c, const uint8_t *p, size_t n)
{
	return c->len == n && (n == 0 || memcmp(c->data, p, n) == 0);
}

/* Copies the bytes left in c to out, which holds cap bytes, and sets *n to their count; fails,
 * copying nothing, when they do not fit. The cursor does not move. */
static inline int tc_cursor_copy(const struct tc_cursor *c, uint8_t *out, size_t cap, size_t *n)
{
	if (c->len > cap)
		return 0;
	if (c->len)
		memcpy(out, c->data, c->len);
	*n = c->len;
	return 1;
}

/* Reads a byte at offset off without advancing. */
static inline int tc_cursor_peek_u8(const struct tc_cursor *c, size_t off, uint8_t *out)
{
	if (off >= c->len)
		return 0;
	*out = c->data[off];
	return 1;
}

#endif
