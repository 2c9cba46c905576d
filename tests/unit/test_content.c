#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sd_content.h"
#include "sd_manifest.h"
#include "test_support.h"
#include "unit.h"

#ifndef SD_CONTENT_VECTORS
#error "SD_CONTENT_VECTORS must name tests/vectors/content-v1.json (Makefile.am passes it)"
#endif

/* ---- Helpers -------------------------------------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes lowercase hex (malloc'd, at least one byte so that empty values are not NULL). */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	assert_int_equal(n % 2, 0);
	uint8_t *out = malloc(n / 2 + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			fail_msg("'%.16s...' is not lowercase hex", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

static void unhex_exact(const char *hex, uint8_t *out, size_t want)
{
	size_t len;
	uint8_t *bytes = unhex(hex, &len);
	assert_int_equal(len, want);
	memcpy(out, bytes, want);
	free(bytes);
}

static const char *vstring(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		fail_msg("the vectors lack the string '%s'", key);
	return json_string_value(v);
}

static json_int_t vinteger(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		fail_msg("the vectors lack the integer '%s'", key);
	return json_integer_value(v);
}

static json_t *load_vectors(void)
{
	json_error_t jerr;
	json_t *v = json_load_file(SD_CONTENT_VECTORS, 0, &jerr);
	if (v == NULL)
		fail_msg("cannot read the test vectors %s: %s (line %d)", SD_CONTENT_VECTORS, jerr.text, jerr.line);
	return v;
}

/* The vectors' Ed25519 seed, public key and content key. */
static void vector_keys(const json_t *v, uint8_t seed[SD_CONTENT_SEED_LEN], uint8_t pubkey[SD_CONTENT_PUBKEY_LEN],
                        uint8_t key[SD_CONTENT_KEY_LEN])
{
	unhex_exact(vstring(v, "ed25519_seed"), seed, SD_CONTENT_SEED_LEN);
	unhex_exact(vstring(v, "public_key"), pubkey, SD_CONTENT_PUBKEY_LEN);
	unhex_exact(vstring(v, "content_key"), key, SD_CONTENT_KEY_LEN);
}

/* Signs sealed[0 .. len-64) again with test_seed in place, with OpenSSL directly (so a test can
 * alter the ciphertext and still pass the signature check). */
static void resign_manifest(uint8_t *sealed, size_t len)
{
	static const char context[] = "swarmdrop/1 manifest";
	size_t body = len - SD_CONTENT_SIG_LEN, msg_len = sizeof(context) - 1 + body, sig_len = SD_CONTENT_SIG_LEN;
	uint8_t *msg = malloc(msg_len);
	assert_non_null(msg);
	memcpy(msg, context, sizeof(context) - 1);
	memcpy(msg + sizeof(context) - 1, sealed, body);
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, test_seed, SD_CONTENT_SEED_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(pkey);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, sealed + body, &sig_len, msg, msg_len), 1);
	assert_int_equal(sig_len, SD_CONTENT_SIG_LEN);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(msg);
}

/* A sealed GOOD_MANIFEST under test_secret and test_seed (malloc'd). */
static uint8_t *sealed_good(uint8_t key[SD_CONTENT_KEY_LEN], uint8_t pubkey[SD_CONTENT_PUBKEY_LEN], size_t *len)
{
	sd_error err;
	assert_true(sd_content_derive_key(test_secret, key, &err));
	sd_content_signer *signer = sd_content_signer_new(test_seed, &err);
	assert_non_null(signer);
	sd_content_signer_public_key(signer, pubkey);
	size_t json_len = strlen(GOOD_MANIFEST);
	uint8_t *sealed = malloc(json_len + SD_CONTENT_SEALED_OVERHEAD);
	assert_non_null(sealed);
	assert_true(sd_content_manifest_seal(key, signer, (const uint8_t *)GOOD_MANIFEST, json_len, sealed,
	                                     json_len + SD_CONTENT_SEALED_OVERHEAD, len, &err));
	assert_int_equal(*len, json_len + SD_CONTENT_SEALED_OVERHEAD);
	sd_content_signer_free(signer);
	return sealed;
}

/* ---- The test vectors shared with the browser ------------------------------------------------ */

static void vectors_keys_and_link(void **state)
{
	(void)state;
	json_t *v = load_vectors();
	sd_error err;
	uint8_t secret[SD_CONTENT_SECRET_LEN], seed[SD_CONTENT_SEED_LEN], pubkey[SD_CONTENT_PUBKEY_LEN],
	    key[SD_CONTENT_KEY_LEN];
	unhex_exact(vstring(v, "secret"), secret, sizeof(secret));
	vector_keys(v, seed, pubkey, key);

	uint8_t got[SD_CONTENT_PUBKEY_LEN];
	assert_true(sd_content_public_key(seed, got, &err));
	assert_memory_equal(got, pubkey, sizeof(pubkey));
	uint8_t got_key[SD_CONTENT_KEY_LEN];
	assert_true(sd_content_derive_key(secret, got_key, &err));
	assert_memory_equal(got_key, key, sizeof(key));

	char link[SD_CONTENT_LINK_LEN + 1];
	assert_true(sd_content_link_encode(secret, pubkey, link, sizeof(link), &err));
	assert_string_equal(link, vstring(v, "link_secret"));
	uint8_t got_secret[SD_CONTENT_SECRET_LEN];
	assert_true(sd_content_link_decode(vstring(v, "link_secret"), got_secret, got, &err));
	assert_memory_equal(got_secret, secret, sizeof(secret));
	assert_memory_equal(got, pubkey, sizeof(pubkey));
	json_decref(v);
}

