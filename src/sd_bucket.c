#include "sd_bucket.h"

void sd_bucket_init(sd_bucket *bucket, double rate, double burst)
{
	*bucket = (sd_bucket){.rate = rate, .burst = burst, .tokens = burst, .refilled_at = G_MININT64};
}

void sd_bucket_refill(sd_bucket *bucket, gint64 now_us)
{
	if (bucket->refilled_at == G_MININT64)
		bucket->refilled_at = now_us;
	if (now_us <= bucket->refilled_at)
		return;
	/* Unsigned: the gap between any two gint64 is exact there, never an overflow. */
	guint64 gap_us = (guint64)now_us - (guint64)bucket->refilled_at;
	double earned = bucket->rate * ((double)gap_us / G_USEC_PER_SEC);
	bucket->tokens = MIN(bucket->burst, bucket->tokens + earned);
	bucket->refilled_at = now_us;
}

bool sd_bucket_take(sd_bucket *bucket, gint64 now_us, double n)
{
	if (bucket->rate == 0)
		return true;
	sd_bucket_refill(bucket, now_us);
	if (bucket->tokens < n)
		return false;
	bucket->tokens -= n;
	return true;
}

guint64 sd_bucket_take_upto(sd_bucket *bucket, gint64 now_us, guint64 n)
{
	if (bucket->rate == 0)
		return n;
	sd_bucket_refill(bucket, now_us);
	guint64 taken = bucket->tokens < 1 ? 0 : MIN(n, (guint64)bucket->tokens);
	bucket->tokens -= (double)taken;
	return taken;
}

bool sd_bucket_owe(sd_bucket *bucket, gint64 now_us, double n)
{
	if (bucket->rate == 0)
		return true;
	sd_bucket_refill(bucket, now_us);
	bool held = bucket->tokens >= n;
	bucket->tokens = MAX(bucket->tokens - n, -bucket->burst);
	return held;
}
