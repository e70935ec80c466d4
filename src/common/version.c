/*
 * version.c: the one version_text. Three copies of it once existed, and one of them wrote
 * "DTLSv1.2" into 8 bytes; every printer now calls this.
 */
#include <stdio.h>

#include "tlscensus/hello.h"
#include "version.h"

const char *tc_version_text(int64_t v, char buf[TC_VERSION_TEXT_MAX])
{
	const char *name = v >= 0 && v <= 0xffff ? tc_version_name((uint16_t)v) : NULL;

	if (name)
		snprintf(buf, TC_VERSION_TEXT_MAX, "%s", name);
	else
		snprintf(buf, TC_VERSION_TEXT_MAX, "0x%04x", (unsigned)(v & 0xffff));
	return buf;
}

const char *tc_quic_version_text(uint32_t v, char buf[TC_VERSION_TEXT_MAX])
{
	if (v == 0x00000001 || v == 0x6b3343cf)
		snprintf(buf, TC_VERSION_TEXT_MAX, "v%d", v == 1 ? 1 : 2);
	else
		snprintf(buf, TC_VERSION_TEXT_MAX, "0x%08x", (unsigned)v);
	return buf;
}
