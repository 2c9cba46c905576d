#include "sd_cluster.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

/* Subjects (docs/architecture.md, "Several nodes"). A share's id and a node's name are checked
 * before a subject is built of them, so no subject can be injected.
 *   sd.hb               heartbeats and goodbyes of every node
 *   sd.resync           "send your rosters": a node whose engine connection came back
 *   sd.s.<share>.f      facts of the share's members, told by their nodes (m, g, r, c)
 *   sd.s.<share>.q      a lookup: its holders answer to sd.n.<asker>.r.<share>
 *   sd.n.<node>.sig     a signal for one of node's members
 *   sd.n.<node>.ctl     "send your rosters", to one node
 *   sd.n.<node>.r.<share>  answers to node's lookup of share */
#define SUBJECT_MAX 64
#define EPOCH_LEN 16

typedef struct node_entry {
	char name[SD_NODE_NAME_MAX + 1];
	char epoch[EPOCH_LEN + 1]; /* random at each start: a new one is a restarted node */
	gint64 seen_us;
	bool alive;
} node_entry;

typedef struct lookup {
	gint64 started_us;
	GPtrArray *tickets;  /* parked requests, resumed in order */
	GHashTable *awaited; /* node names some holder said have members (owned strings) */
	GHashTable *answered; /* node names that answered (owned strings) */
} lookup;

struct sd_cluster {
	sd_cluster_config config;
	char epoch[EPOCH_LEN + 1];
	sd_service *svc;
	sd_bus bus;
	sd_cluster_resume_fn resume;
	void *user_data;
	node_entry nodes[SD_CLUSTER_NODES_MAX + 1]; /* index 0 unused: this node */
	guint n_nodes;
	GHashTable *mirrored; /* share id (owned) -> its subject pattern subscribed */
	GHashTable *lookups;  /* share id (owned) -> lookup* */
	GHashTable *unsent;   /* share ids (owned) whose facts were lost on the way out */
	guint parked;
	bool engine_up;
	gint64 up_since_us, heartbeat_at_us;
	bool rosters_due; /* another node asked for them */
	sd_cluster_relay_hooks relay; /* all NULL: no relay across nodes */
	guint64 facts_out, facts_in, signals_out, signals_in, signals_dropped, lookups_made, resyncs, bad_messages,
		lost_publishes;
};

bool sd_node_name_valid(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;
	if (len == 0 || len > SD_NODE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_islower(name[i]) && !g_ascii_isdigit(name[i]) && name[i] != '-')
			return false;
	return true;
}

void sd_cluster_config_init(sd_cluster_config *config)
{
	*config = (sd_cluster_config){.heartbeat_us = 1000 * 1000, .lease_us = 5000 * 1000, .lookup_us = 200 * 1000};
}

/* The timing keys: name, where in the config, and the range in ms. */
static const struct {
	const char *name;
	size_t offset;
	gint64 min_ms, max_ms;
} timings[] = {
	{"cluster_heartbeat_ms", offsetof(sd_cluster_config, heartbeat_us), 100, 10000},
	{"cluster_lease_ms", offsetof(sd_cluster_config, lease_us), 300, 30000},
	{"cluster_lookup_ms", offsetof(sd_cluster_config, lookup_us), 10, 5000},
};

static bool config_set(sd_cluster_config *config, const char *name, const char *value, char *why, size_t why_size,
                       bool *bad)
{
	if (value == NULL)
		value = "";
	if (strcmp(name, "cluster_url") == 0) {
		*bad = strlen(value) > SD_CLUSTER_URL_MAX || (value[0] != '\0' && !g_str_has_prefix(value, "nats://") &&
		                                              !g_str_has_prefix(value, "tls://"));
		if (*bad)
			g_snprintf(why, why_size, "cluster_url must be a nats:// or tls:// URL of at most %d characters",
			           SD_CLUSTER_URL_MAX);
		else
			g_strlcpy(config->url, value, sizeof(config->url));
		return true;
	}
	if (strcmp(name, "cluster_node") == 0) {
		*bad = !sd_node_name_valid(value);
		if (*bad)
			g_snprintf(why, why_size, "cluster_node must be 1 to %d of a-z, 0-9 and -", SD_NODE_NAME_MAX);
		else
			g_strlcpy(config->node, value, sizeof(config->node));
		return true;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(timings); i++) {
		if (strcmp(name, timings[i].name) != 0)
			continue;
		char *end = NULL;
		gint64 ms = g_ascii_strtoll(value, &end, 10);
		*bad = value[0] == '\0' || *end != '\0' || ms < timings[i].min_ms || ms > timings[i].max_ms;
		if (*bad)
			g_snprintf(why, why_size, "%s must be a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
			           name, timings[i].min_ms, timings[i].max_ms);
		else
			*(gint64 *)(void *)((char *)config + timings[i].offset) = ms * 1000;
		return true;
	}
	return false;
}

