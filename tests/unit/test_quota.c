#include <string.h>

#include "sd_quota.h"
#include "unit.h"

static int conn_a, conn_b;          /* addresses stand for WebSockets */
static int handles[12], server_own; /* and for Janus handles */

#define SECONDS(n) ((gint64)(n) * G_USEC_PER_SEC)

static sd_quota *quota_with(unsigned handles_max, unsigned rate, unsigned burst)
{
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_handles_per_connection = handles_max;
	limits.requests_per_second = rate;
	limits.request_burst = burst;
	return sd_quota_new(&limits, NULL);
}

static void handles_per_connection_are_bounded(void **state)
{
	(void)state;
	sd_quota *q = quota_with(3, 20, 60);
	sd_error err;
	for (int i = 0; i < 3; i++)
		assert_true(sd_quota_add_client(q, &conn_a, &handles[i], 0, &err));
	assert_false(sd_quota_add_client(q, &conn_a, &handles[3], 0, &err));
	assert_int_equal(err.code, SD_ERR_CONNECTION_LIMIT);
	assert_non_null(strstr(err.message, "3 handles"));
	/* Another connection, and the server's own members, are not held back. */
	assert_true(sd_quota_add_client(q, &conn_b, &handles[4], 0, &err));
	assert_true(sd_quota_add_client(q, NULL, &server_own, 0, &err));
	assert_false(sd_quota_add_client(q, &conn_b, &handles[4], 0, &err));
	assert_int_equal(err.code, SD_ERR_ARGUMENT);
	sd_quota_counts counts = sd_quota_count(q);
	assert_int_equal(counts.connections, 2);
	assert_int_equal(counts.clients, 5);
	/* A handle that goes makes room; a connection goes with its last handle. */
	sd_quota_remove_client(q, &handles[0]);
	assert_true(sd_quota_add_client(q, &conn_a, &handles[3], 0, &err));
	sd_quota_remove_client(q, &handles[4]);
	assert_int_equal(sd_quota_count(q).connections, 1);
	GPtrArray *with = sd_quota_clients_with(q, &handles[1]);
	assert_int_equal(with->len, 3);
	g_ptr_array_free(with, TRUE);
	with = sd_quota_clients_with(q, &server_own);
	assert_int_equal(with->len, 1);
	g_ptr_array_free(with, TRUE);
	sd_quota_free(q);
}

/* The budget is per connection, shared by its handles: a burst, then rate a second; a refused
 * request is a debt, and a whole burst of them ends the connection once. */
static void requests_are_budgeted_per_connection(void **state)
{
	(void)state;
	sd_quota *q = quota_with(8, 10, 30);
	sd_error err;
	assert_true(sd_quota_add_client(q, &conn_a, &handles[0], 0, &err));
	assert_true(sd_quota_add_client(q, &conn_a, &handles[1], 0, &err));
	assert_true(sd_quota_add_client(q, &conn_b, &handles[2], 0, &err));
	assert_true(sd_quota_add_client(q, NULL, &server_own, 0, &err));
	gint64 t = SECONDS(100);
	for (int i = 0; i < 30; i++)
		assert_int_equal(sd_quota_request(q, &handles[i % 2], t, &err), SD_QUOTA_ALLOW);
	assert_int_equal(sd_quota_request(q, &handles[0], t, &err), SD_QUOTA_REFUSE);
	assert_int_equal(err.code, SD_ERR_TOO_MANY_REQUESTS);
	/* Others are not charged for it. */
	assert_int_equal(sd_quota_request(q, &handles[2], t, &err), SD_QUOTA_ALLOW);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sd_quota_request(q, &server_own, t, &err), SD_QUOTA_ALLOW);
	/* 0.2 s later (2 tokens) the debt of the refused request is paid and one more is allowed. */
	assert_int_equal(sd_quota_request(q, &handles[1], t + 200000, &err), SD_QUOTA_ALLOW);
	assert_int_equal(sd_quota_request(q, &handles[1], t + 200000, &err), SD_QUOTA_REFUSE);
	/* Keeping on: refused until the debt reaches a burst, which ends it (once). */
	int refused = 0, ended = 0;
	for (int i = 0; i < 100; i++) {
		sd_quota_verdict v = sd_quota_request(q, &handles[0], t + 200000, &err);
		refused += v == SD_QUOTA_REFUSE;
		ended += v == SD_QUOTA_END;
	}
	assert_int_equal(ended, 1);
	assert_int_equal(refused, 99);
	/* A pause pays everything back. */
	assert_int_equal(sd_quota_request(q, &handles[0], t + SECONDS(30), &err), SD_QUOTA_ALLOW);
	/* A handle gone is refused, as it is everywhere else. */
	sd_quota_remove_client(q, &handles[0]);
	assert_int_equal(sd_quota_request(q, &handles[0], t + SECONDS(30), &err), SD_QUOTA_REFUSE);
	assert_int_equal(err.code, SD_ERR_NOT_JOINED);
	sd_quota_free(q);
}

