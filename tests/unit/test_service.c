#include <string.h>

#include "sd_request.h"
#include "sd_service.h"
#include "unit.h"

static int alice, bob, carol; /* addresses stand for Janus handles */

typedef struct delivered {
	void *client;
	json_t *event;
	sd_event facts; /* its share and peer point into event */
} delivered;

typedef struct fixture {
	sd_service *svc;
	GArray *events; /* delivered, in order */
	gint64 now;     /* the clock requests are handled at */
} fixture;

/* Keeps the event, and checks that its facts are the ones its JSON tells. */
static void record(void *client, const sd_event *facts, json_t *event, void *user_data)
{
	fixture *fx = user_data;
	static const char *const names[] = {"peer_joined", "peer_left", "share_closed", "signal"};
	const json_t *peer = json_object_get(event, facts->kind == SD_EVENT_SIGNAL ? "from" : "peer");
	assert_string_equal(json_string_value(json_object_get(event, "event")), names[facts->kind]);
	assert_string_equal(json_string_value(json_object_get(event, "share")), facts->share);
	if (facts->peer != NULL)
		assert_string_equal(json_string_value(peer), facts->peer);
	else
		assert_null(peer);
	delivered d = {client, json_incref(event), *facts};
	g_array_append_val(fx->events, d);
}

#define EMPTY_GRACE 30   /* s: share_empty_grace_seconds */
#define ORPHAN_MAX 3600  /* s: share_orphan_max_seconds */
#define SECONDS(n) ((gint64)(n) * G_USEC_PER_SEC)

static int setup(void **state)
{
	fixture *fx = g_new0(fixture, 1);
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_signal_bytes = 512;
	limits.share_empty_grace_seconds = EMPTY_GRACE;
	limits.share_orphan_max_seconds = ORPHAN_MAX;
	fx->events = g_array_new(FALSE, FALSE, sizeof(delivered));
	fx->svc = sd_service_new(&limits, NULL, NULL, record, fx);
	fx->now = SECONDS(1000);
	*state = fx;
	return 0;
}

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
	json_t *response = sd_service_handle(fx->svc, client, body, fx->now, NULL);
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
	char share[SD_SHARE_ID_LEN + 1], owner[SD_PEER_ID_LEN + 1], token[SD_TOKEN_LEN + 1], secret[SD_SECRET_LEN + 1];
} share_ids;

static share_ids create_share(fixture *fx, void *client)
{
	json_t *r = call(fx, client, "{s:s}", "request", "create");
	assert_string_equal(str(r, "swarmdrop"), "created");
	share_ids ids;
	g_strlcpy(ids.share, str(r, "share"), sizeof(ids.share));
	g_strlcpy(ids.owner, str(r, "peer"), sizeof(ids.owner));
	g_strlcpy(ids.token, str(r, "owner_token"), sizeof(ids.token));
	g_strlcpy(ids.secret, str(r, "peer_secret"), sizeof(ids.secret));
	json_decref(r);
	/* Both ids derive from the secrets that came with them. */
	char derived[SD_SHARE_ID_LEN + 1], derived_peer[SD_PEER_ID_LEN + 1];
	assert_true(sd_share_id_of(ids.token, derived));
	assert_string_equal(ids.share, derived);
	assert_true(sd_peer_id_of(ids.share, ids.secret, derived_peer));
	assert_string_equal(ids.owner, derived_peer);
	return ids;
}

/* Joins client as a receiver; returns its peer id (caller frees). */
static char *join(fixture *fx, void *client, const char *share)
{
	json_t *r = call(fx, client, "{s:s, s:s}", "request", "join", "share", share);
	assert_string_equal(str(r, "swarmdrop"), "joined");
	assert_string_equal(str(r, "role"), "receiver");
	assert_true(sd_is_hex_id(str(r, "peer_secret"), SD_SECRET_LEN));
	char *peer = g_strdup(str(r, "peer"));
	json_decref(r);
	return peer;
}

/* Joins client with peer_secret (and owner_token, unless NULL); returns the response. */
static json_t *join_with(fixture *fx, void *client, const char *share, const char *token, const char *secret)
{
	if (token == NULL)
		return call(fx, client, "{s:s, s:s, s:s}", "request", "join", "share", share, "peer_secret", secret);
	return call(fx, client, "{s:s, s:s, s:s, s:s}", "request", "join", "share", share, "owner_token", token,
	            "peer_secret", secret);
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

static void list_shows_the_other_peers(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "list", "share", ids.share);
	assert_string_equal(str(r, "swarmdrop"), "peers");
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 1);
	assert_string_equal(str(json_array_get(json_object_get(r, "peers"), 0), "role"), "owner");
	json_decref(r);
	assert_error(call(fx, &carol, "{s:s, s:s}", "request", "list", "share", ids.share), SD_ERR_NOT_JOINED);
}

static json_t *list(fixture *fx, void *client, const char *share)
{
	return call(fx, client, "{s:s, s:s}", "request", "list", "share", share);
}

static void assert_listed(json_t *r)
{
	assert_string_equal(str(r, "swarmdrop"), "peers");
	json_decref(r);
}

