/* sd_cluster on a fake engine: three nodes in one process, each an sd_service with its
 * sd_cluster, and a bus that delivers in publishing order, matches subjects as NATS does (`*`
 * one token, `>` the rest), never echoes a node's own messages, answers "no responders" to a
 * message with a reply subject nobody subscribes, and can cut a node off. */
#include <string.h>

#include "sd_cluster.h"
#include "unit.h"

#define NODES 3
#define HEARTBEAT_US ((gint64)1000 * 1000)
#define LEASE_US ((gint64)5000 * 1000)
#define LOOKUP_US ((gint64)200 * 1000)

static int alice, bob, carol; /* addresses stand for Janus handles */

typedef struct fixture fixture;

typedef struct node {
	fixture *fx;
	int index; /* into fx->nodes */
	sd_service *svc;
	sd_cluster *cluster;
	GPtrArray *subscriptions; /* patterns (owned) */
	GPtrArray *resumed;       /* tickets, in order */
	GArray *events;           /* json_t* delivered to this node's clients */
	bool cut;                 /* off the engine: publishes nothing, receives nothing */
} node;

typedef struct message {
	int from;
	char *subject, *data, *reply;
	size_t len;
} message;

struct fixture {
	node nodes[NODES];
	GQueue queue; /* message* */
	gint64 now;
};

static bool token_match(const char *pattern, const char *subject)
{
	gchar **p = g_strsplit(pattern, ".", -1), **s = g_strsplit(subject, ".", -1);
	bool match = true;
	int i = 0;
	for (; p[i] != NULL; i++) {
		if (strcmp(p[i], ">") == 0) {
			match = s[i] != NULL;
			goto done;
		}
		if (s[i] == NULL || (strcmp(p[i], "*") != 0 && strcmp(p[i], s[i]) != 0)) {
			match = false;
			goto done;
		}
	}
	match = s[i] == NULL;
done:
	g_strfreev(p);
	g_strfreev(s);
	return match;
}

static bool subscribed(const node *n, const char *subject)
{
	for (guint i = 0; i < n->subscriptions->len; i++)
		if (token_match(g_ptr_array_index(n->subscriptions, i), subject))
			return true;
	return false;
}

static bool bus_publish(const char *subject, const char *data, size_t len, const char *reply, void *user_data)
{
	node *n = user_data;
	if (n->cut)
		return false;
	message *m = g_new0(message, 1);
	*m = (message){n->index, g_strdup(subject), g_memdup2(data, len), g_strdup(reply), len};
	g_queue_push_tail(&n->fx->queue, m);
	return true;
}

static void bus_subscribe(const char *subject, void *user_data)
{
	node *n = user_data;
	g_ptr_array_add(n->subscriptions, g_strdup(subject));
}

static void bus_unsubscribe(const char *subject, void *user_data)
{
	node *n = user_data;
	for (guint i = 0; i < n->subscriptions->len; i++)
		if (strcmp(g_ptr_array_index(n->subscriptions, i), subject) == 0) {
			g_ptr_array_remove_index(n->subscriptions, i);
			return;
		}
	fail_msg("unsubscribed %s, which was not subscribed", subject);
}

static void message_free(message *m)
{
	g_free(m->subject);
	g_free(m->data);
	g_free(m->reply);
	g_free(m);
}

/* Delivers everything queued, and what that publishes, in order. */
static void pump(fixture *fx)
{
	message *m;
	while ((m = g_queue_pop_head(&fx->queue)) != NULL) {
		bool heard = false;
		for (int i = 0; i < NODES; i++) {
			node *n = &fx->nodes[i];
			if (i == m->from || n->cut || n->cluster == NULL || !subscribed(n, m->subject))
				continue;
			heard = true;
			sd_cluster_receive(n->cluster, m->subject, m->data, m->len, fx->now);
		}
		node *from = &fx->nodes[m->from];
		if (!heard && m->reply != NULL && !from->cut && from->cluster != NULL)
			sd_cluster_no_responders(from->cluster, m->reply, fx->now);
		message_free(m);
	}
}