static void vectors_manifest(void **state)
{
	(void)state;
	json_t *v = load_vectors();
	sd_error err;
	uint8_t seed[SD_CONTENT_SEED_LEN], pubkey[SD_CONTENT_PUBKEY_LEN], key[SD_CONTENT_KEY_LEN];
	vector_keys(v, seed, pubkey, key);
	const char *json = vstring(v, "manifest_json");
	size_t json_len = strlen(json);
	size_t want_len;
	uint8_t *want = unhex(vstring(v, "sealed_manifest"), &want_len);
	json_t *files = json_object_get(v, "files");
	assert_true(json_is_array(files));
	const json_t *vector_total = json_object_get(v, "total"); /* optional in the vectors */

	/* The manifest the origin would write for these files is the vectors' text, byte for byte. */
	sd_manifest built = {.piece_size = (uint32_t)vinteger(v, "piece_size"), .file_count = json_array_size(files)};
	built.files = calloc(built.file_count, sizeof(*built.files));
	assert_non_null(built.files);
	uint64_t total = 0;
	for (size_t i = 0; i < built.file_count; i++) {
		json_t *f = json_array_get(files, i);
		built.files[i].path = (char *)vstring(f, "path");
		built.files[i].path_len = strlen(built.files[i].path);
		built.files[i].type = (char *)vstring(f, "type");
		built.files[i].type_len = strlen(built.files[i].type);
		built.files[i].size = (uint64_t)vinteger(f, "size");
		total += built.files[i].size;
	}
	built.total = total;
	if (vector_total != NULL)
		assert_int_equal(json_integer_value(vector_total), total);
	char *text = NULL;
	size_t text_len = 0;
	assert_true(sd_manifest_to_json(&built, &text, &text_len, &err));
	assert_int_equal(text_len, json_len);
	assert_string_equal(text, json);
	free(text);
	free(built.files);

	/* Sealing the text gives a sealed manifest like the vectors' (their nonce is random, so is
	 * ours: the same length, and it opens below), under a nonce of its own every time. */
	sd_content_signer *signer = sd_content_signer_new(seed, &err);
	assert_non_null(signer);
	uint8_t *sealed = malloc(2 * (json_len + SD_CONTENT_SEALED_OVERHEAD));
	assert_non_null(sealed);
	uint8_t *again = sealed + json_len + SD_CONTENT_SEALED_OVERHEAD;
	size_t sealed_len = 0, again_len = 0;
	assert_true(sd_content_manifest_seal(key, signer, (const uint8_t *)json, json_len, sealed,
	                                     json_len + SD_CONTENT_SEALED_OVERHEAD, &sealed_len, &err));
	assert_true(sd_content_manifest_seal(key, signer, (const uint8_t *)json, json_len, again,
	                                     json_len + SD_CONTENT_SEALED_OVERHEAD, &again_len, &err));
	assert_int_equal(sealed_len, want_len);
	assert_int_equal(again_len, want_len);
	assert_memory_not_equal(sealed, again, SD_CONTENT_NONCE_LEN);
	sd_manifest mine;
	assert_true(sd_content_manifest_open(key, pubkey, sealed, sealed_len, &mine, &err));
	sd_manifest_clear(&mine);
	assert_true(sd_content_manifest_open(key, pubkey, again, again_len, &mine, &err));
	sd_manifest_clear(&mine);
	sd_content_signer_free(signer);
	free(sealed);

	/* Opening it gives the files back. */
	sd_manifest m;
	if (!sd_content_manifest_open(key, pubkey, want, want_len, &m, &err))
		fail_msg("the vectors' sealed manifest does not open: %s", err.message);
	assert_int_equal(m.piece_size, vinteger(v, "piece_size"));
	assert_int_equal(m.total, total);
	assert_int_equal(m.file_count, json_array_size(files));
	uint64_t offset = 0;
	for (size_t i = 0; i < m.file_count; i++) {
		json_t *f = json_array_get(files, i);
		assert_string_equal(m.files[i].path, vstring(f, "path"));
		assert_string_equal(m.files[i].type, vstring(f, "type"));
		assert_int_equal(m.files[i].size, vinteger(f, "size"));
		assert_int_equal(m.files[i].offset, offset);
		offset += m.files[i].size;
	}
	sd_manifest_clear(&m);
	free(want);
	json_decref(v);
}

