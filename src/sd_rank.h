/* sd_rank: the tracker's choice of peers for one member (the asker) of a share: a bounded list,
 * best first (docs/protocol.md part 1, "The tracker"). Pure: it reads what the registry knows of
 * each member and draws from the random generator it is given, so tests can fix the seed. */
#ifndef SD_RANK_H
#define SD_RANK_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_link.h"
#include "sd_locate.h"

typedef enum { SD_TIER_SAME_NETWORK, SD_TIER_SAME_OPERATOR, SD_TIER_SAME_COUNTRY, SD_TIER_OTHER } sd_tier;

/* A member as the ranking sees it. */
typedef struct sd_rank_member {
	const char *id;
	bool owner;
	bool complete;       /* holds every piece (the owner always does) */
	const uint8_t *have; /* SD_HAVE_BYTES, or NULL: nothing known held */
	sd_address address;  /* family 0 when unknown */
	sd_place place;
	const sd_link *links; /* its measurements, sorted by peer id (the asker's are the ones used) */
	size_t n_links;
} sd_rank_member;

typedef struct sd_rank_pick {
	size_t index; /* into the members given */
	sd_tier tier; /* of that member for the asker */
} sd_rank_pick;

const char *sd_tier_name(sd_tier tier);
sd_tier sd_rank_tier(const sd_rank_member *asker, const sd_rank_member *other);

/* Picks at most list_size of members (the asker not among them) for asker into picks, best
 * first, and returns how many. ranked = false keeps joining order (the members' order). Either
 * way the owner, when among members, is in the list. rng draws the ties and the random part. */
size_t sd_rank(const sd_rank_member *asker, const sd_rank_member *members, size_t n_members, size_t list_size,
               bool ranked, GRand *rng, sd_rank_pick *picks);

#endif
