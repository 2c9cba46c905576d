/* sd_seed: the server as a share's origin, speaking the peer wire through relay frames. A fake
 * relay records what the seed sends; the tests check the greeting against sd_content (the manifest
 * opens, the batches verify), the pieces against sd_content_piece_encrypt, the window, and what a
 * viewer that breaks the wire gets. */
#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "sd_manifest.h"
#include "sd_relay.h"
#include "sd_seed.h"
#include "test_support.h"

#define SEED_ID "a1a2a3a4a5a6"
#define VIEWER_ID "b1b2b3b4b5b6"
#define PIECE 16384u
#define TOTAL (3 * PIECE + 100) /* four pieces, the last short */
#define MESSAGE_MAX (SD_RELAY_MAX_MESSAGE - SD_RELAY_IN_HEADER(1))

typedef struct sent {
	int kind;
	char target[SD_PEER_ID_LEN + 1];
	GByteArray *message;
} sent;

typedef struct fixture {
	sd_seed *seed;
	GPtrArray *sent;       /* sent* */
	int refuse;            /* what the fake relay answers */
	guint problems;        /* what the seed reported through its problem callback */
	sd_error problem;      /* the last one */
	uint8_t plain[TOTAL];
	uint8_t key[SD_CONTENT_KEY_LEN];
	uint8_t pubkey[SD_CONTENT_PUBKEY_LEN];
	char path[64];
} fixture;

static void sent_free(gpointer p)
{
	sent *s = p;
	g_byte_array_unref(s->message);
	g_free(s);
}

static int fake_relay(void *opaque, guint8 *frame, size_t length)
{
	fixture *f = opaque;
	assert_true(length <= SD_RELAY_MAX_MESSAGE);
	assert_true(length > SD_RELAY_IN_HEADER(1));
	assert_int_equal(frame[1 + SD_RELAY_ID_BYTES], 1); /* one target */
	if (f->refuse != 0)
		return f->refuse;
	sent *s = g_new0(sent, 1);
	s->kind = frame[0];
	sd_relay_id_to_hex(frame + 2 + SD_RELAY_ID_BYTES, s->target);
	s->message = g_byte_array_new();
	g_byte_array_append(s->message, frame + SD_RELAY_IN_HEADER(1), (guint)(length - SD_RELAY_IN_HEADER(1)));
	g_ptr_array_add(f->sent, s);
	return 0;
}

static void note_problem(void *opaque, const sd_error *err)
{
	fixture *f = opaque;
	f->problems++;
	f->problem = *err;
}

/* A relayed text message from the viewer, as the relay hands it to the seed. */
static void from_viewer(fixture *f, const char *text)
{
	size_t len = strlen(text);
	guint8 *frame = g_malloc(SD_RELAY_OUT_HEADER + len);
	frame[0] = 0;
	sd_relay_id_from_hex(VIEWER_ID, frame + 1);
	memcpy(frame + SD_RELAY_OUT_HEADER, text, len);
	sd_seed_deliver(f->seed, frame, SD_RELAY_OUT_HEADER + len, true);
	g_free(frame);
}

static json_t *text_of(const sent *s)
{
	assert_int_equal(s->kind, 0);
	json_t *message = json_loadb((const char *)s->message->data, s->message->len, 0, NULL);
	assert_non_null(message);
	return message;
}

static const char *type_of(const sent *s, json_t **keep)
{
	*keep = text_of(s);
	return json_string_value(json_object_get(*keep, "t"));
}

static guint8 *b64_member(json_t *message, const char *name, gsize *len)
{
	return g_base64_decode(json_string_value(json_object_get(message, name)), len);
}