static void vectors_pieces_and_hash_batch(void **state)
{
	(void)state;
	json_t *v = load_vectors();
	sd_error err;
	uint8_t seed[SD_CONTENT_SEED_LEN], pubkey[SD_CONTENT_PUBKEY_LEN], key[SD_CONTENT_KEY_LEN];
	vector_keys(v, seed, pubkey, key);
	uint32_t piece_size = (uint32_t)vinteger(v, "piece_size");

	/* The byte stream: the files' contents in manifest order. */
	json_t *files = json_object_get(v, "files");
	size_t total = 0;
	for (size_t i = 0; i < json_array_size(files); i++)
		total += strlen(vstring(json_array_get(files, i), "content")) / 2;
	uint8_t *stream = malloc(total + 1);
	assert_non_null(stream);
	size_t at = 0;
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		size_t len;
		uint8_t *content = unhex(vstring(f, "content"), &len);
		assert_int_equal(len, vinteger(f, "size"));
		memcpy(stream + at, content, len);
		at += len;
		free(content);
	}

	json_t *pieces = json_object_get(v, "pieces");
	assert_true(json_is_array(pieces));
	uint64_t count = 0;
	assert_true(sd_content_piece_count(total, piece_size, &count, &err));
	assert_int_equal(count, json_array_size(pieces));
	uint8_t *all_hashes = malloc(count * SD_CONTENT_HASH_LEN + 1);
	uint8_t *cipher = malloc(piece_size + SD_CONTENT_TAG_LEN);
	uint8_t *plain = malloc(piece_size);
	assert_non_null(all_hashes);
	assert_non_null(cipher);
	assert_non_null(plain);
	for (size_t i = 0; i < count; i++) {
		json_t *p = json_array_get(pieces, i);
		assert_int_equal(vinteger(p, "index"), i);
		uint64_t offset;
		size_t len, cipher_len, plain_len, want_len;
		assert_true(sd_content_piece_range(total, piece_size, i, &offset, &len, &err));
		assert_true(sd_content_piece_encrypt(key, i, stream + offset, len, cipher, piece_size + SD_CONTENT_TAG_LEN,
		                                     &cipher_len, &err));
		uint8_t *want = unhex(vstring(p, "ciphertext"), &want_len);
		assert_int_equal(cipher_len, want_len);
		assert_memory_equal(cipher, want, want_len);
		uint8_t hash[SD_CONTENT_HASH_LEN], want_hash[SD_CONTENT_HASH_LEN];
		assert_true(sd_content_piece_hash(want, want_len, hash, &err));
		unhex_exact(vstring(p, "hash"), want_hash, sizeof(want_hash));
		assert_memory_equal(hash, want_hash, sizeof(hash));
		memcpy(all_hashes + i * SD_CONTENT_HASH_LEN, hash, sizeof(hash));
		assert_true(sd_content_piece_decrypt(key, i, want, want_len, plain, piece_size, &plain_len, &err));
		assert_int_equal(plain_len, len);
		assert_memory_equal(plain, stream + offset, len);
		free(want);
	}

	json_t *batch = json_object_get(v, "hash_batch");
	uint64_t first = (uint64_t)vinteger(batch, "first");
	uint32_t n = (uint32_t)vinteger(batch, "count");
	size_t hashes_len;
	uint8_t *hashes = unhex(vstring(batch, "hashes"), &hashes_len);
	uint8_t sig[SD_CONTENT_SIG_LEN], want_sig[SD_CONTENT_SIG_LEN];
	unhex_exact(vstring(batch, "signature"), want_sig, sizeof(want_sig));
	assert_int_equal(hashes_len, (size_t)n * SD_CONTENT_HASH_LEN);
	assert_true(first + n <= count);
	assert_memory_equal(hashes, all_hashes + first * SD_CONTENT_HASH_LEN, hashes_len);
	sd_content_signer *signer = sd_content_signer_new(seed, &err);
	assert_non_null(signer);
	assert_true(sd_content_hashes_sign(signer, first, n, hashes, hashes_len, sig, &err));
	assert_memory_equal(sig, want_sig, sizeof(sig));
	assert_true(sd_content_hashes_verify(pubkey, count, first, n, hashes, hashes_len, want_sig, &err));
	sd_content_signer_free(signer);

	free(hashes);
	free(all_hashes);
	free(cipher);
	free(plain);
	free(stream);
	json_decref(v);
}

/* ---- Keys and the link ---------------------------------------------------------------------- */