bool sd_cluster_config_set(sd_cluster_config *config, const char *name, const char *value, char *why, size_t why_size,
                           bool *bad)
{
	*bad = false;
	bool taken = config_set(config, name, value, why, why_size, bad);
	config->wrong = config->wrong || *bad;
	return taken;
}

bool sd_cluster_config_check(const sd_cluster_config *config, char *why, size_t why_size)
{
	if (config->wrong)
		g_snprintf(why, why_size, "a cluster key of the .jcfg is wrong (logged above): the node does not start alone");
	else if (config->url[0] == '\0')
		g_snprintf(why, why_size, "no cluster_url");
	else if (!sd_node_name_valid(config->node))
		g_snprintf(why, why_size, "cluster_url needs cluster_node, this node's name (1 to %d of a-z, 0-9 and -)",
		           SD_NODE_NAME_MAX);
	else if (config->lease_us < 3 * config->heartbeat_us)
		g_snprintf(why, why_size, "cluster_lease_ms must be at least three cluster_heartbeat_ms");
	else
		return true;
	return false;
}

/* ---- sending ---- */

static bool publish_json(sd_cluster *c, const char *subject, json_t *message, const char *reply)
{
	char *text = json_dumps(message, JSON_COMPACT);
	json_decref(message);
	bool sent = text != NULL && c->engine_up && c->bus.publish(subject, text, strlen(text), reply, c->bus.user_data);
	if (!sent)
		c->lost_publishes++;
	free(text);
	return sent;
}

/* A message of kind t from this node. */
static json_t *message_new(const sd_cluster *c, const char *t)
{
	return json_pack("{s:s, s:s, s:s}", "t", t, "n", c->config.node, "e", c->epoch);
}

static json_t *rec_json(const sd_cluster *c, const char *share_id, const sd_member_rec *rec)
{
	json_t *json = json_pack("{s:s, s:s}", "peer", rec->peer, "role", sd_role_name(rec->role));
	if (c->relay.relayed != NULL && c->relay.relayed(share_id, rec->peer, c->relay.user_data))
		json_object_set_new(json, "relay", json_true());
	if (rec->relay_only)
		json_object_set_new(json, "relay_only", json_true());
	if (rec->address.family != 0) {
		char text[INET6_ADDRSTRLEN];
		if (inet_ntop(rec->address.family == 4 ? AF_INET : AF_INET6, rec->address.bytes, text, sizeof(text)) != NULL)
			json_object_set_new(json, "addr", json_string(text));
	}
	if (rec->place.asn != 0)
		json_object_set_new(json, "asn", json_integer(rec->place.asn));
	if (rec->place.country[0] != '\0')
		json_object_set_new(json, "cc", json_string(rec->place.country));
	if (rec->complete)
		json_object_set_new(json, "complete", json_true());
	if (rec->has_have) {
		gchar *have = g_base64_encode(rec->have, SD_HAVE_BYTES);
		json_object_set_new(json, "have", json_string(have));
		g_free(have);
	}
	return json;
}

static json_t *roster_json(sd_cluster *c, const char *share_id)
{
	GArray *recs = g_array_new(FALSE, FALSE, sizeof(sd_member_rec));
	sd_service_roster(c->svc, share_id, recs);
	json_t *list = json_array();
	for (guint i = 0; i < recs->len; i++)
		json_array_append_new(list, rec_json(c, share_id, &g_array_index(recs, sd_member_rec, i)));
	g_array_free(recs, TRUE);
	return list;
}

static void share_subject(char subject[SUBJECT_MAX], const char *share_id, const char *suffix)
{
	g_snprintf(subject, SUBJECT_MAX, "sd.s.%s.%s", share_id, suffix);
}

/* This node's members of share_id, all of them, with the share's token: a holder replaces what
 * it knew of this node's members with them. */
static void publish_roster(sd_cluster *c, const char *share_id)
{
	const char *token = sd_service_owner_token(c->svc, share_id);
	json_t *message = message_new(c, "r");
	if (token != NULL)
		json_object_set_new(message, "tok", json_string(token));
	/* A share not held here any more: its roster is empty (what a lost "gone" would have said). */
	json_object_set_new(message, "m", token != NULL ? roster_json(c, share_id) : json_array());
	char subject[SUBJECT_MAX];
	share_subject(subject, share_id, "f");
	c->facts_out++;
	publish_json(c, subject, message, NULL);
}

static void publish_all_rosters(sd_cluster *c)
{
	GHashTableIter iter;
	gpointer share;
	g_hash_table_iter_init(&iter, c->mirrored);
	while (g_hash_table_iter_next(&iter, &share, NULL))
		publish_roster(c, share);
	g_hash_table_iter_init(&iter, c->unsent);
	while (g_hash_table_iter_next(&iter, &share, NULL))
		if (!g_hash_table_contains(c->mirrored, share))
			publish_roster(c, share);
	g_hash_table_remove_all(c->unsent);
	c->rosters_due = false;
}

