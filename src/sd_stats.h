/* sd_stats: the counters an operator reads with the `stats` request (docs/protocol.md part 6)
 * that no other module owns: the refusals the plugin answered, by error code, and the relay's
 * recent rate from samples of its byte count. Shares, members, connections and the relay's
 * totals stay with their owners (sd_service, sd_quota, sd_relay) and are read from them.
 * Counting is safe from any thread (atomics: relay refusals are counted on Janus's loops);
 * sampling and the JSON are the plugin worker's. Fixed size: nothing grows with traffic. */
#ifndef SD_STATS_H
#define SD_STATS_H

#include <glib.h>
#include <jansson.h>

#include "sd_error.h"

/* The relay's rate is over this many seconds of samples. */
#define SD_STATS_RATE_SECONDS 10

typedef struct sd_stats sd_stats;

sd_stats *sd_stats_new(void);
void sd_stats_free(sd_stats *stats);

/* One refusal answered with code (an sd_error_code, 440-599; others count as SD_ERR_INTERNAL). */
void sd_stats_count_error(sd_stats *stats, int code);

/* The relay had carried relayed_bytes in all at now_us (monotonic µs; a sample a second or so). */
void sd_stats_sample_relay(sd_stats *stats, guint64 relayed_bytes, gint64 now_us);
/* Bytes per second over the samples of the last SD_STATS_RATE_SECONDS; 0 before two samples. */
double sd_stats_relay_rate(const sd_stats *stats);

/* [{"code", "name", "count"}] for every code counted at least once, by code (new reference). */
json_t *sd_stats_errors_json(const sd_stats *stats);
/* {"share_full": n, ...}: the refusals for a limit or quota reached, each such code by its
 * name, zeros included, so that an operator sees which limits exist (new reference). */
json_t *sd_stats_quotas_json(const sd_stats *stats);

#endif
