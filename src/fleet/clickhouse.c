/*
 * clickhouse.c: ClickHouse's HTTP interface through libcurl. One handle per struct ch, reused
 * (keep-alive); requests are POSTs, so the query and the rows never end up in a proxy's URL
 * log except for an INSERT's head. Credentials travel as HTTP basic authentication, which
 * every ClickHouse version takes; over https they are encrypted like the rows.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "clickhouse.h"

struct ch {
	CURL *curl;
	struct curl_slist *headers;
	char *url;      /* without a trailing '/' */
	char *database; /* checked: [A-Za-z0-9_]+ */
	char *user, *password;
	long timeout_s;
	char curl_err[CURL_ERROR_SIZE];
};

void ch_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---------------------------------------------------------------- text helpers */

void ch_sqlf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof small) {
		sb_put(b, small, (size_t)n);
		return;
	}
	sb_reserve(b, (size_t)n + 1);
	if (b->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ch_quote(struct sbuf *b, const char *text)
{
	sb_putc(b, '\'');
	for (const char *p = text; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sb_putc(b, '\\');
		sb_putc(b, *p);
	}
	sb_putc(b, '\'');
}

void ch_tsv_put(struct sbuf *b, const char *text, size_t len)
{
	if (!text) {
		sb_put(b, "\\N", 2);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		const char *esc = NULL;

		switch (text[i]) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\0':
			esc = "\\0";
			break;
		case '\'':
			esc = "\\'";
			break;
		}
		if (esc)
			sb_put(b, esc, 2);
		else
			sb_putc(b, text[i]);
	}
}

/* Unescapes one field in place (p .. end), NUL-terminating it; NULL for \N. */
static char *tsv_field(char *p, char *end)
{
	char *w = p;

	if (end - p == 2 && p[0] == '\\' && p[1] == 'N')
		return NULL;
	for (char *r = p; r < end; r++) {
		if (*r != '\\' || r + 1 == end) {
			*w++ = *r;
			continue;
		}
		switch (*++r) {
		case 't':
			*w++ = '\t';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 'b':
			*w++ = '\b';
			break;
		case 'f':
			*w++ = '\f';
			break;
		case '0':
			*w++ = '\0';
			break;
		default:
			*w++ = *r; /* \\ \' and anything else: the character itself */
		}
	}
	*w = '\0';
	return p;
}

size_t ch_rows_next(struct ch_rows *r, char **fields, size_t max)
{
	size_t n = 0;
	char *line = r->p, *eol;

	if (!r->p || r->p >= r->end)
		return 0;
	eol = memchr(line, '\n', (size_t)(r->end - line));
	if (!eol)
		eol = r->end;
	r->p = eol < r->end ? eol + 1 : r->end;
	for (char *f = line; n < max;) {
		char *tab = memchr(f, '\t', (size_t)(eol - f));
		char *stop = tab ? tab : eol;

		fields[n++] = tsv_field(f, stop);
		if (!tab)
			break;
		f = tab + 1;
	}
	return n;
}

/* ---------------------------------------------------------------- open */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* user:password from the first line of a file. */
static int read_credentials(struct ch *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	char *colon;

	if (!f) {
		set_err(err, errlen, "cannot read the ClickHouse credentials file '%s': %m", path);
		return -1;
	}
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	colon = strchr(line, ':');
	if (!colon || colon == line) {
		set_err(err, errlen,
		        "ClickHouse credentials file '%s': the first line must be user:password",
		        path);
		return -1;
	}
	*colon = '\0';
	c->user = strdup(line);
	c->password = strdup(colon + 1);
	explicit_bzero(line, sizeof line);
	return c->user && c->password ? 0 : -1;
}

static int credentials(struct ch *c, const char *path, char *err, size_t errlen)
{
	const char *user = getenv("TLSCENSUS_CLICKHOUSE_USER");
	const char *password = getenv("TLSCENSUS_CLICKHOUSE_PASSWORD");

	if (path)
		return read_credentials(c, path, err, errlen);
	if (!user && !password)
		return 0; /* the server's default user, without a password */
	c->user = strdup(user && *user ? user : "default");
	c->password = strdup(password ? password : "");
	return c->user && c->password ? 0 : -1;
}

static int check_url(const char *url, char *err, size_t errlen)
{
	const char *host, *at, *slash;

	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else {
		set_err(err, errlen,
		        "ClickHouse URL '%s': it must start with http:// or https:// (e.g. "
		        "http://clickhouse.example:8123)",
		        url);
		return -1;
	}
	slash = strchr(host, '/');
	at = strchr(host, '@');
	if (at && (!slash || at < slash)) {
		set_err(
		    err, errlen,
		    "ClickHouse URL: no user or password in the URL (the command line is visible "
		    "to every user of the machine); use --credentials FILE (user:password) or "
		    "TLSCENSUS_CLICKHOUSE_USER and TLSCENSUS_CLICKHOUSE_PASSWORD");
		return -1;
	}
	if (strchr(url, '?') || strchr(url, '#')) {
		set_err(err, errlen, "ClickHouse URL '%s': no query string, only the server", url);
		return -1;
	}
	if (!*host || *host == '/') {
		set_err(err, errlen, "ClickHouse URL '%s' names no host", url);
		return -1;
	}
	return 0;
}

