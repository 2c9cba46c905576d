/* sd_bucket: the token bucket behind every rate limit of the plugin (the request budget of a
 * connection, the relay's rate cap and refusal replies): rate tokens a second, at most burst
 * saved, refilled from a monotonic µs clock. A plain value its owner embeds; no locking (the
 * owner's mutex guards it), no allocation, no failure. */
#ifndef SD_BUCKET_H
#define SD_BUCKET_H

#include <glib.h>
#include <stdbool.h>

typedef struct sd_bucket {
	double rate;        /* tokens a second; 0: no limit (every take succeeds in full) */
	double burst;       /* the most saved, and the most owed (sd_bucket_owe) */
	double tokens;      /* below 0 only after sd_bucket_owe: a debt */
	gint64 refilled_at; /* µs; G_MININT64 until the first refill */
} sd_bucket;

/* A full bucket: burst tokens, its clock started by the first refill. */
void sd_bucket_init(sd_bucket *bucket, double rate, double burst);
/* Adds what it earned since its last refill, up to burst. The first refill only starts the clock;
 * a clock that went back earns nothing (and is not followed back); any gap, however large, just
 * fills it. */
void sd_bucket_refill(sd_bucket *bucket, gint64 now_us);
/* Refills at now_us, then takes n tokens if it holds them (true), else takes nothing (false). */
bool sd_bucket_take(sd_bucket *bucket, gint64 now_us, double n);
/* Refills at now_us, then takes as many whole tokens as it holds, up to n: how many. */
guint64 sd_bucket_take_upto(sd_bucket *bucket, gint64 now_us, guint64 n);
/* Refills at now_us, then takes n tokens whether it holds them or not: the tokens may go below 0,
 * a debt of at most burst that later refills pay first. True if it held n. */
bool sd_bucket_owe(sd_bucket *bucket, gint64 now_us, double n);

#endif
