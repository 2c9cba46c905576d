/* sd_registry: the shares the plugin holds, the peers in each, which peers each client (a Janus
 * handle, opaque here) has, and what the tracker knows of each peer (its standing: a fixed size
 * whatever its reports say). Owns every sd_share and sd_peer and enforces the count limits and
 * the spacing of reports. With several nodes (docs/architecture.md, "Several nodes") a share is
 * mirrored on each node with a member in it: the members other nodes hold are peers here too,
 * with no client and the index of their node.
 * Not thread-safe: the plugin touches it from its one worker thread only. */
#ifndef SD_REGISTRY_H
#define SD_REGISTRY_H

#include <glib.h>
#include <stdbool.h>

#include "sd_ids.h"
#include "sd_limits.h"
#include "sd_request.h"

typedef enum { SD_ROLE_OWNER, SD_ROLE_RECEIVER } sd_role;

typedef struct sd_share sd_share;

/* owner_absent_since and empty_since when the share has its owner, or members; reported_at
 * and listed_at before a member's first report or list. */
#define SD_NOT_SINCE G_MININT64

/* The least spacing of one member's lists: the client asks one when a member joins (at most
 * once a second, web/src/engine/net/swarm.js) and when short of links (at most every 10 s). */
#define SD_LIST_INTERVAL_SECONDS 1

/* What the tracker knows of a member (docs/protocol.md part 1, "The tracker"). */
typedef struct sd_standing {
	sd_address address; /* family 0: unknown */
	sd_place place;     /* of address, from the location database */
	bool complete;
	bool has_have;
	uint8_t have[SD_HAVE_BYTES];
	gint64 reported_at; /* µs, the caller's clock */
	gint64 listed_at;   /* µs, its last list; SD_NOT_SINCE before its first */
	unsigned n_links;   /* at most max_links_per_member, in links: each peer once, sorted by id */
} sd_standing;

typedef struct sd_peer {
	char id[SD_PEER_ID_LEN + 1];
	sd_role role;
	bool relay_only; /* reachable through the relay only (the server, as the origin of what it publishes) */
	void *client;    /* NULL for a member another node holds */
	guint8 node;     /* 0: this node's; else the index of the node that holds it (sd_cluster) */
	sd_share *share;
	sd_standing standing;
	sd_link links[]; /* max_links_per_member of them, allocated with the peer */
} sd_peer;

struct sd_share {
	char id[SD_SHARE_ID_LEN + 1];         /* sd_share_id_of(owner_token) */
	char owner_token[SD_TOKEN_LEN + 1];
	GPtrArray *peers;          /* sd_peer*, in joining order */
	GHashTable *peer_ids;      /* peer id -> its sd_peer* in peers: reports and signals name peers by id */
	gint64 owner_absent_since; /* µs (the caller's clock) since the owner left; SD_NOT_SINCE while present */
	gint64 empty_since;        /* µs since the last member left; SD_NOT_SINCE while it has members */
};

typedef struct sd_registry sd_registry;

sd_registry *sd_registry_new(const sd_limits *limits);
void sd_registry_free(sd_registry *reg);

const char *sd_role_name(sd_role role);

/* Member ids come from peer secrets (sd_peer_id_of). Where a function takes peer_secret (a buffer
 * of SD_SECRET_LEN + 1 bytes), it holds the member's secret, or "" for a fresh one, which is
 * written there. */

/* A new share with a fresh owner token, its id derived from it, and client as its owner peer;
 * NULL with err set when a limit is reached. */
sd_peer *sd_registry_create_share(sd_registry *reg, void *client, char *peer_secret, sd_error *err);
/* A share the server does not hold (it restarted, or the share closed) made again by its owner:
 * the share id must be the one owner_token derives (else SD_ERR_BAD_OWNER_TOKEN), and client is
 * its owner. NULL with err set when a limit is reached or the id is in use. */
sd_peer *sd_registry_restore_share(sd_registry *reg, const char *share_id, const char *owner_token, void *client,
                                   char *peer_secret, sd_error *err);
/* Adds client to share with role under the id of peer_secret; NULL with err set when a limit is
 * reached or a member of the share holds that id (SD_ERR_PEER_TAKEN). */
