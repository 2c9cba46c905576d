#include "sd_request.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum field_bit {
	F_SHARE = 1 << 0,
	F_TO = 1 << 1,
	F_OWNER_TOKEN = 1 << 2,
	F_PAYLOAD = 1 << 3,
	F_ADMIN_KEY = 1 << 4,
	F_PATH = 1 << 5,
	F_TRANSCODE_AUDIO = 1 << 6,
	F_PEER_SECRET = 1 << 7,
	F_ADDRESS = 1 << 8,
	F_COMPLETE = 1 << 9,
	F_HAVE = 1 << 10,
	F_LINKS = 1 << 11,
};
enum field_type { T_HEX, T_OBJECT, T_TEXT, T_BOOLEAN, T_ADDRESS, T_HAVE, T_LINKS };

/* A hex field's exact length, a text field's largest. */
static const struct field_spec {
	const char *name;
	unsigned bit;
	enum field_type type;
	size_t len;
} field_specs[] = {
	{"share", F_SHARE, T_HEX, SD_SHARE_ID_LEN},
	{"to", F_TO, T_HEX, SD_PEER_ID_LEN},
	{"owner_token", F_OWNER_TOKEN, T_HEX, SD_TOKEN_LEN},
	{"payload", F_PAYLOAD, T_OBJECT, 0},
	{"admin_key", F_ADMIN_KEY, T_TEXT, SD_ADMIN_KEY_MAX},
	{"path", F_PATH, T_TEXT, SD_MEDIA_PATH_MAX},
	{"transcode_audio", F_TRANSCODE_AUDIO, T_BOOLEAN, 0},
	{"peer_secret", F_PEER_SECRET, T_HEX, SD_SECRET_LEN},
	{"address", F_ADDRESS, T_ADDRESS, 0},
	{"complete", F_COMPLETE, T_BOOLEAN, 0},
	{"have", F_HAVE, T_HAVE, 0},
	{"links", F_LINKS, T_LINKS, 0},
};

static const struct request_spec {
	const char *name;
	sd_request_kind kind;
	unsigned required, optional;
} request_specs[] = {
	{"create", SD_REQ_CREATE, 0, 0},
	{"join", SD_REQ_JOIN, F_SHARE, F_OWNER_TOKEN | F_PEER_SECRET | F_ADDRESS},
	{"leave", SD_REQ_LEAVE, F_SHARE, 0},
	{"close", SD_REQ_CLOSE, F_SHARE | F_OWNER_TOKEN, 0},
	{"list", SD_REQ_LIST, F_SHARE, 0},
	{"signal", SD_REQ_SIGNAL, F_SHARE | F_TO | F_PAYLOAD, 0},
	{"relay", SD_REQ_RELAY, F_SHARE, 0},
	{"relay_answer", SD_REQ_RELAY_ANSWER, 0, 0},
	{"publish", SD_REQ_PUBLISH, F_ADMIN_KEY | F_PATH, F_TRANSCODE_AUDIO},
	{"unpublish", SD_REQ_UNPUBLISH, F_ADMIN_KEY | F_SHARE, 0},
	{"report", SD_REQ_REPORT, F_SHARE | F_COMPLETE | F_LINKS, F_ADDRESS | F_HAVE},
	{"stats", SD_REQ_STATS, F_ADMIN_KEY, 0},
};

