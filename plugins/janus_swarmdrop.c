/* janus.plugin.swarmdrop: Janus glue around sd_service and sd_relay (src/). It owns the session
 * table and the one worker thread; every request, and every "this handle is gone" notice, goes
 * through a GAsyncQueue to that thread, so sd_service is only ever touched there. Lifecycle after
 * janus_echotest.c: a refcount per session, the table holds one reference, each queued message
 * another, the relay one per endpoint and one per client it hands out. Relayed data does not go
 * through the worker: it is routed on the sending handle's own thread (sd_relay is thread-safe).
 * Media the operator publishes (sd_publish, sd_seed) is prepared on a thread pool of its own, and
 * the server joins its share as a relay-only member: a session without a Janus handle whose relay
 * messages go to its sd_seed instead of a data channel.
 * What the operator's event handlers hear goes through swarmdrop_events. swarmdrop.h says what
 * the plugin's other files own.
 * docs/protocol.md describes the requests (part 1), the relay (part 4), publishing (part 5), the
 * operator's stats (part 6) and events (part 7). */
#include <dlfcn.h>
#include <unistd.h>

#include <apierror.h>
#include <config.h>

#include "sd_limits.h"
#include "sd_locate.h"
#include "sd_publish.h"
#include "swarmdrop.h"

#define SWARMDROP_VERSION 1
#define SWARMDROP_VERSION_STRING "0.1.0"
/* Requests waiting for the worker beyond this are refused: a flood cannot grow memory. */
#define SWARMDROP_MAX_QUEUED 4096
/* How often the worker wakes to close shares whose owner did not come back and to pay relay
 * credits held back by the rate cap. */
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
static void swarmdrop_hangup_media(janus_plugin_session *handle);
static void swarmdrop_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet);
static void swarmdrop_data_ready(janus_plugin_session *handle);
static void swarmdrop_destroy_session(janus_plugin_session *handle, int *error);
static json_t *swarmdrop_query_session(janus_plugin_session *handle);

