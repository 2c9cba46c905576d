#include "sd_stats.h"

#include <stdatomic.h>

#define FIRST_CODE 440
#define LAST_CODE 599

typedef struct relay_sample {
	gint64 at;
	guint64 bytes;
} relay_sample;

struct sd_stats {
	/* 64 bits: a stranger's malformed relay frames, every one counted, would wrap 32 in hours. */
	atomic_uint_fast64_t errors[LAST_CODE - FIRST_CODE + 1];
	/* A ring of the latest samples, one more than the seconds of the rate. */
	relay_sample samples[SD_STATS_RATE_SECONDS + 1];
	guint n_samples, next;
};

static guint64 count_of(const sd_stats *stats, int code)
{
	return atomic_load_explicit(&stats->errors[code - FIRST_CODE], memory_order_relaxed);
}

sd_stats *sd_stats_new(void)
{
	sd_stats *stats = g_new0(sd_stats, 1);
	for (int code = FIRST_CODE; code <= LAST_CODE; code++)
		atomic_init(&stats->errors[code - FIRST_CODE], 0);
	return stats;
}

void sd_stats_free(sd_stats *stats)
{
	g_free(stats);
}

void sd_stats_count_error(sd_stats *stats, int code)
{
	if (code < FIRST_CODE || code > LAST_CODE)
		code = SD_ERR_INTERNAL;
	atomic_fetch_add_explicit(&stats->errors[code - FIRST_CODE], 1, memory_order_relaxed);
}

void sd_stats_sample_relay(sd_stats *stats, guint64 relayed_bytes, gint64 now_us)
{
	stats->samples[stats->next] = (relay_sample){.at = now_us, .bytes = relayed_bytes};
	stats->next = (stats->next + 1) % G_N_ELEMENTS(stats->samples);
	if (stats->n_samples < G_N_ELEMENTS(stats->samples))
		stats->n_samples++;
}

double sd_stats_relay_rate(const sd_stats *stats)
{
	if (stats->n_samples < 2)
		return 0;
	const guint size = G_N_ELEMENTS(stats->samples);
	const relay_sample *newest = &stats->samples[(stats->next + size - 1) % size];
	const relay_sample *oldest = &stats->samples[(stats->next + size - stats->n_samples) % size];
	if (newest->at <= oldest->at || newest->bytes < oldest->bytes)
		return 0;
	return (double)(newest->bytes - oldest->bytes) * G_USEC_PER_SEC / (double)(newest->at - oldest->at);
}

json_t *sd_stats_errors_json(const sd_stats *stats)
{
	json_t *errors = json_array();
	for (int code = FIRST_CODE; code <= LAST_CODE; code++) {
		guint64 count = count_of(stats, code);
		if (count > 0)
			json_array_append_new(errors, json_pack("{s:i, s:s, s:I}", "code", code, "name", sd_error_name(code),
			                                        "count", (json_int_t)count));
	}
	return errors;
}

json_t *sd_stats_quotas_json(const sd_stats *stats)
{
	json_t *quotas = json_object();
	for (int code = FIRST_CODE; code <= LAST_CODE; code++)
		if (sd_error_limit(code) != SD_LIMIT_NONE)
			json_object_set_new(quotas, sd_error_name(code), json_integer((json_int_t)count_of(stats, code)));
	return quotas;
}
