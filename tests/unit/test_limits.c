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
	};
	return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
