/* sd_rank: the tracker's choice of peers for one member (the asker) of a share: a bounded list,
 * best first (docs/protocol.md part 1, "The tracker"). Pure: it reads what the registry knows of
 * each member and draws from the random generator it is given, so tests can fix the seed. An
 * sd_ranker owns the scratch of one list size, so that ranking allocates nothing, and takes
 * O(n log list_size) for n members; use it from one thread at a time. */
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
} sd_rank_member;

/* The member a list is for, and what it measured to others. */
typedef struct sd_rank_asker {
	sd_rank_member member;
	const sd_link *links; /* each peer once */
	size_t n_links;
} sd_rank_asker;

typedef struct sd_rank_pick {
	size_t index; /* into the members given */
	sd_tier tier; /* of that member for the asker */
} sd_rank_pick;

const char *sd_tier_name(sd_tier tier);
sd_tier sd_rank_tier(const sd_rank_member *asker, const sd_rank_member *other);

typedef struct sd_ranker sd_ranker;

/* A ranker of lists of at most list_size; ranked = false keeps joining order instead. */
sd_ranker *sd_ranker_new(size_t list_size, bool ranked);
void sd_ranker_free(sd_ranker *ranker);

/* Picks at most list_size of members (the asker not among them) for asker into picks, best
 * first, and returns how many. Either way the owner, when among members, is in the list. rng
 * draws the ties and the random part (nothing with ranking off). */
size_t sd_rank(sd_ranker *ranker, const sd_rank_asker *asker, const sd_rank_member *members, size_t n_members,
               GRand *rng, sd_rank_pick *picks);

#endif
