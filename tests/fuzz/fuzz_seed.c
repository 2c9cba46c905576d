/* libFuzzer harness over the seed's handling of what viewers send it. Each input is a script for
 * a fresh sd_seed (a 20000-byte window: about one piece) serving small content (three pieces of
 * 16 KiB and one of 100 bytes, from a memfd): each step is an operation byte, a viewer byte
 * (one of three) and, for a message, a 16-bit length and that many bytes, delivered as the text
 * of a relayed frame from that viewer, as a whole frame as it is, or as the plugin's own text
 * (a credit); other steps forget a viewer, set the content (once) or make the fake relay refuse
 * what follows (window full, no such target). Checked: every frame the seed sends is a
 * well-formed relay frame from its member to one viewer, within the relay's size, and every
 * piece frame names a piece of the share and stays inside it. Built and run by
 * tests/fuzz/run.sh. */
#define _GNU_SOURCE
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sd_manifest.h"
#include "sd_relay.h"
#include "sd_seed.h"

#define SEED_ID "a1a2a3a4a5a6"
#define PIECE 16384u
#define TOTAL (3 * PIECE + 100)
#define PIECES 4
static const char *const viewers[] = {"b1b2b3b4b5b6", "c1c2c3c4c5c6", "d1d2d3d4d5d6"};

static int refuse; /* what the fake relay answers */

static int check_frame(void *opaque, guint8 *frame, size_t length)
{
	(void)opaque;
	guint8 seed_id[SD_RELAY_ID_BYTES];
	sd_relay_id_from_hex(SEED_ID, seed_id);
	if (length <= SD_RELAY_IN_HEADER(1) || length > SD_RELAY_MAX_MESSAGE || frame[0] > 1 ||
	    memcmp(frame + 1, seed_id, SD_RELAY_ID_BYTES) != 0 || frame[1 + SD_RELAY_ID_BYTES] != 1)
		__builtin_trap();
	char target[SD_PEER_ID_LEN + 1];
	sd_relay_id_to_hex(frame + 2 + SD_RELAY_ID_BYTES, target);
	bool known = false;
	for (size_t i = 0; i < G_N_ELEMENTS(viewers); i++)
		known |= strcmp(target, viewers[i]) == 0;
	if (!known)
		__builtin_trap();
	const guint8 *message = frame + SD_RELAY_IN_HEADER(1);
	size_t len = length - SD_RELAY_IN_HEADER(1);
	if (frame[0] == 1) { /* a piece: index, offset, then its bytes */
		if (len <= 8)
			__builtin_trap();
		guint32 index = (guint32)message[0] << 24 | message[1] << 16 | message[2] << 8 | message[3];
		guint32 offset = (guint32)message[4] << 24 | message[5] << 16 | message[6] << 8 | message[7];
		size_t piece_len = (index == PIECES - 1 ? 100 : PIECE) + SD_CONTENT_TAG_LEN;
		if (index >= PIECES || offset + (len - 8) > piece_len)
			__builtin_trap();
	}
	return refuse;
}

/* What the seed serves: the file in a memfd, the sealed manifest and the hashes, made once. */
static int file_fd = -1;
static uint8_t key[SD_CONTENT_KEY_LEN], sealed[512], hashes[PIECES * SD_CONTENT_HASH_LEN];
static size_t sealed_len;
static sd_content_signer *signer;

static void make_content_once(void)
{
	static const uint8_t secret[SD_CONTENT_SECRET_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	static const uint8_t seed[SD_CONTENT_SEED_LEN] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	                                                  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
	static uint8_t plain[TOTAL], cipher[PIECE + SD_CONTENT_TAG_LEN];
	sd_error err;
	for (size_t i = 0; i < TOTAL; i++)
		plain[i] = (uint8_t)(i * 7 + 3);
	file_fd = memfd_create("fuzz-seed", MFD_CLOEXEC);
	if (file_fd < 0 || write(file_fd, plain, TOTAL) != TOTAL || !sd_content_derive_key(secret, key, &err) ||
	    (signer = sd_content_signer_new(seed, &err)) == NULL)
		abort();
	for (uint64_t i = 0; i < PIECES; i++) {
		size_t cipher_len;
		if (!sd_content_piece_encrypt(key, i, plain + i * PIECE, i < 3 ? PIECE : 100, cipher, sizeof(cipher), &cipher_len,
		                              &err) ||
		    !sd_content_piece_hash(cipher, cipher_len, hashes + i * SD_CONTENT_HASH_LEN, &err))
			abort();
	}
	char json[256];
	snprintf(json, sizeof(json),
	         "{\"v\":1,\"piece_size\":%u,\"total\":%u,\"files\":[{\"path\":\"m.mp4\",\"size\":%u,\"type\":\"video/mp4\"}]}",
	         PIECE, TOTAL, TOTAL);
	if (!sd_content_manifest_seal(key, signer, (const uint8_t *)json, strlen(json), sealed, sizeof(sealed), &sealed_len,
	                              &err))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static guint8 frame[SD_RELAY_MAX_MESSAGE + SD_RELAY_OUT_HEADER];
	if (file_fd < 0)
		make_content_once();
	refuse = 0;
	sd_seed *seed = sd_seed_new(SEED_ID, 20000, check_frame, NULL);
	bool content_set = false;
	size_t at = 0;
	while (at + 2 <= size) {
		guint8 op = data[at] % 8;
		const char *viewer = viewers[data[at + 1] % G_N_ELEMENTS(viewers)];
		at += 2;
		if (op <= 3) { /* a message: the most common step */
			if (at + 2 > size)
				break;
			size_t len = MIN((size_t)data[at] << 8 | data[at + 1], size - at - 2);
			at += 2;
			const guint8 *bytes = data + at;
			at += len;
			if (op <= 1) { /* the text of a relayed frame from viewer */
				len = MIN(len, (size_t)SD_RELAY_MAX_MESSAGE);
				frame[0] = 0;
				sd_relay_id_from_hex(viewer, frame + 1);
				memcpy(frame + SD_RELAY_OUT_HEADER, bytes, len);
				sd_seed_deliver(seed, frame, SD_RELAY_OUT_HEADER + len, true);
			} else {
				sd_seed_deliver(seed, bytes, len, op == 2); /* a whole frame, or the plugin's text */
			}
		} else if (op == 4) {
			char credit[96];
			int n = snprintf(credit, sizeof(credit), "{\"t\":\"credit\",\"to\":\"%s\",\"bytes\":%d}", viewer,
			                 (int)data[at - 1] * 256);
			sd_seed_deliver(seed, (const guint8 *)credit, (size_t)n, false);
		} else if (op == 5) {
			sd_seed_forget(seed, viewer);
		} else if (op == 6 && !content_set) {
			sd_error err;
			int fd = dup(file_fd);
			sd_seed_content *content = sd_seed_content_new(fd, TOTAL, PIECE, key, signer, sealed, sealed_len, hashes, &err);
			if (content == NULL)
				abort();
			sd_seed_set_content(seed, content);
			content_set = true;
		} else {
			static const int answers[] = {0, SD_ERR_RELAY_WINDOW, SD_ERR_RELAY_NO_TARGET, SD_ERR_RELAY_CLIENT_QUOTA};
			refuse = answers[data[at - 1] % G_N_ELEMENTS(answers)];
		}
	}
	sd_seed_free(seed);
	return 0;
}
