/*
 * policy.c: what counts as legacy, as data. Parses policy files (the built-in ones are the same
 * files, embedded) and judges a version and suite against one. No database, no output.
 *
 * The policy file format (also in policies/README.md)
 * ----------------------------------------------------
 * Plain text, one directive per line. '#' at the start of a line, or after a blank, starts a
 * comment that runs to the end of the line; blank lines are ignored. A directive is a word
 * followed by its arguments, separated by blanks:
 *
 *   name NAME                  one word; default: the file name without ".policy"
 *   description TEXT           one line for reports (the rest of the line)
 *   source TEXT                where the rule comes from; may repeat
 *   min-version VERSION        effective versions older than VERSION are legacy
 *   deny-version VERSION...    these versions are legacy as well
 *   deny-cipher ITEM...        negotiated suites that are legacy; ITEM is a class (NULL, EXPORT,
 *                              ANON, RC4, DES, 3DES, RC2, MD5: the suite's name says so, see
 *                              ciphers.h), an IANA suite name, or a value 0xHHHH
 *   allow-cipher SUITE...      an allow-list: once any is given, a negotiated suite that is not
 *                              listed is legacy (deny-cipher still applies); may repeat
 *   require-group GROUP...     an allow-list of key-exchange groups: once any is given, a
 *                              connection that did not negotiate one of them (a TLS 1.3
 *                              ServerHello's key_share) is legacy; may repeat. GROUP is a kind
 *                              (PQ = HYBRID and MLKEM, HYBRID, MLKEM, DRAFT, ECDHE, FFDHE,
 *                              CLASSICAL = ECDHE and FFDHE; groups.h), an IANA group name, or
 *                              0xHHHH
 *   deny-group GROUP...        negotiated groups that are legacy
 *   deny-hrr                   a ServerHello that came after a HelloRetryRequest is legacy (the
 *                              client's key shares missed the group the server wanted)
 *
 * VERSION is SSLv2, SSLv3, TLSv1.0 ... TLSv1.3, DTLSv1.0, DTLSv1.2, DTLSv1.3 (the "v" may be
 * left out, case does not matter) or 0xHHHH; versions compare by rank, DTLS beside the TLS
 * version it derives from. Names and classes are case-insensitive. A policy needs at least one
 * rule. Errors name the file and line.
 *
 * How a connection is judged: its effective version (negotiated; without a ServerHello, the
 * client's highest offer) against the version rules; a version without a rank (a draft, GREASE)
 * cannot be judged and passes. The suite is judged only when one was negotiated. The group rules
 * judge the group in the ServerHello's key_share: TLS 1.2 and older negotiate none the census
 * can see (their group travels in ServerKeyExchange, which is not parsed), so require-group
 * flags them and deny-group cannot. A connection without key-exchange facts (a row pruned
 * before they were kept) cannot be judged by the group rules and passes them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ciphers.h"
#include "datafile.h"
#include "groups.h"
#include "policy.h"
#include "util.h"
#include "tlscensus/hello.h"

#define POLICY_MAX_DENY_VERSIONS 16
#define POLICY_MAX_LINE_ERR      64 /* bytes of an offending word quoted in an error */

/* Reason texts are built on first use and kept, so policy_judge can hand out pointers that live
 * as long as the policy although the policy itself is const for the caller. */
struct reason_cache {
	struct reason {
		uint16_t version;
		uint8_t negotiated;
		uint32_t cipher;
		int group; /* -1 none, -2 no key-exchange facts */
		uint8_t hrr;
		char *text;
	} * v;
	size_t n, cap;
};

struct policy {
	char *name, *description;
	int min_rank; /* 0: no minimum */
	uint16_t deny_versions[POLICY_MAX_DENY_VERSIONS];
	size_t n_deny_versions;
	unsigned deny_classes; /* CIPHER_* bits */
	uint32_t *deny_suites, *allow_suites;
	size_t n_deny_suites, n_allow_suites;
	int has_allow;
	unsigned require_kinds, deny_kinds; /* GROUP_* bits */
	uint16_t *require_groups, *deny_groups;
	size_t n_require_groups, n_deny_groups;
	int has_require_group, deny_hrr;
	struct reason_cache *cache;
};

