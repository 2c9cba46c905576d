/* sd_quota: what one client connection may hold and ask of the plugin. A connection is the unit
 * an attacker pays for (a WebSocket; nginx bounds them, and how fast they are opened, per
 * address): however many Janus sessions and handles it opens, it gets max_handles_per_connection
 * handles, max_shares_per_connection open shares it created, max_members_per_connection
 * memberships, max_seats_per_connection members in any one share, and a request budget (a token
 * bucket: requests_per_second, at most request_burst saved). Connections and clients (handles)
 * are opaque pointers; a client added with no connection is the server's own and is not
 * limited. A connection's counters live while it has clients (its budget also while it is in
 * debt, see sd_quota_expire), and the quota holds the connection (sd_quota_hooks) as long, so
 * that no new connection can come at the same address in memory and inherit them: a share it
 * created counts against it until the share closes or the last of its clients goes. Owns those
 * counters only. Thread-safe (one mutex): clients come and go on Janus's threads, requests are
 * counted on the transport's, memberships change on the plugin's worker. */
#ifndef SD_QUOTA_H
#define SD_QUOTA_H

#include <glib.h>
#include <stdbool.h>

#include "sd_error.h"
#include "sd_limits.h"

typedef struct sd_quota sd_quota;

/* How the quota holds a connection while it counts it: retain when its first client comes,
 * release when the quota forgets it (its last client gone and its debt paid, or the quota
 * freed). Called with the quota's mutex held: they must not call sd_quota. NULL hooks for
 * connections that need no references (tests). */
typedef struct sd_quota_hooks {
	void (*retain)(const void *connection);
	void (*release)(const void *connection);
} sd_quota_hooks;

sd_quota *sd_quota_new(const sd_limits *limits, const sd_quota_hooks *hooks);
void sd_quota_free(sd_quota *quota);

/* client (a new handle) comes through connection (NULL: the server's own, not limited) at now_us.
 * Refused with SD_ERR_CONNECTION_LIMIT when the connection has max_handles_per_connection
 * clients, with SD_ERR_TOO_MANY_REQUESTS while it is in debt (its handles were ended for asking
 * too much, and it has not paused long enough since), with SD_ERR_ARGUMENT when client is known
 * already. */
bool sd_quota_add_client(sd_quota *quota, const void *connection, void *client, gint64 now_us, sd_error *err);
/* client is gone: its memberships go with it; its connection goes with its last client, unless
 * it is in debt: then when it paid (sd_quota_expire). */
void sd_quota_remove_client(sd_quota *quota, void *client);
/* Forgets the connections with no client left whose debt is paid by now_us (call it now and
 * then: a debt is paid within request_burst / requests_per_second seconds). */
void sd_quota_expire(sd_quota *quota, gint64 now_us);

/* One request of client at now_us (monotonic µs). ALLOW spends a token; REFUSE (err:
 * SD_ERR_TOO_MANY_REQUESTS) when none is left; END when the connection ran a whole burst into
 * debt: the caller ends its clients (sd_quota_clients_with). END comes once a debt: the
 * connection is refused from then on until it paid its debt back. Unknown clients are refused
 * with SD_ERR_NOT_JOINED (a handle already gone). */
typedef enum { SD_QUOTA_ALLOW, SD_QUOTA_REFUSE, SD_QUOTA_END } sd_quota_verdict;
sd_quota_verdict sd_quota_request(sd_quota *quota, void *client, gint64 now_us, sd_error *err);
/* A new array (caller frees) of the clients of client's connection, client among them. */
GPtrArray *sd_quota_clients_with(sd_quota *quota, void *client);

/* Whether client may create (or restore) a share, which also makes it a member; may join
 * share_id. Refused with SD_ERR_CONNECTION_LIMIT naming the limit; unknown clients with
 * SD_ERR_NOT_JOINED (a handle already gone). */
bool sd_quota_may_create(sd_quota *quota, const void *client, sd_error *err);
bool sd_quota_may_join(sd_quota *quota, const void *client, const char *share_id, sd_error *err);
/* client became a member of share_id; created: it made the share (counted until it closes). */
void sd_quota_joined(sd_quota *quota, const void *client, const char *share_id, bool created);
/* client's member of share_id left it (or was removed with the share). */
void sd_quota_left(sd_quota *quota, const void *client, const char *share_id);
/* share_id closed: it no longer counts against the connection that created it. */
void sd_quota_share_closed(sd_quota *quota, const char *share_id);

/* What operators and the soak see (query_session). */
typedef struct sd_quota_counts {
	guint connections; /* with a limited client, or in debt */
	guint clients;     /* all, the server's own included */
} sd_quota_counts;
sd_quota_counts sd_quota_count(sd_quota *quota);

#endif