static sd_seed_content *make_content(fixture *f)
{
	sd_error err;
	for (size_t i = 0; i < TOTAL; i++)
		f->plain[i] = (uint8_t)(i * 7 + 3);
	g_strlcpy(f->path, "/tmp/sd-seed-XXXXXX", sizeof(f->path));
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->plain, TOTAL), TOTAL);
	assert_true(sd_content_derive_key(test_secret, f->key, &err));
	sd_content_signer *signer = sd_content_signer_new(test_seed, &err);
	sd_content_signer_public_key(signer, f->pubkey);
	uint8_t hashes[4 * SD_CONTENT_HASH_LEN], cipher[PIECE + SD_CONTENT_TAG_LEN];
	for (uint64_t i = 0; i < 4; i++) {
		size_t len = i < 3 ? PIECE : 100, cipher_len;
		assert_true(sd_content_piece_encrypt(f->key, i, f->plain + i * PIECE, len, cipher, sizeof(cipher), &cipher_len, &err));
		assert_true(sd_content_piece_hash(cipher, cipher_len, hashes + i * SD_CONTENT_HASH_LEN, &err));
	}
	char json[256];
	g_snprintf(json, sizeof(json),
	           "{\"v\":1,\"piece_size\":%u,\"total\":%u,\"files\":[{\"path\":\"m.mp4\",\"size\":%u,\"type\":\"video/mp4\"}]}",
	           PIECE, TOTAL, TOTAL);
	uint8_t sealed[512];
	size_t sealed_len;
	assert_true(sd_content_manifest_seal(f->key, signer, (const uint8_t *)json, strlen(json), sealed, sizeof(sealed),
	                                     &sealed_len, &err));
	sd_seed_content *content = sd_seed_content_new(fd, TOTAL, PIECE, f->key, signer, sealed, sealed_len, hashes, &err);
	assert_non_null(content);
	sd_content_signer_free(signer);
	return content;
}

static int set_up(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->sent = g_ptr_array_new_with_free_func(sent_free);
	f->seed = sd_seed_new(SEED_ID, 1 << 20, fake_relay, f);
	sd_seed_on_problem(f->seed, note_problem);
	*state = f;
	return 0;
}

static int tear_down(void **state)
{
	fixture *f = *state;
	sd_seed_free(f->seed);
	g_ptr_array_unref(f->sent);
	if (f->path[0] != '\0')
		unlink(f->path);
	g_free(f);
	return 0;
}

/* The pieces the seed sent, reassembled from their frames (index -> bytes). */
static GByteArray *piece_sent(fixture *f, guint32 index, guint from)
{
	GByteArray *piece = g_byte_array_new();
	for (guint i = from; i < f->sent->len; i++) {
		sent *s = g_ptr_array_index(f->sent, i);
		if (s->kind != 1)
			continue;
		assert_true(s->message->len <= MESSAGE_MAX);
		guint32 got_index = (guint32)s->message->data[0] << 24 | s->message->data[1] << 16 | s->message->data[2] << 8 |
		                    s->message->data[3];
		guint32 offset = (guint32)s->message->data[4] << 24 | s->message->data[5] << 16 | s->message->data[6] << 8 |
		                 s->message->data[7];
		if (got_index != index)
			continue;
		assert_int_equal(offset, piece->len); /* frames in order, no gap */
		g_byte_array_append(piece, s->message->data + 8, s->message->len - 8);
	}
	return piece;
}

static void probes_are_answered_and_hello_brings_the_greeting(void **state)
{
	fixture *f = *state;
	from_viewer(f, "{\"t\":\"relay_probe\"}");
	assert_int_equal(f->sent->len, 1);
	json_t *m;
	assert_string_equal(type_of(g_ptr_array_index(f->sent, 0), &m), "relay_probe");
	assert_string_equal(((sent *)g_ptr_array_index(f->sent, 0))->target, VIEWER_ID);
	json_decref(m);

	/* hello before the content is ready: nothing yet, the greeting comes with the content. */
	from_viewer(f, "{\"t\":\"hello\"}");
	assert_int_equal(f->sent->len, 1);
	sd_seed_set_content(f->seed, make_content(f));
	assert_int_equal(f->sent->len, 4); /* manifest, hashes, have */

	assert_string_equal(type_of(g_ptr_array_index(f->sent, 1), &m), "manifest");
	assert_int_equal(json_integer_value(json_object_get(m, "parts")), 1);
	gsize sealed_len;
	guint8 *sealed = b64_member(m, "sealed", &sealed_len);
	sd_manifest manifest;
	sd_error err;
	assert_true(sd_content_manifest_open(f->key, f->pubkey, sealed, sealed_len, &manifest, &err));
	assert_int_equal(manifest.total, TOTAL);
	sd_manifest_clear(&manifest);
	g_free(sealed);
	json_decref(m);

	assert_string_equal(type_of(g_ptr_array_index(f->sent, 2), &m), "hashes");
	gsize hashes_len, sig_len;
	guint8 *hashes = b64_member(m, "hashes", &hashes_len), *sig = b64_member(m, "sig", &sig_len);
	assert_int_equal(json_integer_value(json_object_get(m, "count")), 4);
	assert_int_equal(sig_len, SD_CONTENT_SIG_LEN);
	assert_true(sd_content_hashes_verify(f->pubkey, 4, 0, 4, hashes, hashes_len, sig, &err));
	g_free(hashes);
	g_free(sig);
	json_decref(m);

	assert_string_equal(type_of(g_ptr_array_index(f->sent, 3), &m), "have");
	gsize bits_len;
	guint8 *bits = b64_member(m, "bitfield", &bits_len);
	assert_int_equal(bits_len, 1);
	assert_int_equal(bits[0], 0xf0); /* four pieces, most significant bit first */
	g_free(bits);
	json_decref(m);
}

