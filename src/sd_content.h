/* sd_content: the content format of docs/protocol.md section 3, the encryption and integrity of a
 * share end to end. Owns the link secret (S and the origin's Ed25519 public key P), the content
 * key K = HKDF-SHA256(S), the encryption and hashing of pieces (AES-256-GCM), the sealed manifest
 * (encrypted, then signed by the origin; its JSON rules are sd_manifest.h), the signed hash
 * batches, and the piece arithmetic. Built on OpenSSL 3 (libcrypto) and jansson; no global state.
 *
 * Every function that can fail takes an sd_error and, on failure, fills it with a code (the
 * content codes 530-539 of sd_error.h, the manifest's 540-559, or SD_ERR_MEMORY, _CRYPTO,
 * _ARGUMENT, _IO) and a one-line reason and returns false (or NULL). Output buffers are the
 * caller's and come with their size; nothing is written past it, and a decryption that fails
 * leaves its output zeroed. */
#ifndef SD_CONTENT_H
#define SD_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define SD_CONTENT_SECRET_LEN 16   /* S */
#define SD_CONTENT_PUBKEY_LEN 32   /* P, Ed25519 raw */
#define SD_CONTENT_SEED_LEN 32     /* Ed25519 private key, RFC 8032 raw seed */
#define SD_CONTENT_KEY_LEN 32      /* K, AES-256 */
#define SD_CONTENT_TAG_LEN 16      /* AES-GCM tag after every ciphertext */
#define SD_CONTENT_NONCE_LEN 12    /* AES-GCM nonce; a sealed manifest's own is random and comes first */
#define SD_CONTENT_SIG_LEN 64      /* Ed25519 signature */
#define SD_CONTENT_HASH_LEN 32     /* SHA-256 piece hash */
#define SD_CONTENT_LINK_LEN 64     /* base64url characters of S || P, no padding */

#define SD_CONTENT_PIECE_MIN 16384u
#define SD_CONTENT_PIECE_MAX 16777216u
#define SD_CONTENT_TOTAL_MAX 9007199254740991ull /* 2^53 - 1 */
#define SD_CONTENT_FILES_MAX 10000u
#define SD_CONTENT_PATH_MAX 4096u              /* bytes of UTF-8 */
#define SD_CONTENT_TYPE_MAX 255u               /* bytes of UTF-8 */
#define SD_CONTENT_FRAGMENTS_MAX 100000u       /* entries of a file's optional fragment index */
#define SD_CONTENT_MANIFEST_MAX 4194304u       /* bytes of manifest JSON, 4 MiB */
/* A sealed manifest is its nonce, the ciphertext, the GCM tag, then the signature. */
#define SD_CONTENT_SEALED_OVERHEAD (SD_CONTENT_NONCE_LEN + SD_CONTENT_TAG_LEN + SD_CONTENT_SIG_LEN)

/* ---- Randomness and keys ---------------------------------------------------------------- */

/* Fills out[0..len-1] from OpenSSL's CSPRNG (a new S, a new Ed25519 seed). */
bool sd_content_random(uint8_t *out, size_t len, sd_error *err);

/* K = HKDF-SHA256(IKM = S, salt = empty, info = "swarmdrop/1 content key", L = 32). */
bool sd_content_derive_key(const uint8_t secret[SD_CONTENT_SECRET_LEN], uint8_t key[SD_CONTENT_KEY_LEN],
                           sd_error *err);

/* The origin's signing key, made from a 32-byte Ed25519 seed; opaque, freed with _free. */
typedef struct sd_content_signer sd_content_signer;
sd_content_signer *sd_content_signer_new(const uint8_t seed[SD_CONTENT_SEED_LEN], sd_error *err);
void sd_content_signer_free(sd_content_signer *signer); /* NULL is fine */
/* P of the signer (always succeeds: it is computed once by _new). */
void sd_content_signer_public_key(const sd_content_signer *signer, uint8_t pubkey[SD_CONTENT_PUBKEY_LEN]);
/* P of a seed, without keeping a signer. */
bool sd_content_public_key(const uint8_t seed[SD_CONTENT_SEED_LEN], uint8_t pubkey[SD_CONTENT_PUBKEY_LEN],
                           sd_error *err);

/* ---- The link secret ------------------------------------------------------------------------ */

/* out gets the 64 base64url characters of S || P and a terminating NUL (out_size >= 65). */
bool sd_content_link_encode(const uint8_t secret[SD_CONTENT_SECRET_LEN], const uint8_t pubkey[SD_CONTENT_PUBKEY_LEN],
                            char *out, size_t out_size, sd_error *err);
/* Splits a link secret (the URL fragment without '#') into S and P. Refuses anything but exactly
 * 64 characters of A-Z a-z 0-9 - _ (so padding '=', standard base64 '+' '/', spaces, NULs). */
