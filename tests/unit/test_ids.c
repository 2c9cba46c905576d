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

/* Vectors computed with sha256sum over the ASCII bytes: the derivation is part of the protocol. */
static void ids_derive_from_their_secrets(void **state)
{
	(void)state;
	char share[SD_SHARE_ID_LEN + 1], peer[SD_PEER_ID_LEN + 1], again[SD_PEER_ID_LEN + 1];
	assert_true(sd_share_id_of("00112233445566778899aabbccddeeff", share));
	assert_string_equal(share, "58984523431fa2fc");
	assert_true(sd_peer_id_of("0123456789abcdef", "00112233445566778899aabbccddeeff", peer));
	assert_string_equal(peer, "84eb3234a645");
	/* Same inputs, same id; another share or secret, another id. */
	assert_true(sd_peer_id_of("0123456789abcdef", "00112233445566778899aabbccddeeff", again));
	assert_string_equal(again, peer);
	assert_true(sd_peer_id_of("0123456789abcdee", "00112233445566778899aabbccddeeff", again));
	assert_string_not_equal(again, peer);
	assert_true(sd_peer_id_of("0123456789abcdef", "00112233445566778899aabbccddeefe", again));
	assert_string_not_equal(again, peer);
	char whole[66];
	assert_true(sd_derive_hex(whole, 64, SD_SHARE_ID_DOMAIN, NULL, "00112233445566778899aabbccddeeff"));
	assert_string_equal(whole, "58984523431fa2fc0220c13bb314d208103c643f389ccaa644e5db91467279a6");
	assert_false(sd_derive_hex(whole, 65, SD_SHARE_ID_DOMAIN, NULL, "x"));
}

int run_ids_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_hex_has_the_asked_shape),
		cmocka_unit_test(random_hex_refuses_odd_or_huge_lengths),
		cmocka_unit_test(hex_id_check_pins_length_and_alphabet),
		cmocka_unit_test(ids_derive_from_their_secrets),
	};
	return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