/* Lists are spaced like reports, at most one a second with half a second of slack; joining
 * counts as none, so a newcomer's first list (the client asks one when short of links) and the
 * lists it asks when others join (at most once a second) are taken. */
static void lists_come_at_most_once_a_second(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	assert_listed(list(fx, &bob, ids.share));
	fx->now += G_USEC_PER_SEC / 2 - 1;
	json_t *r = list(fx, &bob, ids.share);
	assert_string_equal(str(r, "error"), "lists come at most every second");
	assert_error(r, SD_ERR_TOO_SOON);
	/* Another member's spacing is its own; a refused list does not count. */
	assert_listed(list(fx, &alice, ids.share));
	fx->now += 1;
	assert_listed(list(fx, &bob, ids.share));
	for (int i = 0; i < 5; i++) {
		fx->now += G_USEC_PER_SEC;
		assert_listed(list(fx, &bob, ids.share));
	}
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

static void owner_leaving_keeps_the_share_for_its_members(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	drop_events(fx);
	json_t *r = call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", ids.share);
	assert_string_equal(str(r, "swarmdrop"), "left");
	json_decref(r);
	/* Bob hears the owner left, not that the share closed. */
	assert_int_equal(fx->events->len, 1);
	assert_string_equal(str(event_at(fx, 0, &bob, "peer_left"), "peer"), ids.owner);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	/* A newcomer can join the owner-less share and sees bob only. */
	r = call(fx, &carol, "{s:s, s:s}", "request", "join", "share", ids.share);
	assert_string_equal(str(r, "role"), "receiver");
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 1);
	json_decref(r);
	/* Hours later (within share_orphan_max_seconds) the owner comes back with its token and
	 * secret, and gets its id back. */
	fx->now += SECONDS(ORPHAN_MAX - 1);
	sd_service_expire(fx->svc, fx->now);
	drop_events(fx);
	r = join_with(fx, &alice, ids.share, ids.token, ids.secret);
	assert_string_equal(str(r, "swarmdrop"), "joined");
	assert_string_equal(str(r, "role"), "owner");
	assert_string_equal(str(r, "peer"), ids.owner);
	assert_string_equal(str(r, "peer_secret"), ids.secret);
	assert_null(json_object_get(r, "restored"));
	json_decref(r);
	assert_int_equal(fx->events->len, 2);
	assert_string_equal(str(event_at(fx, 0, &bob, "peer_joined"), "peer"), ids.owner);
	assert_string_equal(str(event_at(fx, 0, &bob, "peer_joined"), "role"), "owner");
	/* Its absence ended: the share lives on past the orphan limit. */
	sd_service_expire(fx->svc, fx->now + SECONDS(2 * ORPHAN_MAX));
	assert_int_equal(sd_service_share_count(fx->svc), 1);
}

static void lost_owner_comes_back_with_its_token(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	drop_events(fx);
	sd_service_client_gone(fx->svc, &alice, fx->now);
	assert_int_equal(fx->events->len, 1);
	assert_string_equal(str(event_at(fx, 0, &bob, "peer_left"), "peer"), ids.owner);
	sd_service_expire(fx->svc, fx->now + SECONDS(ORPHAN_MAX / 2));
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	drop_events(fx);
	/* A new handle with the token but no secret: owner again, under a fresh id. */
	json_t *r = call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", ids.token);
	assert_string_equal(str(r, "role"), "owner");
	assert_string_not_equal(str(r, "peer"), ids.owner);
	json_decref(r);
	assert_string_equal(str(event_at(fx, 0, &bob, "peer_joined"), "role"), "owner");
	/* Only one owner at a time. */
	assert_error(join_with(fx, &alice, ids.share, ids.token, ids.secret), SD_ERR_BAD_OWNER_TOKEN);
}

static void an_orphan_share_closes_after_share_orphan_max_seconds(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	gint64 left = fx->now;
	json_decref(call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", ids.share));
	drop_events(fx);
	sd_service_expire(fx->svc, left + SECONDS(ORPHAN_MAX) - 1);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	assert_int_equal(fx->events->len, 0);
	sd_service_expire(fx->svc, left + SECONDS(ORPHAN_MAX));
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	assert_int_equal(fx->events->len, 1);
	assert_string_equal(str(event_at(fx, 0, &bob, "share_closed"), "reason"), "owner_gone");
	sd_service_expire(fx->svc, left + SECONDS(ORPHAN_MAX + 1)); /* once */
	assert_int_equal(fx->events->len, 1);
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_NO_SUCH_SHARE);
	/* The owner coming back later with its token makes it again (as after a server restart). */
	json_t *r = join_with(fx, &alice, ids.share, ids.token, ids.secret);
	assert_true(json_is_true(json_object_get(r, "restored")));
	assert_string_equal(str(r, "peer"), ids.owner);
	json_decref(r);
}

