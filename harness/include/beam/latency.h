/* Latency histograms: counts of durations in logarithmic buckets (ten per decade of
 * milliseconds, so a quantile is read to within about 26%), cheap to add to (one increment)
 * and to merge (bucket counts add up, also as a runner's summed counters), for figures such
 * as a stream's publish-to-commit p50 and p99. Not locked: one per thread, or the caller's
 * lock. */
#ifndef BEAM_LATENCY_H
#define BEAM_LATENCY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bucket i holds durations up to 10^(i/10) ms (bucket 0: up to 1 ms); the last one everything
 * above 10^(62/10) ms (about 26 minutes). */
#define BEAM_LATENCY_BUCKETS 64

typedef struct beam_latency_histogram {
  uint64_t counts[BEAM_LATENCY_BUCKETS];
  uint64_t n;
} beam_latency_histogram;

/* The bucket a duration of ms milliseconds falls in (negative durations, a clock skew
 * between publisher and reader, count as 0). */
int beam_latency_bucket(double ms);

/* The largest duration bucket i holds, in milliseconds (the last: +infinity). */
double beam_latency_bucket_upper_ms(int i);

/* Counts one duration. */
void beam_latency_add(beam_latency_histogram *h, double ms);

/* Counts n durations in bucket i (merging counts kept elsewhere, e.g. counters). */
void beam_latency_add_bucket(beam_latency_histogram *h, int i, uint64_t n);

/* The q-quantile (0 < q <= 1) as its bucket's upper bound in ms, so the true value is at most
 * that; -1 when the histogram is empty. The last bucket answers its lower bound. */
double beam_latency_quantile_ms(const beam_latency_histogram *h, double q);

#ifdef __cplusplus
}
#endif
#endif
