/* swarmdrop_relay: the relay's data channels (docs/protocol.md part 4) around sd_relay: the offer
 * of a data-channel-only PeerConnection, frames routed from the channel they came in on to their
 * targets' channels, credits and refusals sent back, offers left unanswered closed (swarmdrop.h
 * says which thread calls what). */
#include <apierror.h>

#include "swarmdrop.h"

/* The label of the relay's data channel; the browser creates it (docs/protocol.md part 4). */
#define SWARMDROP_RELAY_LABEL "sd"

void relay_retain(void *client)
{
	janus_refcount_increase(&((swarmdrop_session *)client)->ref);
}

void relay_release(void *client)
{
	janus_refcount_decrease(&((swarmdrop_session *)client)->ref);
}

/* One message on session's relay channel. The server's own member takes it in at once, so
 * whoever sent it is credited at once. */
void relay_send(swarmdrop_session *session, const void *buffer, size_t length, relay_message kind)
{
	const gboolean binary = kind == RELAY_FRAME;
	if (g_atomic_int_get(&session->destroyed) || length == 0 || length > SD_RELAY_MAX_MESSAGE)
		return;
	if (kind == RELAY_TEXT && session->seed == NULL && !sd_relay_text_fits(relay, session, length))
		return;
	if (session->seed != NULL) {
		sd_seed_deliver(session->seed, buffer, length, binary);
		if (!binary)
			return; /* the plugin's own message (a credit): nothing relayed to pay for */
		GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
		sd_relay_drained(relay, session, g_get_monotonic_time(), credits);
		relay_pay(credits);
		g_array_unref(credits);
		return;
	}
	janus_plugin_data packet = {
		.label = SWARMDROP_RELAY_LABEL, .binary = binary, .buffer = (char *)buffer, .length = (uint16_t)length};
	gateway->relay_data(session->handle, &packet);
}

static void relay_send_json(swarmdrop_session *session, json_t *message, relay_message kind)
{
	char *text = json_dumps(message, JSON_COMPACT);
	if (text != NULL)
		relay_send(session, text, strlen(text), kind);
	free(text);
	json_decref(message);
}

/* A refused relayed frame, told to its sender: for one target (peer) or all (NULL), within the
 * client's refusal budget (sd_relay_may_refuse). */
static void relay_refused(swarmdrop_session *session, const char *peer, const sd_error *err)
{
	note_refused(err, NULL);
	if (!sd_relay_may_refuse(relay, session, g_get_monotonic_time()))
		return;
	log_error(LOG_VERB, "relay refused", err);
	relay_send_json(session,
	                json_pack("{s:s, s:s?, s:i, s:s}", "t", "refused", "to", peer, "error_code", err->code, "error",
	                          err->message),
	                RELAY_TEXT);
}

/* Tells senders they may send again, and lets go of the references the credits carry. */
void relay_pay(GArray *credits)
{
	for (guint i = 0; i < credits->len; i++) {
		sd_relay_credit *credit = &g_array_index(credits, sd_relay_credit, i);
		if (((swarmdrop_session *)credit->client)->node != NULL) {
			cluster_relay_credit(credit);
			relay_release(credit->client);
			continue;
		}
		/* At most SD_RELAY_CREDIT_TEXT_MAX bytes, as sd_relay counted it. */
		relay_send_json(credit->client,
		                json_pack("{s:s, s:s, s:s, s:I}", "t", "credit", "from", credit->from, "to", credit->to,
		                          "bytes", (json_int_t)credit->bytes),
		                RELAY_CREDIT);
		relay_release(credit->client);
	}
	g_array_set_size(credits, 0);
}

/* The relay's data-channel-only offer (the core adds ICE and DTLS), as in janus_textroom.c. */
static json_t *relay_offer(void)
{
	char sdp[256];
	g_snprintf(sdp, sizeof(sdp),
	           "v=0\r\no=- %" G_GINT64_FORMAT " 1 IN IP4 127.0.0.1\r\ns=swarmdrop relay\r\nt=0 0\r\n"
	           "m=application 1 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 1.1.1.1\r\na=sctp-port:5000\r\n",
	           g_get_real_time());
	return json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp);
}

/* Member peer of share asked for the relay (*response: the service's "relay" answer): it becomes
 * an endpoint now if the channel is ready, else once it is (sd_relay keeps it waiting until
 * then, or until it leaves); the first time, the answer carries the offer. A refusal (another
 * client holds that member's endpoint) replaces the answer. */
json_t *relay_requested(swarmdrop_session *session, const char *share, const char *peer, json_t **response)
{
	json_t *jsep = NULL;
	sd_error err;
	sd_relay_expect_result result = SD_RELAY_REFUSED;
	janus_mutex_lock(&session->relay_mutex);
	/* A session destroy_session released gets nothing from the relay again (it would hold it). */
	if (g_atomic_int_get(&session->destroyed))
		sd_fail(&err, SD_ERR_NOT_JOINED, "this handle is gone");
	else
		result = sd_relay_expect(relay, session, share, peer, &err);
	if (result == SD_RELAY_PENDING && !session->relay_offered) {
		session->relay_offered = TRUE;
		session->relay_offered_at = g_get_monotonic_time();
		relay_offer_sent *sent = g_new(relay_offer_sent, 1);
		sent->session = session;
		sent->at = session->relay_offered_at;
		janus_refcount_increase(&session->ref);
		g_queue_push_tail(offers, sent);
		jsep = relay_offer();
	}
	janus_mutex_unlock(&session->relay_mutex);
	if (result == SD_RELAY_REFUSED) {
		log_error(LOG_VERB, "relay refused", &err);
		note_refused(&err, share);
		json_decref(*response);
		*response = sd_error_json(&err);
		return NULL;
	}
	json_object_set_new(*response, "window", json_integer((json_int_t)sd_relay_window(relay)));
	if (result == SD_RELAY_ATTACHED)
		json_object_set_new(*response, "ready", json_true());
	return jsep;
}