static void ed25519_public_key_matches_rfc8032(void **state)
{
	(void)state;
	/* RFC 8032 section 7.1, TEST 1. */
	uint8_t seed[SD_CONTENT_SEED_LEN], want[SD_CONTENT_PUBKEY_LEN], got[SD_CONTENT_PUBKEY_LEN];
	unhex_exact("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, sizeof(seed));
	unhex_exact("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", want, sizeof(want));
	sd_error err;
	assert_true(sd_content_public_key(seed, got, &err));
	assert_memory_equal(got, want, sizeof(want));
	sd_content_signer *signer = sd_content_signer_new(seed, &err);
	assert_non_null(signer);
	memset(got, 0, sizeof(got));
	sd_content_signer_public_key(signer, got);
	assert_memory_equal(got, want, sizeof(want));
	sd_content_signer_free(signer);
}

static void random_bytes_differ(void **state)
{
	(void)state;
	uint8_t a[32] = {0}, b[32] = {0};
	sd_error err;
	assert_true(sd_content_random(a, sizeof(a), &err));
	assert_true(sd_content_random(b, sizeof(b), &err));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_true(sd_content_random(NULL, 0, &err));
	assert_refused(sd_content_random(NULL, 4, &err), err, SD_ERR_ARGUMENT, "no output");
}

static void link_round_trips_every_byte_value(void **state)
{
	(void)state;
	sd_error err;
	uint8_t secret[SD_CONTENT_SECRET_LEN], pubkey[SD_CONTENT_PUBKEY_LEN], s2[SD_CONTENT_SECRET_LEN],
	    p2[SD_CONTENT_PUBKEY_LEN];
	for (unsigned round = 0; round < 6; round++) {
		for (size_t i = 0; i < sizeof(secret); i++)
			secret[i] = (uint8_t)(round * 48 + i);
		for (size_t i = 0; i < sizeof(pubkey); i++)
			pubkey[i] = (uint8_t)(round * 48 + 16 + i);
		char link[SD_CONTENT_LINK_LEN + 1];
		assert_true(sd_content_link_encode(secret, pubkey, link, sizeof(link), &err));
		assert_int_equal(strlen(link), SD_CONTENT_LINK_LEN);
		assert_null(strpbrk(link, "+/="));
		assert_true(sd_content_link_decode(link, s2, p2, &err));
		assert_memory_equal(s2, secret, sizeof(secret));
		assert_memory_equal(p2, pubkey, sizeof(pubkey));
	}
	/* All-zero and all-one bytes: "AAAA..." and "____...". */
	memset(secret, 0xff, sizeof(secret));
	memset(pubkey, 0xff, sizeof(pubkey));
	char link[SD_CONTENT_LINK_LEN + 1];
	assert_true(sd_content_link_encode(secret, pubkey, link, sizeof(link), &err));
	assert_string_equal(link, "________________________________________________________________");
	assert_refused(sd_content_link_encode(secret, pubkey, link, SD_CONTENT_LINK_LEN, &err), err, SD_ERR_ARGUMENT,
	               "65 are needed");
}

static void bad_links_are_refused_with_a_reason(void **state)
{
	(void)state;
	sd_error err;
	uint8_t s[SD_CONTENT_SECRET_LEN], p[SD_CONTENT_PUBKEY_LEN];
	char good[SD_CONTENT_LINK_LEN + 1];
	memset(good, 'A', SD_CONTENT_LINK_LEN);
	good[SD_CONTENT_LINK_LEN] = '\0';
	assert_true(sd_content_link_decode(good, s, p, &err));

	char link[SD_CONTENT_LINK_LEN + 8];
	assert_refused(sd_content_link_decode("", s, p, &err), err, SD_ERR_CONTENT_LINK, "0 characters, not 64");
	snprintf(link, sizeof(link), "%.63s", good);
	assert_refused(sd_content_link_decode(link, s, p, &err), err, SD_ERR_CONTENT_LINK, "63 characters, not 64");
	snprintf(link, sizeof(link), "%sA", good);
	assert_refused(sd_content_link_decode(link, s, p, &err), err, SD_ERR_CONTENT_LINK, "longer than 64");
	/* 48 bytes need no padding, so a padded link is also too long, and '=' inside is refused. */
	snprintf(link, sizeof(link), "%s==", good);
	assert_refused(sd_content_link_decode(link, s, p, &err), err, SD_ERR_CONTENT_LINK, "longer than 64");
	snprintf(link, sizeof(link), "%.62s==", good);
	assert_refused(sd_content_link_decode(link, s, p, &err), err, SD_ERR_CONTENT_LINK, "padding '=' at character 63");
	const char bad_chars[] = {'+', '/', ' ', '.', '\n', '~', (char)0xc3};
	for (size_t i = 0; i < sizeof(bad_chars); i++) {
		memcpy(link, good, sizeof(good));
		link[10] = bad_chars[i];
		assert_refused(sd_content_link_decode(link, s, p, &err), err, SD_ERR_CONTENT_LINK,
		               "character 11 of the link secret");
	}
	assert_refused(sd_content_link_decode(NULL, s, p, &err), err, SD_ERR_ARGUMENT, "no link");
}

/* ---- Pieces --------------------------------------------------------------------------------- */

static void piece_arithmetic_is_exact_and_refuses_out_of_range(void **state)
{
	(void)state;
	sd_error err;
	uint64_t count, offset;
	size_t len;
	assert_true(sd_content_piece_count(0, 16384, &count, &err));
	assert_int_equal(count, 0);
	assert_refused(sd_content_piece_range(0, 16384, 0, &offset, &len, &err), err, SD_ERR_CONTENT_RANGE,
	               "piece 0 is out of range: the share has 0 pieces");
	assert_true(sd_content_piece_count(16384, 16384, &count, &err));
	assert_int_equal(count, 1);
	assert_true(sd_content_piece_count(16385, 16384, &count, &err));
	assert_int_equal(count, 2);
	assert_true(sd_content_piece_range(16385, 16384, 1, &offset, &len, &err));
	assert_int_equal(offset, 16384);
	assert_int_equal(len, 1);
	assert_refused(sd_content_piece_range(16385, 16384, 2, &offset, &len, &err), err, SD_ERR_CONTENT_RANGE,
	               "piece 2 is out of range: the share has 2 pieces");
	assert_refused(sd_content_piece_range(16385, 16384, UINT64_MAX, &offset, &len, &err), err, SD_ERR_CONTENT_RANGE,
	               "out of range");

	/* The largest share: 2^53 - 1 bytes in 16 KiB pieces, then in 16 MiB pieces. */
	const uint64_t max = SD_CONTENT_TOTAL_MAX;
	assert_true(sd_content_piece_count(max, 16384, &count, &err));
	assert_int_equal(count, 549755813888ull); /* 2^39 */
	assert_true(sd_content_piece_range(max, 16384, count - 1, &offset, &len, &err));
	assert_int_equal(offset, max - 16383);
	assert_int_equal(len, 16383);
	assert_true(sd_content_piece_count(max, 16777216, &count, &err));
	assert_int_equal(count, 536870912ull); /* 2^29 */
	assert_true(sd_content_piece_range(max, 16777216, count - 1, &offset, &len, &err));
	assert_int_equal(offset + len, max);
	assert_refused(sd_content_piece_range(max, 16777216, count, &offset, &len, &err), err, SD_ERR_CONTENT_RANGE,
	               "out of range");

	assert_refused(sd_content_piece_count(max + 1, 16384, &count, &err), err, SD_ERR_MANIFEST_TOTAL, "over 2^53 - 1");
	assert_refused(sd_content_piece_count(UINT64_MAX, 16384, &count, &err), err, SD_ERR_MANIFEST_TOTAL, "over 2^53 - 1");
	const uint32_t bad_sizes[] = {0, 1, 8192, 16383, 16385, 24576, 33554432, UINT32_MAX};
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		assert_refused(sd_content_piece_range(100000, bad_sizes[i], 0, &offset, &len, &err), err,
		               SD_ERR_MANIFEST_PIECE_SIZE, "not a power of two");
}

static void pieces_round_trip_and_altered_pieces_are_refused(void **state)
{
	(void)state;
	sd_error err;
	uint8_t key[SD_CONTENT_KEY_LEN], other_key[SD_CONTENT_KEY_LEN];
	assert_true(sd_content_derive_key(test_secret, key, &err));
	uint8_t other_secret[SD_CONTENT_SECRET_LEN] = {0};
	assert_true(sd_content_derive_key(other_secret, other_key, &err));
	assert_memory_not_equal(key, other_key, sizeof(key));

	uint8_t plain[1000], cipher[1000 + SD_CONTENT_TAG_LEN], back[1000];
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 31);
	size_t cipher_len, back_len;
	assert_true(sd_content_piece_encrypt(key, 5, plain, sizeof(plain), cipher, sizeof(cipher), &cipher_len, &err));
	assert_int_equal(cipher_len, sizeof(plain) + SD_CONTENT_TAG_LEN);
	assert_true(sd_content_piece_decrypt(key, 5, cipher, cipher_len, back, sizeof(back), &back_len, &err));
	assert_int_equal(back_len, sizeof(plain));
	assert_memory_equal(back, plain, sizeof(plain));

	/* In place: encrypt over the plaintext, decrypt over the ciphertext. */
	uint8_t buffer[sizeof(cipher)];
	memcpy(buffer, plain, sizeof(plain));
	assert_true(sd_content_piece_encrypt(key, 5, buffer, sizeof(plain), buffer, sizeof(buffer), &cipher_len, &err));
	assert_memory_equal(buffer, cipher, sizeof(cipher));
	assert_true(sd_content_piece_decrypt(key, 5, buffer, sizeof(buffer), buffer, sizeof(buffer), &back_len, &err));
	assert_memory_equal(buffer, plain, sizeof(plain));

	/* The same bytes under another index are another ciphertext. */
	uint8_t cipher6[sizeof(cipher)];
	assert_true(sd_content_piece_encrypt(key, 6, plain, sizeof(plain), cipher6, sizeof(cipher6), &cipher_len, &err));
	assert_memory_not_equal(cipher, cipher6, sizeof(cipher));

	/* A flipped byte of ciphertext or tag, another index, another key: refused, output zeroed. */
	const size_t flips[] = {0, 500, sizeof(plain) - 1, sizeof(plain), sizeof(cipher) - 1};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		cipher[flips[i]] ^= 0x01;
		memset(back, 0xaa, sizeof(back));
		assert_refused(sd_content_piece_decrypt(key, 5, cipher, sizeof(cipher), back, sizeof(back), &back_len, &err),
		               err, SD_ERR_CONTENT_DECRYPT, "piece 5 does not decrypt");
		uint8_t zero[sizeof(back)] = {0};
		assert_memory_equal(back, zero, sizeof(back));
		cipher[flips[i]] ^= 0x01;
	}
	assert_refused(sd_content_piece_decrypt(key, 4, cipher, sizeof(cipher), back, sizeof(back), &back_len, &err), err,
	               SD_ERR_CONTENT_DECRYPT, "piece 4 does not decrypt");
	assert_refused(sd_content_piece_decrypt(other_key, 5, cipher, sizeof(cipher), back, sizeof(back), &back_len, &err),
	               err, SD_ERR_CONTENT_DECRYPT, "wrong link secret or altered data");
	/* One byte short (the tag is then misread) and shorter than a tag. */
	assert_refused(sd_content_piece_decrypt(key, 5, cipher, sizeof(cipher) - 1, back, sizeof(back), &back_len, &err),
	               err, SD_ERR_CONTENT_DECRYPT, "does not decrypt");
	assert_refused(sd_content_piece_decrypt(key, 5, cipher, SD_CONTENT_TAG_LEN - 1, back, sizeof(back), &back_len, &err),
	               err, SD_ERR_CONTENT_TRUNCATED, "shorter than its 16-byte tag");
	/* Buffers too small. */
	assert_refused(sd_content_piece_decrypt(key, 5, cipher, sizeof(cipher), back, sizeof(back) - 1, &back_len, &err),
	               err, SD_ERR_ARGUMENT, "the piece needs 1000");
	assert_refused(sd_content_piece_encrypt(key, 5, plain, sizeof(plain), cipher, sizeof(cipher) - 1, &cipher_len, &err),
	               err, SD_ERR_ARGUMENT, "the piece needs 1016");
	assert_refused(sd_content_piece_encrypt(key, 5, plain, (size_t)SD_CONTENT_PIECE_MAX + 1, cipher, SIZE_MAX,
	                                        &cipher_len, &err),
	               err, SD_ERR_CONTENT_TOO_LARGE, "over the largest piece_size");

	/* An empty plaintext is a bare tag (no piece is empty, but the primitive allows it). */
	uint8_t tag_only[SD_CONTENT_TAG_LEN];
	assert_true(sd_content_piece_encrypt(key, 0, NULL, 0, tag_only, sizeof(tag_only), &cipher_len, &err));
	assert_int_equal(cipher_len, SD_CONTENT_TAG_LEN);
	assert_true(sd_content_piece_decrypt(key, 0, tag_only, sizeof(tag_only), NULL, 0, &back_len, &err));
	assert_int_equal(back_len, 0);

	/* The hash is SHA-256 of the ciphertext: SHA-256("") is the known value. */
	uint8_t hash[SD_CONTENT_HASH_LEN], want[SD_CONTENT_HASH_LEN];
	assert_true(sd_content_piece_hash(NULL, 0, hash, &err));
	unhex_exact("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, sizeof(want));
	assert_memory_equal(hash, want, sizeof(want));
}

