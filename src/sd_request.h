/* sd_request: turns the JSON body of a Janus message into a checked sd_request, or into an
 * sd_error naming what was wrong (codes in sd_error.h), and an error into its answer's JSON. */
#ifndef SD_REQUEST_H
#define SD_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sd_error.h"
#include "sd_ids.h"
#include "sd_limits.h"
#include "sd_link.h"
#include "sd_locate.h"

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
	SD_REQ_STATS,        /* the operator reads what the server holds and did (docs/protocol.md part 6) */
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
