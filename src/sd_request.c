#include "sd_request.h"

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
};
enum field_type { T_HEX, T_OBJECT, T_TEXT, T_BOOLEAN };

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
};

static const struct request_spec {
	const char *name;
	sd_request_kind kind;
	unsigned required, optional;
} request_specs[] = {
	{"create", SD_REQ_CREATE, 0, 0},
	{"join", SD_REQ_JOIN, F_SHARE, F_OWNER_TOKEN | F_PEER_SECRET},
	{"leave", SD_REQ_LEAVE, F_SHARE, 0},
	{"close", SD_REQ_CLOSE, F_SHARE | F_OWNER_TOKEN, 0},
	{"list", SD_REQ_LIST, F_SHARE, 0},
	{"signal", SD_REQ_SIGNAL, F_SHARE | F_TO | F_PAYLOAD, 0},
	{"relay", SD_REQ_RELAY, F_SHARE, 0},
	{"relay_answer", SD_REQ_RELAY_ANSWER, 0, 0},
	{"publish", SD_REQ_PUBLISH, F_ADMIN_KEY | F_PATH, F_TRANSCODE_AUDIO},
	{"unpublish", SD_REQ_UNPUBLISH, F_ADMIN_KEY | F_SHARE, 0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool sd_fail(sd_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

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

static bool take_field(const struct field_spec *spec, const json_t *value, size_t max_signal_bytes,
                       sd_request *req, sd_error *err)
{
	if (spec->type == T_BOOLEAN) {
		if (!json_is_boolean(value))
			return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be true or false", spec->name);
		req->transcode_audio = json_is_true(value);
		return true;
	}
	if (spec->type == T_OBJECT) {
		if (!json_is_object(value))
			return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be a JSON object", spec->name);
		/* json_dumpb with no buffer returns the compact size without allocating. */
		size_t size = json_dumpb(value, NULL, 0, JSON_COMPACT);
		if (size == 0 || size > max_signal_bytes)
			return sd_fail(err, SD_ERR_TOO_LARGE, "'%s' is %zu bytes, more than the %zu allowed", spec->name,
			               size, max_signal_bytes);
		req->payload = value;
		return true;
	}
	if (!json_is_string(value))
		return sd_fail(err, SD_ERR_INVALID_FIELD, "'%s' must be a string", spec->name);
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);
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

bool sd_request_parse(const json_t *body, size_t max_signal_bytes, sd_request *req, sd_error *err)
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
		if (!take_field(field, value, max_signal_bytes, req, err))
			return false;
		seen |= field->bit;
	}
	for (size_t i = 0; i < COUNT(field_specs); i++)
		if ((spec->required & field_specs[i].bit) && !(seen & field_specs[i].bit))
			return sd_fail(err, SD_ERR_MISSING_FIELD, "'%s' needs the field '%s'", spec->name,
			               field_specs[i].name);
	return true;
}