janus_plugin swarmdrop_plugin = JANUS_PLUGIN_INIT(
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

static volatile gint initialized;
static GThread *worker;
static swarmdrop_message exit_message = {.kind = MESSAGE_EXIT};
static gint64 started_at;   /* µs, monotonic: the plugin's start, for the stats' uptime */
static sd_cluster_config cluster_config; /* the .jcfg's cluster keys: no cluster_url, one node */
/* The stats answer lists at most this many shares (most members first): a bounded answer. */
#define STATS_SHARES_LISTED 200
/* Counted by the worker after each message and tick, read by query_session (admin API thread). */
static volatile gint count_shares, count_members;
/* Sessions whose members changed by another's doing (a share closed), each with a reference:
 * their memberships are made again once the service is done. Worker thread only. */
static GPtrArray *memberships_changed;
/* Shared with the plugin's other files: swarmdrop.h says what each is. */
janus_callbacks *gateway;
volatile gint stopping;
GHashTable *sessions;
janus_mutex sessions_mutex = JANUS_MUTEX_INITIALIZER;
GAsyncQueue *messages;
sd_service *service;
sd_relay *relay;
sd_quota *quota;
sd_stats *stats;
gint64 relay_offer_timeout_us;
GQueue *offers;
sd_publish_config publishing;
GHashTable *published;
GThreadPool *preparers;

static void session_free(const janus_refcount *ref)
{
	swarmdrop_session *session = janus_refcount_containerof(ref, swarmdrop_session, ref);
	if (session->handle != NULL) {
		session->handle->plugin_handle = NULL;
		janus_refcount_decrease(&session->handle->ref);
	}
	if (session->connection != NULL)
		janus_refcount_decrease(&session->connection->ref);
	sd_seed_free(session->seed);
	json_decref(session->memberships);
	g_free(session->node);
	g_free(session);
}

swarmdrop_session *session_new(janus_plugin_session *handle)
{
	swarmdrop_session *session = g_new0(swarmdrop_session, 1);
	session->handle = handle;
	janus_mutex_init(&session->relay_mutex);
	janus_refcount_init(&session->ref, session_free);
	return session;
}

static void message_free(swarmdrop_message *msg)
{
	if (msg == NULL || msg == &exit_message)
		return;
	if (msg->session != NULL)
		janus_refcount_decrease(&msg->session->ref);
	g_free(msg->transaction);
	json_decref(msg->body);
	cluster_event_free(msg->cluster_event);
	g_free(msg);
}

/* query_session's copy of session's members, from the service (worker thread). */
static void note_memberships(swarmdrop_session *session)
{
	json_t *memberships = sd_service_memberships_json(service, session);
	janus_mutex_lock(&session->relay_mutex);
	json_t *old = session->memberships;
	session->memberships = memberships;
	janus_mutex_unlock(&session->relay_mutex);
	json_decref(old);
}

static void note_changed_memberships(void)
{
	for (guint i = 0; i < memberships_changed->len; i++) {
		swarmdrop_session *session = g_ptr_array_index(memberships_changed, i);
		note_memberships(session);
		janus_refcount_decrease(&session->ref);
	}
	g_ptr_array_set_size(memberships_changed, 0);
}

/* sd_service's emit callback: an event for another session, pushed from the worker thread. */
static void emit_event(void *client, const sd_event *event, json_t *json, void *user_data)
{
	(void)user_data;
	swarmdrop_session *session = client;
	if (event->kind == SD_EVENT_SHARE_CLOSED) {
		sd_relay_detach(relay, session, event->share);
		/* The service removes the share after telling its members. */
		janus_refcount_increase(&session->ref);
		g_ptr_array_add(memberships_changed, session);
	}
	if (session->seed != NULL && event->kind == SD_EVENT_PEER_LEFT)
		sd_seed_forget(session->seed, event->peer);
	/* The server's own member hears nothing else: viewers reach it through the relay only. */
	if (g_atomic_int_get(&session->destroyed) || session->seed != NULL)
		return;
	int rc = gateway->push_event(session->handle, &swarmdrop_plugin, NULL, json, NULL);
	if (rc != JANUS_OK)
		JANUS_LOG(LOG_WARN, "[%s] event not delivered (%d)\n", SWARMDROP_PACKAGE, rc);
}

/* The .jcfg's general category: the limits (sd_limits) and the publishing settings (sd_publish). */
static void load_config(const char *config_path, sd_limits *limits)
{
	sd_limits_default(limits);
	sd_publish_config_init(&publishing);
	sd_cluster_config_init(&cluster_config);
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
		bool bad;
		if (item->name == NULL)
			continue;
		if (sd_cluster_config_set(&cluster_config, item->name, item->value, why, sizeof(why), &bad) ||
		    sd_publish_config_set(&publishing, item->name, item->value, why, sizeof(why), &bad)) {
			if (bad)
				JANUS_LOG(LOG_WARN, "[%s] %s: %s\n", SWARMDROP_PACKAGE, file, why);
		} else if (sd_limits_set(limits, item->name, item->value, why, sizeof(why)) != SD_LIMIT_OK) {
			JANUS_LOG(LOG_WARN, "[%s] %s: %s\n", SWARMDROP_PACKAGE, file, why);
		}
	}
	g_list_free(items);
	janus_config_destroy(config);
	g_free(file);
	JANUS_LOG(LOG_INFO,
	          "[%s] limits: max_shares=%u max_peers_per_share=%u max_shares_per_handle=%u max_signal_bytes=%u "
	          "share_empty_grace_seconds=%u share_orphan_max_seconds=%u\n",
	          SWARMDROP_PACKAGE, limits->max_shares, limits->max_peers_per_share, limits->max_shares_per_handle,
	          limits->max_signal_bytes, limits->share_empty_grace_seconds, limits->share_orphan_max_seconds);
	JANUS_LOG(LOG_INFO,
	          "[%s] per connection: max_handles=%u max_shares=%u max_members=%u max_seats=%u "
	          "requests_per_second=%u request_burst=%u\n",
	          SWARMDROP_PACKAGE, limits->max_handles_per_connection, limits->max_shares_per_connection,
	          limits->max_members_per_connection, limits->max_seats_per_connection, limits->requests_per_second,
	          limits->request_burst);
	JANUS_LOG(LOG_INFO,
	          "[%s] relay: window_kib=%u share_quota_mib=%u client_quota_mib=%u client_rate_kib=%u "
	          "offer_timeout_seconds=%u refusals_per_second=%u\n",
	          SWARMDROP_PACKAGE, limits->relay_window_kib, limits->relay_share_quota_mib, limits->relay_client_quota_mib,
	          limits->relay_client_rate_kib, limits->relay_offer_timeout_seconds, limits->relay_refusals_per_second);
	JANUS_LOG(LOG_INFO,
	          "[%s] tracker: rank_peers=%s tracker_list_size=%u max_links_per_member=%u report_interval_seconds=%u\n",
	          SWARMDROP_PACKAGE, limits->rank_peers ? "true" : "false", limits->tracker_list_size,
	          limits->max_links_per_member, limits->report_interval_seconds);
	unsigned stale = 0;
	sd_error err;
	/* A cache folder it cannot use turns publishing off (media_folder cleared); the admin key
	 * still opens the operator's other requests. */
	if (publishing.media_folder != NULL && publishing.admin_key != NULL &&
	    !sd_publish_cache_open(&publishing, &stale, &err))
		log_error(LOG_WARN, "publishing stays off", &err);
	if (publishing.media_folder != NULL && publishing.admin_key != NULL) {
		if (stale > 0)
			JANUS_LOG(LOG_INFO, "[%s] removed %u remuxed files an earlier run left in %s\n", SWARMDROP_PACKAGE, stale,
			          publishing.cache_folder);
		JANUS_LOG(LOG_INFO, "[%s] publishing from %s (remuxed files in %s)\n", SWARMDROP_PACKAGE,
		          publishing.media_folder, publishing.cache_folder);
		const char *links = sd_publish_links_fallback();
		if (links != NULL)
			JANUS_LOG(LOG_WARN, "[%s] %s\n", SWARMDROP_PACKAGE, links);
	}
}

