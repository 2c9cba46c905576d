#include "sd_seed.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "sd_relay.h"
#include "sd_request.h"

/* Peer-wire numbers of docs/protocol.md part 2. */
#define MANIFEST_PART_BYTES 45000
#define HASH_BATCH_MAX 1024
#define FRAME_HEADER 8
/* The seed names one target per frame, so its messages may use what eight targets would take. */
#define MESSAGE_MAX (SD_RELAY_MAX_MESSAGE - SD_RELAY_IN_HEADER(1))
#define KIND_TEXT 0
#define KIND_BINARY 1

struct sd_seed_content {
	int fd;
	uint64_t total, piece_count;
	uint32_t piece_size;
	uint8_t key[SD_CONTENT_KEY_LEN];
	GPtrArray *greeting; /* GBytes*: the text messages every viewer gets after hello, in order */
};

typedef struct viewer {
	char id[SD_PEER_ID_LEN + 1];
	guint8 id_bytes[SD_RELAY_ID_BYTES];
	bool open;           /* it said hello */
	bool banned;         /* it broke the peer wire: ignored */
	guint64 in_flight;   /* relayed to it and not credited back */
	guint greeted;       /* greeting messages sent */
	guint32 queue[SD_SEED_MAX_QUEUED];
	guint queued;
	guint32 rejects[SD_SEED_MAX_QUEUED]; /* `reject`s owed, sent before any piece */
	guint rejected;
	guint8 *piece;       /* C_i going out, piece_size + 16 bytes once allocated */
	size_t piece_len, piece_sent;
	guint32 piece_index;
	bool sending;
} viewer;

struct sd_seed {
	GMutex mutex;
	guint8 id_bytes[SD_RELAY_ID_BYTES]; /* our member id, as frames carry it */
	guint64 window;
	sd_seed_send_fn send;
	sd_seed_problem_fn problem;
	void *opaque;
	sd_seed_content *content;
	GHashTable *viewers; /* id -> viewer */
	guint8 frame[SD_RELAY_MAX_MESSAGE];
};

/* ---- Content ------------------------------------------------------------------------------------ */

static void add_message(GPtrArray *greeting, json_t *message)
{
	char *text = json_dumps(message, JSON_COMPACT);
	json_decref(message);
	if (text != NULL)
		g_ptr_array_add(greeting, g_bytes_new_take(text, strlen(text)));
}

static json_t *b64(const guint8 *data, size_t len)
{
	gchar *text = g_base64_encode(data, len);
	json_t *value = json_string(text);
	g_free(text);
	return value;
}

sd_seed_content *sd_seed_content_new(int fd, uint64_t total, uint32_t piece_size,
                                     const uint8_t key[SD_CONTENT_KEY_LEN], const sd_content_signer *signer,
                                     const uint8_t *sealed, size_t sealed_len, const uint8_t *hashes,
                                     sd_error *err)
{
	uint64_t count;
	if (!sd_content_piece_count(total, piece_size, &count, err))
		return NULL;
	/* A bitfield beyond what one message carries would need `have` lists; published files stay
	 * below it by their piece size (sd_publish). */
	if ((count + 7) / 8 * 4 / 3 + 64 > MESSAGE_MAX) {
		sd_fail(err, SD_ERR_CONTENT_TOO_LARGE, "%" G_GUINT64_FORMAT " pieces do not fit one have message", count);
		return NULL;
	}
	sd_seed_content *content = g_new0(sd_seed_content, 1);
	content->fd = fd;
	content->total = total;
	content->piece_size = piece_size;
	content->piece_count = count;
	memcpy(content->key, key, SD_CONTENT_KEY_LEN);
	content->greeting = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	size_t parts = (sealed_len + MANIFEST_PART_BYTES - 1) / MANIFEST_PART_BYTES;
	for (size_t part = 0; part < parts; part++) {
		size_t at = part * MANIFEST_PART_BYTES, len = MIN(MANIFEST_PART_BYTES, sealed_len - at);
		add_message(content->greeting, json_pack("{s:s, s:I, s:I, s:o}", "t", "manifest", "part", (json_int_t)part,
		                                         "parts", (json_int_t)parts, "sealed", b64(sealed + at, len)));
	}
	for (uint64_t first = 0; first < count; first += HASH_BATCH_MAX) {
		uint32_t n = (uint32_t)MIN((uint64_t)HASH_BATCH_MAX, count - first);
		uint8_t sig[SD_CONTENT_SIG_LEN];
		const uint8_t *batch = hashes + first * SD_CONTENT_HASH_LEN;
		if (!sd_content_hashes_sign(signer, first, n, batch, (size_t)n * SD_CONTENT_HASH_LEN, sig, err)) {
			content->fd = -1; /* the caller keeps fd on failure */
			sd_seed_content_free(content);
			return NULL;
		}
		add_message(content->greeting,
		            json_pack("{s:s, s:I, s:I, s:o, s:o}", "t", "hashes", "first", (json_int_t)first, "count",
		                      (json_int_t)n, "hashes", b64(batch, (size_t)n * SD_CONTENT_HASH_LEN), "sig",
		                      b64(sig, sizeof(sig))));
	}
	size_t bitfield_len = (size_t)((count + 7) / 8);
	guint8 *bitfield = g_malloc0(bitfield_len + 1);
	for (uint64_t i = 0; i < count; i++)
		bitfield[i / 8] |= (guint8)(0x80 >> (i % 8));
	add_message(content->greeting, json_pack("{s:s, s:o}", "t", "have", "bitfield", b64(bitfield, bitfield_len)));
	g_free(bitfield);
	return content;
}

