/* swarmdrop.h: what the files of janus.plugin.swarmdrop share (the plugin's glue only: src/ never
 * includes it). What each file owns:
 * - janus_swarmdrop.c: the plugin's Janus callbacks, the session table, the worker thread and its
 *   queue, the configuration, init and destroy. It defines every global below: init sets them
 *   before any other thread of the plugin starts, destroy clears them after those stopped.
 * - swarmdrop_connection.c: the client connection a handle counts against (read from Janus
 *   1.1.2's private structures), sd_quota's hooks, and ending the handles of a connection.
 * - swarmdrop_relay.c: the relay's data channels: the offer and its expiry, frames in
 *   (incoming_data) and out, credits (data_ready) and refusals.
 * - swarmdrop_publish.c: media the operator publishes: the published table, each file's
 *   preparation on the preparers' thread (publish_prepare) and its seed, the server's own member.
 * - swarmdrop_cluster.c: the link to the other nodes of a cluster (sd_cluster over libnats).
 * - swarmdrop_events.c: what the operator's event handlers hear (swarmdrop_events.h).
 * Threads: sd_service (service) is touched by the worker only. sd_relay (relay), sd_quota (quota),
 * sd_stats' counting (stats) and gateway are safe on any thread: Janus's request threads
 * (create_session, handle_message, destroy_session), the handles' event-loop threads
 * (incoming_data, data_ready), the admin API's (query_session), the preparers' (publish_prepare)
 * and the worker. sessions is guarded by sessions_mutex, a session's relay state by its
 * relay_mutex. Each function below says where it runs. Failures: a refusal is answered to its
 * client, counted and told (note_refused) and logged (log_error); nothing here returns one to its
 * caller unless its comment says so. */
#ifndef SWARMDROP_H
#define SWARMDROP_H

#include <jansson.h>

#include <debug.h>
#include <mutex.h>
#include <refcount.h>
#include <plugins/plugin.h>
#include <transports/transport.h>

#include "sd_cluster.h"
#include "sd_publish.h"
#include "sd_quota.h"
#include "sd_relay.h"
#include "sd_seed.h"
#include "sd_service.h"
#include "sd_stats.h"
#include "swarmdrop_events.h"

#define SWARMDROP_PACKAGE "janus.plugin.swarmdrop"

/* The plugin's names stay inside its .so, as when they were static: Janus may load plugins with
 * RTLD_GLOBAL, and a `relay` or `gateway` of another library must not stand in for ours. */
#pragma GCC visibility push(hidden)

typedef struct swarmdrop_session {
	janus_plugin_session *handle; /* NULL for the server's own member of a published share */
	sd_seed *seed;                /* that member's origin; NULL for a Janus handle */
	volatile gint destroyed;
	/* Guards relay_offered, relay_ready and destroyed's effect on the relay, and orders the
	 * relay's state of this session (sd_relay_expect, _ready, _client_gone: which members wait
	 * for the channel, whether it is ready). */
	janus_mutex relay_mutex;
	gboolean relay_offered; /* the data-channel offer went out (until the PeerConnection hangs up) */
	gboolean relay_ready;   /* its channel carried data (the first data_ready) */
	gint64 relay_offered_at; /* µs, monotonic: an offer unanswered relay_offer_timeout later is closed */
	janus_transport_session *connection; /* a reference (connection_of); NULL for the server's own */
	gboolean orphan_ended; /* end_orphans asked Janus to end it (sessions_mutex) */
	/* Its members, as query_session shows them: the worker's copy of
	 * sd_service_memberships_json, made again after each of its requests and once a share it is
	 * in closes (relay_mutex). */
	json_t *memberships;
	/* Another node's stand-in in sd_relay (swarmdrop_cluster.c): that node's name; NULL for a
	 * client of this node. What the relay hands it goes to that node through the engine. */
	char *node;
	janus_refcount ref;
} swarmdrop_session;

typedef enum { MESSAGE_REQUEST, MESSAGE_GONE, MESSAGE_UNPUBLISH, MESSAGE_CLUSTER, MESSAGE_EXIT } swarmdrop_message_kind;

typedef struct swarmdrop_cluster_event swarmdrop_cluster_event; /* swarmdrop_cluster.c's */

