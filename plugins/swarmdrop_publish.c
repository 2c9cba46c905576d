/* swarmdrop_publish: media the operator publishes (docs/protocol.md part 5). Each file gets a
 * share whose owner is the server, prepared (remuxed, hashed, sealed: sd_publish) on the
 * preparers' thread, and served by the server's own member of that share (a session without a
 * Janus handle) through its sd_seed (swarmdrop.h says which thread calls what). */
#include <errno.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swarmdrop.h"

/* Preparation progress events go to the publisher at most this often. */
#define SWARMDROP_PROGRESS_US (G_USEC_PER_SEC / 2)

/* The seed's frames go into the relay as if its member's data channel had sent them (routed in
 * the seed's own frame buffer, as sd_seed.h allows). */
static int seed_send(void *opaque, guint8 *frame, size_t length)
{
	sd_relay_route route;
	sd_error err;
	if (!sd_relay_route_message(relay, opaque, frame, length, &route, &err))
		return err.code;
	relay_deliver(&route);
	return route.n_refused > 0 ? route.refused[0].error.code : 0;
}

/* What goes wrong in a seed that nobody asked about (a piece it cannot read, a viewer it ignores). */
static void seed_problem(void *opaque, const sd_error *err)
{
	(void)opaque;
	log_error(err->code == SD_ERR_PEER_WIRE ? LOG_VERB : LOG_WARN, "published media", err);
}

static void published_free(const janus_refcount *ref)
{
	swarmdrop_published *entry = janus_refcount_containerof(ref, swarmdrop_published, ref);
	if (entry->publisher != NULL)
		janus_refcount_decrease(&entry->publisher->ref);
	sd_quota_remove_client(quota, entry->seed);
	janus_refcount_decrease(&entry->seed->ref);
	OPENSSL_cleanse(&entry->job, sizeof(entry->job));
	g_free(entry->source);
	g_free(entry->output);
	g_free(entry);
}

void published_unref(gpointer entry)
{
	janus_refcount_decrease(&((swarmdrop_published *)entry)->ref);
}

/* Tells the operator's session that published the file how it is coming along (takes event). */
static void publish_event(swarmdrop_published *entry, const char *name, json_t *event)
{
	json_object_set_new(event, "swarmdrop", json_string("event"));
	json_object_set_new(event, "event", json_string(name));
	json_object_set_new(event, "share", json_string(entry->share));
	swarmdrop_session *publisher = entry->publisher;
	if (publisher != NULL && !g_atomic_int_get(&publisher->destroyed))
		gateway->push_event(publisher->handle, &swarmdrop_plugin, NULL, event, NULL);
	json_decref(event);
}

static bool publish_progress(void *opaque, const char *stage, double fraction)
{
	swarmdrop_published *entry = opaque;
	if (g_atomic_int_get(&stopping) || g_atomic_int_get(&entry->cancelled))
		return false;
	gint64 now = g_get_monotonic_time();
	if (now - entry->last_progress >= SWARMDROP_PROGRESS_US) {
		entry->last_progress = now;
		publish_event(entry, "publish_progress", json_pack("{s:s, s:f}", "stage", stage, "progress", fraction));
	}
	return true;
}

