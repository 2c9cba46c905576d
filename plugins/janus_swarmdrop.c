/* janus.plugin.swarmdrop: Janus glue around sd_service and sd_relay (src/). It owns the session
 * table and the one worker thread; every request, and every "this handle is gone" notice, goes
 * through a GAsyncQueue to that thread, so sd_service is only ever touched there. Lifecycle after
 * janus_echotest.c: a refcount per session, the table holds one reference, each queued message
 * another, the relay one per endpoint and one per client it hands out. Relayed data does not go
 * through the worker: it is routed on the sending handle's own thread (sd_relay is thread-safe).
 * docs/protocol.md describes the requests (part 1) and the relay (part 4). */
#include <jansson.h>

#include <apierror.h>
#include <debug.h>
#include <config.h>
#include <mutex.h>
#include <refcount.h>
#include <plugins/plugin.h>

#include "sd_limits.h"
#include "sd_relay.h"
#include "sd_service.h"

#define SWARMDROP_VERSION 1
#define SWARMDROP_VERSION_STRING "0.1.0"
#define SWARMDROP_PACKAGE "janus.plugin.swarmdrop"
/* Requests waiting for the worker beyond this are refused: a flood cannot grow memory. */
#define SWARMDROP_MAX_QUEUED 4096
/* How often the worker wakes to close shares whose owner did not come back and to pay relay
 * credits held back by the rate cap. */
#define SWARMDROP_TICK_US G_USEC_PER_SEC
/* The label of the relay's data channel; the browser creates it (docs/protocol.md part 4). */
#define SWARMDROP_RELAY_LABEL "sd"

static int swarmdrop_init(janus_callbacks *callback, const char *config_path);
static void swarmdrop_destroy(void);
static int swarmdrop_get_api_compatibility(void) { return JANUS_PLUGIN_API_VERSION; }
static int swarmdrop_get_version(void) { return SWARMDROP_VERSION; }
static const char *swarmdrop_get_version_string(void) { return SWARMDROP_VERSION_STRING; }
static const char *swarmdrop_get_description(void)
{
	return "swarmdrop: signalling for browser-to-browser file sharing over data channels";
}
static const char *swarmdrop_get_name(void) { return "swarmdrop"; }
static const char *swarmdrop_get_author(void) { return "swarmdrop developers"; }
static const char *swarmdrop_get_package(void) { return SWARMDROP_PACKAGE; }
static void swarmdrop_create_session(janus_plugin_session *handle, int *error);
static struct janus_plugin_result *swarmdrop_handle_message(janus_plugin_session *handle, char *transaction,
                                                            json_t *message, json_t *jsep);
static void swarmdrop_setup_media(janus_plugin_session *handle) { (void)handle; }
static void swarmdrop_hangup_media(janus_plugin_session *handle);
static void swarmdrop_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet);
static void swarmdrop_data_ready(janus_plugin_session *handle);
static void swarmdrop_destroy_session(janus_plugin_session *handle, int *error);
static json_t *swarmdrop_query_session(janus_plugin_session *handle);

static janus_plugin swarmdrop_plugin = JANUS_PLUGIN_INIT(
	.init = swarmdrop_init,
	.destroy = swarmdrop_destroy,
	.get_api_compatibility = swarmdrop_get_api_compatibility,
	.get_version = swarmdrop_get_version,
	.get_version_string = swarmdrop_get_version_string,
	.get_description = swarmdrop_get_description,
	.get_name = swarmdrop_get_name,
	.get_author = swarmdrop_get_author,
	.get_package = swarmdrop_get_package,
	.create_session = swarmdrop_create_session,
	.handle_message = swarmdrop_handle_message,
	.setup_media = swarmdrop_setup_media,
	.hangup_media = swarmdrop_hangup_media,
	.incoming_data = swarmdrop_incoming_data,
	.data_ready = swarmdrop_data_ready,
	.destroy_session = swarmdrop_destroy_session,
	.query_session = swarmdrop_query_session,
);

