/*
 * datafile.c: one way to get a data file's text (embedded copy or file) and to walk its lines
 * and words, for the policy, catalog and hints parsers. It never parses a format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datafile.h"

#define DATAFILE_MAX (16u << 20) /* a data file is hand-written text; 16 MiB is plenty */

const struct embedded_file *embedded_find(const char *name)
{
	for (size_t i = 0; i < tc_embedded_count; i++)
		if (!strcmp(tc_embedded_files[i].name, name))
			return &tc_embedded_files[i];
	return NULL;
}

/* The whole file, NUL-terminated, into df->owned. */
static int read_file(struct datafile *df, const char *path, const char *what, char *err,
                     size_t errlen)
{
	struct stat sb;
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (!f) {
		snprintf(err, errlen, "cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s '%s' is not a regular file", what, path);
		goto out;
	}
	if ((unsigned long long)sb.st_size > DATAFILE_MAX) {
		snprintf(err, errlen, "%s '%s' is larger than %u MiB; is it the right file?", what,
		         path, DATAFILE_MAX >> 20);
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory reading %s '%s'", what, path);
		goto out;
	}
	df->len = fread(buf, 1, (size_t)sb.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[df->len] = '\0';
out:
	fclose(f);
	df->owned = buf;
	df->text = buf;
	return buf ? 0 : -1;
}

int datafile_load(struct datafile *df, const char *path, const char *builtin, const char *what,
                  char *err, size_t errlen)
{
	const struct embedded_file *e;
	const char *base;

	memset(df, 0, sizeof *df);
	if (path) {
		df->origin = path;
		return read_file(df, path, what, err, errlen);
	}
	base = strrchr(builtin, '/') ? strrchr(builtin, '/') + 1 : builtin;
	e = embedded_find(base);
	if (!e) {
		snprintf(err, errlen, "no built-in %s (a build problem)", what);
		return -1;
	}
	df->text = e->text;
	df->len = e->len;
	snprintf(df->origin_buf, sizeof df->origin_buf, "%s (built in)", builtin);
	df->origin = df->origin_buf;
	return 0;
}

void datafile_free(struct datafile *df)
{
	free(df->owned);
	memset(df, 0, sizeof *df);
}

char *datafile_next_line(const char *text, size_t len, size_t *pos, size_t *n, int *oom)
{
	const char *nl;
	size_t k;
	char *line;

	if (*pos >= len)
		return NULL;
	nl = memchr(text + *pos, '\n', len - *pos);
	k = nl ? (size_t)(nl - (text + *pos)) : len - *pos;
	line = strndup(text + *pos, k);
	*pos += k + 1;
	if (n)
		*n = k;
	if (!line)
		*oom = 1;
	return line;
}

void datafile_strip_comment(char *line)
{
	size_t n;

	for (char *p = line; *p; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	n = strlen(line);
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		line[--n] = '\0';
}

char *datafile_next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

size_t datafile_words(char *line, char **words, size_t max)
{
	size_t n = 0;
	char *p = line, *w;

	while (n < max && (w = datafile_next_word(&p)))
		words[n++] = w;
	return n;
}
