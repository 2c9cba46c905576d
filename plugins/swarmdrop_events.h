/* swarmdrop_events: what janus.plugin.swarmdrop tells Janus's event handlers (janus.jcfg's
 * events category; an event handler plugin such as sampleevh, mqttevh, rabbitmqevh or wsevh
 * carries it to the operator's sink), as docs/protocol.md part 7 lists: shares made and closed
 * and members joining and leaving (sd_service's observer), members starting and stopping to use
 * the relay (sd_relay's endpoint hook), and requests or relay frames refused for a quota. Owns
 * the quota events' rate limit: at most one per code a second, the rest counted in the next
 * one's "suppressed". Nothing is built while Janus has event handlers off.
 * Threads: the service's facts come on the plugin's worker; relay endpoints on the worker, on
 * Janus's request threads (destroy_session) and on the handles' event-loop threads; refusals on
 * all of these. Every function is safe on any thread: notify_event queues the event (and takes
 * it), the rate limit takes a short lock. Nothing fails: an event Janus does not take is lost. */
#ifndef SWARMDROP_EVENTS_H
#define SWARMDROP_EVENTS_H

#include <stdbool.h>

#include <plugins/plugin.h>

#include "sd_error.h"
#include "sd_service.h"

/* Before any other call: the gateway's callbacks and the plugin the events are from. */
void swarmdrop_events_init(janus_callbacks *gateway, janus_plugin *plugin);

/* sd_service's observer (sd_service_observe): share_created, member_joined, member_left,
 * share_closed. */
void swarmdrop_events_fact(const sd_event *event, void *user_data);

/* sd_relay's endpoint hook: relay_attached, relay_detached. */
void swarmdrop_events_relay(const char *share_id, const char *peer_id, bool attached);

/* A request, handle or relay frame refused with err: a quota_hit event when err's code is a
 * quota's (449, 450, 451, 459, 460, 468, 469), within the rate limit. share: the share it
 * named, NULL or "" when none is known. */
void swarmdrop_events_refused(const sd_error *err, const char *share);

#endif