janus_plugin *create(void)
{
	return &swarmdrop_plugin;
}

typedef struct swarmdrop_session {
	janus_plugin_session *handle;
	volatile gint destroyed;
	janus_mutex relay_mutex; /* guards the three fields below */
	gboolean relay_offered;  /* the data-channel offer went out (until the PeerConnection hangs up) */
	gboolean relay_ready;    /* the channel carries data: the first data_ready came */
	GPtrArray *relay_waiting; /* "share/peer" to make relay endpoints once ready */
	janus_refcount ref;
} swarmdrop_session;

typedef enum { MESSAGE_REQUEST, MESSAGE_GONE, MESSAGE_EXIT } swarmdrop_message_kind;

typedef struct swarmdrop_message {
	swarmdrop_message_kind kind;
	swarmdrop_session *session; /* holds a reference */
	char *transaction;
	json_t *body;
} swarmdrop_message;

static janus_callbacks *gateway;
static volatile gint initialized, stopping;
static GHashTable *sessions; /* janus_plugin_session* -> swarmdrop_session* (one reference) */
static janus_mutex sessions_mutex = JANUS_MUTEX_INITIALIZER;
static GAsyncQueue *messages;
static GThread *worker;
static swarmdrop_message exit_message = {.kind = MESSAGE_EXIT};
static sd_service *service; /* worker thread only, after init */
static sd_relay *relay;     /* any thread */
static guint64 relay_window_bytes;

static void session_free(const janus_refcount *ref)
{
	swarmdrop_session *session = janus_refcount_containerof(ref, swarmdrop_session, ref);
	session->handle->plugin_handle = NULL;
	janus_refcount_decrease(&session->handle->ref);
	g_ptr_array_unref(session->relay_waiting);
	g_free(session);
}

static void message_free(swarmdrop_message *msg)
{
	if (msg == NULL || msg == &exit_message)
		return;
	if (msg->session != NULL)
		janus_refcount_decrease(&msg->session->ref);
	g_free(msg->transaction);
	json_decref(msg->body);
	g_free(msg);
}

/* sd_service's emit callback: an event for another session, pushed from the worker thread. */
static void emit_event(void *client, json_t *event, void *user_data)
{
	(void)user_data;
	swarmdrop_session *session = client;
	if (g_strcmp0(json_string_value(json_object_get(event, "event")), "share_closed") == 0)
		sd_relay_detach(relay, session, json_string_value(json_object_get(event, "share")));
	if (g_atomic_int_get(&session->destroyed))
		return;
	int rc = gateway->push_event(session->handle, &swarmdrop_plugin, NULL, event, NULL);
	if (rc != JANUS_OK)
		JANUS_LOG(LOG_WARN, "[%s] event not delivered (%d)\n", SWARMDROP_PACKAGE, rc);
}

static void load_limits(const char *config_path, sd_limits *limits)
{
	sd_limits_default(limits);
	char *file = g_strdup_printf("%s/%s.jcfg", config_path, SWARMDROP_PACKAGE);
	janus_config *config = janus_config_parse(file);
	if (config == NULL) {
		JANUS_LOG(LOG_WARN, "[%s] no usable %s: using default limits\n", SWARMDROP_PACKAGE, file);
		g_free(file);
		return;
	}
	janus_config_category *general = janus_config_get(config, NULL, janus_config_type_category, "general");
	GList *items = general != NULL ? janus_config_get_items(config, general) : NULL;
	for (GList *it = items; it != NULL; it = it->next) {
		janus_config_item *item = it->data;
		char why[256];
		if (item->name != NULL && sd_limits_set(limits, item->name, item->value, why, sizeof(why)) != SD_LIMIT_OK)
			JANUS_LOG(LOG_WARN, "[%s] %s: %s\n", SWARMDROP_PACKAGE, file, why);
	}
	g_list_free(items);
	janus_config_destroy(config);
	g_free(file);
	JANUS_LOG(LOG_INFO,
	          "[%s] limits: max_shares=%u max_peers_per_share=%u max_shares_per_handle=%u max_signal_bytes=%u "
	          "owner_grace_seconds=%u\n",
	          SWARMDROP_PACKAGE, limits->max_shares, limits->max_peers_per_share, limits->max_shares_per_handle,
	          limits->max_signal_bytes, limits->owner_grace_seconds);
}