/* `stats`: what the server holds and did (docs/protocol.md part 6), from the modules that own
 * each part; every share listed also gets its relay use. */
static json_t *stats_requested(const sd_outcome *request, gint64 now, sd_error *err)
{
	if (!sd_publish_check_key(&publishing, request->admin_key, err))
		return NULL;
	json_t *shares = sd_service_shares_json(service, STATS_SHARES_LISTED);
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(shares, "listed"), i, row) {
		guint64 bytes;
		guint endpoints;
		sd_relay_share_use(relay, json_string_value(json_object_get(row, "share")), &bytes, &endpoints);
		json_object_set_new(row, "relay_bytes", json_integer((json_int_t)bytes));
		json_object_set_new(row, "relay_endpoints", json_integer(endpoints));
	}
	janus_mutex_lock(&sessions_mutex);
	guint handles = g_hash_table_size(sessions);
	janus_mutex_unlock(&sessions_mutex);
	sd_relay_dropped dropped = sd_relay_dropped_count(relay);
	json_t *relayed = json_pack("{s:I, s:f, s:I, s:I, s:I, s:I}", "bytes", (json_int_t)sd_relay_relayed_bytes(relay),
	                            "bytes_per_second", sd_stats_relay_rate(stats), "endpoints",
	                            (json_int_t)sd_relay_endpoint_count(relay), "waiting",
	                            (json_int_t)sd_relay_waiting_count(relay), "refusals_dropped",
	                            (json_int_t)dropped.refusals, "texts_dropped", (json_int_t)dropped.texts);
	json_t *answer = json_pack("{s:s, s:I, s:o, s:I, s:I, s:o, s:o, s:o}", "swarmdrop", "stats", "uptime_seconds",
	                           (json_int_t)((now - started_at) / G_USEC_PER_SEC), "shares", shares, "connections",
	                           (json_int_t)sd_quota_count(quota).connections, "handles", (json_int_t)handles, "relay",
	                           relayed, "quotas_hit", sd_stats_quotas_json(stats), "errors", sd_stats_errors_json(stats));
	if (cluster != NULL)
		json_object_set_new(answer, "cluster", sd_cluster_stats_json(cluster, now));
	return answer;
}

/* ---- The worker ------------------------------------------------------------------------------------ */