/* A parked request, as the plugin's worker keeps it. */
typedef struct ticket {
	void *client;
	json_t *body;     /* taken by the run */
	json_t *response; /* once run */
} ticket;

static json_t *handle(fixture *fx, node *n, void *client, json_t *body);

static void drop_ticket(void *data)
{
	ticket *t = data;
	json_decref(t->body);
}

/* What the plugin's worker does with a parked request: it runs it then and there. */
static void resume(void *data, void *user_data)
{
	node *n = user_data;
	ticket *t = data;
	t->response = handle(n->fx, n, t->client, t->body);
	g_ptr_array_add(n->resumed, t);
}

static void record(void *client, const sd_event *facts, json_t *event, void *user_data)
{
	(void)client;
	(void)facts;
	node *n = user_data;
	json_incref(event);
	g_array_append_val(n->events, event);
}

static const char *const names[NODES] = {"a", "b", "c"};

static void start_node(fixture *fx, int i)
{
	node *n = &fx->nodes[i];
	sd_cluster_config config = {.url = "nats://engine", .heartbeat_us = HEARTBEAT_US, .lease_us = LEASE_US,
	                            .lookup_us = LOOKUP_US};
	g_strlcpy(config.node, names[i], sizeof(config.node));
	const sd_bus bus = {bus_publish, bus_subscribe, bus_unsubscribe, n};
	sd_error err;
	n->cluster = sd_cluster_new(&config, n->svc, &bus, resume, n, fx->now, &err);
	assert_non_null(n->cluster);
	sd_cluster_engine(n->cluster, true, fx->now);
}

static int setup(void **state)
{
	fixture *fx = g_new0(fixture, 1);
	g_queue_init(&fx->queue);
	fx->now = (gint64)1000 * G_USEC_PER_SEC;
	sd_limits limits;
	sd_limits_default(&limits);
	for (int i = 0; i < NODES; i++) {
		node *n = &fx->nodes[i];
		*n = (node){.fx = fx, .index = i};
		n->subscriptions = g_ptr_array_new_with_free_func(g_free);
		n->resumed = g_ptr_array_new();
		n->events = g_array_new(FALSE, FALSE, sizeof(json_t *));
		n->svc = sd_service_new(&limits, NULL, NULL, record, n);
		start_node(fx, i);
	}
	pump(fx);
	*state = fx;
	return 0;
}

static void drop_events(node *n)
{
	for (guint i = 0; i < n->events->len; i++)
		json_decref(g_array_index(n->events, json_t *, i));
	g_array_set_size(n->events, 0);
}

static int teardown(void **state)
{
	fixture *fx = *state;
	for (int i = 0; i < NODES; i++) {
		node *n = &fx->nodes[i];
		sd_cluster_free(n->cluster, drop_ticket);
		sd_service_free(n->svc);
		drop_events(n);
		g_array_free(n->events, TRUE);
		g_ptr_array_free(n->resumed, TRUE);
		g_ptr_array_free(n->subscriptions, TRUE);
	}
	g_queue_clear_full(&fx->queue, (GDestroyNotify)message_free);
	g_free(fx);
	return 0;
}

