/* Latency histograms (see latency.h). */
#include <math.h>

#include "beam/latency.h"

int beam_latency_bucket(double ms) {
  if (!(ms > 1)) return 0; /* also NaN */
  double i = ceil(10 * log10(ms) - 1e-9);
  return i >= BEAM_LATENCY_BUCKETS - 1 ? BEAM_LATENCY_BUCKETS - 1 : (int)i;
}

double beam_latency_bucket_upper_ms(int i) {
  if (i >= BEAM_LATENCY_BUCKETS - 1) return INFINITY;
  return pow(10, i / 10.0);
}

void beam_latency_add(beam_latency_histogram *h, double ms) {
  h->counts[beam_latency_bucket(ms)]++;
  h->n++;
}

void beam_latency_add_bucket(beam_latency_histogram *h, int i, uint64_t n) {
  if (i < 0 || i >= BEAM_LATENCY_BUCKETS) return;
  h->counts[i] += n;
  h->n += n;
}

double beam_latency_quantile_ms(const beam_latency_histogram *h, double q) {
  if (!h->n) return -1;
  /* the smallest bucket by which at least q of the durations are counted */
  double want = ceil(q * (double)h->n);
  if (want < 1) want = 1;
  uint64_t seen = 0;
  for (int i = 0; i < BEAM_LATENCY_BUCKETS; i++) {
    seen += h->counts[i];
    if ((double)seen >= want)
      return i == BEAM_LATENCY_BUCKETS - 1 ? beam_latency_bucket_upper_ms(i - 1) : beam_latency_bucket_upper_ms(i);
  }
  return beam_latency_bucket_upper_ms(BEAM_LATENCY_BUCKETS - 2);
}
