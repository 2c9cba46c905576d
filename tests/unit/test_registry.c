#include <string.h>

#include "sd_locate.h"
#include "sd_registry.h"
#include "unit.h"

static int client_a, client_b, client_c; /* addresses stand for Janus handles */

static sd_registry *registry_with(unsigned max_shares, unsigned max_peers, unsigned per_handle)
{
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_shares = max_shares;
	limits.max_peers_per_share = max_peers;
	limits.max_shares_per_handle = per_handle;
	return sd_registry_new(&limits);
}

static void create_makes_an_owner_with_fresh_ids(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(4, 4, 4);
	sd_error err;
	char secret[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = sd_registry_create_share(reg, &client_a, secret, &err);
	assert_non_null(owner);
	assert_int_equal(owner->role, SD_ROLE_OWNER);
	assert_true(sd_is_hex_id(owner->id, SD_PEER_ID_LEN));
	assert_true(sd_is_hex_id(owner->share->id, SD_SHARE_ID_LEN));
	assert_true(sd_is_hex_id(owner->share->owner_token, SD_TOKEN_LEN));
	assert_true(sd_is_hex_id(secret, SD_SECRET_LEN));
	/* The share id is the owner token's, the owner's id its secret's. */
	char derived[SD_SHARE_ID_LEN + 1], derived_peer[SD_PEER_ID_LEN + 1];
	assert_true(sd_share_id_of(owner->share->owner_token, derived));
	assert_string_equal(owner->share->id, derived);
	assert_true(sd_peer_id_of(owner->share->id, secret, derived_peer));
	assert_string_equal(owner->id, derived_peer);
	assert_true(owner->share->owner_absent_since == SD_NOT_SINCE);
	assert_true(owner->share->empty_since == SD_NOT_SINCE);
	assert_ptr_equal(sd_registry_find_share(reg, owner->share->id), owner->share);
	assert_ptr_equal(sd_share_owner(owner->share), owner);
	assert_ptr_equal(sd_share_find_peer(owner->share, owner->id), owner);
	assert_ptr_equal(sd_registry_peer_of(reg, owner->share, &client_a), owner);
	assert_null(sd_registry_peer_of(reg, owner->share, &client_b));
	assert_null(sd_registry_find_share(reg, "ffffffffffffffff"));
	sd_registry_free(reg);
}

#define TOKEN "00112233445566778899aabbccddeeff"
#define TOKEN_SHARE "58984523431fa2fc" /* sd_share_id_of(TOKEN), test_ids.c */

static void a_share_comes_back_only_under_the_id_of_its_token(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(2, 4, 4);
	sd_error err;
	char secret[SD_SECRET_LEN + 1] = "";
	/* A token of one's own for another share's id: refused, and nothing is made. */
	assert_null(sd_registry_restore_share(reg, "0123456789abcdef", TOKEN, &client_b, secret, &err));
	assert_int_equal(err.code, SD_ERR_BAD_OWNER_TOKEN);
	assert_int_equal(sd_registry_share_count(reg), 0);
	sd_peer *owner = sd_registry_restore_share(reg, TOKEN_SHARE, TOKEN, &client_a, secret, &err);
	assert_non_null(owner);
	assert_string_equal(owner->share->id, TOKEN_SHARE);
	assert_string_equal(owner->share->owner_token, TOKEN);
	assert_int_equal(owner->role, SD_ROLE_OWNER);
	assert_true(sd_is_hex_id(secret, SD_SECRET_LEN));
	/* An id in use, a malformed id or token, or a full server: refused. */
	secret[0] = '\0';
	assert_null(sd_registry_restore_share(reg, TOKEN_SHARE, TOKEN, &client_b, secret, &err));
	assert_null(sd_registry_restore_share(reg, "0123", TOKEN, &client_b, secret, &err));
	assert_int_equal(err.code, SD_ERR_INVALID_FIELD);
	assert_null(sd_registry_restore_share(reg, "fedcba9876543210", "short", &client_b, secret, &err));
	assert_int_equal(err.code, SD_ERR_INVALID_FIELD);
	assert_non_null(sd_registry_create_share(reg, &client_b, secret, &err));
	char other_token[SD_TOKEN_LEN + 1], other_share[SD_SHARE_ID_LEN + 1];
	assert_true(sd_random_hex(other_token, SD_TOKEN_LEN));
	assert_true(sd_share_id_of(other_token, other_share));
	secret[0] = '\0';
	assert_null(sd_registry_restore_share(reg, other_share, other_token, &client_c, secret, &err));
	assert_int_equal(err.code, SD_ERR_SERVER_FULL);
	sd_registry_free(reg);
}

static void member_ids_derive_from_their_secrets(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(2, 8, 4);
	sd_error err;
	char secret[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = sd_registry_create_share(reg, &client_a, secret, &err);
	sd_share *share = owner->share;
	char kept[SD_SECRET_LEN + 1] = "0123456789abcdef0123456789abcdef", expected[SD_PEER_ID_LEN + 1];
	assert_true(sd_peer_id_of(share->id, kept, expected));
	char b_secret[SD_SECRET_LEN + 1];
	g_strlcpy(b_secret, kept, sizeof(b_secret));
	sd_peer *b = sd_registry_add_peer(reg, share, &client_b, SD_ROLE_RECEIVER, b_secret, &err);
	assert_string_equal(b->id, expected);
	assert_string_equal(b_secret, kept); /* a given secret is kept */
	/* The same secret while its member is here: refused. */
	char c_secret[SD_SECRET_LEN + 1];
	g_strlcpy(c_secret, kept, sizeof(c_secret));
	assert_null(sd_registry_add_peer(reg, share, &client_c, SD_ROLE_RECEIVER, c_secret, &err));
	assert_int_equal(err.code, SD_ERR_PEER_TAKEN);
	/* No secret: a fresh one, and its id. */
	c_secret[0] = '\0';
	sd_peer *c = sd_registry_add_peer(reg, share, &client_c, SD_ROLE_RECEIVER, c_secret, &err);
	assert_non_null(c);
	assert_true(sd_is_hex_id(c_secret, SD_SECRET_LEN));
	assert_string_not_equal(c_secret, kept);
	char c_id[SD_PEER_ID_LEN + 1];
	assert_true(sd_peer_id_of(share->id, c_secret, c_id));
	assert_string_equal(c->id, c_id);
	/* Once b left, its secret gives its id back (to whoever shows it: the secret is the proof). */
	sd_registry_remove_peer(reg, b, 5);
	g_strlcpy(b_secret, kept, sizeof(b_secret));
	b = sd_registry_add_peer(reg, share, &client_b, SD_ROLE_RECEIVER, b_secret, &err);
	assert_string_equal(b->id, expected);
	/* The same secret in another share is another id. */
	char other_secret[SD_SECRET_LEN + 1] = "";
	sd_peer *other_owner = sd_registry_create_share(reg, &client_c, other_secret, &err);
	g_strlcpy(b_secret, kept, sizeof(b_secret));
	sd_peer *b2 = sd_registry_add_peer(reg, other_owner->share, &client_b, SD_ROLE_RECEIVER, b_secret, &err);
	assert_string_not_equal(b2->id, expected);
	/* A malformed secret is refused. */
	char bad[SD_SECRET_LEN + 1] = "0123456789ABCDEF0123456789ABCDEF";
	assert_null(sd_registry_add_peer(reg, share, &client_c, SD_ROLE_RECEIVER, bad, &err));
	assert_int_equal(err.code, SD_ERR_INVALID_FIELD);
	sd_registry_free(reg);
}

static void server_share_limit_holds(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(2, 4, 4);
	sd_error err;
	char secret[SD_SECRET_LEN + 1] = "";
	assert_non_null(sd_registry_create_share(reg, &client_a, secret, &err));
	secret[0] = '\0';
	assert_non_null(sd_registry_create_share(reg, &client_b, secret, &err));
	secret[0] = '\0';
	assert_null(sd_registry_create_share(reg, &client_c, secret, &err));
	assert_int_equal(err.code, SD_ERR_SERVER_FULL);
	assert_int_equal(sd_registry_share_count(reg), 2);
	sd_registry_free(reg);
}

static void share_and_handle_limits_hold(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(8, 2, 2);
	sd_error err;
	char secret[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = sd_registry_create_share(reg, &client_a, secret, &err);
	secret[0] = '\0';
	assert_non_null(sd_registry_add_peer(reg, owner->share, &client_b, SD_ROLE_RECEIVER, secret, &err));
	secret[0] = '\0';
	assert_null(sd_registry_add_peer(reg, owner->share, &client_c, SD_ROLE_RECEIVER, secret, &err));
	assert_int_equal(err.code, SD_ERR_SHARE_FULL);
	secret[0] = '\0';
	assert_non_null(sd_registry_create_share(reg, &client_a, secret, &err));
	secret[0] = '\0';
	assert_null(sd_registry_create_share(reg, &client_a, secret, &err)); /* a's third share */
	assert_int_equal(err.code, SD_ERR_HANDLE_LIMIT);
	assert_int_equal(sd_registry_share_count(reg), 2);
	sd_registry_free(reg);
}

static void removing_peers_and_shares_updates_every_index(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(8, 8, 8);
	sd_error err;
	char secret[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = sd_registry_create_share(reg, &client_a, secret, &err);
	sd_share *share = owner->share;
	secret[0] = '\0';
	sd_peer *b = sd_registry_add_peer(reg, share, &client_b, SD_ROLE_RECEIVER, secret, &err);
	secret[0] = '\0';
	sd_peer *other = sd_registry_create_share(reg, &client_b, secret, &err);
	GPtrArray *held = sd_registry_peers_of(reg, &client_b);
	assert_int_equal(held->len, 2);
	g_ptr_array_free(held, TRUE);
	assert_ptr_equal(sd_share_find_peer(share, b->id), b);
	assert_ptr_equal(sd_registry_peer_of(reg, share, &client_b), b);
	assert_ptr_equal(sd_registry_peer_of(reg, other->share, &client_b), other);
	assert_null(sd_share_find_peer(other->share, b->id)); /* ids are per share */

	char b_id[SD_PEER_ID_LEN + 1];
	g_strlcpy(b_id, b->id, sizeof(b_id));
	sd_registry_remove_peer(reg, b, 7);
	assert_null(sd_share_find_peer(share, b_id));
	assert_null(sd_registry_peer_of(reg, share, &client_b));
	assert_ptr_equal(sd_share_find_peer(share, owner->id), owner);
	assert_int_equal(share->peers->len, 1);
	assert_true(share->empty_since == SD_NOT_SINCE);
	assert_true(share->owner_absent_since == SD_NOT_SINCE);
	held = sd_registry_peers_of(reg, &client_b);
	assert_int_equal(held->len, 1);
	assert_ptr_equal(g_ptr_array_index(held, 0), other);
	g_ptr_array_free(held, TRUE);

	sd_registry_remove_share(reg, share);
	assert_int_equal(sd_registry_share_count(reg), 1);
	held = sd_registry_peers_of(reg, &client_a);
	assert_int_equal(held->len, 0);
	g_ptr_array_free(held, TRUE);
	sd_registry_free(reg);
}

static void the_owners_absence_and_emptiness_are_timed(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(8, 8, 8);
	sd_error err;
	char secret[SD_SECRET_LEN + 1] = "", b_secret[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = sd_registry_create_share(reg, &client_a, secret, &err);
	sd_share *share = owner->share;
	sd_peer *b = sd_registry_add_peer(reg, share, &client_b, SD_ROLE_RECEIVER, b_secret, &err);
	char owner_id[SD_PEER_ID_LEN + 1];
	g_strlcpy(owner_id, owner->id, sizeof(owner_id));
	sd_registry_remove_peer(reg, owner, 1000);
	assert_true(share->owner_absent_since == 1000);
	assert_true(share->empty_since == SD_NOT_SINCE);
	GPtrArray *found = sd_registry_orphans_since(reg, 1999, 1000);
	assert_int_equal(found->len, 0);
	g_ptr_array_free(found, TRUE);
	found = sd_registry_orphans_since(reg, 2000, 1000);
	assert_int_equal(found->len, 1);
	assert_ptr_equal(g_ptr_array_index(found, 0), share);
	g_ptr_array_free(found, TRUE);
	/* The last member leaves: empty from then on, still without its owner. */
	sd_registry_remove_peer(reg, b, 3000);
	assert_true(share->empty_since == 3000);
	found = sd_registry_empty_since(reg, 3009, 10);
	assert_int_equal(found->len, 0);
	g_ptr_array_free(found, TRUE);
	found = sd_registry_empty_since(reg, 3010, 10);
	assert_int_equal(found->len, 1);
	g_ptr_array_free(found, TRUE);
	/* Anyone joining ends the emptiness; the owner's return ends its absence. */
	b_secret[0] = '\0';
	sd_registry_add_peer(reg, share, &client_b, SD_ROLE_RECEIVER, b_secret, &err);
	assert_true(share->empty_since == SD_NOT_SINCE);
	assert_true(share->owner_absent_since == 1000);
	sd_peer *back = sd_registry_add_peer(reg, share, &client_a, SD_ROLE_OWNER, secret, &err);
	assert_string_equal(back->id, owner_id); /* its secret gives its id back */
	assert_true(share->owner_absent_since == SD_NOT_SINCE);
	found = sd_registry_orphans_since(reg, 1 << 30, 0);
	assert_int_equal(found->len, 0);
	g_ptr_array_free(found, TRUE);
	sd_registry_free(reg);
}

static const sd_link *link_to(const sd_peer *peer, const char *id)
{
	for (unsigned i = 0; i < peer->standing.n_links; i++)
		if (strcmp(peer->links[i].peer, id) == 0)
			return &peer->links[i];
	return NULL;
}

/* A checked report of complete with links to the given peers (each measured rtt 10 + its place). */
static sd_request report_of(bool complete, const char *const *peers, size_t n, const char *address)
{
	sd_request req = {.kind = SD_REQ_REPORT, .complete = complete, .n_links = n};
	for (size_t i = 0; i < n; i++)
		req.links[i] = (sd_link){.rtt_ms = 10 + (uint32_t)i, .down_kbps = 1000, .up_kbps = 500};
	for (size_t i = 0; i < n; i++)
		g_strlcpy(req.links[i].peer, peers[i], sizeof(req.links[i].peer));
	if (address != NULL)
		assert_true(sd_address_parse(address, &req.address));
	return req;
}

static void reports_are_kept_bounded_and_spaced(void **state)
{
	(void)state;
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_links_per_member = 2;
	limits.report_interval_seconds = 5;
	sd_registry *reg = sd_registry_new(&limits);
	sd_error err;
	char s1[SD_SECRET_LEN + 1] = "", s2[SD_SECRET_LEN + 1] = "", s3[SD_SECRET_LEN + 1] = "";
	sd_peer *owner = sd_registry_create_share(reg, &client_a, s1, &err);
	sd_peer *b = sd_registry_add_peer(reg, owner->share, &client_b, SD_ROLE_RECEIVER, s2, &err);
	sd_peer *c = sd_registry_add_peer(reg, owner->share, &client_c, SD_ROLE_RECEIVER, s3, &err);
	assert_true(b->standing.reported_at == SD_NOT_SINCE);
	/* Unknown peers, b itself and a peer named again are dropped; of the rest,
	 * max_links_per_member are kept, sorted by peer id. */
	const char *peers[] = {"ffffffffffff", b->id, c->id, c->id, owner->id, c->id};
	sd_request req = report_of(true, peers, 6, "198.18.0.11");
	req.has_have = true;
	req.have[3] = 0x10;
	char why[256];
	sd_locate *locate = sd_locate_open(SD_LOCATION_FIXTURE, why, sizeof(why));
	if (locate == NULL)
		fail_msg("%s", why);
	gint64 t = 1000 * G_USEC_PER_SEC;
	assert_true(sd_registry_report(reg, b, &req, locate, t, &err));
	assert_int_equal(b->standing.n_links, 2);
	assert_true(strcmp(b->links[0].peer, b->links[1].peer) < 0);
	const sd_link *to_c = link_to(b, c->id), *to_owner = link_to(b, owner->id);
	assert_non_null(to_c);
	assert_int_equal(to_c->rtt_ms, 12); /* the first entry naming c */
	assert_non_null(to_owner);
	assert_int_equal(to_owner->rtt_ms, 14);
	assert_true(b->standing.complete);
	assert_true(b->standing.has_have);
	assert_int_equal(b->standing.have[3], 0x10);
	assert_int_equal(b->standing.address.family, 4);
	assert_int_equal(b->standing.place.asn, 64501);
	assert_true(b->standing.reported_at == t);
	assert_string_equal(b->standing.place.country, "QM");
	/* Sooner than 5 s less the second of slack: refused, nothing stored, the new address not
	 * even looked up. */
	sd_request later = report_of(false, peers + 2, 1, NULL);
	sd_request moved = report_of(false, peers + 2, 1, "198.18.0.12");
	assert_false(sd_registry_report(reg, b, &moved, locate, t + 4 * G_USEC_PER_SEC - 1, &err));
	assert_int_equal(err.code, SD_ERR_TOO_SOON);
	assert_non_null(strstr(err.message, "every 5 s"));
	assert_true(b->standing.complete);
	assert_int_equal(b->standing.n_links, 2);
	assert_int_equal(b->standing.place.asn, 64501);
	/* Then taken; a report without address keeps the one known. */
	assert_true(sd_registry_report(reg, b, &later, locate, t + 4 * G_USEC_PER_SEC, &err));
	assert_false(b->standing.complete);
	assert_false(b->standing.has_have);
	assert_int_equal(b->standing.n_links, 1);
	assert_int_equal(b->standing.address.family, 4);
	assert_int_equal(b->standing.place.asn, 64501);
	/* The same address again is not looked up again (here without a database, its place stays);
	 * a new one is. */
	sd_registry_locate(b, &req.address, NULL);
	assert_int_equal(b->standing.place.asn, 64501);
	sd_registry_locate(b, &moved.address, locate);
	assert_int_equal(b->standing.place.asn, 64502);
	assert_string_equal(b->standing.place.country, "QN");
	/* Another member's spacing is its own. */
	assert_true(sd_registry_report(reg, c, &later, locate, t + 4 * G_USEC_PER_SEC, &err));
	sd_locate_free(locate);
	sd_registry_free(reg);
	/* At the shortest interval, 1 s, the slack is half of it: reports still come spaced. */
	limits.report_interval_seconds = 1;
	reg = sd_registry_new(&limits);
	owner = sd_registry_create_share(reg, &client_a, s1, &err);
	assert_true(sd_registry_report(reg, owner, &later, NULL, t, &err));
	assert_false(sd_registry_report(reg, owner, &later, NULL, t + G_USEC_PER_SEC / 2 - 1, &err));
	assert_int_equal(err.code, SD_ERR_TOO_SOON);
	assert_true(sd_registry_report(reg, owner, &later, NULL, t + G_USEC_PER_SEC / 2, &err));
	sd_registry_free(reg);
}

int run_registry_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_makes_an_owner_with_fresh_ids),
		cmocka_unit_test(a_share_comes_back_only_under_the_id_of_its_token),
		cmocka_unit_test(member_ids_derive_from_their_secrets),
		cmocka_unit_test(server_share_limit_holds),
		cmocka_unit_test(share_and_handle_limits_hold),
		cmocka_unit_test(removing_peers_and_shares_updates_every_index),
		cmocka_unit_test(the_owners_absence_and_emptiness_are_timed),
		cmocka_unit_test(reports_are_kept_bounded_and_spaced),
	};
	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