static void handle_request(swarmdrop_message *msg, gint64 now)
{
	swarmdrop_session *session = msg->session;
	if (g_atomic_int_get(&session->destroyed))
		return;
	/* The outcome's borrowed fields live in msg->body, until the message is freed. */
	sd_outcome outcome;
	json_t *response = sd_service_handle(service, session, msg->body, now, &outcome);
	json_t *jsep = NULL, *operator = NULL;
	sd_error refused = {0};
	if (!outcome.ok)
		refused = outcome.error;
	else if (outcome.kind == SD_REQ_RELAY)
		jsep = relay_requested(session, outcome.share, outcome.peer, &response);
	/* The member's endpoint, or its wait for the channel, goes with it (a share closed by
	 * `close` tells its members with share_closed: emit_event detaches them). */
	else if (outcome.kind == SD_REQ_LEAVE)
		sd_relay_detach(relay, session, outcome.share);
	/* The service checked the operator's request; the answer, or the refusal, is the plugin's. */
	else if (outcome.kind == SD_REQ_PUBLISH)
		operator = publish_requested(session, &outcome, &refused);
	else if (outcome.kind == SD_REQ_UNPUBLISH)
		operator = unpublish_requested(&outcome, &refused);
	else if (outcome.kind == SD_REQ_STATS)
		operator = stats_requested(&outcome, now, &refused);
	if (refused.code != 0) {
		log_error(LOG_VERB, "request refused", &refused);
		note_refused(&refused, outcome.share);
		if (outcome.ok)
			operator = sd_error_json(&refused);
	}
	if (operator != NULL) {
		json_decref(response);
		response = operator;
	}
	gboolean offering = jsep != NULL;
	int pushed = gateway->push_event(session->handle, &swarmdrop_plugin, msg->transaction, response, jsep);
	json_decref(response);
	json_decref(jsep);
	if (offering && pushed != JANUS_OK)
		relay_offer_refused(session, msg->transaction, pushed);
	note_memberships(session);
}

/* A join or close naming a share this node does not hold waits for the other nodes' answers
 * (sd_cluster_admit): parked, or refused when too many wait. RUN on one node. */
static sd_admit admit_request(swarmdrop_message *msg, gint64 now)
{
	char share[SD_SHARE_ID_LEN + 1];
	if (cluster == NULL || g_atomic_int_get(&msg->session->destroyed) ||
	    !sd_service_names_unheld_share(service, msg->body, share))
		return SD_ADMIT_RUN;
	sd_admit admit = sd_cluster_admit(cluster, share, msg, now);
	if (admit == SD_ADMIT_FULL) {
		sd_error err;
		sd_fail(&err, SD_ERR_TOO_MANY_REQUESTS, "too many requests wait for the other nodes; ask again");
		note_refused(&err, share);
		json_t *refusal = sd_error_json(&err);
		gateway->push_event(msg->session->handle, &swarmdrop_plugin, msg->transaction, refusal, NULL);
		json_decref(refusal);
	}
	return admit;
}

/* sd_cluster's resume: a parked request runs now that its share was looked up. */
static void resume_request(void *ticket, void *user_data)
{
	(void)user_data;
	handle_request(ticket, g_get_monotonic_time());
	message_free(ticket);
}

static void drop_request(void *ticket)
{
	message_free(ticket);
}

static gpointer worker_main(gpointer data)
{
	(void)data;
	gint64 next_tick = g_get_monotonic_time() + SWARMDROP_TICK_US;
	gint64 wait = cluster != NULL ? CLUSTER_TICK_US : SWARMDROP_TICK_US, next_cluster_tick = 0;
	GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
	while (!g_atomic_int_get(&stopping)) {
		swarmdrop_message *msg = g_async_queue_timeout_pop(messages, wait);
		if (msg == &exit_message)
			break;
		gint64 now = g_get_monotonic_time();
		if (msg != NULL && msg->kind == MESSAGE_REQUEST) {
			sd_admit admit = admit_request(msg, now);
			if (admit == SD_ADMIT_RUN)
				handle_request(msg, now);
			else if (admit == SD_ADMIT_PARKED)
				msg = NULL; /* resume_request runs it, and frees it */
		} else if (msg != NULL && msg->kind == MESSAGE_CLUSTER)
			cluster_handle(msg->cluster_event, now);
		else if (msg != NULL && msg->kind == MESSAGE_GONE) {
			sd_service_client_gone(service, msg->session, now);
			/* Again, after any request of the session queued before it (a `relay` handled after
			 * destroy_session cleared the relay would otherwise leave a member waiting). */
			sd_relay_client_gone(relay, msg->session);
		}
		else if (msg != NULL && msg->kind == MESSAGE_UNPUBLISH) {
			swarmdrop_published *entry = published_share(json_string_value(json_object_get(msg->body, "share")));
			if (entry != NULL)
				unpublish(entry, json_string_value(json_object_get(msg->body, "reason")));
		}
		message_free(msg);
		if (cluster != NULL && now >= next_cluster_tick) {
			cluster_tick(now);
			next_cluster_tick = now + CLUSTER_TICK_US;
		}
		note_changed_memberships();
		if (now >= next_tick) {
			sd_service_expire(service, now);
			sd_relay_tick(relay, now, credits);
			relay_pay(credits);
			sd_stats_sample_relay(stats, sd_relay_relayed_bytes(relay), now);
			expire_offers(now);
			sd_quota_expire(quota, now);
			end_orphans();
			note_changed_memberships(); /* shares that expired */
			next_tick = now + SWARMDROP_TICK_US;
		}
		g_atomic_int_set(&count_shares, (gint)sd_service_share_count(service));
		g_atomic_int_set(&count_members, (gint)sd_service_member_count(service));
	}
	/* Offers still waiting hold their sessions: let go of them. */
	relay_offer_sent *sent;
	while ((sent = g_queue_pop_head(offers)) != NULL) {
		janus_refcount_decrease(&sent->session->ref);
		g_free(sent);
	}
	g_array_unref(credits);
	return NULL;
}

