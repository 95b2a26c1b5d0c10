/* Latency histograms (beam/latency.h): buckets, quantiles, merging by bucket. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "beam/latency.h"

static void buckets_are_ten_per_decade(void **state) {
  (void)state;
  assert_int_equal(beam_latency_bucket(-5), 0);
  assert_int_equal(beam_latency_bucket(0.3), 0);
  assert_int_equal(beam_latency_bucket(1), 0);
  assert_int_equal(beam_latency_bucket(10), 10);
  assert_int_equal(beam_latency_bucket(10.5), 11);
  assert_int_equal(beam_latency_bucket(1000), 30);
  assert_int_equal(beam_latency_bucket(1e12), BEAM_LATENCY_BUCKETS - 1);
  assert_true(fabs(beam_latency_bucket_upper_ms(20) - 100) < 1e-9);
  assert_true(isinf(beam_latency_bucket_upper_ms(BEAM_LATENCY_BUCKETS - 1)));
  for (int i = 1; i < BEAM_LATENCY_BUCKETS - 1; i++)
    assert_int_equal(beam_latency_bucket(beam_latency_bucket_upper_ms(i)), i); /* the bound is in its bucket */
}

static void quantiles_bound_the_true_value(void **state) {
  (void)state;
  beam_latency_histogram h = {0};
  assert_true(beam_latency_quantile_ms(&h, 0.5) < 0);
  for (int ms = 1; ms <= 1000; ms++) beam_latency_add(&h, ms);
  double p50 = beam_latency_quantile_ms(&h, 0.5), p99 = beam_latency_quantile_ms(&h, 0.99);
  assert_true(p50 >= 500 && p50 <= 500 * 1.26);
  assert_true(p99 >= 990 && p99 <= 990 * 1.26);
  assert_true(beam_latency_quantile_ms(&h, 1) >= 1000);
  /* merged bucket by bucket (as summed counters are), the same answers */
  beam_latency_histogram m = {0};
  for (int i = 0; i < BEAM_LATENCY_BUCKETS; i++) beam_latency_add_bucket(&m, i, h.counts[i]);
  beam_latency_add_bucket(&m, BEAM_LATENCY_BUCKETS, 7); /* out of range: ignored */
  assert_int_equal(m.n, 1000);
  assert_true(beam_latency_quantile_ms(&m, 0.99) == p99);
  beam_latency_histogram huge = {0};
  beam_latency_add(&huge, 1e12);
  assert_true(isfinite(beam_latency_quantile_ms(&huge, 0.5)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buckets_are_ten_per_decade),
      cmocka_unit_test(quantiles_bound_the_true_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