static const struct {
	const char *name;
	unsigned bit;
} cipher_classes[] = {
    {"NULL", CIPHER_NULL}, {"EXPORT", CIPHER_EXPORT}, {"ANON", CIPHER_ANON}, {"RC4", CIPHER_RC4},
    {"DES", CIPHER_DES},   {"3DES", CIPHER_3DES},     {"RC2", CIPHER_RC2},   {"MD5", CIPHER_MD5},
};

/* ---------------------------------------------------------------- parsing helpers */

struct parser {
	const char *origin;
	int line;
	char *err;
	size_t errlen;
};

/* The message is before + 'word' + after (word cut to a few dozen bytes; NULL: no word).
 * Always returns -1. */
static int fail_word(struct parser *ps, const char *before, const char *word, const char *after)
{
	char msg[320];

	if (word)
		snprintf(msg, sizeof msg, "%s'%.*s'%s", before, POLICY_MAX_LINE_ERR, word, after);
	else
		snprintf(msg, sizeof msg, "%s", before);
	if (ps->line)
		snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->origin, ps->line, msg);
	else
		snprintf(ps->err, ps->errlen, "%s: %s", ps->origin, msg);
	return -1;
}

static int fail(struct parser *ps, const char *msg)
{
	return fail_word(ps, msg, NULL, "");
}

/* "TLSv1.2", "tls1.2", "DTLSv1.0", "SSLv3", "0x0303" -> wire value; 0 when unknown. */
static uint16_t parse_version(const char *word)
{
	static const uint16_t known[] = {TC_V_SSL2,  TC_V_SSL3, TC_V_TLS10, TC_V_TLS11, TC_V_TLS12,
	                                 TC_V_TLS13, 0xfeff,    0xfefd,     0xfefc};
	char *end;

	if (!strncasecmp(word, "0x", 2)) {
		unsigned long v = strtoul(word + 2, &end, 16);

		return *end || end == word + 2 || v > 0xffff || v == 0 ? 0 : (uint16_t)v;
	}
	for (size_t i = 0; i < COUNT_OF(known); i++) {
		const char *name = tc_version_name(known[i]); /* "TLSv1.2" */
		const char *v = strchr(name, 'v');
		size_t prefix = (size_t)(v - name);

		if (!strcasecmp(word, name) ||
		    (!strncasecmp(word, name, prefix) && !strcasecmp(word + prefix, v + 1)))
			return known[i];
	}
	return 0;
}

static unsigned parse_class(const char *word)
{
	for (size_t i = 0; i < COUNT_OF(cipher_classes); i++)
		if (!strcasecmp(word, cipher_classes[i].name))
			return cipher_classes[i].bit;
	return 0;
}

static const struct {
	const char *name;
	unsigned bits;
} group_kinds[] = {
    {"PQ", GROUP_PQ},
    {"HYBRID", GROUP_HYBRID},
    {"MLKEM", GROUP_MLKEM},
    {"DRAFT", GROUP_DRAFT},
    {"ECDHE", GROUP_ECDHE},
    {"FFDHE", GROUP_FFDHE},
    {"CLASSICAL", GROUP_CLASSICAL},
};

static unsigned parse_group_kind(const char *word)
{
	for (size_t i = 0; i < COUNT_OF(group_kinds); i++)
		if (!strcasecmp(word, group_kinds[i].name))
			return group_kinds[i].bits;
	return 0;
}

/* An IANA group name or 0xHHHH -> 1 and the value; 0 when neither. */
static int parse_group(const char *word, uint16_t *out)
{
	char *end;

	if (!strncasecmp(word, "0x", 2)) {
		unsigned long v = strtoul(word + 2, &end, 16);

		if (*end || end == word + 2 || v > 0xffff)
			return 0;
		*out = (uint16_t)v;
		return 1;
	}
	for (size_t i = 0; i < group_count(); i++)
		if (!strcasecmp(word, group_at(i)->name)) {
			*out = group_at(i)->value;
			return 1;
		}
	return 0;
}

/* An IANA suite name or 0xHHHH -> 1 and the value; 0 when neither. */
static int parse_suite(const char *word, uint32_t *out)
{
	char *end;

	if (!strncasecmp(word, "0x", 2)) {
		unsigned long v = strtoul(word + 2, &end, 16);

		if (*end || end == word + 2 || v > 0xffffff)
			return 0;
		*out = (uint32_t)v;
		return 1;
	}
	for (size_t i = 0; i < cipher_count(); i++) {
		const struct cipher_suite *cs = cipher_at(i);

		if (!strcasecmp(word, cs->name)) {
			*out = cs->value;
			return 1;
		}
	}
	return 0;
}