/* One of usrsctp's buffer sizes for the associations made from now on (setting: the .jcfg key,
 * sysctl: usrsctp's setter); 0 leaves it. Looked up, not linked: Janus owns that library. */
static void size_sctp_buffer(const char *setting, const char *sysctl, unsigned kib)
{
	if (kib == 0)
		return;
	int (*set)(guint32) = (int (*)(guint32))dlsym(RTLD_DEFAULT, sysctl);
	if (set == NULL)
		JANUS_LOG(LOG_WARN, "[%s] %s: this Janus has no usrsctp; data channels keep their buffers\n", SWARMDROP_PACKAGE,
		          setting);
	else if (set(kib * 1024) != 0)
		JANUS_LOG(LOG_WARN, "[%s] %s: usrsctp refused %u KiB\n", SWARMDROP_PACKAGE, setting, kib);
	else
		JANUS_LOG(LOG_INFO, "[%s] %s: %u KiB\n", SWARMDROP_PACKAGE, setting, kib);
}

/* usrsctp, which Janus links for data channels, gives each association a 128 KiB receive buffer
 * (the window a browser may have unacknowledged towards Janus) and a 256 KiB send buffer: with
 * them a relayed stream ran at 3.3 MB/s where TURN did 7.8 (bench/relay.mjs). Its defaults are
 * process-wide sysctls read when an association is made, so setting them here (Janus ran
 * usrsctp_init before loading plugins) sizes every data channel this Janus opens from now on,
 * other plugins' too. The send buffer holds only what the relay put there (within its windows);
 * the receive buffer is what any client may fill, out of order, without the plugin reading it. */
static void size_sctp_buffers(const sd_limits *limits)
{
	size_sctp_buffer("sctp_send_buffer_kib", "usrsctp_sysctl_set_sctp_sendspace", limits->sctp_send_buffer_kib);
	size_sctp_buffer("sctp_receive_buffer_kib", "usrsctp_sysctl_set_sctp_recvspace", limits->sctp_receive_buffer_kib);
}

