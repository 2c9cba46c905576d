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
	SD_ERR_INTERNAL = 499,
	/* The system (500-529). */
	SD_ERR_IO = 500,        /* a read, write, open or stat failed (the reason names the file) */
	SD_ERR_MEMORY = 501,    /* an allocation failed */
	SD_ERR_CRYPTO = 502,    /* OpenSSL failed for a reason of its own */
	SD_ERR_CANCELLED = 503, /* the work was stopped on purpose (shutdown, unpublish) */
	SD_ERR_ARGUMENT = 504,  /* a NULL pointer or a buffer too small: the caller's bug */
} sd_error_code;

typedef struct sd_error {
	int code; /* an sd_error_code */
	char message[192];
} sd_error;

/* Records code and a printf-style reason in err; returns false so callers can `return sd_fail(...)`. */
bool sd_fail(sd_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