static int add_suite(uint32_t **v, size_t *n, uint32_t value)
{
	uint32_t *grown = realloc(*v, (*n + 1) * sizeof **v);

	if (!grown)
		return -1;
	grown[(*n)++] = value;
	*v = grown;
	return 0;
}

/* The text after the directive word, trimmed: for description and source. */
static const char *rest_of_line(const char *line, const char *directive)
{
	const char *p = strstr(line, directive) + strlen(directive);

	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* ---------------------------------------------------------------- directives */

static int set_text(struct parser *ps, char **field, const char *text, const char *what)
{
	if (*field)
		return fail(ps, what);
	*field = strdup(text);
	return *field ? 0 : fail(ps, "out of memory");
}

static int do_versions(struct parser *ps, struct policy *p, char **w, size_t n, int is_min)
{
	if (n < 2)
		return fail(ps, is_min ? "min-version wants a version, e.g. TLSv1.2"
		                       : "deny-version wants at least one version");
	if (is_min && n > 2)
		return fail(ps, "min-version takes one version, not a list");
	if (is_min && p->min_rank)
		return fail(ps, "min-version given twice");
	for (size_t i = 1; i < n; i++) {
		uint16_t v = parse_version(w[i]);

		if (!v || (is_min && !tc_version_rank(v)))
			return fail_word(ps, "unknown version ", w[i],
			                 " (SSLv2, SSLv3, TLSv1.0 to TLSv1.3, DTLSv1.0, DTLSv1.2, "
			                 "DTLSv1.3, or 0xHHHH)");
		if (is_min) {
			p->min_rank = tc_version_rank(v);
		} else {
			if (p->n_deny_versions == POLICY_MAX_DENY_VERSIONS)
				return fail(ps, "too many deny-version entries");
			p->deny_versions[p->n_deny_versions++] = v;
		}
	}
	return 0;
}

static int do_ciphers(struct parser *ps, struct policy *p, char **w, size_t n, int allow)
{
	if (n < 2)
		return fail(ps, allow ? "allow-cipher wants at least one suite"
		                      : "deny-cipher wants at least one suite or class");
	for (size_t i = 1; i < n; i++) {
		unsigned bit = parse_class(w[i]);
		uint32_t v;

		if (bit && allow)
			return fail_word(ps, "allow-cipher takes suites, not a class such as ",
			                 w[i], "");
		if (bit) {
			p->deny_classes |= bit;
			continue;
		}
		if (!parse_suite(w[i], &v))
			return fail_word(
			    ps, allow ? "unknown cipher suite " : "unknown cipher suite or class ",
			    w[i],
			    allow ? " (an IANA name such as TLS_AES_128_GCM_SHA256, or "
			            "0xHHHH)"
			          : " (a class: NULL, EXPORT, ANON, RC4, DES, 3DES, RC2, MD5; "
			            "an IANA name; or 0xHHHH)");
		if (allow ? add_suite(&p->allow_suites, &p->n_allow_suites, v)
		          : add_suite(&p->deny_suites, &p->n_deny_suites, v))
			return fail(ps, "out of memory");
		p->has_allow |= allow;
	}
	return 0;
}

static int add_group(uint16_t **v, size_t *n, uint16_t value)
{
	uint16_t *grown = realloc(*v, (*n + 1) * sizeof **v);

	if (!grown)
		return -1;
	grown[(*n)++] = value;
	*v = grown;
	return 0;
}

static int do_groups(struct parser *ps, struct policy *p, char **w, size_t n, int require)
{
	if (n < 2)
		return fail(ps, require
		                    ? "require-group wants at least one group or kind, e.g. PQ"
		                    : "deny-group wants at least one group or kind, e.g. DRAFT");
	for (size_t i = 1; i < n; i++) {
		unsigned bits = parse_group_kind(w[i]);
		uint16_t v;

		if (bits) {
			*(require ? &p->require_kinds : &p->deny_kinds) |= bits;
		} else if (!parse_group(w[i], &v)) {
			return fail_word(
			    ps, "unknown group ", w[i],
			    " (a kind: PQ, HYBRID, MLKEM, DRAFT, ECDHE, FFDHE, CLASSICAL; "
			    "an IANA name such as X25519MLKEM768; or 0xHHHH)");
		} else if (require ? add_group(&p->require_groups, &p->n_require_groups, v)
		                   : add_group(&p->deny_groups, &p->n_deny_groups, v)) {
			return fail(ps, "out of memory");
		}
		p->has_require_group |= require;
	}
	return 0;
}

/* One line, comment already cut. line_copy is the same text for rest_of_line. */
static int parse_line(struct parser *ps, struct policy *p, char *line, const char *line_copy)
{
	char *w[256];
	size_t n = datafile_words(line, w, COUNT_OF(w));

	if (n == 0)
		return 0;
	if (n == COUNT_OF(w))
		return fail(ps, "too many words on one line (split the list over several lines)");
	if (!strcmp(w[0], "name")) {
		if (n != 2)
			return fail(ps, "name wants one word");
		return set_text(ps, &p->name, w[1], "name given twice");
	}
	if (!strcmp(w[0], "description")) {
		if (n < 2)
			return fail(ps, "description wants text");
		return set_text(ps, &p->description, rest_of_line(line_copy, "description"),
		                "description given twice");
	}
	if (!strcmp(w[0], "source"))
		return n < 2 ? fail(ps, "source wants text") : 0;
	if (!strcmp(w[0], "min-version") || !strcmp(w[0], "deny-version"))
		return do_versions(ps, p, w, n, w[0][0] == 'm');
	if (!strcmp(w[0], "deny-cipher") || !strcmp(w[0], "allow-cipher"))
		return do_ciphers(ps, p, w, n, w[0][0] == 'a');
	if (!strcmp(w[0], "require-group") || !strcmp(w[0], "deny-group"))
		return do_groups(ps, p, w, n, w[0][0] == 'r');
	if (!strcmp(w[0], "deny-hrr")) {
		if (n != 1)
			return fail(ps, "deny-hrr takes no argument");
		p->deny_hrr = 1;
		return 0;
	}
	return fail_word(ps, "unknown directive ", w[0],
	                 " (name, description, source, min-version, deny-version, deny-cipher, "
	                 "allow-cipher, require-group, deny-group, deny-hrr)");
}

/* "dir/my.policy" -> "my". */
static char *name_from_origin(const char *origin)
{
	const char *base = strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin;
	size_t n = strlen(base);

	if (n > 7 && !strcmp(base + n - 7, ".policy"))
		n -= 7;
	return strndup(base, n);
}

struct policy *policy_parse(const char *text, size_t len, const char *origin, char *err,
                            size_t errlen)
{
	struct parser ps = {origin, 0, err, errlen};
	struct policy *p = calloc(1, sizeof *p);
	char *line = NULL, *copy = NULL;
	size_t pos = 0;
	int rc = 0;

	if (!p || !(p->cache = calloc(1, sizeof *p->cache))) {
		fail(&ps, "out of memory");
		goto bad;
	}
	while (rc == 0 && pos < len) {
		size_t n = 0;
		int oom = 0;

		ps.line++;
		free(line);
		free(copy);
		line = datafile_next_line(text, len, &pos, &n, &oom);
		copy = line ? strdup(line) : NULL;
		if (!copy) {
			rc = fail(&ps, "out of memory");
			break;
		}
		if (strlen(line) != n) {
			rc = fail(&ps, "a NUL byte: not a text file");
			break;
		}
		datafile_strip_comment(line);
		datafile_strip_comment(copy);
		rc = parse_line(&ps, p, line, copy);
	}
	free(line);
	free(copy);
	if (rc)
		goto bad;
	ps.line = 0;
	if (!p->min_rank && !p->n_deny_versions && !p->deny_classes && !p->n_deny_suites &&
	    !p->has_allow && !policy_judges_groups(p)) {
		fail(&ps,
		     "no rule: give min-version, deny-version, deny-cipher, allow-cipher, "
		     "require-group, deny-group or deny-hrr (a policy without one would accept "
		     "everything)");
		goto bad;
	}
	if (!p->name && !(p->name = name_from_origin(origin)))
		goto bad;
	if (!p->description && !(p->description = strdup(p->name)))
		goto bad;
	return p;
bad:
	policy_free(p);
	return NULL;
}

void policy_builtin_names(char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < tc_embedded_count; i++) {
		const char *name = tc_embedded_files[i].name;
		size_t n = strlen(name);
		int w;

		if (n <= 7 || strcmp(name + n - 7, ".policy"))
			continue;
		w = snprintf(buf + used, len - used, "%s%.*s", used ? ", " : "", (int)(n - 7),
		             name);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

struct policy *policy_load(const char *name_or_path, char *err, size_t errlen)
{
	char file[128], builtin[160] = "", names[128];
	struct datafile df;
	struct policy *p;
	int found = 0;

	/* A bare word is a built-in policy's name; anything with a '/' is always a file. */
	if (!strchr(name_or_path, '/') && strlen(name_or_path) < sizeof file - 8) {
		snprintf(file, sizeof file, "%s.policy", name_or_path);
		snprintf(builtin, sizeof builtin, "policies/%s", file);
		found = embedded_find(file) != NULL;
	}
	if (datafile_load(&df, found ? NULL : name_or_path, builtin, "policy file", err, errlen)) {
		if (!strchr(name_or_path, '/')) {
			policy_builtin_names(names, sizeof names);
			snprintf(err, errlen,
			         "unknown policy '%s': not a built-in policy (%s) and no such file",
			         name_or_path, names);
		}
		return NULL;
	}
	p = policy_parse(df.text, df.len, df.origin, err, errlen);
	datafile_free(&df);
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	if (p->cache) {
		for (size_t i = 0; i < p->cache->n; i++)
			free(p->cache->v[i].text);
		free(p->cache->v);
		free(p->cache);
	}
	free(p->name);
	free(p->description);
	free(p->deny_suites);
	free(p->allow_suites);
	free(p->require_groups);
	free(p->deny_groups);
	free(p);
}

const char *policy_name(const struct policy *p)
{
	return p->name;
}

const char *policy_description(const struct policy *p)
{
	return p->description;
}

/* ---------------------------------------------------------------- judging */

int policy_accepts_version(const struct policy *p, uint16_t version)
{
	int rank = tc_version_rank(version);

	if (!rank)
		return 1;
	if (p->min_rank && rank < p->min_rank)
		return 0;
	for (size_t i = 0; i < p->n_deny_versions; i++)
		if (p->deny_versions[i] == version)
			return 0;
	return 1;
}

static int in_list(const uint32_t *v, size_t n, uint32_t value)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == value)
			return 1;
	return 0;
}

