#include <stdio.h>
#include <string.h>

#include "sd_rank.h"
#include "unit.h"

/* Synthetic swarms: up to 32 members named m00.. with addresses and places given directly (the
 * locate group tests where places come from). */
#define MAX_MEMBERS 32

typedef struct swarm {
	sd_rank_asker asker;
	sd_link asker_links[SD_LINKS_MAX];
	sd_rank_member m[MAX_MEMBERS];
	char ids[MAX_MEMBERS][SD_PEER_ID_LEN + 1];
	size_t n;
} swarm;

static const sd_place OPERATOR_A = {64501, "QM"}, OPERATOR_A2 = {64503, "QM"}, OPERATOR_B = {64502, "QN"};

static void locate_at(sd_rank_member *m, const char *address, sd_place place)
{
	assert_true(sd_address_parse(address, &m->address));
	m->place = place;
}

/* A swarm of n members, every one at 203.0.113.<i+1> in no known place, the asker elsewhere. */
static swarm *swarm_new(size_t n)
{
	swarm *s = g_new0(swarm, 1);
	s->n = n;
	s->asker.member.id = "aaaaaaaaaaaa";
	s->asker.links = s->asker_links;
	locate_at(&s->asker.member, "192.0.2.1", (sd_place){0});
	for (size_t i = 0; i < n; i++) {
		snprintf(s->ids[i], sizeof(s->ids[i]), "%012zx", i);
		s->m[i].id = s->ids[i];
		char address[32];
		snprintf(address, sizeof(address), "203.0.113.%zu", i + 1);
		locate_at(&s->m[i], address, (sd_place){0});
	}
	return s;
}

static void measure(swarm *s, size_t member, uint32_t down_kbps, uint32_t rtt_ms)
{
	sd_link *link = &s->asker_links[s->asker.n_links++];
	memcpy(link->peer, s->ids[member], sizeof(link->peer));
	link->down_kbps = down_kbps;
	link->rtt_ms = rtt_ms;
}

/* Ranks with seed; returns how many were picked. */
static size_t rank(const swarm *s, size_t list_size, bool ranked, guint32 seed, sd_rank_pick *picks)
{
	GRand *rng = g_rand_new_with_seed(seed);
	sd_ranker *ranker = sd_ranker_new(list_size, ranked);
	size_t n = sd_rank(ranker, &s->asker, s->m, s->n, rng, picks);
	sd_ranker_free(ranker);
	g_rand_free(rng);
	assert_true(n <= list_size && n <= s->n);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(picks[i].index, picks[j].index); /* nothing twice */
	return n;
}

static void assert_order(const sd_rank_pick *picks, size_t n, const size_t *want, size_t n_want)
{
	assert_int_equal(n, n_want);
	for (size_t i = 0; i < n; i++)
		if (picks[i].index != want[i])
			fail_msg("place %zu: member %zu, wanted %zu", i, picks[i].index, want[i]);
}

static void tiers_come_in_order(void **state)
{
	(void)state;
	swarm *s = swarm_new(5);
	locate_at(&s->asker.member, "198.18.0.11", OPERATOR_A);
	locate_at(&s->m[0], "198.18.0.12", OPERATOR_B);  /* other */
	locate_at(&s->m[1], "198.18.2.7", OPERATOR_A2);  /* same country */
	locate_at(&s->m[2], "198.18.1.9", OPERATOR_A);   /* same operator */
	locate_at(&s->m[3], "198.18.0.11", OPERATOR_A);  /* same network: the same public address */
	/* m[4]: unknown place, other */
	sd_rank_pick picks[5];
	size_t n = rank(s, 16, true, 1, picks);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(picks[i].index, 3 - i);
	assert_string_equal(sd_tier_name(picks[0].tier), "same_network");
	assert_string_equal(sd_tier_name(picks[1].tier), "same_operator");
	assert_string_equal(sd_tier_name(picks[2].tier), "same_country");
	assert_int_equal(picks[3].tier, SD_TIER_OTHER);
	assert_int_equal(picks[4].tier, SD_TIER_OTHER);
	g_free(s);
}

static void ipv6_members_share_a_network_by_their_64(void **state)
{
	(void)state;
	swarm *s = swarm_new(3);
	locate_at(&s->asker.member, "2001:db8:a:1::5", OPERATOR_A);
	locate_at(&s->m[0], "2001:db8:a:2::5", OPERATOR_A);      /* another /64 of the same operator */
	locate_at(&s->m[1], "2001:db8:a:1:abcd::9", OPERATOR_A); /* the same /64 */
	locate_at(&s->m[2], "198.18.0.11", OPERATOR_A);          /* the operator's IPv4 */
	sd_rank_pick picks[3];
	size_t n = rank(s, 16, true, 1, picks);
	assert_int_equal(n, 3);
	assert_int_equal(picks[0].index, 1);
	assert_int_equal(picks[0].tier, SD_TIER_SAME_NETWORK);
	assert_int_equal(picks[1].tier, SD_TIER_SAME_OPERATOR);
	assert_int_equal(picks[2].tier, SD_TIER_SAME_OPERATOR);
	g_free(s);
}

