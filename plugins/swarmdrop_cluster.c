/* The plugin's link to the other nodes: sd_cluster's bus over libnats (docs/architecture.md,
 * "Several nodes"). libnats delivers on its own threads (one global delivery thread for every
 * subscription, so messages reach the worker in the order the engine sent them, and the
 * connection's event thread); each control message is copied onto the worker's queue, where
 * sd_cluster handles it, and the worker alone subscribes and publishes those. Relay frames and
 * credits between nodes skip the worker: published from the thread that routed them, handed to
 * sd_relay on the delivery thread (both any-thread in libnats and sd_relay). */
#include "swarmdrop.h"

#include <nats/nats.h>

/* Messages from the engine waiting for the worker; beyond, they are dropped and the node asks
 * every other for its rosters again (what the drop lost is in them). */
#define QUEUED_MAX 65536

typedef enum {
	CLUSTER_MESSAGE,
	CLUSTER_NO_RESPONDERS,
	CLUSTER_ENGINE_UP,
	CLUSTER_ENGINE_DOWN,
	CLUSTER_RELAY_ATTACHED, /* subject: the share, data: the member (with its NUL), which uses the relay now */
	CLUSTER_RELAY_DETACHED, /* ... which does not any more */
} cluster_event_kind;

struct swarmdrop_cluster_event {
	cluster_event_kind kind;
	char *subject;
	char *data;
	size_t len;
};

sd_cluster *cluster;
static natsConnection *engine;
static natsOptions *options;
static GHashTable *subscriptions; /* subject -> natsSubscription* (worker) */
static volatile gint queued, dropped, relaying;
/* Relay frames and credits between nodes, straight from the thread that has them (a handle's
 * event loop, libnats's delivery thread) to the engine, binary, on sd.n.<to>.f.<from> and
 * sd.n.<to>.k.<from>:
 *   frame   share id (16 hex) | target id (6) | the frame as the target gets it (kind, source id, data)
 *   credit  share id (16 hex) | from id (6) | to id (6) | bytes (8, big-endian) */
#define RELAY_HEADER (SD_SHARE_ID_LEN + SD_RELAY_ID_BYTES)
#define CREDIT_LENGTH (SD_SHARE_ID_LEN + 2 * SD_RELAY_ID_BYTES + 8)
/* The other nodes' stand-ins in sd_relay (swarmdrop_session.node), by name; the table holds a
 * reference on each. Any thread, under stand_ins_mutex. */
static GHashTable *stand_ins;
static janus_mutex stand_ins_mutex = JANUS_MUTEX_INITIALIZER;
static char self[SD_NODE_NAME_MAX + 1];

int cluster_queued(void)
{
	return g_atomic_int_get(&queued);
}

/* node's stand-in (a new reference), made on first use. */
static swarmdrop_session *stand_in(const char *node)
{
	janus_mutex_lock(&stand_ins_mutex);
	swarmdrop_session *session = g_hash_table_lookup(stand_ins, node);
	if (session == NULL) {
		session = session_new(NULL);
		session->node = g_strdup(node);
		g_hash_table_insert(stand_ins, session->node, session);
	}
	janus_refcount_increase(&session->ref);
	janus_mutex_unlock(&stand_ins_mutex);
	return session;
}

void cluster_event_free(swarmdrop_cluster_event *event)
{
	if (event == NULL)
		return;
	g_free(event->subject);
	g_free(event->data);
	g_free(event);
}

/* Onto the worker's queue, if there is room. libnats's threads. */
static void post(cluster_event_kind kind, const char *subject, const char *data, size_t len)
{
	if (kind == CLUSTER_MESSAGE && g_atomic_int_get(&queued) >= QUEUED_MAX) {
		g_atomic_int_inc(&dropped);
		return;
	}
	swarmdrop_cluster_event *event = g_new0(swarmdrop_cluster_event, 1);
	*event = (swarmdrop_cluster_event){kind, g_strdup(subject), data != NULL ? g_memdup2(data, len) : NULL, len};
	swarmdrop_message *msg = g_new0(swarmdrop_message, 1);
	msg->kind = MESSAGE_CLUSTER;
	msg->cluster_event = event;
	g_atomic_int_inc(&queued);
	g_async_queue_push(messages, msg);
}

