#include "swarmdrop_events.h"

#include <jansson.h>

static janus_callbacks *gateway;
static janus_plugin *source;

/* When the next quota_hit event of each quota code (sd_error_limit: all in 440-499) may go. */
#define FIRST_QUOTA_CODE 440
#define LAST_QUOTA_CODE 499
typedef struct quota_state {
	gint64 next;         /* µs, monotonic */
	guint64 suppressed;  /* refusals of this code not told since its last event */
} quota_state;
static quota_state quotas[LAST_QUOTA_CODE - FIRST_QUOTA_CODE + 1];
#define QUOTA_EVENT_US G_USEC_PER_SEC
static GMutex quota_mutex; /* guards quotas */

void swarmdrop_events_init(janus_callbacks *callbacks, janus_plugin *plugin)
{
	gateway = callbacks;
	source = plugin;
}

static bool enabled(void)
{
	return gateway != NULL && gateway->events_is_enabled();
}

/* Out of any handle's context: a handle Janus already destroyed would drop the event (the
 * member_left of a closed tab), and the share and peer ids say whom it is about. */
static void notify(json_t *event)
{
	if (event != NULL)
		gateway->notify_event(source, NULL, event);
}

void swarmdrop_events_fact(const sd_event *event, void *user_data)
{
	(void)user_data;
	static const char *const names[] = {
		[SD_EVENT_PEER_JOINED] = "member_joined", [SD_EVENT_PEER_LEFT] = "member_left",
		[SD_EVENT_SHARE_CLOSED] = "share_closed", [SD_EVENT_SIGNAL] = NULL, [SD_EVENT_SHARE_CREATED] = "share_created",
	};
	const char *name = names[event->kind];
	if (name == NULL || !enabled())
		return;
	notify(json_pack("{s:s, s:s, s:s*, s:s*, s:s*}", "event", name, "share", event->share, "peer", event->peer, "role",
	                 event->role, "reason", event->reason));
}

void swarmdrop_events_relay(const char *share_id, const char *peer_id, bool attached)
{
	if (enabled())
		notify(json_pack("{s:s, s:s, s:s}", "event", attached ? "relay_attached" : "relay_detached", "share", share_id,
		                 "peer", peer_id));
}

void swarmdrop_events_refused(const sd_error *err, const char *share)
{
	if (sd_error_limit(err->code) != SD_LIMIT_QUOTA || err->code < FIRST_QUOTA_CODE || err->code > LAST_QUOTA_CODE || !enabled())
		return;
	quota_state *quota = &quotas[err->code - FIRST_QUOTA_CODE];
	gint64 now = g_get_monotonic_time();
	guint64 suppressed = 0;
	g_mutex_lock(&quota_mutex);
	bool send = now >= quota->next;
	if (send) {
		quota->next = now + QUOTA_EVENT_US;
		suppressed = quota->suppressed;
		quota->suppressed = 0;
	} else {
		quota->suppressed++;
	}
	g_mutex_unlock(&quota_mutex);
	if (!send)
		return;
	json_t *event = json_pack("{s:s, s:i, s:s, s:s*}", "event", "quota_hit", "code", err->code, "what", err->message,
	                          "share", share != NULL && share[0] != '\0' ? share : NULL);
	if (event != NULL && suppressed > 0)
		json_object_set_new(event, "suppressed", json_integer((json_int_t)suppressed));
	notify(event);
}
