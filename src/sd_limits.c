#include "sd_limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sd_link.h"

enum limit_kind { K_NUMBER, K_BOOLEAN, K_PATH };

/* One table for every key; min and max are a number's range, defval a number's or a boolean's
 * default, path a path's default. */
static const struct limit_spec {
	const char *key;
	size_t offset;
	enum limit_kind kind;
	unsigned defval, min, max;
	const char *path;
} limit_specs[] = {
	{"max_shares", offsetof(sd_limits, max_shares), K_NUMBER, 8192, 1, 1000000, NULL},
	{"max_peers_per_share", offsetof(sd_limits, max_peers_per_share), K_NUMBER, 64, 2, 10000, NULL},
	{"max_shares_per_handle", offsetof(sd_limits, max_shares_per_handle), K_NUMBER, 8, 1, 1000, NULL},
	{"max_handles_per_connection", offsetof(sd_limits, max_handles_per_connection), K_NUMBER, 8, 1, 1000, NULL},
	{"max_shares_per_connection", offsetof(sd_limits, max_shares_per_connection), K_NUMBER, 4, 1, 100000, NULL},
	{"max_members_per_connection", offsetof(sd_limits, max_members_per_connection), K_NUMBER, 4, 1, 100000, NULL},
	{"max_seats_per_connection", offsetof(sd_limits, max_seats_per_connection), K_NUMBER, 2, 1, 10000, NULL},
	{"requests_per_second", offsetof(sd_limits, requests_per_second), K_NUMBER, 20, 1, 100000, NULL},
	{"request_burst", offsetof(sd_limits, request_burst), K_NUMBER, 100, 1, 1000000, NULL},
	{"max_signal_bytes", offsetof(sd_limits, max_signal_bytes), K_NUMBER, 16384, 256, 65536, NULL},
	{"share_empty_grace_seconds", offsetof(sd_limits, share_empty_grace_seconds), K_NUMBER, 30, 0, 86400, NULL},
	{"share_orphan_max_seconds", offsetof(sd_limits, share_orphan_max_seconds), K_NUMBER, 86400, 0, 2592000, NULL},
	{"relay_window_kib", offsetof(sd_limits, relay_window_kib), K_NUMBER, 4096, 64, 16384, NULL},
	{"relay_share_quota_mib", offsetof(sd_limits, relay_share_quota_mib), K_NUMBER, 4096, 0, 16777216, NULL},
	{"relay_client_quota_mib", offsetof(sd_limits, relay_client_quota_mib), K_NUMBER, 1024, 0, 16777216, NULL},
	{"relay_client_rate_kib", offsetof(sd_limits, relay_client_rate_kib), K_NUMBER, 0, 0, 10485760, NULL},
	{"relay_offer_timeout_seconds", offsetof(sd_limits, relay_offer_timeout_seconds), K_NUMBER, 10, 1, 3600, NULL},
	{"relay_refusals_per_second", offsetof(sd_limits, relay_refusals_per_second), K_NUMBER, 10, 1, 10000, NULL},
	{"sctp_send_buffer_kib", offsetof(sd_limits, sctp_send_buffer_kib), K_NUMBER, 4096, 0, 16384, NULL},
	{"sctp_receive_buffer_kib", offsetof(sd_limits, sctp_receive_buffer_kib), K_NUMBER, 4096, 0, 16384, NULL},
	{"rank_peers", offsetof(sd_limits, rank_peers), K_BOOLEAN, 1, 0, 1, NULL},
	{"tracker_list_size", offsetof(sd_limits, tracker_list_size), K_NUMBER, 16, 2, 200, NULL},
	{"max_links_per_member", offsetof(sd_limits, max_links_per_member), K_NUMBER, 8, 1, SD_LINKS_MAX, NULL},
	{"report_interval_seconds", offsetof(sd_limits, report_interval_seconds), K_NUMBER, 5, 1, 3600, NULL},
	/* Debian's libloc-database links it to the database it ships; opened once, at start. */
	{"location_database", offsetof(sd_limits, location_database), K_PATH, 0, 0, 0, "/var/lib/location/database.db"},
};