/* The share id a relay message starts with (its length checked), as a string; false if not one. */
static bool share_of(const guint8 *data, char share[SD_SHARE_ID_LEN + 1])
{
	memcpy(share, data, SD_SHARE_ID_LEN);
	share[SD_SHARE_ID_LEN] = '\0';
	return sd_is_hex_id(share, SD_SHARE_ID_LEN);
}

/* A frame another node's relay routed to a member of ours (libnats's delivery thread). */
static void relay_frame_in(swarmdrop_session *from, const guint8 *data, size_t length)
{
	char share[SD_SHARE_ID_LEN + 1];
	if (length <= RELAY_HEADER + SD_RELAY_OUT_HEADER || length - RELAY_HEADER > SD_RELAY_MAX_MESSAGE ||
	    !share_of(data, share))
		return;
	const guint8 *target_id = data + SD_SHARE_ID_LEN, *frame = data + RELAY_HEADER;
	swarmdrop_session *target = sd_relay_route_remote(relay, from, share, frame + 1, target_id, length - RELAY_HEADER);
	if (target != NULL) {
		relay_send(target, frame, length - RELAY_HEADER, RELAY_FRAME);
		relay_release(target);
		return;
	}
	/* Nobody here takes it (the target left, or moved): its sender may send that much again. */
	sd_relay_credit credit = {.client = from, .bytes = length - RELAY_HEADER};
	memcpy(credit.share, share, sizeof(credit.share));
	sd_relay_id_to_hex(frame + 1, credit.from);
	sd_relay_id_to_hex(target_id, credit.to);
	cluster_relay_credit(&credit);
}

/* A credit another node sends for what one of its members took in from one of ours. */
static void relay_credit_in(swarmdrop_session *from, const guint8 *data, size_t length)
{
	char share[SD_SHARE_ID_LEN + 1];
	if (length != CREDIT_LENGTH || !share_of(data, share))
		return;
	const guint8 *ids = data + SD_SHARE_ID_LEN, *amount = ids + 2 * SD_RELAY_ID_BYTES;
	guint64 bytes = 0;
	for (int i = 0; i < 8; i++)
		bytes = bytes << 8 | amount[i];
	GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
	sd_relay_remote_credit(relay, from, share, ids, ids + SD_RELAY_ID_BYTES, bytes, g_get_monotonic_time(), credits);
	relay_pay(credits);
	g_array_unref(credits);
}

/* sd.n.<self>.f.<node> or .k.<node>: handled here, not on the worker (the relay is any thread's). */
static bool relay_message_in(const char *subject, const guint8 *data, size_t length)
{
	size_t prefix = strlen("sd.n.") + strlen(self) + 1;
	if (strlen(subject) < prefix + 3 || strncmp(subject + prefix - 1, ".", 1) != 0 ||
	    (subject[prefix] != 'f' && subject[prefix] != 'k') || subject[prefix + 1] != '.')
		return false;
	const char *node = subject + prefix + 2;
	if (!sd_node_name_valid(node))
		return true; /* ours, and bad: dropped */
	swarmdrop_session *from = stand_in(node);
	if (subject[prefix] == 'f')
		relay_frame_in(from, data, length);
	else
		relay_credit_in(from, data, length);
	janus_refcount_decrease(&from->ref);
	return true;
}

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	(void)closure;
	const char *subject = natsMsg_GetSubject(msg), *data = natsMsg_GetData(msg);
	size_t length = (size_t)natsMsg_GetDataLength(msg);
	if (!relay_message_in(subject, (const guint8 *)data, length))
		post(natsMsg_IsNoResponders(msg) ? CLUSTER_NO_RESPONDERS : CLUSTER_MESSAGE, subject, data, length);
	natsMsg_Destroy(msg);
}