static int swarmdrop_init(janus_callbacks *callback, const char *config_path)
{
	if (g_atomic_int_get(&stopping) || callback == NULL || config_path == NULL)
		return -1;
	sd_limits limits;
	load_config(config_path, &limits);
	char wrong[160];
	if ((cluster_config.url[0] != '\0' || cluster_config.wrong) &&
	    !sd_cluster_config_check(&cluster_config, wrong, sizeof(wrong))) {
		JANUS_LOG(LOG_FATAL, "[%s] %s\n", SWARMDROP_PACKAGE, wrong);
		sd_publish_config_clear(&publishing);
		return -1;
	}
	char why[SD_LIMITS_PATH_MAX + 128];
	sd_locate *locate = sd_locate_open(limits.location_database, why, sizeof(why));
	if (locate == NULL)
		JANUS_LOG(LOG_WARN, "[%s] %s: peers are ranked without the operator and country tiers\n", SWARMDROP_PACKAGE,
		          why);
	else
		JANUS_LOG(LOG_INFO, "[%s] location database: %s\n", SWARMDROP_PACKAGE, limits.location_database);
	gateway = callback;
	swarmdrop_events_init(callback, &swarmdrop_plugin);
	size_sctp_buffers(&limits);
	sessions = g_hash_table_new_full(NULL, NULL, NULL, NULL);
	messages = g_async_queue_new_full((GDestroyNotify)message_free);
	static const sd_quota_hooks quota_hooks = {connection_retain, connection_release};
	quota = sd_quota_new(&limits, &quota_hooks);
	stats = sd_stats_new();
	started_at = g_get_monotonic_time();
	service = sd_service_new(&limits, locate, quota, emit_event, NULL);
	sd_service_observe(service, swarmdrop_events_fact, NULL);
	static const sd_relay_hooks hooks = {relay_retain, relay_release, cluster_relay_endpoint};
	relay = sd_relay_new(&limits, &hooks);
	relay_offer_timeout_us = (gint64)limits.relay_offer_timeout_seconds * G_USEC_PER_SEC;
	offers = g_queue_new();
	memberships_changed = g_ptr_array_new();
	published = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, published_unref);
	GError *error = NULL;
	bool clustered = cluster_config.url[0] == '\0' || cluster_start(&cluster_config, resume_request);
	if (clustered)
		preparers = g_thread_pool_new(publish_prepare, NULL, 1, FALSE, &error);
	if (clustered && error == NULL)
		worker = g_thread_try_new("swarmdrop worker", worker_main, NULL, &error);
	if (!clustered || error != NULL) {
		if (error != NULL)
			JANUS_LOG(LOG_FATAL, "[%s] cannot start the worker threads: %s\n", SWARMDROP_PACKAGE, error->message);
		g_clear_error(&error);
		cluster_stop(NULL);
		if (preparers != NULL)
			g_thread_pool_free(preparers, TRUE, TRUE);
		g_hash_table_destroy(published);
		sd_publish_config_clear(&publishing);
		sd_relay_free(relay);
		sd_service_free(service);
		sd_quota_free(quota);
		sd_stats_free(stats);
		g_queue_free(offers);
		g_ptr_array_free(memberships_changed, TRUE);
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
	cluster_stop(drop_request);
	/* A preparation under way sees `stopping` at its next progress call and gives up. */
	g_thread_pool_free(preparers, FALSE, TRUE);
	preparers = NULL;
	GHashTableIter it;
	gpointer entry;
	g_hash_table_iter_init(&it, published);
	while (g_hash_table_iter_next(&it, NULL, &entry)) {
		unlink(((swarmdrop_published *)entry)->output);
		sd_relay_client_gone(relay, ((swarmdrop_published *)entry)->seed);
	}
	g_hash_table_destroy(published);
	published = NULL;
	sd_publish_config_clear(&publishing);
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
	sd_quota_free(quota);
	quota = NULL;
	sd_stats_free(stats);
	stats = NULL;
	g_queue_free(offers); /* emptied by the worker as it stopped */
	offers = NULL;
	g_ptr_array_free(memberships_changed, TRUE); /* emptied by the worker after each message */
	memberships_changed = NULL;
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
	janus_transport_session *connection = connection_of(handle);
	/* Janus 1.1.2 attaches a handle to a session its closing connection is destroying when the
	 * attach found the session just before: nobody would ever detach that handle (its loop
	 * thread and eventfd stay for good; bench/churn.mjs --endings cut-attach). */
	if (g_atomic_int_get(&connection->destroyed)) {
		JANUS_LOG(LOG_VERB, "[%s] handle refused: its connection is gone\n", SWARMDROP_PACKAGE);
		janus_refcount_decrease(&connection->ref);
		*error = -1;
		return;
	}
	swarmdrop_session *session = session_new(handle);
	sd_error err;
	if (!sd_quota_add_client(quota, connection, session, g_get_monotonic_time(), &err)) {
		log_error(LOG_VERB, "handle refused", &err);
		note_refused(&err, NULL);
		janus_refcount_decrease(&connection->ref);
		g_free(session);
		*error = err.code;
		return;
	}
	session->connection = connection;
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
	/* Under sessions_mutex: end_connection only ends handles the quota still knows. */
	sd_quota_remove_client(quota, session);
	janus_mutex_lock(&session->relay_mutex);
	g_atomic_int_set(&session->destroyed, 1);
	sd_relay_client_gone(relay, session);
	janus_mutex_unlock(&session->relay_mutex);
	janus_mutex_unlock(&sessions_mutex);
	/* The registry forgets the session on the worker thread; the table's reference goes with it.
	 * Never push events to other sessions from here (janus-gateway issue 1263). */
	swarmdrop_message *gone = g_new0(swarmdrop_message, 1);
	gone->kind = MESSAGE_GONE;
	gone->session = session;
	g_async_queue_push(messages, gone);
}

