#include <string.h>

#include "sd_ids.h"
#include "unit.h"

static void random_hex_has_the_asked_shape(void **state)
{
	(void)state;
	char a[SD_TOKEN_LEN + 1], b[SD_TOKEN_LEN + 1];
	assert_true(sd_random_hex(a, SD_TOKEN_LEN));
	assert_true(sd_random_hex(b, SD_TOKEN_LEN));
	assert_true(sd_is_hex_id(a, SD_TOKEN_LEN));
	assert_string_not_equal(a, b);
}

static void random_hex_refuses_odd_or_huge_lengths(void **state)
{
	(void)state;
	char buf[300];
	assert_false(sd_random_hex(buf, 7));
	assert_false(sd_random_hex(buf, 258));
}

static void hex_id_check_pins_length_and_alphabet(void **state)
{
	(void)state;
	assert_true(sd_is_hex_id("0123456789abcdef", 16));
	assert_false(sd_is_hex_id("0123456789abcde", 16));   /* short */
	assert_false(sd_is_hex_id("0123456789abcdef0", 16)); /* long */
	assert_false(sd_is_hex_id("0123456789ABCDEF", 16));  /* uppercase */
	assert_false(sd_is_hex_id("0123456789abcdeg", 16));
	assert_false(sd_is_hex_id("", 16));
	assert_false(sd_is_hex_id(NULL, 16));
}

int run_ids_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_hex_has_the_asked_shape),
		cmocka_unit_test(random_hex_refuses_odd_or_huge_lengths),
		cmocka_unit_test(hex_id_check_pins_length_and_alphabet),
	};
	return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