/* ---- The sealed manifest -------------------------------------------------------------------- */

static void sealed_manifest_round_trips(void **state)
{
	(void)state;
	uint8_t key[SD_CONTENT_KEY_LEN], pubkey[SD_CONTENT_PUBKEY_LEN];
	size_t len;
	uint8_t *sealed = sealed_good(key, pubkey, &len);
	sd_error err;
	sd_manifest m;
	assert_true(sd_content_manifest_open(key, pubkey, sealed, len, &m, &err));
	assert_int_equal(m.piece_size, 16384);
	assert_int_equal(m.total, 5);
	assert_int_equal(m.file_count, 1);
	assert_string_equal(m.files[0].path, "a/b.txt");
	assert_int_equal(m.files[0].path_len, 7);
	assert_string_equal(m.files[0].type, "text/plain");
	assert_int_equal(m.files[0].size, 5);
	sd_manifest_clear(&m);
	sd_manifest_clear(&m); /* twice is harmless */
	free(sealed);
}

static void altered_or_truncated_sealed_manifests_are_refused(void **state)
{
	(void)state;
	uint8_t key[SD_CONTENT_KEY_LEN], pubkey[SD_CONTENT_PUBKEY_LEN];
	size_t len;
	uint8_t *sealed = sealed_good(key, pubkey, &len);
	size_t json_len = len - SD_CONTENT_SEALED_OVERHEAD;
	sd_error err;
	sd_manifest m;

	/* Shorter than nonce + tag + signature. */
	assert_refused(sd_content_manifest_open(key, pubkey, sealed, 0, &m, &err), err, SD_ERR_CONTENT_TRUNCATED,
	               "0 bytes, shorter than its 92-byte nonce, tag and signature");
	assert_refused(sd_content_manifest_open(key, pubkey, sealed, SD_CONTENT_SEALED_OVERHEAD - 1, &m, &err), err,
	               SD_ERR_CONTENT_TRUNCATED, "91 bytes");
	assert_refused(sd_content_manifest_open(key, pubkey, sealed, SD_CONTENT_SEALED_OVERHEAD, &m, &err), err,
	               SD_ERR_CONTENT_SIGNATURE, "does not verify");
	/* One byte off either way. */
	assert_refused(sd_content_manifest_open(key, pubkey, sealed, len - 1, &m, &err), err, SD_ERR_CONTENT_SIGNATURE,
	               "signature of the manifest does not verify");
	uint8_t *longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, sealed, len);
	longer[len] = 0;
	assert_refused(sd_content_manifest_open(key, pubkey, longer, len + 1, &m, &err), err, SD_ERR_CONTENT_SIGNATURE,
	               "does not verify");
	free(longer);

	/* A flipped byte in the nonce, the ciphertext, the tag or the signature: the signature no
	 * longer holds. */
	const size_t n = SD_CONTENT_NONCE_LEN;
	const size_t flips[] = {0, n - 1, n, n + json_len - 1, n + json_len, n + json_len + SD_CONTENT_TAG_LEN - 1,
	                        n + json_len + SD_CONTENT_TAG_LEN, len - 1};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		sealed[flips[i]] ^= 0x80;
		assert_refused(sd_content_manifest_open(key, pubkey, sealed, len, &m, &err), err, SD_ERR_CONTENT_SIGNATURE,
		               "wrong link or altered data");
		assert_null(m.files);
		sealed[flips[i]] ^= 0x80;
	}

	/* Wrong P: the signature fails. Wrong S (so wrong K): it verifies, then does not decrypt. */
	uint8_t other[SD_CONTENT_PUBKEY_LEN];
	uint8_t other_seed[SD_CONTENT_SEED_LEN] = {9};
	assert_true(sd_content_public_key(other_seed, other, &err));
	assert_refused(sd_content_manifest_open(key, other, sealed, len, &m, &err), err, SD_ERR_CONTENT_SIGNATURE,
	               "link's public key");
	uint8_t garbage_key[SD_CONTENT_PUBKEY_LEN];
	memset(garbage_key, 0xff, sizeof(garbage_key)); /* not a point on the curve */
	assert_refused(sd_content_manifest_open(key, garbage_key, sealed, len, &m, &err), err, SD_ERR_CONTENT_SIGNATURE,
	               "does not verify");
	uint8_t wrong_secret[SD_CONTENT_SECRET_LEN], wrong_key[SD_CONTENT_KEY_LEN];
	memcpy(wrong_secret, test_secret, sizeof(wrong_secret));
	wrong_secret[15] ^= 1;
	assert_true(sd_content_derive_key(wrong_secret, wrong_key, &err));
	assert_refused(sd_content_manifest_open(wrong_key, pubkey, sealed, len, &m, &err), err, SD_ERR_CONTENT_DECRYPT,
	               "the manifest does not decrypt under the content key");

	/* Altered data that the origin itself signed again: the GCM tag still catches it. */
	const size_t cipher_flips[] = {5, n + 3, n + json_len + 2}; /* a nonce, a ciphertext, a tag byte */
	for (size_t i = 0; i < 3; i++) {
		uint8_t *copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, sealed, len);
		copy[cipher_flips[i]] ^= 0x01;
		resign_manifest(copy, len);
		assert_refused(sd_content_manifest_open(key, pubkey, copy, len, &m, &err), err, SD_ERR_CONTENT_DECRYPT,
		               "the manifest does not decrypt");
		free(copy);
	}
	/* Not signed again, the same copy was refused for its signature (above): signature first. */
	free(sealed);
}

