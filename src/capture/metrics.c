/*
 * metrics.c: the Prometheus text exposition format (version 0.0.4): for each metric a # HELP
 * and a # TYPE line, then its samples, counters named *_total. Label values escape backslash,
 * double quote and newline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"

static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void metric(FILE *f, const char *name, const char *type, const char *help, const char *iface,
                   double value)
{
	fprintf(f, "# HELP tlscensus_%s %s\n# TYPE tlscensus_%s %s\ntlscensus_%s{interface=\"",
	        name, help, name, type, name);
	label_value(f, iface);
	fprintf(f, "\"} %.17g\n", value);
}

int metrics_write(const char *path, const char *iface, const struct capture_metrics *m, char *err,
                  size_t errlen)
{
	size_t n = strlen(path) + 8;
	char *tmp = malloc(n);
	FILE *f;

	if (!tmp) {
		snprintf(err, errlen, "--metrics %s: out of memory", path);
		return -1;
	}
	/* Beside the file, so rename(2) replaces it within one file system; the collector
	 * reads *.prom only, so it never sees the temporary name. */
	snprintf(tmp, n, "%s.tmp", path);
	if (!(f = fopen(tmp, "w"))) {
		snprintf(err, errlen,
		         "--metrics %s: cannot write %s: %s (is the directory writable "
		         "by this user?)",
		         path, tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	metric(f, "packets_received_total", "counter", "Packets the kernel delivered (pcap_stats).",
	       iface, (double)m->received);
	metric(f, "kernel_drops_total", "counter",
	       "Packets dropped by the kernel: the capture buffer was full (pcap_stats ps_drop).",
	       iface, (double)m->kernel_drops);
	metric(f, "interface_drops_total", "counter",
	       "Packets dropped by the interface or its driver (pcap_stats ps_ifdrop).", iface,
	       (double)m->interface_drops);
	metric(f, "packets_total", "counter", "Packets decoded.", iface, (double)m->packets);
	metric(f, "queue_drops_total", "counter",
	       "Connection records lost to a full writer queue (the database could not keep up).",
	       iface, (double)m->queue_drops);
	metric(f, "handshakes_total", "counter", "TLS connections recorded.", iface,
	       (double)m->handshakes);
	metric(f, "hello_truncated_total", "counter", "Hellos cut short (not judged).", iface,
	       (double)m->hello_truncated);
	metric(f, "hello_malformed_total", "counter", "Hellos that could not be parsed.", iface,
	       (double)m->hello_malformed);
	metric(f, "flows_total", "counter", "Flows created.", iface, (double)m->flows);
	metric(f, "flows_evicted_total", "counter",
	       "Flows evicted before they went idle (the --max-flows bound).", iface,
	       (double)m->flows_evicted);
	metric(f, "flows_tracked", "gauge", "Flows tracked now.", iface, (double)m->flows_tracked);
	if (m->has_log)
		metric(f, "log_drops_total", "counter",
		       "Connections the --log stream lost: its buffer was full (a slow reader or "
		       "disk) or the write failed.",
		       iface, (double)m->log_drops);
	metric(f, "workers", "gauge", "Capture worker threads.", iface, (double)m->workers);
	metric(f, "last_update_timestamp_seconds", "gauge",
	       "When these figures were taken (unix seconds).", iface, m->time);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "--metrics %s: cannot write %s: %s", path, tmp,
		         strerror(errno));
		fclose(f);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "--metrics %s: cannot replace it: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
