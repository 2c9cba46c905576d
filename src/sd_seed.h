/* sd_seed: the server as the origin of a share it publishes (docs/protocol.md part 5). Speaks the
 * peer wire of part 2 to each viewer through the relay of part 4, as a browser origin would:
 * answers relay probes, waits for `hello`, greets (manifest, hash batches, `have`), serves the
 * pieces asked of it from the prepared file, encrypting each as it goes out. Owns the prepared
 * content (sd_seed_content) and one small state per viewer: requests waiting (at most
 * SD_SEED_MAX_QUEUED), the piece going out, the bytes in flight in the relay (never more than the
 * relay window). Free of Janus: frames go out through a send callback, and what goes wrong (a
 * piece that cannot be read, a viewer ignored for breaking the peer wire) goes to the problem
 * callback the plugin sets, which logs it; the seed itself never logs. Thread-safe (one mutex):
 * the relay delivers on the viewers' threads, the content arrives from the publishing job. */
#ifndef SD_SEED_H
#define SD_SEED_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sd_content.h"
#include "sd_ids.h"

/* Requests a viewer may have waiting; beyond them it gets `reject` (part 2, MAX_QUEUED_REQUESTS). */
#define SD_SEED_MAX_QUEUED 16

/* What a published share serves: built once the remux is done, never changed afterwards. */
typedef struct sd_seed_content sd_seed_content;

/* Takes fd (the prepared file, read with pread; closed by _free). sealed is the sealed manifest,
 * hashes the piece_count * 32 bytes of piece hashes; signs the hash batches with signer. */
sd_seed_content *sd_seed_content_new(int fd, uint64_t total, uint32_t piece_size,
                                     const uint8_t key[SD_CONTENT_KEY_LEN], const sd_content_signer *signer,
                                     const uint8_t *sealed, size_t sealed_len, const uint8_t *hashes,
                                     sd_error *err);
void sd_seed_content_free(sd_seed_content *content); /* NULL is fine */

/* Hands one relay frame (client to plugin, docs/protocol.md part 4) to the relay. Returns 0 when
 * it went to its target, or the refusal code (SD_ERR_RELAY_*) when it did not; the seed forgets
 * a viewer the relay no longer knows (457). frame is the seed's own buffer, built anew for each
 * frame: the callee may rewrite it (the relay routes in place). Called with the seed's lock
 * held: it must not call back into the seed. */
typedef int (*sd_seed_send_fn)(void *opaque, guint8 *frame, size_t length);

typedef struct sd_seed sd_seed;

/* The origin, member peer_id of its share, with window bytes in flight allowed per viewer. NULL
 * when peer_id is not a member id or send is NULL (the caller's bug). */
sd_seed *sd_seed_new(const char *peer_id, guint64 window, sd_seed_send_fn send, void *opaque);
void sd_seed_free(sd_seed *seed); /* frees its content too */

/* Something went wrong that nobody asked about: SD_ERR_IO (or _CONTENT_TRUNCATED) when a piece
 * cannot be read (the viewer gets `reject`), SD_ERR_PEER_WIRE when a viewer is ignored from then
 * on, SD_ERR_ARGUMENT when the content is set twice. Called with the seed's lock held, on the
 * thread that delivered or set the content: it must not call back into the seed. */
typedef void (*sd_seed_problem_fn)(void *opaque, const sd_error *err);
/* Sets the problem callback (called with sd_seed_new's opaque); without one, problems go unseen. */
void sd_seed_on_problem(sd_seed *seed, sd_seed_problem_fn problem);

/* The content is ready: viewers that said hello are greeted now, later ones at their hello. A
 * second content is refused (freed, and a problem). */
void sd_seed_set_content(sd_seed *seed, sd_seed_content *content);

/* A message the relay delivers to the seed's endpoint: a relayed frame (binary: kind, source,
 * message) or one of the plugin's own text messages (credit). Anything malformed is
 * dropped; a viewer that breaks the peer wire is ignored from then on. */
void sd_seed_deliver(sd_seed *seed, const guint8 *message, size_t length, bool binary);

/* Member peer_id left the share. */
void sd_seed_forget(sd_seed *seed, const char *peer_id);

/* Viewers the seed holds state for. */
guint sd_seed_viewer_count(sd_seed *seed);

#endif