static void requested_pieces_go_in_frames_that_decrypt(void **state)
{
	fixture *f = *state;
	sd_seed_set_content(f->seed, make_content(f));
	from_viewer(f, "{\"t\":\"hello\"}");
	guint greeting = f->sent->len;
	from_viewer(f, "{\"t\":\"request\",\"piece\":3}");
	from_viewer(f, "{\"t\":\"request\",\"piece\":0}");
	for (guint32 index = 0; index < 4; index += 3) {
		GByteArray *piece = piece_sent(f, index, greeting);
		uint8_t plain[PIECE];
		size_t plain_len;
		sd_error err;
		assert_true(sd_content_piece_decrypt(f->key, index, piece->data, piece->len, plain, sizeof(plain), &plain_len, &err));
		assert_int_equal(plain_len, index == 3 ? 100 : PIECE);
		assert_memory_equal(plain, f->plain + index * PIECE, plain_len);
		g_byte_array_unref(piece);
	}
	/* In the order asked: piece 3's frame first. */
	assert_int_equal(((sent *)g_ptr_array_index(f->sent, greeting))->message->data[3], 3);
}

/* The bytes the relay would count against the window for message s. */
static guint64 relayed(const sent *s)
{
	return SD_RELAY_OUT_HEADER + s->message->len;
}

static void the_window_holds_frames_back_until_credits_come(void **state)
{
	fixture *f = *state;
	sd_seed_free(f->seed);
	const guint64 window = 20000;
	f->seed = sd_seed_new(SEED_ID, window, fake_relay, f);
	sd_seed_set_content(f->seed, make_content(f));
	from_viewer(f, "{\"t\":\"hello\"}");
	from_viewer(f, "{\"t\":\"request\",\"piece\":0}");
	from_viewer(f, "{\"t\":\"request\",\"piece\":1}");
	guint credited = 0;
	guint64 in_flight = 0;
	for (int round = 0; round < 20 && credited < f->sent->len; round++) {
		in_flight = 0;
		for (guint i = credited; i < f->sent->len; i++)
			in_flight += relayed(g_ptr_array_index(f->sent, i));
		assert_true(in_flight <= window);
		/* Credit everything sent so far: more goes. */
		char credit[128];
		g_snprintf(credit, sizeof(credit), "{\"t\":\"credit\",\"from\":\"%s\",\"to\":\"%s\",\"bytes\":%" G_GUINT64_FORMAT "}",
		           SEED_ID, VIEWER_ID, in_flight);
		credited = f->sent->len;
		sd_seed_deliver(f->seed, (const guint8 *)credit, strlen(credit), false);
	}
	GByteArray *piece = piece_sent(f, 1, 0);
	assert_int_equal(piece->len, PIECE + SD_CONTENT_TAG_LEN); /* both pieces went, a window at a time */
	g_byte_array_unref(piece);
}

