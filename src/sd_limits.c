#include "sd_limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct limit_spec {
	const char *key;
	size_t offset;
	unsigned defval, min, max;
} limit_specs[] = {
	{"max_shares", offsetof(sd_limits, max_shares), 1024, 1, 1000000},
	{"max_peers_per_share", offsetof(sd_limits, max_peers_per_share), 64, 2, 10000},
	{"max_shares_per_handle", offsetof(sd_limits, max_shares_per_handle), 8, 1, 1000},
	{"max_signal_bytes", offsetof(sd_limits, max_signal_bytes), 16384, 256, 65536},
	{"share_empty_grace_seconds", offsetof(sd_limits, share_empty_grace_seconds), 30, 0, 86400},
	{"share_orphan_max_seconds", offsetof(sd_limits, share_orphan_max_seconds), 86400, 0, 2592000},
	{"relay_window_kib", offsetof(sd_limits, relay_window_kib), 1024, 64, 16384},
	{"relay_share_quota_mib", offsetof(sd_limits, relay_share_quota_mib), 0, 0, 16777216},
	{"relay_client_quota_mib", offsetof(sd_limits, relay_client_quota_mib), 0, 0, 16777216},
	{"relay_client_rate_kib", offsetof(sd_limits, relay_client_rate_kib), 0, 0, 10485760},
};

#define LIMIT_FIELD(limits, spec) ((unsigned *)((char *)(limits) + (spec)->offset))

void sd_limits_default(sd_limits *limits)
{
	for (size_t i = 0; i < sizeof(limit_specs) / sizeof(limit_specs[0]); i++)
		*LIMIT_FIELD(limits, &limit_specs[i]) = limit_specs[i].defval;
}

sd_limit_result sd_limits_set(sd_limits *limits, const char *key, const char *value, char *err, size_t err_size)
{
	for (size_t i = 0; i < sizeof(limit_specs) / sizeof(limit_specs[0]); i++) {
		const struct limit_spec *spec = &limit_specs[i];
		if (strcmp(spec->key, key) != 0)
			continue;
		char *end = NULL;
		errno = 0;
		unsigned long long parsed = value != NULL && value[0] >= '0' && value[0] <= '9' ? strtoull(value, &end, 10) : 0;
		if (end == NULL || *end != '\0' || errno != 0 || parsed < spec->min || parsed > spec->max) {
			snprintf(err, err_size, "%s = \"%s\" is not a whole number from %u to %u; keeping %u", key,
			         value != NULL ? value : "", spec->min, spec->max, *LIMIT_FIELD(limits, spec));
			return SD_LIMIT_BAD_VALUE;
		}
		*LIMIT_FIELD(limits, spec) = (unsigned)parsed;
		return SD_LIMIT_OK;
	}
	snprintf(err, err_size, "unknown setting \"%s\" ignored", key);
	return SD_LIMIT_UNKNOWN_KEY;
}
