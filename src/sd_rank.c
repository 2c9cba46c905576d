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

/* The asker's links by peer id, for one ranking: an open-addressing table of at least twice
 * SD_LINKS_MAX slots, each a link's index + 1 (0: empty). A member is matched to them with a
 * hash and, nearly always, no string comparison: most members are not among them. */
#define LINK_SLOTS_LOG2 7
#define LINK_SLOTS (1u << LINK_SLOTS_LOG2)
G_STATIC_ASSERT(LINK_SLOTS >= 2 * SD_LINKS_MAX && SD_LINKS_MAX < 255);

struct sd_ranker {
	size_t list_size;
	size_t ranked_part; /* of a list with more members than list_size; the rest is the random part */
	bool ranked;
	candidate *best;    /* list_size: the ranked part, a heap with the worst on top while it fills */
	size_t *chosen;     /* ranked_part: the ranked part's indices, ascending */
	size_t *unmeasured, *measured; /* list_size - ranked_part each: the random part's samples */
	uint8_t link_slots[LINK_SLOTS];
};

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

sd_ranker *sd_ranker_new(size_t list_size, bool ranked)
{
	sd_ranker *r = g_new0(sd_ranker, 1);
	r->list_size = list_size;
	r->ranked_part = list_size - (list_size + 3) / 4;
	r->ranked = ranked;
	r->best = g_new(candidate, list_size);
	r->chosen = g_new(size_t, r->ranked_part);
	r->unmeasured = g_new(size_t, list_size - r->ranked_part);
	r->measured = g_new(size_t, list_size - r->ranked_part);
	return r;
}

