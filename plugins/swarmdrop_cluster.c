/* The plugin's link to the other nodes: sd_cluster's bus over libnats (docs/architecture.md,
 * "Several nodes"). libnats delivers on its own threads (one global delivery thread for every
 * subscription, so messages reach the worker in the order the engine sent them, and the
 * connection's event thread); each message is copied onto the worker's queue, where sd_cluster
 * handles it. The worker alone publishes and subscribes (libnats allows any thread). */
#include "swarmdrop.h"

#include <nats/nats.h>

/* Messages from the engine waiting for the worker; beyond, they are dropped and the node asks
 * every other for its rosters again (what the drop lost is in them). */
#define QUEUED_MAX 65536

typedef enum { CLUSTER_MESSAGE, CLUSTER_NO_RESPONDERS, CLUSTER_ENGINE_UP, CLUSTER_ENGINE_DOWN } cluster_event_kind;

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
static volatile gint queued, dropped;

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

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	(void)closure;
	if (natsMsg_IsNoResponders(msg))
		post(CLUSTER_NO_RESPONDERS, natsMsg_GetSubject(msg), NULL, 0);
	else
		post(CLUSTER_MESSAGE, natsMsg_GetSubject(msg), natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
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
}

static void bus_unsubscribe(const char *subject, void *user_data)
{
	(void)user_data;
	g_hash_table_remove(subscriptions, subject); /* unsubscribes and destroys it */
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
	}
}

void cluster_tick(gint64 now)
{
	/* Messages were lost here (our queue or libnats's was full): as after an outage, every
	 * node's rosters come again. */
	if (g_atomic_int_get(&dropped) > 0 && natsConnection_Status(engine) == NATS_CONN_STATUS_CONNECTED) {
		g_atomic_int_set(&dropped, 0);
		sd_cluster_engine(cluster, false, now);
		sd_cluster_engine(cluster, true, now);
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
	if (s == NATS_OK)
		post(CLUSTER_ENGINE_UP, NULL, NULL, 0);
	JANUS_LOG(LOG_INFO, "[%s] node %s of the cluster at %s\n", SWARMDROP_PACKAGE, config->node, config->url);
	return true;
}

void cluster_stop(void (*drop)(void *ticket))
{
	if (options == NULL)
		return; /* one node: libnats was never called */
	if (cluster != NULL)
		sd_cluster_free(cluster, drop); /* says goodbye while the engine is there */
	cluster = NULL;
	if (engine != NULL) {
		natsConnection_Flush(engine);
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
}