static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	JANUS_LOG(LOG_INFO, "[%s] connected to the cluster's engine\n", SWARMDROP_PACKAGE);
	post(CLUSTER_ENGINE_UP, NULL, NULL, 0);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	JANUS_LOG(LOG_WARN, "[%s] lost the cluster's engine: serving this node's members alone until it is back\n",
	          SWARMDROP_PACKAGE);
	post(CLUSTER_ENGINE_DOWN, NULL, NULL, 0);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus status, void *closure)
{
	(void)nc;
	(void)sub;
	(void)closure;
	JANUS_LOG(LOG_WARN, "[%s] cluster engine: %s\n", SWARMDROP_PACKAGE, natsStatus_GetText(status));
	if (status == NATS_SLOW_CONSUMER)
		g_atomic_int_inc(&dropped);
}

/* ---- sd_bus, on the worker ---- */

static bool bus_publish(const char *subject, const char *data, size_t len, const char *reply, void *user_data)
{
	(void)user_data;
	natsStatus s = reply != NULL ? natsConnection_PublishRequest(engine, subject, reply, data, (int)len)
	                             : natsConnection_Publish(engine, subject, data, (int)len);
	return s == NATS_OK;
}

static void bus_subscribe(const char *subject, void *user_data)
{
	(void)user_data;
	natsSubscription *sub = NULL;
	natsStatus s = natsConnection_Subscribe(&sub, engine, subject, on_message, NULL);
	if (s != NATS_OK) {
		JANUS_LOG(LOG_ERR, "[%s] cannot subscribe to %s: %s\n", SWARMDROP_PACKAGE, subject, natsStatus_GetText(s));
		return;
	}
	g_hash_table_replace(subscriptions, g_strdup(subject), sub);
	/* Until the engine has the subscription, another node's lookup of a share made here a moment
	 * ago would find no responder (445 for a join there): wait for it, a round trip at most. */
	if (natsConnection_Status(engine) == NATS_CONN_STATUS_CONNECTED)
		natsConnection_FlushTimeout(engine, 100);
}

static void bus_unsubscribe(const char *subject, void *user_data)
{
	(void)user_data;
	g_hash_table_remove(subscriptions, subject); /* unsubscribes and destroys it */
}

static void stand_in_release(gpointer session)
{
	janus_refcount_decrease(&((swarmdrop_session *)session)->ref);
}

static void subscription_free(gpointer sub)
{
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
}

/* ---- the worker's side ---- */

void cluster_handle(swarmdrop_cluster_event *event, gint64 now)
{
	switch (event->kind) {
	case CLUSTER_MESSAGE:
		g_atomic_int_add(&queued, -1);
		sd_cluster_receive(cluster, event->subject, event->data, event->len, now);
		break;
	case CLUSTER_NO_RESPONDERS:
		g_atomic_int_add(&queued, -1);
		sd_cluster_no_responders(cluster, event->subject, now);
		break;
	case CLUSTER_ENGINE_UP: sd_cluster_engine(cluster, true, now); break;
	case CLUSTER_ENGINE_DOWN: sd_cluster_engine(cluster, false, now); break;
	case CLUSTER_RELAY_ATTACHED:
	case CLUSTER_RELAY_DETACHED:
		sd_cluster_relay_endpoint(cluster, event->subject, event->data, event->kind == CLUSTER_RELAY_ATTACHED);
		break;
	}
}

/* ---- the relay across nodes ---- */

void cluster_relay_endpoint(const char *share_id, const char *peer_id, bool attached)
{
	swarmdrop_events_relay(share_id, peer_id, attached);
	if (g_atomic_int_get(&relaying))
		post(attached ? CLUSTER_RELAY_ATTACHED : CLUSTER_RELAY_DETACHED, share_id, peer_id, strlen(peer_id) + 1);
}

void cluster_relay_frame(swarmdrop_session *node, const char *share_id, const guint8 *target_id, const guint8 *out,
                         size_t length)
{
	guint8 message[RELAY_HEADER + SD_RELAY_MAX_MESSAGE];
	memcpy(message, share_id, SD_SHARE_ID_LEN);
	memcpy(message + SD_SHARE_ID_LEN, target_id, SD_RELAY_ID_BYTES);
	memcpy(message + RELAY_HEADER, out, length);
	char subject[64];
	g_snprintf(subject, sizeof(subject), "sd.n.%s.f.%s", node->node, self);
	if (natsConnection_Publish(engine, subject, message, (int)(RELAY_HEADER + length)) == NATS_OK)
		return;
	/* Lost before it left: its sender may send that much again. */
	GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
	sd_relay_remote_credit(relay, node, share_id, out + 1, target_id, length, g_get_monotonic_time(), credits);
	relay_pay(credits);
	g_array_unref(credits);
}