static void a_share_without_members_closes_after_the_empty_grace(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	json_decref(call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", ids.share));
	fx->now += SECONDS(5);
	gint64 emptied = fx->now;
	json_decref(call(fx, &bob, "{s:s, s:s}", "request", "leave", "share", ids.share));
	sd_service_expire(fx->svc, emptied + SECONDS(EMPTY_GRACE) - 1);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	/* Someone joining in time keeps it; when it is empty again, the grace starts again. */
	fx->now = emptied + SECONDS(EMPTY_GRACE) - 1;
	char *carol_id = join(fx, &carol, ids.share);
	sd_service_expire(fx->svc, emptied + SECONDS(EMPTY_GRACE + 10));
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	fx->now = emptied + SECONDS(EMPTY_GRACE + 10);
	sd_service_client_gone(fx->svc, &carol, fx->now);
	drop_events(fx);
	sd_service_expire(fx->svc, fx->now + SECONDS(EMPTY_GRACE) - 1);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	sd_service_expire(fx->svc, fx->now + SECONDS(EMPTY_GRACE));
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	assert_int_equal(fx->events->len, 0); /* nobody to tell */
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_NO_SUCH_SHARE);
	g_free(carol_id);
}

static void close_needs_the_owner_token_and_tells_everyone(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	g_free(join(fx, &bob, ids.share));
	g_free(join(fx, &carol, ids.share));
	drop_events(fx);
	/* A stranger, or a member, without the token. */
	assert_error(call(fx, &bob, "{s:s, s:s, s:s}", "request", "close", "share", ids.share, "owner_token",
	                  "ffffffffffffffffffffffffffffffff"),
	             SD_ERR_BAD_OWNER_TOKEN);
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "close", "share", ids.share), SD_ERR_MISSING_FIELD);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
	assert_int_equal(fx->events->len, 0);
	/* The owner, away (a handle that is not a member), with its token. */
	json_decref(call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", ids.share));
	drop_events(fx);
	int elsewhere;
	json_t *r = call(fx, &elsewhere, "{s:s, s:s, s:s}", "request", "close", "share", ids.share, "owner_token", ids.token);
	assert_string_equal(str(r, "swarmdrop"), "closed");
	assert_string_equal(str(r, "share"), ids.share);
	json_decref(r);
	assert_int_equal(fx->events->len, 2);
	assert_string_equal(str(event_at(fx, 0, &bob, "share_closed"), "reason"), "stopped");
	assert_string_equal(str(event_at(fx, 1, &carol, "share_closed"), "reason"), "stopped");
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	assert_error(call(fx, &elsewhere, "{s:s, s:s, s:s}", "request", "close", "share", ids.share, "owner_token",
	                  ids.token),
	             SD_ERR_NO_SUCH_SHARE);
	assert_error(call(fx, &bob, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_NO_SUCH_SHARE);
	/* A present owner closing: it hears share_closed too, as every member does. */
	share_ids next = create_share(fx, &alice);
	g_free(join(fx, &bob, next.share));
	drop_events(fx);
	json_decref(call(fx, &alice, "{s:s, s:s, s:s}", "request", "close", "share", next.share, "owner_token", next.token));
	assert_int_equal(fx->events->len, 2);
	assert_string_equal(str(event_at(fx, 0, &alice, "share_closed"), "reason"), "stopped");
	assert_string_equal(str(event_at(fx, 1, &bob, "share_closed"), "reason"), "stopped");
	/* bob's membership went with the share: he can join other shares freely */
	share_ids other = create_share(fx, &carol);
	g_free(join(fx, &bob, other.share));
}

static void a_stranger_cannot_restore_or_squat_a_share_id(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	const char *mine = "ffffffffffffffffffffffffffffffff";
	/* While the share is held: the wrong token never makes anyone its owner. */
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", mine),
	             SD_ERR_BAD_OWNER_TOKEN);
	json_decref(call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", ids.share));
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", mine),
	             SD_ERR_BAD_OWNER_TOKEN);
	/* Once it is gone (or after a restart): a token of one's own does not bring it back. */
	sd_service_expire(fx->svc, fx->now + SECONDS(EMPTY_GRACE));
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", mine),
	             SD_ERR_BAD_OWNER_TOKEN);
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "close", "share", ids.share, "owner_token", mine),
	             SD_ERR_NO_SUCH_SHARE);
	assert_int_equal(sd_service_share_count(fx->svc), 0);
	/* Its owner's token does. */
	json_t *r = call(fx, &alice, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", ids.token);
	assert_string_equal(str(r, "role"), "owner");
	assert_true(json_is_true(json_object_get(r, "restored")));
	json_decref(r);
}

