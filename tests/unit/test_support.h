/* Helpers shared by the content and manifest groups (test_content.c, test_manifest.c). */
#ifndef SD_TEST_SUPPORT_H
#define SD_TEST_SUPPORT_H

#include <openssl/err.h>
#include <stdint.h>
#include <string.h>

#include "sd_content.h"
#include "unit.h"

/* Asserts that a call failed with code, that its reason mentions what, and that no OpenSSL error
 * was left queued for the thread. */
#define assert_refused(call, err, want_code, what)                                      \
	do {                                                                                  \
		(err).code = 0;                                                       \
		(err).message[0] = '\0';                                                          \
		assert_false(call);                                                               \
		if ((err).code != (want_code) || strstr((err).message, (what)) == NULL)           \
			fail_msg("got code %d \"%s\", wanted code %d mentioning \"%s\"", (err).code, \
			         (err).message, (want_code), (what));                                 \
		assert_int_equal(ERR_peek_error(), 0); /* OpenSSL's queue is left empty */        \
	} while (0)

/* static in a header: each group gets its own copy of these few bytes, and no .c file is needed. */
static const uint8_t test_seed[SD_CONTENT_SEED_LEN] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                                       7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
static const uint8_t test_secret[SD_CONTENT_SECRET_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

#define GOOD_MANIFEST \
	"{\"v\":1,\"piece_size\":16384,\"total\":5,\"files\":[{\"path\":\"a/b.txt\",\"size\":5,\"type\":\"text/plain\"}]}"

/* Manifests with total 5: around the given files, or with one 5-byte file at path. */
#define WITH_FILES(files) "{\"v\":1,\"piece_size\":16384,\"total\":5,\"files\":[" files "]}"
#define WITH_PATH(path) WITH_FILES("{\"path\":\"" path "\",\"size\":5,\"type\":\"\"}")

#endif
