#include <string.h>

#include "sd_request.h"
#include "sd_service.h"
#include "unit.h"

static int alice, bob, carol; /* addresses stand for Janus handles */

typedef struct delivered {
	void *client;
	json_t *event;
} delivered;

typedef struct fixture {
	sd_service *svc;
	GArray *events; /* delivered, in order */
} fixture;

static void record(void *client, json_t *event, void *user_data)
{
	fixture *fx = user_data;
	delivered d = {client, json_incref(event)};
	g_array_append_val(fx->events, d);
}

static int setup_with_grace(void **state, unsigned grace)
{
	fixture *fx = g_new0(fixture, 1);
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_signal_bytes = 512;
	limits.owner_grace_seconds = grace;
	fx->events = g_array_new(FALSE, FALSE, sizeof(delivered));
	fx->svc = sd_service_new(&limits, record, fx);
	*state = fx;
	return 0;
}

static int setup(void **state) { return setup_with_grace(state, 30); }
static int setup_no_grace(void **state) { return setup_with_grace(state, 0); }

static void drop_events(fixture *fx)
{
	for (guint i = 0; i < fx->events->len; i++)
		json_decref(g_array_index(fx->events, delivered, i).event);
	g_array_set_size(fx->events, 0);
}

static int teardown(void **state)
{
	fixture *fx = *state;
	drop_events(fx);
	g_array_free(fx->events, TRUE);
	sd_service_free(fx->svc);
	g_free(fx);
	return 0;
}

/* Sends the request built from fmt (json_pack format) and returns the response. */
static json_t *call(fixture *fx, void *client, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *body = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	assert_non_null(body);
	json_t *response = sd_service_handle(fx->svc, client, body);
	json_decref(body);
	return response;
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void assert_error(json_t *response, int code)
{
	assert_string_equal(str(response, "swarmdrop"), "error");
	assert_int_equal(json_integer_value(json_object_get(response, "error_code")), code);
	json_decref(response);
}

/* The i-th event delivered, which must go to client and be named name. */
static json_t *event_at(fixture *fx, guint i, void *client, const char *name)
{
	assert_true(i < fx->events->len);
	delivered d = g_array_index(fx->events, delivered, i);
	assert_ptr_equal(d.client, client);
	assert_string_equal(str(d.event, "event"), name);
	return d.event;
}

typedef struct share_ids {
	char share[SD_SHARE_ID_LEN + 1], owner[SD_PEER_ID_LEN + 1], token[SD_TOKEN_LEN + 1];
} share_ids;

static share_ids create_share(fixture *fx, void *client)
{
	json_t *r = call(fx, client, "{s:s}", "request", "create");
	assert_string_equal(str(r, "swarmdrop"), "created");
	share_ids ids;
	g_strlcpy(ids.share, str(r, "share"), sizeof(ids.share));
	g_strlcpy(ids.owner, str(r, "peer"), sizeof(ids.owner));
	g_strlcpy(ids.token, str(r, "owner_token"), sizeof(ids.token));
	json_decref(r);
	return ids;
}

/* Joins client as a receiver; returns its peer id (caller frees). */
static char *join(fixture *fx, void *client, const char *share)
{
	json_t *r = call(fx, client, "{s:s, s:s}", "request", "join", "share", share);
	assert_string_equal(str(r, "swarmdrop"), "joined");
	assert_string_equal(str(r, "role"), "receiver");
	char *peer = g_strdup(str(r, "peer"));
	json_decref(r);
	return peer;
}

static void join_lists_others_and_announces_the_newcomer(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "join", "share", ids.share);
	assert_string_equal(str(r, "swarmdrop"), "joined");
	json_t *peers = json_object_get(r, "peers");
	assert_int_equal(json_array_size(peers), 1);
	assert_string_equal(str(json_array_get(peers, 0), "peer"), ids.owner);
	assert_string_equal(str(json_array_get(peers, 0), "role"), "owner");
	assert_int_equal(fx->events->len, 1);
	json_t *ev = event_at(fx, 0, &alice, "peer_joined");
	assert_string_equal(str(ev, "peer"), str(r, "peer"));
	assert_string_equal(str(ev, "role"), "receiver");
	assert_string_equal(str(ev, "share"), ids.share);
	json_decref(r);
}