static void a_member_id_is_reclaimed_only_with_its_secret(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "join", "share", ids.share);
	char *bob_id = g_strdup(str(r, "peer")), *bob_secret = g_strdup(str(r, "peer_secret"));
	json_decref(r);
	/* While bob is here his secret is refused to anyone; so is the owner's. */
	assert_error(join_with(fx, &carol, ids.share, NULL, bob_secret), SD_ERR_PEER_TAKEN);
	assert_error(join_with(fx, &carol, ids.share, NULL, ids.secret), SD_ERR_PEER_TAKEN);
	sd_service_client_gone(fx->svc, &bob, fx->now);
	/* Without it, another id; with it, his. */
	r = call(fx, &carol, "{s:s, s:s}", "request", "join", "share", ids.share);
	assert_string_not_equal(str(r, "peer"), bob_id);
	json_decref(r);
	r = join_with(fx, &bob, ids.share, NULL, bob_secret);
	assert_string_equal(str(r, "peer"), bob_id);
	assert_string_equal(str(r, "peer_secret"), bob_secret);
	json_decref(r);
	/* The same secret is not the same id in another share. */
	share_ids other = create_share(fx, &carol);
	r = join_with(fx, &bob, other.share, NULL, bob_secret);
	assert_string_not_equal(str(r, "peer"), bob_id);
	json_decref(r);
	/* The owner's id is the owner's secret's: a receiver could take it only with it. */
	json_decref(call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", ids.share));
	int dave;
	r = call(fx, &dave, "{s:s, s:s}", "request", "join", "share", ids.share);
	assert_string_not_equal(str(r, "peer"), ids.owner);
	json_decref(r);
	g_free(bob_id);
	g_free(bob_secret);
}

static void a_gone_client_leaves_every_share(void **state)
{
	fixture *fx = *state;
	share_ids one = create_share(fx, &alice);
	share_ids two = create_share(fx, &carol);
	g_free(join(fx, &bob, one.share));
	g_free(join(fx, &bob, two.share));
	drop_events(fx);
	sd_service_client_gone(fx->svc, &bob, fx->now);
	assert_int_equal(fx->events->len, 2);
	event_at(fx, 0, &alice, "peer_left");
	event_at(fx, 1, &carol, "peer_left");
	/* gone twice is harmless */
	sd_service_client_gone(fx->svc, &bob, fx->now);
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
	sd_outcome created;
	assert_true(sd_service_create_relay_only(fx->svc, &alice, &created));
	assert_true(created.ok);
	assert_int_equal(created.kind, SD_REQ_CREATE);
	char *share = g_strdup(created.share), *owner = g_strdup(created.peer);
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
	/* Not looked up: the plugin checks the key first, so a wrong key says nothing of the share. */
	r = call(fx, &carol, "{s:s, s:s, s:s}", "request", "unpublish", "admin_key", "k", "share", "0000000000000000");
	assert_string_equal(str(r, "swarmdrop"), "unpublish");
	json_decref(r);

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

#define TOKEN "00112233445566778899aabbccddeeff"
#define TOKEN_SHARE "58984523431fa2fc" /* sd_share_id_of(TOKEN), test_ids.c */
#define OWNER_SECRET "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define BOB_SECRET "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void after_a_restart_the_owner_brings_its_share_back(void **state)
{
	fixture *fx = *state;
	char owner_id[SD_PEER_ID_LEN + 1], bob_id[SD_PEER_ID_LEN + 1];
	assert_true(sd_peer_id_of(TOKEN_SHARE, OWNER_SECRET, owner_id));
	assert_true(sd_peer_id_of(TOKEN_SHARE, BOB_SECRET, bob_id));
	/* Receivers that come first find nothing: they ask again later. */
	assert_error(join_with(fx, &bob, TOKEN_SHARE, NULL, BOB_SECRET), SD_ERR_NO_SUCH_SHARE);
	json_t *r = join_with(fx, &alice, TOKEN_SHARE, TOKEN, OWNER_SECRET);
	assert_string_equal(str(r, "swarmdrop"), "joined");
	assert_string_equal(str(r, "role"), "owner");
	assert_string_equal(str(r, "peer"), owner_id);
	assert_string_equal(str(r, "peer_secret"), OWNER_SECRET);
	assert_true(json_is_true(json_object_get(r, "restored")));
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 0);
	json_decref(r);
	r = join_with(fx, &bob, TOKEN_SHARE, NULL, BOB_SECRET);
	assert_string_equal(str(r, "peer"), bob_id);
	assert_string_equal(str(r, "role"), "receiver");
	assert_null(json_object_get(r, "restored"));
	json_decref(r);
	/* The token is the share's: another one cannot take it as owner. */
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", TOKEN_SHARE, "owner_token",
	                  "ffffffffffffffffffffffffffffffff"),
	             SD_ERR_BAD_OWNER_TOKEN);
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", TOKEN_SHARE, "peer_secret", "xyz"),
	             SD_ERR_INVALID_FIELD);
	/* The old way of asking for an id, without its secret, is gone. */
	assert_error(call(fx, &carol, "{s:s, s:s, s:s}", "request", "join", "share", TOKEN_SHARE, "peer", bob_id),
	             SD_ERR_UNKNOWN_FIELD);
}

/* The tracker, with the fixture location database (tests/vectors/make-location-db.py). */
static int setup_tracker(void **state)
{
	fixture *fx = g_new0(fixture, 1);
	sd_limits limits;
	sd_limits_default(&limits);
	limits.tracker_list_size = 4;
	limits.max_links_per_member = 3;
	char why[256];
	sd_locate *locate = sd_locate_open(SD_LOCATION_FIXTURE, why, sizeof(why));
	if (locate == NULL)
		fail_msg("%s", why);
	fx->events = g_array_new(FALSE, FALSE, sizeof(delivered));
	fx->svc = sd_service_new(&limits, locate, NULL, record, fx);
	sd_service_seed(fx->svc, 42);
	fx->now = SECONDS(1000);
	*state = fx;
	return 0;
}