/* Time passes by `us`, every node not cut off ticking each 100 ms, the bus pumped. */
static void advance(fixture *fx, gint64 us)
{
	for (gint64 end = fx->now + us; fx->now < end;) {
		fx->now += MIN(100 * 1000, end - fx->now);
		for (int i = 0; i < NODES; i++)
			if (fx->nodes[i].cluster != NULL && !fx->nodes[i].cut)
				sd_cluster_tick(fx->nodes[i].cluster, fx->now);
		pump(fx);
	}
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *handle(fixture *fx, node *n, void *client, json_t *body)
{
	json_t *r = sd_service_handle(n->svc, client, body, fx->now, NULL);
	json_decref(body);
	return r;
}

/* A join through the cluster as the plugin's worker does it: admitted, or parked until the
 * share's lookup ended, then handled. */
static json_t *join_on(fixture *fx, node *n, void *client, json_t *body)
{
	ticket t = {client, body, NULL};
	char share[SD_SHARE_ID_LEN + 1];
	bool unheld = sd_service_names_unheld_share(n->svc, body, share);
	assert_true(unheld == (sd_service_owner_token(n->svc, str(body, "share")) == NULL));
	sd_admit admit = unheld ? sd_cluster_admit(n->cluster, share, &t, fx->now) : SD_ADMIT_RUN;
	if (admit == SD_ADMIT_RUN) {
		t.response = handle(fx, n, client, body);
	} else {
		assert_int_equal(admit, SD_ADMIT_PARKED);
		pump(fx);
		if (n->resumed->len == 0)
			advance(fx, LOOKUP_US);
		assert_int_equal(n->resumed->len, 1);
		assert_ptr_equal(g_ptr_array_index(n->resumed, 0), &t);
		g_ptr_array_set_size(n->resumed, 0);
	}
	pump(fx);
	return t.response;
}

static json_t *join_body(const char *share)
{
	return json_pack("{s:s, s:s}", "request", "join", "share", share);
}

typedef struct made {
	char share[SD_SHARE_ID_LEN + 1], owner[SD_PEER_ID_LEN + 1], token[SD_TOKEN_LEN + 1];
} made;

static made create_on(fixture *fx, node *n, void *client)
{
	json_t *r = handle(fx, n, client, json_pack("{s:s}", "request", "create"));
	made m;
	g_strlcpy(m.share, str(r, "share"), sizeof(m.share));
	g_strlcpy(m.owner, str(r, "peer"), sizeof(m.owner));
	g_strlcpy(m.token, str(r, "owner_token"), sizeof(m.token));
	json_decref(r);
	pump(fx);
	return m;
}

static json_t *stats(fixture *fx, node *n)
{
	return sd_cluster_stats_json(n->cluster, fx->now);
}

static json_int_t stat(fixture *fx, node *n, const char *key)
{
	json_t *s = stats(fx, n);
	json_int_t value = json_integer_value(json_object_get(s, key));
	json_decref(s);
	return value;
}

/* The last event delivered on n, which must be named name. */
static json_t *last_event(node *n, const char *name)
{
	assert_true(n->events->len > 0);
	json_t *event = g_array_index(n->events, json_t *, n->events->len - 1);
	assert_string_equal(str(event, "event"), name);
	return event;
}

/* A join on B of a share made on A waits for A's answer, then lists the owner; A's owner hears
 * of the newcomer; C, never asked, mirrors nothing. */
static void a_join_on_another_node_is_looked_up(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1], *c = &fx->nodes[2];
	made share = create_on(fx, a, &alice);
	ticket t = {&bob, join_body(share.share), NULL};
	assert_int_equal(sd_cluster_admit(b->cluster, share.share, &t, fx->now), SD_ADMIT_PARKED);
	assert_int_equal(b->resumed->len, 0);
	pump(fx);
	assert_int_equal(b->resumed->len, 1); /* every node that holds members answered: no wait */
	g_ptr_array_set_size(b->resumed, 0);
	json_t *r = t.response;
	pump(fx);
	assert_string_equal(str(r, "swarmdrop"), "joined");
	json_t *peers = json_object_get(r, "peers");
	assert_int_equal(json_array_size(peers), 1);
	assert_string_equal(str(json_array_get(peers, 0), "peer"), share.owner);
	assert_string_equal(str(last_event(a, "peer_joined"), "peer"), str(r, "peer"));
	json_decref(r);
	assert_int_equal(stat(fx, c, "mirrored"), 0);
	assert_int_equal(stat(fx, b, "mirrored"), 1);
	/* A second join on B runs at once: B holds the share now. */
	assert_int_equal(sd_cluster_admit(b->cluster, share.share, &carol, fx->now), SD_ADMIT_RUN);
	/* A third node joins: it waits for both A and B, and lists both. */
	r = join_on(fx, c, &carol, join_body(share.share));
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 2);
	json_decref(r);
	assert_string_equal(str(last_event(b, "peer_joined"), "role"), "receiver");
}

