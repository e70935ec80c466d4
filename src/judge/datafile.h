/*
 * datafile.h: the text files the judge reads besides its input (policies, the provider catalog,
 * the fingerprint map): the copy embedded in the binary or a file, then lines and words under
 * the one comment rule. Bytes in, text out; it knows no file's format.
 */
#ifndef TLSCENSUS_DATAFILE_H
#define TLSCENSUS_DATAFILE_H

#include <stddef.h>

/* ---------------------------------------------------------------- embedded copies */

struct embedded_file {
	const char *name; /* base name: "entra.policy", "providers.catalog" */
	const char *text;
	size_t len;
};

/* Generated into embedded.c at build time (scripts/embed.py). */
extern const struct embedded_file tc_embedded_files[];
extern const size_t tc_embedded_count;

/* The embedded copy of a data file by its base name, NULL when there is none. */
const struct embedded_file *embedded_find(const char *name);

/* ---------------------------------------------------------------- loading */

struct datafile {
	const char *text; /* the embedded copy, or owned (NUL-terminated) */
	size_t len;
	const char *origin; /* names the text in messages: the path, or "data/x (built in)" */
	char *owned;
	char origin_buf[192];
};

/*
 * With path NULL, the embedded copy of builtin (its path in the source tree, e.g.
 * "data/providers.catalog"; the base name finds the copy); else the file at path. what names
 * the kind of file in errors ("policy file"). 0, or -1 with a message in err naming the file.
 */
int datafile_load(struct datafile *df, const char *path, const char *builtin, const char *what,
                  char *err, size_t errlen);
void datafile_free(struct datafile *df);

/* ---------------------------------------------------------------- lines and words */

/* The line at *pos of text (without its newline) as a malloc'd string, and *pos past it. NULL
 * at the end, or when out of memory (*oom set). n, when not NULL, receives the line's length in
 * the text: more than strlen when the line holds a NUL byte. */
char *datafile_next_line(const char *text, size_t len, size_t *pos, size_t *n, int *oom);

/* Cuts a comment ('#' at the start or after a blank) and trailing blanks, in place: the one rule
 * policies and the catalog follow. */
void datafile_strip_comment(char *line);

/* The next blank-separated word of *p, NUL-terminated in place; NULL when none is left. */
char *datafile_next_word(char **p);
/* Splits line (in place) into at most max words; returns how many. */
size_t datafile_words(char *line, char **words, size_t max);

#endif
