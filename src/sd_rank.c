#include "sd_rank.h"

#include <string.h>

/* One member's sort keys for the asker; smaller sorts first. */
typedef struct candidate {
	size_t index;
	sd_tier tier;
	int useless;        /* 0: holds something the asker lacks */
	int unmeasured;     /* 0: the asker measured its link to it */
	uint32_t down_kbps; /* higher first */
	uint32_t rtt_ms;
	guint32 tie;        /* random */
} candidate;

const char *sd_tier_name(sd_tier tier)
{
	static const char *const names[] = {"same_network", "same_operator", "same_country", "other"};
	return names[tier];
}

sd_tier sd_rank_tier(const sd_rank_member *asker, const sd_rank_member *other)
{
	if (sd_address_same_network(&asker->address, &other->address))
		return SD_TIER_SAME_NETWORK;
	if (asker->place.asn != 0 && asker->place.asn == other->place.asn)
		return SD_TIER_SAME_OPERATOR;
	if (asker->place.country[0] != '\0' && strcmp(asker->place.country, other->place.country) == 0)
		return SD_TIER_SAME_COUNTRY;
	return SD_TIER_OTHER;
}

/* other holds a piece the asker lacks (never so for a complete asker: nothing is useful). */
static bool useful(const sd_rank_member *asker, const sd_rank_member *other)
{
	if (asker->complete)
		return false;
	if (other->complete)
		return true;
	for (size_t b = 0; other->have != NULL && b < SD_HAVE_BYTES; b++)
		if (other->have[b] & ~(asker->have != NULL ? asker->have[b] : 0))
			return true;
	return false;
}

static int compare(const void *pa, const void *pb)
{
	const candidate *a = pa, *b = pb;
	if (a->tier != b->tier)
		return a->tier < b->tier ? -1 : 1;
	if (a->useless != b->useless)
		return a->useless - b->useless;
	if (a->unmeasured != b->unmeasured)
		return a->unmeasured - b->unmeasured;
	if (a->down_kbps != b->down_kbps)
		return a->down_kbps > b->down_kbps ? -1 : 1;
	if (a->rtt_ms != b->rtt_ms)
		return a->rtt_ms < b->rtt_ms ? -1 : 1;
	return a->tie < b->tie ? -1 : a->tie > b->tie;
}

static void shuffle(candidate *c, size_t n, GRand *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)g_rand_int_range(rng, 0, (gint32)i);
		candidate t = c[i - 1];
		c[i - 1] = c[j];
		c[j] = t;
	}
}

/* The random part: the last ceil(list_size/4) slots go to members past the ranked part, drawn at
 * random, those the asker never measured first (so that new peers get measured). */
static void draw_random_part(candidate *c, size_t n, size_t ranked_part, GRand *rng)
{
	candidate *pool = c + ranked_part;
	size_t n_pool = n - ranked_part, n_unmeasured = 0;
	for (size_t i = 0; i < n_pool; i++)
		if (pool[i].unmeasured) {
			candidate t = pool[n_unmeasured];
			pool[n_unmeasured++] = pool[i];
			pool[i] = t;
		}
	shuffle(pool, n_unmeasured, rng);
	shuffle(pool + n_unmeasured, n_pool - n_unmeasured, rng);
}

size_t sd_rank(const sd_rank_member *asker, const sd_rank_member *members, size_t n_members, size_t list_size,
               bool ranked, GRand *rng, sd_rank_pick *picks)
{
	if (n_members == 0 || list_size == 0)
		return 0;
	candidate *c = g_new(candidate, n_members);
	size_t owner = n_members;
	for (size_t i = 0; i < n_members; i++) {
		const sd_link *link = sd_links_find(asker->links, asker->n_links, members[i].id);
		c[i] = (candidate){.index = i, .tier = sd_rank_tier(asker, &members[i]),
		                   .useless = !useful(asker, &members[i]), .unmeasured = link == NULL,
		                   .down_kbps = link != NULL ? link->down_kbps : 0, .rtt_ms = link != NULL ? link->rtt_ms : 0,
		                   .tie = g_rand_int(rng)};
		if (members[i].owner)
			owner = i;
	}
	size_t n = n_members < list_size ? n_members : list_size;
	size_t ranked_part = n;
	if (ranked) {
		qsort(c, n_members, sizeof(*c), compare);
		if (n_members > list_size) {
			ranked_part = list_size - (list_size + 3) / 4;
			draw_random_part(c, n_members, ranked_part, rng);
		}
	}
	bool owner_in = owner == n_members;
	for (size_t i = 0; i < n && !owner_in; i++)
		owner_in = c[i].index == owner;
	/* Left out, the owner takes the place of the last of the ranked part (random slots stay). */
	if (!owner_in) {
		size_t slot = ranked_part > 0 ? ranked_part - 1 : 0;
		for (size_t i = n; i < n_members; i++)
			if (c[i].index == owner)
				c[slot] = c[i];
	}
	for (size_t i = 0; i < n; i++)
		picks[i] = (sd_rank_pick){.index = c[i].index, .tier = c[i].tier};
	g_free(c);
	return n;
}
