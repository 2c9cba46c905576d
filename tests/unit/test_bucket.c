#include "sd_bucket.h"
#include "unit.h"

#define SECONDS(n) ((gint64)(n) * G_USEC_PER_SEC)

/* Full at first; without time passing nothing comes back, however often it is asked. */
static void a_bucket_spends_its_burst_then_waits(void **state)
{
	(void)state;
	sd_bucket b;
	sd_bucket_init(&b, 10, 3);
	for (int i = 0; i < 3; i++)
		assert_true(sd_bucket_take(&b, SECONDS(5), 1));
	for (int i = 0; i < 100; i++)
		assert_false(sd_bucket_take(&b, SECONDS(5), 1));
	assert_true(b.tokens >= 0);
	/* 0.1 s earns one token; a partial one is not enough. */
	assert_false(sd_bucket_take(&b, SECONDS(5) + 99999, 1));
	assert_true(sd_bucket_take(&b, SECONDS(5) + 100000, 1));
	assert_false(sd_bucket_take(&b, SECONDS(5) + 100000, 1));
	/* A long pause saves at most the burst. */
	for (int i = 0; i < 3; i++)
		assert_true(sd_bucket_take(&b, SECONDS(100), 1));
	assert_false(sd_bucket_take(&b, SECONDS(100), 1));
}

/* The gap between the most distant clock readings neither overflows nor earns more than a burst,
 * and a clock that goes back earns nothing and is not followed back. */
static void huge_gaps_and_clocks_that_go_back(void **state)
{
	(void)state;
	sd_bucket b;
	sd_bucket_init(&b, 1e10, 5);
	assert_int_equal(sd_bucket_take_upto(&b, G_MININT64 + 1, 100), 5);
	assert_int_equal(sd_bucket_take_upto(&b, G_MAXINT64, 100), 5);
	assert_int_equal(sd_bucket_take_upto(&b, 0, 100), 0); /* back: nothing */
	assert_int_equal(b.refilled_at, G_MAXINT64);
	assert_int_equal(sd_bucket_take_upto(&b, G_MAXINT64, 100), 0);

	sd_bucket slow;
	sd_bucket_init(&slow, 1, 1000);
	assert_false(sd_bucket_owe(&slow, 0, 2000));
	assert_true(slow.tokens == -1000);
	sd_bucket_refill(&slow, SECONDS(-5)); /* back */
	assert_true(slow.tokens == -1000);
	sd_bucket_refill(&slow, G_MAXINT64);
	assert_true(slow.tokens == 1000);
}

/* take_upto gives what it holds, in whole tokens, and refills by the µs. */
static void take_upto_gives_what_it_holds(void **state)
{
	(void)state;
	sd_bucket b;
	sd_bucket_init(&b, 1000, 1000);
	assert_int_equal(sd_bucket_take_upto(&b, 0, 300), 300);
	assert_int_equal(sd_bucket_take_upto(&b, 0, 5000), 700);
	assert_int_equal(sd_bucket_take_upto(&b, 0, 5000), 0);
	assert_int_equal(sd_bucket_take_upto(&b, 1500, 5000), 1); /* 1.5 tokens earned */
	assert_int_equal(sd_bucket_take_upto(&b, 2000, 5000), 1); /* the half kept, and another */
	assert_int_equal(sd_bucket_take_upto(&b, 2000, 0), 0);
}

/* A debt only when asked for, at most a burst; refills pay it before anything can be taken. */
static void a_debt_is_bounded_and_paid_first(void **state)
{
	(void)state;
	sd_bucket b;
	sd_bucket_init(&b, 10, 20);
	for (int i = 0; i < 20; i++)
		assert_true(sd_bucket_owe(&b, 0, 1));
	for (int i = 0; i < 1000; i++)
		assert_false(sd_bucket_owe(&b, 0, 1));
	assert_true(b.tokens == -20);
	/* 2 s pay the debt back to 0: still nothing to take. */
	assert_false(sd_bucket_take(&b, SECONDS(2), 1));
	assert_true(b.tokens == 0);
	assert_true(sd_bucket_take(&b, SECONDS(2) + 100000, 1));
	/* take never goes below 0. */
	assert_false(sd_bucket_take(&b, SECONDS(2) + 100000, 1));
	assert_true(b.tokens == 0);
}

/* Rate 0 is no limit: every take succeeds in full, nothing is counted. */
static void rate_zero_is_no_limit(void **state)
{
	(void)state;
	sd_bucket b;
	sd_bucket_init(&b, 0, 0);
	for (int i = 0; i < 1000; i++) {
		assert_true(sd_bucket_take(&b, 0, 1e9));
		assert_true(sd_bucket_owe(&b, 0, 1e9));
		assert_int_equal(sd_bucket_take_upto(&b, 0, G_MAXUINT64), G_MAXUINT64);
	}
	assert_true(b.tokens == 0);
}

int run_bucket_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_bucket_spends_its_burst_then_waits),
		cmocka_unit_test(huge_gaps_and_clocks_that_go_back),
		cmocka_unit_test(take_upto_gives_what_it_holds),
		cmocka_unit_test(a_debt_is_bounded_and_paid_first),
		cmocka_unit_test(rate_zero_is_no_limit),
	};
	return cmocka_run_group_tests_name("sd_bucket", tests, NULL, NULL);
}