typedef struct swarmdrop_message {
	swarmdrop_message_kind kind;
	swarmdrop_session *session; /* holds a reference */
	char *transaction;
	json_t *body;     /* MESSAGE_UNPUBLISH: {"share", "reason"} */
	swarmdrop_cluster_event *cluster_event; /* MESSAGE_CLUSTER: from the engine */
} swarmdrop_message;

/* A file the operator published: its share, whose owner is the server (seed). */
typedef struct swarmdrop_published {
	char *source;                 /* real path in the media folder */
	char *output;                 /* the remuxed file in the cache folder */
	gint64 source_size, source_mtime;
	gboolean transcode_audio;
	char share[SD_SHARE_ID_LEN + 1];
	char link[SD_CONTENT_LINK_LEN + 1];
	swarmdrop_session *seed;      /* holds a reference */
	swarmdrop_session *publisher; /* told how the preparation goes; a reference until it ends */
	volatile gint state;          /* PUBLISH_PREPARING, _READY, _FAILED */
	volatile gint cancelled;
	gint64 last_progress;
	sd_publish_job job;
	janus_refcount ref;           /* the table's, the job's */
} swarmdrop_published;

enum { PUBLISH_PREPARING, PUBLISH_READY, PUBLISH_FAILED };

/* Defined in janus_swarmdrop.c. */
extern janus_plugin swarmdrop_plugin;
extern janus_callbacks *gateway;
extern volatile gint stopping; /* set once destroy begins */
extern GHashTable *sessions; /* janus_plugin_session* -> swarmdrop_session* (one reference) */
extern janus_mutex sessions_mutex;
/* The worker's queue of swarmdrop_message. */
extern GAsyncQueue *messages;
extern sd_service *service; /* worker thread only, after init */
extern sd_relay *relay; /* any thread */
extern sd_quota *quota; /* any thread: per-connection limits */
extern sd_stats *stats; /* counting: any thread; sampling and the stats answer: the worker */

/* A new session, with one reference, for handle (NULL: the server's own member of a published
 * share). Any thread. */
swarmdrop_session *session_new(janus_plugin_session *handle);

/* The plugin's one log path for an sd_error: what failed, the reason and its code. */
static inline void log_error(int level, const char *what, const sd_error *err)
{
	JANUS_LOG(level, "[%s] %s: %s (%d)\n", SWARMDROP_PACKAGE, what, err->message, err->code);
}

/* Every refusal the plugin answers (a request, a handle, a relay frame or offer): counted for the
 * operator's stats, and a quota's told to the event handlers. Any thread. share: the one named,
 * or NULL. */
static inline void note_refused(const sd_error *err, const char *share)
{
	sd_stats_count_error(stats, err->code);
	swarmdrop_events_refused(err, share);
}

/* ---- swarmdrop_connection.c ---- */

/* A new reference to the connection handle counts against (create_session, on the thread of the
 * `attach` request). */
janus_transport_session *connection_of(janus_plugin_session *handle);
/* sd_quota's hooks (sd_quota_hooks): any thread. */
void connection_retain(const void *connection);
void connection_release(const void *connection);
/* Ends every handle of session's connection (handle_message, a Janus request thread). */
void end_connection(swarmdrop_session *session);
/* Ends the handles whose connection is gone but which Janus kept (the worker's tick). */
void end_orphans(void);

/* ---- swarmdrop_relay.c ---- */

extern gint64 relay_offer_timeout_us; /* the .jcfg's relay_offer_timeout_seconds */
/* Relay offers that went out, oldest first, each holding a session reference: the worker closes
 * those unanswered after relay_offer_timeout_seconds (expire_offers). Worker thread only. */
typedef struct relay_offer_sent {
	swarmdrop_session *session;
	gint64 at; /* its relay_offered_at */
} relay_offer_sent;
extern GQueue *offers;

/* What goes on a relay channel: a relayed frame (binary, bounded by sd_relay's windows), a text of
 * the plugin's own (bounded by sd_relay_text_fits, dropped beyond), or a credit (a text sd_relay
 * counted when it handed it out: never dropped, it waits there instead). */
typedef enum { RELAY_FRAME, RELAY_TEXT, RELAY_CREDIT } relay_message;

