/* sd_link: what a member tells the tracker of itself in a report: the summary of the pieces it
 * holds and what it measured on its links (docs/protocol.md part 1, "The tracker"). Plain
 * values shared by the request parser, the registry that keeps them and the ranking that reads
 * them. Owns nothing. */
#ifndef SD_LINK_H
#define SD_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "sd_ids.h"

#define SD_HAVE_BYTES 32 /* a have summary: 256 buckets of pieces, one bit each */
#define SD_LINKS_MAX 64  /* the most measured links a member may keep (max_links_per_member's top) */

/* What a member measured on its link to peer, in its last report. */
typedef struct sd_link {
	char peer[SD_PEER_ID_LEN + 1];
	uint32_t rtt_ms, down_kbps, up_kbps;
} sd_link;

#endif