/* A fact about share_id that did not go out: the next rosters say it (an empty one if this node
 * holds the share no more). At most UNSENT_MAX shares are remembered (the rest stay lost until
 * their mirrors' next rosters or the dead node's lease). */
#define UNSENT_MAX 8192
static void unsent(sd_cluster *c, const char *share_id)
{
	if (g_hash_table_size(c->unsent) < UNSENT_MAX)
		g_hash_table_add(c->unsent, g_strdup(share_id));
}

/* ---- mirrors ---- */

static void mirror(sd_cluster *c, const char *share_id)
{
	if (g_hash_table_contains(c->mirrored, share_id))
		return;
	char subject[SUBJECT_MAX];
	share_subject(subject, share_id, "*");
	c->bus.subscribe(subject, c->bus.user_data);
	g_hash_table_insert(c->mirrored, g_strdup(share_id), g_strdup(subject));
}

static void unmirror(sd_cluster *c, const char *share_id)
{
	const char *subject = g_hash_table_lookup(c->mirrored, share_id);
	if (subject == NULL || g_hash_table_contains(c->lookups, share_id))
		return;
	c->bus.unsubscribe(subject, c->bus.user_data);
	if (c->relay.endpoints != NULL)
		c->relay.endpoints(NULL, share_id, NULL, 0, c->relay.user_data);
	g_hash_table_remove(c->mirrored, share_id);
}

/* ---- the service's hooks ---- */

static void replicate(const sd_fact *fact, void *user_data)
{
	sd_cluster *c = user_data;
	json_t *message;
	switch (fact->kind) {
	case SD_FACT_MEMBER:
		mirror(c, fact->share); /* subscribed before told: nothing said of it after is missed */
		message = message_new(c, "m");
		json_object_set_new(message, "m", rec_json(c, fact->share, fact->member));
		break;
	case SD_FACT_GONE:
		message = message_new(c, "g");
		json_object_set_new(message, "peer", json_string(fact->peer));
		break;
	case SD_FACT_CLOSED:
		message = message_new(c, "c");
		json_object_set_new(message, "reason", json_string(fact->reason));
		break;
	case SD_FACT_DROPPED:
	default:
		unmirror(c, fact->share);
		return;
	}
	char subject[SUBJECT_MAX];
	share_subject(subject, fact->share, "f");
	c->facts_out++;
	if (!publish_json(c, subject, message, NULL))
		unsent(c, fact->share);
	if (fact->kind == SD_FACT_CLOSED)
		unmirror(c, fact->share);
}

static void forward(guint8 node, const char *share, const char *from, const char *to, const json_t *payload,
                    void *user_data)
{
	sd_cluster *c = user_data;
	json_t *message = json_pack("{s:s, s:s, s:s, s:s, s:O}", "t", "s", "share", share, "from", from, "to", to, "p",
	                            payload);
	char subject[SUBJECT_MAX];
	g_snprintf(subject, sizeof(subject), "sd.n.%s.sig", c->nodes[node].name);
	c->signals_out++;
	publish_json(c, subject, message, NULL);
}

/* ---- the node table ---- */

static guint8 node_index(sd_cluster *c, const char *name)
{
	for (guint i = 1; i <= c->n_nodes; i++)
		if (strcmp(c->nodes[i].name, name) == 0)
			return (guint8)i;
	return 0;
}

static void node_gone(sd_cluster *c, guint8 index, gint64 now_us)
{
	c->nodes[index].alive = false;
	sd_service_node_gone(c->svc, index, now_us);
	if (c->relay.reset != NULL)
		c->relay.reset(c->nodes[index].name, true, c->relay.user_data);
}

/* The node that sent a message (name, epoch), made alive; 0 when it is this node, its name is
 * not one or the table is full. A new epoch for a node known alive is a restart: its members
 * before it are gone. */
static guint8 heard_from(sd_cluster *c, const char *name, const char *epoch, gint64 now_us)
{
	if (!sd_node_name_valid(name) || !sd_is_hex_id(epoch, EPOCH_LEN) || strcmp(name, c->config.node) == 0)
		return 0;
	guint8 index = node_index(c, name);
	if (index == 0 && c->n_nodes < SD_CLUSTER_NODES_MAX)
		index = (guint8)++c->n_nodes;
	for (guint i = 1; index == 0 && i <= c->n_nodes; i++)
		if (!c->nodes[i].alive)
			index = (guint8)i; /* a gone node's place: its members left with it */
	if (index == 0)
		return 0;
	if (strcmp(c->nodes[index].name, name) != 0) {
		g_strlcpy(c->nodes[index].name, name, sizeof(c->nodes[index].name));
		c->nodes[index].epoch[0] = '\0';
		c->nodes[index].alive = false;
	}
	node_entry *n = &c->nodes[index];
	bool restarted = n->alive && strcmp(n->epoch, epoch) != 0;
	if (restarted)
		node_gone(c, index, now_us);
	if (!n->alive && strcmp(n->epoch, epoch) == 0) {
		/* Back from an outage we judged it by (it was cut off, not dead): we need its members again. */
		char subject[SUBJECT_MAX];
		g_snprintf(subject, sizeof(subject), "sd.n.%s.ctl", name);
		publish_json(c, subject, message_new(c, "resync"), NULL);
	}
	if (!n->alive || restarted)
		c->rosters_due = true; /* new, back or restarted: it learns what we hold */
	g_strlcpy(n->epoch, epoch, sizeof(n->epoch));
	n->alive = true;
	n->seen_us = now_us;
	return index;
}