/* Writes the cipher half of a reason into buf; 0 when the suite is acceptable. */
static int cipher_reason(const struct policy *p, uint32_t cipher, char *buf, size_t len)
{
	unsigned hit = cipher_weakness(cipher) & p->deny_classes;

	buf[0] = '\0';
	if (hit) {
		size_t used = 0;

		for (size_t i = 0; i < COUNT_OF(cipher_classes); i++)
			if (hit & cipher_classes[i].bit)
				used += (size_t)snprintf(buf + used, len - used, "%s%s",
				                         used ? "," : "", cipher_classes[i].name);
		snprintf(buf + used, len - used, " cipher");
		return 1;
	}
	if (in_list(p->deny_suites, p->n_deny_suites, cipher)) {
		snprintf(buf, len, "denied cipher");
		return 1;
	}
	if (p->has_allow && !in_list(p->allow_suites, p->n_allow_suites, cipher)) {
		snprintf(buf, len, "cipher not in policy");
		return 1;
	}
	return 0;
}

static int in_groups(const uint16_t *v, size_t n, uint16_t value)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == value)
			return 1;
	return 0;
}

int policy_judges_groups(const struct policy *p)
{
	return p->has_require_group || p->deny_kinds || p->n_deny_groups || p->deny_hrr;
}

