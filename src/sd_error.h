/* sd_error: the one error type of the C core, and its codes. Every module that can fail fills an
 * sd_error (code and a reason for people) and returns false or NULL; the plugin logs it once and
 * sends the code to the client where one asked. Codes by range:
 *   440-499  the protocol: what a request, a relay frame or a publish answers (docs/protocol.md);
 *            the client acts on these numbers.
 *   500-529  the system: I/O, memory, OpenSSL, cancelled work, a caller's bug.
 *   530-599  content and media: the manifest rules, the content format, the probe and remux.
 * Plain values, no allocation: safe on any thread. */
#ifndef SD_ERROR_H
#define SD_ERROR_H

#include <stdbool.h>

typedef enum {
	SD_ERR_BAD_BODY = 440,
	SD_ERR_UNKNOWN_REQUEST = 441,
	SD_ERR_MISSING_FIELD = 442,
	SD_ERR_INVALID_FIELD = 443,
	SD_ERR_TOO_LARGE = 444,
	SD_ERR_NO_SUCH_SHARE = 445,
	SD_ERR_NO_SUCH_PEER = 446,
	SD_ERR_NOT_JOINED = 447,
	SD_ERR_ALREADY_JOINED = 448,
	SD_ERR_SHARE_FULL = 449,
	SD_ERR_HANDLE_LIMIT = 450,
	SD_ERR_SERVER_FULL = 451,
	SD_ERR_BAD_OWNER_TOKEN = 452,
	SD_ERR_UNKNOWN_FIELD = 453,
	SD_ERR_SELF_SIGNAL = 454,
	/* The relay (sd_relay.h): a relayed message refused, for one target or for all. */
	SD_ERR_RELAY_MALFORMED = 455,   /* not a relay frame */
	SD_ERR_RELAY_NOT_ATTACHED = 456, /* the source is not this client's relay endpoint */
	SD_ERR_RELAY_NO_TARGET = 457,   /* the target is not a relayed member of the share */
	SD_ERR_RELAY_WINDOW = 458,      /* more in flight to the target than the window allows */
	SD_ERR_RELAY_SHARE_QUOTA = 459, /* the share used its relay quota */
	SD_ERR_RELAY_CLIENT_QUOTA = 460, /* the client used its relay quota */
	/* Publishing media from the server's disk (sd_publish.h, docs/protocol.md part 5). */
	SD_ERR_PUBLISH_OFF = 461,      /* the .jcfg sets no media_folder or admin_key */
	SD_ERR_ADMIN_KEY = 462,        /* the admin_key is wrong */
	SD_ERR_MEDIA_PATH = 463,       /* the path is not a readable regular file inside the media folder */
	SD_ERR_NOT_STREAMABLE = 464,   /* the file cannot be remuxed for browsers (the probe's reason) */
	SD_ERR_NOT_PUBLISHED = 465,    /* unpublish: the share is not one the server publishes */
	SD_ERR_PEER_TAKEN = 466,       /* join: a present member holds the id of that peer secret */
	SD_ERR_TOO_SOON = 467,         /* report: sooner than report_interval_seconds after the last */
	/* One client connection (a WebSocket, whatever Janus sessions and handles it opens; sd_quota.h). */
	SD_ERR_TOO_MANY_REQUESTS = 468, /* over requests_per_second (beyond its burst) */
	SD_ERR_CONNECTION_LIMIT = 469,  /* its handles, shares created, memberships or seats in one share */
	SD_ERR_RELAY_BUSY = 470,        /* relay: Janus refused the offer (the handle's last PeerConnection is still closing) */
	SD_ERR_INTERNAL = 499,
	/* The system (500-529). */
	SD_ERR_IO = 500,        /* a read, write, open or stat failed (the reason names the file) */
	SD_ERR_MEMORY = 501,    /* an allocation failed */
	SD_ERR_CRYPTO = 502,    /* OpenSSL failed for a reason of its own */
	SD_ERR_CANCELLED = 503, /* the work was stopped on purpose (shutdown, unpublish) */
	SD_ERR_ARGUMENT = 504,  /* a NULL pointer or a buffer too small: the caller's bug */
	/* Content (530-539): the link secret, sealed data, pieces, hash batches (sd_content.h). */
	SD_ERR_CONTENT_LINK = 530,      /* a link secret that is not 64 base64url characters */
	SD_ERR_CONTENT_TRUNCATED = 531, /* input shorter than its tag/signature, a file shorter than its share */
	SD_ERR_CONTENT_TOO_LARGE = 532, /* input longer than the format allows */
	SD_ERR_CONTENT_SIGNATURE = 533, /* an Ed25519 signature that P does not verify */
	SD_ERR_CONTENT_DECRYPT = 534,   /* an AES-GCM tag that does not match: wrong K or altered data */
	SD_ERR_CONTENT_RANGE = 535,     /* a piece index or hash batch outside the share's pieces */
	SD_ERR_PEER_WIRE = 536,         /* a peer broke the peer wire (docs/protocol.md part 2): ignored */
	/* The manifest rules (540-559, sd_manifest.h), one code each. */
	SD_ERR_MANIFEST_JSON = 540,      /* not UTF-8 JSON, a member given twice, or not an object */
	SD_ERR_MANIFEST_MEMBERS = 541,   /* a missing or unknown member, at the top or in a file entry */
	SD_ERR_MANIFEST_VERSION = 542,   /* v is not 1 */
	SD_ERR_MANIFEST_PIECE_SIZE = 543, /* not a power of two from 16384 to 16777216 */
	SD_ERR_MANIFEST_TOTAL = 544,     /* not an integer from 0 to 2^53 - 1 */
	SD_ERR_MANIFEST_FILES = 545,     /* files is not an array of 1 to 10000 objects */
	SD_ERR_MANIFEST_SIZE = 546,      /* a file size that is not an integer from 0 to 2^53 - 1 */
	SD_ERR_MANIFEST_SUM = 547,       /* the sizes do not add up to total */
	SD_ERR_MANIFEST_PATH = 548,      /* a path that breaks a path rule (the reason names which) */
	SD_ERR_MANIFEST_DUPLICATE_PATH = 549, /* two files with the same path */
	SD_ERR_MANIFEST_TYPE = 550,      /* a type that is not a string of at most 255 bytes */
	SD_ERR_MANIFEST_FRAGMENTS = 551, /* a fragment index that breaks a rule (the reason names which) */
	/* Media (560-579): the probe, the remux, publishing (sd_probe.h, sd_remux.h, sd_publish.h). */
	SD_ERR_MEDIA_FORMAT = 560,     /* not a media file libavformat reads, or truncated, corrupt, empty */
	SD_ERR_MEDIA_UNPLAYABLE = 561, /* a media file browsers cannot play after a remux (the probe's reason) */
	SD_ERR_MEDIA_INIT = 562,       /* an MP4 init segment that is malformed or holds an unknown sample entry */
	SD_ERR_MEDIA_MUX = 563,        /* libav failed to write the MP4 or to transcode the audio */
	SD_ERR_CACHE_FOLDER = 564,     /* the cache folder is not a private folder of the running user */
} sd_error_code;

typedef struct sd_error {
	int code; /* an sd_error_code */
	char message[192];
} sd_error;

/* Records code and a printf-style reason in err (NULL: nothing is recorded); returns false so
 * callers can `return sd_fail(...)`. */
bool sd_fail(sd_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The code's name: its enum name, lowercase, without SD_ERR_ ("relay_window"); "unknown" for a
 * number that is no sd_error_code. */
const char *sd_error_name(int code);

/* Whether a code says a limit was reached rather than that the request was wrong: a quota or cap
 * (counted in stats, told to event handlers as quota_hit), or the relay's window (counted only:
 * ordinary flow control, a client meets it all the time). All such codes are in 440-499. */
typedef enum { SD_LIMIT_NONE = 0, SD_LIMIT_QUOTA, SD_LIMIT_FLOW } sd_error_limit_kind;
sd_error_limit_kind sd_error_limit(int code);

#endif