/* A measured link: {"peer", "rtt_ms", "down_kbps", "up_kbps"}, every one required. */
#define LINK_NUMBER_MAX 10000000
static const struct link_number {
	const char *name;
	size_t offset;
} link_numbers[] = {
	{"rtt_ms", offsetof(sd_link, rtt_ms)},
	{"down_kbps", offsetof(sd_link, down_kbps)},
	{"up_kbps", offsetof(sd_link, up_kbps)},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

json_t *sd_error_json(const sd_error *err)
{
	return json_pack("{s:s, s:i, s:s}", "swarmdrop", "error", "error_code", err->code, "error", err->message);
}

static const struct field_spec *find_field(const char *name)
{
	for (size_t i = 0; i < COUNT(field_specs); i++)
		if (strcmp(field_specs[i].name, name) == 0)
			return &field_specs[i];
	return NULL;
}

/* Where a checked hex field is stored in the request. */
static char *hex_slot(sd_request *req, unsigned bit)
{
	switch (bit) {
	case F_SHARE: return req->share;
	case F_TO: return req->to;
	case F_PEER_SECRET: return req->peer_secret;
	default: return req->owner_token;
	}
}

/* base64 of exactly SD_HAVE_BYTES bytes: 44 characters, the last one padding. */
#define HAVE_BASE64_LEN (4 * ((SD_HAVE_BYTES + 2) / 3))
static bool take_have(const char *text, size_t len, uint8_t have[SD_HAVE_BYTES], sd_error *err)
{
	bool ok = len == HAVE_BASE64_LEN && text[len - 1] == '=';
	for (size_t i = 0; ok && i + 1 < len; i++)
		ok = g_ascii_isalnum(text[i]) || text[i] == '+' || text[i] == '/';
	guchar out[(HAVE_BASE64_LEN / 4) * 3 + 3]; /* what glib asks of g_base64_decode_step's buffer */
	gint state = 0;
	guint save = 0;
	if (!ok || g_base64_decode_step(text, len, out, &state, &save) != SD_HAVE_BYTES)
		return sd_fail(err, SD_ERR_INVALID_FIELD, "'have' must be the base64 of exactly %d bytes", SD_HAVE_BYTES);
	memcpy(have, out, SD_HAVE_BYTES);
	return true;
}

static bool take_link(const json_t *item, size_t index, sd_link *link, sd_error *err)
{
	if (!json_is_object(item))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "links[%zu] must be a JSON object", index);
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)item, key, value) {
		bool known = strcmp(key, "peer") == 0;
		for (size_t i = 0; i < COUNT(link_numbers) && !known; i++)
			known = strcmp(key, link_numbers[i].name) == 0;
		if (!known)
			return sd_fail(err, SD_ERR_UNKNOWN_FIELD, "links[%zu] does not take a field '%.64s'", index, key);
	}
	const json_t *peer = json_object_get(item, "peer");
	if (peer == NULL)
		return sd_fail(err, SD_ERR_MISSING_FIELD, "links[%zu] needs the field 'peer'", index);
	if (!json_is_string(peer) || json_string_length(peer) != SD_PEER_ID_LEN ||
	    !sd_is_hex_id(json_string_value(peer), SD_PEER_ID_LEN))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "links[%zu].peer must be %d lowercase hex characters", index,
		               SD_PEER_ID_LEN);
	memcpy(link->peer, json_string_value(peer), SD_PEER_ID_LEN + 1);
	for (size_t i = 0; i < COUNT(link_numbers); i++) {
		const json_t *number = json_object_get(item, link_numbers[i].name);
		if (number == NULL)
			return sd_fail(err, SD_ERR_MISSING_FIELD, "links[%zu] needs the field '%s'", index, link_numbers[i].name);
		if (!json_is_integer(number) || json_integer_value(number) < 0 || json_integer_value(number) > LINK_NUMBER_MAX)
			return sd_fail(err, SD_ERR_INVALID_FIELD, "links[%zu].%s must be a whole number from 0 to %d", index,
			               link_numbers[i].name, LINK_NUMBER_MAX);
		*(uint32_t *)((char *)link + link_numbers[i].offset) = (uint32_t)json_integer_value(number);
	}
	return true;
}

static bool take_links(const json_t *value, size_t max_links, sd_request *req, sd_error *err)
{
	if (!json_is_array(value))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "'links' must be a JSON array");
	if (json_array_size(value) > max_links)
		return sd_fail(err, SD_ERR_TOO_LARGE, "'links' has %zu entries, more than the %zu allowed",
		               json_array_size(value), max_links);
	for (size_t i = 0; i < json_array_size(value); i++)
		if (!take_link(json_array_get(value, i), i, &req->links[i], err))
			return false;
	req->n_links = json_array_size(value);
	return true;
}