static void list_shows_every_peer(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "list", "share", ids.share);
	assert_string_equal(str(r, "swarmdrop"), "peers");
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 2);
	json_decref(r);
	assert_error(call(fx, &carol, "{s:s, s:s}", "request", "list", "share", ids.share), SD_ERR_NOT_JOINED);
}

static void signal_reaches_only_its_target(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	char *bob_id = join(fx, &bob, ids.share);
	g_free(join(fx, &carol, ids.share));
	drop_events(fx);
	json_t *r = call(fx, &bob, "{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", ids.share, "to", ids.owner,
	                 "payload", "kind", "sdp");
	assert_string_equal(str(r, "swarmdrop"), "signalled");
	json_decref(r);
	assert_int_equal(fx->events->len, 1);
	json_t *ev = event_at(fx, 0, &alice, "signal");
	assert_string_equal(str(ev, "from"), bob_id);
	assert_string_equal(str(json_object_get(ev, "payload"), "kind"), "sdp");
	g_free(bob_id);
}

static void signal_errors(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	share_ids other = create_share(fx, &carol);
	char *bob_id = join(fx, &bob, ids.share);
	drop_events(fx);
	/* to a peer of another share */
	assert_error(call(fx, &bob, "{s:s, s:s, s:s, s:{}}", "request", "signal", "share", ids.share, "to", other.owner,
	                  "payload"), SD_ERR_NO_SUCH_PEER);
	/* into a share the caller is not in */
	assert_error(call(fx, &bob, "{s:s, s:s, s:s, s:{}}", "request", "signal", "share", other.share, "to", other.owner,
	                  "payload"), SD_ERR_NOT_JOINED);
	assert_error(call(fx, &bob, "{s:s, s:s, s:s, s:{}}", "request", "signal", "share", ids.share, "to", bob_id,
	                  "payload"), SD_ERR_SELF_SIGNAL);
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_error(call(fx, &bob, "{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", ids.share, "to", ids.owner,
	                  "payload", "sdp", big), SD_ERR_TOO_LARGE);
	assert_int_equal(fx->events->len, 0);
	g_free(bob_id);
}

static void join_errors(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "join", "share", "ffffffffffffffff"), SD_ERR_NO_SUCH_SHARE);
	assert_error(call(fx, &alice, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_ALREADY_JOINED);
	assert_error(call(fx, &bob, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token",
	                  "00000000000000000000000000000000"), SD_ERR_BAD_OWNER_TOKEN);
	/* the right token while the owner is present */
	assert_error(call(fx, &bob, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", ids.token),
	             SD_ERR_BAD_OWNER_TOKEN);
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "leave", "share", ids.share), SD_ERR_NOT_JOINED);
	assert_error(call(fx, &bob, "{s:s}", "request", "nope"), SD_ERR_UNKNOWN_REQUEST);
}

static void receiver_leaving_is_announced(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	char *bob_id = join(fx, &bob, ids.share);
	drop_events(fx);
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "leave", "share", ids.share);
	assert_string_equal(str(r, "swarmdrop"), "left");
	json_decref(r);
	assert_int_equal(fx->events->len, 1);
	assert_string_equal(str(event_at(fx, 0, &alice, "peer_left"), "peer"), bob_id);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	g_free(bob_id);
}