/* Closes the relay offers left unanswered for relay_offer_timeout_seconds by now: the
 * PeerConnection goes (its UDP socket and ICE agent with it) and its waiting members are
 * dropped; a later `relay` makes a new offer. Offers answered, hung up or made again since are
 * just forgotten. Worker thread. */
void expire_offers(gint64 now)
{
	relay_offer_sent *sent;
	while ((sent = g_queue_peek_head(offers)) != NULL && now - sent->at >= relay_offer_timeout_us) {
		g_queue_pop_head(offers);
		swarmdrop_session *session = sent->session;
		janus_mutex_lock(&session->relay_mutex);
		gboolean unanswered = session->relay_offered && !session->relay_ready && session->relay_offered_at == sent->at;
		if (unanswered) {
			sd_relay_client_gone(relay, session);
			session->relay_offered = FALSE;
		}
		janus_mutex_unlock(&session->relay_mutex);
		if (unanswered && !g_atomic_int_get(&session->destroyed)) {
			JANUS_LOG(LOG_VERB, "[%s] a relay offer went unanswered for %" G_GINT64_FORMAT " s: closed\n",
			          SWARMDROP_PACKAGE, relay_offer_timeout_us / G_USEC_PER_SEC);
			gateway->close_pc(session->handle);
		}
		janus_refcount_decrease(&session->ref);
		g_free(sent);
	}
}

/* Janus refused the relay's offer (a `relay` right after a hangup: the handle's last
 * PeerConnection is still closing), so the answer never left: the handle is as if never offered,
 * its waiting members go, and the client hears 470 and asks again. */
void relay_offer_refused(swarmdrop_session *session, const char *transaction, int janus_error)
{
	janus_mutex_lock(&session->relay_mutex);
	session->relay_offered = FALSE;
	sd_relay_client_gone(relay, session);
	janus_mutex_unlock(&session->relay_mutex);
	sd_error err;
	sd_fail(&err, SD_ERR_RELAY_BUSY, "the relay connection could not be offered now (Janus error %d); ask again", janus_error);
	log_error(LOG_VERB, "relay offer refused", &err);
	note_refused(&err, NULL);
	json_t *refusal = sd_error_json(&err);
	gateway->push_event(session->handle, &swarmdrop_plugin, transaction, refusal, NULL);
	json_decref(refusal);
}

void relay_deliver(const sd_relay_route *route)
{
	for (guint i = 0; i < route->n_targets; i++) {
		swarmdrop_session *target = route->targets[i];
		if (target->node != NULL)
			cluster_relay_frame(target, route->share, route->target_ids[i], route->out, route->out_length);
		else
			relay_send(target, route->out, route->out_length, RELAY_FRAME);
		relay_release(target);
	}
}

/* A relay frame from the browser: routed here, on the event-loop thread of its handle, to each
 * target. Nothing here blocks (the loop serves other handles too: janus.jcfg's event_loops) but a
 * published share's seed, which reads and encrypts a piece when a viewer asks (sd_seed). The
 * frame is rewritten in place (sd_relay_route_message): Janus 1.1.2 hands over its own receive
 * buffer, usrsctp's or its reassembly buffer, which nothing reads after this call (src/sctp.c,
 * janus_sctp_handle_message); relay_data copies what goes out. */
void relay_incoming_data(swarmdrop_session *session, janus_plugin_data *packet)
{
	sd_relay_route route;
	sd_error err;
	if (!packet->binary) {
		sd_fail(&err, SD_ERR_RELAY_MALFORMED, "relay frames are binary messages");
		relay_refused(session, NULL, &err);
	} else if (!sd_relay_route_message(relay, session, (guint8 *)packet->buffer, packet->length, &route, &err)) {
		relay_refused(session, NULL, &err);
	} else {
		relay_deliver(&route);
		for (guint i = 0; i < route.n_refused; i++)
			relay_refused(session, route.refused[i].peer, &route.refused[i].error);
	}
}

/* The first call: the channel carries data, the waiting members become endpoints and the
 * browser hears "ready". Later ones: everything sent to this handle was taken in, so its
 * senders get credits. */
void relay_data_ready(swarmdrop_session *session)
{
	json_t *ready = NULL;
	GPtrArray *attached = g_ptr_array_new_with_free_func(g_free);
	janus_mutex_lock(&session->relay_mutex);
	/* Not after destroy_session or hangup_media released the session: endpoints attached now
	 * would hold it for good. */
	if (session->relay_offered && !session->relay_ready && !g_atomic_int_get(&session->destroyed) &&
	    sd_relay_ready(relay, session, attached)) {
		session->relay_ready = TRUE;
		json_t *peers = json_array();
		for (guint i = 0; i < attached->len; i++)
			json_array_append_new(peers, json_string(g_ptr_array_index(attached, i)));
		ready = json_pack("{s:s, s:o}", "t", "ready", "peers", peers);
	}
	janus_mutex_unlock(&session->relay_mutex);
	g_ptr_array_unref(attached);
	if (ready != NULL) {
		relay_send_json(session, ready, RELAY_TEXT);
	} else {
		GArray *credits = g_array_new(FALSE, FALSE, sizeof(sd_relay_credit));
		sd_relay_drained(relay, session, g_get_monotonic_time(), credits);
		relay_pay(credits);
		g_array_unref(credits);
	}
}
