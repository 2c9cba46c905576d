/* sd_publish: the publishing settings, the checks of a publish request (admin key, a path that
 * stays inside the media folder), and the preparation of a file for its share, over the media
 * fixtures (tests/media/make-fixtures.sh): the sealed manifest opens with the link's keys and
 * carries the fragment index, the hash batches verify, a file that is no video fails with 464
 * and leaves no output behind. */
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "sd_manifest.h"
#include "sd_publish.h"
#include "sd_relay.h"
#include "unit.h"

#define KEY "an operator secret of some length"

typedef struct fixture {
	sd_publish_config config;
	char *folder;  /* the media folder */
	char *outside; /* a file outside it */
	char *cache;
} fixture;

static int set_up(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->folder = g_dir_make_tmp("sd-media-XXXXXX", NULL);
	f->cache = g_dir_make_tmp("sd-cache-XXXXXX", NULL);
	f->outside = g_build_filename(g_get_tmp_dir(), "sd-outside-publish.mkv", NULL);
	g_file_set_contents(f->outside, "secret", -1, NULL);
	char *sub = g_build_filename(f->folder, "sub", NULL);
	g_mkdir(sub, 0700);
	char *inside = g_build_filename(sub, "clip.mkv", NULL);
	g_file_set_contents(inside, "x", -1, NULL);
	char *link = g_build_filename(sub, "escape.mkv", NULL);
	assert_int_equal(symlink(f->outside, link), 0);
	g_free(sub);
	g_free(inside);
	g_free(link);
	sd_publish_config_init(&f->config);
	bool bad;
	char why[256];
	assert_true(sd_publish_config_set(&f->config, "media_folder", f->folder, why, sizeof(why), &bad));
	assert_false(bad);
	assert_true(sd_publish_config_set(&f->config, "admin_key", KEY, why, sizeof(why), &bad));
	assert_false(bad);
	*state = f;
	return 0;
}