sd_peer *sd_registry_add_peer(sd_registry *reg, sd_share *share, void *client, sd_role role, char *peer_secret,
                              sd_error *err);
/* Other nodes' members can be at most this many times max_peers_per_share in one share: each of
 * their nodes checked the limit, and joins on several nodes at once may pass it by a few. */
#define SD_REMOTE_PEERS_FACTOR 2

/* A share another node holds, mirrored here with no member yet (its members come with the facts
 * of their nodes): share_id must be the one owner_token derives. Its owner has been absent since
 * owner_absent_since (SD_NOT_SINCE: present, or not known yet); it is empty since now_us. NULL
 * with err set when a limit is reached, the id is held or the token is not the share's. */
sd_share *sd_registry_mirror_share(sd_registry *reg, const char *share_id, const char *owner_token,
                                   gint64 owner_absent_since, gint64 now_us, sd_error *err);
/* Adds a member node (>= 1) holds, under its id, to share: counted in no client's limits, and at
 * most SD_REMOTE_PEERS_FACTOR * max_peers_per_share of them (else SD_ERR_SHARE_FULL); NULL with
 * err SD_ERR_PEER_TAKEN when the id is a member already. */
sd_peer *sd_registry_add_remote_peer(sd_registry *reg, sd_share *share, guint8 node, const char *peer_id,
                                     sd_role role, sd_error *err);
/* The members of share this node holds (client != NULL). */
guint sd_share_local_count(const sd_share *share);
/* Takes address as peer's (family 0: the one known stays), and where locate (NULL: no database)
 * puts it, looked up only when the address changed. */
void sd_registry_locate(sd_peer *peer, const sd_address *address, const sd_locate *locate);
/* Stores what the member reported at now_us (req: a checked report), its address located as
 * sd_registry_locate does: links to peers not in its share, to itself, or to a peer named
 * before in the report are dropped, and no more than max_links_per_member kept. Refused with
 * SD_ERR_TOO_SOON, nothing stored nor looked up, when it comes sooner than
 * report_interval_seconds after its last report (less a second of slack, or half the interval
 * when that is 1 s). */
bool sd_registry_report(sd_registry *reg, sd_peer *peer, const sd_request *req, const sd_locate *locate,
                        gint64 now_us, sd_error *err);
/* Whether peer may have a list at now_us (and then counts it): refused with SD_ERR_TOO_SOON
 * sooner than SD_LIST_INTERVAL_SECONDS after its last one, with the slack of reports. Joining
 * counts as none: a newcomer's first list is never refused. */
bool sd_registry_may_list(sd_peer *peer, gint64 now_us, sd_error *err);
/* Frees the peer (this node's or another's); the share stays, even empty or without its owner: now_us is when that began. */
void sd_registry_remove_peer(sd_registry *reg, sd_peer *peer, gint64 now_us);
/* Frees the share and every peer in it. */
void sd_registry_remove_share(sd_registry *reg, sd_share *share);

sd_share *sd_registry_find_share(sd_registry *reg, const char *share_id);
sd_peer *sd_share_find_peer(const sd_share *share, const char *peer_id);
/* client's member of share, or NULL: looked up among the few peers client holds. */
sd_peer *sd_registry_peer_of(sd_registry *reg, const sd_share *share, const void *client);
sd_peer *sd_share_owner(const sd_share *share);

/* A new array (caller frees) of the peers client holds, in any share. */
GPtrArray *sd_registry_peers_of(sd_registry *reg, const void *client);
/* A new array (caller frees) of the shares with no member for at least grace_us at now_us. */
GPtrArray *sd_registry_empty_since(sd_registry *reg, gint64 now_us, gint64 grace_us);
/* A new array (caller frees) of the shares whose owner has been absent at least max_us at now_us. */
GPtrArray *sd_registry_orphans_since(sd_registry *reg, gint64 now_us, gint64 max_us);
guint sd_registry_share_count(sd_registry *reg);
/* Every share (borrowed), in no order; the caller frees the array. */
GPtrArray *sd_registry_shares(sd_registry *reg);
guint sd_registry_member_count(sd_registry *reg);

#endif
