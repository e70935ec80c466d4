/*
 * hello.c: ClientHello and ServerHello bodies (RFC 5246 7.4.1, RFC 8446 4.1) into facts.
 * Input is one complete handshake message body; every read goes through the bounded cursor.
 * A malformed body ends the parse with a reason, keeping what was read before the damage.
 */
#include <string.h>

#include "tlscensus/cursor.h"
#include "tlscensus/dissector.h"
#include "tlscensus/hello.h"

/* RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256 of this text. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* Appends v to a capped list, flagging the cut instead of overrunning. */
#define LIST_PUSH(arr, n, cap, v, trunc_field, bit)                                                \
	do {                                                                                       \
		if ((n) < (cap))                                                                   \
			(arr)[(n)++] = (v);                                                        \
		else                                                                               \
			(trunc_field) |= (bit);                                                    \
	} while (0)

static int read_u16_list(struct tc_cursor *c, size_t prefix, uint16_t *arr, uint16_t *n, size_t cap,
                         uint16_t *trunc, uint16_t bit)
{
	struct tc_cursor list;
	uint16_t v;

	if (!tc_cursor_get_prefixed_exact(c, prefix, &list) || tc_cursor_left(&list) % 2)
		return 0;
	while (tc_cursor_get_u16(&list, &v))
		LIST_PUSH(arr, *n, cap, v, *trunc, bit);
	return 1;
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

/* RFC 7301 3.1: kept in wire form; each name must be non-empty and inside the list. */
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
		/* The length byte, then the name, both within TC_MAX_ALPN. */
		size_t room = TC_MAX_ALPN - ch->alpn_len;
		if (room < 1 || !tc_cursor_copy(&name, ch->alpn + ch->alpn_len + 1, room - 1, &n)) {
			ch->trunc |= TC_TRUNC_ALPN;
			break;
		}
		ch->alpn[ch->alpn_len] = (uint8_t)n;
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
		LIST_PUSH(ch->kshares, ch->kshare_n, TC_MAX_KSHARES, group, ch->trunc,
		          TC_TRUNC_KSHARES);
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
		return read_u16_list(&ext, 2, ch->groups, &ch->group_n, TC_MAX_GROUPS, &ch->trunc,
		                     TC_TRUNC_GROUPS);
	case TC_EXT_EC_POINT_FORMATS:
		if (!tc_cursor_get_prefixed_exact(&ext, 1, &list))
			return 0;
		ch->has_pointfmt = 1;
		while (tc_cursor_get_u8(&list, &b))
			LIST_PUSH(ch->pointfmts, ch->pointfmt_n, TC_MAX_POINTFMT, b, ch->trunc,
			          TC_TRUNC_POINTFMT);
		return 1;
	case TC_EXT_SIGNATURE_ALGORITHMS:
		ch->has_sigalgs = 1;
		return read_u16_list(&ext, 2, ch->sigalgs, &ch->sigalg_n, TC_MAX_SIGALGS,
		                     &ch->trunc, TC_TRUNC_SIGALGS);
	case TC_EXT_ALPN:
		return parse_alpn(ext, ch);
	case TC_EXT_SESSION_TICKET:
		ch->has_session_ticket = 1;
		return 1;
	case TC_EXT_SUPPORTED_VERSIONS:
		ch->has_versions = 1;
		return read_u16_list(&ext, 1, ch->versions, &ch->version_n, TC_MAX_VERSIONS,
		                     &ch->trunc, TC_TRUNC_VERSIONS);
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
                                   uint16_t *trunc, int (*one)(uint16_t, struct tc_cursor, void *),
                                   void *arg)
{
	struct tc_cursor block, ext;
	enum tc_err err = TC_ERR_NONE;
	uint16_t type;

	if (!tc_cursor_get_prefixed(c, 2, &block))
		return TC_ERR_EXTENSION;
	while (tc_cursor_left(&block)) {
		if (!tc_cursor_get_u16(&block, &type))
			return TC_ERR_EXTENSION;
		LIST_PUSH(exts, *ext_n, TC_MAX_EXTS, type, *trunc, TC_TRUNC_EXTS);
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

/* The one ClientHello body parser; dtls adds the cookie of RFC 6347 4.2.1 after session_id
 * (RFC 9147 5.3 keeps it as legacy_cookie). Nothing else differs on the wire. */
static enum tc_err parse_client_hello(const uint8_t *body, size_t len, struct tc_client_hello *ch,
                                      int dtls)
{
	struct tc_cursor c, list;
	uint16_t cs;
	uint8_t b;

	memset(ch, 0, sizeof(*ch));
	ch->dtls = (uint8_t)dtls;
	tc_cursor_init(&c, body, len);
	if (!tc_cursor_get_u16(&c, &ch->legacy_version) || !tc_cursor_skip(&c, 32))
		return TC_ERR_CLIENT_HELLO;
	if (!tc_cursor_get_prefixed(&c, 1, &list) || tc_cursor_left(&list) > 32)
		return TC_ERR_CLIENT_HELLO;
	ch->session_id_len = (uint8_t)tc_cursor_left(&list);
	/* RFC 6347 4.2.1: opaque cookie<0..2^8-1> (RFC 4347 had <0..32>). */
	if (dtls && !tc_cursor_get_prefixed(&c, 1, &list))
		return TC_ERR_CLIENT_HELLO;
	if (dtls)
		ch->cookie_len = (uint8_t)tc_cursor_left(&list);
	if (!tc_cursor_get_prefixed(&c, 2, &list) || tc_cursor_left(&list) % 2)
		return TC_ERR_CLIENT_HELLO;
	while (tc_cursor_get_u16(&list, &cs)) {
		if (cs == TC_CS_FALLBACK_SCSV)
			ch->fallback_scsv = 1;
		LIST_PUSH(ch->ciphers, ch->cipher_n, TC_MAX_CIPHERS, cs, ch->trunc,
		          TC_TRUNC_CIPHERS);
	}
	if (!tc_cursor_get_prefixed(&c, 1, &list))
		return TC_ERR_CLIENT_HELLO;
	while (tc_cursor_get_u8(&list, &b))
		LIST_PUSH(ch->compress, ch->compress_n, TC_MAX_COMPRESS, b, ch->trunc,
		          TC_TRUNC_COMPRESS);
	/* RFC 5246 7.4.1.2: the extensions block may be absent altogether. */
	if (!tc_cursor_left(&c))
		return TC_ERR_NONE;
	ch->has_extensions = 1;
	return walk_extensions(&c, ch->exts, &ch->ext_n, &ch->trunc, client_ext_cb, ch);
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
		 * selected_group; either way the group comes first. The key bytes are not needed. */
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

enum tc_err tc_parse_server_hello(const uint8_t *body, size_t len, struct tc_server_hello *sh)
{
	struct tc_cursor c, random, sid;
	uint16_t cs;

	memset(sh, 0, sizeof(*sh));
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
	return walk_extensions(&c, sh->exts, &sh->ext_n, &sh->trunc, server_ext_cb, sh);
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