static void relay_retain(void *client)
{
	janus_refcount_increase(&((swarmdrop_session *)client)->ref);
}

static void relay_release(void *client)
{
	janus_refcount_decrease(&((swarmdrop_session *)client)->ref);
}

/* One message on session's relay channel: binary (a relayed frame) or text (the plugin's own). */
static void relay_send(swarmdrop_session *session, const void *buffer, size_t length, gboolean binary)
{
	if (g_atomic_int_get(&session->destroyed) || length == 0 || length > SD_RELAY_MAX_MESSAGE)
		return;
	janus_plugin_data packet = {
		.label = SWARMDROP_RELAY_LABEL, .binary = binary, .buffer = (char *)buffer, .length = (uint16_t)length};
	gateway->relay_data(session->handle, &packet);
}

static void relay_send_json(swarmdrop_session *session, json_t *message)
{
	char *text = json_dumps(message, JSON_COMPACT);
	if (text != NULL)
		relay_send(session, text, strlen(text), FALSE);
	free(text);
	json_decref(message);
}

/* A refused relayed frame, told to its sender: for one target (peer) or all (NULL). */
static void relay_refused(swarmdrop_session *session, const char *peer, const sd_error *err)
{
	JANUS_LOG(LOG_VERB, "[%s] relay refused: %s\n", SWARMDROP_PACKAGE, err->message);
	relay_send_json(session, json_pack("{s:s, s:s?, s:i, s:s}", "t", "refused", "to", peer, "error_code", err->code,
	                                   "error", err->message));
}

/* Tells senders they may send again, and lets go of the references the credits carry. */
static void relay_pay(GArray *credits)
{
	for (guint i = 0; i < credits->len; i++) {
		sd_relay_credit *credit = &g_array_index(credits, sd_relay_credit, i);
		relay_send_json(credit->client, json_pack("{s:s, s:s, s:s, s:I}", "t", "credit", "from", credit->from, "to",
		                                          credit->to, "bytes", (json_int_t)credit->bytes));
		relay_release(credit->client);
	}
	g_array_set_size(credits, 0);
}

/* The relay's data-channel-only offer (the core adds ICE and DTLS), as in janus_textroom.c. */
static json_t *relay_offer(void)
{
	char sdp[256];
	g_snprintf(sdp, sizeof(sdp),
	           "v=0\r\no=- %" G_GINT64_FORMAT " 1 IN IP4 127.0.0.1\r\ns=swarmdrop relay\r\nt=0 0\r\n"
	           "m=application 1 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 1.1.1.1\r\na=sctp-port:5000\r\n",
	           g_get_real_time());
	return json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp);
}

/* A member asked for the relay (response: the service's "relay" answer): it becomes an endpoint
 * now if the channel is ready, else once it is; the first time, the answer carries the offer. */
static json_t *relay_requested(swarmdrop_session *session, json_t *response)
{
	const char *share = json_string_value(json_object_get(response, "share"));
	const char *peer = json_string_value(json_object_get(response, "peer"));
	json_t *jsep = NULL;
	json_object_set_new(response, "window", json_integer((json_int_t)relay_window_bytes));
	janus_mutex_lock(&session->relay_mutex);
	if (session->relay_ready) {
		sd_error err;
		if (!sd_relay_attach(relay, session, share, peer, &err) && err.code != SD_ERR_ALREADY_JOINED)
			JANUS_LOG(LOG_WARN, "[%s] relay: %s\n", SWARMDROP_PACKAGE, err.message);
		json_object_set_new(response, "ready", json_true());
	} else {
		/* At most one entry per member (a handle has few): repeated requests add nothing. */
		char *member = g_strdup_printf("%s/%s", share, peer);
		if (g_ptr_array_find_with_equal_func(session->relay_waiting, member, g_str_equal, NULL))
			g_free(member);
		else
			g_ptr_array_add(session->relay_waiting, member);
		if (!session->relay_offered) {
			session->relay_offered = TRUE;
			jsep = relay_offer();
		}
	}
	janus_mutex_unlock(&session->relay_mutex);
	return jsep;
}