/* A share nobody holds: the engine says so at once, the request runs alone (445), and nothing
 * stays mirrored. Its owner's token makes it again here. */
static void a_share_held_nowhere_is_answered_at_once(void **state)
{
	fixture *fx = *state;
	node *b = &fx->nodes[1];
	made share = create_on(fx, &fx->nodes[0], &alice);
	json_t *r = handle(fx, &fx->nodes[0], &alice,
	                   json_pack("{s:s, s:s, s:s}", "request", "close", "share", share.share, "owner_token", share.token));
	json_decref(r);
	pump(fx);
	r = join_on(fx, b, &bob, join_body(share.share));
	assert_int_equal(json_integer_value(json_object_get(r, "error_code")), SD_ERR_NO_SUCH_SHARE);
	json_decref(r);
	assert_int_equal(stat(fx, b, "mirrored"), 0);
	assert_int_equal(b->subscriptions->len, 3); /* its own subjects only */
	r = join_on(fx, b, &alice, json_pack("{s:s, s:s, s:s}", "request", "join", "share", share.share, "owner_token",
	                                     share.token));
	assert_string_equal(str(r, "role"), "owner");
	json_decref(r);
	assert_int_equal(stat(fx, b, "mirrored"), 1);
}

/* A signal from B for A's owner crosses once; its answer comes back. */
static void signals_cross_the_engine(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	made share = create_on(fx, a, &alice);
	json_t *r = join_on(fx, b, &bob, join_body(share.share));
	char peer[SD_PEER_ID_LEN + 1];
	g_strlcpy(peer, str(r, "peer"), sizeof(peer));
	json_decref(r);
	r = handle(fx, b, &bob, json_pack("{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", share.share, "to",
	                                  share.owner, "payload", "sdp", "offer"));
	assert_string_equal(str(r, "swarmdrop"), "signalled");
	json_decref(r);
	pump(fx);
	json_t *ev = last_event(a, "signal");
	assert_string_equal(str(ev, "from"), peer);
	assert_string_equal(str(json_object_get(ev, "payload"), "sdp"), "offer");
	r = handle(fx, a, &alice, json_pack("{s:s, s:s, s:s, s:{s:s}}", "request", "signal", "share", share.share, "to",
	                                    peer, "payload", "sdp", "answer"));
	json_decref(r);
	pump(fx);
	assert_string_equal(str(json_object_get(last_event(b, "signal"), "payload"), "sdp"), "answer");
	assert_int_equal(stat(fx, a, "signals_in"), 1);
	assert_int_equal(stat(fx, b, "signals_in"), 1);
}

/* A node that stops (its process killed: no goodbye) is gone for the others a lease later,
 * with its members; not before. A node that says goodbye is gone at once. */
static void a_silent_node_is_gone_after_its_lease(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1], *c = &fx->nodes[2];
	made share = create_on(fx, a, &alice);
	json_decref(join_on(fx, b, &bob, join_body(share.share)));
	json_decref(join_on(fx, c, &carol, join_body(share.share)));
	drop_events(b);
	a->cut = true;
	advance(fx, LEASE_US - HEARTBEAT_US);
	assert_int_equal(b->events->len, 0);
	advance(fx, 2 * HEARTBEAT_US);
	assert_string_equal(str(last_event(b, "peer_left"), "peer"), share.owner);
	/* C says goodbye: B forgets Carol at once. */
	sd_cluster_free(c->cluster, drop_ticket);
	c->cluster = NULL;
	pump(fx);
	assert_int_equal(b->events->len, 2);
	last_event(b, "peer_left");
}

/* While B's own engine connection is down nobody is judged, however long; when it comes back
 * the rosters heal what it missed: a member that left meanwhile is gone, one that joined is there. */
