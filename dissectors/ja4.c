/*
 * ja4.c: the JA4 client fingerprint (FoxIO, technical_details/JA4.md) from an already parsed
 * ClientHello. Reads the hello struct only, never wire bytes. Each hashed part is hashed as it
 * is written, so a short raw-form buffer cuts the copy of the text but never the fingerprint.
 */
#include <stdlib.h>
#include <string.h>

#include "tlscensus/ja4.h"
#include "tlscensus/sha256.h"

static const char ja4_hexdigits[] = "0123456789abcdef";

/* Zeros stand for an empty list, "to make it clear that a field has no values" (JA4.md),
 * rather than the hash of nothing. */
static const char ja4_empty[] = "000000000000";

#define JA4_A_LEN    10 /* part a: t13d1516h2 */
#define JA4_HASH_LEN 12 /* parts b and c: 12 hex digits of SHA-256 */

/* What parts b and c are made of: GREASE (RFC 8701) removed everywhere, as JA4 asks. */
struct ja4_lists {
	uint16_t *ciphers; /* sorted */
	uint16_t *exts;    /* sorted, without SNI and ALPN */
	uint16_t *sigalgs; /* wire order */
	uint16_t *mem;     /* behind the three; the hello's counts size it */
	size_t cipher_n, ext_n, sigalg_n;
	size_t ext_count; /* for part a, where SNI and ALPN still count */
	int has_sni_ext;
};

/* Where the fingerprint text goes: the current part's hash, and str while it fits. */
struct ja4_out {
	struct tc_sha256 sha;
	char *str;
	size_t cap;
	size_t len; /* bytes stored in str, not counting the NUL */
};

/* n, at most max. */
static size_t ja4_bound(size_t n, size_t max)
{
	return n > max ? max : n;
}

static int ja4_cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

static int ja4_collect(const struct tc_client_hello *ch, struct ja4_lists *l)
{
	size_t n;

	l->cipher_n = l->ext_n = l->sigalg_n = l->ext_count = 0;
	l->has_sni_ext = 0;
	l->mem = malloc(((size_t)ch->cipher_n + ch->ext_n + ch->sigalg_n + 1) * sizeof *l->mem);
	if (!l->mem)
		return -1;
	l->ciphers = l->mem;
	l->exts = l->ciphers + ch->cipher_n;
	l->sigalgs = l->exts + ch->ext_n;

	n = ch->cipher_n;
	for (size_t i = 0; i < n; i++) {
		uint32_t v = ch->ciphers[i];

		/* SCSVs and reserved values stay: JA4.md counts and hashes them. */
		if (v <= 0xffff && !tc_is_grease((uint16_t)v))
			l->ciphers[l->cipher_n++] = (uint16_t)v;
	}

	n = ch->ext_n;
	for (size_t i = 0; i < n; i++) {
		uint16_t v = ch->exts[i];

		if (tc_is_grease(v))
			continue;
		l->ext_count++;
		if (v == TC_EXT_SERVER_NAME)
			l->has_sni_ext = 1;
		/* SNI and ALPN are shown in part a; leaving them out of c keeps one client's c the
		 * same whether it dials a name or an address, or asks for another protocol. */
		if (v != TC_EXT_SERVER_NAME && v != TC_EXT_ALPN)
			l->exts[l->ext_n++] = v;
	}

	n = ch->sigalg_n;
	for (size_t i = 0; i < n; i++)
		if (!tc_is_grease(ch->sigalgs[i]))
			l->sigalgs[l->sigalg_n++] = ch->sigalgs[i];

	/* "Sorted in hex order": with fixed-width lower-case hex, the numeric order. */
	qsort(l->ciphers, l->cipher_n, sizeof(l->ciphers[0]), ja4_cmp_u16);
	qsort(l->exts, l->ext_n, sizeof(l->exts[0]), ja4_cmp_u16);
	return 0;
}

/*
 * Order of versions for "the highest value in supported_versions". DTLS numbers its versions
 * downwards (RFC 6347 4.1, RFC 9147 5.3: 1's complement), so 0xfefc (DTLS 1.3) must win over
 * 0xfefd (DTLS 1.2) although it is the smaller number. For TLS this is the plain value.
 */