static void members_holding_what_the_asker_lacks_come_first_in_a_tier(void **state)
{
	(void)state;
	static const uint8_t bucket0[SD_HAVE_BYTES] = {0x80}, bucket1[SD_HAVE_BYTES] = {0x40};
	swarm *s = swarm_new(4);
	s->asker.member.have = bucket0;
	s->m[0].have = bucket0; /* holds only what the asker holds */
	s->m[1].have = bucket1; /* holds bucket 1 */
	s->m[2].complete = true;
	/* m[3] reported nothing */
	measure(s, 0, 9000, 5); /* the best measured, yet not useful */
	sd_rank_pick picks[4];
	size_t n = rank(s, 16, true, 1, picks);
	assert_int_equal(n, 4);
	/* 1 and 2 (useful, unmeasured, random between them), then 0 (measured), then 3. */
	assert_true((picks[0].index == 1 && picks[1].index == 2) || (picks[0].index == 2 && picks[1].index == 1));
	assert_int_equal(picks[2].index, 0);
	assert_int_equal(picks[3].index, 3);
	/* A complete asker finds nobody more useful than another: the measurement decides. */
	s->asker.member.complete = true;
	n = rank(s, 16, true, 1, picks);
	assert_int_equal(picks[0].index, 0);
	g_free(s);
}

static void measured_links_order_by_throughput_then_rtt(void **state)
{
	(void)state;
	swarm *s = swarm_new(4);
	measure(s, 0, 1000, 50);
	measure(s, 1, 5000, 80);
	measure(s, 2, 5000, 20);
	/* m[3] unmeasured: after every measured one */
	sd_rank_pick picks[4];
	size_t n = rank(s, 16, true, 1, picks);
	assert_order(picks, n, (size_t[]){2, 1, 0, 3}, 4);
	g_free(s);
}

/* 20 members, the asker measured 0..9 (0 the fastest): a list of 8 is the best 6, then 2 drawn
 * from the unmeasured 10..19. */
static void a_random_part_gives_new_peers_slots(void **state)
{
	(void)state;
	swarm *s = swarm_new(20);
	for (size_t i = 0; i < 10; i++)
		measure(s, i, 10000 - (uint32_t)i * 100, 10);
	sd_rank_pick picks[8], again[8];
	size_t n = rank(s, 8, true, 7, picks);
	assert_int_equal(n, 8);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(picks[i].index, i);
	assert_true(picks[6].index >= 10 && picks[7].index >= 10);
	/* The same seed draws the same; other seeds draw others. */
	rank(s, 8, true, 7, again);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(again[i].index, picks[i].index);
	bool differs = false;
	for (guint32 seed = 8; seed < 20 && !differs; seed++) {
		rank(s, 8, true, seed, again);
		differs = again[6].index != picks[6].index || again[7].index != picks[7].index;
	}
	assert_true(differs);
	/* A list of 9 keeps ceil(9/4) = 3 random slots. */
	sd_rank_pick nine[9];
	assert_int_equal(rank(s, 9, true, 7, nine), 9);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(nine[i].index, i);
	for (size_t i = 6; i < 9; i++)
		assert_true(nine[i].index >= 10);
	/* Every unmeasured member gets drawn under some seed, not only the first ones offered. */
	bool drawn[20] = {false};
	for (guint32 seed = 1; seed < 200; seed++) {
		rank(s, 8, true, seed, again);
		drawn[again[6].index] = drawn[again[7].index] = true;
	}
	for (size_t i = 10; i < 20; i++)
		assert_true(drawn[i]);
	/* With every member measured, the random part draws among the rest of them. */
	for (size_t i = 10; i < 20; i++)
		measure(s, i, 100, 10);
	rank(s, 8, true, 7, picks);
	for (size_t i = 6; i < 8; i++)
		assert_true(picks[i].index >= 6);
	g_free(s);
}

/* 20 members: 18 on the asker's network and measured fast, one more there it never measured,
 * and the owner far and measured slow. A list of 4 is 3 ranked (near and measured) and 1
 * random (the unmeasured member first): the owner makes neither, and takes the last place of
 * the ranked part. */
/* The ranked part is the best members in order whatever the order they come in, for every
 * list size (the ranking keeps only the best so far, not a sort of all). */
