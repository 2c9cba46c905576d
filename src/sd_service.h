/* sd_service: the signalling service behind janus.plugin.swarmdrop, free of Janus. It answers
 * each request of a client (an opaque handle) with a response, and tells other clients what
 * they must know (peer joined or left, share closed, signalling) through the emit callback. As
 * each share's tracker it keeps members' reports and ranks the peers it lists (sd_rank).
 * Owns the registry, its random generator, the location database and the ranking's scratch
 * (kept between lists: at most max_peers_per_share members). Not thread-safe: call it from one
 * thread. */
#ifndef SD_SERVICE_H
#define SD_SERVICE_H

#include <glib.h>
#include <jansson.h>

#include "sd_limits.h"
#include "sd_locate.h"
#include "sd_quota.h"
#include "sd_registry.h"
#include "sd_request.h"

/* What an event tells, as facts the plugin acts on (the relay, the server's own member, the
 * operator's event handlers) without reading the JSON that goes to the client. */
typedef enum {
	SD_EVENT_PEER_JOINED,
	SD_EVENT_PEER_LEFT,
	SD_EVENT_SHARE_CLOSED,
	SD_EVENT_SIGNAL,
	SD_EVENT_SHARE_CREATED, /* the observer's only: no client is told */
} sd_event_kind;
typedef struct sd_event {
	sd_event_kind kind;
	const char *share;  /* its id */
	const char *peer;   /* the member that joined, left, signals or owns the new share; NULL for share_closed */
	const char *role;   /* joined, created: "owner" or "receiver"; else NULL */
	const char *reason; /* share_closed: why (docs/protocol.md part 1); else NULL */
} sd_event;

/* Delivers event (json: what the client gets) to client. Both stay the caller's: incref json to
 * keep it. */
typedef void (*sd_emit_fn)(void *client, const sd_event *event, json_t *json, void *user_data);

typedef struct sd_service sd_service;

/* Takes locate (NULL: no database; everyone is then in the tier "other" unless on the same
 * network). quota (borrowed; NULL: none) limits what each client's connection creates and joins;
 * the service tells it every membership that begins or ends and every share that closes. */
sd_service *sd_service_new(const sd_limits *limits, sd_locate *locate, sd_quota *quota, sd_emit_fn emit,
                           void *user_data);
/* Tells observe of every share made (create, restore, a relay-only share), member joined (not
 * the share's maker), member left (leave, its client gone) and share closed, once each however
 * many clients hear of it (none, for a share closed empty): the operator's events
 * (docs/protocol.md part 7). The event's strings are borrowed for the call; it runs on the
 * service's thread, inside the request or expiry that caused it. NULL stops it. */
typedef void (*sd_observe_fn)(const sd_event *event, void *user_data);
void sd_service_observe(sd_service *svc, sd_observe_fn observe, void *user_data);
/* Replaces the generator of the ranking's ties and random part with one seeded by seed (tests). */
void sd_service_seed(sd_service *svc, guint32 seed);
void sd_service_free(sd_service *svc);

/* What a request came to, beside its answer: the plugin acts on these facts (the relay, the
 * publishing it owns), never on the answer's text. */
typedef struct sd_outcome {
	bool ok;                          /* false: the answer is an error body; error says why */
	sd_error error;
	sd_request_kind kind;             /* when the body parsed */
	char share[SD_SHARE_ID_LEN + 1];  /* the share named, "" when none */
	char peer[SD_PEER_ID_LEN + 1];    /* the caller's member of it afterwards, "" when none */
	const char *admin_key, *path;     /* publish, unpublish: checked, borrowed from the body */
	bool transcode_audio;             /* publish */
} sd_outcome;

/* Handles one request body at now_us (monotonic µs: when a leave starts a share's clocks);
 * returns the response (new reference), an error body on failure, and fills outcome (which may
 * be NULL). publish and unpublish are checked only: their answers are the plugin's. */
json_t *sd_service_handle(sd_service *svc, void *client, const json_t *body, gint64 now_us, sd_outcome *outcome);

/* A new share whose owner, client, is reachable through the relay only: the server as the origin
 * of a file it publishes (docs/protocol.md part 5). True with out's share and peer set (kind
 * SD_REQ_CREATE), or false with out's error set. */
bool sd_service_create_relay_only(sd_service *svc, void *client, sd_outcome *out);
/* Closes share_id (if it exists): every peer but its owner gets share_closed with reason. */
void sd_service_close_share(sd_service *svc, const char *share_id, const char *reason);
/* The client is gone: it leaves every share, as with `leave`. Shares it owned live on without it. */
void sd_service_client_gone(sd_service *svc, void *client, gint64 now_us);

/* Closes the shares with no member for share_empty_grace_seconds (reason "empty"), then those
 * whose owner has been absent share_orphan_max_seconds (reason "owner_gone"). */
void sd_service_expire(sd_service *svc, gint64 now_us);

/* --- Several nodes (docs/architecture.md, "Several nodes"). A share is mirrored on each node
 * with a member in it; each member is told of by its own node only. The service tells its node's
 * changes as facts (replicate) and hands signals for another node's members over (forward);
 * sd_cluster carries them and applies the other nodes' facts here (sd_service_apply_*). A node
 * that holds no member of a share any more drops its mirror (SD_FACT_DROPPED), unless the share
 * is left empty: then it keeps it for share_empty_grace_seconds as one node does. --- */