void sd_seed_content_free(sd_seed_content *content)
{
	if (content == NULL)
		return;
	if (content->fd >= 0)
		close(content->fd);
	g_ptr_array_unref(content->greeting);
	g_free(content);
}

/* ---- Sending ----------------------------------------------------------------------------------- */

static void viewer_free(viewer *v)
{
	g_free(v->piece);
	g_free(v);
}

/* One message to v through the relay, if its window has room. False when it did not go; the
 * viewer may be gone then (*gone). */
static bool send_to(sd_seed *seed, viewer *v, int kind, const guint8 *head, size_t head_len, const guint8 *body,
                    size_t body_len, bool *gone)
{
	size_t message_len = head_len + body_len;
	if (v->in_flight + SD_RELAY_OUT_HEADER + message_len > seed->window)
		return false;
	guint8 *frame = seed->frame;
	frame[0] = (guint8)kind;
	memcpy(frame + 1, seed->id_bytes, SD_RELAY_ID_BYTES);
	frame[1 + SD_RELAY_ID_BYTES] = 1;
	memcpy(frame + 2 + SD_RELAY_ID_BYTES, v->id_bytes, SD_RELAY_ID_BYTES);
	size_t at = SD_RELAY_IN_HEADER(1);
	memcpy(frame + at, head, head_len);
	if (body_len > 0)
		memcpy(frame + at + head_len, body, body_len);
	int refused = seed->send(seed->opaque, frame, at + message_len);
	if (refused == SD_ERR_RELAY_NO_TARGET) {
		*gone = true;
		return false;
	}
	if (refused != 0)
		return false; /* a quota: nothing more goes until credits come back */
	v->in_flight += SD_RELAY_OUT_HEADER + message_len;
	return true;
}

static bool send_text(sd_seed *seed, viewer *v, const char *text, size_t len, bool *gone)
{
	return send_to(seed, v, KIND_TEXT, (const guint8 *)text, len, NULL, 0, gone);
}

static void send_json(sd_seed *seed, viewer *v, json_t *message, bool *gone)
{
	char *text = json_dumps(message, JSON_COMPACT);
	json_decref(message);
	if (text != NULL)
		send_text(seed, v, text, strlen(text), gone);
	free(text);
}

static void report(sd_seed *seed, const sd_error *err)
{
	if (seed->problem != NULL)
		seed->problem(seed->opaque, err);
}

/* Reads and encrypts piece index into v->piece. */
static bool load_piece(sd_seed *seed, viewer *v, guint32 index)
{
	sd_seed_content *content = seed->content;
	sd_error err;
	if (v->piece == NULL)
		v->piece = g_malloc((size_t)content->piece_size + SD_CONTENT_TAG_LEN);
	if (!sd_content_piece_from_file(content->fd, content->total, content->piece_size, content->key, index, v->piece,
	                                (size_t)content->piece_size + SD_CONTENT_TAG_LEN, &v->piece_len, &err)) {
		report(seed, &err);
		return false;
	}
	v->piece_index = index;
	v->piece_sent = 0;
	v->sending = true;
	return true;
}