/* A flood keeps the refill lifting a full debt a little: still one END a debt (the review's
 * 800 ENDs for 1000 requests 50 µs apart), and one more only after the debt was paid. */
static void a_flood_is_ended_once_a_debt(void **state)
{
	(void)state;
	sd_quota *q = quota_with(8, 20, 100);
	sd_error err;
	gint64 t = SECONDS(100);
	assert_true(sd_quota_add_client(q, &conn_a, &handles[0], t, &err));
	for (int round = 0; round < 2; round++) {
		int ended = 0, allowed = 0;
		for (int i = 0; i < 1000; i++) {
			sd_quota_verdict v = sd_quota_request(q, &handles[0], t + i * 50, &err);
			ended += v == SD_QUOTA_END;
			allowed += v == SD_QUOTA_ALLOW;
		}
		assert_int_equal(ended, 1);
		assert_int_equal(allowed, 100); /* the burst: 50 ms earn less than one more token */
		t += SECONDS(20); /* pays the debt (100 tokens) and saves a whole burst again */
	}
	sd_quota_free(q);
}

/* The quota holds each connection it counts, from its first client until it forgets it. */
static int held[2];
static void hold(const void *connection) { held[connection == &conn_b]++; }
static void let_go(const void *connection) { held[connection == &conn_b]--; }

static void the_quota_holds_a_connection_while_it_counts_it(void **state)
{
	(void)state;
	sd_limits limits;
	sd_limits_default(&limits);
	limits.requests_per_second = 10;
	limits.request_burst = 10;
	static const sd_quota_hooks hooks = {hold, let_go};
	sd_quota *q = sd_quota_new(&limits, &hooks);
	sd_error err;
	gint64 t = SECONDS(100);
	assert_true(sd_quota_add_client(q, &conn_a, &handles[0], t, &err));
	assert_true(sd_quota_add_client(q, &conn_a, &handles[1], t, &err));
	assert_true(sd_quota_add_client(q, &conn_b, &handles[2], t, &err));
	assert_true(sd_quota_add_client(q, NULL, &server_own, t, &err));
	assert_int_equal(held[0], 1);
	assert_int_equal(held[1], 1);
	/* Its last handle gone without a debt: let go at once. */
	sd_quota_remove_client(q, &handles[0]);
	assert_int_equal(held[0], 1);
	sd_quota_remove_client(q, &handles[1]);
	assert_int_equal(held[0], 0);
	/* In debt: held until the debt is paid, so that no other connection inherits it. */
	for (int i = 0; i < 20; i++)
		sd_quota_request(q, &handles[2], t, &err);
	sd_quota_remove_client(q, &handles[2]);
	sd_quota_expire(q, t + SECONDS(1) / 2);
	assert_int_equal(held[1], 1);
	sd_quota_expire(q, t + SECONDS(1));
	assert_int_equal(held[1], 0);
	/* Freeing the quota lets go of what it still holds. */
	assert_true(sd_quota_add_client(q, &conn_b, &handles[3], t, &err));
	assert_int_equal(held[1], 1);
	sd_quota_free(q);
	assert_int_equal(held[1], 0);
}

