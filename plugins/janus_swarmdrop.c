/* janus.plugin.swarmdrop: Janus glue around sd_service (src/). It owns the session table and
 * the one worker thread; every request, and every "this handle is gone" notice, goes through a
 * GAsyncQueue to that thread, so sd_service is only ever touched there. Lifecycle after
 * janus_echotest.c: a refcount per session, the table holds one reference, each queued message
 * another. docs/protocol.md describes the requests. */
#include <jansson.h>

#include <apierror.h>
#include <debug.h>
#include <config.h>
#include <mutex.h>
#include <refcount.h>
#include <plugins/plugin.h>

#include "sd_limits.h"
#include "sd_service.h"

#define SWARMDROP_VERSION 1
#define SWARMDROP_VERSION_STRING "0.1.0"
#define SWARMDROP_PACKAGE "janus.plugin.swarmdrop"
/* Requests waiting for the worker beyond this are refused: a flood cannot grow memory. */
#define SWARMDROP_MAX_QUEUED 4096
/* How often the worker wakes to close shares whose owner did not come back. */
#define SWARMDROP_TICK_US G_USEC_PER_SEC

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
static void swarmdrop_hangup_media(janus_plugin_session *handle) { (void)handle; }
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

static void session_free(const janus_refcount *ref)
{
	swarmdrop_session *session = janus_refcount_containerof(ref, swarmdrop_session, ref);
	session->handle->plugin_handle = NULL;
	janus_refcount_decrease(&session->handle->ref);
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

static void handle_request(swarmdrop_message *msg)
{
	swarmdrop_session *session = msg->session;
	if (g_atomic_int_get(&session->destroyed))
		return;
	json_t *response = sd_service_handle(service, session, msg->body);
	const char *outcome = json_string_value(json_object_get(response, "swarmdrop"));
	if (g_strcmp0(outcome, "error") == 0)
		JANUS_LOG(LOG_VERB, "[%s] request refused: %s\n", SWARMDROP_PACKAGE,
		          json_string_value(json_object_get(response, "error")));
	gateway->push_event(session->handle, &swarmdrop_plugin, msg->transaction, response, NULL);
	json_decref(response);
}

static gpointer worker_main(gpointer data)
{
	(void)data;
	gint64 next_tick = g_get_monotonic_time() + SWARMDROP_TICK_US;
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
			next_tick = now + SWARMDROP_TICK_US;
		}
	}
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
	GError *error = NULL;
	worker = g_thread_try_new("swarmdrop worker", worker_main, NULL, &error);
	if (error != NULL) {
		JANUS_LOG(LOG_FATAL, "[%s] cannot start the worker thread: %s\n", SWARMDROP_PACKAGE, error->message);
		g_error_free(error);
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