/* ---- lookups ---- */

static void lookup_free(gpointer data)
{
	lookup *l = data;
	g_ptr_array_free(l->tickets, TRUE);
	g_hash_table_destroy(l->awaited);
	g_hash_table_destroy(l->answered);
	g_free(l);
}

/* The lookup of share_id ended (every holder answered, it waited lookup_us, or nobody holds the
 * share): its requests run, then the mirror goes if none of them made a member here. */
static void finish_lookup(sd_cluster *c, const char *share_id)
{
	char id[SD_SHARE_ID_LEN + 1];
	g_strlcpy(id, share_id, sizeof(id));
	gpointer key, value;
	if (!g_hash_table_steal_extended(c->lookups, id, &key, &value))
		return;
	g_free(key);
	lookup *l = value;
	c->parked -= l->tickets->len;
	for (guint i = 0; i < l->tickets->len; i++)
		c->resume(g_ptr_array_index(l->tickets, i), c->user_data);
	lookup_free(l);
	if (sd_service_owner_token(c->svc, id) == NULL)
		unmirror(c, id);
	else
		sd_service_release(c->svc, id); /* tells SD_FACT_DROPPED, which unmirrors */
}

sd_admit sd_cluster_admit(sd_cluster *c, const char *share_id, void *ticket, gint64 now_us)
{
	if (!c->engine_up || !sd_is_hex_id(share_id, SD_SHARE_ID_LEN) || sd_service_owner_token(c->svc, share_id) != NULL)
		return SD_ADMIT_RUN;
	if (c->parked >= SD_CLUSTER_PARKED_MAX)
		return SD_ADMIT_FULL;
	lookup *l = g_hash_table_lookup(c->lookups, share_id);
	if (l == NULL) {
		l = g_new0(lookup, 1);
		l->started_us = now_us;
		l->tickets = g_ptr_array_new();
		l->awaited = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		l->answered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		mirror(c, share_id); /* before asking: a fact told after the answers is not missed */
		g_hash_table_insert(c->lookups, g_strdup(share_id), l);
		char subject[SUBJECT_MAX], reply[SUBJECT_MAX];
		share_subject(subject, share_id, "q");
		g_snprintf(reply, sizeof(reply), "sd.n.%s.r.%s", c->config.node, share_id);
		c->lookups_made++;
		publish_json(c, subject, message_new(c, "q"), reply);
	}
	g_ptr_array_add(l->tickets, ticket);
	c->parked++;
	return SD_ADMIT_PARKED;
}

void sd_cluster_no_responders(sd_cluster *c, const char *reply, gint64 now_us)
{
	(void)now_us;
	char prefix[SUBJECT_MAX];
	g_snprintf(prefix, sizeof(prefix), "sd.n.%s.r.", c->config.node);
	if (g_str_has_prefix(reply, prefix))
		finish_lookup(c, reply + strlen(prefix));
}

/* ---- receiving ---- */

static bool rec_of(const json_t *json, sd_member_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	const char *peer = json_string_value(json_object_get(json, "peer"));
	const char *role = json_string_value(json_object_get(json, "role"));
	const char *addr = json_string_value(json_object_get(json, "addr"));
	const char *cc = json_string_value(json_object_get(json, "cc"));
	const char *have = json_string_value(json_object_get(json, "have"));
	const json_t *asn = json_object_get(json, "asn");
	if (!json_is_object(json) || !sd_is_hex_id(peer, SD_PEER_ID_LEN) || role == NULL ||
	    (strcmp(role, "owner") != 0 && strcmp(role, "receiver") != 0))
		return false;
	g_strlcpy(rec->peer, peer, sizeof(rec->peer));
	rec->role = strcmp(role, "owner") == 0 ? SD_ROLE_OWNER : SD_ROLE_RECEIVER;
	rec->relay_only = json_is_true(json_object_get(json, "relay_only"));
	rec->complete = json_is_true(json_object_get(json, "complete"));
	if (addr != NULL && (strlen(addr) > SD_ADDRESS_TEXT_MAX || !sd_address_parse(addr, &rec->address)))
		return false;
	if (asn != NULL && (!json_is_integer(asn) || json_integer_value(asn) < 0 || json_integer_value(asn) > G_MAXUINT32))
		return false;
	rec->place.asn = asn != NULL ? (uint32_t)json_integer_value(asn) : 0;
	if (cc != NULL && (strlen(cc) != 2 || !g_ascii_isupper(cc[0]) || !g_ascii_isupper(cc[1])))
		return false;
	if (cc != NULL)
		memcpy(rec->place.country, cc, 3);
	if (have != NULL) {
		if (strlen(have) != 44) /* 32 bytes in base64 */
			return false;
		gsize len = 0;
		guchar *bytes = g_base64_decode(have, &len);
		bool ok = len == SD_HAVE_BYTES;
		if (ok)
			memcpy(rec->have, bytes, SD_HAVE_BYTES);
		g_free(bytes);
		if (!ok)
			return false;
		rec->has_have = true;
	}
	return true;
}