/* sd_relay's hooks (sd_relay_hooks): a reference on a session it holds or hands out. Any thread. */
void relay_retain(void *client);
void relay_release(void *client);
/* One message on session's relay channel (or into its seed). Any thread. */
void relay_send(swarmdrop_session *session, const void *buffer, size_t length, relay_message kind);
/* Sends a routed frame to each of its targets (another node's through the engine) and lets go of
 * their references. Any thread. */
void relay_deliver(const sd_relay_route *route);
/* Sends credits (sd_relay_credit) and lets go of their references; empties credits. Any thread. */
void relay_pay(GArray *credits);
/* The relay part of a `relay` request: the offer to push with *response, or NULL. Worker. */
json_t *relay_requested(swarmdrop_session *session, const char *share, const char *peer, json_t **response);
/* Janus did not take the pushed offer: session is as if never offered, told 470. Worker. */
void relay_offer_refused(swarmdrop_session *session, const char *transaction, int janus_error);
/* Closes the offers unanswered for relay_offer_timeout_us by now. The worker's tick. */
void expire_offers(gint64 now);
/* incoming_data and data_ready of session's handle, on its event-loop thread; the caller holds a
 * reference on session. */
void relay_incoming_data(swarmdrop_session *session, janus_plugin_data *packet);
void relay_data_ready(swarmdrop_session *session);

/* ---- swarmdrop_publish.c ---- */

extern sd_publish_config publishing;
extern GHashTable *published; /* source path -> swarmdrop_published* (a reference); worker thread only */
extern GThreadPool *preparers; /* one thread: remuxing takes a core, signalling goes on */

/* The published table's value destructor (g_hash_table_new_full). */
void published_unref(gpointer entry);
/* The preparers' pool function (g_thread_pool_new): prepares one swarmdrop_published. */
void publish_prepare(gpointer data, gpointer user_data);
/* The published entry of share, or NULL. Worker. */
swarmdrop_published *published_share(const char *share);
/* Closes a published share (reason: share_closed's). Worker. */
void unpublish(swarmdrop_published *entry, const char *reason);
/* The operator's `publish` and `unpublish` (checked by the service): the answer, or NULL with err
 * set. Worker. */
json_t *publish_requested(swarmdrop_session *session, const sd_outcome *request, sd_error *err);
json_t *unpublish_requested(const sd_outcome *request, sd_error *err);

/* ---- swarmdrop_cluster.c ---- */

/* This node's link to the other nodes (docs/architecture.md, "Several nodes"), or NULL on one
 * node. Set by init, used by the worker, cleared by destroy. */
extern sd_cluster *cluster;
/* Connects to config's engine (in the background while it is not there) and joins the cluster;
 * false, logged, when libnats or sd_cluster refuses. resume runs a request sd_cluster_admit
 * parked. Init, once the worker's queue and the service exist. */
bool cluster_start(const sd_cluster_config *config, sd_cluster_resume_fn resume);
/* Says goodbye and closes the connection; parked requests go to drop (NULL: none parked yet).
 * Destroy, after the worker stopped. */
void cluster_stop(void (*drop)(void *ticket));
/* A MESSAGE_CLUSTER's event, on the worker; freed with its message. */
void cluster_handle(swarmdrop_cluster_event *event, gint64 now);
void cluster_event_free(swarmdrop_cluster_event *event);
/* sd_relay's endpoint hook: the operator's events, and, in a cluster, the other nodes (this node's
 * members only: sd_relay tells no stand-in's). Any thread, with the relay's mutex held. */
void cluster_relay_endpoint(const char *share_id, const char *peer_id, bool attached);
/* A relayed frame (out, as its target gets it) for node's member target_id of share_id: sent to
 * that node; if the engine does not take it, its bytes are credited back at once. Any thread. */
void cluster_relay_frame(swarmdrop_session *node, const char *share_id, const guint8 *target_id, const guint8 *out,
                         size_t length);
/* A credit for a sender on another node (credit->client is its stand-in): sent to that node. */
void cluster_relay_credit(const sd_relay_credit *credit);
/* Messages from the engine on the worker's queue now (not clients' requests). Any thread. */
int cluster_queued(void);
/* Heartbeats, leases, lookups that waited long enough. The worker, every CLUSTER_TICK_US. */
#define CLUSTER_TICK_US (100 * 1000)
void cluster_tick(gint64 now);

#pragma GCC visibility pop

#endif
