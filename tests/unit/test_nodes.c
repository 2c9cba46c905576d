/* One share across several nodes, at the service's level: three sd_services wired by an
 * in-process bus that carries their facts and signals at once (sd_cluster carries them through
 * the engine, with lookups and leases: test_cluster.c). Node i (1..3) is index i for the others. */
#include <string.h>

#include "sd_service.h"
#include "unit.h"

#define NODES 3
#define ORPHAN_MAX 3600 /* s: share_orphan_max_seconds */
#define MAX_PEERS 4     /* max_peers_per_share */

static int alice, bob, carol, dave; /* addresses stand for Janus handles */

typedef struct node node;
typedef struct delivered {
	void *client;
	json_t *event;
} delivered;

struct node {
	guint8 index;
	sd_service *svc;
	GArray *events; /* delivered to this node's clients, in order */
	GPtrArray *dropped; /* share ids this node stopped mirroring (char*) */
	node *all;          /* the cluster: NODES nodes, index i at all[i - 1] */
};

typedef struct fixture {
	node nodes[NODES];
	gint64 now;
	guint forwarded, delivered_signals;
} fixture;

static fixture *current; /* the bus's clock and counters, for the hooks */

static void record(void *client, const sd_event *facts, json_t *event, void *user_data)
{
	(void)facts;
	node *n = user_data;
	delivered d = {client, json_incref(event)};
	g_array_append_val(n->events, d);
}

/* The bus: a fact of node `from` reaches every other node holding its share. */
static void replicate(const sd_fact *fact, void *user_data)
{
	node *from = user_data;
	if (fact->kind == SD_FACT_DROPPED) {
		g_ptr_array_add(from->dropped, g_strdup(fact->share));
		return;
	}
	for (int i = 0; i < NODES; i++) {
		node *to = &from->all[i];
		if (to == from || sd_service_owner_token(to->svc, fact->share) == NULL)
			continue;
		switch (fact->kind) {
		case SD_FACT_MEMBER: sd_service_apply_member(to->svc, fact->share, from->index, fact->member); break;
		case SD_FACT_GONE: sd_service_apply_gone(to->svc, fact->share, from->index, fact->peer, current->now); break;
		case SD_FACT_CLOSED: sd_service_apply_close(to->svc, fact->share, fact->reason); break;
		default: break;
		}
	}
}

static void forward(guint8 to_node, const char *share, const char *from, const char *to, const json_t *payload,
                    void *user_data)
{
	node *n = user_data;
	current->forwarded++;
	if (sd_service_deliver_signal(n->all[to_node - 1].svc, share, from, to, payload))
		current->delivered_signals++;
}

static int setup(void **state)
{
	fixture *fx = g_new0(fixture, 1);
	sd_limits limits;
	sd_limits_default(&limits);
	limits.share_orphan_max_seconds = ORPHAN_MAX;
	limits.max_peers_per_share = MAX_PEERS;
	for (int i = 0; i < NODES; i++) {
		node *n = &fx->nodes[i];
		n->index = (guint8)(i + 1);
		n->all = fx->nodes;
		n->events = g_array_new(FALSE, FALSE, sizeof(delivered));
		n->dropped = g_ptr_array_new_with_free_func(g_free);
		n->svc = sd_service_new(&limits, NULL, NULL, record, n);
		sd_service_seed(n->svc, 7);
		const sd_cluster_hooks hooks = {replicate, forward, n};
		sd_service_cluster(n->svc, &hooks);
	}
	fx->now = (gint64)1000 * G_USEC_PER_SEC;
	current = fx;
	*state = fx;
	return 0;
}

static void drop_events(node *n)
{
	for (guint i = 0; i < n->events->len; i++)
		json_decref(g_array_index(n->events, delivered, i).event);
	g_array_set_size(n->events, 0);
}

