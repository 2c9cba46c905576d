#include "sd_content.h"
#include "sd_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define NONCE_LEN SD_CONTENT_NONCE_LEN
#define NONCE_PIECE 1u

static const char info_content_key[] = "swarmdrop/1 content key";
static const char context_manifest[] = "swarmdrop/1 manifest";
static const char context_hashes[] = "swarmdrop/1 hashes";
#define LEN(literal) (sizeof(literal) - 1)

struct sd_content_signer {
	EVP_PKEY *pkey;
	uint8_t pubkey[SD_CONTENT_PUBKEY_LEN];
};

/* An OpenSSL call failed: name it with OpenSSL's first reason, and leave the thread's error queue
 * empty (a stale entry would be taken for a later TLS error by whoever shares the thread). */
static bool crypto_fail(sd_error *err, const char *what)
{
	char reason[128] = "no reason given";
	unsigned long e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return sd_fail(err, SD_ERR_CRYPTO, "%s failed: %s", what, reason);
}

/* Like sd_fail() for a verdict on the data (bad tag, bad signature): OpenSSL's queue is emptied too. */
static bool reject(sd_error *err, int code, const char *message)
{
	ERR_clear_error();
	return sd_fail(err, code, "%s", message);
}

static void put_u32be(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)(v & 0xff);
}

static void put_u64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)(v & 0xff);
}

static void make_nonce(uint8_t nonce[NONCE_LEN], uint32_t domain, uint64_t counter)
{
	put_u32be(nonce, domain);
	put_u64be(nonce + 4, counter);
}

/* ---- Randomness and keys ---------------------------------------------------------------- */

bool sd_content_random(uint8_t *out, size_t len, sd_error *err)
{
	if (out == NULL && len > 0)
		return sd_fail(err, SD_ERR_ARGUMENT, "no output buffer for random bytes");
	if (len > INT_MAX)
		return sd_fail(err, SD_ERR_ARGUMENT, "%zu random bytes asked for at once, more than %d", len, INT_MAX);
	if (len > 0 && RAND_bytes(out, (int)len) != 1)
		return crypto_fail(err, "RAND_bytes");
	return true;
}

bool sd_content_derive_key(const uint8_t secret[SD_CONTENT_SECRET_LEN], uint8_t key[SD_CONTENT_KEY_LEN],
                           sd_error *err)
{
	if (secret == NULL || key == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no secret or no key buffer");
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (kdf == NULL)
		return crypto_fail(err, "fetching HKDF");
	EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return crypto_fail(err, "EVP_KDF_CTX_new");
	/* No salt parameter: RFC 5869 then uses HashLen zero bytes, the same HMAC key as an empty salt.
	 * OSSL_PARAM wants non-const pointers; HKDF only reads them. */
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, SD_CONTENT_SECRET_LEN),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info_content_key, LEN(info_content_key)),
		OSSL_PARAM_construct_end(),
	};
	int ok = EVP_KDF_derive(kctx, key, SD_CONTENT_KEY_LEN, params);
	EVP_KDF_CTX_free(kctx);
	if (ok != 1) {
		OPENSSL_cleanse(key, SD_CONTENT_KEY_LEN);
		return crypto_fail(err, "HKDF-SHA256");
	}
	return true;
}

sd_content_signer *sd_content_signer_new(const uint8_t seed[SD_CONTENT_SEED_LEN], sd_error *err)
{
	if (seed == NULL) {
		sd_fail(err, SD_ERR_ARGUMENT, "no Ed25519 seed");
		return NULL;
	}
	sd_content_signer *signer = calloc(1, sizeof(*signer));
	if (signer == NULL) {
		sd_fail(err, SD_ERR_MEMORY, "out of memory for a signer");
		return NULL;
	}
	signer->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, SD_CONTENT_SEED_LEN);
	if (signer->pkey == NULL) {
		crypto_fail(err, "making the Ed25519 key from its seed");
		free(signer);
		return NULL;
	}
	size_t len = sizeof(signer->pubkey);
	if (EVP_PKEY_get_raw_public_key(signer->pkey, signer->pubkey, &len) != 1 || len != SD_CONTENT_PUBKEY_LEN) {
		crypto_fail(err, "reading the Ed25519 public key");
		sd_content_signer_free(signer);
		return NULL;
	}
	return signer;
}