static void an_engine_outage_judges_nobody_and_rosters_heal_it(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	made share = create_on(fx, a, &alice);
	json_t *r = join_on(fx, a, &carol, join_body(share.share));
	char leaving[SD_PEER_ID_LEN + 1];
	g_strlcpy(leaving, str(r, "peer"), sizeof(leaving));
	json_decref(r);
	json_decref(join_on(fx, b, &bob, join_body(share.share)));
	drop_events(b);
	b->cut = true;
	sd_cluster_engine(b->cluster, false, fx->now);
	json_decref(handle(fx, a, &carol, json_pack("{s:s, s:s}", "request", "leave", "share", share.share)));
	int dave;
	json_t *joined = handle(fx, a, &dave, join_body(share.share));
	char newcomer[SD_PEER_ID_LEN + 1];
	g_strlcpy(newcomer, str(joined, "peer"), sizeof(newcomer));
	json_decref(joined);
	for (int i = 0; i < 10; i++) {
		advance(fx, LEASE_US);
		sd_cluster_tick(b->cluster, fx->now); /* ticks while cut off: nobody judged */
	}
	assert_int_equal(b->events->len, 0);
	b->cut = false;
	sd_cluster_engine(b->cluster, true, fx->now);
	pump(fx);
	advance(fx, HEARTBEAT_US);
	assert_int_equal(b->events->len, 2);
	assert_string_equal(str(g_array_index(b->events, json_t *, 0), "peer"), leaving);
	assert_string_equal(str(g_array_index(b->events, json_t *, 1), "peer"), newcomer);
	assert_int_equal(stat(fx, b, "resyncs"), 1);
	/* A never lost B's member either. */
	r = handle(fx, a, &dave, json_pack("{s:s, s:s}", "request", "list", "share", share.share));
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 2);
	json_decref(r);
}

/* A member that leaves while its node is cut off from the engine, taking the node's last member
 * of the share with it (so its node mirrors the share no more): the other nodes learn it from an
 * empty roster once the engine is back. */
static void a_leave_lost_with_the_engine_still_reaches_the_others(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	made share = create_on(fx, a, &alice);
	json_decref(join_on(fx, b, &bob, join_body(share.share)));
	drop_events(a);
	b->cut = true;
	sd_cluster_engine(b->cluster, false, fx->now);
	json_decref(handle(fx, b, &bob, json_pack("{s:s, s:s}", "request", "leave", "share", share.share)));
	assert_null(sd_service_owner_token(b->svc, share.share));
	b->cut = false;
	sd_cluster_engine(b->cluster, true, fx->now);
	pump(fx);
	last_event(a, "peer_left");
	json_t *r = handle(fx, a, &alice, json_pack("{s:s, s:s}", "request", "list", "share", share.share));
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 0);
	json_decref(r);
}

/* A request parked on a lookup runs as on one node when the engine goes away meanwhile: nobody
 * could answer it. */
static void a_parked_request_runs_when_the_engine_goes(void **state)
{
	fixture *fx = *state;
	node *b = &fx->nodes[1];
	made share = create_on(fx, &fx->nodes[0], &alice);
	ticket t = {&bob, join_body(share.share), NULL};
	assert_int_equal(sd_cluster_admit(b->cluster, share.share, &t, fx->now), SD_ADMIT_PARKED);
	sd_cluster_engine(b->cluster, false, fx->now);
	assert_int_equal(b->resumed->len, 1);
	assert_int_equal(json_integer_value(json_object_get(t.response, "error_code")), SD_ERR_NO_SUCH_SHARE);
	json_decref(t.response);
	g_ptr_array_set_size(b->resumed, 0);
	g_queue_clear_full(&fx->queue, (GDestroyNotify)message_free); /* the lookup never left */
}

/* A node that restarts (a new epoch under its name) lost its members: the others drop them at
 * its first heartbeat, not a lease later. */
static void a_restarted_node_loses_its_members_at_once(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	made share = create_on(fx, a, &alice);
	json_decref(join_on(fx, b, &bob, join_body(share.share)));
	drop_events(b);
	sd_cluster *old = a->cluster;
	a->cut = true; /* killed: no goodbye */
	sd_cluster_free(old, drop_ticket);
	a->cut = false;
	sd_service_free(a->svc);
	sd_limits limits;
	sd_limits_default(&limits);
	a->svc = sd_service_new(&limits, NULL, NULL, record, a);
	g_ptr_array_set_size(a->subscriptions, 0);
	start_node(fx, 0);
	pump(fx);
	assert_string_equal(str(last_event(b, "peer_left"), "peer"), share.owner);
}

