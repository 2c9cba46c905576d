/* sd_publish: media the server publishes from its own disk (docs/protocol.md part 5). Owns the
 * publishing settings of the .jcfg (media folder, admin key, cache folder), the checks of a
 * publish request (the admin key; a path that resolves inside the media folder), and the
 * preparation of a file for its share: the remux to fragmented MP4 into the cache folder
 * (sd_remux.h), the piece hashes, the manifest with the fragment index, sealed and signed, ready
 * for sd_seed. Free of Janus; the preparation runs on whatever thread calls it. */
#ifndef SD_PUBLISH_H
#define SD_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "sd_content.h"
#include "sd_request.h"
#include "sd_seed.h"

typedef struct sd_publish_config {
	char *media_folder; /* NULL: publishing is off */
	char *admin_key;    /* NULL: publishing is off */
	char *cache_folder; /* where remuxed files go; a folder of its own under the system's temporary one by default */
} sd_publish_config;

/* An admin key shorter than this is refused: it is the only thing between a client and the disk. */
#define SD_PUBLISH_ADMIN_KEY_MIN 16

void sd_publish_config_init(sd_publish_config *config);
void sd_publish_config_clear(sd_publish_config *config);
/* Takes the .jcfg key if it is one of publishing's (true), else leaves it to sd_limits (false).
 * A bad value (an admin key too short, a folder that is not an absolute path) is not taken:
 * *why says so and publishing stays off. */
bool sd_publish_config_set(sd_publish_config *config, const char *key, const char *value, char *why,
                           size_t why_size, bool *bad);

/* Makes the cache folder (0700) if it is missing and checks that it is private before anything is
 * written there: not a symbolic link, a folder of the user Janus runs as that nobody else may
 * write, under folders that nobody else can rename (owned by that user or root, sticky where
 * others may write, as /tmp is). Otherwise another local user could make the folder first and
 * plant or swap the files the seed serves. Then removes the remuxed files (<share id>.mp4) a
 * plugin that stopped without cleaning up left there (*stale: how many), and sets cache_folder to
 * its real path. False with SD_ERR_CACHE_FOLDER or SD_ERR_IO, and publishing off (media_folder
 * cleared: publish requests get 461). */
bool sd_publish_cache_open(sd_publish_config *config, unsigned *stale, sd_error *err);

/* Checks a publish request: publishing is on (461), the admin key matches (462, compared in
 * constant time), path is relative, free of "..", and names a regular file inside the media
 * folder once symbolic links are resolved (463). On success *resolved is the file's real path
 * (g_free it). */
bool sd_publish_check(const sd_publish_config *config, const char *admin_key, const char *path, char **resolved,
                      sd_error *err);
/* Just the admin key (462), for the other operator requests (unpublish, stats): 461 when the
 * .jcfg sets no admin_key, whether or not it publishes. */
bool sd_publish_check_key(const sd_publish_config *config, const char *admin_key, sd_error *err);

/* Called now and then while a file is prepared: stage "remux" or "hash", fraction from 0 to 1.
 * Returning false cancels the preparation. */
typedef bool (*sd_publish_progress)(void *opaque, const char *stage, double fraction);

typedef struct sd_publish_job {
	const char *source;  /* the real path of the file (sd_publish_check's: no symbolic link in it) */
	const char *output;  /* the remuxed file to make (in the cache folder sd_publish_cache_open checked) */
	bool transcode_audio;
	uint8_t secret[SD_CONTENT_SECRET_LEN];
	uint8_t signing_seed[SD_CONTENT_SEED_LEN];
	sd_publish_progress progress;
	void *opaque;
} sd_publish_job;

/* A new random S and signing key for job, and the link secret they make (out: 65 bytes). */
bool sd_publish_job_keys(sd_publish_job *job, char link[SD_CONTENT_LINK_LEN + 1], sd_error *err);

/* Remuxes, hashes and seals: the content of the share, or NULL with err: SD_ERR_NOT_STREAMABLE
 * (464) when the file cannot be streamed, with the probe's reason; SD_ERR_CANCELLED when progress
 * said stop; SD_ERR_IO when a file cannot be opened, read or written; SD_ERR_CRYPTO, _MEMORY.
 * Each file is opened once, with no symbolic link anywhere in its path (one swapped in after
 * sd_publish_check is refused, not followed): the source is read from that descriptor, the output
 * is made new (O_EXCL, 0600), written, hashed and then served (sd_seed_content reads it) through
 * its own. The output file stays on disk on success and is removed on failure. */
sd_seed_content *sd_publish_prepare(const sd_publish_job *job, sd_error *err);
/* NULL when sd_publish_prepare keeps symbolic links out of every component of the paths it opens
 * (openat2's RESOLVE_NO_SYMLINKS works here); else why it checks only the last component (openat2
 * missing, or refused by a seccomp filter), for the operator's log. */
const char *sd_publish_links_fallback(void);

/* The piece size for a published file of total bytes: 256 KiB, larger for files with more than
 * 65536 pieces (so that one `have` message holds the bitfield). */
uint32_t sd_publish_piece_size(uint64_t total);

#endif
