#include "sd_error.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

bool sd_fail(sd_error *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return false;
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

/* The enum's names without their prefix, in code order: what operators read (swarmdrop-stats). */
static const struct {
	int code;
	const char *name;
} error_names[] = {
	{440, "bad_body"},
	{441, "unknown_request"},
	{442, "missing_field"},
	{443, "invalid_field"},
	{444, "too_large"},
	{445, "no_such_share"},
	{446, "no_such_peer"},
	{447, "not_joined"},
	{448, "already_joined"},
	{449, "share_full"},
	{450, "handle_limit"},
	{451, "server_full"},
	{452, "bad_owner_token"},
	{453, "unknown_field"},
	{454, "self_signal"},
	{455, "relay_malformed"},
	{456, "relay_not_attached"},
	{457, "relay_no_target"},
	{458, "relay_window"},
	{459, "relay_share_quota"},
	{460, "relay_client_quota"},
	{461, "publish_off"},
	{462, "admin_key"},
	{463, "media_path"},
	{464, "not_streamable"},
	{465, "not_published"},
	{466, "peer_taken"},
	{467, "too_soon"},
	{468, "too_many_requests"},
	{469, "connection_limit"},
	{470, "relay_busy"},
	{499, "internal"},
	{500, "io"},
	{501, "memory"},
	{502, "crypto"},
	{503, "cancelled"},
	{504, "argument"},
	{530, "content_link"},
	{531, "content_truncated"},
	{532, "content_too_large"},
	{533, "content_signature"},
	{534, "content_decrypt"},
	{535, "content_range"},
	{536, "peer_wire"},
	{540, "manifest_json"},
	{541, "manifest_members"},
	{542, "manifest_version"},
	{543, "manifest_piece_size"},
	{544, "manifest_total"},
	{545, "manifest_files"},
	{546, "manifest_size"},
	{547, "manifest_sum"},
	{548, "manifest_path"},
	{549, "manifest_duplicate_path"},
	{550, "manifest_type"},
	{551, "manifest_fragments"},
	{560, "media_format"},
	{561, "media_unplayable"},
	{562, "media_init"},
	{563, "media_mux"},
	{564, "cache_folder"},
};

const char *sd_error_name(int code)
{
	for (size_t i = 0; i < sizeof(error_names) / sizeof(error_names[0]); i++)
		if (error_names[i].code == code)
			return error_names[i].name;
	return "unknown";
}

/* The codes that tell of a limit reached, and how (sd_error.h). */
static const struct {
	int code;
	sd_error_limit_kind kind;
} limit_codes[] = {
	{SD_ERR_SHARE_FULL, SD_LIMIT_QUOTA},        {SD_ERR_HANDLE_LIMIT, SD_LIMIT_QUOTA},
	{SD_ERR_SERVER_FULL, SD_LIMIT_QUOTA},       {SD_ERR_RELAY_WINDOW, SD_LIMIT_FLOW},
	{SD_ERR_RELAY_SHARE_QUOTA, SD_LIMIT_QUOTA}, {SD_ERR_RELAY_CLIENT_QUOTA, SD_LIMIT_QUOTA},
	{SD_ERR_TOO_MANY_REQUESTS, SD_LIMIT_QUOTA}, {SD_ERR_CONNECTION_LIMIT, SD_LIMIT_QUOTA},
};

sd_error_limit_kind sd_error_limit(int code)
{
	for (size_t i = 0; i < sizeof(limit_codes) / sizeof(limit_codes[0]); i++)
		if (limit_codes[i].code == code)
			return limit_codes[i].kind;
	return SD_LIMIT_NONE;
}
