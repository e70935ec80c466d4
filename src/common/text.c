/*
 * text.c: inert text and its escapings (see text.h). The one rule for wire text: valid UTF-8
 * without controls is kept, every other byte becomes \\xHH, before any format's own escaping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "text.h"

/* ---------------------------------------------------------------- buffers */

void sb_reserve(struct sbuf *b, size_t more)
{
	size_t want;
	char *p;

	if (b->failed)
		return;
	if (b->len + more + 1 <= b->cap)
		return;
	want = b->cap ? b->cap : 256;
	while (want < b->len + more + 1)
		want *= 2;
	p = realloc(b->p, want);
	if (!p) {
		b->failed = 1;
		return;
	}
	b->p = p;
	b->cap = want;
}

void sb_put(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_putc(struct sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

void sb_uint(struct sbuf *b, unsigned long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lu", v);

	sb_put(b, tmp, (size_t)n);
}

void sb_reset(struct sbuf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->p)
		b->p[0] = '\0';
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

/* ---------------------------------------------------------------- inert text */

/* Length of the valid UTF-8 sequence at p (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, c = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* C0, DEL and C1 controls (a terminal acts on ESC and on 0x9b CSI), line and paragraph
 * separators, and the bidirectional overrides that make text display in another order. */
static int is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f || c == 0x2028 ||
	       c == 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/*
 * Wire text (SNI, ALPN names) may hold any byte. It is stored as TEXT as sent when it is valid
 * UTF-8 without control characters; every byte that is not (and, when storing, every backslash,
 * so an escape in the data can never be mistaken for ours) is written as the four characters
 * \xHH. Stored text then never moves a terminal's cursor, never breaks a CSV line, and stays
 * valid UTF-8 for JSON. With json set, the result is also escaped for a JSON string; only '"'
 * and '\' can need it by then.
 */
void text_put_wire(struct sbuf *b, const uint8_t *p, size_t n, int escape_backslash, int json)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < n) {
		uint32_t cp = 0;
		size_t len = utf8_seq(p + i, n - i, &cp);
		int bad = len == 0 || is_control(cp) || (escape_backslash && cp == '\\');

		if (!bad) {
			if (json && (cp == '"' || cp == '\\'))
				sb_putc(b, '\\');
			sb_put(b, (const char *)p + i, len);
			i += len;
			continue;
		}
		if (len == 0)
			len = 1;
		for (size_t k = 0; k < len; k++) {
			char esc[5] = {'\\', 'x', hex[p[i + k] >> 4], hex[p[i + k] & 15], 0};

			if (json)
				sb_putc(b, '\\');
			sb_put(b, esc, 4);
		}
		i += len;
	}
}