/* Whatever the engine carries that is not a message of ours is counted and dropped. */
static void bad_messages_are_counted_and_dropped(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	made share = create_on(fx, a, &alice);
	json_decref(join_on(fx, b, &bob, join_body(share.share)));
	char subject[64];
	g_snprintf(subject, sizeof(subject), "sd.s.%s.f", share.share);
	const char *bad[] = {
		"not json",
		"[1,2]",
		"{\"t\":\"m\"}",
		"{\"t\":\"m\",\"n\":\"a\",\"e\":\"zz\"}",
		"{\"t\":\"m\",\"n\":\"A B\",\"e\":\"0123456789abcdef\",\"m\":{}}",
		"{\"t\":\"m\",\"n\":\"x\",\"e\":\"0123456789abcdef\",\"m\":{\"peer\":\"nothex\",\"role\":\"owner\"}}",
		"{\"t\":\"m\",\"n\":\"x\",\"e\":\"0123456789abcdef\",\"m\":{\"peer\":\"0123456789ab\",\"role\":\"king\"}}",
		"{\"t\":\"m\",\"n\":\"x\",\"e\":\"0123456789abcdef\",\"m\":{\"peer\":\"0123456789ab\",\"role\":\"owner\",\"have\":\"AAAA\"}}",
		"{\"t\":\"m\",\"n\":\"x\",\"e\":\"0123456789abcdef\",\"m\":{\"peer\":\"0123456789ab\",\"role\":\"owner\",\"addr\":\"site-a\"}}",
		"{\"t\":\"r\",\"n\":\"x\",\"e\":\"0123456789abcdef\",\"m\":7}",
		"{\"t\":\"zz\",\"n\":\"x\",\"e\":\"0123456789abcdef\"}",
	};
	drop_events(b);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		sd_cluster_receive(b->cluster, subject, bad[i], strlen(bad[i]), fx->now);
	sd_cluster_receive(b->cluster, "sd.n.b.sig", "{\"t\":\"s\",\"share\":\"x\"}", 20, fx->now);
	sd_cluster_receive(b->cluster, "sd.s.0123.f", "{\"t\":\"g\",\"n\":\"x\",\"e\":\"0123456789abcdef\"}", 43, fx->now);
	assert_int_equal(stat(fx, b, "bad_messages"), G_N_ELEMENTS(bad) + 2);
	assert_int_equal(b->events->len, 0);
	/* B still works. */
	json_t *r = handle(fx, b, &bob, json_pack("{s:s, s:s}", "request", "list", "share", share.share));
	assert_int_equal(json_array_size(json_object_get(r, "peers")), 1);
	json_decref(r);
}

/* Requests waiting on lookups are bounded: past SD_CLUSTER_PARKED_MAX they are refused. */
static void parked_requests_are_bounded(void **state)
{
	fixture *fx = *state;
	node *b = &fx->nodes[1];
	static int clients[SD_CLUSTER_PARKED_MAX + 1];
	static ticket tickets[SD_CLUSTER_PARKED_MAX + 1];
	for (int i = 0; i <= SD_CLUSTER_PARKED_MAX; i++) {
		char share[SD_SHARE_ID_LEN + 1];
		g_snprintf(share, sizeof(share), "%016x", i);
		tickets[i] = (ticket){&clients[i], join_body(share), NULL};
		assert_int_equal(sd_cluster_admit(b->cluster, share, &tickets[i], fx->now),
		                 i < SD_CLUSTER_PARKED_MAX ? SD_ADMIT_PARKED : SD_ADMIT_FULL);
	}
	json_decref(tickets[SD_CLUSTER_PARKED_MAX].body);
	pump(fx); /* nobody holds them: every one resumed (and refused: 445), nothing mirrored */
	assert_int_equal(b->resumed->len, SD_CLUSTER_PARKED_MAX);
	for (int i = 0; i < SD_CLUSTER_PARKED_MAX; i++) {
		assert_int_equal(json_integer_value(json_object_get(tickets[i].response, "error_code")), SD_ERR_NO_SUCH_SHARE);
		json_decref(tickets[i].response);
	}
	assert_int_equal(stat(fx, b, "parked"), 0);
	assert_int_equal(stat(fx, b, "mirrored"), 0);
	/* With the engine down a node answers alone. */
	sd_cluster_engine(b->cluster, false, fx->now);
	assert_int_equal(sd_cluster_admit(b->cluster, "ffffffffffffffff", &tickets[0], fx->now), SD_ADMIT_RUN);
}