static int teardown(void **state)
{
	fixture *fx = *state;
	for (int i = 0; i < NODES; i++) {
		drop_events(&fx->nodes[i]);
		g_array_free(fx->nodes[i].events, TRUE);
		g_ptr_array_free(fx->nodes[i].dropped, TRUE);
		sd_service_free(fx->nodes[i].svc);
	}
	g_free(fx);
	return 0;
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *call(fixture *fx, node *n, void *client, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *body = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	assert_non_null(body);
	json_t *response = sd_service_handle(n->svc, client, body, fx->now, NULL);
	json_decref(body);
	return response;
}

static void assert_error(json_t *response, int code)
{
	assert_string_equal(str(response, "swarmdrop"), "error");
	assert_int_equal(json_integer_value(json_object_get(response, "error_code")), code);
	json_decref(response);
}

/* What sd_cluster does before a join on a node that does not hold the share: mirror it with
 * the token the holders give, and take each holder's roster. */
static void look_up(fixture *fx, node *asker, const char *share)
{
	sd_error err;
	for (int i = 0; i < NODES; i++) {
		node *holder = &fx->nodes[i];
		const char *token = holder == asker ? NULL : sd_service_owner_token(holder->svc, share);
		if (token == NULL)
			continue;
		assert_true(sd_service_apply_share(asker->svc, share, token, -1, fx->now, &err));
		GArray *recs = g_array_new(FALSE, FALSE, sizeof(sd_member_rec));
		assert_true(sd_service_roster(holder->svc, share, recs));
		sd_service_apply_roster(asker->svc, share, holder->index, (sd_member_rec *)(void *)recs->data, recs->len,
		                        fx->now);
		g_array_free(recs, TRUE);
	}
}

typedef struct member {
	char share[SD_SHARE_ID_LEN + 1], peer[SD_PEER_ID_LEN + 1], secret[SD_SECRET_LEN + 1];
	char token[SD_TOKEN_LEN + 1];
} member;

static member take(json_t *r)
{
	member m = {0};
	assert_string_equal(str(r, "swarmdrop"), str(r, "owner_token") != NULL ? "created" : "joined");
	g_strlcpy(m.share, str(r, "share"), sizeof(m.share));
	g_strlcpy(m.peer, str(r, "peer"), sizeof(m.peer));
	g_strlcpy(m.secret, str(r, "peer_secret"), sizeof(m.secret));
	if (str(r, "owner_token") != NULL)
		g_strlcpy(m.token, str(r, "owner_token"), sizeof(m.token));
	return m;
}

static member create_on(fixture *fx, node *n, void *client)
{
	json_t *r = call(fx, n, client, "{s:s}", "request", "create");
	member m = take(r);
	json_decref(r);
	return m;
}

/* client joins share on n (looked up first), from address (NULL: none); the answer is returned. */
static json_t *join_on(fixture *fx, node *n, void *client, const char *share, const char *address)
{
	if (sd_service_owner_token(n->svc, share) == NULL)
		look_up(fx, n, share);
	if (address == NULL)
		return call(fx, n, client, "{s:s, s:s}", "request", "join", "share", share);
	return call(fx, n, client, "{s:s, s:s, s:s}", "request", "join", "share", share, "address", address);
}

/* client joins share on n (no address): its member. */
static member joined(fixture *fx, node *n, void *client, const char *share)
{
	json_t *r = join_on(fx, n, client, share, NULL);
	member m = take(r);
	json_decref(r);
	return m;
}

static json_t *event_at(node *n, guint i, void *client, const char *name)
{
	assert_true(i < n->events->len);
	delivered d = g_array_index(n->events, delivered, i);
	assert_ptr_equal(d.client, client);
	assert_string_equal(str(d.event, "event"), name);
	return d.event;
}

static json_t *peers_of(json_t *answer)
{
	return json_object_get(answer, "peers");
}

/* A receiver on B of a share made on A: its list has the owner, ranked with the address A's
 * member came from; A's members hear of it with the tier A finds for each. */
static void a_member_on_another_node_is_listed_and_announced(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	json_t *r = join_on(fx, a, &bob, owner.share, "198.18.0.11");
	member near = take(r);
	json_decref(r);
	drop_events(a);
	r = join_on(fx, b, &carol, owner.share, "198.18.0.11"); /* behind the same NAT */
	member far = take(r);
	json_t *listed = peers_of(r);
	assert_int_equal(json_array_size(listed), 2);
	/* Bob's record carried its address: same network for Carol; the owner's is not known. */
	for (size_t i = 0; i < 2; i++) {
		const json_t *entry = json_array_get(listed, i);
		bool is_near = strcmp(str(entry, "peer"), near.peer) == 0;
		assert_true(is_near || strcmp(str(entry, "peer"), owner.peer) == 0);
		assert_string_equal(str(entry, "tier"), is_near ? "same_network" : "other");
	}
	json_decref(r);
	/* On A: the owner and Bob hear of Carol once, Bob with the same tier found on A. */
	assert_int_equal(a->events->len, 2);
	assert_string_equal(str(event_at(a, 0, &alice, "peer_joined"), "peer"), far.peer);
	assert_string_equal(str(event_at(a, 1, &bob, "peer_joined"), "tier"), "same_network");
	/* C holds nothing of it: no mirror, nothing heard. */
	assert_null(sd_service_owner_token(fx->nodes[2].svc, owner.share));
	assert_int_equal(fx->nodes[2].events->len, 0);
	/* Members count on their own node only. */
	assert_int_equal(sd_service_member_count(a->svc), 2);
	assert_int_equal(sd_service_member_count(b->svc), 1);
}

/* A signal for a member on another node goes to its node, once, as the same event; one for a
 * member that left meanwhile is dropped there. */
static void signals_cross_nodes_once(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	member receiver = joined(fx, b, &bob, owner.share);
	drop_events(a);
	json_t *r = call(fx, b, &bob, "{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", owner.share, "to", owner.peer,
	         "payload", "sdp", "offer");
	assert_string_equal(str(r, "swarmdrop"), "signalled");
	json_decref(r);
	assert_int_equal(fx->delivered_signals, 1);
	assert_int_equal(a->events->len, 1);
	json_t *ev = event_at(a, 0, &alice, "signal");
	assert_string_equal(str(ev, "from"), receiver.peer);
	assert_string_equal(str(json_object_get(ev, "payload"), "sdp"), "offer");
	assert_int_equal(b->events->len, 0);
	/* The answer comes back the same way. */
	r = call(fx, a, &alice, "{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", owner.share, "to",
	         receiver.peer, "payload", "sdp", "answer");
	json_decref(r);
	assert_string_equal(str(json_object_get(event_at(b, 0, &bob, "signal"), "payload"), "sdp"), "answer");
	/* A signal that arrives after its target left is dropped, not delivered to anyone. */
	json_t *payload = json_pack("{s:s}", "sdp", "late");
	assert_false(sd_service_deliver_signal(b->svc, owner.share, owner.peer, "0123456789ab", payload));
	/* Nor from someone who is not a member: a node delivers only between members it knows. */
	assert_false(sd_service_deliver_signal(b->svc, owner.share, "0123456789ab", receiver.peer, payload));
	json_decref(payload);
	assert_int_equal(b->events->len, 1);
}

/* A report on B changes what A's tracker knows of the member: its lists show it complete. */
static void a_report_reaches_the_other_nodes(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	json_t *r = join_on(fx, a, &bob, owner.share, NULL);
	json_decref(r);
	r = join_on(fx, b, &carol, owner.share, NULL);
	member receiver = take(r);
	json_decref(r);
	fx->now += 30 * G_USEC_PER_SEC;
	r = call(fx, b, &carol, "{s:s, s:s, s:b, s:[]}", "request", "report", "share", owner.share, "complete", 1,
	         "links");
	assert_string_equal(str(r, "swarmdrop"), "reported");
	json_decref(r);
	r = call(fx, a, &bob, "{s:s, s:s}", "request", "list", "share", owner.share);
	json_t *listed = peers_of(r);
	bool seen = false;
	for (size_t i = 0; i < json_array_size(listed); i++) {
		const json_t *entry = json_array_get(listed, i);
		if (strcmp(str(entry, "peer"), receiver.peer) == 0)
			seen = json_is_true(json_object_get(entry, "complete"));
	}
	assert_true(seen);
	json_decref(r);
}

/* Leaving on B: A's members are told; B, which holds no member of the share any more, stops
 * mirroring it; A keeps it. */
static void the_last_member_on_a_node_ends_its_mirror(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	member receiver = joined(fx, b, &bob, owner.share);
	drop_events(a);
	json_t *r = call(fx, b, &bob, "{s:s, s:s}", "request", "leave", "share", owner.share);
	assert_string_equal(str(r, "swarmdrop"), "left");
	json_decref(r);
	assert_string_equal(str(event_at(a, 0, &alice, "peer_left"), "peer"), receiver.peer);
	assert_null(sd_service_owner_token(b->svc, owner.share));
	assert_int_equal(b->dropped->len, 1);
	assert_non_null(sd_service_owner_token(a->svc, owner.share));
	/* A mirror made for a join that then failed is dropped as well; one with members of its own is not. */
	r = join_on(fx, b, &carol, owner.share, NULL);
	json_decref(r);
	assert_false(sd_service_release(b->svc, owner.share));
	look_up(fx, &fx->nodes[2], owner.share);
	assert_true(sd_service_release(fx->nodes[2].svc, owner.share));
	assert_null(sd_service_owner_token(fx->nodes[2].svc, owner.share));
}

/* A node gone: its members leave every share on the others, who are told; a client of it that
 * joins elsewhere with its secret takes its record along at once. */
static void a_node_gone_takes_its_members_with_it(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	json_t *r = join_on(fx, b, &bob, owner.share, NULL);
	json_decref(r);
	r = join_on(fx, a, &carol, owner.share, NULL);
	member moving = take(r);
	json_decref(r);
	drop_events(b);
	/* Carol's connection to A is gone, and A with it: she comes back through B with her secret at
	 * once, before A's lease ended. Her record moves here: nobody hears she left. */
	json_t *back = call(fx, b, &carol, "{s:s, s:s, s:s}", "request", "join", "share", owner.share, "peer_secret",
	                    moving.secret);
	assert_string_equal(str(back, "peer"), moving.peer);
	json_decref(back);
	drop_events(b);
	/* A's lease ends: its members leave, but Carol is B's now. */
	sd_service_node_gone(b->svc, a->index, fx->now);
	assert_int_equal(b->events->len, 2);
	assert_string_equal(str(event_at(b, 0, &bob, "peer_left"), "peer"), owner.peer);
	assert_string_equal(str(event_at(b, 1, &carol, "peer_left"), "peer"), owner.peer);
	/* The owner, gone with A, takes its share back on B with its token. */
	r = call(fx, b, &alice, "{s:s, s:s, s:s, s:s}", "request", "join", "share", owner.share, "owner_token", owner.token,
	         "peer_secret", owner.secret);
	assert_string_equal(str(r, "role"), "owner");
	json_decref(r);
	/* A member's own client here is live: another with its secret gets 466. */
	int twin;
	assert_error(call(fx, b, &twin, "{s:s, s:s, s:s}", "request", "join", "share", owner.share, "peer_secret",
	                  moving.secret),
	             SD_ERR_PEER_TAKEN);
}

/* A roster replaces what a node had told: members it no longer names are gone, new ones join. */
static void a_roster_replaces_a_nodes_members(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	member leaving = joined(fx, a, &carol, owner.share);
	json_decref(join_on(fx, b, &bob, owner.share, NULL));
	drop_events(b);
	/* Carol left while the bus was down: only A's roster says so. */
	sd_member_rec recs[2] = {{.role = SD_ROLE_OWNER}, {.role = SD_ROLE_RECEIVER}};
	g_strlcpy(recs[0].peer, owner.peer, sizeof(recs[0].peer));
	g_strlcpy(recs[1].peer, "00112233aabb", sizeof(recs[1].peer));
	sd_service_apply_roster(b->svc, owner.share, a->index, recs, 2, fx->now);
	assert_int_equal(b->events->len, 2);
	assert_string_equal(str(event_at(b, 0, &bob, "peer_left"), "peer"), leaving.peer);
	assert_string_equal(str(event_at(b, 1, &bob, "peer_joined"), "peer"), "00112233aabb");
	/* The same roster again changes nothing. */
	sd_service_apply_roster(b->svc, owner.share, a->index, recs, 2, fx->now);
	assert_int_equal(b->events->len, 2);
	/* A node's roster or gone never removes another node's member, nor one of B's own. */
	sd_service_apply_roster(b->svc, owner.share, 3, NULL, 0, fx->now);
	sd_service_apply_gone(b->svc, owner.share, 3, owner.peer, fx->now);
	assert_int_equal(b->events->len, 2);
	json_t *r = call(fx, b, &bob, "{s:s, s:s}", "request", "list", "share", owner.share);
	assert_int_equal(json_array_size(peers_of(r)), 2);
	json_decref(r);
}

/* A record from another node for an id B's own member holds is stale (B has its client); one
 * for an id another node held means the member moved there: no second peer_joined. */
static void records_of_one_id_from_two_nodes(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	member local = joined(fx, b, &bob, owner.share);
	drop_events(b);
	sd_member_rec rec = {.role = SD_ROLE_RECEIVER};
	g_strlcpy(rec.peer, local.peer, sizeof(rec.peer));
	sd_service_apply_member(b->svc, owner.share, 3, &rec);
	g_strlcpy(rec.peer, owner.peer, sizeof(rec.peer));
	rec.role = SD_ROLE_OWNER;
	sd_service_apply_member(b->svc, owner.share, 3, &rec); /* the owner moved to C */
	assert_int_equal(b->events->len, 0);
	/* Its old node's late "gone" does not remove it: C holds it now. */
	sd_service_apply_gone(b->svc, owner.share, a->index, owner.peer, fx->now);
	assert_int_equal(b->events->len, 0);
	sd_service_apply_gone(b->svc, owner.share, 3, owner.peer, fx->now);
	assert_string_equal(str(event_at(b, 0, &bob, "peer_left"), "peer"), owner.peer);
}

/* The owner's token closes the share from any node; every node's members hear "stopped". */
static void closing_on_one_node_closes_everywhere(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1], *c = &fx->nodes[2];
	member owner = create_on(fx, a, &alice);
	json_decref(join_on(fx, b, &bob, owner.share, NULL));
	json_decref(join_on(fx, c, &carol, owner.share, NULL));
	drop_events(b);
	drop_events(c);
	json_t *r = call(fx, a, &alice, "{s:s, s:s, s:s}", "request", "close", "share", owner.share, "owner_token",
	                 owner.token);
	assert_string_equal(str(r, "swarmdrop"), "closed");
	json_decref(r);
	assert_string_equal(str(event_at(b, 0, &bob, "share_closed"), "reason"), "stopped");
	assert_string_equal(str(event_at(c, 0, &carol, "share_closed"), "reason"), "stopped");
	for (int i = 0; i < NODES; i++)
		assert_null(sd_service_owner_token(fx->nodes[i].svc, owner.share));
}