static void owner_leaving_closes_the_share(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	drop_events(fx);
	json_decref(call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", ids.share));
	assert_int_equal(fx->events->len, 1);
	assert_string_equal(str(event_at(fx, 0, &bob, "share_closed"), "reason"), "owner_left");
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	assert_error(call(fx, &carol, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_NO_SUCH_SHARE);
	/* bob's membership went with the share: he can join other shares freely */
	share_ids next = create_share(fx, &carol);
	g_free(join(fx, &bob, next.share));
}

static void lost_owner_can_reclaim_within_grace(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	drop_events(fx);
	sd_service_client_gone(fx->svc, &alice, 1000000);
	assert_string_equal(str(event_at(fx, 0, &bob, "peer_left"), "peer"), ids.owner);
	sd_service_expire(fx->svc, 1000000 + 29 * G_USEC_PER_SEC);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	/* a receiver may still join and sees no owner */
	json_t *r = call(fx, &carol, "{s:s, s:s}", "request", "join", "share", ids.share);
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 1);
	json_decref(r);
	drop_events(fx);
	r = call(fx, &alice, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", ids.token);
	assert_string_equal(str(r, "role"), "owner");
	json_decref(r);
	assert_string_equal(str(event_at(fx, 0, &bob, "peer_joined"), "role"), "owner");
	sd_service_expire(fx->svc, 1000000 + 60 * G_USEC_PER_SEC);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
}

static void lost_owner_closes_the_share_after_grace(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	sd_service_client_gone(fx->svc, &alice, 1000000);
	drop_events(fx);
	sd_service_expire(fx->svc, 1000000 + 30 * G_USEC_PER_SEC);
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	assert_string_equal(str(event_at(fx, 0, &bob, "share_closed"), "reason"), "owner_gone");
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_NO_SUCH_SHARE);
	/* The owner coming back later with its token makes it again (as after a server restart). */
	json_t *r = call(fx, &alice, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", ids.token);
	assert_true(json_is_true(json_object_get(r, "restored")));
	json_decref(r);
}

static void without_grace_a_lost_owner_closes_at_once(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	drop_events(fx);
	sd_service_client_gone(fx->svc, &alice, 1000000);
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	assert_int_equal(fx->events->len, 1);
	assert_string_equal(str(event_at(fx, 0, &bob, "share_closed"), "reason"), "owner_gone");
}

static void a_gone_client_leaves_every_share(void **state)
{
	fixture *fx = *state;
	share_ids one = create_share(fx, &alice);
	share_ids two = create_share(fx, &carol);
	g_free(join(fx, &bob, one.share));
	g_free(join(fx, &bob, two.share));
	drop_events(fx);
	sd_service_client_gone(fx->svc, &bob, 5);
	assert_int_equal(fx->events->len, 2);
	event_at(fx, 0, &alice, "peer_left");
	event_at(fx, 1, &carol, "peer_left");
	/* gone twice is harmless */
	sd_service_client_gone(fx->svc, &bob, 6);
	assert_int_equal(fx->events->len, 2);
}

static void relay_names_the_callers_member(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	char *bob_peer = join(fx, &bob, ids.share);
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "relay", "share", ids.share);
	assert_string_equal(str(r, "swarmdrop"), "relay");
	assert_string_equal(str(r, "share"), ids.share);
	assert_string_equal(str(r, "peer"), bob_peer);
	json_decref(r);
	assert_error(call(fx, &carol, "{s:s, s:s}", "request", "relay", "share", ids.share), SD_ERR_NOT_JOINED);
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "relay", "share", "0000000000000000"), SD_ERR_NO_SUCH_SHARE);
	assert_error(call(fx, &bob, "{s:s}", "request", "relay"), SD_ERR_MISSING_FIELD);
	r = call(fx, &carol, "{s:s}", "request", "relay_answer");
	assert_string_equal(str(r, "swarmdrop"), "relay_answered");
	json_decref(r);
	assert_error(call(fx, &carol, "{s:s, s:s}", "request", "relay_answer", "share", ids.share), SD_ERR_UNKNOWN_FIELD);
	g_free(bob_peer);
}