static void handle_request(swarmdrop_message *msg)
{
	swarmdrop_session *session = msg->session;
	if (g_atomic_int_get(&session->destroyed))
		return;
	json_t *response = sd_service_handle(service, session, msg->body);
	const char *outcome = json_string_value(json_object_get(response, "swarmdrop"));
	json_t *jsep = NULL;
	if (g_strcmp0(outcome, "error") == 0)
		JANUS_LOG(LOG_VERB, "[%s] request refused: %s\n", SWARMDROP_PACKAGE,
		          json_string_value(json_object_get(response, "error")));
	else if (g_strcmp0(outcome, "relay") == 0)
		jsep = relay_requested(session, response);
	else if (g_strcmp0(outcome, "left") == 0)
		sd_relay_detach(relay, session, json_string_value(json_object_get(response, "share")));
	gateway->push_event(session->handle, &swarmdrop_plugin, msg->transaction, response, jsep);
	json_decref(response);
	json_decref(jsep);
}

static gpointer worker_main(gpointer data)
{
	(void)data;
	gint64 next_tick = g_get_monotonic_time() + SWARMDROP_TICK_US;
	GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
	while (!g_atomic_int_get(&stopping)) {
		swarmdrop_message *msg = g_async_queue_timeout_pop(messages, SWARMDROP_TICK_US);
		if (msg == &exit_message)
			break;
		gint64 now = g_get_monotonic_time();
		if (msg != NULL && msg->kind == MESSAGE_REQUEST)
			handle_request(msg);
		else if (msg != NULL && msg->kind == MESSAGE_GONE)
			sd_service_client_gone(service, msg->session, now);
		message_free(msg);
		if (now >= next_tick) {
			sd_service_expire(service, now);
			sd_relay_tick(relay, now, credits);
			relay_pay(credits);
			next_tick = now + SWARMDROP_TICK_US;
		}
	}
	g_array_unref(credits);
	return NULL;
}

static int swarmdrop_init(janus_callbacks *callback, const char *config_path)
{
	if (g_atomic_int_get(&stopping) || callback == NULL || config_path == NULL)
		return -1;
	sd_limits limits;
	load_limits(config_path, &limits);
	gateway = callback;
	sessions = g_hash_table_new_full(NULL, NULL, NULL, NULL);
	messages = g_async_queue_new_full((GDestroyNotify)message_free);
	service = sd_service_new(&limits, emit_event, NULL);
	static const sd_relay_hooks hooks = {relay_retain, relay_release};
	relay = sd_relay_new(&limits, &hooks);
	relay_window_bytes = (guint64)limits.relay_window_kib * 1024;
	GError *error = NULL;
	worker = g_thread_try_new("swarmdrop worker", worker_main, NULL, &error);
	if (error != NULL) {
		JANUS_LOG(LOG_FATAL, "[%s] cannot start the worker thread: %s\n", SWARMDROP_PACKAGE, error->message);
		g_error_free(error);
		sd_relay_free(relay);
		sd_service_free(service);
		g_async_queue_unref(messages);
		g_hash_table_destroy(sessions);
		return -1;
	}
	g_atomic_int_set(&initialized, 1);
	JANUS_LOG(LOG_INFO, "%s initialized\n", SWARMDROP_PACKAGE);
	return 0;
}

