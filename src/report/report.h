/*
 * report.h: the scheduled report. For a time window it puts together what the legacy room found,
 * the traffic mix, a per-day trend, what changed since the previous report and what the census
 * could not see, as one self-contained HTML page, Markdown or CSV for people who do not read C.
 */
#ifndef TLSCENSUS_REPORT_H
#define TLSCENSUS_REPORT_H

#include "collect.h"
#include "legacy.h"
#include "store.h"

enum report_format { REPORT_HTML, REPORT_MD, REPORT_CSV };

/* What report_run returns; these are also the report command's exit codes (README). */
enum report_status {
	REPORT_OK = 0,
	REPORT_LEGACY_FOUND = 1, /* only with fail_on_legacy: the report lists a legacy client */
	REPORT_ERR_DATABASE = 5, /* the same code as the other commands' database errors */
	REPORT_ERR_OUTPUT = 6,   /* the report file could not be written; nothing was recorded */
};

struct report_options {
	struct legacy_query q; /* policy and filters; q.since/q.until: the window (0 = open) */
	int since_last;        /* the window opens where the previous such report ended */
	enum report_format format;
	const char *output;     /* file name, strftime(3) pattern in local time; NULL: stdout */
	const char *db_label;   /* how the database is named in the report */
	const char *policy_arg; /* --policy as given, part of the report's scope; NULL: default */
	int fail_on_legacy;
	int record;      /* remember the report in the reports table (--no-record: 0) */
	int top_ciphers; /* cipher suites listed by name before "other" */
};

/* Writes the report; returns a report_status. Errors are written to stderr and name the
 * database or the file. */
int report_run(const struct census_reader *s, const struct report_options *o);

#endif
