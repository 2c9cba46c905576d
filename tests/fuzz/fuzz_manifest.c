/* libFuzzer harness over the manifest parser and the sealed-manifest opener. The first byte picks
 * the path: odd, the rest is a sealed manifest opened with a fixed key and public key (as a
 * receiver opens whatever an owner, or anyone, sent); even, the rest is manifest JSON, parsed,
 * and when it passes, written back (sd_manifest_to_json must give text that parses to the same
 * manifest), sealed and opened again (the opener must accept what the sealer made). Every path
 * of an accepted manifest must pass the file-name rules (the duplicate rules too: a manifest that
 * passes is written back and parsed again), and so must the name the server gives a file named by
 * the input's bytes (sd_manifest_safe_name), which keeps a name that passes as it is. Built and
 * run by tests/fuzz/run.sh. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sd_content.h"
#include "sd_manifest.h"

static bool same_manifest(const sd_manifest *a, const sd_manifest *b)
{
	if (a->piece_size != b->piece_size || a->total != b->total || a->file_count != b->file_count)
		return false;
	for (size_t i = 0; i < a->file_count; i++) {
		const sd_manifest_file *x = &a->files[i], *y = &b->files[i];
		if (x->path_len != y->path_len || memcmp(x->path, y->path, x->path_len) != 0 || x->type_len != y->type_len ||
		    memcmp(x->type, y->type, x->type_len) != 0 || x->size != y->size || x->offset != y->offset ||
		    x->fragment_count != y->fragment_count ||
		    (x->fragment_count > 0 && memcmp(x->fragments, y->fragments, x->fragment_count * sizeof(*x->fragments)) != 0))
			return false;
	}
	return true;
}

static void check_paths(const sd_manifest *m)
{
	for (size_t i = 0; i < m->file_count; i++)
		if (sd_manifest_path_problem(m->files[i].path, m->files[i].path_len) != NULL)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t key[SD_CONTENT_KEY_LEN], pubkey[SD_CONTENT_PUBKEY_LEN];
	static sd_content_signer *signer;
	sd_error err;
	if (signer == NULL) {
		static const uint8_t secret[SD_CONTENT_SECRET_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
		static const uint8_t seed[SD_CONTENT_SEED_LEN] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
		                                                  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
		if (!sd_content_derive_key(secret, key, &err) || (signer = sd_content_signer_new(seed, &err)) == NULL)
			abort();
		sd_content_signer_public_key(signer, pubkey);
	}
	char *name = g_strndup((const char *)data, size);
	char *safe = sd_manifest_safe_name(name);
	if (sd_manifest_path_problem(safe, strlen(safe)) != NULL)
		__builtin_trap();
	char *again_safe = sd_manifest_safe_name(safe); /* a name that passes is kept as it is */
	if (strcmp(again_safe, safe) != 0)
		__builtin_trap();
	g_free(again_safe);
	g_free(safe);
	g_free(name);
	if (size == 0)
		return 0;
	const uint8_t *rest = data + 1;
	size_t len = size - 1;
	sd_manifest m;
	if (data[0] & 1) {
		if (sd_content_manifest_open(key, pubkey, rest, len, &m, &err)) {
			check_paths(&m);
			sd_manifest_clear(&m);
		}
		return 0;
	}
	if (!sd_manifest_parse(rest, len, &m, &err))
		return 0;
	check_paths(&m);
	char *json;
	size_t json_len;
	sd_manifest again, opened;
	if (!sd_manifest_to_json(&m, &json, &json_len, &err))
		__builtin_trap(); /* what parses can be written */
	if (!sd_manifest_parse((const uint8_t *)json, json_len, &again, &err) || !same_manifest(&m, &again))
		__builtin_trap();
	sd_manifest_clear(&again);
	uint8_t *sealed = malloc(json_len + SD_CONTENT_SEALED_OVERHEAD);
	size_t sealed_len;
	if (sealed == NULL || !sd_content_manifest_seal(key, signer, (const uint8_t *)json, json_len, sealed,
	                                                json_len + SD_CONTENT_SEALED_OVERHEAD, &sealed_len, &err) ||
	    !sd_content_manifest_open(key, pubkey, sealed, sealed_len, &opened, &err) || !same_manifest(&m, &opened))
		__builtin_trap();
	/* One bit changed anywhere in the sealed bytes: refused. */
	sealed[len % sealed_len] ^= 0x01;
	if (sd_content_manifest_open(key, pubkey, sealed, sealed_len, &again, &err))
		__builtin_trap();
	free(sealed);
	free(json);
	sd_manifest_clear(&opened);
	sd_manifest_clear(&m);
	return 0;
}
