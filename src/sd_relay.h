/* sd_relay: the relay of peer-wire messages between members of a share whose browsers cannot
 * reach each other (docs/protocol.md part 4). Owns the relay endpoints (a member whose client
 * opened a data channel to the server), the credit accounting that bounds what is in flight to
 * each target, the byte quotas and the rate cap. Free of Janus: clients are opaque pointers.
 * Thread-safe (one mutex): routing runs on the sending client's thread, draining on the
 * target's, attaching on the plugin's worker. */
#ifndef SD_RELAY_H
#define SD_RELAY_H

#include <glib.h>
#include <stdbool.h>

#include "sd_ids.h"
#include "sd_limits.h"
#include "sd_request.h"

#define SD_RELAY_MAX_TARGETS 8
#define SD_RELAY_ID_BYTES (SD_PEER_ID_LEN / 2)
/* In: kind, source id, target count, target ids. Out: kind, source id. */
#define SD_RELAY_IN_HEADER(targets) (2 + SD_RELAY_ID_BYTES + SD_RELAY_ID_BYTES * (targets))
#define SD_RELAY_OUT_HEADER (1 + SD_RELAY_ID_BYTES)
/* Janus drops a data-channel message of 65536 bytes (its length is a uint16). */
#define SD_RELAY_MAX_MESSAGE 65535
/* The longest credit text, {"t":"credit","from":F,"to":P,"bytes":B} compact, B up to 20 digits. */
#define SD_RELAY_CREDIT_TEXT_MAX (41 + 2 * SD_PEER_ID_LEN + 20)

/* A member id (lowercase hex, checked by the caller) as the bytes frames carry, and back. */
void sd_relay_id_from_hex(const char *hex, guint8 id[SD_RELAY_ID_BYTES]);
void sd_relay_id_to_hex(const guint8 id[SD_RELAY_ID_BYTES], char hex[SD_PEER_ID_LEN + 1]);

typedef struct sd_relay sd_relay;

/* What became of one relayed message. out (inside the message routed) holds the message for the
 * targets, out_length bytes; each of targets gets it. refused lists the targets that do not
 * (peer id and why). */
typedef struct sd_relay_route {
	const guint8 *out;
	char share[SD_SHARE_ID_LEN + 1]; /* the source's */
	void *targets[SD_RELAY_MAX_TARGETS];
	guint8 target_ids[SD_RELAY_MAX_TARGETS][SD_RELAY_ID_BYTES]; /* each target's member id */
	guint n_targets;
	struct {
		char peer[SD_PEER_ID_LEN + 1];
		sd_error error;
	} refused[SD_RELAY_MAX_TARGETS];
	guint n_refused;
	size_t out_length;
} sd_relay_route;

/* Bytes a target took in, to tell the client that sent them: it may send that much more. The
 * relay counts each against the sender's text bound (sd_relay_text_fits) as
 * SD_RELAY_CREDIT_TEXT_MAX bytes when it hands it out: the caller sends it without asking again. */
typedef struct sd_relay_credit {
	void *client;                    /* the sender's */
	char share[SD_SHARE_ID_LEN + 1];
	char from[SD_PEER_ID_LEN + 1];   /* its member id */
	char to[SD_PEER_ID_LEN + 1];     /* the target's member id */
	guint64 bytes;
} sd_relay_credit;

/* The relay holds a reference on each client it has an endpoint of, and hands one to the caller
 * with every client it returns (route targets, credit senders): the caller releases those once
 * it has sent to them. NULL hooks for clients that need no references (tests). endpoint, if not
 * NULL, hears of each endpoint made (attached true) or removed (not at sd_relay_free): the
 * operator's events. It is called on the thread that made the change, with the relay's mutex
 * held: it must not call the relay. */
typedef struct sd_relay_hooks {
	void (*retain)(void *client);
	void (*release)(void *client);
	void (*endpoint)(const char *share_id, const char *peer_id, bool attached);
} sd_relay_hooks;

sd_relay *sd_relay_new(const sd_limits *limits, const sd_relay_hooks *hooks);
void sd_relay_free(sd_relay *relay);