/* The records of list, a JSON array of at most max; NULL when one is not a record. */
static GArray *recs_of(const json_t *list, size_t max)
{
	if (!json_is_array(list) || json_array_size(list) > max)
		return NULL;
	GArray *recs = g_array_sized_new(FALSE, FALSE, sizeof(sd_member_rec), (guint)json_array_size(list));
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item) {
		sd_member_rec rec;
		if (!rec_of(item, &rec)) {
			g_array_free(recs, TRUE);
			return NULL;
		}
		g_array_append_val(recs, rec);
	}
	return recs;
}

/* The largest roster taken: a node's members of one share are at most max_peers_per_share. */
#define ROSTER_MAX 4096

/* A roster (in a fact or an answer) of node for share_id. */
static bool apply_roster(sd_cluster *c, const char *share_id, guint8 node, const json_t *list, gint64 now_us)
{
	GArray *recs = recs_of(list, ROSTER_MAX);
	if (recs == NULL)
		return false;
	sd_service_apply_roster(c->svc, share_id, node, (sd_member_rec *)(void *)recs->data, recs->len, now_us);
	if (c->relay.endpoints != NULL && sd_service_owner_token(c->svc, share_id) != NULL) {
		GPtrArray *relayed = g_ptr_array_new();
		for (guint i = 0; i < recs->len; i++) {
			const char *peer = g_array_index(recs, sd_member_rec, i).peer;
			if (json_is_true(json_object_get(json_array_get(list, i), "relay")) &&
			    sd_service_remote_member(c->svc, share_id, node, peer))
				g_ptr_array_add(relayed, (gpointer)peer);
		}
		c->relay.endpoints(c->nodes[node].name, share_id, (const char *const *)relayed->pdata, relayed->len,
		                   c->relay.user_data);
		g_ptr_array_free(relayed, TRUE);
	}
	g_array_free(recs, TRUE);
	return true;
}

/* node's member peer_id of share_id uses the relay (on) or not, if the share is held here. */
static void relay_endpoint(sd_cluster *c, const char *share_id, guint8 node, const char *peer_id, bool on)
{
	if (c->relay.endpoint != NULL && (!on || sd_service_remote_member(c->svc, share_id, node, peer_id)))
		c->relay.endpoint(c->nodes[node].name, share_id, peer_id, on, c->relay.user_data);
}

static bool receive_fact(sd_cluster *c, const char *share_id, const char *t, guint8 node, const json_t *msg,
                         gint64 now_us)
{
	c->facts_in++;
	const char *peer = json_string_value(json_object_get(msg, "peer"));
	if (strcmp(t, "m") == 0) {
		sd_member_rec rec;
		if (!rec_of(json_object_get(msg, "m"), &rec))
			return false;
		sd_service_apply_member(c->svc, share_id, node, &rec);
		relay_endpoint(c, share_id, node, rec.peer, json_is_true(json_object_get(json_object_get(msg, "m"), "relay")));
	} else if (strcmp(t, "g") == 0) {
		if (!sd_is_hex_id(peer, SD_PEER_ID_LEN))
			return false;
		sd_service_apply_gone(c->svc, share_id, node, peer, now_us);
		relay_endpoint(c, share_id, node, peer, false);
	} else if (strcmp(t, "e") == 0) {
		if (!sd_is_hex_id(peer, SD_PEER_ID_LEN) || !json_is_boolean(json_object_get(msg, "on")))
			return false;
		relay_endpoint(c, share_id, node, peer, json_is_true(json_object_get(msg, "on")));
	} else if (strcmp(t, "r") == 0) {
		return apply_roster(c, share_id, node, json_object_get(msg, "m"), now_us);
	} else if (strcmp(t, "c") == 0) {
		const char *reason = json_string_value(json_object_get(msg, "reason"));
		if (reason == NULL || strlen(reason) > 32)
			return false;
		sd_service_apply_close(c->svc, share_id, reason);
		unmirror(c, share_id);
	} else {
		return false;
	}
	return true;
}