static bool take_field(const struct field_spec *spec, const json_t *value, const sd_limits *limits, sd_request *req,
                       sd_error *err)
{
	if (spec->type == T_BOOLEAN) {
		if (!json_is_boolean(value))
			return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be true or false", spec->name);
		*(spec->bit == F_COMPLETE ? &req->complete : &req->transcode_audio) = json_is_true(value);
		return true;
	}
	if (spec->type == T_LINKS) {
		/* The array's bound holds whatever limits a caller made up. */
		return take_links(value, MIN(limits->max_links_per_member, SD_LINKS_MAX) + 2, req, err);
	}
	if (spec->type == T_OBJECT) {
		if (!json_is_object(value))
			return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be a JSON object", spec->name);
		/* json_dumpb with no buffer returns the compact size without allocating. */
		size_t size = json_dumpb(value, NULL, 0, JSON_COMPACT);
		if (size == 0 || size > limits->max_signal_bytes)
			return sd_fail(err, SD_ERR_TOO_LARGE, "'%s' is %zu bytes, more than the %u allowed", spec->name, size,
			               limits->max_signal_bytes);
		req->payload = value;
		return true;
	}
	if (!json_is_string(value))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be a string", spec->name);
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);
	if (spec->type == T_ADDRESS) {
		if (strlen(text) != len || !sd_address_parse(text, &req->address))
			return sd_fail(err, SD_ERR_INVALID_FIELD, "'address' must be an IPv4 or IPv6 address");
		return true;
	}
	if (spec->type == T_HAVE)
		return req->has_have = take_have(text, len, req->have, err);
	if (spec->type == T_TEXT) {
		/* An embedded NUL would make the text end early where C reads it. */
		if (len == 0 || len > spec->len || strlen(text) != len)
			return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be 1 to %zu bytes of text without NUL", spec->name,
			               spec->len);
		*(spec->bit == F_PATH ? &req->path : &req->admin_key) = text;
		return true;
	}
	/* The length check catches an embedded NUL that would pass as a shorter string. */
	if (len != spec->len || !sd_is_hex_id(text, spec->len))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be %zu lowercase hex characters", spec->name, spec->len);
	memcpy(hex_slot(req, spec->bit), text, spec->len + 1);
	return true;
}

bool sd_request_parse(const json_t *body, const sd_limits *limits, sd_request *req, sd_error *err)
{
	memset(req, 0, sizeof(*req));
	if (!json_is_object(body))
		return sd_fail(err, SD_ERR_BAD_BODY, "the message body must be a JSON object");
	const json_t *name = json_object_get(body, "request");
	if (name == NULL)
		return sd_fail(err, SD_ERR_UNKNOWN_REQUEST, "missing 'request'");
	if (!json_is_string(name))
		return sd_fail(err, SD_ERR_UNKNOWN_REQUEST, "'request' must be a string");
	const struct request_spec *spec = NULL;
	for (size_t i = 0; i < COUNT(request_specs) && spec == NULL; i++)
		if (strcmp(request_specs[i].name, json_string_value(name)) == 0)
			spec = &request_specs[i];
	if (spec == NULL)
		return sd_fail(err, SD_ERR_UNKNOWN_REQUEST, "unknown request '%.64s'", json_string_value(name));
	req->kind = spec->kind;

	unsigned seen = 0;
	const char *key;
	json_t *value;
	/* json_object_foreach takes a non-const object but does not modify it. */
	json_object_foreach((json_t *)body, key, value) {
		if (strcmp(key, "request") == 0)
			continue;
		const struct field_spec *field = find_field(key);
		if (field == NULL || !((spec->required | spec->optional) & field->bit))
			return sd_fail(err, SD_ERR_UNKNOWN_FIELD, "'%s' does not take a field '%.64s'", spec->name, key);
		if (!take_field(field, value, limits, req, err))
			return false;
		seen |= field->bit;
	}
	for (size_t i = 0; i < COUNT(field_specs); i++)
		if ((spec->required & field_specs[i].bit) && !(seen & field_specs[i].bit))
			return sd_fail(err, SD_ERR_MISSING_FIELD, "'%s' needs the field '%s'", spec->name,
			               field_specs[i].name);
	return true;
}