static void requests_beyond_the_queue_are_rejected(void **state)
{
	fixture *f = *state;
	sd_seed_free(f->seed);
	f->seed = sd_seed_new(SEED_ID, 1 << 20, fake_relay, f);
	sd_seed_set_content(f->seed, make_content(f));
	from_viewer(f, "{\"t\":\"hello\"}");
	f->refuse = SD_ERR_RELAY_WINDOW; /* nothing goes for now: requests pile up */
	for (int i = 0; i < SD_SEED_MAX_QUEUED + 3; i++)
		from_viewer(f, "{\"t\":\"request\",\"piece\":2}");
	from_viewer(f, "{\"t\":\"cancel\",\"piece\":2}");
	guint before = f->sent->len;
	f->refuse = 0;
	char credit[128];
	g_snprintf(credit, sizeof(credit), "{\"t\":\"credit\",\"from\":\"%s\",\"to\":\"%s\",\"bytes\":0}", SEED_ID, VIEWER_ID);
	sd_seed_deliver(f->seed, (const guint8 *)credit, strlen(credit), false);
	guint rejects = 0, frames = 0;
	for (guint i = before; i < f->sent->len; i++) {
		sent *s = g_ptr_array_index(f->sent, i);
		if (s->kind == 1) {
			frames++;
			continue;
		}
		json_t *m;
		if (strcmp(type_of(s, &m), "reject") == 0)
			rejects++;
		json_decref(m);
	}
	/* 19 asked: one went out at once (its frame held back), 16 waited, 2 were beyond; one waiting was
	 * cancelled. A piece of 16 KiB + tag is one frame. */
	assert_int_equal(rejects, 2);
	assert_int_equal(frames, SD_SEED_MAX_QUEUED);
}

static void a_viewer_that_breaks_the_wire_is_ignored(void **state)
{
	fixture *f = *state;
	sd_seed_set_content(f->seed, make_content(f));
	from_viewer(f, "{\"t\":\"request\",\"piece\":0}"); /* before hello */
	from_viewer(f, "{\"t\":\"hello\"}");
	from_viewer(f, "{\"t\":\"request\",\"piece\":0}");
	assert_int_equal(f->sent->len, 0);
	assert_int_equal(sd_seed_viewer_count(f->seed), 1);
	/* Reported once, as a problem the plugin logs (the seed logs nothing itself). */
	assert_int_equal(f->problems, 1);
	assert_int_equal(f->problem.code, SD_ERR_PEER_WIRE);
	assert_non_null(strstr(f->problem.message, "a message before hello"));
	sd_seed_forget(f->seed, VIEWER_ID);
	assert_int_equal(sd_seed_viewer_count(f->seed), 0);

	/* Bad requests, one viewer each time (forgotten in between). */
	const char *bad[] = {"not json", "[1]", "{\"t\":5}", "{\"t\":\"request\",\"piece\":4}",
	                     "{\"t\":\"request\",\"piece\":-1}", "{\"t\":\"request\",\"piece\":\"0\"}"};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		from_viewer(f, "{\"t\":\"hello\"}");
		guint greeting = f->sent->len;
		from_viewer(f, bad[i]);
		from_viewer(f, "{\"t\":\"request\",\"piece\":0}");
		if (f->sent->len != greeting)
			fail_msg("after %s the seed still served", bad[i]);
		assert_int_equal(f->problems, 2 + i);
		assert_int_equal(f->problem.code, SD_ERR_PEER_WIRE);
		sd_seed_forget(f->seed, VIEWER_ID);
		g_ptr_array_set_size(f->sent, 0);
	}
	/* A banned viewer is not even answered any more. */
	from_viewer(f, "not json");
	from_viewer(f, "{\"t\":\"relay_probe\"}");
	assert_int_equal(f->sent->len, 0);
	sd_seed_forget(f->seed, VIEWER_ID);

	/* Malformed deliveries change nothing for a viewer that is served: short frames, piece
	 * frames, plugin text that is not JSON or names no viewer. */
	from_viewer(f, "{\"t\":\"hello\"}");
	guint greeting = f->sent->len;
	assert_true(greeting > 0);
	sd_seed_deliver(f->seed, (const guint8 *)"\0ab", 3, true);
	guint8 piece_frame[SD_RELAY_OUT_HEADER + 16] = {1};
	sd_relay_id_from_hex(VIEWER_ID, piece_frame + 1);
	sd_seed_deliver(f->seed, piece_frame, sizeof(piece_frame), true);
	sd_seed_deliver(f->seed, (const guint8 *)"{{", 2, false);
	const char *foreign = "{\"t\":\"credit\",\"to\":\"zz\",\"bytes\":1}";
	sd_seed_deliver(f->seed, (const guint8 *)foreign, strlen(foreign), false);
	assert_int_equal(f->sent->len, greeting);
	from_viewer(f, "{\"t\":\"request\",\"piece\":3}");
	GByteArray *piece = piece_sent(f, 3, greeting);
	assert_int_equal(piece->len, 100 + SD_CONTENT_TAG_LEN); /* still served */
	g_byte_array_unref(piece);
}

