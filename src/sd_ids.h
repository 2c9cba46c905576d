/* sd_ids: the identifiers of the signalling protocol: the random secrets (owner tokens, peer
 * secrets), the ids derived from them (share ids, peer ids), and the check that a client-supplied
 * string has their shape. An id is derived from its secret by SHA-256, so whoever shows the
 * secret proves the id is theirs, with no state kept (it holds across a restart). Owns nothing. */
#ifndef SD_IDS_H
#define SD_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define SD_SHARE_ID_LEN 16 /* 64 bits, derived from the owner token */
#define SD_PEER_ID_LEN 12  /* 48 bits, derived from the share id and the peer secret; unique within a share */
#define SD_TOKEN_LEN 32    /* an owner token: 128 random bits */
#define SD_SECRET_LEN 32   /* a peer secret: 128 random bits */

/* The domains of the two derivations (hashed as their ASCII bytes, no terminator). */
#define SD_SHARE_ID_DOMAIN "swarmdrop/1 share"
#define SD_PEER_ID_DOMAIN "swarmdrop/1 peer"

/* Fills out[0..len-1] with lowercase hex from the kernel's CSPRNG and terminates it
 * (out must hold len + 1 bytes; len must be even). Returns false if no randomness was had. */
bool sd_random_hex(char *out, size_t len);

/* Writes the first len lowercase hex digits of SHA-256(domain || salt || secret) into out and
 * terminates it (out must hold len + 1 bytes; len at most 64). Each of the three is hashed as its
 * bytes up to its terminator; salt may be NULL (nothing). False only if OpenSSL fails. */
bool sd_derive_hex(char *out, size_t len, const char *domain, const char *salt, const char *secret);

/* The share id of an owner token: the first 16 hex digits of SHA-256("swarmdrop/1 share" || token). */
bool sd_share_id_of(const char *owner_token, char out[SD_SHARE_ID_LEN + 1]);
/* The peer id of a member: the first 12 hex digits of SHA-256("swarmdrop/1 peer" || share_id ||
 * peer_secret). */
bool sd_peer_id_of(const char *share_id, const char *peer_secret, char out[SD_PEER_ID_LEN + 1]);

/* True when s is exactly len lowercase hex digits. */
bool sd_is_hex_id(const char *s, size_t len);

#endif