void sd_content_signer_free(sd_content_signer *signer)
{
	if (signer == NULL)
		return;
	EVP_PKEY_free(signer->pkey);
	free(signer);
}

void sd_content_signer_public_key(const sd_content_signer *signer, uint8_t pubkey[SD_CONTENT_PUBKEY_LEN])
{
	memcpy(pubkey, signer->pubkey, SD_CONTENT_PUBKEY_LEN);
}

bool sd_content_public_key(const uint8_t seed[SD_CONTENT_SEED_LEN], uint8_t pubkey[SD_CONTENT_PUBKEY_LEN],
                           sd_error *err)
{
	if (pubkey == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no public key buffer");
	sd_content_signer *signer = sd_content_signer_new(seed, err);
	if (signer == NULL)
		return false;
	sd_content_signer_public_key(signer, pubkey);
	sd_content_signer_free(signer);
	return true;
}

/* Ed25519 signs the whole message at once (no streaming), so callers build context || data. */
static bool sign(const sd_content_signer *signer, const uint8_t *msg, size_t msg_len, uint8_t sig[SD_CONTENT_SIG_LEN],
                 sd_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return crypto_fail(err, "EVP_MD_CTX_new");
	size_t sig_len = SD_CONTENT_SIG_LEN;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, signer->pkey) != 1) {
		EVP_MD_CTX_free(ctx);
		return crypto_fail(err, "Ed25519 sign init");
	}
	if (EVP_DigestSign(ctx, sig, &sig_len, msg, msg_len) != 1 || sig_len != SD_CONTENT_SIG_LEN) {
		EVP_MD_CTX_free(ctx);
		return crypto_fail(err, "Ed25519 signing");
	}
	EVP_MD_CTX_free(ctx);
	return true;
}

/* True when sig is P's signature of msg; a bad signature fails with SD_ERR_CONTENT_SIGNATURE and
 * what_signed in the reason. */
static bool verify(const uint8_t pubkey[SD_CONTENT_PUBKEY_LEN], const uint8_t *msg, size_t msg_len,
                   const uint8_t sig[SD_CONTENT_SIG_LEN], const char *what_signed, sd_error *err)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pubkey, SD_CONTENT_PUBKEY_LEN);
	if (pkey == NULL)
		return crypto_fail(err, "loading the Ed25519 public key");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		EVP_PKEY_free(pkey);
		return crypto_fail(err, "EVP_MD_CTX_new");
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
		EVP_MD_CTX_free(ctx);
		EVP_PKEY_free(pkey);
		return crypto_fail(err, "Ed25519 verify init");
	}
	int r = EVP_DigestVerify(ctx, sig, SD_CONTENT_SIG_LEN, msg, msg_len);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (r == 1) {
		return true;
	}
	if (r == 0) {
		char message[128];
		snprintf(message, sizeof(message),
		         "the signature of the %s does not verify with the link's public key: wrong link or altered data",
		         what_signed);
		return reject(err, SD_ERR_CONTENT_SIGNATURE, message);
	}
	return crypto_fail(err, "Ed25519 verification");
}

/* ---- The link secret ------------------------------------------------------------------------ */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

#define LINK_BYTES (SD_CONTENT_SECRET_LEN + SD_CONTENT_PUBKEY_LEN) /* 48: 64 characters, no padding */