int policy_accepts_group(const struct policy *p, uint16_t group)
{
	unsigned kind = group_kind(group);

	if ((kind & p->deny_kinds) || in_groups(p->deny_groups, p->n_deny_groups, group))
		return 0;
	return !p->has_require_group || (kind & p->require_kinds) ||
	       in_groups(p->require_groups, p->n_require_groups, group);
}

/* The group half of a reason into buf; its POLICY_FLAG_* bits (0: acceptable). */
static unsigned group_reason(const struct policy *p, uint16_t version, int negotiated,
                             const struct policy_kx *kx, char *buf, size_t len)
{
	unsigned flags = 0;
	char hex[8];
	int n = 0;

	buf[0] = '\0';
	if (!kx)
		return 0;
	if (kx->group < 0 && p->has_require_group) {
		flags |= POLICY_FLAG_GROUP;
		if (!negotiated)
			n = snprintf(buf, len, "no ServerHello");
		else if (tc_version_rank(version) < tc_version_rank(TC_V_TLS13))
			n = snprintf(buf, len, "no key_share group (%s)",
			             tc_version_name(version) ? tc_version_name(version)
			                                      : "old TLS");
		else
			n = snprintf(buf, len, "no key_share group");
	} else if (kx->group >= 0 && !policy_accepts_group(p, (uint16_t)kx->group)) {
		flags |= POLICY_FLAG_GROUP;
		n = snprintf(buf, len, "%s group %s",
		             group_kind_name(group_kind((uint16_t)kx->group)),
		             group_text((uint16_t)kx->group, hex));
	}
	if (p->deny_hrr && kx->hrr && negotiated) {
		flags |= POLICY_FLAG_HRR;
		if (n > 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, ", after HelloRetryRequest");
		else if (n == 0)
			snprintf(buf, len, "%s after HelloRetryRequest",
			         kx->group >= 0 ? group_text((uint16_t)kx->group, hex)
			                        : "ServerHello");
	}
	return flags;
}