/* Sends v whatever is next, as far as its window allows: the greeting, then the pieces asked. */
static void pump(sd_seed *seed, viewer *v)
{
	sd_seed_content *content = seed->content;
	bool gone = false;
	while (v->open && !v->banned && content != NULL && !gone) {
		if (v->greeted < content->greeting->len) {
			GBytes *message = g_ptr_array_index(content->greeting, v->greeted);
			gsize len;
			const char *text = g_bytes_get_data(message, &len);
			if (!send_text(seed, v, text, len, &gone))
				break;
			v->greeted++;
		} else if (v->sending) {
			guint8 head[FRAME_HEADER];
			size_t chunk = MIN(v->piece_len - v->piece_sent, (size_t)(MESSAGE_MAX - FRAME_HEADER));
			guint32 index = g_htonl(v->piece_index), at = g_htonl((guint32)v->piece_sent);
			memcpy(head, &index, 4);
			memcpy(head + 4, &at, 4);
			if (!send_to(seed, v, KIND_BINARY, head, sizeof(head), v->piece + v->piece_sent, chunk, &gone))
				break;
			v->piece_sent += chunk;
			v->sending = v->piece_sent < v->piece_len;
		} else if (v->rejected > 0) {
			char text[64];
			int len = g_snprintf(text, sizeof(text), "{\"t\":\"reject\",\"piece\":%u}", v->rejects[0]);
			if (!send_text(seed, v, text, (size_t)len, &gone))
				break;
			memmove(v->rejects, v->rejects + 1, --v->rejected * sizeof(v->rejects[0]));
		} else if (v->queued > 0) {
			guint32 index = v->queue[0];
			memmove(v->queue, v->queue + 1, --v->queued * sizeof(v->queue[0]));
			if (!load_piece(seed, v, index))
				v->rejects[v->rejected++] = index; /* rejects go before the queue: there is room */
		} else {
			break;
		}
	}
	if (gone)
		g_hash_table_remove(seed->viewers, v->id);
}

/* ---- Receiving --------------------------------------------------------------------------------- */

static void ban(sd_seed *seed, viewer *v, const char *why)
{
	sd_error err;
	sd_fail(&err, SD_ERR_PEER_WIRE, "viewer %s ignored from now on: %s", v->id, why);
	report(seed, &err);
	v->banned = true;
	v->queued = 0;
	v->rejected = 0;
	v->sending = false;
}

/* hello: a link opens. A viewer that set its relay up again (after a lost connection) says it
 * again: what the seed had for its old link is void, and the relay forgot what was in flight. */
static void open_link(viewer *v)
{
	v->open = true;
	v->greeted = 0;
	v->in_flight = 0;
	v->queued = 0;
	v->rejected = 0;
	v->sending = false;
}

/* A piece index from a request or cancel, or -1. */
static gint64 piece_of(sd_seed *seed, json_t *message)
{
	json_t *piece = json_object_get(message, "piece");
	if (!json_is_integer(piece) || seed->content == NULL)
		return -1;
	json_int_t index = json_integer_value(piece);
	return index >= 0 && (uint64_t)index < seed->content->piece_count ? index : -1;
}

static void take_request(sd_seed *seed, viewer *v, json_t *message)
{
	gint64 index = piece_of(seed, message);
	if (index < 0)
		return ban(seed, v, "request for a piece the share does not have");
	if (v->queued < SD_SEED_MAX_QUEUED)
		v->queue[v->queued++] = (guint32)index;
	else if (v->rejected < SD_SEED_MAX_QUEUED)
		v->rejects[v->rejected++] = (guint32)index;
	else
		ban(seed, v, "more requests than it may have waiting, and their rejects unread");
}

static void take_cancel(sd_seed *seed, viewer *v, json_t *message)
{
	gint64 index = piece_of(seed, message);
	for (guint i = 0; i < v->queued; i++) {
		if (v->queue[i] == index) {
			memmove(v->queue + i, v->queue + i + 1, (v->queued - i - 1) * sizeof(v->queue[0]));
			v->queued--;
			return;
		}
	}
}

/* A peer-wire text message from viewer v (docs/protocol.md part 2). */
static void take_text(sd_seed *seed, viewer *v, const guint8 *text, size_t len)
{
	if (v->banned)
		return;
	json_t *message = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(message, "t"));
	bool gone = false;
	if (type == NULL)
		ban(seed, v, "a text message that is not a JSON object with a string t");
	else if (strcmp(type, "relay_probe") == 0)
		send_json(seed, v, json_pack("{s:s}", "t", "relay_probe"), &gone);
	else if (!v->open && strcmp(type, "hello") != 0)
		ban(seed, v, "a message before hello");
	else if (strcmp(type, "hello") == 0)
		open_link(v);
	else if (strcmp(type, "request") == 0)
		take_request(seed, v, message);
	else if (strcmp(type, "cancel") == 0)
		take_cancel(seed, v, message);
	/* have, manifest, hashes, reject and unknown types: the origin holds everything. */
	json_decref(message);
	if (gone)
		g_hash_table_remove(seed->viewers, v->id);
	else
		pump(seed, v);
}