bool sd_content_link_encode(const uint8_t secret[SD_CONTENT_SECRET_LEN], const uint8_t pubkey[SD_CONTENT_PUBKEY_LEN],
                            char *out, size_t out_size, sd_error *err)
{
	if (secret == NULL || pubkey == NULL || out == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no secret, public key or output buffer");
	if (out_size < SD_CONTENT_LINK_LEN + 1)
		return sd_fail(err, SD_ERR_ARGUMENT, "the link buffer holds %zu bytes, %d are needed", out_size,
		            SD_CONTENT_LINK_LEN + 1);
	uint8_t raw[LINK_BYTES];
	memcpy(raw, secret, SD_CONTENT_SECRET_LEN);
	memcpy(raw + SD_CONTENT_SECRET_LEN, pubkey, SD_CONTENT_PUBKEY_LEN);
	/* 48 bytes are 16 groups of 3: four characters each, no partial group. */
	for (size_t g = 0; g < LINK_BYTES / 3; g++) {
		uint32_t v = (uint32_t)raw[3 * g] << 16 | (uint32_t)raw[3 * g + 1] << 8 | raw[3 * g + 2];
		for (size_t k = 0; k < 4; k++)
			out[4 * g + k] = b64url[(v >> (18 - 6 * k)) & 0x3f];
	}
	out[SD_CONTENT_LINK_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return true;
}

bool sd_content_link_decode(const char *link, uint8_t secret[SD_CONTENT_SECRET_LEN],
                            uint8_t pubkey[SD_CONTENT_PUBKEY_LEN], sd_error *err)
{
	if (link == NULL || secret == NULL || pubkey == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no link, secret or public key buffer");
	size_t len = strnlen(link, SD_CONTENT_LINK_LEN + 1);
	if (len > SD_CONTENT_LINK_LEN)
		return sd_fail(err, SD_ERR_CONTENT_LINK, "the link secret is longer than %d characters", SD_CONTENT_LINK_LEN);
	if (len < SD_CONTENT_LINK_LEN)
		return sd_fail(err, SD_ERR_CONTENT_LINK, "the link secret is %zu characters, not %d", len, SD_CONTENT_LINK_LEN);
	uint8_t raw[LINK_BYTES];
	for (size_t g = 0; g < SD_CONTENT_LINK_LEN / 4; g++) {
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			char c = link[4 * g + k];
			int d = b64url_value(c);
			if (d < 0) {
				OPENSSL_cleanse(raw, sizeof(raw));
				if (c == '=')
					return sd_fail(err, SD_ERR_CONTENT_LINK, "the link secret has padding '=' at character %zu: it is unpadded base64url",
					            4 * g + k + 1);
				return sd_fail(err, SD_ERR_CONTENT_LINK, "character %zu of the link secret (0x%02x) is not base64url (A-Z a-z 0-9 - _)",
				            4 * g + k + 1, (unsigned char)c);
			}
			v = v << 6 | (uint32_t)d;
		}
		raw[3 * g] = (uint8_t)(v >> 16);
		raw[3 * g + 1] = (uint8_t)(v >> 8);
		raw[3 * g + 2] = (uint8_t)v;
	}
	memcpy(secret, raw, SD_CONTENT_SECRET_LEN);
	memcpy(pubkey, raw + SD_CONTENT_SECRET_LEN, SD_CONTENT_PUBKEY_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	return true;
}

/* ---- AES-256-GCM ------------------------------------------------------------------------------ */

/* out gets len bytes of ciphertext then the 16-byte tag (out may be plain: GCM works in place);
 * the caller checked that len fits an int and out holds len + 16 bytes. */
static bool gcm_seal(const uint8_t key[SD_CONTENT_KEY_LEN], const uint8_t nonce[NONCE_LEN], const uint8_t *aad,
                     size_t aad_len, const uint8_t *plain, size_t len, uint8_t *out, sd_error *err)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return crypto_fail(err, "EVP_CIPHER_CTX_new");
	int n = 0, fin = 0;
	uint8_t scratch[16]; /* GCM's Final writes no bytes */
	/* GCM's default IV length is 12 bytes, the nonce's. An empty AAD or plaintext is not fed at
	 * all: EVP_EncryptUpdate with a NULL output means "this is AAD". */
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto crypto_error;
	if (aad_len > 0 && (EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 || (size_t)n != aad_len))
		goto crypto_error;
	n = 0;
	if (len > 0 && (EVP_EncryptUpdate(ctx, out, &n, plain, (int)len) != 1 || (size_t)n != len))
		goto crypto_error;
	if (EVP_EncryptFinal_ex(ctx, scratch, &fin) != 1 || fin != 0)
		goto crypto_error;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SD_CONTENT_TAG_LEN, out + len) != 1)
		goto crypto_error;
	EVP_CIPHER_CTX_free(ctx);
	return true;
crypto_error:
	EVP_CIPHER_CTX_free(ctx);
	return crypto_fail(err, "AES-256-GCM encryption");
}