bool sd_content_link_decode(const char *link, uint8_t secret[SD_CONTENT_SECRET_LEN],
                            uint8_t pubkey[SD_CONTENT_PUBKEY_LEN], sd_error *err);

/* ---- Pieces ------------------------------------------------------------------------------------ */

/* How many pieces a share of total bytes has (0 when total is 0), and where piece index lies in
 * the stream: bytes [*offset, *offset + *len). Refuse a piece_size or total outside the manifest
 * rules and an index >= the piece count. */
bool sd_content_piece_count(uint64_t total, uint32_t piece_size, uint64_t *count, sd_error *err);
bool sd_content_piece_range(uint64_t total, uint32_t piece_size, uint64_t index, uint64_t *offset, size_t *len,
                            sd_error *err);

/* C_i = AES-256-GCM(K, nonce(1, index), plain, AAD empty) || tag: plain_len + 16 bytes into out
 * (out_size must allow them; *out_len gets the count). plain_len is at most SD_CONTENT_PIECE_MAX.
 * out may be plain itself (in place), with room for the tag after it. */
bool sd_content_piece_encrypt(const uint8_t key[SD_CONTENT_KEY_LEN], uint64_t index, const uint8_t *plain,
                              size_t plain_len, uint8_t *out, size_t out_size, size_t *out_len,
                              sd_error *err);
/* The inverse: checks the tag and writes cipher_len - 16 bytes of plaintext into out (which may be
 * cipher itself). A piece whose tag does not match leaves out zeroed. */
bool sd_content_piece_decrypt(const uint8_t key[SD_CONTENT_KEY_LEN], uint64_t index, const uint8_t *cipher,
                              size_t cipher_len, uint8_t *out, size_t out_size, size_t *out_len,
                              sd_error *err);
/* C_i of a share whose piece stream is the file fd (read with pread, so threads may share fd):
 * reads piece index and encrypts it into out (out_size >= piece_size + 16). Fails with
 * SD_ERR_CONTENT_TRUNCATED when the file is shorter than total, SD_ERR_IO when a read fails. */
bool sd_content_piece_from_file(int fd, uint64_t total, uint32_t piece_size, const uint8_t key[SD_CONTENT_KEY_LEN],
                                uint64_t index, uint8_t *out, size_t out_size, size_t *out_len, sd_error *err);

/* True for the piece sizes the format allows: a power of two from 16 KiB to 16 MiB. */
bool sd_content_is_piece_size(uint64_t piece_size);

/* H_i = SHA-256(C_i). */
bool sd_content_piece_hash(const uint8_t *cipher, size_t cipher_len, uint8_t hash[SD_CONTENT_HASH_LEN],
                           sd_error *err);

/* ---- The sealed manifest (its JSON: sd_manifest.h) ------------------------------------------ */

typedef struct sd_manifest sd_manifest;

/* sealed = N || AES-256-GCM(K, N, json, AAD "swarmdrop/1 manifest") || tag
 *          || Ed25519-Sign("swarmdrop/1 manifest" || N || ciphertext || tag),
 * N 12 random bytes for every seal, so that two seals under one K never share a nonce.
 * json is checked with sd_manifest_parse first. sealed_size must be at least
 * json_len + SD_CONTENT_SEALED_OVERHEAD (92). */
bool sd_content_manifest_seal(const uint8_t key[SD_CONTENT_KEY_LEN], const sd_content_signer *signer,
                              const uint8_t *json, size_t json_len, uint8_t *sealed, size_t sealed_size,
                              size_t *sealed_len, sd_error *err);
/* Verifies the signature with P, then decrypts with K, then parses and checks the manifest. */
bool sd_content_manifest_open(const uint8_t key[SD_CONTENT_KEY_LEN], const uint8_t pubkey[SD_CONTENT_PUBKEY_LEN],
                              const uint8_t *sealed, size_t sealed_len, sd_manifest *manifest,
                              sd_error *err);

/* ---- Hash batches ------------------------------------------------------------------------------- */

/* sig = Ed25519-Sign("swarmdrop/1 hashes" || u64be(first) || u32be(count) || hashes), where hashes
 * is count * 32 bytes (hashes_len must be exactly that) and count >= 1 (an empty batch names no
 * piece; the browser side refuses one too). */
bool sd_content_hashes_sign(const sd_content_signer *signer, uint64_t first, uint32_t count, const uint8_t *hashes,
                            size_t hashes_len, uint8_t sig[SD_CONTENT_SIG_LEN], sd_error *err);
/* Accepts a batch only when it holds 1 or more hashes, lies within a share of piece_count pieces
 * (first + count <= piece_count), and its signature verifies with P. */
bool sd_content_hashes_verify(const uint8_t pubkey[SD_CONTENT_PUBKEY_LEN], uint64_t piece_count, uint64_t first,
                              uint32_t count, const uint8_t *hashes, size_t hashes_len,
                              const uint8_t sig[SD_CONTENT_SIG_LEN], sd_error *err);

#endif
