/* Deliberately wrong expectations, to prove how the testing kit reports a failure from a
 * plain main(): ctest checks the output (the missing / unexpected lists, the assertion and
 * PCollection names) and the exit status. The first argument picks the scenario:
 *   pass         the right expectation: "PASS ..." and exit status 0
 *   wrong        one element missing, one unexpected: "FAIL ..." and exit status 1
 *   never_built  an assertion on a PCollection from a failed construction */
#include <stdio.h>
#include <string.h>

#include "beam/testing.h"

static beam_status upper_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  const beam_bytes *in = &elem->value->u.bytes;
  char *out = beam_arena_alloc(beam_dofn_scratch(ctx), in->len + 1);
  if (!out) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < in->len; i++) out[i] = (char)(in->data[i] >= 'a' && in->data[i] <= 'z' ? in->data[i] - 32 : in->data[i]);
  beam_value v = beam_value_string(out, in->len);
  return beam_dofn_emit(ctx, 0, &v, err);
}
static const beam_dofn_def upper = {.name = "failing_upper", .process = upper_process};
BEAM_REGISTER_DOFN(upper)

int main(int argc, char **argv) {
  int rc;
  if (beam_test_worker(argc, argv, &rc)) return rc;
  const char *scenario = argc > 1 ? argv[1] : "wrong";
  beam_test *t = beam_test_new(scenario);
  beam_pipeline *p = beam_test_pipeline(t);
  const char *const words[] = {"apple", "banana", "cherry"};
  beam_pcollection *in = beam_test_create_strings(t, "Words", words, 3);
  beam_pcollection *out = beam_pardo1(p, "Upper", in, "failing_upper", NULL, beam_coder_spec_string(p));
  const char *const right[] = {"APPLE", "BANANA", "CHERRY"}, *const wrong[] = {"APPLE", "BANANA", "DATE"};
  if (strcmp(scenario, "never_built") == 0) out = beam_pardo1(p, "Upper", in, "failing_upper", NULL, beam_coder_spec_string(p));
  beam_assert_equal_strings(t, out, "UpperWords", strcmp(scenario, "pass") == 0 ? right : wrong, 3);
  rc = beam_test_main_result(t);
  beam_test_free(t);
  return rc;
}