void sd_ranker_free(sd_ranker *r)
{
	if (r == NULL)
		return;
	g_free(r->best);
	g_free(r->chosen);
	g_free(r->unmeasured);
	g_free(r->measured);
	g_free(r);
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

/* A peer id's 12 characters, mixed by multiplication (the top bits take from all of them). */
static size_t link_slot(const char *peer)
{
	uint64_t head;
	uint32_t tail;
	memcpy(&head, peer, sizeof(head));
	memcpy(&tail, peer + sizeof(head), sizeof(tail));
	uint64_t mixed = (head ^ ((uint64_t)tail * UINT64_C(0xc2b2ae3d27d4eb4f))) * UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(mixed >> (64 - LINK_SLOTS_LOG2));
}

static void index_links(sd_ranker *r, const sd_rank_asker *asker)
{
	memset(r->link_slots, 0, sizeof(r->link_slots));
	for (size_t i = 0; i < asker->n_links && i < SD_LINKS_MAX; i++) {
		size_t slot = link_slot(asker->links[i].peer);
		while (r->link_slots[slot] != 0)
			slot = (slot + 1) % LINK_SLOTS;
		r->link_slots[slot] = (uint8_t)(i + 1);
	}
}

/* What the asker measured to other (index_links made the table), or NULL. */
static const sd_link *measured(const sd_ranker *r, const sd_rank_asker *asker, const sd_rank_member *other)
{
	for (size_t slot = link_slot(other->id); r->link_slots[slot] != 0; slot = (slot + 1) % LINK_SLOTS) {
		const sd_link *link = &asker->links[r->link_slots[slot] - 1];
		if (memcmp(link->peer, other->id, SD_PEER_ID_LEN) == 0)
			return link;
	}
	return NULL;
}

static candidate candidate_of(const sd_ranker *r, const sd_rank_asker *asker, const sd_rank_member *members, size_t i,
                              GRand *rng)
{
	const sd_link *link = measured(r, asker, &members[i]);
	return (candidate){.index = i, .tier = sd_rank_tier(&asker->member, &members[i]),
	                   .useless = !useful(&asker->member, &members[i]), .unmeasured = link == NULL,
	                   .down_kbps = link != NULL ? link->down_kbps : 0, .rtt_ms = link != NULL ? link->rtt_ms : 0,
	                   .tie = g_rand_int(rng)};
}

static sd_rank_pick pick_of(const sd_rank_asker *asker, const sd_rank_member *members, size_t i)
{
	return (sd_rank_pick){.index = i, .tier = sd_rank_tier(&asker->member, &members[i])};
}

/* A total order: the index breaks the rare equal random ties. */
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
	if (a->tie != b->tie)
		return a->tie < b->tie ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

static int compare_index(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	return (a > b) - (a < b);
}

static void swap(candidate *a, candidate *b)
{
	candidate t = *a;
	*a = *b;
	*b = t;
}

/* The heap of the best so far keeps the worst of them on top, to be pushed out by a better one. */
static void heap_push(candidate *heap, size_t *n, candidate c)
{
	size_t i = (*n)++;
	heap[i] = c;
	for (size_t parent; i > 0 && compare(&heap[i], &heap[parent = (i - 1) / 2]) > 0; i = parent)
		swap(&heap[i], &heap[parent]);
}

static void heap_replace_top(candidate *heap, size_t n, candidate c)
{
	heap[0] = c;
	for (size_t i = 0;;) {
		size_t worst = i, left = 2 * i + 1, right = left + 1;
		if (left < n && compare(&heap[left], &heap[worst]) > 0)
			worst = left;
		if (right < n && compare(&heap[right], &heap[worst]) > 0)
			worst = right;
		if (worst == i)
			return;
		swap(&heap[i], &heap[worst]);
		i = worst;
	}
}

static void shuffle(size_t *v, size_t n, GRand *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)g_rand_int_range(rng, 0, (gint32)i);
		size_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Reservoir sampling: after every index is offered, kept holds min(size, seen) of them, each
 * subset as likely as another. */
static void sample(size_t *kept, size_t size, size_t *seen, size_t index, GRand *rng)
{
	size_t at = *seen < size ? *seen : (size_t)g_rand_int_range(rng, 0, (gint32)(*seen + 1));
	if (at < size)
		kept[at] = index;
	(*seen)++;
}

/* The random part, into out: list_size - ranked_part members past the ranked part (r->best),
 * drawn at random, those the asker never measured first (so that new peers get measured). */
static void draw_random_part(sd_ranker *r, const sd_rank_asker *asker, const sd_rank_member *members, size_t n,
                             GRand *rng, sd_rank_pick *out)
{
	size_t want = r->list_size - r->ranked_part, n_unmeasured = 0, n_measured = 0;
	for (size_t i = 0; i < r->ranked_part; i++)
		r->chosen[i] = r->best[i].index;
	if (r->ranked_part > 1) /* chosen is NULL when there is no ranked part (a list of 1) */
		qsort(r->chosen, r->ranked_part, sizeof(*r->chosen), compare_index);
	for (size_t i = 0, next = 0; i < n; i++) {
		if (next < r->ranked_part && r->chosen[next] == i)
			next++;
		else if (measured(r, asker, &members[i]) != NULL)
			sample(r->measured, want, &n_measured, i, rng);
		else
			sample(r->unmeasured, want, &n_unmeasured, i, rng);
	}
	size_t from_unmeasured = MIN(n_unmeasured, want);
	shuffle(r->unmeasured, from_unmeasured, rng);
	shuffle(r->measured, MIN(n_measured, want), rng);
	for (size_t i = 0; i < want; i++)
		out[i] = pick_of(asker, members, i < from_unmeasured ? r->unmeasured[i] : r->measured[i - from_unmeasured]);
}

/* The owner (members[owner]), when picks leave it out, takes slot. */
static void keep_owner(const sd_rank_asker *asker, const sd_rank_member *members, size_t owner, sd_rank_pick *picks,
                       size_t n_picks, size_t slot)
{
	for (size_t i = 0; i < n_picks; i++)
		if (picks[i].index == owner)
			return;
	picks[slot] = pick_of(asker, members, owner);
}

/* Ranking off: the first members, in joining order; the owner, if later, takes the last place.
 * Nobody is placed near either (every tier "other"), so that switching ranking off switches off
 * all the tracker tells of proximity, and a lab can measure what that costs. */
static size_t in_joining_order(const sd_ranker *r, const sd_rank_member *members, size_t n, sd_rank_pick *picks)
{
	size_t n_picks = MIN(n, r->list_size);
	for (size_t i = 0; i < n_picks; i++)
		picks[i] = (sd_rank_pick){.index = i, .tier = SD_TIER_OTHER};
	for (size_t i = n_picks; i < n; i++)
		if (members[i].owner)
			picks[n_picks - 1] = (sd_rank_pick){.index = i, .tier = SD_TIER_OTHER};
	return n_picks;
}

size_t sd_rank(sd_ranker *r, const sd_rank_asker *asker, const sd_rank_member *members, size_t n_members,
               GRand *rng, sd_rank_pick *picks)
{
	if (n_members == 0 || r->list_size == 0)
		return 0;
	if (!r->ranked)
		return in_joining_order(r, members, n_members, picks);
	/* Every member fits: all ranked. Else the best ranked_part, then the random part. */
	bool all = n_members <= r->list_size;
	size_t want = all ? n_members : r->ranked_part, n_best = 0, owner = n_members;
	index_links(r, asker);
	for (size_t i = 0; i < n_members; i++) {
		candidate c = candidate_of(r, asker, members, i, rng);
		if (members[i].owner)
			owner = i;
		if (n_best < want)
			heap_push(r->best, &n_best, c);
		else if (want > 0 && compare(&c, &r->best[0]) < 0)
			heap_replace_top(r->best, n_best, c);
	}
	qsort(r->best, n_best, sizeof(*r->best), compare);
	for (size_t i = 0; i < n_best; i++)
		picks[i] = (sd_rank_pick){.index = r->best[i].index, .tier = r->best[i].tier};
	if (all)
		return n_members;
	draw_random_part(r, asker, members, n_members, rng, picks + n_best);
	/* Left out, the owner takes the place of the last of the ranked part (random slots stay). */
	if (owner < n_members)
		keep_owner(asker, members, owner, picks, r->list_size, r->ranked_part > 0 ? r->ranked_part - 1 : 0);
	return r->list_size;
}