static void the_ranked_part_is_the_best_whatever_their_order(void **state)
{
	(void)state;
	swarm *s = swarm_new(MAX_MEMBERS);
	for (size_t i = 0; i < MAX_MEMBERS; i++)
		measure(s, (i * 7) % MAX_MEMBERS, 1000 + (uint32_t)i * 10, 10); /* member (i*7)%32 the i-th slowest */
	for (size_t list_size = 1; list_size <= MAX_MEMBERS + 1; list_size++) {
		sd_rank_pick picks[MAX_MEMBERS + 1];
		size_t n = rank(s, list_size, true, 5, picks);
		assert_int_equal(n, MIN(list_size, (size_t)MAX_MEMBERS));
		size_t ranked_part = list_size >= MAX_MEMBERS ? MAX_MEMBERS : list_size - (list_size + 3) / 4;
		for (size_t i = 0; i < ranked_part; i++)
			assert_int_equal(picks[i].index, ((MAX_MEMBERS - 1 - i) * 7) % MAX_MEMBERS);
	}
	g_free(s);
}

static void the_owner_is_always_listed(void **state)
{
	(void)state;
	swarm *s = swarm_new(20);
	locate_at(&s->asker.member, "198.18.0.11", OPERATOR_A);
	for (size_t i = 0; i < 19; i++) {
		locate_at(&s->m[i], "198.18.0.11", OPERATOR_A);
		s->m[i].complete = true;
	}
	for (size_t i = 0; i < 18; i++)
		measure(s, i, 5000, 10);
	s->m[19].owner = s->m[19].complete = true;
	measure(s, 19, 100, 300);
	for (guint32 seed = 1; seed < 10; seed++) {
		sd_rank_pick picks[4];
		size_t n = rank(s, 4, true, seed, picks);
		assert_int_equal(n, 4);
		assert_true(picks[0].index < 18 && picks[1].index < 18);
		assert_int_equal(picks[2].index, 19);
		assert_int_equal(picks[2].tier, SD_TIER_OTHER);
		assert_int_equal(picks[3].index, 18);
		/* Ranking off: the first ones and the owner. */
		n = rank(s, 4, false, seed, picks);
		assert_order(picks, n, (size_t[]){0, 1, 2, 19}, 4);
	}
	g_free(s);
}

static void ranking_off_keeps_joining_order(void **state)
{
	(void)state;
	swarm *s = swarm_new(6);
	locate_at(&s->asker.member, "198.18.0.11", OPERATOR_A);
	locate_at(&s->m[5], "198.18.0.11", OPERATOR_A);
	measure(s, 4, 9000, 1);
	sd_rank_pick picks[6];
	size_t n = rank(s, 16, false, 3, picks);
	assert_order(picks, n, (size_t[]){0, 1, 2, 3, 4, 5}, 6);
	assert_int_equal(picks[5].tier, SD_TIER_OTHER); /* nobody is placed near */
	n = rank(s, 3, false, 3, picks);
	assert_order(picks, n, (size_t[]){0, 1, 2}, 3);
	assert_int_equal(rank(s, 3, true, 3, picks), 3);
	assert_int_equal(picks[0].index, 5);
	g_free(s);
}

static void without_a_database_only_the_same_network_is_near(void **state)
{
	(void)state;
	swarm *s = swarm_new(3); /* places unknown, as without a database */
	locate_at(&s->asker.member, "198.18.0.11", (sd_place){0});
	locate_at(&s->m[2], "198.18.0.11", (sd_place){0});
	s->m[1].address.family = 0; /* never said where it is */
	measure(s, 1, 100, 100);
	sd_rank_pick picks[3];
	size_t n = rank(s, 16, true, 1, picks);
	assert_order(picks, n, (size_t[]){2, 1, 0}, 3);
	assert_int_equal(picks[0].tier, SD_TIER_SAME_NETWORK);
	assert_int_equal(picks[1].tier, SD_TIER_OTHER);
	assert_int_equal(picks[2].tier, SD_TIER_OTHER);
	/* An asker without an address: everyone is other. */
	s->asker.member.address.family = 0;
	rank(s, 16, true, 1, picks);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(picks[i].tier, SD_TIER_OTHER);
	assert_int_equal(rank(s, 16, true, 1, picks), 3);
	s->n = 0;
	assert_int_equal(rank(s, 16, true, 1, picks), 0);
	g_free(s);
}

int run_rank_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tiers_come_in_order),
		cmocka_unit_test(ipv6_members_share_a_network_by_their_64),
		cmocka_unit_test(members_holding_what_the_asker_lacks_come_first_in_a_tier),
		cmocka_unit_test(measured_links_order_by_throughput_then_rtt),
		cmocka_unit_test(a_random_part_gives_new_peers_slots),
		cmocka_unit_test(the_ranked_part_is_the_best_whatever_their_order),
		cmocka_unit_test(the_owner_is_always_listed),
		cmocka_unit_test(ranking_off_keeps_joining_order),
		cmocka_unit_test(without_a_database_only_the_same_network_is_near),
	};
	return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
