/* sd_limits: the plugin's tunable limits and settings, their safe defaults and ranges, and the
 * parsing of one configuration key at a time (the plugin feeds it the items of its .jcfg). A
 * plain value: copies need no freeing. */
#ifndef SD_LIMITS_H
#define SD_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#define SD_LIMITS_PATH_MAX 1024 /* bytes of a path setting, its NUL included */

typedef struct sd_limits {
	unsigned max_shares;            /* shares held at once */
	unsigned max_peers_per_share;   /* owner included */
	unsigned max_shares_per_handle; /* shares one Janus handle can be a peer of */
	/* One client connection: a WebSocket, however many Janus sessions and handles it opens
	 * (sd_quota.h). */
	unsigned max_handles_per_connection; /* Janus handles attached at once */
	unsigned max_shares_per_connection;  /* shares it created (create, restore) that are still open */
	unsigned max_members_per_connection; /* memberships over all shares */
	unsigned max_seats_per_connection;   /* members of one share */
	unsigned requests_per_second;        /* the refill of its request budget */
	unsigned request_burst;              /* the budget's size: requests it may make at once */
	unsigned max_signal_bytes;      /* compact JSON size of one signal payload */
	unsigned share_empty_grace_seconds; /* how long a share with no member at all lives on */
	unsigned share_orphan_max_seconds;  /* how long a share lives on without its owner */
	/* The relay (sd_relay.h); 0 means no limit for the quotas and the rate. */
	unsigned relay_window_kib;       /* KiB one member may have in flight to one other */
	unsigned relay_share_quota_mib;  /* MiB relayed for one share */
	unsigned relay_client_quota_mib; /* MiB one client (Janus handle) may send through the relay */
	unsigned relay_client_rate_kib;  /* KiB/s one client may send through the relay */
	unsigned relay_offer_timeout_seconds; /* an unanswered relay offer is hung up after this */
	unsigned relay_refusals_per_second;   /* refusal messages one client gets, at most (the rest: counted) */
	/* KiB of each data channel association's buffers (usrsctp's, process-wide); 0: usrsctp's own */
	unsigned sctp_send_buffer_kib;
	unsigned sctp_receive_buffer_kib;
	/* The tracker (docs/protocol.md part 1, "The tracker"). */
	bool rank_peers;                  /* false: peers in joining order */
	unsigned tracker_list_size;       /* peers in one join or list answer */
	unsigned max_links_per_member;    /* links a member should keep, and measurements kept of it */
	unsigned report_interval_seconds; /* the least spacing of one member's reports (1 s of slack) */
	char location_database[SD_LIMITS_PATH_MAX]; /* libloc database; "" for none */
} sd_limits;

typedef enum {
	SD_LIMIT_OK,
	SD_LIMIT_UNKNOWN_KEY,
	SD_LIMIT_BAD_VALUE, /* not of the key's kind, or out of range: the limit keeps its value */
} sd_limit_result;

void sd_limits_default(sd_limits *limits);

/* Sets the limit named key from its text: a whole number in decimal, true or false, or a path.
 * On failure writes why into err. */
sd_limit_result sd_limits_set(sd_limits *limits, const char *key, const char *value, char *err, size_t err_size);

#endif
