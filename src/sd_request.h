/* sd_request: turns the JSON body of a Janus message into a checked sd_request, or into an
 * sd_error naming what was wrong. Owns the protocol's error codes (docs/protocol.md). */
#ifndef SD_REQUEST_H
#define SD_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sd_ids.h"
#include "sd_limits.h"
#include "sd_link.h"
#include "sd_locate.h"

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
} sd_error_code;

typedef struct sd_error {
	int code; /* an sd_error_code */
	char message[192];
} sd_error;

/* Records code and a printf-style reason in err; returns false so callers can `return sd_fail(...)`. */
bool sd_fail(sd_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The error as the response body {"swarmdrop":"error","error_code":N,"error":"..."} (new reference). */
json_t *sd_error_json(const sd_error *err);

typedef enum {
	SD_REQ_CREATE,
	SD_REQ_JOIN,
	SD_REQ_LEAVE,
	SD_REQ_CLOSE,        /* the owner token ends the share, member or not */
	SD_REQ_LIST,
	SD_REQ_SIGNAL,
	SD_REQ_RELAY,        /* use the relay for a share (docs/protocol.md part 4) */
	SD_REQ_RELAY_ANSWER, /* carries the JSEP answer to the relay's offer */
	SD_REQ_PUBLISH,      /* the operator publishes a file of the media folder (docs/protocol.md part 5) */
	SD_REQ_UNPUBLISH,    /* the operator closes a published share */
	SD_REQ_REPORT,       /* a member tells the tracker what it holds and measures */
} sd_request_kind;

#define SD_ADMIN_KEY_MAX 256 /* bytes of an admin_key field */
#define SD_MEDIA_PATH_MAX 4096 /* bytes of a publish path */

typedef struct sd_request {
	sd_request_kind kind;
	char share[SD_SHARE_ID_LEN + 1];        /* "" when the request takes none */
	char to[SD_PEER_ID_LEN + 1];            /* signal only */
	char owner_token[SD_TOKEN_LEN + 1];     /* join (optional: "" when absent), close */
	char peer_secret[SD_SECRET_LEN + 1];    /* join only: the secret of the caller's member id; "" when absent */
	const json_t *payload;                  /* signal only; borrowed from the body */
	const char *admin_key;                  /* publish, unpublish; borrowed from the body */
	const char *path;                       /* publish; borrowed from the body */
	bool transcode_audio;                   /* publish; false when absent */
	sd_address address;                     /* join, report: family 0 when absent */
	bool complete;                          /* report */
	bool has_have;                          /* report: have was given */
	uint8_t have[SD_HAVE_BYTES];            /* report: the 256-bucket summary */
	size_t n_links;                         /* report */
	sd_link links[SD_LINKS_MAX + 2];        /* report: at most max_links_per_member + 2 */
} sd_request;

/* Checks body against the request it names: known request, no unknown field, every required
 * field present with its type and shape, payload no larger than max_signal_bytes, no more than
 * max_links_per_member + 2 links (limits). */
bool sd_request_parse(const json_t *body, const sd_limits *limits, sd_request *req, sd_error *err);

#endif