/* cipher is len bytes then the tag; out gets len bytes, zeroed again if the tag does not match. */
static bool gcm_open(const uint8_t key[SD_CONTENT_KEY_LEN], const uint8_t nonce[NONCE_LEN], const uint8_t *aad,
                     size_t aad_len, const uint8_t *cipher, size_t len, uint8_t *out, const char *what,
                     sd_error *err)
{
	uint8_t tag[SD_CONTENT_TAG_LEN];
	memcpy(tag, cipher + len, sizeof(tag)); /* before out is written: out may be cipher */
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return crypto_fail(err, "EVP_CIPHER_CTX_new");
	int n = 0, fin = 0;
	uint8_t scratch[16]; /* GCM's Final writes no bytes; out may be NULL when len is 0 */
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto crypto_error;
	if (aad_len > 0 && (EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 || (size_t)n != aad_len))
		goto crypto_error;
	n = 0;
	if (len > 0 && (EVP_DecryptUpdate(ctx, out, &n, cipher, (int)len) != 1 || (size_t)n != len))
		goto crypto_error;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SD_CONTENT_TAG_LEN, tag) != 1)
		goto crypto_error;
	if (EVP_DecryptFinal_ex(ctx, scratch, &fin) <= 0) {
		/* The one failure of Final once the tag is set: it does not match. */
		EVP_CIPHER_CTX_free(ctx);
		if (len > 0)
			OPENSSL_cleanse(out, len);
		char message[128];
		snprintf(message, sizeof(message), "the %s does not decrypt under the content key: wrong link secret or altered data",
		         what);
		return reject(err, SD_ERR_CONTENT_DECRYPT, message);
	}
	EVP_CIPHER_CTX_free(ctx);
	return true;
crypto_error:
	EVP_CIPHER_CTX_free(ctx);
	if (len > 0)
		OPENSSL_cleanse(out, len);
	return crypto_fail(err, "AES-256-GCM decryption");
}

/* ---- Pieces ------------------------------------------------------------------------------------ */