/* What the relay hooks were told on a node, as "endpoints a/<share>:<peers>", "endpoint a/<peer>:1",
 * "reset a:gone", in order. */
static GString *relay_log;
static const char *relayed_peer; /* the member the "relayed" hook says uses the relay */

static bool hook_relayed(const char *share_id, const char *peer_id, void *user_data)
{
	(void)share_id;
	(void)user_data;
	return relayed_peer != NULL && strcmp(peer_id, relayed_peer) == 0;
}

static void hook_endpoint(const char *node, const char *share_id, const char *peer_id, bool on, void *user_data)
{
	(void)share_id;
	(void)user_data;
	g_string_append_printf(relay_log, "endpoint %s/%s:%d ", node, peer_id, on);
}

static void hook_endpoints(const char *node, const char *share_id, const char *const *peers, size_t n, void *user_data)
{
	(void)share_id;
	(void)user_data;
	g_string_append_printf(relay_log, "endpoints %s:", node != NULL ? node : "all");
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(relay_log, "%s%s", i > 0 ? "," : "", peers[i]);
	g_string_append_c(relay_log, ' ');
}

static void hook_reset(const char *node, bool gone, void *user_data)
{
	(void)user_data;
	g_string_append_printf(relay_log, "reset %s:%s ", node != NULL ? node : "all", gone ? "gone" : "forgive");
}

/* Which members use the relay travels with their records: B, looking the share up, learns A's
 * relayed member; then its "e" facts; a node gone takes its endpoints, an engine outage forgives. */
static void relay_endpoints_follow_the_records(void **state)
{
	fixture *fx = *state;
	node *a = &fx->nodes[0], *b = &fx->nodes[1];
	relay_log = g_string_new(NULL);
	static const sd_cluster_relay_hooks hooks = {hook_relayed, hook_endpoint, hook_endpoints, hook_reset, NULL};
	for (int i = 0; i < NODES; i++)
		sd_cluster_relay(fx->nodes[i].cluster, &hooks);
	made share = create_on(fx, a, &alice);
	relayed_peer = share.owner;
	json_decref(join_on(fx, b, &bob, join_body(share.share)));
	char expected[128];
	g_snprintf(expected, sizeof(expected), "endpoints a:%s ", share.owner); /* on B */
	assert_non_null(strstr(relay_log->str, expected));
	assert_non_null(strstr(relay_log->str, ":0 ")); /* on A: Bob's record says it does not */
	g_string_truncate(relay_log, 0);
	sd_cluster_relay_endpoint(a->cluster, share.share, share.owner, false);
	pump(fx);
	g_snprintf(expected, sizeof(expected), "endpoint a/%s:0 ", share.owner);
	assert_string_equal(relay_log->str, expected);
	/* Not told for a share not held: its record will say it. */
	g_string_truncate(relay_log, 0);
	sd_cluster_relay_endpoint(a->cluster, "0123456789abcdef", share.owner, true);
	pump(fx);
	assert_string_equal(relay_log->str, "");
	/* An engine outage on B: everything relayed with the others is forgiven when it is back. */
	sd_cluster_engine(b->cluster, false, fx->now);
	sd_cluster_engine(b->cluster, true, fx->now);
	pump(fx);
	assert_non_null(strstr(relay_log->str, "reset all:forgive"));
	g_string_truncate(relay_log, 0);
	a->cut = true;
	advance(fx, LEASE_US + 2 * HEARTBEAT_US);
	assert_non_null(strstr(relay_log->str, "reset a:gone"));
	relayed_peer = NULL;
	g_string_free(relay_log, TRUE);
}

