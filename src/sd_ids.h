/* sd_ids: the random identifiers of the signalling protocol (share ids, peer ids, owner tokens)
 * and the check that a client-supplied string has their shape. Owns nothing. */
#ifndef SD_IDS_H
#define SD_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define SD_SHARE_ID_LEN 16 /* 64 random bits */
#define SD_PEER_ID_LEN 12  /* 48 random bits, unique within a share */
#define SD_TOKEN_LEN 32    /* 128 random bits */

/* Fills out[0..len-1] with lowercase hex from the kernel's CSPRNG and terminates it
 * (out must hold len + 1 bytes; len must be even). Returns false if no randomness was had. */
bool sd_random_hex(char *out, size_t len);

/* True when s is exactly len lowercase hex digits. */
bool sd_is_hex_id(const char *s, size_t len);

#endif