static void a_relay_only_owner_is_listed_as_such_and_its_share_closes_on_demand(void **state)
{
	fixture *fx = *state;
	json_t *created = sd_service_create_relay_only(fx->svc, &alice);
	assert_string_equal(str(created, "swarmdrop"), "created");
	char *share = g_strdup(str(created, "share")), *owner = g_strdup(str(created, "peer"));
	json_decref(created);
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "join", "share", share);
	json_t *listed = json_array_get(json_object_get(r, "peers"), 0);
	assert_string_equal(str(listed, "peer"), owner);
	assert_string_equal(str(listed, "role"), "owner");
	assert_true(json_is_true(json_object_get(listed, "relay")));
	json_decref(r);
	/* An ordinary member is not marked. */
	json_t *joined = event_at(fx, 0, &alice, "peer_joined");
	assert_null(json_object_get(joined, "relay"));

	/* publish and unpublish come back to the plugin checked, never handled here. */
	r = call(fx, &carol, "{s:s, s:s, s:s}", "request", "publish", "admin_key", "k", "path", "m.mkv");
	assert_string_equal(str(r, "swarmdrop"), "publish");
	assert_string_equal(str(r, "path"), "m.mkv");
	json_decref(r);
	r = call(fx, &carol, "{s:s, s:s, s:s}", "request", "unpublish", "admin_key", "k", "share", share);
	assert_string_equal(str(r, "swarmdrop"), "unpublish");
	json_decref(r);
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "unpublish", "admin_key", "k", "share", "0000000000000000"),
	             SD_ERR_NO_SUCH_SHARE);

	drop_events(fx);
	sd_service_close_share(fx->svc, share, "unpublished");
	assert_int_equal(fx->events->len, 1); /* bob hears it; the owner is the one closing */
	assert_string_equal(str(event_at(fx, 0, &bob, "share_closed"), "reason"), "unpublished");
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	sd_service_close_share(fx->svc, share, "unpublished"); /* gone: nothing happens */
	assert_int_equal(fx->events->len, 1);
	g_free(share);
	g_free(owner);
}

static void after_a_restart_the_owner_brings_its_share_back(void **state)
{
	fixture *fx = *state;
	const char *share = "0123456789abcdef", *token = "00112233445566778899aabbccddeeff";
	/* Receivers that come first find nothing: they ask again later. */
	assert_error(call(fx, &bob, "{s:s, s:s, s:s}", "request", "join", "share", share, "peer", "bbbbbbbbbbbb"),
	             SD_ERR_NO_SUCH_SHARE);
	json_t *r = call(fx, &alice, "{s:s, s:s, s:s, s:s}", "request", "join", "share", share, "owner_token", token, "peer",
	                 "aaaaaaaaaaaa");
	assert_string_equal(str(r, "swarmdrop"), "joined");
	assert_string_equal(str(r, "role"), "owner");
	assert_string_equal(str(r, "peer"), "aaaaaaaaaaaa");
	assert_true(json_is_true(json_object_get(r, "restored")));
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 0);
	json_decref(r);
	r = call(fx, &bob, "{s:s, s:s, s:s}", "request", "join", "share", share, "peer", "bbbbbbbbbbbb");
	assert_string_equal(str(r, "peer"), "bbbbbbbbbbbb");
	assert_string_equal(str(r, "role"), "receiver");
	assert_null(json_object_get(r, "restored"));
	json_decref(r);
	/* The token is the share's now: another one cannot take it as owner. */
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", share, "owner_token",
	                  "ffffffffffffffffffffffffffffffff"),
	             SD_ERR_BAD_OWNER_TOKEN);
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", share, "peer", "xyz"),
	             SD_ERR_INVALID_FIELD);
}

int run_service_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(join_lists_others_and_announces_the_newcomer, setup, teardown),
		cmocka_unit_test_setup_teardown(list_shows_every_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(signal_reaches_only_its_target, setup, teardown),
		cmocka_unit_test_setup_teardown(signal_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(join_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(receiver_leaving_is_announced, setup, teardown),
		cmocka_unit_test_setup_teardown(owner_leaving_closes_the_share, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_owner_can_reclaim_within_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_owner_closes_the_share_after_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(without_grace_a_lost_owner_closes_at_once, setup_no_grace, teardown),
		cmocka_unit_test_setup_teardown(a_gone_client_leaves_every_share, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_names_the_callers_member, setup, teardown),
		cmocka_unit_test_setup_teardown(after_a_restart_the_owner_brings_its_share_back, setup, teardown),
		cmocka_unit_test_setup_teardown(a_relay_only_owner_is_listed_as_such_and_its_share_closes_on_demand, setup,
		                                teardown),
	};
	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