static void config_keys(void **state)
{
	(void)state;
	sd_cluster_config config;
	sd_cluster_config_init(&config);
	char why[160];
	bool bad;
	assert_false(sd_cluster_config_check(&config, why, sizeof(why))); /* no engine: one node */
	assert_false(sd_cluster_config_set(&config, "max_shares", "3", why, sizeof(why), &bad));
	assert_true(sd_cluster_config_set(&config, "cluster_url", "nats://127.0.0.1:4222", why, sizeof(why), &bad));
	assert_false(bad);
	assert_false(sd_cluster_config_check(&config, why, sizeof(why)));
	assert_non_null(strstr(why, "cluster_node"));
	assert_true(sd_cluster_config_set(&config, "cluster_node", "Node A", why, sizeof(why), &bad));
	assert_true(bad);
	assert_true(sd_cluster_config_set(&config, "cluster_node", "b", why, sizeof(why), &bad));
	assert_false(sd_cluster_config_check(&config, why, sizeof(why))); /* "Node A" was wrong: loud */
	config.wrong = false;
	assert_true(sd_cluster_config_check(&config, why, sizeof(why)));
	const char *refused[][2] = {{"cluster_url", "http://x"}, {"cluster_heartbeat_ms", "50"},
	                            {"cluster_heartbeat_ms", "1e3"}, {"cluster_lease_ms", ""},
	                            {"cluster_lookup_ms", "9999999"}};
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		assert_true(sd_cluster_config_set(&config, refused[i][0], refused[i][1], why, sizeof(why), &bad));
		assert_true(bad);
	}
	assert_int_equal(config.heartbeat_us, 1000 * 1000); /* a bad value leaves the setting... */
	assert_false(sd_cluster_config_check(&config, why, sizeof(why))); /* ... and stops the node */
	config.wrong = false;
	assert_true(sd_cluster_config_set(&config, "cluster_heartbeat_ms", "2000", why, sizeof(why), &bad));
	assert_false(bad);
	assert_false(sd_cluster_config_check(&config, why, sizeof(why))); /* lease 5000 < 3 x 2000 */
	assert_true(sd_cluster_config_set(&config, "cluster_lease_ms", "6000", why, sizeof(why), &bad));
	assert_true(sd_cluster_config_check(&config, why, sizeof(why)));
}

static void node_names(void **state)
{
	(void)state;
	assert_true(sd_node_name_valid("a"));
	assert_true(sd_node_name_valid("node-12"));
	assert_false(sd_node_name_valid(""));
	assert_false(sd_node_name_valid("A"));
	assert_false(sd_node_name_valid("a.b"));
	assert_false(sd_node_name_valid("a*"));
	assert_false(sd_node_name_valid("abcdefghijklmnopq"));
	assert_false(sd_node_name_valid(NULL));
}

int run_cluster_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_join_on_another_node_is_looked_up, setup, teardown),
		cmocka_unit_test_setup_teardown(a_share_held_nowhere_is_answered_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(signals_cross_the_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(a_silent_node_is_gone_after_its_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(an_engine_outage_judges_nobody_and_rosters_heal_it, setup, teardown),
		cmocka_unit_test_setup_teardown(a_restarted_node_loses_its_members_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_messages_are_counted_and_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(a_leave_lost_with_the_engine_still_reaches_the_others, setup, teardown),
		cmocka_unit_test_setup_teardown(a_parked_request_runs_when_the_engine_goes, setup, teardown),
		cmocka_unit_test_setup_teardown(parked_requests_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(relay_endpoints_follow_the_records, setup, teardown),
		cmocka_unit_test(config_keys),
		cmocka_unit_test(node_names),
	};
	return cmocka_run_group_tests_name("cluster", tests, NULL, NULL);
}