static uint32_t ja4_version_order(uint16_t v)
{
	if ((v >> 8) == 0xfe)
		return 0xfe00u | (uint8_t)~v;
	return v;
}

/*
 * JA4.md "TLS and DTLS Version": the highest non-GREASE supported_versions value if the
 * extension is there, else the ClientHello legacy_version (never the record-layer version).
 * A supported_versions holding nothing but GREASE names no version; the legacy_version is
 * then the only claim the hello makes, and it is used.
 */
static const char *ja4_version(const struct tc_client_hello *ch)
{
	uint16_t v = ch->legacy_version;
	size_t n = ch->version_n;
	int found = 0;

	for (size_t i = 0; ch->has_versions && i < n; i++) {
		uint16_t x = ch->versions[i];

		if (tc_is_grease(x))
			continue;
		if (!found || ja4_version_order(x) > ja4_version_order(v)) {
			v = x;
			found = 1;
		}
	}

	switch (v) {
	case TC_V_TLS13:
		return "13";
	case TC_V_TLS12:
		return "12";
	case TC_V_TLS11:
		return "11";
	case TC_V_TLS10:
		return "10";
	case TC_V_SSL3:
		return "s3";
	case TC_V_SSL2:
		return "s2";
	case 0xfeff:
		return "d1";
	case 0xfefd:
		return "d2";
	case 0xfefc:
		return "d3";
	default:
		return "00";
	}
}

/* ASCII 0-9, A-Z, a-z: the bytes JA4.md prints as they are. */
static int ja4_alnum(uint8_t b)
{
	return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

/*
 * JA4.md "ALPN Extension Value": first and last character of the first protocol name; "00"
 * without ALPN or with an empty first name. If either end byte is not ASCII alphanumeric, the
 * first and last characters of the name's hex form instead: the high nibble of the first byte
 * and the low nibble of the last (0xba 0xad gives "bd").
 */
static void ja4_alpn(const struct tc_client_hello *ch, char out[2])
{
	size_t have = ch->alpn_len;
	size_t n;
	uint8_t first, last;

	out[0] = out[1] = '0';
	if (!ch->has_alpn || have < 2 || ch->alpn[0] == 0)
		return;
	/* ch->alpn is the wire list: a length byte, then the name. hello.c stores whole names
	 * only, but a cut one must still not be read past. */
	n = ja4_bound(ch->alpn[0], have - 1);
	first = ch->alpn[1];
	last = ch->alpn[n];
	if (ja4_alnum(first) && ja4_alnum(last)) {
		out[0] = (char)first;
		out[1] = (char)last;
	} else {
		out[0] = ja4_hexdigits[first >> 4];
		out[1] = ja4_hexdigits[last & 0x0f];
	}
}

/* Two decimal digits; JA4.md caps the count at 99. */
static void ja4_count(char out[2], size_t n)
{
	n = ja4_bound(n, 99);
	out[0] = (char)('0' + n / 10);
	out[1] = (char)('0' + n % 10);
}

static void ja4_part_a(const struct tc_client_hello *ch, char transport, const struct ja4_lists *l,
                       char a[JA4_A_LEN])
{
	const char *ver = ja4_version(ch);

	a[0] = transport;
	a[1] = ver[0];
	a[2] = ver[1];
	/* The extension, not a parsed name: an empty server_name still says "a domain". */
	a[3] = l->has_sni_ext || ch->has_sni ? 'd' : 'i';
	ja4_count(a + 4, l->cipher_n);
	ja4_count(a + 6, l->ext_count);
	ja4_alpn(ch, a + 8);
}

/* Text of the raw form only (part a, separators between parts). */
static void ja4_text(struct ja4_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
		o->str[o->len++] = s[i];
}

/* Text that is also hashed into the current part. */
static void ja4_put(struct ja4_out *o, const char *s, size_t n)
{
	tc_sha256_update(&o->sha, s, n);
	ja4_text(o, s, n);
}

/* Comma-joined 4-digit lower-case hex, as JA4.md writes every list. */
static void ja4_put_list(struct ja4_out *o, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char hex[5] = {',', ja4_hexdigits[v[i] >> 12], ja4_hexdigits[(v[i] >> 8) & 0x0f],
		               ja4_hexdigits[(v[i] >> 4) & 0x0f], ja4_hexdigits[v[i] & 0x0f]};

		if (i == 0)
			ja4_put(o, hex + 1, 4);
		else
			ja4_put(o, hex, 5);
	}
}