/* Joins client from address; returns the answer. */
static json_t *join_from(fixture *fx, void *client, const char *share, const char *address)
{
	json_t *r = call(fx, client, "{s:s, s:s, s:s}", "request", "join", "share", share, "address", address);
	assert_string_equal(str(r, "swarmdrop"), "joined");
	return r;
}

static void report_is_answered_with_the_interval_and_spaced(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	char *bob_id = join(fx, &bob, ids.share);
	json_t *r = call(fx, &bob, "{s:s, s:s, s:b, s:[{s:s, s:i, s:i, s:i}]}", "request", "report", "share", ids.share,
	                 "complete", 0, "links", "peer", ids.owner, "rtt_ms", 20, "down_kbps", 4000, "up_kbps", 0);
	assert_string_equal(str(r, "swarmdrop"), "reported");
	assert_string_equal(str(r, "share"), ids.share);
	assert_int_equal(json_integer_value(json_object_get(r, "interval_ms")), 5000);
	json_decref(r);
	fx->now += SECONDS(2);
	r = call(fx, &bob, "{s:s, s:s, s:b, s:[]}", "request", "report", "share", ids.share, "complete", 1, "links");
	assert_string_equal(str(r, "error"), "reports come at most every 5 s");
	assert_error(r, SD_ERR_TOO_SOON);
	fx->now += SECONDS(2);
	r = call(fx, &bob, "{s:s, s:s, s:b, s:[]}", "request", "report", "share", ids.share, "complete", 1, "links");
	assert_string_equal(str(r, "swarmdrop"), "reported");
	json_decref(r);
	/* The owner now sees bob as complete. */
	r = call(fx, &alice, "{s:s, s:s}", "request", "list", "share", ids.share);
	json_t *listed = json_array_get(json_object_get(r, "peers"), 0);
	assert_string_equal(str(listed, "peer"), bob_id);
	assert_true(json_is_true(json_object_get(listed, "complete")));
	assert_string_equal(str(listed, "tier"), "other");
	json_decref(r);
	/* Only members report. */
	assert_error(call(fx, &carol, "{s:s, s:s, s:b, s:[]}", "request", "report", "share", ids.share, "complete", 1,
	                  "links"),
	             SD_ERR_NOT_JOINED);
	g_free(bob_id);
}

static void join_answers_the_link_cap_and_peers_with_tier_and_completeness(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	json_t *r = call(fx, &bob, "{s:s, s:s}", "request", "join", "share", ids.share);
	assert_int_equal(json_integer_value(json_object_get(r, "max_links")), 8);
	json_t *owner = json_array_get(json_object_get(r, "peers"), 0);
	assert_string_equal(str(owner, "peer"), ids.owner);
	assert_string_equal(str(owner, "role"), "owner");
	assert_string_equal(str(owner, "tier"), "other");
	assert_true(json_is_true(json_object_get(owner, "complete")));
	assert_int_equal(json_object_size(owner), 4);
	json_decref(r);
}

/* Site A's router 198.18.0.11 (AS64501, QM), its operator elsewhere, another operator in QM,
 * and site B (AS64502, QN): a newcomer at site A gets them in that order. */