void cluster_relay_credit(const sd_relay_credit *credit)
{
	const swarmdrop_session *node = credit->client;
	guint8 message[CREDIT_LENGTH];
	memcpy(message, credit->share, SD_SHARE_ID_LEN);
	sd_relay_id_from_hex(credit->from, message + SD_SHARE_ID_LEN);
	sd_relay_id_from_hex(credit->to, message + SD_SHARE_ID_LEN + SD_RELAY_ID_BYTES);
	for (int i = 0; i < 8; i++)
		message[CREDIT_LENGTH - 1 - i] = (guint8)(credit->bytes >> (8 * i));
	char subject[64];
	g_snprintf(subject, sizeof(subject), "sd.n.%s.k.%s", node->node, self);
	/* Lost, its sender's window would stay short: a resync makes both nodes forgive. */
	if (natsConnection_Publish(engine, subject, message, CREDIT_LENGTH) != NATS_OK)
		g_atomic_int_inc(&dropped);
}

/* sd_cluster's relay hooks (the worker). */
static bool relayed(const char *share_id, const char *peer_id, void *user_data)
{
	(void)user_data;
	return sd_relay_serves(relay, share_id, peer_id);
}

static void remote_endpoint(const char *node, const char *share_id, const char *peer_id, bool on, void *user_data)
{
	(void)user_data;
	swarmdrop_session *session = stand_in(node);
	if (on)
		sd_relay_attach_remote(relay, session, share_id, peer_id, NULL);
	else
		sd_relay_detach_remote(relay, session, share_id, peer_id);
	janus_refcount_decrease(&session->ref);
}

/* Every stand-in (new references, in a new array). */
static GPtrArray *all_stand_ins(void)
{
	GPtrArray *all = g_ptr_array_new();
	janus_mutex_lock(&stand_ins_mutex);
	GHashTableIter iter;
	gpointer value;
	if (stand_ins != NULL)
		g_hash_table_iter_init(&iter, stand_ins);
	while (stand_ins != NULL && g_hash_table_iter_next(&iter, NULL, &value)) {
		janus_refcount_increase(&((swarmdrop_session *)value)->ref);
		g_ptr_array_add(all, value);
	}
	janus_mutex_unlock(&stand_ins_mutex);
	return all;
}

static void remote_endpoints(const char *node, const char *share_id, const char *const *peers, size_t n,
                             void *user_data)
{
	(void)user_data;
	GPtrArray *nodes = node != NULL ? g_ptr_array_new() : all_stand_ins();
	if (node != NULL)
		g_ptr_array_add(nodes, stand_in(node));
	for (guint i = 0; i < nodes->len; i++) {
		swarmdrop_session *session = g_ptr_array_index(nodes, i);
		sd_relay_remote_roster(relay, session, share_id, peers, n);
		janus_refcount_decrease(&session->ref);
	}
	g_ptr_array_free(nodes, TRUE);
}

static void reset(const char *node, bool gone, void *user_data)
{
	(void)user_data;
	GPtrArray *nodes = node != NULL ? g_ptr_array_new() : all_stand_ins();
	if (node != NULL)
		g_ptr_array_add(nodes, stand_in(node));
	GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
	for (guint i = 0; i < nodes->len; i++) {
		swarmdrop_session *session = g_ptr_array_index(nodes, i);
		if (gone)
			sd_relay_client_gone(relay, session);
		else
			sd_relay_forgive(relay, session, g_get_monotonic_time(), credits);
		relay_pay(credits);
		janus_refcount_decrease(&session->ref);
	}
	g_array_unref(credits);
	g_ptr_array_free(nodes, TRUE);
}

void cluster_tick(gint64 now)
{
	/* Messages were lost here (our queue or libnats's was full): as after an outage, every
	 * node's rosters come again. */
	if (g_atomic_int_get(&dropped) > 0 && natsConnection_Status(engine) == NATS_CONN_STATUS_CONNECTED) {
		g_atomic_int_set(&dropped, 0);
		sd_cluster_resync(cluster);
	}
	sd_cluster_tick(cluster, now);
}

