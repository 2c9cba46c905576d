#include <string.h>

#include "sd_limits.h"
#include "unit.h"

static void defaults_are_the_documented_ones(void **state)
{
	(void)state;
	sd_limits l;
	sd_limits_default(&l);
	assert_int_equal(l.max_shares, 8192);
	assert_int_equal(l.max_peers_per_share, 64);
	assert_int_equal(l.max_shares_per_handle, 8);
	assert_int_equal(l.max_handles_per_connection, 8);
	assert_int_equal(l.max_shares_per_connection, 4);
	assert_int_equal(l.max_members_per_connection, 4);
	assert_int_equal(l.max_seats_per_connection, 2);
	assert_int_equal(l.requests_per_second, 20);
	assert_int_equal(l.request_burst, 100);
	assert_int_equal(l.max_signal_bytes, 16384);
	assert_int_equal(l.share_empty_grace_seconds, 30);
	assert_int_equal(l.share_orphan_max_seconds, 86400);
	assert_int_equal(l.relay_window_kib, 4096);
	assert_int_equal(l.sctp_send_buffer_kib, 4096);
	assert_int_equal(l.sctp_receive_buffer_kib, 4096);
	assert_int_equal(l.relay_share_quota_mib, 4096);
	assert_int_equal(l.relay_client_quota_mib, 1024);
	assert_int_equal(l.relay_client_rate_kib, 0);
	assert_int_equal(l.relay_offer_timeout_seconds, 10);
	assert_int_equal(l.relay_refusals_per_second, 10);
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
	assert_int_equal(sd_limits_set(&l, "sctp_send_buffer_kib", "16385", err, sizeof(err)), SD_LIMIT_BAD_VALUE);
	assert_int_equal(sd_limits_set(&l, "sctp_receive_buffer_kib", "0", err, sizeof(err)), SD_LIMIT_OK);
	assert_int_equal(l.sctp_receive_buffer_kib, 0);
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

/* The per-connection limits and the relay's bounds: none can be turned off (0) or set absurdly
 * high; the relay quotas can be 0 (no limit) on purpose. */
static void connection_and_relay_bounds_have_ranges(void **state)
{
	(void)state;
	static const struct {
		const char *key, *low, *high, *top;
	} ranges[] = {
		{"max_handles_per_connection", "0", "1001", "1000"},
		{"max_shares_per_connection", "0", "100001", "100000"},
		{"max_members_per_connection", "0", "100001", "100000"},
		{"max_seats_per_connection", "0", "10001", "10000"},
		{"requests_per_second", "0", "100001", "100000"},
		{"request_burst", "0", "1000001", "1000000"},
		{"relay_offer_timeout_seconds", "0", "3601", "3600"},
		{"relay_refusals_per_second", "0", "10001", "10000"},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		sd_limits l, before;
		char err[160];
		sd_limits_default(&l);
		before = l;
		assert_int_equal(sd_limits_set(&l, ranges[i].key, ranges[i].low, err, sizeof(err)), SD_LIMIT_BAD_VALUE);
		assert_non_null(strstr(err, ranges[i].key));
		assert_int_equal(sd_limits_set(&l, ranges[i].key, ranges[i].high, err, sizeof(err)), SD_LIMIT_BAD_VALUE);
		assert_int_equal(sd_limits_set(&l, ranges[i].key, "-3", err, sizeof(err)), SD_LIMIT_BAD_VALUE);
		assert_memory_equal(&l, &before, sizeof(l));
		assert_int_equal(sd_limits_set(&l, ranges[i].key, ranges[i].top, err, sizeof(err)), SD_LIMIT_OK);
		assert_int_equal(sd_limits_set(&l, ranges[i].key, "1", err, sizeof(err)), SD_LIMIT_OK);
	}
	sd_limits l;
	char err[160];
	sd_limits_default(&l);
	assert_int_equal(sd_limits_set(&l, "relay_share_quota_mib", "0", err, sizeof(err)), SD_LIMIT_OK);
	assert_int_equal(sd_limits_set(&l, "relay_client_quota_mib", "0", err, sizeof(err)), SD_LIMIT_OK);
	assert_int_equal(l.relay_share_quota_mib + l.relay_client_quota_mib, 0);
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
		cmocka_unit_test(connection_and_relay_bounds_have_ranges),
		cmocka_unit_test(unknown_keys_are_reported),
		cmocka_unit_test(booleans_and_paths_are_checked),
	};
	return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
