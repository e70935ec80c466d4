/*
 * version.h: one text for a protocol version number, wherever it is printed (legacy table, CSV,
 * JSON, report, export). Known versions by name (tlscensus/hello.h), others as 0x%04x.
 */
#ifndef TLSCENSUS_VERSION_H
#define TLSCENSUS_VERSION_H

#include <stdint.h>

/* Room for the longest text, "DTLSv1.2" or "0xffff", and its NUL, with margin. */
#define TC_VERSION_TEXT_MAX 16

/* Writes the version's text into buf and returns buf. A value outside 0..0xffff (a stored -1
 * for "none") is written by its low 16 bits, as the wire would carry it. */
const char *tc_version_text(int64_t v, char buf[TC_VERSION_TEXT_MAX]);

/* A QUIC version: "v1" (RFC 9000), "v2" (RFC 9369), any other as 0x%08x ("0xff00001d" for
 * draft 29, "0x709a50c4" for the v2 drafts, "0x54303531" for Google's T051). */
const char *tc_quic_version_text(uint32_t v, char buf[TC_VERSION_TEXT_MAX]);

#endif