/* A piece the seed cannot read (the file shrank under it) is a problem for the plugin to log and
 * a `reject` for the viewer, never a crash or a short piece. */
static void a_piece_that_cannot_be_read_is_rejected_and_reported(void **state)
{
	fixture *f = *state;
	sd_seed_set_content(f->seed, make_content(f));
	assert_int_equal(truncate(f->path, PIECE), 0);
	from_viewer(f, "{\"t\":\"hello\"}");
	guint greeting = f->sent->len;
	from_viewer(f, "{\"t\":\"request\",\"piece\":2}");
	assert_int_equal(f->sent->len, greeting + 1);
	json_t *keep;
	assert_string_equal(type_of(g_ptr_array_index(f->sent, greeting), &keep), "reject");
	assert_int_equal(json_integer_value(json_object_get(keep, "piece")), 2);
	json_decref(keep);
	assert_int_equal(f->problems, 1);
	assert_int_equal(f->problem.code, SD_ERR_CONTENT_TRUNCATED);
	/* A second content is refused and reported, the first keeps serving. */
	unlink(f->path); /* make_content makes a file of its own */
	sd_seed_content *again = make_content(f);
	sd_seed_set_content(f->seed, again);
	assert_int_equal(f->problems, 2);
	assert_int_equal(f->problem.code, SD_ERR_ARGUMENT);
}

static void a_viewer_the_relay_no_longer_knows_is_forgotten(void **state)
{
	fixture *f = *state;
	sd_seed_set_content(f->seed, make_content(f));
	f->refuse = SD_ERR_RELAY_NO_TARGET;
	from_viewer(f, "{\"t\":\"hello\"}");
	assert_int_equal(sd_seed_viewer_count(f->seed), 0);
	f->refuse = 0;
	from_viewer(f, "{\"t\":\"hello\"}");
	assert_int_equal(sd_seed_viewer_count(f->seed), 1);
}

static void a_viewer_that_sets_its_relay_up_again_is_greeted_and_served_again(void **state)
{
	fixture *f = *state;
	sd_seed_free(f->seed);
	f->seed = sd_seed_new(SEED_ID, 20000, fake_relay, f); /* a window of one piece */
	sd_seed_set_content(f->seed, make_content(f));
	from_viewer(f, "{\"t\":\"hello\"}");
	guint greeting = f->sent->len;
	from_viewer(f, "{\"t\":\"request\",\"piece\":0}");
	from_viewer(f, "{\"t\":\"request\",\"piece\":1}");
	/* Its connection went with everything in flight, so no credit will come: it says hello anew. */
	g_ptr_array_set_size(f->sent, 0);
	from_viewer(f, "{\"t\":\"hello\"}");
	assert_int_equal(f->sent->len, greeting);
	json_t *m;
	assert_string_equal(type_of(g_ptr_array_index(f->sent, 0), &m), "manifest");
	json_decref(m);
	from_viewer(f, "{\"t\":\"request\",\"piece\":2}");
	GByteArray *piece = piece_sent(f, 2, greeting);
	assert_int_equal(piece->len, PIECE + SD_CONTENT_TAG_LEN);
	g_byte_array_unref(piece);
	GByteArray *old = piece_sent(f, 1, greeting); /* the old link's requests are void */
	assert_int_equal(old->len, 0);
	g_byte_array_unref(old);
}

int run_seed_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(probes_are_answered_and_hello_brings_the_greeting, set_up, tear_down),
		cmocka_unit_test_setup_teardown(requested_pieces_go_in_frames_that_decrypt, set_up, tear_down),
		cmocka_unit_test_setup_teardown(the_window_holds_frames_back_until_credits_come, set_up, tear_down),
		cmocka_unit_test_setup_teardown(requests_beyond_the_queue_are_rejected, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_viewer_that_breaks_the_wire_is_ignored, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_piece_that_cannot_be_read_is_rejected_and_reported, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_viewer_the_relay_no_longer_knows_is_forgotten, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_viewer_that_sets_its_relay_up_again_is_greeted_and_served_again, set_up,
		                                tear_down),
	};
	return cmocka_run_group_tests_name("seed", tests, NULL, NULL);
}
