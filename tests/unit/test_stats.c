#include <string.h>

#include "sd_stats.h"
#include "unit.h"

static void errors_are_counted_by_code_and_named(void **state)
{
	(void)state;
	sd_stats *stats = sd_stats_new();
	json_t *none = sd_stats_errors_json(stats);
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);
	for (int i = 0; i < 3; i++)
		sd_stats_count_error(stats, SD_ERR_RELAY_WINDOW);
	sd_stats_count_error(stats, SD_ERR_BAD_BODY);
	/* Not an sd_error_code in range: counted as internal, never out of the table. */
	sd_stats_count_error(stats, 0);
	sd_stats_count_error(stats, 100000);
	sd_stats_count_error(stats, -7);
	json_t *errors = sd_stats_errors_json(stats);
	assert_int_equal(json_array_size(errors), 3);
	const struct {
		int code;
		const char *name;
		int count;
	} expected[] = {{440, "bad_body", 1}, {458, "relay_window", 3}, {499, "internal", 3}};
	for (size_t i = 0; i < 3; i++) {
		json_t *row = json_array_get(errors, i);
		assert_int_equal(json_integer_value(json_object_get(row, "code")), expected[i].code);
		assert_string_equal(json_string_value(json_object_get(row, "name")), expected[i].name);
		assert_int_equal(json_integer_value(json_object_get(row, "count")), expected[i].count);
	}
	json_decref(errors);
	json_t *quotas = sd_stats_quotas_json(stats);
	assert_int_equal(json_integer_value(json_object_get(quotas, "relay_window")), 3);
	assert_int_equal(json_integer_value(json_object_get(quotas, "too_many_requests")), 0);
	assert_null(json_object_get(quotas, "bad_body"));
	assert_int_equal(json_object_size(quotas), 8);
	json_decref(quotas);
	assert_string_equal(sd_error_name(SD_ERR_CONNECTION_LIMIT), "connection_limit");
	assert_string_equal(sd_error_name(12345), "unknown");
	/* One table says which codes are limits: the window is counted but is not a quota event. */
	assert_int_equal(sd_error_limit(SD_ERR_SHARE_FULL), SD_LIMIT_QUOTA);
	assert_int_equal(sd_error_limit(SD_ERR_RELAY_WINDOW), SD_LIMIT_FLOW);
	assert_int_equal(sd_error_limit(SD_ERR_BAD_BODY), SD_LIMIT_NONE);
	assert_int_equal(sd_error_limit(12345), SD_LIMIT_NONE);
	sd_stats_free(stats);
}

static void the_relay_rate_is_over_the_last_samples(void **state)
{
	(void)state;
	sd_stats *stats = sd_stats_new();
	assert_true(sd_stats_relay_rate(stats) == 0);
	sd_stats_sample_relay(stats, 0, 0);
	assert_true(sd_stats_relay_rate(stats) == 0);
	/* 1 MB a second for 30 s, then nothing: the rate is over the last 10 s only. */
	for (int s = 1; s <= 30; s++)
		sd_stats_sample_relay(stats, (guint64)s * 1000000, (gint64)s * G_USEC_PER_SEC);
	assert_true(sd_stats_relay_rate(stats) > 999999 && sd_stats_relay_rate(stats) < 1000001);
	for (int s = 31; s <= 35; s++)
		sd_stats_sample_relay(stats, 30000000, (gint64)s * G_USEC_PER_SEC);
	assert_true(sd_stats_relay_rate(stats) > 499999 && sd_stats_relay_rate(stats) < 500001);
	for (int s = 36; s <= 50; s++)
		sd_stats_sample_relay(stats, 30000000, (gint64)s * G_USEC_PER_SEC);
	assert_true(sd_stats_relay_rate(stats) == 0);
	/* A clock that goes back or a counter that shrinks gives 0, not nonsense. */
	sd_stats_sample_relay(stats, 10, 0);
	assert_true(sd_stats_relay_rate(stats) == 0);
	sd_stats_free(stats);
}

int run_stats_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(errors_are_counted_by_code_and_named),
		cmocka_unit_test(the_relay_rate_is_over_the_last_samples),
	};
	return cmocka_run_group_tests_name("sd_stats", tests, NULL, NULL);
}