char *text_inert(const char *text, size_t len, int escape_backslash)
{
	struct sbuf b = {0};

	sb_reserve(&b, len);
	if (!b.failed)
		b.p[0] = '\0'; /* empty input writes nothing, and must still read as "" */
	text_put_wire(&b, (const uint8_t *)text, len, escape_backslash, 0);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---------------------------------------------------------------- formats */

/* Writes a JSON string (RFC 8259). The text goes through text_inert first, so what is
 * left to escape is only '"' and '\': no control character, no invalid UTF-8 remains. */
void text_json_string_n(FILE *out, const char *text, size_t len)
{
	char *clean = text_inert(text, len, 0);
	const char *p = clean ? clean : "";

	/* Runs between escapes go out whole: a character at a time was the export's top cost. */
	fputc('"', out);
	for (const char *run = p;; p++) {
		if (*p && *p != '"' && *p != '\\')
			continue;
		fwrite(run, 1, (size_t)(p - run), out);
		if (!*p)
			break;
		fputc('\\', out);
		run = p; /* the quote or backslash itself starts the next run */
	}
	fputc('"', out);
	free(clean);
}

void text_json_string(FILE *out, const char *text)
{
	if (text)
		text_json_string_n(out, text, strlen(text));
	else
		fputs("null", out);
}

/* Terminal columns taken by UTF-8 text (one per code point; inert text has no controls). */
size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Cuts s to max columns, keeping its start and its end around one "\u2026" (a host name keeps
 * its domain, a version string its number), on code point boundaries. The end gets the larger
 * half: it is what tells names apart. */
void text_cut_middle(char *s, size_t max)
{
	size_t w = text_width(s), head, tail, i = 0, j, k = 0;

	if (w <= max || max < 2)
		return;
	head = (max - 1) / 2;
	tail = max - 1 - head;
	for (; s[i] && k < head; i++) /* i: the byte after the head's last code point */
		if (((unsigned char)s[i + 1] & 0xc0) != 0x80)
			k++;
	/* j: the first byte of the tail, tail code points before the end */
	j = strlen(s);
	for (k = 0; j > 0 && k < tail;) {
		j--;
		if (((unsigned char)s[j] & 0xc0) != 0x80)
			k++;
	}
	memmove(s + i + 3, s + j, strlen(s + j) + 1); /* first: the tail may start below i + 3 */
	memcpy(s + i, "\xe2\x80\xa6", 3);
}

/* Columns of the terminal out writes to: its window size, else $COLUMNS, else 80; 0 when out
 * is not a terminal (no limit: a pipe gets every cell whole). */
size_t text_terminal_columns(FILE *out)
{
	struct winsize ws;
	int fd = fileno(out);
	const char *env = getenv("COLUMNS");
	char *end;
	unsigned long c;

	if (fd < 0 || !isatty(fd))
		return 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && *env && (c = strtoul(env, &end, 10)) > 0 && !*end && c < 100000)
		return c;
	return 80;
}

/* 1 when colour may be written to out: a terminal, and NO_COLOR (no-color.org) unset or
 * empty. */
int text_terminal_colour(FILE *out)
{
	const char *no = getenv("NO_COLOR");
	int fd = fileno(out);

	return fd >= 0 && isatty(fd) && !(no && *no);
}

/* Every text cell is quoted. A cell a spreadsheet would run as a formula (leading = + - @, tab,
 * CR) gets a leading apostrophe, the usual CSV-injection guard; numbers are written bare. */
void text_csv(FILE *out, const char *t)
{
	char *clean;

	if (!t)
		return;
	clean = text_inert(t, strlen(t), 0);
	fputc('"', out);
	if (clean && clean[0] && strchr("=+-@\t\r", clean[0]))
		fputc('\'', out);
	for (const char *p = clean ? clean : ""; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
	free(clean);
}

/* HTML escapes the five markup characters; '_' gets a <wbr> so a narrow cell can break a cipher
 * suite's name after one. Markdown escapes what would start code, links, a table cell or '*'
 * emphasis ('_' inside a name such as a cipher suite's cannot). */
static void markup(FILE *out, const char *t, int html)
{
	char *clean;

	if (!t || !*t)
		return;
	clean = text_inert(t, strlen(t), 0);
	for (const char *p = clean ? clean : "?"; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", out);
			continue;
		case '<':
			fputs("&lt;", out);
			continue;
		case '>':
			fputs("&gt;", out);
			continue;
		case '"':
			fputs(html ? "&quot;" : "\"", out);
			continue;
		case '\'':
			fputs(html ? "&#39;" : "'", out);
			continue;
		case '_':
			fputs(html ? "_<wbr>" : "_", out);
			continue;
		case '\\':
		case '`':
		case '*':
		case '[':
		case ']':
		case '|':
		case '~':
			if (!html)
				fputc('\\', out);
			break;
		default:
			break;
		}
		fputc(*p, out);
	}
	free(clean);
}

void text_html(FILE *out, const char *text)
{
	markup(out, text, 1);
}

void text_markdown(FILE *out, const char *text)
{
	markup(out, text, 0);
}