static void sealing_refuses_a_bad_manifest_and_a_small_buffer(void **state)
{
	(void)state;
	sd_error err;
	uint8_t key[SD_CONTENT_KEY_LEN];
	assert_true(sd_content_derive_key(test_secret, key, &err));
	sd_content_signer *signer = sd_content_signer_new(test_seed, &err);
	assert_non_null(signer);
	uint8_t out[512];
	size_t out_len;
	const char *bad = WITH_PATH("../x");
	assert_refused(sd_content_manifest_seal(key, signer, (const uint8_t *)bad, strlen(bad), out, sizeof(out), &out_len,
	                                        &err),
	               err, SD_ERR_MANIFEST_PATH, "files[0].path has a '..' segment");
	size_t good_len = strlen(GOOD_MANIFEST);
	assert_refused(sd_content_manifest_seal(key, signer, (const uint8_t *)GOOD_MANIFEST, good_len, out,
	                                        good_len + SD_CONTENT_SEALED_OVERHEAD - 1, &out_len, &err),
	               err, SD_ERR_ARGUMENT, "the sealed manifest needs");
	sd_content_signer_free(signer);
}

/* ---- Hash batches --------------------------------------------------------------------------- */

static void hash_batches_verify_and_altered_batches_are_refused(void **state)
{
	(void)state;
	sd_error err;
	sd_content_signer *signer = sd_content_signer_new(test_seed, &err);
	assert_non_null(signer);
	uint8_t pubkey[SD_CONTENT_PUBKEY_LEN];
	sd_content_signer_public_key(signer, pubkey);
	enum { N = 5 };
	uint8_t hashes[N * SD_CONTENT_HASH_LEN];
	for (size_t i = 0; i < sizeof(hashes); i++)
		hashes[i] = (uint8_t)(i * 13 + 1);
	uint8_t sig[SD_CONTENT_SIG_LEN];
	assert_true(sd_content_hashes_sign(signer, 10, N, hashes, sizeof(hashes), sig, &err));
	assert_true(sd_content_hashes_verify(pubkey, 15, 10, N, hashes, sizeof(hashes), sig, &err));
	assert_true(sd_content_hashes_verify(pubkey, 1000, 10, N, hashes, sizeof(hashes), sig, &err));

	/* A flipped bit in any hash. */
	const size_t flips[] = {0, SD_CONTENT_HASH_LEN, sizeof(hashes) - 1};
	for (size_t i = 0; i < 3; i++) {
		hashes[flips[i]] ^= 0x04;
		assert_refused(sd_content_hashes_verify(pubkey, 15, 10, N, hashes, sizeof(hashes), sig, &err), err,
		               SD_ERR_CONTENT_SIGNATURE, "signature of the hash batch does not verify");
		hashes[flips[i]] ^= 0x04;
	}
	/* Another first index, another count (the same hashes moved), a flipped signature, another P. */
	assert_refused(sd_content_hashes_verify(pubkey, 15, 9, N, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_SIGNATURE, "hash batch");
	assert_refused(sd_content_hashes_verify(pubkey, 15, 11, N - 1, hashes + SD_CONTENT_HASH_LEN,
	                                        sizeof(hashes) - SD_CONTENT_HASH_LEN, sig, &err),
	               err, SD_ERR_CONTENT_SIGNATURE, "hash batch");
	assert_refused(sd_content_hashes_verify(pubkey, 15, 10, N - 1, hashes, sizeof(hashes) - SD_CONTENT_HASH_LEN, sig,
	                                        &err),
	               err, SD_ERR_CONTENT_SIGNATURE, "hash batch");
	sig[63] ^= 0x01;
	assert_refused(sd_content_hashes_verify(pubkey, 15, 10, N, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_SIGNATURE, "hash batch");
	sig[63] ^= 0x01;
	sig[0] ^= 0x01;
	assert_refused(sd_content_hashes_verify(pubkey, 15, 10, N, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_SIGNATURE, "hash batch");
	sig[0] ^= 0x01;
	uint8_t other[SD_CONTENT_PUBKEY_LEN];
	uint8_t other_seed[SD_CONTENT_SEED_LEN] = {1};
	assert_true(sd_content_public_key(other_seed, other, &err));
	assert_refused(sd_content_hashes_verify(other, 15, 10, N, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_SIGNATURE, "hash batch");

	/* Outside the share's pieces, and lengths that do not match count. */
	assert_refused(sd_content_hashes_verify(pubkey, 14, 10, N, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_RANGE, "a batch of 5 hashes from piece 10 is out of range: the share has 14 pieces");
	assert_refused(sd_content_hashes_verify(pubkey, 3, 10, N, hashes, sizeof(hashes), sig, &err), err, SD_ERR_CONTENT_RANGE,
	               "out of range");
	assert_refused(sd_content_hashes_verify(pubkey, UINT64_MAX, UINT64_MAX, N, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_RANGE, "out of range");
	assert_refused(sd_content_hashes_verify(pubkey, 15, 10, N, hashes, sizeof(hashes) - 1, sig, &err), err,
	               SD_ERR_CONTENT_TRUNCATED, "159 bytes of hashes for a batch of 5, not 160");
	assert_refused(sd_content_hashes_verify(pubkey, 15, 10, N - 1, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_TOO_LARGE, "160 bytes of hashes for a batch of 4, not 128");
	assert_refused(sd_content_hashes_sign(signer, 10, N, hashes, sizeof(hashes) + 1, sig, &err), err,
	               SD_ERR_ARGUMENT, "161 bytes of hashes for a batch of 5");
	assert_refused(sd_content_hashes_sign(signer, UINT64_MAX - 2, N, hashes, sizeof(hashes), sig, &err), err,
	               SD_ERR_CONTENT_RANGE, "past the last piece index");
	/* An empty batch names no piece. */
	assert_refused(sd_content_hashes_sign(signer, 0, 0, NULL, 0, sig, &err), err, SD_ERR_CONTENT_RANGE,
	               "at least one hash");
	assert_refused(sd_content_hashes_verify(pubkey, 15, 0, 0, NULL, 0, sig, &err), err, SD_ERR_CONTENT_RANGE,
	               "at least one hash");

	/* Domain separation: a hash batch signature is not a manifest signature and vice versa; the
	 * same bytes under the other context do not verify. */
	uint8_t key[SD_CONTENT_KEY_LEN], pk[SD_CONTENT_PUBKEY_LEN];
	size_t sealed_len;
	uint8_t *sealed = sealed_good(key, pk, &sealed_len);
	assert_memory_equal(pk, pubkey, sizeof(pk));
	const uint8_t *manifest_sig = sealed + sealed_len - SD_CONTENT_SIG_LEN;
	assert_refused(sd_content_hashes_verify(pubkey, 15, 10, N, hashes, sizeof(hashes), manifest_sig, &err), err,
	               SD_ERR_CONTENT_SIGNATURE, "hash batch");
	free(sealed);
	sd_content_signer_free(signer);
}

int run_content_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vectors_keys_and_link),
		cmocka_unit_test(vectors_manifest),
		cmocka_unit_test(vectors_pieces_and_hash_batch),
		cmocka_unit_test(ed25519_public_key_matches_rfc8032),
		cmocka_unit_test(random_bytes_differ),
		cmocka_unit_test(link_round_trips_every_byte_value),
		cmocka_unit_test(bad_links_are_refused_with_a_reason),
		cmocka_unit_test(piece_arithmetic_is_exact_and_refuses_out_of_range),
		cmocka_unit_test(pieces_round_trip_and_altered_pieces_are_refused),
		cmocka_unit_test(sealed_manifest_round_trips),
		cmocka_unit_test(altered_or_truncated_sealed_manifests_are_refused),
		cmocka_unit_test(sealing_refuses_a_bad_manifest_and_a_small_buffer),
		cmocka_unit_test(hash_batches_verify_and_altered_batches_are_refused),
	};
	return cmocka_run_group_tests_name("content", tests, NULL, NULL);
}