/* A lookup of share_id from node `asker`: a holder answers with its own members. */
static void answer_lookup(sd_cluster *c, const char *share_id, const char *asker, gint64 now_us)
{
	const char *token = sd_service_owner_token(c->svc, share_id);
	if (token == NULL || g_hash_table_contains(c->lookups, share_id))
		return; /* not (yet) a holder: its members are the holders' to tell */
	json_t *message = message_new(c, "a");
	json_object_set_new(message, "tok", json_string(token));
	json_object_set_new(message, "m", roster_json(c, share_id));
	json_object_set_new(message, "absent_ms", json_integer(sd_service_owner_absent_ms(c->svc, share_id, now_us)));
	/* The nodes this one knows hold members: the asker waits for each one's answer. */
	json_t *nodes = json_array();
	json_array_append_new(nodes, json_string(c->config.node));
	GArray *members = g_array_new(FALSE, FALSE, sizeof(guint8));
	sd_service_member_nodes(c->svc, share_id, members);
	for (guint i = 0; i < members->len; i++)
		json_array_append_new(nodes, json_string(c->nodes[g_array_index(members, guint8, i)].name));
	g_array_free(members, TRUE);
	json_object_set_new(message, "nodes", nodes);
	char reply[SUBJECT_MAX];
	g_snprintf(reply, sizeof(reply), "sd.n.%s.r.%s", asker, share_id);
	publish_json(c, reply, message, NULL);
}

static bool receive_answer(sd_cluster *c, const char *share_id, guint8 node, const json_t *msg, gint64 now_us)
{
	lookup *l = g_hash_table_lookup(c->lookups, share_id);
	if (l == NULL) /* late: the lookup ended without it; its members count all the same */
		return sd_service_owner_token(c->svc, share_id) == NULL || apply_roster(c, share_id, node, json_object_get(msg, "m"), now_us);
	const char *token = json_string_value(json_object_get(msg, "tok"));
	const json_t *absent = json_object_get(msg, "absent_ms");
	const json_t *nodes = json_object_get(msg, "nodes");
	sd_error err;
	if (token == NULL || !json_is_integer(absent) || !json_is_array(nodes) ||
	    json_array_size(nodes) > SD_CLUSTER_NODES_MAX + 1 ||
	    !sd_service_apply_share(c->svc, share_id, token, json_integer_value(absent), now_us, &err) ||
	    !apply_roster(c, share_id, node, json_object_get(msg, "m"), now_us))
		return false;
	g_hash_table_add(l->answered, g_strdup(c->nodes[node].name));
	size_t i;
	const json_t *name;
	json_array_foreach(nodes, i, name) {
		if (sd_node_name_valid(json_string_value(name)) && strcmp(json_string_value(name), c->config.node) != 0)
			g_hash_table_add(l->awaited, g_strdup(json_string_value(name)));
	}
	GHashTableIter iter;
	gpointer awaited;
	g_hash_table_iter_init(&iter, l->awaited);
	while (g_hash_table_iter_next(&iter, &awaited, NULL))
		if (!g_hash_table_contains(l->answered, awaited))
			return true;
	finish_lookup(c, share_id);
	return true;
}

static bool receive_signal(sd_cluster *c, const json_t *msg)
{
	const char *share = json_string_value(json_object_get(msg, "share"));
	const char *from = json_string_value(json_object_get(msg, "from"));
	const char *to = json_string_value(json_object_get(msg, "to"));
	const json_t *payload = json_object_get(msg, "p");
	if (!sd_is_hex_id(share, SD_SHARE_ID_LEN) || !sd_is_hex_id(from, SD_PEER_ID_LEN) ||
	    !sd_is_hex_id(to, SD_PEER_ID_LEN) || !json_is_object(payload))
		return false;
	c->signals_in++;
	if (!sd_service_deliver_signal(c->svc, share, from, to, payload))
		c->signals_dropped++;
	return true;
}

/* subject's share id, if it is sd.s.<share>.<suffix>. */
static bool share_subject_of(const char *subject, const char *suffix, char share[SD_SHARE_ID_LEN + 1])
{
	size_t len = strlen(subject);
	if (len != 5 + SD_SHARE_ID_LEN + 1 + strlen(suffix) || !g_str_has_prefix(subject, "sd.s.") ||
	    subject[5 + SD_SHARE_ID_LEN] != '.' || strcmp(subject + 5 + SD_SHARE_ID_LEN + 1, suffix) != 0)
		return false;
	g_strlcpy(share, subject + 5, SD_SHARE_ID_LEN + 1);
	return sd_is_hex_id(share, SD_SHARE_ID_LEN);
}

