/* sd_link: what a member tells the tracker of itself in a report: the summary of the pieces it
 * holds and what it measured on its links (docs/protocol.md part 1, "The tracker"). Plain
 * values shared by the request parser, the registry that keeps them and the ranking that reads
 * them. Owns nothing. */
#ifndef SD_LINK_H
#define SD_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sd_ids.h"

#define SD_HAVE_BYTES 32 /* a have summary: 256 buckets of pieces, one bit each */
#define SD_LINKS_MAX 64  /* the most measured links a member may keep (max_links_per_member's top) */

/* What a member measured on its link to peer, in its last report. */
typedef struct sd_link {
	char peer[SD_PEER_ID_LEN + 1];
	uint32_t rtt_ms, down_kbps, up_kbps;
} sd_link;

/* In links sorted by peer id (as the registry keeps them, each peer once): the place of peer,
 * or where it would go. A binary search: a member's links are looked up once per other member
 * of a share, and a report is checked against the links kept so far. */
static inline size_t sd_links_place(const sd_link *links, size_t n, const char *peer)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(links[mid].peer, peer) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The link to peer in sorted links, or NULL. */
static inline const sd_link *sd_links_find(const sd_link *links, size_t n, const char *peer)
{
	size_t at = sd_links_place(links, n, peer);
	return at < n && strcmp(links[at].peer, peer) == 0 ? &links[at] : NULL;
}

#endif
