/* swarmdrop_connection: which client connection (a WebSocket) a Janus handle counts against, for
 * sd_quota's per-connection limits, and ending a connection's handles (swarmdrop.h says which
 * thread calls what). */
#include "swarmdrop.h"

/* The first fields of structures private to the Janus 1.1.2 core (src/ice.h janus_ice_handle,
 * src/janus.h janus_session and janus_request at tag v1.1.2): only what connection_of reads,
 * and the session's mutex it reads them under. */
typedef struct {
	void *session; /* janus_session* */
	guint64 handle_id;
	char *opaque_id, *token;
	gint64 created;
	void *app;                       /* janus_plugin*, set once create_session returned */
	janus_plugin_session *app_handle; /* likewise */
} janus_ice_handle_prefix;
typedef struct {
	guint64 session_id;
	GHashTable *ice_handles;
	gint64 last_activity;
	void *source; /* janus_request*: the request that created (or last claimed) the session */
	volatile gint timedout;
	gint timeout;
	volatile gint transport_gone;
	janus_mutex mutex; /* guards source: a `claim` replaces (and frees) it under this mutex */
} janus_session_prefix;
typedef struct {
	janus_transport *transport;
	janus_transport_session *instance; /* the connection: one WebSocket, say; the request holds it */
	void *request_id;
	gboolean admin;
	json_t *message;
	json_error_t *error;
	volatile gint destroyed;
} janus_request_prefix;

/* A new reference to the connection whose limits (sd_quota) handle counts against: the
 * transport session (a WebSocket) of the request that created its Janus session, or that last
 * claimed it, however many Janus sessions that connection opened. Janus 1.1.2 tells plugins no
 * such thing, so this reads the prefixes above on the thread of the `attach` request (which
 * holds its Janus session), under the session's mutex (a `claim` from another connection frees
 * the source under it). So a claimed session's later handles count against the claimer, those
 * attached before against the connection they came through. When the prefixes do not look
 * right (another Janus version), each handle is a connection of its own: weaker, logged once. */
janus_transport_session *connection_of(janus_plugin_session *handle)
{
	static volatile gint warned;
	janus_ice_handle_prefix *ice = handle->gateway_handle;
	janus_session_prefix *core = ice != NULL && ice->handle_id != 0 ? ice->session : NULL;
	gboolean attaching = ice != NULL && ice->app == NULL && (ice->app_handle == NULL || ice->app_handle == handle);
	janus_transport_session *instance = NULL;
	if (attaching && core != NULL && core->session_id != 0) {
		janus_mutex_lock(&core->mutex);
		const janus_request_prefix *source = core->source;
		const janus_transport *transport =
			source != NULL && !g_atomic_int_get(&source->destroyed) ? source->transport : NULL;
		const char *package = transport != NULL && transport->get_package != NULL ? transport->get_package() : NULL;
		if (package != NULL && g_str_has_prefix(package, "janus.transport.") && source->instance != NULL) {
			instance = source->instance;
			janus_refcount_increase(&instance->ref);
		}
		janus_mutex_unlock(&core->mutex);
	}
	if (instance != NULL)
		return instance;
	if (g_atomic_int_compare_and_exchange(&warned, 0, 1))
		JANUS_LOG(LOG_WARN, "[%s] this Janus does not look like 1.1.2 inside: limits apply per handle, not per connection\n",
		          SWARMDROP_PACKAGE);
	return janus_transport_session_create(NULL, NULL);
}

/* sd_quota's hooks: it holds a connection while it counts it, so that a new WebSocket cannot
 * be allocated where a counted one was and inherit its counters or its debt. */
void connection_retain(const void *connection)
{
	janus_refcount_increase(&((janus_transport_session *)connection)->ref);
}

void connection_release(const void *connection)
{
	janus_refcount_decrease(&((janus_transport_session *)connection)->ref);
}

/* Ends every handle of the connection session came through (it asked a whole burst beyond its
 * request budget). gateway->end_session only queues the ending: safe from here. */
void end_connection(swarmdrop_session *session)
{
	janus_mutex_lock(&sessions_mutex);
	GPtrArray *clients = sd_quota_clients_with(quota, session);
	for (guint i = 0; i < clients->len; i++) {
		swarmdrop_session *client = g_ptr_array_index(clients, i);
		if (client->handle != NULL)
			gateway->end_session(client->handle);
	}
	janus_mutex_unlock(&sessions_mutex);
	JANUS_LOG(LOG_WARN, "[%s] a connection far over its request budget: its %u handles ended\n", SWARMDROP_PACKAGE,
	          clients->len);
	g_ptr_array_free(clients, TRUE);
}

/* Ends the handles whose connection is gone but which Janus kept (attached as the connection
 * closed, past create_session's check): Janus would never end them. Worker's tick. */
void end_orphans(void)
{
	janus_mutex_lock(&sessions_mutex);
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, sessions);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		swarmdrop_session *session = value;
		if (session->connection != NULL && !session->orphan_ended && g_atomic_int_get(&session->connection->destroyed)) {
			session->orphan_ended = TRUE;
			gateway->end_session(session->handle);
		}
	}
	janus_mutex_unlock(&sessions_mutex);
}
