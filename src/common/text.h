/*
 * text.h: text from the wire made inert, and escaped for each output format. One place for
 * every printer (legacy, report, export) and for the store, so an escaping fixed once is fixed
 * everywhere. Nothing here knows SQLite, packets or a report's layout.
 */
#ifndef TLSCENSUS_TEXT_H
#define TLSCENSUS_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A growing text buffer; on allocation failure it stops growing and remembers it. */
struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

void sb_reserve(struct sbuf *b, size_t more);
void sb_put(struct sbuf *b, const char *s, size_t n);
void sb_putc(struct sbuf *b, char c);
void sb_uint(struct sbuf *b, unsigned long v);
void sb_reset(struct sbuf *b);
void sb_free(struct sbuf *b);

/*
 * Wire text (SNI, ALPN names) may hold any byte. It is kept as sent when it is valid UTF-8
 * without control characters; every byte that is not (and, with escape_backslash, every
 * backslash, so an escape in the data can never be mistaken for ours) is written as the four
 * characters \xHH. With json set, the result is also escaped for a JSON string.
 */
void text_put_wire(struct sbuf *b, const uint8_t *p, size_t n, int escape_backslash, int json);

/* The same into a malloc'd NUL-terminated string ("" for empty input); NULL when out of memory.
 * Stored text passes through unchanged without escape_backslash. */
char *text_inert(const char *text, size_t len, int escape_backslash);

/* Output escapings. Each makes the text inert first. */
void text_json_string(FILE *out, const char *text); /* RFC 8259 string; NULL writes null */
void text_json_string_n(FILE *out, const char *text, size_t len);
void text_csv(FILE *out, const char *text);      /* quoted, formula-guarded; NULL: empty */
void text_html(FILE *out, const char *text);     /* the five markup characters */
void text_markdown(FILE *out, const char *text); /* also code, links, cells, emphasis */

/* Terminal columns of inert text (one per code point). */
size_t text_width(const char *s);
/* Cuts s to max columns (max >= 2) in the middle: its start, an ellipsis, its end. s must hold
 * two bytes more than its length (the ellipsis is three bytes wide in UTF-8, one column). */
void text_cut_middle(char *s, size_t max);
/* Columns of the terminal out writes to (its window, else $COLUMNS, else 80); 0 when it is not
 * a terminal (no limit). */
size_t text_terminal_columns(FILE *out);
/* 1 when out is a terminal and NO_COLOR is unset: ANSI colour may be written. */
int text_terminal_colour(FILE *out);

#endif
