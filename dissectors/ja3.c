/*
 * ja3.c: JA3 and JA3S fingerprints (Salesforce, 2017) from already parsed hellos.
 * Reads the hello structs only, never wire bytes. The string is hashed as it is written, so a
 * short caller buffer cuts the copy of the string but never the fingerprint.
 */
#include <stddef.h>
#include <stdint.h>

#include "tlscensus/fingerprint.h"

/* Where the JA3 string goes: always into the hash, into str while it fits. */
struct ja3_out {
	struct tc_md5 md5;
	char *str;
	size_t cap;
	size_t len; /* bytes stored in str, not counting the NUL */
};

static void ja3_put(struct ja3_out *o, const char *s, size_t n)
{
	tc_md5_update(&o->md5, s, n);
	for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
		o->str[o->len++] = s[i];
}

static void ja3_put_dec(struct ja3_out *o, uint32_t v)
{
	char buf[10];
	size_t n = sizeof(buf);

	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	ja3_put(o, buf + n, sizeof(buf) - n);
}

static void ja3_put_comma(struct ja3_out *o)
{
	ja3_put(o, ",", 1);
}

/*
 * One '-'-joined list. GREASE (RFC 8701) is dropped: clients pick those values at random per
 * connection, and JA3 leaves them out so one client keeps one fingerprint.
 */
static void ja3_put_list(struct ja3_out *o, const void *items, size_t width, size_t n,
                         int drop_grease)
{
	const uint8_t *base = items;
	int first = 1;

	for (size_t i = 0; i < n; i++) {
		uint32_t v;

		if (width == sizeof(uint32_t))
			v = ((const uint32_t *)items)[i];
		else if (width == sizeof(uint16_t))
			v = ((const uint16_t *)items)[i];
		else
			v = base[i];
		if (drop_grease && v <= 0xffff && tc_is_grease((uint16_t)v))
			continue;
		if (!first)
			ja3_put(o, "-", 1);
		ja3_put_dec(o, v);
		first = 0;
	}
}

static void ja3_begin(struct ja3_out *o, char *str, size_t strcap)
{
	tc_md5_init(&o->md5);
	o->str = str;
	o->cap = str ? strcap : 0;
	o->len = 0;
}

static void ja3_end(struct ja3_out *o, char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t sum[TC_MD5_LEN];

	if (o->cap > 0)
		o->str[o->len] = '\0';
	tc_md5_final(&o->md5, sum);
	for (int i = 0; i < TC_MD5_LEN; i++) {
		hex[2 * i] = digits[sum[i] >> 4];
		hex[2 * i + 1] = digits[sum[i] & 0x0f];
	}
	hex[32] = '\0';
}

/* Leaves empty outputs behind when no fingerprint is defined, so stale text is never read. */
static int ja3_undefined(char *str, size_t strcap, char hex[33])
{
	if (str && strcap > 0)
		str[0] = '\0';
	hex[0] = '\0';
	return 0;
}

/* JA3 is defined on the TLS ClientHello layout; the SSLv2 CLIENT-HELLO has no extensions and
 * 24-bit cipher kinds, and the original definition does not cover it. */
int tc_ja3(const struct tc_client_hello *ch, char *str, size_t strcap, char hex[33])
{
	struct ja3_out o;

	if (ch->sslv2)
		return ja3_undefined(str, strcap, hex);

	ja3_begin(&o, str, strcap);
	ja3_put_dec(&o, ch->legacy_version);
	ja3_put_comma(&o);
	ja3_put_list(&o, ch->ciphers, sizeof(ch->ciphers[0]), ch->cipher_n, 1);
	ja3_put_comma(&o);
	ja3_put_list(&o, ch->exts, sizeof(ch->exts[0]), ch->ext_n, 1);
	ja3_put_comma(&o);
	ja3_put_list(&o, ch->groups, sizeof(ch->groups[0]), ch->group_n, 1);
	ja3_put_comma(&o);
	/* Point formats are one byte wide; GREASE values are two, so none can occur here. */
	ja3_put_list(&o, ch->pointfmts, sizeof(ch->pointfmts[0]), ch->pointfmt_n, 0);
	ja3_end(&o, hex);
	return 1;
}

/* JA3S takes the ServerHello legacy_version, so a TLS 1.3 server shows 771, as in the
 * reference implementation; the negotiated version is a separate field of the record. */
int tc_ja3s(const struct tc_server_hello *sh, char *str, size_t strcap, char hex[33])
{
	struct ja3_out o;

	if (sh->sslv2)
		return ja3_undefined(str, strcap, hex);

	ja3_begin(&o, str, strcap);
	ja3_put_dec(&o, sh->legacy_version);
	ja3_put_comma(&o);
	ja3_put_dec(&o, sh->cipher);
	ja3_put_comma(&o);
	ja3_put_list(&o, sh->exts, sizeof(sh->exts[0]), sh->ext_n, 1);
	ja3_end(&o, hex);
	return 1;
}

/* Decimal digits and a separator per value (suites: up to 10 digits, as SSLv2 kinds would
 * need), the version, the commas and the NUL. */
size_t tc_ja3_str_size(const struct tc_client_hello *ch)
{
	return 11 * (size_t)ch->cipher_n + 6 * ((size_t)ch->ext_n + ch->group_n + ch->pointfmt_n) +
	       32;
}

size_t tc_ja3s_str_size(const struct tc_server_hello *sh)
{
	return 6 * (size_t)sh->ext_n + 32;
}