static void memberships_shares_and_seats_are_counted_per_connection(void **state)
{
	(void)state;
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_shares_per_connection = 1;
	limits.max_members_per_connection = 3;
	limits.max_seats_per_connection = 2;
	sd_quota *q = sd_quota_new(&limits, NULL);
	sd_error err;
	for (int i = 0; i < 4; i++)
		assert_true(sd_quota_add_client(q, &conn_a, &handles[i], 0, &err));
	assert_true(sd_quota_add_client(q, NULL, &server_own, 0, &err));
	assert_true(sd_quota_may_create(q, &handles[0], &err));
	sd_quota_joined(q, &handles[0], "aaaaaaaaaaaaaaaa", true);
	assert_false(sd_quota_may_create(q, &handles[1], &err));
	assert_non_null(strstr(err.message, "open shares"));
	sd_quota_joined(q, &handles[1], "aaaaaaaaaaaaaaaa", false);
	assert_false(sd_quota_may_join(q, &handles[2], "aaaaaaaaaaaaaaaa", &err));
	assert_non_null(strstr(err.message, "members of share aaaaaaaaaaaaaaaa"));
	assert_true(sd_quota_may_join(q, &handles[2], "bbbbbbbbbbbbbbbb", &err));
	sd_quota_joined(q, &handles[2], "bbbbbbbbbbbbbbbb", false);
	assert_false(sd_quota_may_join(q, &handles[3], "cccccccccccccccc", &err));
	assert_non_null(strstr(err.message, "3 memberships"));
	/* A handle's memberships go with it; a closed share stops counting as created. */
	sd_quota_remove_client(q, &handles[2]);
	assert_true(sd_quota_may_join(q, &handles[3], "cccccccccccccccc", &err));
	sd_quota_left(q, &handles[1], "aaaaaaaaaaaaaaaa");
	assert_true(sd_quota_may_join(q, &handles[3], "aaaaaaaaaaaaaaaa", &err));
	sd_quota_share_closed(q, "aaaaaaaaaaaaaaaa");
	sd_quota_left(q, &handles[0], "aaaaaaaaaaaaaaaa");
	assert_true(sd_quota_may_create(q, &handles[1], &err));
	/* The server's own is never held back; an unknown handle always is. */
	for (int i = 0; i < 10; i++)
		sd_quota_joined(q, &server_own, "dddddddddddddddd", true);
	assert_true(sd_quota_may_create(q, &server_own, &err));
	assert_false(sd_quota_may_join(q, &handles[11], "aaaaaaaaaaaaaaaa", &err));
	assert_int_equal(err.code, SD_ERR_NOT_JOINED);
	/* A share whose creating connection went stops counting without harm. */
	sd_quota_joined(q, &handles[0], "eeeeeeeeeeeeeeee", true);
	for (int i = 0; i < 4; i++)
		sd_quota_remove_client(q, &handles[i]);
	sd_quota_share_closed(q, "eeeeeeeeeeeeeeee");
	assert_int_equal(sd_quota_count(q).connections, 0);
	sd_quota_free(q);
}


/* A connection ended for asking too much cannot attach a handle with a fresh budget at once: its
 * debt stays, without handles, until a pause paid it (sd_quota_expire forgets it then). */
static void a_connection_in_debt_gets_no_new_handle_until_it_paid(void **state)
{
	(void)state;
	sd_quota *q = quota_with(8, 10, 20);
	sd_error err;
	gint64 t = SECONDS(100);
	assert_true(sd_quota_add_client(q, &conn_a, &handles[0], t, &err));
	int ended = 0;
	for (int i = 0; i < 100; i++)
		ended += sd_quota_request(q, &handles[0], t, &err) == SD_QUOTA_END;
	assert_int_equal(ended, 1);
	sd_quota_remove_client(q, &handles[0]);
	assert_int_equal(sd_quota_count(q).connections, 1);
	assert_false(sd_quota_add_client(q, &conn_a, &handles[1], t + SECONDS(1), &err));
	assert_int_equal(err.code, SD_ERR_TOO_MANY_REQUESTS);
	/* The debt is at most a burst: 20 requests at 10 a second are paid in 2 s. */
	sd_quota_expire(q, t + SECONDS(1));
	assert_int_equal(sd_quota_count(q).connections, 1);
	sd_quota_expire(q, t + SECONDS(2));
	assert_int_equal(sd_quota_count(q).connections, 0);
	assert_true(sd_quota_add_client(q, &conn_a, &handles[1], t + SECONDS(2), &err));
	/* One that goes without a debt is forgotten at once. */
	sd_quota_remove_client(q, &handles[1]);
	assert_int_equal(sd_quota_count(q).connections, 0);
	sd_quota_free(q);
}

int run_quota_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handles_per_connection_are_bounded),
		cmocka_unit_test(requests_are_budgeted_per_connection),
		cmocka_unit_test(memberships_shares_and_seats_are_counted_per_connection),
		cmocka_unit_test(a_connection_in_debt_gets_no_new_handle_until_it_paid),
		cmocka_unit_test(a_flood_is_ended_once_a_debt),
		cmocka_unit_test(the_quota_holds_a_connection_while_it_counts_it),
	};
	return cmocka_run_group_tests_name("sd_quota", tests, NULL, NULL);
}
