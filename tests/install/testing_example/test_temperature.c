/* Two tests of the user's DoFn with beam-c's testing kit, under cmocka. They run on the local
 * runner, or on a Beam runner with BEAM_TEST_RUNNER=portable BEAM_TEST_JOB_ENDPOINT=host:port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <beam/testing_cmocka.h>

/* Readings -> ParseReading -> (main: KV<city, celsius>, bad: lines it could not read). */
static beam_pcollection *parse(beam_test *t, const char *const *lines, size_t n, beam_pcollection **bad) {
  beam_pipeline *p = beam_test_pipeline(t);
  beam_pcollection *in = beam_test_create_strings(t, "Lines", lines, n);
  static const char *const tags[] = {"main", "bad"};
  beam_coder_spec *coders[] = {beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_double(p)),
                               beam_coder_spec_string(p)};
  beam_pardo_spec spec = {.dofn = "parse_reading", .n_outputs = 2, .output_tags = tags, .output_coders = coders};
  beam_pcollection *outs[2] = {0};
  beam_pardo(p, "ParseReading", in, &spec, outs);
  *bad = outs[1];
  return outs[0];
}

static beam_value reading(const char *city, double celsius, beam_value *parts) {
  parts[0] = beam_value_string(city, strlen(city));
  parts[1] = beam_value_double(celsius);
  return (beam_value){.kind = BEAM_VALUE_KV, .u.kv = {&parts[0], &parts[1]}};
}

static void converts_and_sets_bad_lines_aside(void **state) {
  (void)state;
  beam_test *t = beam_test_new("converts and sets bad lines aside");
  const char *const lines[] = {"Oslo,50", "Lima,70.5", "no comma here", "Oslo,abc"};
  beam_pcollection *bad, *good = parse(t, lines, 4, &bad);
  beam_value parts[4];
  beam_value want[] = {reading("Oslo", 10.0, &parts[0]), reading("Lima", 21.4, &parts[2])};
  beam_assert_equal(t, good, "Celsius", want, 2);
  const char *const want_bad[] = {"no comma here", "Oslo,abc"};
  beam_assert_equal_strings(t, bad, "BadLines", want_bad, 2);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

static bool plausible(const beam_value *kv, char *why, size_t cap) {
  double c = kv->u.kv.value->u.f64;
  if (c > -90 && c < 60) return true;
  snprintf(why, cap, "%.1f C is not a weather reading", c);
  return false;
}
BEAM_TEST_PREDICATE("plausible", plausible)

static void readings_per_city(void **state) {
  (void)state;
  beam_test *t = beam_test_new("readings per city");
  const char *const lines[] = {"Oslo,50", "Oslo,41", "Lima,70.5"};
  beam_pcollection *bad, *good = parse(t, lines, 3, &bad);
  beam_assert_all(t, good, "Plausible", "plausible");
  beam_assert_empty(t, bad, "NoBadLines");
  beam_value oslo = beam_value_string("Oslo", 4), temps[] = {beam_value_double(5.0), beam_value_double(10.0)};
  beam_assert_per_key(t, good, "OsloReadings", &oslo, temps, 2);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

int main(int argc, char **argv) {
  int rc;
  if (beam_test_worker(argc, argv, &rc)) return rc; /* a runner started us as its worker */
  beam_error err = {0};
  if (beam_test_configure(argc, argv, &err) != BEAM_OK) return fprintf(stderr, "%s\n", err.message), 2;
  const struct CMUnitTest tests[] = {cmocka_unit_test(converts_and_sets_bad_lines_aside),
                                     cmocka_unit_test(readings_per_city)};
  return cmocka_run_group_tests_name("temperature", tests, NULL, NULL);
}