/* The owner left on A: B's clock runs from then, and B closes the share for its own members
 * once it ran out. */
static void an_owner_gone_elsewhere_ends_the_share_in_time(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	json_decref(join_on(fx, b, &bob, owner.share, NULL));
	json_decref(join_on(fx, a, &carol, owner.share, NULL));
	json_decref(call(fx, a, &alice, "{s:s, s:s}", "request", "leave", "share", owner.share));
	drop_events(a);
	drop_events(b);
	fx->now += (gint64)(ORPHAN_MAX - 1) * G_USEC_PER_SEC;
	sd_service_expire(b->svc, fx->now);
	assert_int_equal(b->events->len, 0);
	fx->now += G_USEC_PER_SEC;
	sd_service_expire(b->svc, fx->now);
	assert_string_equal(str(event_at(b, 0, &bob, "share_closed"), "reason"), "owner_gone");
	assert_string_equal(str(event_at(a, 0, &carol, "share_closed"), "reason"), "owner_gone");
	assert_null(sd_service_owner_token(a->svc, owner.share));
}

/* max_peers_per_share counts every node's members; another node's are capped at twice it. */
static void limits_count_every_nodes_members(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	member owner = create_on(fx, a, &alice);
	json_decref(join_on(fx, a, &bob, owner.share, NULL));
	json_decref(join_on(fx, a, &carol, owner.share, NULL));
	json_decref(join_on(fx, b, &dave, owner.share, NULL));
	int extra;
	assert_error(call(fx, b, &extra, "{s:s, s:s}", "request", "join", "share", owner.share), SD_ERR_SHARE_FULL);
	/* Bad input from the bus changes nothing: an unknown share, node 0, an id that is not one. */
	drop_events(b);
	sd_member_rec bad = {.role = SD_ROLE_RECEIVER};
	g_strlcpy(bad.peer, "not an id", sizeof(bad.peer));
	sd_service_apply_member(b->svc, owner.share, 3, &bad);
	g_strlcpy(bad.peer, "00112233aabb", sizeof(bad.peer));
	sd_service_apply_member(b->svc, "0000000000000000", 3, &bad);
	sd_service_apply_member(b->svc, owner.share, 0, &bad);
	assert_int_equal(b->events->len, 0);
	sd_error err;
	assert_false(sd_service_apply_share(b->svc, "0123456789abcdef", owner.token, -1, fx->now, &err));
	assert_int_equal(err.code, SD_ERR_BAD_OWNER_TOKEN);
	/* A flood of records from one node stops at the cap, and announces no more. */
	for (int i = 0; i < 3 * MAX_PEERS; i++) {
		sd_member_rec rec = {.role = SD_ROLE_RECEIVER};
		g_snprintf(rec.peer, sizeof(rec.peer), "ffff0000%04x", (unsigned)i);
		sd_service_apply_member(b->svc, owner.share, 3, &rec);
	}
	/* A's 3 members count in the cap of 2 * MAX_PEERS others: 5 more came in. */
	assert_int_equal(b->events->len, 2 * MAX_PEERS - 3);
}

int run_nodes_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_member_on_another_node_is_listed_and_announced, setup, teardown),
		cmocka_unit_test_setup_teardown(signals_cross_nodes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(a_report_reaches_the_other_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(the_last_member_on_a_node_ends_its_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(a_node_gone_takes_its_members_with_it, setup, teardown),
		cmocka_unit_test_setup_teardown(a_roster_replaces_a_nodes_members, setup, teardown),
		cmocka_unit_test_setup_teardown(records_of_one_id_from_two_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(closing_on_one_node_closes_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(an_owner_gone_elsewhere_ends_the_share_in_time, setup, teardown),
		cmocka_unit_test_setup_teardown(limits_count_every_nodes_members, setup, teardown),
	};
	return cmocka_run_group_tests_name("nodes", tests, NULL, NULL);
}
