/*
 * reasm.c: one hello body kept as it arrives in pieces, for both record layers: TLS hands
 * over the parts of a message split over records, DTLS the fragments of one split over records
 * and datagrams (RFC 6347 4.2.3). Bounded by TC_MAX_HELLO_MSG; pieces are taken in order.
 * Knows nothing of records: the caller says where each piece sits in the body.
 */
#include <stdlib.h>

#include "handshake.h"

int tc_hs_msg_start(struct tc_handshake *hs, enum tc_dir d, uint8_t type, uint32_t len)
{
	struct tc_dir_parse *dp = &hs->dir[d];

	if (len > TC_MAX_HELLO_MSG) {
		tc_hs_set_err(hs, d, TC_ERR_BOUND);
		tc_hs_dir_finish(hs, d);
		return 0;
	}
	dp->msg = malloc(len ? len : 1);
	if (!dp->msg) {
		tc_hs_dir_finish(hs, d);
		return 0;
	}
	dp->hdr[0] = type;
	dp->body_len = len;
	dp->msg_len = 0;
	return 1;
}

static void parse_client_hello(struct tc_handshake *hs, enum tc_dir d, size_t len, int dtls)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	struct tc_client_hello *ch = tc_client_hello_new();

	if (!ch)
		return;
	if (dtls)
		tc_parse_dtls_client_hello(dp->msg, len, ch);
	else
		tc_parse_client_hello(dp->msg, len, ch);
	tc_hs_keep_client_hello(hs, d, ch, TC_ERR_TRUNCATED); /* only its first bytes came */
}

void tc_hs_on_hello(struct tc_handshake *hs, enum tc_dir d, uint8_t type, const uint8_t *body,
                    size_t len, int dtls)
{
	if (type == TC_HT_CLIENT_HELLO)
		tc_hs_on_client_hello(hs, d, body, len, dtls);
	else
		tc_hs_on_server_hello(hs, d, body, len);
}

int tc_hs_msg_add(struct tc_handshake *hs, enum tc_dir d, uint32_t off, struct tc_cursor piece,
                  int dtls)
{
	struct tc_dir_parse *dp = &hs->dir[d];
	size_t n = tc_cursor_left(&piece), copied;

	/* Past a hole, or nothing new: a retransmission fills the hole or repeats what is held. */
	if (off <= dp->msg_len && off + n > dp->msg_len) {
		tc_cursor_skip(&piece, dp->msg_len - off);
		if (tc_cursor_copy(&piece, dp->msg + dp->msg_len, dp->body_len - dp->msg_len,
		                   &copied))
			dp->msg_len += (uint32_t)copied;
	}
	if (dp->msg_len < dp->body_len)
		return 0;
	tc_hs_on_hello(hs, d, dp->hdr[0], dp->msg, dp->body_len, dtls);
	free(dp->msg);
	dp->msg = NULL;
	dp->msg_len = dp->body_len = 0;
	return 1;
}

int tc_hs_msg_cut(struct tc_handshake *hs, enum tc_dir d, int dtls)
{
	struct tc_dir_parse *dp = &hs->dir[d];

	if (!dp->msg || !dp->msg_len)
		return 0;
	if (dp->hdr[0] == TC_HT_CLIENT_HELLO && !hs->ch)
		parse_client_hello(hs, d, dp->msg_len, dtls);
	tc_hs_set_err(hs, d, TC_ERR_TRUNCATED);
	return 1;
}