static void remove_tree(const char *path)
{
	char *argv[] = {"rm", "-rf", (char *)path, NULL};
	g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

static int tear_down(void **state)
{
	fixture *f = *state;
	sd_publish_config_clear(&f->config);
	remove_tree(f->folder);
	remove_tree(f->cache);
	g_unlink(f->outside);
	g_free(f->folder);
	g_free(f->cache);
	g_free(f->outside);
	g_free(f);
	return 0;
}

static void settings_refuse_short_keys_and_relative_folders(void **state)
{
	(void)state;
	sd_publish_config config;
	sd_publish_config_init(&config);
	assert_non_null(config.cache_folder); /* a default under the temporary folder */
	char why[256];
	bool bad;
	assert_false(sd_publish_config_set(&config, "max_shares", "3", why, sizeof(why), &bad)); /* sd_limits' */
	assert_true(sd_publish_config_set(&config, "admin_key", "short", why, sizeof(why), &bad));
	assert_true(bad);
	assert_non_null(strstr(why, "16"));
	assert_null(config.admin_key);
	assert_true(sd_publish_config_set(&config, "media_folder", "relative/dir", why, sizeof(why), &bad));
	assert_true(bad);
	assert_null(config.media_folder);
	assert_true(sd_publish_config_set(&config, "cache_folder", "/var/tmp/x", why, sizeof(why), &bad));
	assert_false(bad);
	assert_string_equal(config.cache_folder, "/var/tmp/x");

	/* Without a media folder and a key, publishing is off. */
	sd_error err;
	assert_false(sd_publish_check_key(&config, KEY, &err));
	assert_int_equal(err.code, SD_ERR_PUBLISH_OFF);
	sd_publish_config_clear(&config);
}

static void only_the_admin_key_opens_publishing(void **state)
{
	fixture *f = *state;
	sd_error err;
	assert_true(sd_publish_check_key(&f->config, KEY, &err));
	const char *wrong[] = {"", "an operator secret of some lengtH", KEY "x", "an operator secret of some lengt"};
	for (size_t i = 0; i < G_N_ELEMENTS(wrong); i++) {
		assert_false(sd_publish_check_key(&f->config, wrong[i], &err));
		assert_int_equal(err.code, SD_ERR_ADMIN_KEY);
	}
	assert_false(sd_publish_check_key(&f->config, NULL, &err));
	assert_int_equal(err.code, SD_ERR_ADMIN_KEY);
}

static void paths_must_stay_inside_the_media_folder(void **state)
{
	fixture *f = *state;
	sd_error err;
	char *resolved;
	assert_true(sd_publish_check(&f->config, KEY, "sub/clip.mkv", &resolved, &err));
	char *want = g_build_filename(f->folder, "sub", "clip.mkv", NULL);
	char *real_want = realpath(want, NULL);
	assert_string_equal(resolved, real_want);
	free(real_want);
	g_free(want);
	g_free(resolved);
	/* "." segments are harmless. */
	assert_true(sd_publish_check(&f->config, KEY, "./sub/./clip.mkv", &resolved, &err));
	g_free(resolved);

	const struct {
		const char *path, *why;
	} refused[] = {
		{"/etc/passwd", "relative"},         {"../sd-outside-publish.mkv", ".."}, {"sub/../../x", ".."},
		{"sub/escape.mkv", "outside"},       {"missing.mkv", "no file"},          {"sub", "not a regular file"},
		{"", "relative"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		resolved = (char *)1;
		assert_false(sd_publish_check(&f->config, KEY, refused[i].path, &resolved, &err));
		assert_null(resolved);
		assert_int_equal(err.code, SD_ERR_MEDIA_PATH);
		if (strstr(err.message, refused[i].why) == NULL)
			fail_msg("%s: \"%s\" does not say %s", refused[i].path, err.message, refused[i].why);
	}
	/* The key is checked before the path says anything about the disk. */
	assert_false(sd_publish_check(&f->config, "wrong key of enough length", "missing.mkv", &resolved, &err));
	assert_int_equal(err.code, SD_ERR_ADMIN_KEY);
}

static void piece_sizes_keep_one_have_message(void **state)
{
	(void)state;
	assert_int_equal(sd_publish_piece_size(0), 256 * 1024);
	assert_int_equal(sd_publish_piece_size(1), 256 * 1024);
	assert_int_equal(sd_publish_piece_size(65536ull * 256 * 1024), 256 * 1024);
	assert_int_equal(sd_publish_piece_size(65536ull * 256 * 1024 + 1), 512 * 1024);
	assert_int_equal(sd_publish_piece_size(100ull << 30), 2 * 1024 * 1024); /* 100 GiB: 51200 pieces */
}

/* The seed's greeting for content, through a fake relay: every text message. */
static int keep_greeting(void *opaque, const guint8 *frame, size_t length)
{
	g_ptr_array_add(opaque, g_strndup((const char *)frame + SD_RELAY_IN_HEADER(1), length - SD_RELAY_IN_HEADER(1)));
	return 0;
}

static void a_prepared_file_opens_with_the_link_and_carries_its_fragments(void **state)
{
	fixture *f = *state;
	sd_publish_job job = {.source = SD_MEDIA_FIXTURES "/mkv_h264_aac.mkv"};
	char *output = g_build_filename(f->cache, "out.mp4", NULL);
	job.output = output;
	char link[SD_CONTENT_LINK_LEN + 1];
	sd_error err;
	assert_true(sd_publish_job_keys(&job, link, &err));
	assert_int_equal(strlen(link), SD_CONTENT_LINK_LEN);
	sd_seed_content *content = sd_publish_prepare(&job, &err);
	if (content == NULL)
		fail_msg("prepare: %s", err.message);

	GPtrArray *greeting = g_ptr_array_new_with_free_func(g_free);
	sd_seed *seed = sd_seed_new("a1a2a3a4a5a6", 1 << 24, keep_greeting, greeting);
	sd_seed_set_content(seed, content);
	const char hello[] = "\0\xb1\xb2\xb3\xb4\xb5\xb6{\"t\":\"hello\"}";
	sd_seed_deliver(seed, (const guint8 *)hello, sizeof(hello) - 1, true);
	assert_true(greeting->len >= 3);

	json_t *first = json_loads(g_ptr_array_index(greeting, 0), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(first, "t")), "manifest");
	assert_int_equal(json_integer_value(json_object_get(first, "parts")), 1);
	gsize sealed_len;
	guint8 *sealed = g_base64_decode(json_string_value(json_object_get(first, "sealed")), &sealed_len);
	uint8_t secret[SD_CONTENT_SECRET_LEN], pubkey[SD_CONTENT_PUBKEY_LEN], key[SD_CONTENT_KEY_LEN];
	sd_error cerr;
	sd_manifest manifest;
	assert_true(sd_content_link_decode(link, secret, pubkey, &cerr));
	assert_true(sd_content_derive_key(secret, key, &cerr));
	assert_true(sd_content_manifest_open(key, pubkey, sealed, sealed_len, &manifest, &cerr));
	assert_int_equal(manifest.file_count, 1);
	sd_manifest_file *file = &manifest.files[0];
	assert_string_equal(file->path, "mkv_h264_aac.mp4");
	assert_non_null(strstr(file->type, "avc1."));
	assert_true(file->fragment_count >= 2);
	GStatBuf st;
	assert_int_equal(g_stat(output, &st), 0);
	assert_int_equal(file->size, (uint64_t)st.st_size);
	assert_int_equal(manifest.piece_size, 256 * 1024);
	/* The first fragment's offset is where a moof box starts in the remuxed file. */
	gchar *bytes;
	gsize len;
	assert_true(g_file_get_contents(output, &bytes, &len, NULL));
	assert_memory_equal(bytes + file->fragments[0].offset + 4, "moof", 4);
	g_free(bytes);
	sd_manifest_clear(&manifest);
	g_free(sealed);
	json_decref(first);
	sd_seed_free(seed);
	g_ptr_array_unref(greeting);
	g_free(output);
}

static void a_file_that_is_no_video_fails_and_leaves_nothing(void **state)
{
	fixture *f = *state;
	char *source = g_build_filename(f->folder, "sub", "clip.mkv", NULL);
	char *output = g_build_filename(f->cache, "bad.mp4", NULL);
	sd_publish_job job = {.source = source, .output = output};
	char link[SD_CONTENT_LINK_LEN + 1];
	sd_error err;
	assert_true(sd_publish_job_keys(&job, link, &err));
	assert_null(sd_publish_prepare(&job, &err));
	assert_int_equal(err.code, SD_ERR_NOT_STREAMABLE);
	assert_true(strlen(err.message) > 0);
	assert_false(g_file_test(output, G_FILE_TEST_EXISTS));
	g_free(source);
	g_free(output);
}

static bool cancel_at_once(void *opaque, const char *stage, double fraction)
{
	(void)opaque, (void)stage, (void)fraction;
	return false;
}

static void a_cancelled_preparation_leaves_nothing(void **state)
{
	fixture *f = *state;
	char *output = g_build_filename(f->cache, "cancelled.mp4", NULL);
	sd_publish_job job = {.source = SD_MEDIA_FIXTURES "/mkv_h264_aac.mkv", .output = output, .progress = cancel_at_once};
	char link[SD_CONTENT_LINK_LEN + 1];
	sd_error err;
	assert_true(sd_publish_job_keys(&job, link, &err));
	assert_null(sd_publish_prepare(&job, &err));
	assert_non_null(strstr(err.message, "cancelled"));
	assert_false(g_file_test(output, G_FILE_TEST_EXISTS));
	g_free(output);
}

static void the_cache_loses_only_what_an_earlier_run_left(void **state)
{
	fixture *f = *state;
	bool bad;
	char why[256];
	assert_true(sd_publish_config_set(&f->config, "cache_folder", f->cache, why, sizeof(why), &bad));
	const char *names[] = {"0123456789abcdef.mp4", "fedcba9876543210.mp4", "notes.mp4", "0123456789ABCDEF.mp4",
	                       "0123456789abcdef.mkv", "0123456789abcdef.mp4.part"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(f->cache, names[i], NULL);
		g_file_set_contents(path, "x", 1, NULL);
		g_free(path);
	}
	assert_int_equal(sd_publish_clean_cache(&f->config), 2);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(f->cache, names[i], NULL);
		assert_int_equal(g_file_test(path, G_FILE_TEST_EXISTS), i >= 2);
		g_free(path);
	}
	assert_int_equal(sd_publish_clean_cache(&f->config), 0);
}

int run_publish_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(settings_refuse_short_keys_and_relative_folders),
		cmocka_unit_test_setup_teardown(only_the_admin_key_opens_publishing, set_up, tear_down),
		cmocka_unit_test_setup_teardown(paths_must_stay_inside_the_media_folder, set_up, tear_down),
		cmocka_unit_test(piece_sizes_keep_one_have_message),
		cmocka_unit_test_setup_teardown(a_prepared_file_opens_with_the_link_and_carries_its_fragments, set_up,
		                                tear_down),
		cmocka_unit_test_setup_teardown(a_file_that_is_no_video_fails_and_leaves_nothing, set_up, tear_down),
		cmocka_unit_test_setup_teardown(a_cancelled_preparation_leaves_nothing, set_up, tear_down),
		cmocka_unit_test_setup_teardown(the_cache_loses_only_what_an_earlier_run_left, set_up, tear_down),
	};
	return cmocka_run_group_tests_name("publish", tests, NULL, NULL);
}
