/*
 * alerts.h: names of TLS alert descriptions (IANA "TLS Alerts"; RFC 5246 7.2, RFC 8446 6).
 */
#ifndef TLSCENSUS_ALERTS_H
#define TLSCENSUS_ALERTS_H

#include <stddef.h>
#include <stdint.h>

struct tc_alert_name {
	uint8_t value;
	const char *name;
};

size_t tc_alert_count(void);
const struct tc_alert_name *tc_alert_at(size_t i); /* NULL past the end */

#endif