/* The admin API's handle_info: the handle's own state, and the plugin's counters (the soak in
 * bench/ and operators watch them return to their baseline). */
static json_t *swarmdrop_query_session(janus_plugin_session *handle)
{
	swarmdrop_session *session = plugin_ready() ? session_ref(handle) : NULL;
	if (session == NULL)
		return NULL;
	janus_mutex_lock(&session->relay_mutex);
	json_t *info = json_pack("{s:b, s:b, s:b, s:I, s:I, s:o}", "destroyed", g_atomic_int_get(&session->destroyed),
	                         "relay_offered", session->relay_offered, "relay_ready", session->relay_ready,
	                         "relay_waiting", (json_int_t)sd_relay_pending_count(relay, session), "relay_in_flight",
	                         (json_int_t)sd_relay_in_flight(relay, session), "memberships",
	                         session->memberships != NULL ? json_deep_copy(session->memberships) : json_array());
	janus_mutex_unlock(&session->relay_mutex);
	janus_refcount_decrease(&session->ref);
	janus_mutex_lock(&sessions_mutex);
	guint handles = g_hash_table_size(sessions);
	janus_mutex_unlock(&sessions_mutex);
	sd_quota_counts counts = sd_quota_count(quota);
	sd_relay_dropped dropped = sd_relay_dropped_count(relay);
	json_object_set_new(info, "plugin",
	                    json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "shares", g_atomic_int_get(&count_shares),
	                              "members", g_atomic_int_get(&count_members), "relay_endpoints",
	                              (json_int_t)sd_relay_endpoint_count(relay), "relay_waiting",
	                              (json_int_t)sd_relay_waiting_count(relay), "connections",
	                              (json_int_t)counts.connections, "handles", (json_int_t)handles,
	                              "relay_refusals_dropped", (json_int_t)dropped.refusals, "relay_texts_dropped",
	                              (json_int_t)dropped.texts));
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
	else if (g_async_queue_length(messages) - cluster_queued() >= SWARMDROP_MAX_QUEUED) /* clients' requests */
		refusal = "too many requests queued; try again";
	if (refusal != NULL) {
		if (session != NULL)
			janus_refcount_decrease(&session->ref);
		g_free(transaction);
		json_decref(message);
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR, refusal, NULL);
	}
	/* The connection's budget, before the request takes a place in the worker's queue. */
	sd_error err;
	sd_quota_verdict verdict = sd_quota_request(quota, session, g_get_monotonic_time(), &err);
	if (verdict != SD_QUOTA_ALLOW) {
		note_refused(&err, NULL);
		if (verdict == SD_QUOTA_END)
			end_connection(session);
		janus_refcount_decrease(&session->ref);
		g_free(transaction);
		json_decref(message);
		return janus_plugin_result_new(JANUS_PLUGIN_OK, NULL, sd_error_json(&err));
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
	janus_mutex_lock(&session->relay_mutex);
	sd_relay_client_gone(relay, session);
	session->relay_offered = FALSE;
	session->relay_ready = FALSE;
	janus_mutex_unlock(&session->relay_mutex);
	janus_refcount_decrease(&session->ref);
}

/* A relay frame from the browser (relay_incoming_data). */
static void swarmdrop_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet)
{
	swarmdrop_session *session = plugin_ready() && packet != NULL ? session_ref(handle) : NULL;
	if (session == NULL)
		return;
	relay_incoming_data(session, packet);
	janus_refcount_decrease(&session->ref);
}

/* The relay's channel took in what was sent to it, or is open (relay_data_ready). */
static void swarmdrop_data_ready(janus_plugin_session *handle)
{
	swarmdrop_session *session = plugin_ready() ? session_ref(handle) : NULL;
	if (session == NULL)
		return;
	relay_data_ready(session);
	janus_refcount_decrease(&session->ref);
}