static void swarmdrop_destroy(void)
{
	if (!g_atomic_int_get(&initialized))
		return;
	g_atomic_int_set(&stopping, 1);
	g_async_queue_push(messages, &exit_message);
	g_thread_join(worker);
	worker = NULL;
	/* Janus destroys every session before it unloads plugins, so the table is empty here. */
	janus_mutex_lock(&sessions_mutex);
	g_hash_table_destroy(sessions);
	sessions = NULL;
	janus_mutex_unlock(&sessions_mutex);
	g_async_queue_unref(messages);
	messages = NULL;
	sd_service_free(service);
	service = NULL;
	sd_relay_free(relay);
	relay = NULL;
	g_atomic_int_set(&initialized, 0);
	JANUS_LOG(LOG_INFO, "%s destroyed\n", SWARMDROP_PACKAGE);
}

static gboolean plugin_ready(void)
{
	return g_atomic_int_get(&initialized) && !g_atomic_int_get(&stopping);
}

/* The session of handle with a new reference, or NULL. */
static swarmdrop_session *session_ref(janus_plugin_session *handle)
{
	janus_mutex_lock(&sessions_mutex);
	swarmdrop_session *session = g_hash_table_lookup(sessions, handle);
	if (session != NULL && !g_atomic_int_get(&session->destroyed)) {
		janus_refcount_increase(&session->ref);
	} else {
		session = NULL;
	}
	janus_mutex_unlock(&sessions_mutex);
	return session;
}

static void swarmdrop_create_session(janus_plugin_session *handle, int *error)
{
	if (!plugin_ready()) {
		*error = -1;
		return;
	}
	swarmdrop_session *session = g_new0(swarmdrop_session, 1);
	session->handle = handle;
	janus_mutex_init(&session->relay_mutex);
	session->relay_waiting = g_ptr_array_new_with_free_func(g_free);
	janus_refcount_init(&session->ref, session_free);
	handle->plugin_handle = session;
	janus_mutex_lock(&sessions_mutex);
	g_hash_table_insert(sessions, handle, session);
	janus_mutex_unlock(&sessions_mutex);
}

static void swarmdrop_destroy_session(janus_plugin_session *handle, int *error)
{
	if (!plugin_ready()) {
		*error = -1;
		return;
	}
	janus_mutex_lock(&sessions_mutex);
	swarmdrop_session *session = g_hash_table_lookup(sessions, handle);
	if (session == NULL) {
		janus_mutex_unlock(&sessions_mutex);
		*error = -2;
		return;
	}
	g_hash_table_remove(sessions, handle);
	g_atomic_int_set(&session->destroyed, 1);
	janus_mutex_unlock(&sessions_mutex);
	sd_relay_client_gone(relay, session);
	/* The registry forgets the session on the worker thread; the table's reference goes with it.
	 * Never push events to other sessions from here (janus-gateway issue 1263). */
	swarmdrop_message *gone = g_new0(swarmdrop_message, 1);
	gone->kind = MESSAGE_GONE;
	gone->session = session;
	g_async_queue_push(messages, gone);
}

static json_t *swarmdrop_query_session(janus_plugin_session *handle)
{
	swarmdrop_session *session = plugin_ready() ? session_ref(handle) : NULL;
	if (session == NULL)
		return NULL;
	json_t *info = json_pack("{s:b}", "destroyed", g_atomic_int_get(&session->destroyed));
	janus_refcount_decrease(&session->ref);
	return info;
}

static struct janus_plugin_result *swarmdrop_handle_message(janus_plugin_session *handle, char *transaction,
                                                            json_t *message, json_t *jsep)
{
	json_decref(jsep); /* signalling between browsers travels inside requests, never as Janus JSEP */
	const char *refusal = NULL;
	swarmdrop_session *session = NULL;
	if (!plugin_ready())
		refusal = g_atomic_int_get(&stopping) ? "shutting down" : "plugin not initialized";
	else if ((session = session_ref(handle)) == NULL)
		refusal = "no session for this handle";
	else if (g_async_queue_length(messages) >= SWARMDROP_MAX_QUEUED)
		refusal = "too many requests queued; try again";
	if (refusal != NULL) {
		if (session != NULL)
			janus_refcount_decrease(&session->ref);
		g_free(transaction);
		json_decref(message);
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR, refusal, NULL);
	}
	swarmdrop_message *msg = g_new0(swarmdrop_message, 1);
	msg->kind = MESSAGE_REQUEST;
	msg->session = session;
	msg->transaction = transaction;
	msg->body = message;
	g_async_queue_push(messages, msg);
	return janus_plugin_result_new(JANUS_PLUGIN_OK_WAIT, NULL, NULL);
}