static viewer *viewer_of(sd_seed *seed, const guint8 id_bytes[SD_RELAY_ID_BYTES])
{
	char id[SD_PEER_ID_LEN + 1];
	sd_relay_id_to_hex(id_bytes, id);
	viewer *v = g_hash_table_lookup(seed->viewers, id);
	if (v == NULL) {
		v = g_new0(viewer, 1);
		memcpy(v->id, id, sizeof(id));
		memcpy(v->id_bytes, id_bytes, SD_RELAY_ID_BYTES);
		g_hash_table_insert(seed->viewers, v->id, v);
	}
	return v;
}

/* The plugin's own messages to the seed's endpoint: credits (refusals come back from send). */
static void take_plugin_text(sd_seed *seed, const guint8 *text, size_t len)
{
	json_t *message = json_loadb((const char *)text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(message, "t"));
	const char *to = json_string_value(json_object_get(message, "to"));
	viewer *v = to != NULL && sd_is_hex_id(to, SD_PEER_ID_LEN) ? g_hash_table_lookup(seed->viewers, to) : NULL;
	if (v != NULL && g_strcmp0(type, "credit") == 0) {
		json_int_t bytes = json_integer_value(json_object_get(message, "bytes"));
		v->in_flight -= MIN(v->in_flight, (guint64)MAX(bytes, 0));
		pump(seed, v);
	}
	json_decref(message);
}

void sd_seed_deliver(sd_seed *seed, const guint8 *message, size_t length, bool binary)
{
	g_mutex_lock(&seed->mutex);
	if (!binary) {
		take_plugin_text(seed, message, length);
	} else if (length > SD_RELAY_OUT_HEADER && message[0] == KIND_TEXT) {
		take_text(seed, viewer_of(seed, message + 1), message + SD_RELAY_OUT_HEADER,
		          length - SD_RELAY_OUT_HEADER);
	}
	/* Binary peer-wire frames (pieces) to the origin are ignored: it holds everything. */
	g_mutex_unlock(&seed->mutex);
}

/* ---- Life ---------------------------------------------------------------------------------------- */

sd_seed *sd_seed_new(const char *peer_id, guint64 window, sd_seed_send_fn send, void *opaque)
{
	if (peer_id == NULL || !sd_is_hex_id(peer_id, SD_PEER_ID_LEN) || send == NULL)
		return NULL;
	sd_seed *seed = g_new0(sd_seed, 1);
	g_mutex_init(&seed->mutex);
	sd_relay_id_from_hex(peer_id, seed->id_bytes);
	seed->window = window;
	seed->send = send;
	seed->opaque = opaque;
	seed->viewers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)viewer_free);
	return seed;
}

void sd_seed_free(sd_seed *seed)
{
	if (seed == NULL)
		return;
	g_hash_table_destroy(seed->viewers);
	sd_seed_content_free(seed->content);
	g_mutex_clear(&seed->mutex);
	g_free(seed);
}

void sd_seed_on_problem(sd_seed *seed, sd_seed_problem_fn problem)
{
	g_mutex_lock(&seed->mutex);
	seed->problem = problem;
	g_mutex_unlock(&seed->mutex);
}

void sd_seed_set_content(sd_seed *seed, sd_seed_content *content)
{
	g_mutex_lock(&seed->mutex);
	if (seed->content != NULL) {
		sd_error err;
		sd_fail(&err, SD_ERR_ARGUMENT, "the seed's content was set twice: the second is dropped");
		report(seed, &err);
		g_mutex_unlock(&seed->mutex);
		sd_seed_content_free(content);
		return;
	}
	seed->content = content;
	GList *open = g_hash_table_get_values(seed->viewers);
	for (GList *it = open; it != NULL; it = it->next)
		pump(seed, it->data);
	g_list_free(open);
	g_mutex_unlock(&seed->mutex);
}

void sd_seed_forget(sd_seed *seed, const char *peer_id)
{
	g_mutex_lock(&seed->mutex);
	g_hash_table_remove(seed->viewers, peer_id);
	g_mutex_unlock(&seed->mutex);
}

guint sd_seed_viewer_count(sd_seed *seed)
{
	g_mutex_lock(&seed->mutex);
	guint n = g_hash_table_size(seed->viewers);
	g_mutex_unlock(&seed->mutex);
	return n;
}
