#include <string.h>

#include "sd_limits.h"
#include "unit.h"

static void defaults_are_the_documented_ones(void **state)
{
	(void)state;
	sd_limits l;
	sd_limits_default(&l);
	assert_int_equal(l.max_shares, 1024);
	assert_int_equal(l.max_peers_per_share, 64);
	assert_int_equal(l.max_shares_per_handle, 8);
	assert_int_equal(l.max_signal_bytes, 16384);
	assert_int_equal(l.share_empty_grace_seconds, 30);
	assert_int_equal(l.share_orphan_max_seconds, 86400);
	assert_int_equal(l.relay_window_kib, 1024);
	assert_int_equal(l.relay_share_quota_mib, 0);
	assert_int_equal(l.relay_client_quota_mib, 0);
	assert_int_equal(l.relay_client_rate_kib, 0);
	assert_true(l.rank_peers);
	assert_int_equal(l.tracker_list_size, 16);
	assert_int_equal(l.max_links_per_member, 8);
	assert_int_equal(l.report_interval_seconds, 5);
	assert_string_equal(l.location_database, "/var/lib/location/database.db");
}

static void booleans_and_paths_are_checked(void **state)
{
	(void)state;
	sd_limits l;
	char err[256];
	sd_limits_default(&l);
	assert_int_equal(sd_limits_set(&l, "rank_peers", "false", err, sizeof(err)), SD_LIMIT_OK);
	assert_false(l.rank_peers);
	const char *not_boolean[] = {"", "0", "yes", "False", "true ", NULL};
	for (size_t i = 0; i < sizeof(not_boolean) / sizeof(not_boolean[0]); i++) {
		assert_int_equal(sd_limits_set(&l, "rank_peers", not_boolean[i], err, sizeof(err)), SD_LIMIT_BAD_VALUE);
		assert_false(l.rank_peers);
		assert_non_null(strstr(err, "true or false; keeping false"));
	}
	assert_int_equal(sd_limits_set(&l, "location_database", "/tmp/fixture.db", err, sizeof(err)), SD_LIMIT_OK);
	assert_string_equal(l.location_database, "/tmp/fixture.db");
	assert_int_equal(sd_limits_set(&l, "location_database", "", err, sizeof(err)), SD_LIMIT_OK);
	assert_string_equal(l.location_database, "");
	char long_path[SD_LIMITS_PATH_MAX + 1];
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	const char *bad_paths[] = {"relative/location.db", long_path, NULL};
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		assert_int_equal(sd_limits_set(&l, "location_database", bad_paths[i], err, sizeof(err)), SD_LIMIT_BAD_VALUE);
		assert_string_equal(l.location_database, "");
		assert_non_null(strstr(err, "absolute path"));
	}
	assert_int_equal(sd_limits_set(&l, "tracker_list_size", "1", err, sizeof(err)), SD_LIMIT_BAD_VALUE);
	assert_int_equal(sd_limits_set(&l, "max_links_per_member", "65", err, sizeof(err)), SD_LIMIT_BAD_VALUE);
	assert_int_equal(sd_limits_set(&l, "report_interval_seconds", "3600", err, sizeof(err)), SD_LIMIT_OK);
}

static void a_valid_value_is_taken(void **state)
{
	(void)state;
	sd_limits l;
	char err[128];
	sd_limits_default(&l);
	assert_int_equal(sd_limits_set(&l, "max_peers_per_share", "2", err, sizeof(err)), SD_LIMIT_OK);
	assert_int_equal(l.max_peers_per_share, 2);
	assert_int_equal(sd_limits_set(&l, "share_empty_grace_seconds", "0", err, sizeof(err)), SD_LIMIT_OK);
	assert_int_equal(l.share_empty_grace_seconds, 0);
	assert_int_equal(sd_limits_set(&l, "share_orphan_max_seconds", "2592000", err, sizeof(err)), SD_LIMIT_OK);
	assert_int_equal(l.share_orphan_max_seconds, 2592000);
	assert_int_equal(sd_limits_set(&l, "share_orphan_max_seconds", "2592001", err, sizeof(err)), SD_LIMIT_BAD_VALUE);
	assert_int_equal(l.share_orphan_max_seconds, 2592000);
	/* The key these two replaced is unknown now. */
	assert_int_equal(sd_limits_set(&l, "owner_grace_seconds", "30", err, sizeof(err)), SD_LIMIT_UNKNOWN_KEY);
}

static void bad_values_keep_the_old_value_and_say_why(void **state)
{
	(void)state;
	const char *bad[] = {"", "-1", "1", "65537", "12abc", " 300", "99999999999999999999999", "0x100", NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sd_limits l;
		char err[128] = "";
		sd_limits_default(&l);
		assert_int_equal(sd_limits_set(&l, "max_signal_bytes", bad[i], err, sizeof(err)), SD_LIMIT_BAD_VALUE);
		assert_int_equal(l.max_signal_bytes, 16384);
		assert_non_null(strstr(err, "256 to 65536"));
	}
}

static void unknown_keys_are_reported(void **state)
{
	(void)state;
	sd_limits l;
	char err[128];
	sd_limits_default(&l);
	assert_int_equal(sd_limits_set(&l, "max_sharez", "3", err, sizeof(err)), SD_LIMIT_UNKNOWN_KEY);
	assert_non_null(strstr(err, "max_sharez"));
}

int run_limits_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_documented_ones),
		cmocka_unit_test(a_valid_value_is_taken),
		cmocka_unit_test(bad_values_keep_the_old_value_and_say_why),
		cmocka_unit_test(unknown_keys_are_reported),
		cmocka_unit_test(booleans_and_paths_are_checked),
	};
	return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