static void join_ranks_peers_by_network_operator_and_country(void **state)
{
	fixture *fx = *state;
	static int clients[8];
	share_ids ids = create_share(fx, &clients[0]);
	const char *addresses[] = {"198.18.0.12", "198.18.2.7", "198.18.1.5", "198.18.0.11"};
	char *member[4];
	for (size_t i = 0; i < 4; i++) {
		json_t *r = join_from(fx, &clients[i + 1], ids.share, addresses[i]);
		member[i] = g_strdup(str(r, "peer"));
		json_decref(r);
	}
	drop_events(fx);
	json_t *r = join_from(fx, &clients[5], ids.share, "198.18.0.11");
	/* The others hear of it with its tier for each: the owner (no address) and member[0] (site B)
	 * other, member[1] the same country, member[2] the same operator, member[3] its network. */
	const char *heard[] = {"other", "other", "same_country", "same_operator", "same_network"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(str(event_at(fx, i, &clients[i], "peer_joined"), "tier"), heard[i]);
	json_t *peers = json_object_get(r, "peers");
	/* A list of 4: 3 ranked (the owner takes the last of them: it is always listed), 1 random. */
	assert_int_equal(json_array_size(peers), 4);
	assert_string_equal(str(json_array_get(peers, 0), "peer"), member[3]);
	assert_string_equal(str(json_array_get(peers, 0), "tier"), "same_network");
	assert_string_equal(str(json_array_get(peers, 1), "peer"), member[2]);
	assert_string_equal(str(json_array_get(peers, 1), "tier"), "same_operator");
	assert_string_equal(str(json_array_get(peers, 2), "peer"), ids.owner);
	assert_string_equal(str(json_array_get(peers, 2), "tier"), "other");
	/* The random slot is the owner's or member[0]'s (both unmeasured): seed 42 draws member[0],
	 * so the owner comes by its fallback. */
	assert_string_equal(str(json_array_get(peers, 3), "peer"), member[0]);
	json_decref(r);
	/* Site B's newcomer: site B first. */
	r = join_from(fx, &clients[6], ids.share, "2001:db8:b::7");
	assert_string_equal(str(json_array_get(json_object_get(r, "peers"), 0), "peer"), member[0]);
	assert_string_equal(str(json_array_get(json_object_get(r, "peers"), 0), "tier"), "same_operator");
	json_decref(r);
	/* An address that is not one: refused, the member not made. */
	assert_error(call(fx, &clients[7], "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "address", "site-a"),
	             SD_ERR_INVALID_FIELD);
	for (size_t i = 0; i < 4; i++)
		g_free(member[i]);
}

/* The facts the plugin acts on, beside the answers. */
static void the_outcome_names_the_request_its_share_and_the_callers_member(void **state)
{
	fixture *fx = *state;
	share_ids ids = create_share(fx, &alice);
	char *bob_id = join(fx, &bob, ids.share);
	sd_outcome out;
	json_t *body = json_pack("{s:s, s:s}", "request", "relay", "share", ids.share);
	json_decref(sd_service_handle(fx->svc, &bob, body, fx->now, &out));
	assert_true(out.ok);
	assert_int_equal(out.kind, SD_REQ_RELAY);
	assert_string_equal(out.share, ids.share);
	assert_string_equal(out.peer, bob_id);
	json_object_set_new(body, "request", json_string("leave"));
	json_decref(sd_service_handle(fx->svc, &bob, body, fx->now, &out));
	assert_true(out.ok);
	assert_int_equal(out.kind, SD_REQ_LEAVE);
	assert_string_equal(out.share, ids.share);
	assert_string_equal(out.peer, ""); /* it is no member any more */
	json_decref(sd_service_handle(fx->svc, &bob, body, fx->now, &out));
	assert_false(out.ok);
	assert_int_equal(out.error.code, SD_ERR_NOT_JOINED);
	json_decref(body);
	body = json_pack("{s:s, s:s, s:s, s:b}", "request", "publish", "admin_key", "k", "path", "m.mkv", "transcode_audio", 1);
	json_decref(sd_service_handle(fx->svc, &carol, body, fx->now, &out));
	assert_int_equal(out.kind, SD_REQ_PUBLISH);
	assert_ptr_equal(out.path, json_string_value(json_object_get(body, "path")));
	assert_string_equal(out.admin_key, "k");
	assert_true(out.transcode_audio);
	json_decref(body);
	/* stats is checked only (the key too is the plugin's), by anyone. */
	body = json_pack("{s:s, s:s}", "request", "stats", "admin_key", "k");
	json_t *answer = sd_service_handle(fx->svc, &carol, body, fx->now, &out);
	assert_true(out.ok);
	assert_int_equal(out.kind, SD_REQ_STATS);
	assert_string_equal(out.admin_key, "k");
	json_decref(answer);
	json_object_del(body, "admin_key");
	json_decref(sd_service_handle(fx->svc, &carol, body, fx->now, &out));
	assert_false(out.ok);
	assert_int_equal(out.error.code, SD_ERR_MISSING_FIELD);
	json_decref(body);
	g_free(bob_id);
}

static void the_operator_sees_each_share_most_members_first(void **state)
{
	fixture *fx = *state;
	json_t *none = sd_service_shares_json(fx->svc, 10);
	assert_int_equal(json_integer_value(json_object_get(none, "count")), 0);
	assert_int_equal(json_array_size(json_object_get(none, "listed")), 0);
	json_decref(none);
	share_ids small = create_share(fx, &alice);
	share_ids big = create_share(fx, &carol);
	g_free(join(fx, &bob, big.share));
	json_t *stats = sd_service_shares_json(fx->svc, 10);
	assert_int_equal(json_integer_value(json_object_get(stats, "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(stats, "members")), 3);
	json_t *listed = json_object_get(stats, "listed");
	assert_int_equal(json_array_size(listed), 2);
	json_t *first = json_array_get(listed, 0);
	assert_string_equal(json_string_value(json_object_get(first, "share")), big.share);
	assert_int_equal(json_integer_value(json_object_get(first, "members")), 2);
	assert_true(json_is_true(json_object_get(first, "owner_present")));
	assert_true(json_is_false(json_object_get(first, "published")));
	assert_int_equal(json_integer_value(json_object_get(first, "complete")), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(listed, 1), "share")), small.share);
	json_decref(stats);
	/* The list is bounded; the count is not. */
	stats = sd_service_shares_json(fx->svc, 1);
	assert_int_equal(json_integer_value(json_object_get(stats, "count")), 2);
	assert_int_equal(json_array_size(json_object_get(stats, "listed")), 1);
	json_decref(stats);
}


static const char *or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* An observer: one line per fact, "kind share peer role reason" ("-" for none). */
static void observed(const sd_event *event, void *user_data)
{
	static const char *const kinds[] = {"joined", "left", "closed", "signal", "created"};
	g_string_append_printf(user_data, "%s %s %s %s %s\n", kinds[event->kind], event->share, or_dash(event->peer),
	                       or_dash(event->role), or_dash(event->reason));
}

/* The observer hears each share and membership change once, also those nobody else hears. */
static void the_observer_hears_each_fact_once(void **state)
{
	fixture *fx = *state;
	GString *seen = g_string_new(NULL);
	sd_service_observe(fx->svc, observed, seen);
	share_ids ids = create_share(fx, &alice);
	char *bob_id = join(fx, &bob, ids.share), *carol_id = join(fx, &carol, ids.share);
	json_decref(call(fx, &bob, "{s:s, s:s, s:s, s:{}}", "request", "signal", "share", ids.share, "to", ids.owner, "payload"));
	json_decref(call(fx, &bob, "{s:s, s:s}", "request", "leave", "share", ids.share));
	sd_service_client_gone(fx->svc, &carol, fx->now);
	sd_service_client_gone(fx->svc, &alice, fx->now); /* the last member: no client hears of it */
	fx->now += SECONDS(EMPTY_GRACE + 1);
	sd_service_expire(fx->svc, fx->now);
	json_t *restored = call(fx, &alice, "{s:s, s:s, s:s}", "request", "join", "share", ids.share, "owner_token", ids.token);
	json_decref(call(fx, &alice, "{s:s, s:s, s:s}", "request", "close", "share", ids.share, "owner_token", ids.token));
	const char *S = ids.share;
	char *expected = g_strdup_printf("created %s %s owner -\njoined %s %s receiver -\njoined %s %s receiver -\n"
	                                 "left %s %s - -\nleft %s %s - -\nleft %s %s - -\nclosed %s - - empty\n"
	                                 "created %s %s owner -\nclosed %s - - stopped\n",
	                                 S, ids.owner, S, bob_id, S, carol_id, S, bob_id, S, carol_id, S, ids.owner, S, S,
	                                 str(restored, "peer"), S);
	assert_string_equal(seen->str, expected);
	g_free(expected);
	json_decref(restored);
	g_free(bob_id);
	g_free(carol_id);
	g_string_free(seen, TRUE);
}

/* ---- Per connection (sd_quota): alice, bob and dave share one connection, carol has her own. ---- */

static int dave;
static int connection_a, connection_b;

typedef struct quota_fixture {
	fixture fx; /* first: the helpers take it */
	sd_quota *quota;
} quota_fixture;

static int setup_quota(void **state)
{
	quota_fixture *qf = g_new0(quota_fixture, 1);
	sd_limits limits;
	sd_limits_default(&limits);
	limits.max_shares_per_connection = 2;
	limits.max_members_per_connection = 4;
	limits.max_seats_per_connection = 2;
	qf->quota = sd_quota_new(&limits, NULL);
	sd_error err;
	void *a[] = {&alice, &bob, &dave};
	for (size_t i = 0; i < 3; i++)
		assert_true(sd_quota_add_client(qf->quota, &connection_a, a[i], 0, &err));
	assert_true(sd_quota_add_client(qf->quota, &connection_b, &carol, 0, &err));
	qf->fx.events = g_array_new(FALSE, FALSE, sizeof(delivered));
	qf->fx.svc = sd_service_new(&limits, NULL, qf->quota, record, &qf->fx);
	qf->fx.now = SECONDS(1000);
	*state = qf;
	return 0;
}

static int teardown_quota(void **state)
{
	quota_fixture *qf = *state;
	drop_events(&qf->fx);
	g_array_free(qf->fx.events, TRUE);
	sd_service_free(qf->fx.svc);
	sd_quota_free(qf->quota);
	g_free(qf);
	return 0;
}

/* Finding 2: however many handles one connection opens, it creates max_shares_per_connection
 * open shares; others still create; a share it closes frees its count, one it merely left not. */
static void one_connection_cannot_fill_the_share_table(void **state)
{
	quota_fixture *qf = *state;
	fixture *fx = &qf->fx;
	share_ids first = create_share(fx, &alice);
	create_share(fx, &bob);
	assert_error(call(fx, &dave, "{s:s}", "request", "create"), SD_ERR_CONNECTION_LIMIT);
	assert_error(call(fx, &alice, "{s:s}", "request", "create"), SD_ERR_CONNECTION_LIMIT);
	/* A restore creates too. */
	assert_error(join_with(fx, &dave, TOKEN_SHARE, TOKEN, OWNER_SECRET), SD_ERR_CONNECTION_LIMIT);
	create_share(fx, &carol);
	json_decref(call(fx, &alice, "{s:s, s:s}", "request", "leave", "share", first.share));
	assert_error(call(fx, &alice, "{s:s}", "request", "create"), SD_ERR_CONNECTION_LIMIT);
	json_t *r = call(fx, &dave, "{s:s, s:s, s:s}", "request", "close", "share", first.share, "owner_token", first.token);
	assert_string_equal(str(r, "swarmdrop"), "closed");
	json_decref(r);
	create_share(fx, &dave);
	assert_int_equal(sd_service_share_count(fx->svc), 3);
}

/* Finding 4: one connection holds max_seats_per_connection members of a share, so its handles
 * cannot take a share's seats; it holds max_members_per_connection memberships in all. */
static void one_connection_cannot_take_a_shares_seats(void **state)
{
	quota_fixture *qf = *state;
	fixture *fx = &qf->fx;
	share_ids ids = create_share(fx, &carol);
	g_free(join(fx, &alice, ids.share));
	g_free(join(fx, &bob, ids.share));
	assert_error(call(fx, &dave, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_CONNECTION_LIMIT);
	/* A seat comes back when its member leaves, or its handle goes. */
	json_decref(call(fx, &bob, "{s:s, s:s}", "request", "leave", "share", ids.share));
	g_free(join(fx, &dave, ids.share));
	sd_quota_remove_client(qf->quota, &dave);
	sd_service_client_gone(fx->svc, &dave, fx->now);
	g_free(join(fx, &bob, ids.share));
	/* Memberships in all: alice 1 + bob 1 here, two creates make 4, and a fifth is refused. */
	share_ids own = create_share(fx, &alice);
	g_free(join(fx, &bob, own.share));
	assert_int_equal(sd_service_member_count(fx->svc), 5);
	share_ids other = create_share(fx, &carol);
	assert_error(call(fx, &alice, "{s:s, s:s}", "request", "join", "share", other.share), SD_ERR_CONNECTION_LIMIT);
	/* A share that closes gives its members back. */
	drop_events(fx);
	json_decref(call(fx, &alice, "{s:s, s:s, s:s}", "request", "close", "share", own.share, "owner_token", own.token));
	g_free(join(fx, &alice, other.share));
	assert_int_equal(sd_service_member_count(fx->svc), 5);
}

/* A handle the quota no longer knows (it went while its request waited) creates and joins nothing. */
static void a_gone_handle_creates_nothing(void **state)
{
	quota_fixture *qf = *state;
	fixture *fx = &qf->fx;
	share_ids ids = create_share(fx, &carol);
	sd_quota_remove_client(qf->quota, &alice);
	assert_error(call(fx, &alice, "{s:s}", "request", "create"), SD_ERR_NOT_JOINED);
	assert_error(call(fx, &alice, "{s:s, s:s}", "request", "join", "share", ids.share), SD_ERR_NOT_JOINED);
	assert_int_equal(sd_service_share_count(fx->svc), 1);
}

int run_service_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(join_lists_others_and_announces_the_newcomer, setup, teardown),
		cmocka_unit_test_setup_teardown(list_shows_the_other_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(lists_come_at_most_once_a_second, setup, teardown),
		cmocka_unit_test_setup_teardown(signal_reaches_only_its_target, setup, teardown),
		cmocka_unit_test_setup_teardown(signal_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(join_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(receiver_leaving_is_announced, setup, teardown),
		cmocka_unit_test_setup_teardown(owner_leaving_keeps_the_share_for_its_members, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_owner_comes_back_with_its_token, setup, teardown),
		cmocka_unit_test_setup_teardown(an_orphan_share_closes_after_share_orphan_max_seconds, setup, teardown),
		cmocka_unit_test_setup_teardown(a_share_without_members_closes_after_the_empty_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(close_needs_the_owner_token_and_tells_everyone, setup, teardown),
		cmocka_unit_test_setup_teardown(a_stranger_cannot_restore_or_squat_a_share_id, setup, teardown),
		cmocka_unit_test_setup_teardown(a_member_id_is_reclaimed_only_with_its_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(a_gone_client_leaves_every_share, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_names_the_callers_member, setup, teardown),
		cmocka_unit_test_setup_teardown(after_a_restart_the_owner_brings_its_share_back, setup, teardown),
		cmocka_unit_test_setup_teardown(a_relay_only_owner_is_listed_as_such_and_its_share_closes_on_demand, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(report_is_answered_with_the_interval_and_spaced, setup, teardown),
		cmocka_unit_test_setup_teardown(join_answers_the_link_cap_and_peers_with_tier_and_completeness, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(join_ranks_peers_by_network_operator_and_country, setup_tracker, teardown),
		cmocka_unit_test_setup_teardown(one_connection_cannot_fill_the_share_table, setup_quota, teardown_quota),
		cmocka_unit_test_setup_teardown(one_connection_cannot_take_a_shares_seats, setup_quota, teardown_quota),
		cmocka_unit_test_setup_teardown(a_gone_handle_creates_nothing, setup_quota, teardown_quota),
		cmocka_unit_test_setup_teardown(the_observer_hears_each_fact_once, setup, teardown),
		cmocka_unit_test_setup_teardown(the_outcome_names_the_request_its_share_and_the_callers_member, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(the_operator_sees_each_share_most_members_first, setup, teardown),
	};
	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
