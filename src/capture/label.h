/*
 * label.h: an application label per connection from nDPI (e.g. "TLS.Microsoft" from the SNI).
 * nDPI sees only the first packets of a flow; its per-flow state is then released, so the cost
 * per connection stays bounded whatever the connection's length.
 */
#ifndef TLSCENSUS_LABEL_H
#define TLSCENSUS_LABEL_H

#include <stddef.h>
#include <stdint.h>

#define LABEL_MAX 48

struct labeler;
struct label_flow;

/* NULL with a message in err when nDPI cannot be initialised. */
struct labeler *label_open(char *err, size_t errlen);
void label_close(struct labeler *l);

struct label_flow *label_flow_new(struct labeler *l);
/* Feeds one IP packet (l3 = IP header). Returns 1 once a label is settled (written to out). */
int label_packet(struct labeler *l, struct label_flow *f, const uint8_t *l3, size_t len,
                 uint64_t ts_usec, char out[LABEL_MAX]);
/* No more packets will be fed: writes nDPI's best guess (possibly "Unknown") to out. */
void label_finish(struct labeler *l, struct label_flow *f, char out[LABEL_MAX]);
void label_flow_free(struct label_flow *f);

#endif