/* A member as the nodes tell each other of it: what ranking it and telling of it need. */
typedef struct sd_member_rec {
	char peer[SD_PEER_ID_LEN + 1];
	sd_role role;
	bool relay_only;
	sd_address address; /* family 0: unknown */
	sd_place place;     /* found by the member's node: a node without the location database ranks the same */
	bool complete, has_have;
	uint8_t have[SD_HAVE_BYTES];
} sd_member_rec;

typedef enum {
	SD_FACT_MEMBER,  /* member joined, or its record changed (a report) */
	SD_FACT_GONE,    /* peer left, or its client is gone */
	SD_FACT_CLOSED,  /* the share closed here (reason): everywhere */
	SD_FACT_DROPPED, /* this node holds none of the share's members any more: it stops mirroring it */
} sd_fact_kind;
typedef struct sd_fact {
	sd_fact_kind kind;
	const char *share;
	const sd_member_rec *member; /* SD_FACT_MEMBER */
	const char *peer;            /* SD_FACT_GONE */
	const char *reason;          /* SD_FACT_CLOSED */
} sd_fact;

typedef struct sd_cluster_hooks {
	/* A change made by a request or an expiry on this node (never one applied from another). */
	void (*replicate)(const sd_fact *fact, void *user_data);
	/* A signal of from (this node's) for to, whom node holds; payload is borrowed. */
	void (*forward)(guint8 node, const char *share, const char *from, const char *to, const json_t *payload,
	                void *user_data);
	void *user_data;
} sd_cluster_hooks;

/* Whether body, a client's request, is a join or close naming a share this node does not hold
 * (share_id gets its id): a node of several looks it up first (sd_cluster_admit). */
bool sd_service_names_unheld_share(sd_service *svc, const json_t *body, char share_id[SD_SHARE_ID_LEN + 1]);
/* From then on the service tells hooks (copied) of its changes; NULL: one node, as before. */
void sd_service_cluster(sd_service *svc, const sd_cluster_hooks *hooks);
/* share_id's owner token, or NULL when the share is not held here. */
const char *sd_service_owner_token(sd_service *svc, const char *share_id);
/* share_id's members this node holds, appended to recs (sd_member_rec); false when not held. */
bool sd_service_roster(sd_service *svc, const char *share_id, GArray *recs);
/* The other nodes with members of share_id (their indexes, once each) appended to nodes (guint8). */
void sd_service_member_nodes(sd_service *svc, const char *share_id, GArray *nodes);
/* How long share_id's owner has been absent at now_us, in ms; -1 while present or not held. */
gint64 sd_service_owner_absent_ms(sd_service *svc, const char *share_id, gint64 now_us);
/* Mirrors share_id, held by other nodes, under owner_token (checked against the id): nothing
 * when held already. owner_absent_ms: how long its owner has been absent (< 0: present or not
 * known). False with err set at a limit or for a token not the share's. */
bool sd_service_apply_share(sd_service *svc, const char *share_id, const char *owner_token, gint64 owner_absent_ms,
                            gint64 now_us, sd_error *err);
/* Stops mirroring share_id if none of its members is this node's (the request that looked it up
 * failed): true when dropped (SD_FACT_DROPPED told). */
bool sd_service_release(sd_service *svc, const char *share_id);
/* node tells of its member rec of share_id (new, or changed). A new one is announced to this
 * node's members; one this node holds under that id stays (its client is here: the other record
 * is stale); one another node held moved to node. Nothing for a share not held here. */
void sd_service_apply_member(sd_service *svc, const char *share_id, guint8 node, const sd_member_rec *rec);
/* node's member peer_id left share_id: as with `leave`, this node's members are told. */
void sd_service_apply_gone(sd_service *svc, const char *share_id, guint8 node, const char *peer_id, gint64 now_us);
/* All of node's members of share_id now: those it does not name any more are gone. */
void sd_service_apply_roster(sd_service *svc, const char *share_id, guint8 node, const sd_member_rec *recs, size_t n,
                             gint64 now_us);
/* share_id closed on another node: this node's members get share_closed with reason. */
void sd_service_apply_close(sd_service *svc, const char *share_id, const char *reason);
/* node is gone (its lease ran out, or it restarted): its members leave every share. */
void sd_service_node_gone(sd_service *svc, guint8 node, gint64 now_us);
/* Whether node holds member peer_id of share_id, as this node knows. */
bool sd_service_remote_member(sd_service *svc, const char *share_id, guint8 node, const char *peer_id);
/* Delivers a signal another node forwarded to this node's member to: false (dropped) when to is
 * not one of this node's members of share_id (it left meanwhile) or from not a member of it. */
bool sd_service_deliver_signal(sd_service *svc, const char *share_id, const char *from, const char *to,
                               const json_t *payload);

guint sd_service_share_count(sd_service *svc);
/* The shares for the operator's stats: {"count", "members", "listed": [{"share", "members",
 * "owner_present", "published", "complete"}]}, at most max_listed of them, most members first
 * ("complete": members whose last report said they hold everything). New reference. */
json_t *sd_service_shares_json(sd_service *svc, guint max_listed);
/* client's members: [{"share", "peer", "role"}] in joining order (query_session). New reference. */
json_t *sd_service_memberships_json(sd_service *svc, const void *client);
/* Members over all shares (query_session). */
guint sd_service_member_count(sd_service *svc);

#endif
