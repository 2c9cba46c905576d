#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

#include "sd_locate.h"
#include "unit.h"

/* tests/vectors/make-location-db.py writes the fixture before the tests run (make check). */

static sd_address address(const char *text)
{
	sd_address a;
	assert_true(sd_address_parse(text, &a));
	return a;
}

static void addresses_parse_as_ipv4_or_ipv6(void **state)
{
	(void)state;
	sd_address a = address("198.18.0.11");
	assert_int_equal(a.family, 4);
	assert_memory_equal(a.bytes, ((uint8_t[]){198, 18, 0, 11}), 4);
	assert_int_equal(address("2001:db8:a::1").family, 6);
	/* An IPv4-mapped IPv6 address is the IPv4 one. */
	sd_address mapped = address("::ffff:198.18.0.11");
	assert_int_equal(mapped.family, 4);
	assert_true(sd_address_same_network(&mapped, &a));
	const char *bad[] = {"", "198.18.0", "198.18.0.256", "host.example", "2001:db8::1::2", " 198.18.0.11",
	                     "198.18.0.11/32", "0000000000000000000000000000000000000000000000000001", NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sd_address out;
		assert_false(sd_address_parse(bad[i], &out));
		assert_int_equal(out.family, 0);
	}
}

/* Addresses that are nobody's public one are taken as unknown: two members on loopback are not
 * on the same network. Private and benchmark ranges are kept (the lab uses them). */
static void addresses_that_name_no_place_are_unknown(void **state)
{
	(void)state;
	const char *unknown[] = {"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.0.9", "169.254.10.20", "224.0.0.251",
	                         "239.255.255.250", "::", "::1", "fe80::1", "febf:ffff::2", "ff02::fb",
	                         "::ffff:127.0.0.1", "::ffff:169.254.1.1"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		sd_address a = address(unknown[i]);
		if (a.family != 0)
			fail_msg("%s was taken as a place", unknown[i]);
		assert_false(sd_address_same_network(&a, &a));
	}
	const char *kept[] = {"10.0.0.1", "172.16.5.4", "192.168.1.2", "198.18.0.11", "198.19.2.2", "100.64.0.1",
	                      "1.0.0.1", "223.255.255.255", "240.0.0.1", "169.253.0.1", "fec0::1", "fd00::1",
	                      "::2", "2001:db8::1"};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (address(kept[i]).family == 0)
			fail_msg("%s was taken as unknown", kept[i]);
}

static void same_network_is_the_same_ipv4_address_or_ipv6_64(void **state)
{
	(void)state;
	sd_address a = address("198.18.0.11"), b = address("198.18.0.12"), unknown = {0};
	assert_true(sd_address_same_network(&a, &a));
	assert_false(sd_address_same_network(&a, &b));
	assert_false(sd_address_same_network(&unknown, &unknown));
	sd_address v6 = address("2001:db8:a:1::5"), v6_same64 = address("2001:db8:a:1:ffff::9"),
	           v6_other64 = address("2001:db8:a:2::5");
	assert_true(sd_address_same_network(&v6, &v6_same64));
	assert_false(sd_address_same_network(&v6, &v6_other64));
	assert_false(sd_address_same_network(&v6, &a));
}

static void the_fixture_maps_addresses_to_operator_and_country(void **state)
{
	(void)state;
	char err[256] = "";
	sd_locate *loc = sd_locate_open(SD_LOCATION_FIXTURE, err, sizeof(err));
	if (loc == NULL)
		fail_msg("%s", err);
	static const struct {
		const char *address;
		uint32_t asn;
		const char *country;
	} cases[] = {
		{"198.18.0.11", 64501, "QM"},   {"198.18.0.12", 64502, "QN"},    {"198.18.1.200", 64501, "QM"},
		{"198.18.2.7", 64503, "QM"},    {"2001:db8:a:ffff::1", 64501, "QM"}, {"2001:db8:b::1", 64502, "QN"},
		{"198.18.0.13", 0, ""},         {"2001:db8:c::1", 0, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sd_address a = address(cases[i].address);
		sd_place place = sd_locate_lookup(loc, &a);
		if (place.asn != cases[i].asn || strcmp(place.country, cases[i].country) != 0)
			fail_msg("%s: AS%u \"%s\", wanted AS%u \"%s\"", cases[i].address, place.asn, place.country, cases[i].asn,
			         cases[i].country);
	}
	sd_address unknown = {0};
	assert_int_equal(sd_locate_lookup(loc, &unknown).asn, 0);
	sd_locate_free(loc);
}

static void without_a_database_everything_is_unknown(void **state)
{
	(void)state;
	char err[256] = "";
	assert_null(sd_locate_open("/nonexistent/location.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/location.db"));
	assert_null(sd_locate_open("", err, sizeof(err)));
	assert_non_null(strstr(err, "no location database"));
	/* A file that is not a database is refused with a reason. */
	char path[] = "/tmp/sd-locate-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a database\n", 15), 15);
	close(fd);
	assert_null(sd_locate_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a location database"));
	unlink(path);
	sd_address a = address("198.18.0.11");
	sd_place place = sd_locate_lookup(NULL, &a);
	assert_int_equal(place.asn, 0);
	assert_string_equal(place.country, "");
}

int run_locate_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses_parse_as_ipv4_or_ipv6),
		cmocka_unit_test(addresses_that_name_no_place_are_unknown),
		cmocka_unit_test(same_network_is_the_same_ipv4_address_or_ipv6_64),
		cmocka_unit_test(the_fixture_maps_addresses_to_operator_and_country),
		cmocka_unit_test(without_a_database_everything_is_unknown),
	};
	return cmocka_run_group_tests_name("locate", tests, NULL, NULL);
}