/* Fails loudly: a node told to join a cluster that runs alone would split its shares unseen. */
static bool fail(const char *what, natsStatus s)
{
	JANUS_LOG(LOG_FATAL, "[%s] cluster: %s: %s\n", SWARMDROP_PACKAGE, what, natsStatus_GetText(s));
	return false;
}

bool cluster_start(const sd_cluster_config *config, sd_cluster_resume_fn resume)
{
	char name[64];
	g_snprintf(name, sizeof(name), "swarmdrop-%s", config->node);
	natsStatus s = nats_SetMessageDeliveryPoolSize(1);
	if (s == NATS_OK)
		s = natsOptions_Create(&options);
	if (s == NATS_OK)
		s = natsOptions_SetURL(options, config->url);
	if (s == NATS_OK)
		s = natsOptions_SetName(options, name);
	if (s == NATS_OK)
		s = natsOptions_SetNoEcho(options, true);
	if (s == NATS_OK)
		s = natsOptions_UseGlobalMessageDelivery(options, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(options, -1); /* an engine restart is waited out, however long */
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(options, 250);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(options, 2000); /* a hung engine is seen in about 6 s */
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(options, 2);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(options, on_disconnected, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(options, on_connected, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(options, on_error, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(options, true, on_connected, NULL);
	if (s != NATS_OK)
		return fail("options", s);
	subscriptions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, subscription_free);
	stand_ins = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, stand_in_release);
	g_strlcpy(self, config->node, sizeof(self));
	/* Not yet connected is fine: the node serves alone until the engine answers. */
	s = natsConnection_Connect(&engine, options);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
		return fail(config->url, s); /* init's cluster_stop frees what is made */
	const sd_bus bus = {bus_publish, bus_subscribe, bus_unsubscribe, NULL};
	sd_error err;
	cluster = sd_cluster_new(config, service, &bus, resume, NULL, g_get_monotonic_time(), &err);
	if (cluster == NULL) {
		log_error(LOG_FATAL, "cluster", &err);
		return false;
	}
	static const sd_cluster_relay_hooks relay_hooks = {relayed, remote_endpoint, remote_endpoints, reset, NULL};
	sd_cluster_relay(cluster, &relay_hooks);
	g_atomic_int_set(&relaying, 1);
	if (s == NATS_OK)
		post(CLUSTER_ENGINE_UP, NULL, NULL, 0);
	JANUS_LOG(LOG_INFO, "[%s] node %s of a cluster\n", SWARMDROP_PACKAGE, config->node);
	return true;
}

void cluster_stop(void (*drop)(void *ticket))
{
	if (options == NULL)
		return; /* one node: libnats was never called */
	g_atomic_int_set(&relaying, 0);
	if (cluster != NULL)
		sd_cluster_free(cluster, drop); /* says goodbye while the engine is there */
	cluster = NULL;
	if (engine != NULL) {
		natsConnection_FlushTimeout(engine, 1000); /* the goodbye, unless the engine is away */
		g_hash_table_destroy(subscriptions);
		natsConnection_Close(engine);
		natsConnection_Destroy(engine);
	} else if (subscriptions != NULL) {
		g_hash_table_destroy(subscriptions);
	}
	subscriptions = NULL;
	engine = NULL;
	natsOptions_Destroy(options);
	options = NULL;
	nats_CloseAndWait(2000);
	/* Their endpoints went with the relay's clients; the table's references go now. */
	GPtrArray *nodes = all_stand_ins();
	for (guint i = 0; i < nodes->len; i++) {
		sd_relay_client_gone(relay, g_ptr_array_index(nodes, i));
		janus_refcount_decrease(&((swarmdrop_session *)g_ptr_array_index(nodes, i))->ref);
	}
	g_ptr_array_free(nodes, TRUE);
	janus_mutex_lock(&stand_ins_mutex);
	if (stand_ins != NULL)
		g_hash_table_destroy(stand_ins);
	stand_ins = NULL;
	janus_mutex_unlock(&stand_ins_mutex);
}