static const char *intern_reason(const struct policy *p, const struct reason *key, const char *text)
{
	struct reason_cache *c = p->cache;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct reason *v = realloc(c->v, cap * sizeof *v);

		if (!v)
			return "legacy"; /* out of memory: the verdict stands, the detail is lost */
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n] = *key;
	c->v[c->n].text = strdup(text);
	if (!c->v[c->n].text)
		return "legacy";
	return c->v[c->n++].text;
}

const char *policy_judge_kx(const struct policy *p, uint16_t version, int negotiated,
                            uint32_t cipher, const struct policy_kx *kx, unsigned *flags)
{
	char vtext[48] = "", ctext[64] = "", gtext[96] = "", text[224];
	struct reason key;
	unsigned why = 0;

	negotiated = negotiated ? 1 : 0;
	if (!negotiated)
		cipher = POLICY_NO_CIPHER;
	if (!policy_accepts_version(p, version))
		why |= POLICY_FLAG_VERSION;
	if (cipher != POLICY_NO_CIPHER && cipher_reason(p, cipher, ctext, sizeof ctext))
		why |= POLICY_FLAG_CIPHER;
	why |= group_reason(p, version, negotiated, kx, gtext, sizeof gtext);
	if (flags)
		*flags = why;
	if (!why)
		return NULL;
	key = (struct reason){.version = version,
	                      .negotiated = (uint8_t)negotiated,
	                      .cipher = cipher,
	                      .group = kx ? kx->group : -2,
	                      .hrr = (uint8_t)(kx && kx->hrr)};
	for (size_t i = 0; i < p->cache->n; i++) {
		const struct reason *r = &p->cache->v[i];

		if (r->version == key.version && r->negotiated == key.negotiated &&
		    r->cipher == key.cipher && r->group == key.group && r->hrr == key.hrr)
			return r->text;
	}
	if (why & POLICY_FLAG_VERSION) {
		const char *name = tc_version_name(version);

		if (name)
			snprintf(vtext, sizeof vtext, "%s", name);
		else
			snprintf(vtext, sizeof vtext, "0x%04x", version);
		if (!negotiated)
			snprintf(vtext + strlen(vtext), sizeof vtext - strlen(vtext),
			         " offered, no ServerHello");
	}
	snprintf(text, sizeof text, "%s%s%s%s%s", vtext, vtext[0] && ctext[0] ? ", " : "", ctext,
	         (vtext[0] || ctext[0]) && gtext[0] ? ", " : "", gtext);
	return intern_reason(p, &key, text);
}

const char *policy_judge(const struct policy *p, uint16_t version, int negotiated, uint32_t cipher)
{
	return policy_judge_kx(p, version, negotiated, cipher, NULL, NULL);
}