/* The relay's PeerConnection is gone: the handle's members leave the relay (not their shares),
 * and a later relay request makes a new offer. */
static void swarmdrop_hangup_media(janus_plugin_session *handle)
{
	swarmdrop_session *session = plugin_ready() ? session_ref(handle) : NULL;
	if (session == NULL)
		return;
	sd_relay_client_gone(relay, session);
	janus_mutex_lock(&session->relay_mutex);
	session->relay_offered = FALSE;
	session->relay_ready = FALSE;
	g_ptr_array_set_size(session->relay_waiting, 0);
	janus_mutex_unlock(&session->relay_mutex);
	janus_refcount_decrease(&session->ref);
}

/* A relay frame from the browser: routed here, on this handle's thread, to each target. */
static void swarmdrop_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet)
{
	swarmdrop_session *session = plugin_ready() && packet != NULL ? session_ref(handle) : NULL;
	if (session == NULL)
		return;
	/* One routed message at a time per handle thread; relay_data copies it. */
	static _Thread_local guint8 out[SD_RELAY_MAX_MESSAGE];
	sd_relay_route route;
	sd_error err;
	if (!packet->binary) {
		sd_fail(&err, SD_ERR_RELAY_MALFORMED, "relay frames are binary messages");
		relay_refused(session, NULL, &err);
	} else if (!sd_relay_route_message(relay, session, (const guint8 *)packet->buffer, packet->length, out, &route,
	                                   &err)) {
		relay_refused(session, NULL, &err);
	} else {
		for (guint i = 0; i < route.n_targets; i++) {
			relay_send(route.targets[i], out, route.out_length, TRUE);
			relay_release(route.targets[i]);
		}
		for (guint i = 0; i < route.n_refused; i++)
			relay_refused(session, route.refused[i].peer, &route.refused[i].error);
	}
	janus_refcount_decrease(&session->ref);
}

/* The first call: the channel carries data, the waiting members become endpoints and the
 * browser hears "ready". Later ones: everything sent to this handle was taken in, so its
 * senders get credits. */
static void swarmdrop_data_ready(janus_plugin_session *handle)
{
	swarmdrop_session *session = plugin_ready() ? session_ref(handle) : NULL;
	if (session == NULL)
		return;
	json_t *ready = NULL;
	janus_mutex_lock(&session->relay_mutex);
	if (session->relay_offered && !session->relay_ready) {
		session->relay_ready = TRUE;
		json_t *peers = json_array();
		for (guint i = 0; i < session->relay_waiting->len; i++) {
			gchar **ids = g_strsplit(g_ptr_array_index(session->relay_waiting, i), "/", 2);
			sd_error err;
			if (sd_relay_attach(relay, session, ids[0], ids[1], &err) || err.code == SD_ERR_ALREADY_JOINED)
				json_array_append_new(peers, json_string(ids[1]));
			g_strfreev(ids);
		}
		g_ptr_array_set_size(session->relay_waiting, 0);
		ready = json_pack("{s:s, s:o}", "t", "ready", "peers", peers);
	}
	janus_mutex_unlock(&session->relay_mutex);
	if (ready != NULL) {
		relay_send_json(session, ready);
	} else {
		GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
		sd_relay_drained(relay, session, g_get_monotonic_time(), credits);
		relay_pay(credits);
		g_array_unref(credits);
	}
	janus_refcount_decrease(&session->ref);
}