/* A message of the subjects above; false when it is not one. */
static bool dispatch(sd_cluster *c, const char *subject, const json_t *msg, gint64 now_us)
{
	const char *t = json_string_value(json_object_get(msg, "t"));
	if (t == NULL)
		return false;
	char own[SUBJECT_MAX];
	g_snprintf(own, sizeof(own), "sd.n.%s.sig", c->config.node);
	if (strcmp(subject, own) == 0)
		return strcmp(t, "s") == 0 && receive_signal(c, msg);
	const char *name = json_string_value(json_object_get(msg, "n"));
	const char *epoch = json_string_value(json_object_get(msg, "e"));
	if (name != NULL && strcmp(name, c->config.node) == 0)
		return true; /* our own, echoed */
	guint8 node = heard_from(c, name, epoch, now_us);
	if (node == 0)
		return false;
	char share[SD_SHARE_ID_LEN + 1];
	g_snprintf(own, sizeof(own), "sd.n.%s.r.", c->config.node);
	if (strcmp(subject, "sd.hb") == 0) {
		if (strcmp(t, "bye") == 0)
			node_gone(c, node, now_us);
		return strcmp(t, "hb") == 0 || strcmp(t, "bye") == 0;
	}
	if (strcmp(t, "resync") == 0) {
		/* It lost messages: frames and credits between us may be among them. */
		if (c->relay.reset != NULL)
			c->relay.reset(name, false, c->relay.user_data);
		c->rosters_due = true;
		return true;
	}
	if (share_subject_of(subject, "f", share))
		return receive_fact(c, share, t, node, msg, now_us);
	if (share_subject_of(subject, "q", share)) {
		if (strcmp(t, "q") != 0)
			return false;
		answer_lookup(c, share, name, now_us);
		return true;
	}
	if (g_str_has_prefix(subject, own) && strcmp(t, "a") == 0 && sd_is_hex_id(subject + strlen(own), SD_SHARE_ID_LEN)) {
		g_strlcpy(share, subject + strlen(own), sizeof(share));
		return receive_answer(c, share, node, msg, now_us);
	}
	return false;
}

/* The largest message taken: a roster of 2 * max_peers_per_share records, with room. */
#define MESSAGE_MAX (1024 * 1024)

void sd_cluster_receive(sd_cluster *c, const char *subject, const char *data, size_t len, gint64 now_us)
{
	json_t *msg = len <= MESSAGE_MAX ? json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!json_is_object(msg) || !dispatch(c, subject, msg, now_us))
		c->bad_messages++;
	json_decref(msg);
}

/* ---- time ---- */

static void heartbeat(sd_cluster *c, gint64 now_us)
{
	c->heartbeat_at_us = now_us;
	publish_json(c, "sd.hb", message_new(c, "hb"), NULL);
}

/* Every lookup ends now (its requests run as on one node). */
static void finish_lookups(sd_cluster *c)
{
	GPtrArray *shares = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer share;
	g_hash_table_iter_init(&iter, c->lookups);
	while (g_hash_table_iter_next(&iter, &share, NULL))
		g_ptr_array_add(shares, g_strdup(share));
	for (guint i = 0; i < shares->len; i++)
		finish_lookup(c, g_ptr_array_index(shares, i));
	g_ptr_array_free(shares, TRUE);
}

void sd_cluster_resync(sd_cluster *c)
{
	c->resyncs++;
	publish_all_rosters(c);
	publish_json(c, "sd.resync", message_new(c, "resync"), NULL);
}

void sd_cluster_engine(sd_cluster *c, bool up, gint64 now_us)
{
	bool again = up && !c->engine_up && c->up_since_us != G_MININT64;
	c->engine_up = up;
	if (!up) {
		finish_lookups(c); /* nobody can answer them meanwhile */
		return;
	}
	c->up_since_us = now_us;
	/* Nobody is judged for the time we could not hear them. */
	for (guint i = 1; i <= c->n_nodes; i++)
		c->nodes[i].seen_us = now_us;
	heartbeat(c, now_us);
	if (again) {
		if (c->relay.reset != NULL)
			c->relay.reset(NULL, false, c->relay.user_data);
		sd_cluster_resync(c);
	}
}

void sd_cluster_tick(sd_cluster *c, gint64 now_us)
{
	if (!c->engine_up)
		return;
	if (now_us - c->heartbeat_at_us >= c->config.heartbeat_us)
		heartbeat(c, now_us);
	if (c->rosters_due)
		publish_all_rosters(c);
	if (now_us - c->up_since_us >= c->config.lease_us) {
		for (guint i = 1; i <= c->n_nodes; i++)
			if (c->nodes[i].alive && now_us - c->nodes[i].seen_us > c->config.lease_us)
				node_gone(c, (guint8)i, now_us);
	}
	GPtrArray *due = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer share, value;
	g_hash_table_iter_init(&iter, c->lookups);
	while (g_hash_table_iter_next(&iter, &share, &value))
		if (now_us - ((lookup *)value)->started_us >= c->config.lookup_us)
			g_ptr_array_add(due, g_strdup(share));
	for (guint i = 0; i < due->len; i++)
		finish_lookup(c, g_ptr_array_index(due, i));
	g_ptr_array_set_size(due, 0);
	/* A mirror closed or dropped without a fact of ours (closed by another node, empty here). */
	g_hash_table_iter_init(&iter, c->mirrored);
	while (g_hash_table_iter_next(&iter, &share, NULL))
		if (sd_service_owner_token(c->svc, share) == NULL && !g_hash_table_contains(c->lookups, share))
			g_ptr_array_add(due, g_strdup(share));
	for (guint i = 0; i < due->len; i++)
		unmirror(c, g_ptr_array_index(due, i));
	g_ptr_array_free(due, TRUE);
}

