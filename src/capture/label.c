/*
 * label.c: nDPI (4.2 API) behind a three-call interface. One detection module per process;
 * one ndpi_flow_struct per connection, alive only for the connection's first packets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi/ndpi_api.h>

#include "label.h"

struct labeler {
	struct ndpi_detection_module_struct *ndpi;
};

struct label_flow {
	struct ndpi_flow_struct *nf;
	ndpi_protocol proto;
};

struct labeler *label_open(char *err, size_t errlen)
{
	struct labeler *l = calloc(1, sizeof(*l));
	NDPI_PROTOCOL_BITMASK all;

	if (!l) {
		snprintf(err, errlen, "out of memory initialising nDPI");
		return NULL;
	}
	/* Tor host lists and libgcrypt are for features we do not use. */
	l->ndpi = ndpi_init_detection_module(ndpi_dont_load_tor_hosts | ndpi_dont_init_libgcrypt);
	if (!l->ndpi) {
		snprintf(err, errlen, "nDPI failed to initialise (libndpi %s)", ndpi_revision());
		free(l);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(l->ndpi, &all);
	ndpi_finalize_initialization(l->ndpi);
	return l;
}

void label_close(struct labeler *l)
{
	if (!l)
		return;
	ndpi_exit_detection_module(l->ndpi);
	free(l);
}

struct label_flow *label_flow_new(struct labeler *l)
{
	struct label_flow *f;

	(void)l;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->nf = ndpi_flow_malloc(ndpi_detection_get_sizeof_ndpi_flow_struct());
	if (!f->nf) {
		free(f);
		return NULL;
	}
	memset(f->nf, 0, ndpi_detection_get_sizeof_ndpi_flow_struct());
	return f;
}

static void name_of(struct labeler *l, ndpi_protocol p, char out[LABEL_MAX])
{
	ndpi_protocol2name(l->ndpi, p, out, LABEL_MAX);
}

int label_packet(struct labeler *l, struct label_flow *f, const uint8_t *l3, size_t len,
                 uint64_t ts_usec, char out[LABEL_MAX])
{
	/* nDPI takes the length as an unsigned short: an IP packet is never longer. */
	if (len > 0xffff)
		len = 0xffff;
	f->proto =
	    ndpi_detection_process_packet(l->ndpi, f->nf, l3, (unsigned short)len, ts_usec / 1000);
	if (f->proto.app_protocol == NDPI_PROTOCOL_UNKNOWN &&
	    f->proto.master_protocol == NDPI_PROTOCOL_UNKNOWN)
		return 0;
	name_of(l, f->proto, out);
	return 1;
}

void label_finish(struct labeler *l, struct label_flow *f, char out[LABEL_MAX])
{
	uint8_t guessed = 0;

	if (f->proto.app_protocol == NDPI_PROTOCOL_UNKNOWN &&
	    f->proto.master_protocol == NDPI_PROTOCOL_UNKNOWN)
		f->proto = ndpi_detection_giveup(l->ndpi, f->nf, 1, &guessed);
	name_of(l, f->proto, out);
}

void label_flow_free(struct label_flow *f)
{
	if (!f)
		return;
	ndpi_free_flow(f->nf);
	free(f);
}