/* Makes member peer_id of share_id, held by client, a relay endpoint (replacing another member of
 * client in that share, if any). True if it is one now, also when it was already; false with err
 * set for malformed ids or when another client's endpoint has that id (SD_ERR_ALREADY_JOINED).
 * A client attached only this way, never sd_relay_ready (the server's own member), takes the
 * plugin's texts in at once: they are not bounded. */
bool sd_relay_attach(sd_relay *relay, void *client, const char *share_id, const char *peer_id, sd_error *err);

/* Member peer_id of share_id, held by client, asked for the relay: it is attached now if client's
 * channel is ready (SD_RELAY_ATTACHED), else it waits for sd_relay_ready (SD_RELAY_PENDING; one
 * member per share and client waits, the last asked; at most max_shares_per_handle shares).
 * SD_RELAY_REFUSED with err set as for sd_relay_attach, or when too many wait. */
typedef enum { SD_RELAY_REFUSED, SD_RELAY_PENDING, SD_RELAY_ATTACHED } sd_relay_expect_result;
sd_relay_expect_result sd_relay_expect(sd_relay *relay, void *client, const char *share_id, const char *peer_id,
                                       sd_error *err);
/* client's channel carries data now. The first time (returns true) its waiting members are
 * attached and attached (if not NULL) gets the ids of its endpoints (new strings, in a
 * GPtrArray that frees them); a member whose id another client holds now is left out. False
 * if the channel was ready already (nothing done). */
bool sd_relay_ready(sd_relay *relay, void *client, GPtrArray *attached);
/* client's member of share_id left it (or the share closed): it neither waits, sends nor
 * receives through the relay any more. */
void sd_relay_detach(sd_relay *relay, void *client, const char *share_id);
/* The client's data channel or handle is gone: every endpoint and waiting member of it goes,
 * and its channel is not ready any more. */
void sd_relay_client_gone(sd_relay *relay, void *client);

/* Checks one message (binary) that client sent and makes it the message for its targets in
 * place, without a copy: the out header goes over the end of the in header, just before the
 * data (route->out). Returns false, with err set, when nothing goes anywhere (a malformed frame,
 * a source that is not client's endpoint, a quota used up; message is left as it was); true
 * otherwise, with route->refused listing the targets left out (unknown, or whose window is full). */
bool sd_relay_route_message(sd_relay *relay, void *client, guint8 *message, size_t length, sd_relay_route *route,
                            sd_error *err);

/* ---- Several nodes (docs/architecture.md, "Several nodes"): a member on another node that uses
 * the relay is an endpoint here too, held by a stand-in client for its node. A frame for it is
 * routed as for any target (its window and this node's quotas apply here, where the sender
 * is); the plugin carries it to that node, whose relay hands it on (sd_relay_route_remote) and
 * sends the credit back when its target drained (sd_relay_remote_credit). A node's stand-in has
 * no rate cap and no text bound: its node applies them to its own clients. ---- */

/* Whether a client of this node (not a stand-in) has member peer_id of share_id as an endpoint. */
bool sd_relay_serves(sd_relay *relay, const char *share_id, const char *peer_id);
/* node's member peer_id of share_id uses the relay (true), or not any more (false). True when it
 * is an endpoint now; false with err set for malformed ids or when a client of this node holds
 * that id (this node's record is the live one). */
bool sd_relay_attach_remote(sd_relay *relay, void *node, const char *share_id, const char *peer_id, sd_error *err);
void sd_relay_detach_remote(sd_relay *relay, void *node, const char *share_id, const char *peer_id);
/* node's endpoints in share_id are these n peers now (n 0: none): the others go. */
void sd_relay_remote_roster(sd_relay *relay, void *node, const char *share_id, const char *const *peers, size_t n);
/* A frame node forwarded (its relay routed it: trusted) from its member source to this node's
 * member target, length bytes as targets get it: counted in flight to target. Returns target's
 * client (a reference: release it once sent), or NULL when target is not this node's endpoint in
 * share_id. An unknown source becomes node's endpoint (a frame may overtake its record). */