bool sd_content_piece_from_file(int fd, uint64_t total, uint32_t piece_size, const uint8_t key[SD_CONTENT_KEY_LEN],
                                uint64_t index, uint8_t *out, size_t out_size, size_t *out_len, sd_error *err)
{
	uint64_t offset;
	size_t len;
	if (!sd_content_piece_range(total, piece_size, index, &offset, &len, err))
		return false;
	if (out == NULL || out_size < len)
		return sd_fail(err, SD_ERR_ARGUMENT, "no room for piece %llu", (unsigned long long)index);
	for (size_t got = 0; got < len;) {
		ssize_t n = pread(fd, out + got, len - got, (off_t)(offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sd_fail(err, SD_ERR_IO, "reading piece %llu: %s", (unsigned long long)index,
			               strerror(errno));
		if (n == 0)
			return sd_fail(err, SD_ERR_CONTENT_TRUNCATED, "piece %llu: the file is shorter than the share",
			                       (unsigned long long)index);
		got += (size_t)n;
	}
	return sd_content_piece_encrypt(key, index, out, len, out, out_size, out_len, err);
}

bool sd_content_is_piece_size(uint64_t piece_size)
{
	return piece_size >= SD_CONTENT_PIECE_MIN && piece_size <= SD_CONTENT_PIECE_MAX &&
	       (piece_size & (piece_size - 1)) == 0;
}

bool sd_content_piece_count(uint64_t total, uint32_t piece_size, uint64_t *count, sd_error *err)
{
	if (count == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no piece count buffer");
	if (!sd_content_is_piece_size(piece_size))
		return sd_fail(err, SD_ERR_MANIFEST_PIECE_SIZE, "piece_size %u is not a power of two from %u to %u", piece_size,
		            SD_CONTENT_PIECE_MIN, SD_CONTENT_PIECE_MAX);
	if (total > SD_CONTENT_TOTAL_MAX)
		return sd_fail(err, SD_ERR_MANIFEST_TOTAL, "total %llu is over 2^53 - 1", (unsigned long long)total);
	*count = total / piece_size + (total % piece_size != 0 ? 1 : 0);
	return true;
}

bool sd_content_piece_range(uint64_t total, uint32_t piece_size, uint64_t index, uint64_t *offset, size_t *len,
                            sd_error *err)
{
	uint64_t count;
	if (offset == NULL || len == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no offset or length buffer");
	if (!sd_content_piece_count(total, piece_size, &count, err))
		return false;
	if (index >= count)
		return sd_fail(err, SD_ERR_CONTENT_RANGE, "piece %llu is out of range: the share has %llu pieces",
		            (unsigned long long)index, (unsigned long long)count);
	/* index < count <= ceil(total / piece_size), so index * piece_size < total < 2^53. */
	*offset = index * piece_size;
	uint64_t rest = total - *offset;
	*len = (size_t)(rest < piece_size ? rest : piece_size);
	return true;
}

bool sd_content_piece_encrypt(const uint8_t key[SD_CONTENT_KEY_LEN], uint64_t index, const uint8_t *plain,
                              size_t plain_len, uint8_t *out, size_t out_size, size_t *out_len,
                              sd_error *err)
{
	if (key == NULL || out == NULL || out_len == NULL || (plain == NULL && plain_len > 0))
		return sd_fail(err, SD_ERR_ARGUMENT, "no key, plaintext, output or length buffer");
	if (plain_len > SD_CONTENT_PIECE_MAX)
		return sd_fail(err, SD_ERR_CONTENT_TOO_LARGE, "a piece of %zu bytes is over the largest piece_size, %u", plain_len,
		            SD_CONTENT_PIECE_MAX);
	if (out_size < plain_len + SD_CONTENT_TAG_LEN)
		return sd_fail(err, SD_ERR_ARGUMENT, "the output buffer holds %zu bytes, the piece needs %zu", out_size,
		            plain_len + SD_CONTENT_TAG_LEN);
	uint8_t nonce[NONCE_LEN];
	make_nonce(nonce, NONCE_PIECE, index);
	if (!gcm_seal(key, nonce, NULL, 0, plain, plain_len, out, err))
		return false;
	*out_len = plain_len + SD_CONTENT_TAG_LEN;
	return true;
}

bool sd_content_piece_decrypt(const uint8_t key[SD_CONTENT_KEY_LEN], uint64_t index, const uint8_t *cipher,
                              size_t cipher_len, uint8_t *out, size_t out_size, size_t *out_len,
                              sd_error *err)
{
	if (key == NULL || cipher == NULL || out_len == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no key, ciphertext or length buffer");
	if (cipher_len < SD_CONTENT_TAG_LEN)
		return sd_fail(err, SD_ERR_CONTENT_TRUNCATED, "piece %llu is %zu bytes, shorter than its %d-byte tag",
		            (unsigned long long)index, cipher_len, SD_CONTENT_TAG_LEN);
	size_t len = cipher_len - SD_CONTENT_TAG_LEN;
	if (len > SD_CONTENT_PIECE_MAX)
		return sd_fail(err, SD_ERR_CONTENT_TOO_LARGE, "piece %llu holds %zu bytes, over the largest piece_size, %u",
		            (unsigned long long)index, len, SD_CONTENT_PIECE_MAX);
	if ((out == NULL && len > 0) || out_size < len)
		return sd_fail(err, SD_ERR_ARGUMENT, "the output buffer holds %zu bytes, the piece needs %zu", out_size, len);
	uint8_t nonce[NONCE_LEN];
	make_nonce(nonce, NONCE_PIECE, index);
	char what[48];
	snprintf(what, sizeof(what), "piece %llu", (unsigned long long)index);
	if (!gcm_open(key, nonce, NULL, 0, cipher, len, out, what, err))
		return false;
	*out_len = len;
	return true;
}

bool sd_content_piece_hash(const uint8_t *cipher, size_t cipher_len, uint8_t hash[SD_CONTENT_HASH_LEN],
                           sd_error *err)
{
	if ((cipher == NULL && cipher_len > 0) || hash == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no ciphertext or hash buffer");
	unsigned int md_len = 0;
	if (EVP_Digest(cipher, cipher_len, hash, &md_len, EVP_sha256(), NULL) != 1 || md_len != SD_CONTENT_HASH_LEN)
		return crypto_fail(err, "SHA-256");
	return true;
}

static uint8_t *signed_message(const char *context, size_t context_len, const uint8_t *data, size_t data_len,
                               size_t *msg_len, sd_error *err)
{
	if (data_len > SIZE_MAX - context_len) {
		sd_fail(err, SD_ERR_CONTENT_TOO_LARGE, "a signed message of %zu bytes is too large", data_len);
		return NULL;
	}
	uint8_t *msg = malloc(context_len + data_len);
	if (msg == NULL) {
		sd_fail(err, SD_ERR_MEMORY, "out of memory for a signed message of %zu bytes", context_len + data_len);
		return NULL;
	}
	memcpy(msg, context, context_len);
	if (data_len > 0)
		memcpy(msg + context_len, data, data_len);
	*msg_len = context_len + data_len;
	return msg;
}

bool sd_content_manifest_seal(const uint8_t key[SD_CONTENT_KEY_LEN], const sd_content_signer *signer,
                              const uint8_t *json, size_t json_len, uint8_t *sealed, size_t sealed_size,
                              size_t *sealed_len, sd_error *err)
{
	if (key == NULL || signer == NULL || sealed == NULL || sealed_len == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no key, signer, output or length buffer");
	sd_manifest check;
	if (!sd_manifest_parse(json, json_len, &check, err))
		return false;
	sd_manifest_clear(&check);
	/* json_len <= 4 MiB from here on: no overflow below, and it fits an int for EVP. */
	size_t body_len = NONCE_LEN + json_len + SD_CONTENT_TAG_LEN; /* N || ciphertext || tag */
	if (sealed_size < body_len + SD_CONTENT_SIG_LEN)
		return sd_fail(err, SD_ERR_ARGUMENT, "the output buffer holds %zu bytes, the sealed manifest needs %zu",
		            sealed_size, body_len + SD_CONTENT_SIG_LEN);

	/* A fresh nonce for every seal: one K may seal several manifests (a publish redone). */
	if (!sd_content_random(sealed, NONCE_LEN, err) ||
	    !gcm_seal(key, sealed, (const uint8_t *)context_manifest, LEN(context_manifest), json, json_len,
	              sealed + NONCE_LEN, err))
		return false;
	size_t msg_len = 0;
	uint8_t *msg = signed_message(context_manifest, LEN(context_manifest), sealed, body_len, &msg_len, err);
	if (msg == NULL)
		return false;
	bool ok = sign(signer, msg, msg_len, sealed + body_len, err);
	free(msg);
	if (!ok)
		return false;
	*sealed_len = body_len + SD_CONTENT_SIG_LEN;
	return true;
}

bool sd_content_manifest_open(const uint8_t key[SD_CONTENT_KEY_LEN], const uint8_t pubkey[SD_CONTENT_PUBKEY_LEN],
                              const uint8_t *sealed, size_t sealed_len, sd_manifest *manifest,
                              sd_error *err)
{
	if (key == NULL || pubkey == NULL || sealed == NULL || manifest == NULL)
		return sd_fail(err, SD_ERR_ARGUMENT, "no key, public key, sealed manifest or manifest");
	memset(manifest, 0, sizeof(*manifest));
	if (sealed_len < SD_CONTENT_SEALED_OVERHEAD)
		return sd_fail(err, SD_ERR_CONTENT_TRUNCATED,
		            "the sealed manifest is %zu bytes, shorter than its %d-byte nonce, tag and signature", sealed_len,
		            SD_CONTENT_SEALED_OVERHEAD);
	size_t json_len = sealed_len - SD_CONTENT_SEALED_OVERHEAD;
	if (json_len > SD_CONTENT_MANIFEST_MAX)
		return sd_fail(err, SD_ERR_CONTENT_TOO_LARGE, "the sealed manifest holds %zu bytes of manifest, over 4 MiB", json_len);
	size_t body_len = sealed_len - SD_CONTENT_SIG_LEN; /* N || ciphertext || tag */

	size_t msg_len = 0;
	uint8_t *msg = signed_message(context_manifest, LEN(context_manifest), sealed, body_len, &msg_len, err);
	if (msg == NULL)
		return false;
	bool ok = verify(pubkey, msg, msg_len, sealed + body_len, "manifest", err);
	free(msg);
	if (!ok)
		return false;

	uint8_t *json = malloc(json_len > 0 ? json_len : 1);
	if (json == NULL)
		return sd_fail(err, SD_ERR_MEMORY, "out of memory for a manifest of %zu bytes", json_len);
	ok = gcm_open(key, sealed, (const uint8_t *)context_manifest, LEN(context_manifest), sealed + NONCE_LEN, json_len,
	              json, "manifest", err) &&
	     sd_manifest_parse(json, json_len, manifest, err);
	OPENSSL_clear_free(json, json_len > 0 ? json_len : 1);
	return ok;
}

/* ---- Hash batches ------------------------------------------------------------------------------- */

#define BATCH_HEADER (LEN(context_hashes) + 8 + 4)

/* "swarmdrop/1 hashes" || u64be(first) || u32be(count) || hashes, malloc'd; the caller checked
 * hashes_len == count * 32. */
static uint8_t *batch_message(uint64_t first, uint32_t count, const uint8_t *hashes, size_t hashes_len,
                              size_t *msg_len, sd_error *err)
{
	uint8_t header[BATCH_HEADER];
	memcpy(header, context_hashes, LEN(context_hashes));
	put_u64be(header + LEN(context_hashes), first);
	put_u32be(header + LEN(context_hashes) + 8, count);
	return signed_message((const char *)header, sizeof(header), hashes, hashes_len, msg_len, err);
}

bool sd_content_hashes_sign(const sd_content_signer *signer, uint64_t first, uint32_t count, const uint8_t *hashes,
                            size_t hashes_len, uint8_t sig[SD_CONTENT_SIG_LEN], sd_error *err)
{
	if (signer == NULL || sig == NULL || (hashes == NULL && hashes_len > 0))
		return sd_fail(err, SD_ERR_ARGUMENT, "no signer, hashes or signature buffer");
	if (count == 0)
		return sd_fail(err, SD_ERR_CONTENT_RANGE, "a hash batch holds at least one hash");
	if ((uint64_t)hashes_len != (uint64_t)count * SD_CONTENT_HASH_LEN)
		return sd_fail(err, SD_ERR_ARGUMENT, "%zu bytes of hashes for a batch of %u, not %llu", hashes_len, count,
		            (unsigned long long)count * SD_CONTENT_HASH_LEN);
	if (first > UINT64_MAX - count)
		return sd_fail(err, SD_ERR_CONTENT_RANGE, "a batch of %u hashes from piece %llu goes past the last piece index", count,
		            (unsigned long long)first);
	size_t msg_len = 0;
	uint8_t *msg = batch_message(first, count, hashes, hashes_len, &msg_len, err);
	if (msg == NULL)
		return false;
	bool ok = sign(signer, msg, msg_len, sig, err);
	free(msg);
	return ok;
}

bool sd_content_hashes_verify(const uint8_t pubkey[SD_CONTENT_PUBKEY_LEN], uint64_t piece_count, uint64_t first,
                              uint32_t count, const uint8_t *hashes, size_t hashes_len,
                              const uint8_t sig[SD_CONTENT_SIG_LEN], sd_error *err)
{
	if (pubkey == NULL || sig == NULL || (hashes == NULL && hashes_len > 0))
		return sd_fail(err, SD_ERR_ARGUMENT, "no public key, hashes or signature");
	if (count == 0)
		return sd_fail(err, SD_ERR_CONTENT_RANGE, "a hash batch holds at least one hash");
	if (count > piece_count || first > piece_count - count)
		return sd_fail(err, SD_ERR_CONTENT_RANGE,
		            "a batch of %u hashes from piece %llu is out of range: the share has %llu pieces", count,
		            (unsigned long long)first, (unsigned long long)piece_count);
	uint64_t want = (uint64_t)count * SD_CONTENT_HASH_LEN;
	if ((uint64_t)hashes_len < want)
		return sd_fail(err, SD_ERR_CONTENT_TRUNCATED, "%zu bytes of hashes for a batch of %u, not %llu", hashes_len, count,
		            (unsigned long long)want);
	if ((uint64_t)hashes_len > want)
		return sd_fail(err, SD_ERR_CONTENT_TOO_LARGE, "%zu bytes of hashes for a batch of %u, not %llu", hashes_len, count,
		            (unsigned long long)want);
	size_t msg_len = 0;
	uint8_t *msg = batch_message(first, count, hashes, hashes_len, &msg_len, err);
	if (msg == NULL)
		return false;
	bool ok = verify(pubkey, msg, msg_len, sig, "hash batch", err);
	free(msg);
	return ok;
}