#define FIELD(limits, spec) ((void *)((char *)(limits) + (spec)->offset))

static void set_default(sd_limits *limits, const struct limit_spec *spec)
{
	switch (spec->kind) {
	case K_NUMBER: *(unsigned *)FIELD(limits, spec) = spec->defval; break;
	case K_BOOLEAN: *(bool *)FIELD(limits, spec) = spec->defval != 0; break;
	case K_PATH: snprintf(FIELD(limits, spec), SD_LIMITS_PATH_MAX, "%s", spec->path); break;
	}
}

void sd_limits_default(sd_limits *limits)
{
	memset(limits, 0, sizeof(*limits));
	for (size_t i = 0; i < sizeof(limit_specs) / sizeof(limit_specs[0]); i++)
		set_default(limits, &limit_specs[i]);
}

static sd_limit_result set_number(sd_limits *limits, const struct limit_spec *spec, const char *value, char *err,
                                  size_t err_size)
{
	unsigned *field = FIELD(limits, spec);
	char *end = NULL;
	errno = 0;
	unsigned long long parsed = value != NULL && value[0] >= '0' && value[0] <= '9' ? strtoull(value, &end, 10) : 0;
	if (end == NULL || *end != '\0' || errno != 0 || parsed < spec->min || parsed > spec->max) {
		snprintf(err, err_size, "%s = \"%s\" is not a whole number from %u to %u; keeping %u", spec->key,
		         value != NULL ? value : "", spec->min, spec->max, *field);
		return SD_LIMIT_BAD_VALUE;
	}
	*field = (unsigned)parsed;
	return SD_LIMIT_OK;
}

static sd_limit_result set_boolean(sd_limits *limits, const struct limit_spec *spec, const char *value, char *err,
                                   size_t err_size)
{
	bool *field = FIELD(limits, spec);
	if (value == NULL || (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)) {
		snprintf(err, err_size, "%s = \"%s\" is not true or false; keeping %s", spec->key, value != NULL ? value : "",
		         *field ? "true" : "false");
		return SD_LIMIT_BAD_VALUE;
	}
	*field = strcmp(value, "true") == 0;
	return SD_LIMIT_OK;
}

static sd_limit_result set_path(sd_limits *limits, const struct limit_spec *spec, const char *value, char *err,
                                size_t err_size)
{
	char *field = FIELD(limits, spec);
	/* "" is no file at all; anything else must be absolute, as the daemon's directory is not known. */
	if (value == NULL || (value[0] != '\0' && value[0] != '/') || strlen(value) >= SD_LIMITS_PATH_MAX) {
		snprintf(err, err_size, "%s = \"%.64s\" is not \"\" or an absolute path shorter than %d bytes; keeping \"%s\"",
		         spec->key, value != NULL ? value : "", SD_LIMITS_PATH_MAX, field);
		return SD_LIMIT_BAD_VALUE;
	}
	memcpy(field, value, strlen(value) + 1);
	return SD_LIMIT_OK;
}

sd_limit_result sd_limits_set(sd_limits *limits, const char *key, const char *value, char *err, size_t err_size)
{
	for (size_t i = 0; i < sizeof(limit_specs) / sizeof(limit_specs[0]); i++) {
		const struct limit_spec *spec = &limit_specs[i];
		if (strcmp(spec->key, key) != 0)
			continue;
		switch (spec->kind) {
		case K_BOOLEAN: return set_boolean(limits, spec, value, err, err_size);
		case K_PATH: return set_path(limits, spec, value, err, err_size);
		default: return set_number(limits, spec, value, err, err_size);
		}
	}
	snprintf(err, err_size, "unknown setting \"%s\" ignored", key);
	return SD_LIMIT_UNKNOWN_KEY;
}