void *sd_relay_route_remote(sd_relay *relay, void *node, const char *share_id, const guint8 source[SD_RELAY_ID_BYTES],
                            const guint8 target[SD_RELAY_ID_BYTES], size_t length);
/* node says its member `to` took in bytes from this node's member `from` (or the frame was lost
 * on the way): as a drain of that flow here, paid as far as from's rate cap goes (credits, as
 * sd_relay_drained). Never more than what is in flight. */
void sd_relay_remote_credit(sd_relay *relay, void *node, const char *share_id, const guint8 from[SD_RELAY_ID_BYTES],
                            const guint8 to[SD_RELAY_ID_BYTES], guint64 bytes, gint64 now_us, GArray *credits);
/* What went between this node and node may be lost (the engine was away): bytes in flight to
 * node's endpoints count as taken in (their senders paid, as the rate allows), and node is owed
 * nothing for what it sent. */
void sd_relay_forgive(sd_relay *relay, void *node, gint64 now_us, GArray *credits);

/* client's data channel drained (everything it was sent was taken in): appends to credits
 * (an array of sd_relay_credit) what each sender may send again, and what client itself is owed,
 * as far as the rate cap allows at now_us and each sender's channel has room for the text. The
 * rest stays owed, never lost, and is paid by a later drain of the sender or sd_relay_tick: one
 * credit per sender and target however much it owes. */
void sd_relay_drained(sd_relay *relay, void *client, gint64 now_us, GArray *credits);
/* Pays owed credits the rate cap and the senders' text bounds allow by now_us. */
void sd_relay_tick(sd_relay *relay, gint64 now_us, GArray *credits);

/* Whether client may be told of one more refused frame at now_us: at most
 * relay_refusals_per_second a second (a second's worth saved), so that a flood of refused
 * frames (one byte each costs a reply of ~120) gets a bounded number of replies; the rest are
 * dropped and counted. A client the relay does not know (gone, or never attached) is told
 * nothing: it is looked up, never added. */
bool sd_relay_may_refuse(sd_relay *relay, void *client, gint64 now_us);
/* Whether the plugin's own text message (a refusal, ready) of length bytes may go on client's
 * channel: texts count against a relay window until the channel drains (sd_relay_drained), as
 * relayed bytes do, since Janus queues SCTP messages without bound when a peer stops
 * acknowledging; the rest are dropped and counted (advisory texts only: credits wait instead,
 * see sd_relay_drained). Only a client whose channel is ready (sd_relay_ready) is bounded; one
 * the relay does not know gets nothing (looked up, never added). */
bool sd_relay_text_fits(sd_relay *relay, void *client, size_t length);
typedef struct sd_relay_dropped {
	guint64 refusals, texts;
} sd_relay_dropped;
/* What sd_relay_may_refuse and sd_relay_text_fits dropped so far, over all clients. */
sd_relay_dropped sd_relay_dropped_count(sd_relay *relay);

/* Bytes in flight to client's endpoints, the number of endpoints, of members waiting for
 * client's channel, and of all members waiting: what the tests and query_session observe. */
guint64 sd_relay_in_flight(sd_relay *relay, void *client);
guint sd_relay_endpoint_count(sd_relay *relay);
guint sd_relay_pending_count(sd_relay *relay, void *client);
guint sd_relay_waiting_count(sd_relay *relay);
/* Bytes one member may have in flight to another: relay_window_kib, or under a rate cap
 * (relay_client_rate_kib) at most two seconds of the rate (but 256 KiB), what clients are told.
 * Fixed at sd_relay_new. */
guint64 sd_relay_window(const sd_relay *relay);
/* For the operator's stats: bytes relayed since the relay began (each target's copy counted),
 * and one share's relayed bytes (what its quota counts) and endpoints; 0 and 0 for a share with
 * none now (its count goes with its last endpoint). */
guint64 sd_relay_relayed_bytes(sd_relay *relay);
void sd_relay_share_use(sd_relay *relay, const char *share_id, guint64 *bytes, guint *endpoints);

#endif
