/* sd_cluster: one node of several, each a Janus with the plugin, that share their shares through
 * a message engine (NATS; docs/architecture.md, "Several nodes"). It carries the service's facts
 * and signals to the other nodes, applies theirs, looks a share up the first time a request names
 * it here (parking the request meanwhile), keeps the table of nodes alive by heartbeats and
 * leases, and heals what an engine outage lost by rosters. It talks to the engine only through
 * sd_bus, so that the unit tests run several nodes on a fake one (tests/unit/test_cluster.c).
 * Owns the node table, the subscriptions of the shares it mirrors, the lookups and the parked
 * tickets (not what they point to). Not thread-safe: the plugin's worker thread only. Bad
 * messages (not JSON, wrong shape, ids that are not ids) are counted and dropped. */
#ifndef SD_CLUSTER_H
#define SD_CLUSTER_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

#include "sd_service.h"

#define SD_NODE_NAME_MAX 16 /* [a-z0-9-]{1,16} */
#define SD_CLUSTER_NODES_MAX 63 /* indexes 1..63: sd_peer.node; 0 is this node */
#define SD_CLUSTER_PARKED_MAX 256 /* requests waiting on lookups, over all shares */

/* The engine, as the plugin's glue reaches it. publish returns false when the message could not
 * be queued (the engine is down, or its buffer full): it is lost, as NATS's at-most-once
 * delivery may lose it anyway. reply: the subject answers go to, or NULL. */
typedef struct sd_bus {
	bool (*publish)(const char *subject, const char *data, size_t len, const char *reply, void *user_data);
	void (*subscribe)(const char *subject, void *user_data);
	void (*unsubscribe)(const char *subject, void *user_data);
	void *user_data;
} sd_bus;

#define SD_CLUSTER_URL_MAX 255

/* The .jcfg's cluster keys (docs/deploy.md). */
typedef struct sd_cluster_config {
	char url[SD_CLUSTER_URL_MAX + 1]; /* cluster_url: the engine; "" (the default): one node, no engine */
	char node[SD_NODE_NAME_MAX + 1];  /* cluster_node: this node's name, unique in the cluster */
	gint64 heartbeat_us;              /* cluster_heartbeat_ms, 100..10000 (1000) */
	gint64 lease_us;                  /* cluster_lease_ms, 3 heartbeats..30000 (5000): a node silent that long is gone */
	gint64 lookup_us;                 /* cluster_lookup_ms, 10..5000 (200): the longest a lookup waits for answers */
	bool wrong;                       /* a cluster key had a bad value: the node must not run alone unseen */
} sd_cluster_config;

void sd_cluster_config_init(sd_cluster_config *config);
/* Takes the .jcfg key name if it is one of the cluster's (false: not one); a bad value sets bad
 * and why, and leaves the setting as it was. */
bool sd_cluster_config_set(sd_cluster_config *config, const char *name, const char *value, char *why, size_t why_size,
                           bool *bad);
/* Whether config, once every key was set, is one a node can run with: no key was wrong, with a
 * url, a node name and a lease of at least three heartbeats (else why says what is wrong). */
bool sd_cluster_config_check(const sd_cluster_config *config, char *why, size_t why_size);

/* Whether name is a node name: [a-z0-9-]{1,16}. */
bool sd_node_name_valid(const char *name);

/* A request parked by sd_cluster_admit may run now (on the worker thread, inside sd_cluster_receive
 * or sd_cluster_tick): the share it names is mirrored here if another node holds it. */
typedef void (*sd_cluster_resume_fn)(void *ticket, void *user_data);

typedef struct sd_cluster sd_cluster;

/* Joins svc (borrowed; its cluster hooks become this one's) to the cluster through bus (copied),
 * subscribing to the node's own subjects; the engine counts as down until sd_cluster_engine.
 * NULL for a config sd_cluster_config_check refuses (err says why). */
sd_cluster *sd_cluster_new(const sd_cluster_config *config, sd_service *svc, const sd_bus *bus,
                           sd_cluster_resume_fn resume, void *user_data, gint64 now_us, sd_error *err);
/* Says goodbye (the others forget this node's members at once) and frees; each parked ticket
 * goes to drop. */
void sd_cluster_free(sd_cluster *c, void (*drop)(void *ticket));

typedef enum {
	SD_ADMIT_RUN,    /* handle the request now */
	SD_ADMIT_PARKED, /* kept: resume gets ticket once the share's lookup ended */
	SD_ADMIT_FULL,   /* too many requests wait on lookups: refuse it (SD_ERR_TOO_MANY_REQUESTS) */
} sd_admit;

/* Before the service handles a request naming share_id (a join or close of a share this node
 * may not hold: other requests need membership here, so the share is held): RUN when the share is
 * held here or the engine is down (the node then answers alone, as one node would). */
sd_admit sd_cluster_admit(sd_cluster *c, const char *share_id, void *ticket, gint64 now_us);

/* A message from the engine on subject (one this node subscribed to). */
void sd_cluster_receive(sd_cluster *c, const char *subject, const char *data, size_t len, gint64 now_us);
/* The engine answered a message published with reply subject: nobody subscribes its subject. */
void sd_cluster_no_responders(sd_cluster *c, const char *reply, gint64 now_us);
/* The connection to the engine came up (first, or again: everything since may be lost, so rosters
 * are exchanged) or went down (nobody is judged while it is). */
void sd_cluster_engine(sd_cluster *c, bool up, gint64 now_us);
/* Messages from the engine were lost here (a full queue): this node's rosters go out again and the
 * others are asked for theirs. */
void sd_cluster_resync(sd_cluster *c);
/* Heartbeats, leases, lookups that waited long enough, mirrors no longer held: call at least every
 * heartbeat. */
void sd_cluster_tick(sd_cluster *c, gint64 now_us);

/* The relay across nodes (sd_relay's "Several nodes"): which of this node's members use it
 * travels with their records, and the plugin keeps the other nodes' in its sd_relay through these
 * hooks (node: a node's name). Called on the worker thread. */
typedef struct sd_cluster_relay_hooks {
	/* Whether this node's member peer_id of share_id uses the relay now. */
	bool (*relayed)(const char *share_id, const char *peer_id, void *user_data);
	/* node's member peer_id of share_id uses the relay (on), or not any more. */
	void (*endpoint)(const char *node, const char *share_id, const char *peer_id, bool on, void *user_data);
	/* node's members of share_id that use the relay are these n now; node NULL: the share is not
	 * held here any more, every node's go. */
	void (*endpoints)(const char *node, const char *share_id, const char *const *peers, size_t n, void *user_data);
	/* node is gone (gone: its endpoints go), or what was relayed with it may be lost (the engine was
	 * away: what is in flight is forgiven); node NULL: every node. */
	void (*reset)(const char *node, bool gone, void *user_data);
	void *user_data;
} sd_cluster_relay_hooks;

/* From then on relay endpoints are told and applied through hooks (copied). */
void sd_cluster_relay(sd_cluster *c, const sd_cluster_relay_hooks *hooks);
/* This node's member peer_id of share_id started (on) or stopped using the relay: the nodes
 * holding the share are told. */
void sd_cluster_relay_endpoint(sd_cluster *c, const char *share_id, const char *peer_id, bool on);

/* For the operator's stats: {"node", "engine", "nodes": [{"node", "alive", "seen_ms_ago"}],
 * "mirrored", "parked", "facts_out", "facts_in", "signals_out", "signals_in", "signals_dropped",
 * "lookups", "resyncs", "bad_messages", "lost_publishes"}. New reference. */
json_t *sd_cluster_stats_json(sd_cluster *c, gint64 now_us);

#endif