/* ---- life ---- */

sd_cluster *sd_cluster_new(const sd_cluster_config *config, sd_service *svc, const sd_bus *bus,
                           sd_cluster_resume_fn resume, void *user_data, gint64 now_us, sd_error *err)
{
	char why[160];
	if (!sd_cluster_config_check(config, why, sizeof(why))) {
		sd_fail(err, SD_ERR_ARGUMENT, "%s", why);
		return NULL;
	}
	sd_cluster *c = g_new0(sd_cluster, 1);
	c->config = *config;
	if (!sd_random_hex(c->epoch, EPOCH_LEN)) {
		g_free(c);
		sd_fail(err, SD_ERR_INTERNAL, "no random epoch could be made");
		return NULL;
	}
	c->svc = svc;
	c->bus = *bus;
	c->resume = resume;
	c->user_data = user_data;
	c->mirrored = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	c->lookups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, lookup_free);
	c->unsent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	c->up_since_us = G_MININT64;
	c->heartbeat_at_us = now_us;
	const sd_cluster_hooks hooks = {replicate, forward, c};
	sd_service_cluster(svc, &hooks);
	char subject[SUBJECT_MAX];
	g_snprintf(subject, sizeof(subject), "sd.n.%s.>", c->config.node);
	c->bus.subscribe("sd.hb", c->bus.user_data);
	c->bus.subscribe("sd.resync", c->bus.user_data);
	c->bus.subscribe(subject, c->bus.user_data);
	return c;
}

void sd_cluster_free(sd_cluster *c, void (*drop)(void *ticket))
{
	if (c == NULL)
		return;
	publish_json(c, "sd.hb", message_new(c, "bye"), NULL);
	sd_service_cluster(c->svc, NULL);
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, c->lookups);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const GPtrArray *tickets = ((lookup *)value)->tickets;
		for (guint i = 0; i < tickets->len; i++)
			drop(g_ptr_array_index(tickets, i));
	}
	g_hash_table_destroy(c->lookups);
	g_hash_table_destroy(c->unsent);
	g_hash_table_destroy(c->mirrored);
	g_free(c);
}

json_t *sd_cluster_stats_json(sd_cluster *c, gint64 now_us)
{
	json_t *nodes = json_array();
	for (guint i = 1; i <= c->n_nodes; i++)
		json_array_append_new(nodes, json_pack("{s:s, s:b, s:I}", "node", c->nodes[i].name, "alive", c->nodes[i].alive,
		                                       "seen_ms_ago", (json_int_t)((now_us - c->nodes[i].seen_us) / 1000)));
	return json_pack("{s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "node", c->config.node,
	                 "engine", c->engine_up, "nodes", nodes, "mirrored", (json_int_t)g_hash_table_size(c->mirrored),
	                 "parked", (json_int_t)c->parked, "facts_out", (json_int_t)c->facts_out, "facts_in",
	                 (json_int_t)c->facts_in, "signals_out", (json_int_t)c->signals_out, "signals_in",
	                 (json_int_t)c->signals_in, "signals_dropped", (json_int_t)c->signals_dropped, "lookups",
	                 (json_int_t)c->lookups_made, "resyncs", (json_int_t)c->resyncs, "bad_messages",
	                 (json_int_t)c->bad_messages, "lost_publishes", (json_int_t)c->lost_publishes);
}

void sd_cluster_relay(sd_cluster *c, const sd_cluster_relay_hooks *hooks)
{
	c->relay = hooks != NULL ? *hooks : (sd_cluster_relay_hooks){0};
}

void sd_cluster_relay_endpoint(sd_cluster *c, const char *share_id, const char *peer_id, bool on)
{
	if (!g_hash_table_contains(c->mirrored, share_id))
		return; /* its share's facts start with its record, which says it */
	json_t *message = message_new(c, "e");
	json_object_set_new(message, "peer", json_string(peer_id));
	json_object_set_new(message, "on", json_boolean(on));
	char subject[SUBJECT_MAX];
	share_subject(subject, share_id, "f");
	c->facts_out++;
	publish_json(c, subject, message, NULL);
}
