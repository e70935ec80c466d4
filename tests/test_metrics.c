/*
 * test_metrics.c: the --metrics file in the Prometheus text format: every sample preceded by
 * its # HELP and # TYPE lines, counters named *_total, the values and the interface label as
 * given (escaped), the file replaced whole with no temporary left, and an unwritable directory
 * named in the error. Standalone: exits non-zero with the failures on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[16384];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Every sample line "NAME{...} VALUE" follows "# HELP NAME" and "# TYPE NAME counter|gauge",
 * and a counter's name ends in _total. Returns the samples seen. */
static int check_format(const char *text)
{
	char help[128] = "", type[128] = "", kind[16] = "";
	int samples = 0;

	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		char l[512];

		CHECK(end != NULL, "the last line ends in a newline");
		if (!end)
			break;
		snprintf(l, sizeof l, "%.*s", (int)(end - line), line);
		line = end + 1;
		if (!strncmp(l, "# HELP ", 7)) {
			sscanf(l + 7, "%127s", help);
			continue;
		}
		if (!strncmp(l, "# TYPE ", 7)) {
			CHECK(sscanf(l + 7, "%127s %15s", type, kind) == 2, "TYPE line: %s", l);
			CHECK(!strcmp(type, help), "TYPE %s after HELP %s", type, help);
			CHECK(!strcmp(kind, "counter") || !strcmp(kind, "gauge"), "type %s", kind);
			continue;
		}
		size_t name_len = strcspn(l, "{ ");
		CHECK(name_len == strlen(type) && !strncmp(l, type, name_len),
		      "sample %s without its HELP and TYPE", l);
		CHECK(strcmp(kind, "counter") || strstr(type, "_total") == type + strlen(type) - 6,
		      "counter %s must end in _total", type);
		samples++;
	}
	return samples;
}

int main(void)
{
	char dir[] = "/tmp/tc_metricsXXXXXX", path[64], tmp[80], err[512];
	struct capture_metrics m = {.received = 1000,
	                            .kernel_drops = 7,
	                            .interface_drops = 2,
	                            .packets = 990,
	                            .queue_drops = 3,
	                            .handshakes = 41,
	                            .flows = 50,
	                            .flows_evicted = 1,
	                            .flows_tracked = 12,
	                            .workers = 2,
	                            .time = 1764633600.5};
	char *text;

	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof path, "%s/tlscensus.prom", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	CHECK(metrics_write(path, "eth1", &m, err, sizeof err) == 0, "write: %s", err);
	text = slurp(path);
	CHECK(text != NULL, "the file is there");
	if (text) {
		CHECK(check_format(text) == 13, "13 samples");
		CHECK(strstr(text, "tlscensus_kernel_drops_total{interface=\"eth1\"} 7\n") != NULL,
		      "kernel drops: %s", text);
		CHECK(strstr(text, "tlscensus_queue_drops_total{interface=\"eth1\"} 3\n") != NULL,
		      "queue drops");
		CHECK(strstr(text, "tlscensus_packets_received_total{interface=\"eth1\"} 1000\n"),
		      "packets received");
		CHECK(strstr(text, "tlscensus_handshakes_total{interface=\"eth1\"} 41\n"),
		      "handshakes");
		CHECK(strstr(text, "tlscensus_flows_tracked{interface=\"eth1\"} 12\n"), "flows");
		CHECK(strstr(text, "# TYPE tlscensus_flows_tracked gauge\n"), "a gauge");
		CHECK(strstr(text, "tlscensus_last_update_timestamp_seconds{interface=\"eth1\"} "
		                   "1764633600.5\n"),
		      "time");
	}
	CHECK(access(tmp, F_OK) != 0, "no temporary file left");
	/* Replaced whole, and a hostile label stays one label. */
	m.kernel_drops = 8;
	CHECK(metrics_write(path, "a\"b\\c\nd", &m, err, sizeof err) == 0, "rewrite: %s", err);
	text = slurp(path);
	CHECK(text &&
	          strstr(text, "tlscensus_kernel_drops_total{interface=\"a\\\"b\\\\c\\nd\"} 8\n"),
	      "escaped label: %s", text ? text : "");
	CHECK(text && !strstr(text, "} 7\n"), "the old figures are gone");
	CHECK(text && !strstr(text, "log_drops"), "no log_drops without a --log stream");
	/* With a --log stream, its losses too. */
	m.has_log = 1;
	m.log_drops = 5;
	CHECK(metrics_write(path, "eth1", &m, err, sizeof err) == 0, "with a log: %s", err);
	text = slurp(path);
	CHECK(text && check_format(text) == 14 &&
	          strstr(text, "tlscensus_log_drops_total{interface=\"eth1\"} 5\n"),
	      "log drops: %s", text ? text : "");
	if (text)
		check_format(text);
	/* A directory that is not there: an error naming the file. */
	CHECK(metrics_write("/nonexistent-dir/x.prom", "eth1", &m, err, sizeof err) == -1 &&
	          strstr(err, "/nonexistent-dir/x.prom") != NULL,
	      "error: %s", err);
	unlink(path);
	rmdir(dir);
	printf("metrics: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