static int check_database(const char *db, char *err, size_t errlen)
{
	size_t n = strlen(db);

	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)db[i]) && db[i] != '_')
			n = 0;
	if (!n || n > 64) {
		set_err(err, errlen,
		        "ClickHouse database name '%s': use letters, digits and _ "
		        "(default " CH_DEFAULT_DATABASE ")",
		        db);
		return -1;
	}
	return 0;
}

struct ch *ch_open(const struct ch_config *cfg, char *err, size_t errlen)
{
	const char *db = cfg->database ? cfg->database : CH_DEFAULT_DATABASE;
	struct ch *c;
	size_t n;

	if (check_url(cfg->url, err, errlen) || check_database(db, err, errlen))
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c || !(c->url = strdup(cfg->url)) || !(c->database = strdup(db)))
		goto oom;
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	if (credentials(c, cfg->credentials, err, errlen)) {
		if (!*err)
			goto oom;
		ch_close(c);
		return NULL;
	}
	c->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 300;
	c->curl = curl_easy_init();
	/* Large bodies go at once, without waiting for a 100 Continue. */
	c->headers = curl_slist_append(NULL, "Expect:");
	if (!c->curl || !c->headers)
		goto oom;
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (cfg->cacert)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, cfg->cacert);
	if (c->user) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->password);
	}
	return c;
oom:
	set_err(err, errlen, "out of memory for the ClickHouse connection");
	ch_close(c);
	return NULL;
}

void ch_close(struct ch *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->user);
	free(c->database);
	free(c->url);
	free(c);
}

const char *ch_url(const struct ch *c)
{
	return c->url;
}

const char *ch_database(const struct ch *c)
{
	return c->database;
}

/* ---------------------------------------------------------------- requests */

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct sbuf *b = ctx;

	sb_put(b, p, size * n);
	return b->failed ? 0 : size * n;
}

/* The first line of the server's message, without its stack trace. */
static void server_message(char *out, size_t len, const struct sbuf *body)
{
	const char *p = body->p ? body->p : "";
	size_t n = strcspn(p, "\r\n");
	const char *trace = strstr(p, ", e.what()");

	if (trace && (size_t)(trace - p) < n)
		n = (size_t)(trace - p);
	if (n > 400)
		n = 400;
	snprintf(out, len, "%.*s", (int)n, p);
}

int ch_query(struct ch *c, const char *sql, const char *data, size_t len, struct sbuf *out,
             char *err, size_t errlen)
{
	struct sbuf url = {0}, body = {0};
	long status = 0;
	CURLcode rc;
	int ok = -1;

	sb_put(&url, c->url, strlen(c->url));
	sb_putc(&url, '/');
	if (data) {
		char *q = curl_easy_escape(c->curl, sql, 0);

		if (!q) {
			set_err(err, errlen, "out of memory for a ClickHouse request");
			goto done;
		}
		sb_put(&url, "?query=", 7);
		sb_put(&url, q, strlen(q));
		curl_free(q);
	}
	if (url.failed) {
		set_err(err, errlen, "out of memory for a ClickHouse request");
		goto done;
	}
	c->curl_err[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url.p);
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, data ? data : sql);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	                 (curl_off_t)(data ? len : strlen(sql)));
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		set_err(err, errlen, "ClickHouse at %s: %s", c->url,
		        c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		char msg[512];

		server_message(msg, sizeof msg, &body);
		if (status == 401 || status == 403 || strstr(msg, "Code: 192") ||
		    strstr(msg, "Code: 193") || strstr(msg, "Code: 516"))
			set_err(
			    err, errlen,
			    "ClickHouse at %s refused the user: %s (check --credentials FILE or "
			    "TLSCENSUS_CLICKHOUSE_USER/TLSCENSUS_CLICKHOUSE_PASSWORD)",
			    c->url, msg);
		else
			set_err(err, errlen, "ClickHouse at %s: HTTP %ld: %s", c->url, status, msg);
		goto done;
	}
	if (body.failed) {
		set_err(err, errlen, "ClickHouse at %s: out of memory for the answer", c->url);
		goto done;
	}
	if (out && body.len)
		sb_put(out, body.p, body.len);
	ok = out && out->failed ? -1 : 0;
	if (ok)
		set_err(err, errlen, "ClickHouse at %s: out of memory for the answer", c->url);
done:
	free(url.p);
	free(body.p);
	return ok;
}
