/* What a failing test looks like, from a plain main(): the expectation is deliberately wrong
 * (Lima is 21.4 C, not 21.5), so the run fails, prints the missing and unexpected elements
 * and exits 1. ctest checks that report (CMakeLists.txt: PASS_REGULAR_EXPRESSION). */
#include <stdio.h>
#include <string.h>

#include <beam/testing.h>

int main(int argc, char **argv) {
  int rc;
  if (beam_test_worker(argc, argv, &rc)) return rc;
  beam_error err = {0};
  if (beam_test_configure(argc, argv, &err) != BEAM_OK) return fprintf(stderr, "%s\n", err.message), 2;
  beam_test *t = beam_test_new("demo: a wrong expectation");
  beam_pipeline *p = beam_test_pipeline(t);
  const char *const lines[] = {"Oslo,50", "Lima,70.5"};
  beam_pcollection *in = beam_test_create_strings(t, "Lines", lines, 2);
  static const char *const tags[] = {"main", "bad"};
  beam_coder_spec *coders[] = {beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_double(p)),
                               beam_coder_spec_string(p)};
  beam_pardo_spec spec = {.dofn = "parse_reading", .n_outputs = 2, .output_tags = tags, .output_coders = coders};
  beam_pcollection *outs[2] = {0};
  beam_pardo(p, "ParseReading", in, &spec, outs);
  beam_value oslo = beam_value_string("Oslo", 4), lima = beam_value_string("Lima", 4);
  beam_value ten = beam_value_double(10.0), wrong = beam_value_double(21.5);
  beam_value want[] = {{.kind = BEAM_VALUE_KV, .u.kv = {&oslo, &ten}}, {.kind = BEAM_VALUE_KV, .u.kv = {&lima, &wrong}}};
  beam_assert_equal(t, outs[0], "Celsius", want, 2);
  rc = beam_test_main_result(t);
  beam_test_free(t);
  return rc;
}