/* On the preparers' thread: remux, hash, seal; then the seed serves, or the share goes. */
void publish_prepare(gpointer data, gpointer user_data)
{
	(void)user_data;
	swarmdrop_published *entry = data;
	gint64 started = g_get_monotonic_time();
	sd_error err;
	sd_seed_content *content = sd_publish_prepare(&entry->job, &err);
	double seconds = (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC;
	if (content != NULL) {
		sd_seed_set_content(entry->seed->seed, content);
		g_atomic_int_set(&entry->state, PUBLISH_READY);
		JANUS_LOG(LOG_INFO, "[%s] published %s as share %s (prepared in %.1f s)\n", SWARMDROP_PACKAGE, entry->source,
		          entry->share, seconds);
		publish_event(entry, "published", json_pack("{s:f}", "seconds", seconds));
	} else {
		g_atomic_int_set(&entry->state, PUBLISH_FAILED);
		log_error(LOG_WARN, entry->source, &err);
		publish_event(entry, "publish_failed", json_pack("{s:i, s:s}", "error_code", err.code, "error", err.message));
		/* The share goes on the worker thread, which owns the service. */
		if (!g_atomic_int_get(&stopping)) {
			swarmdrop_message *msg = g_new0(swarmdrop_message, 1);
			msg->kind = MESSAGE_UNPUBLISH;
			msg->body = json_pack("{s:s, s:s}", "share", entry->share, "reason", "publish_failed");
			g_async_queue_push(messages, msg);
		}
	}
	janus_refcount_decrease(&entry->publisher->ref);
	entry->publisher = NULL;
	janus_refcount_decrease(&entry->ref);
}

swarmdrop_published *published_share(const char *share)
{
	GHashTableIter it;
	gpointer entry;
	g_hash_table_iter_init(&it, published);
	while (g_hash_table_iter_next(&it, NULL, &entry))
		if (strcmp(((swarmdrop_published *)entry)->share, share) == 0)
			return entry;
	return NULL;
}

/* Closes a published share: viewers hear share_closed, the server's member and its file go. */
void unpublish(swarmdrop_published *entry, const char *reason)
{
	g_atomic_int_set(&entry->cancelled, 1);
	sd_service_close_share(service, entry->share, reason);
	sd_relay_client_gone(relay, entry->seed);
	g_atomic_int_set(&entry->seed->destroyed, 1);
	unlink(entry->output);
	g_hash_table_remove(published, entry->source);
}

/* A new share for source (taken) with the server as its origin, and its preparation queued. */
static swarmdrop_published *publish_start(swarmdrop_session *publisher, char *source, const struct stat *st,
                                          gboolean transcode_audio, sd_error *err)
{
	swarmdrop_published *entry = g_new0(swarmdrop_published, 1);
	janus_refcount_init(&entry->ref, published_free);
	entry->source = source;
	entry->source_size = st->st_size;
	entry->source_mtime = st->st_mtime;
	entry->transcode_audio = transcode_audio;
	entry->seed = session_new(NULL);
	/* The server's own member: no connection, no per-connection limits. */
	sd_quota_add_client(quota, NULL, entry->seed, 0, err);
	sd_outcome created;
	bool ok = sd_service_create_relay_only(service, entry->seed, &created);
	const char *share = created.share, *peer = created.peer;
	if (!ok) {
		*err = created.error;
	} else {
		g_strlcpy(entry->share, share, sizeof(entry->share));
		entry->seed->seed = sd_seed_new(peer, sd_relay_window(relay), seed_send, entry->seed);
		sd_seed_on_problem(entry->seed->seed, seed_problem);
		entry->output = g_strdup_printf("%s/%s.mp4", publishing.cache_folder, entry->share);
		entry->job = (sd_publish_job){.source = entry->source, .output = entry->output,
		                              .transcode_audio = transcode_audio, .progress = publish_progress, .opaque = entry};
		ok = sd_relay_attach(relay, entry->seed, share, peer, err) && sd_publish_job_keys(&entry->job, entry->link, err);
		if (!ok) {
			sd_service_close_share(service, entry->share, "publish_failed");
			sd_relay_client_gone(relay, entry->seed);
		}
	}
	if (!ok) {
		janus_refcount_decrease(&entry->ref);
		return NULL;
	}
	janus_refcount_increase(&publisher->ref);
	entry->publisher = publisher;
	g_hash_table_insert(published, entry->source, entry);
	janus_refcount_increase(&entry->ref);
	g_thread_pool_push(preparers, entry, NULL);
	return entry;
}

/* The operator's requests (checked by the service) are answered here: the answer, or NULL with
 * err set. */

/* `publish`: the share of that file, prepared now or reused. */
json_t *publish_requested(swarmdrop_session *session, const sd_outcome *request, sd_error *err)
{
	char *source = NULL;
	struct stat st;
	if (!sd_publish_check(&publishing, request->admin_key, request->path, &source, err))
		return NULL;
	if (stat(source, &st) != 0) {
		sd_fail(err, SD_ERR_MEDIA_PATH, "%s: %s", source, g_strerror(errno));
		g_free(source);
		return NULL;
	}
	gboolean transcode_audio = request->transcode_audio;
	swarmdrop_published *entry = g_hash_table_lookup(published, source);
	/* A second viewer, or a second publish of the same file, reuses the first remux. */
	if (entry != NULL && (entry->source_size != st.st_size || entry->source_mtime != st.st_mtime ||
	                      entry->transcode_audio != transcode_audio || g_atomic_int_get(&entry->state) == PUBLISH_FAILED))
		unpublish(entry, "unpublished");
	else if (entry != NULL)
		g_clear_pointer(&source, g_free);
	if (source != NULL && (entry = publish_start(session, source, &st, transcode_audio, err)) == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:b}", "swarmdrop", "published", "share", entry->share, "link", entry->link,
	                 "ready", g_atomic_int_get(&entry->state) == PUBLISH_READY);
}

json_t *unpublish_requested(const sd_outcome *request, sd_error *err)
{
	const char *share = request->share;
	swarmdrop_published *entry = NULL;
	if (sd_publish_check_key(&publishing, request->admin_key, err) &&
	    (entry = published_share(share)) == NULL)
		sd_fail(err, SD_ERR_NOT_PUBLISHED, "share %s is not one the server publishes", share);
	if (entry == NULL)
		return NULL;
	unpublish(entry, "unpublished");
	return json_pack("{s:s, s:s}", "swarmdrop", "unpublished", "share", share);
}