static void ja4_digest(struct ja4_out *o, int empty, char out[JA4_HASH_LEN])
{
	uint8_t sum[TC_SHA256_LEN];

	tc_sha256_final(&o->sha, sum);
	if (empty) {
		memcpy(out, ja4_empty, JA4_HASH_LEN);
		return;
	}
	for (int i = 0; i < JA4_HASH_LEN / 2; i++) {
		out[2 * i] = ja4_hexdigits[sum[i] >> 4];
		out[2 * i + 1] = ja4_hexdigits[sum[i] & 0x0f];
	}
}

/* Leaves empty outputs behind when no fingerprint is defined, so stale text is never read. */
static int ja4_undefined(char *str, size_t strcap, char *ja4)
{
	if (str && strcap > 0)
		str[0] = '\0';
	if (ja4)
		ja4[0] = '\0';
	return 0;
}

int tc_ja4_raw(const struct tc_client_hello *ch, char transport, char *str, size_t strcap,
               char ja4[TC_JA4_LEN])
{
	struct ja4_lists l;
	struct ja4_out o;
	char a[JA4_A_LEN], b[JA4_HASH_LEN], c[JA4_HASH_LEN];

	/* JA4 is defined on the TLS ClientHello layout; the SSLv2 CLIENT-HELLO has neither
	 * extensions nor 16-bit suites. */
	if (ch->sslv2 ||
	    (transport != TC_JA4_TCP && transport != TC_JA4_QUIC && transport != TC_JA4_DTLS))
		return ja4_undefined(str, strcap, ja4);

	if (ja4_collect(ch, &l))
		return ja4_undefined(str, strcap, ja4); /* out of memory */
	ja4_part_a(ch, transport, &l, a);
	o.str = str;
	o.cap = str ? strcap : 0;
	o.len = 0;
	ja4_text(&o, a, JA4_A_LEN);

	ja4_text(&o, "_", 1);
	tc_sha256_init(&o.sha);
	ja4_put_list(&o, l.ciphers, l.cipher_n);
	ja4_digest(&o, l.cipher_n == 0, b);

	/* Part c: sorted extensions, then '_' and the signature algorithms in wire order. With
	 * no signature algorithms the text ends without that '_' (JA4.md, as the FoxIO tools
	 * do; some other implementations keep it, and so disagree on such hellos). */
	ja4_text(&o, "_", 1);
	tc_sha256_init(&o.sha);
	ja4_put_list(&o, l.exts, l.ext_n);
	if (l.sigalg_n > 0) {
		ja4_put(&o, "_", 1);
		ja4_put_list(&o, l.sigalgs, l.sigalg_n);
	}
	ja4_digest(&o, l.ext_n == 0, c);

	free(l.mem);
	if (o.cap > 0)
		o.str[o.len] = '\0';
	if (ja4) {
		memcpy(ja4, a, JA4_A_LEN);
		ja4[JA4_A_LEN] = '_';
		memcpy(ja4 + JA4_A_LEN + 1, b, JA4_HASH_LEN);
		ja4[JA4_A_LEN + 1 + JA4_HASH_LEN] = '_';
		memcpy(ja4 + JA4_A_LEN + 2 + JA4_HASH_LEN, c, JA4_HASH_LEN);
		ja4[TC_JA4_LEN - 1] = '\0';
	}
	return 1;
}

int tc_ja4(const struct tc_client_hello *ch, char transport, char out[TC_JA4_LEN])
{
	return tc_ja4_raw(ch, transport, NULL, 0, out);
}

size_t tc_ja4_raw_size(const struct tc_client_hello *ch)
{
	return 5 * ((size_t)ch->cipher_n + ch->ext_n + ch->sigalg_n) + 32;
}
