#include <string.h>

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
	sd_peer *owner = sd_registry_create_share(reg, &client_a, &err);
	assert_non_null(owner);
	assert_int_equal(owner->role, SD_ROLE_OWNER);
	assert_true(sd_is_hex_id(owner->id, SD_PEER_ID_LEN));
	assert_true(sd_is_hex_id(owner->share->id, SD_SHARE_ID_LEN));
	assert_true(sd_is_hex_id(owner->share->owner_token, SD_TOKEN_LEN));
	assert_ptr_equal(sd_registry_find_share(reg, owner->share->id), owner->share);
	assert_ptr_equal(sd_share_owner(owner->share), owner);
	assert_ptr_equal(sd_share_find_peer(owner->share, owner->id), owner);
	assert_ptr_equal(sd_share_peer_of(owner->share, &client_a), owner);
	assert_null(sd_share_peer_of(owner->share, &client_b));
	assert_null(sd_registry_find_share(reg, "ffffffffffffffff"));
	sd_registry_free(reg);
}

static void a_share_comes_back_with_its_ids_and_members_with_theirs(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(2, 4, 4);
	sd_error err;
	const char *share_id = "0123456789abcdef", *token = "00112233445566778899aabbccddeeff";
	sd_peer *owner = sd_registry_restore_share(reg, share_id, token, &client_a, "aaaaaaaaaaaa", &err);
	assert_non_null(owner);
	assert_string_equal(owner->share->id, share_id);
	assert_string_equal(owner->share->owner_token, token);
	assert_string_equal(owner->id, "aaaaaaaaaaaa");
	assert_int_equal(owner->role, SD_ROLE_OWNER);
	/* A member asks for its old id: it gets it when free, a fresh one when taken or malformed. */
	sd_peer *b = sd_registry_add_peer(reg, owner->share, &client_b, SD_ROLE_RECEIVER, "bbbbbbbbbbbb", &err);
	assert_string_equal(b->id, "bbbbbbbbbbbb");
	sd_peer *c = sd_registry_add_peer(reg, owner->share, &client_c, SD_ROLE_RECEIVER, "bbbbbbbbbbbb", &err);
	assert_string_not_equal(c->id, "bbbbbbbbbbbb");
	assert_true(sd_is_hex_id(c->id, SD_PEER_ID_LEN));
	sd_registry_remove_peer(reg, c);
	c = sd_registry_add_peer(reg, owner->share, &client_c, SD_ROLE_RECEIVER, "BBBBBBBBBBBB", &err);
	assert_true(sd_is_hex_id(c->id, SD_PEER_ID_LEN));
	/* An id in use, a malformed id or token, or a full server: refused. */
	assert_null(sd_registry_restore_share(reg, share_id, token, &client_b, NULL, &err));
	assert_null(sd_registry_restore_share(reg, "0123", token, &client_b, NULL, &err));
	assert_int_equal(err.code, SD_ERR_INVALID_FIELD);
	assert_null(sd_registry_restore_share(reg, "fedcba9876543210", "short", &client_b, NULL, &err));
	assert_int_equal(err.code, SD_ERR_INVALID_FIELD);
	assert_non_null(sd_registry_create_share(reg, &client_b, &err));
	assert_null(sd_registry_restore_share(reg, "fedcba9876543210", token, &client_c, NULL, &err));
	assert_int_equal(err.code, SD_ERR_SERVER_FULL);
	sd_registry_free(reg);
}

static void server_share_limit_holds(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(2, 4, 4);
	sd_error err;
	assert_non_null(sd_registry_create_share(reg, &client_a, &err));
	assert_non_null(sd_registry_create_share(reg, &client_b, &err));
	assert_null(sd_registry_create_share(reg, &client_c, &err));
	assert_int_equal(err.code, SD_ERR_SERVER_FULL);
	assert_int_equal(sd_registry_share_count(reg), 2);
	sd_registry_free(reg);
}

static void share_and_handle_limits_hold(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(8, 2, 2);
	sd_error err;
	sd_peer *owner = sd_registry_create_share(reg, &client_a, &err);
	assert_non_null(sd_registry_add_peer(reg, owner->share, &client_b, SD_ROLE_RECEIVER, NULL, &err));
	assert_null(sd_registry_add_peer(reg, owner->share, &client_c, SD_ROLE_RECEIVER, NULL, &err));
	assert_int_equal(err.code, SD_ERR_SHARE_FULL);
	assert_non_null(sd_registry_create_share(reg, &client_a, &err));
	assert_null(sd_registry_create_share(reg, &client_a, &err)); /* a's third share */
	assert_int_equal(err.code, SD_ERR_HANDLE_LIMIT);
	assert_int_equal(sd_registry_share_count(reg), 2);
	sd_registry_free(reg);
}

static void removing_peers_and_shares_updates_every_index(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(8, 8, 8);
	sd_error err;
	sd_peer *owner = sd_registry_create_share(reg, &client_a, &err);
	sd_share *share = owner->share;
	sd_peer *b = sd_registry_add_peer(reg, share, &client_b, SD_ROLE_RECEIVER, NULL, &err);
	sd_peer *other = sd_registry_create_share(reg, &client_b, &err);
	GPtrArray *held = sd_registry_peers_of(reg, &client_b);
	assert_int_equal(held->len, 2);
	g_ptr_array_free(held, TRUE);

	sd_registry_remove_peer(reg, b);
	assert_int_equal(share->peers->len, 1);
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

static void orphans_are_found_after_the_grace_period_only(void **state)
{
	(void)state;
	sd_registry *reg = registry_with(8, 8, 8);
	sd_error err;
	sd_peer *owner = sd_registry_create_share(reg, &client_a, &err);
	sd_share *share = owner->share;
	share->owner_lost_at = 1000;
	GPtrArray *orphans = sd_registry_orphans_since(reg, 1999, 1000);
	assert_int_equal(orphans->len, 0);
	g_ptr_array_free(orphans, TRUE);
	orphans = sd_registry_orphans_since(reg, 2000, 1000);
	assert_int_equal(orphans->len, 1);
	assert_ptr_equal(g_ptr_array_index(orphans, 0), share);
	g_ptr_array_free(orphans, TRUE);
	sd_registry_free(reg);
}

int run_registry_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_makes_an_owner_with_fresh_ids),
		cmocka_unit_test(a_share_comes_back_with_its_ids_and_members_with_theirs),
		cmocka_unit_test(server_share_limit_holds),
		cmocka_unit_test(share_and_handle_limits_hold),
		cmocka_unit_test(removing_peers_and_shares_updates_every_index),
		cmocka_unit_test(orphans_are_found_after_the_grace_period_only),
	};
	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
