/* Bag user state and multimap side inputs on the local runner: per-key running counts
 * (across more keys than a bundle's state cache holds, and per fixed window), a multimap
 * lookup of 1,000 keys with missing ones, the Runner API proto they produce, and the errors.
 * tests/peers/state_checks.c runs the same pipelines on real runners. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "beam/runner.h"
#include "beam/urns.h"
#include "proto_names.h"
#include "state_pipelines.h"

static int setup(void **state) {
  (void)state;
  stp_register();
  return 0;
}

static void run_and_expect(beam_pipeline *p, const state_expected *want, size_t n_want) {
  assert_null(beam_pipeline_error(p));
  beam_run_result r;
  beam_error err = {0};
  if (beam_pipeline_run_local(p, NULL, &r, &err) != BEAM_OK) fail_msg("%s", err.message);
  for (size_t i = 0; i < n_want; i++) {
    int64_t got = beam_run_result_counter(&r, NULL, want[i].name);
    if (got != want[i].value) fail_msg("counter %s: got %lld, want %lld", want[i].name, (long long)got, (long long)want[i].value);
  }
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

static void running_count_per_key(void **state) {
  (void)state;
  /* 3,000 keys x 2 bags overflow the bundle's state cache, so counts are flushed to the
   * store and read back, as across bundles. */
  state_count_config c = {.n = 12000, .keys = 3000, .window_ms = 0, .complete_at = 4};
  state_expected want[8];
  size_t n = stp_running_count_expected(&c, want);
  run_and_expect(stp_running_count_pipeline(&c), want, n);
}

static void running_count_per_key_and_window(void **state) {
  (void)state;
  state_count_config c = {.n = 1000, .keys = 10, .window_ms = 100, .complete_at = 10};
  state_expected want[8];
  size_t n = stp_running_count_expected(&c, want);
  run_and_expect(stp_running_count_pipeline(&c), want, n);
}

static void multimap_lookup_with_missing_keys(void **state) {
  (void)state;
  state_expected want[8];
  size_t n = stp_multimap_expected(1000, want);
  assert_int_equal(want[0].value, 666);
  run_and_expect(stp_multimap_pipeline(1000), want, n);
}

static const PIPE(PTransform) *transform_named(const PIPE(Pipeline) *pl, const char *name) {
  for (size_t i = 0; i < pl->components->n_transforms; i++)
    if (strcmp(pl->components->transforms[i]->value->unique_name, name) == 0) return pl->components->transforms[i]->value;
  return NULL;
}

static void proto_declares_state_and_multimap(void **state) {
  (void)state;
  state_count_config c = {.n = 10, .keys = 2, .window_ms = 0, .complete_at = 5};
  beam_pipeline *p = stp_running_count_pipeline(&c);
  beam_buf buf = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_encode(p, &buf, &err), BEAM_OK);
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, buf.len, buf.data);
  assert_non_null(pl);
  assert_int_equal(pl->n_requirements, 1);
  assert_string_equal(pl->requirements[0], BEAM_URN_REQUIREMENT_STATEFUL);
  const PIPE(PTransform) *t = transform_named(pl, "RunningCount");
  assert_non_null(t);
  PIPE(ParDoPayload) *pardo = PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  assert_non_null(pardo);
  assert_int_equal(pardo->n_state_specs, 2);
  for (size_t i = 0; i < 2; i++) {
    const PIPE(StateSpec) *spec = pardo->state_specs[i]->value;
    assert_int_equal(spec->spec_case, PIPE_ENUM(STATE_SPEC__SPEC_BAG_SPEC));
    assert_string_equal(spec->protocol->urn, BEAM_URN_USER_STATE_BAG);
    const char *coder = spec->bag_spec->element_coder_id;
    bool found = false;
    for (size_t j = 0; j < pl->components->n_coders; j++)
      if (strcmp(pl->components->coders[j]->key, coder) == 0)
        found = strcmp(pl->components->coders[j]->value->spec->urn, BEAM_URN_CODER_VARINT) == 0;
    assert_true(found);
  }
  PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  beam_pipeline_free(p);

  p = stp_multimap_pipeline(10);
  assert_int_equal(beam_pipeline_encode(p, &buf, &err), BEAM_OK);
  pl = PIPE_FN(pipeline__unpack)(NULL, buf.len, buf.data);
  assert_non_null(pl);
  assert_int_equal(pl->n_requirements, 0); /* side inputs alone do not make a ParDo stateful */
  t = transform_named(pl, "Lookup");
  pardo = PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  assert_int_equal(pardo->n_side_inputs, 1);
  assert_string_equal(pardo->side_inputs[0]->value->access_pattern->urn, BEAM_URN_SIDE_INPUT_MULTIMAP);
  PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  beam_buf_free(&buf);
  beam_pipeline_free(p);
}

/* Reads a bag that was never declared, or a multimap side input as an iterable. */
static beam_status misuse_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)elem;
  const beam_value_list *l = NULL;
  if (json_is_true(json_object_get((const json_t *)*(const json_t **)state, "iterable")))
    return beam_dofn_side_input(ctx, "table", &l, err);
  return beam_dofn_state_bag_read(ctx, "nope", &l, err);
}
static beam_status misuse_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  *(const json_t **)state = beam_dofn_config(ctx);
  return BEAM_OK;
}
static const beam_dofn_def misuse = {"test_state_misuse", sizeof(json_t *), misuse_setup, NULL, misuse_process, NULL, NULL};

static void errors_name_the_problem(void **state) {
  (void)state;
  beam_dofn_register(&misuse);
  /* State needs a keyed input. */
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *nums = stp_numbers_from(p, "Numbers", 3);
  beam_coder_spec *varint = beam_coder_spec_varint(p);
  beam_state_spec st = {"count", varint};
  beam_pardo_spec spec = {.dofn = "stp_count", .n_outputs = 1, .output_coders = &varint, .states = &st, .n_states = 1};
  beam_pcollection *out = NULL;
  assert_int_equal(beam_pardo(p, "Stateful", nums, &spec, &out), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(beam_pipeline_error(p)->message, "ParDo \"Stateful\" has user state, so its input"));
  assert_non_null(strstr(beam_pipeline_error(p)->message, "must have a KV coder"));
  beam_pipeline_free(p);

  /* A multimap side input must be KV. */
  p = beam_pipeline_new();
  nums = stp_numbers_from(p, "Numbers", 3);
  varint = beam_coder_spec_varint(p);
  beam_side_input_spec si = {"table", nums, BEAM_SIDE_INPUT_MULTIMAP};
  beam_pardo_spec spec2 = {.dofn = "stp_lookup", .n_outputs = 1, .output_coders = &varint, .side_inputs = &si, .n_side_inputs = 1};
  assert_int_equal(beam_pardo(p, "Lookup", nums, &spec2, &out), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(beam_pipeline_error(p)->message, "multimap side input \"table\" ("));
  assert_non_null(strstr(beam_pipeline_error(p)->message, "must have a KV coder"));
  beam_pipeline_free(p);

  /* An undeclared bag fails the run with its name. */
  p = beam_pipeline_new();
  nums = stp_numbers_from(p, "Numbers", 3);
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  beam_pcollection *keyed = beam_pardo1(p, "Key", nums, "stp_key", "{\"n\": 2}", kv);
  beam_state_spec st2 = {"count", beam_coder_spec_varint(p)};
  beam_pardo_spec spec3 = {.dofn = "test_state_misuse", .n_outputs = 1, .output_coders = &kv, .states = &st2, .n_states = 1};
  beam_pardo(p, "Misuse", keyed, &spec3, &out);
  beam_run_result r;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_run_local(p, NULL, &r, &err), BEAM_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, "no state named \"nope\""));
  beam_run_result_free(&r);
  beam_pipeline_free(p);

  /* A multimap side input is looked up, not read whole. */
  p = beam_pipeline_new();
  nums = stp_numbers_from(p, "Numbers", 3);
  kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  keyed = beam_pardo1(p, "Key", nums, "stp_key", "{\"n\": 2}", kv);
  beam_side_input_spec si2 = {"table", keyed, BEAM_SIDE_INPUT_MULTIMAP};
  beam_pardo_spec spec4 = {.dofn = "test_state_misuse", .config_json = "{\"iterable\": true}", .n_outputs = 1,
                           .output_coders = &kv, .side_inputs = &si2, .n_side_inputs = 1};
  beam_pardo(p, "Misuse", nums, &spec4, &out);
  err = (beam_error){0};
  assert_int_equal(beam_pipeline_run_local(p, NULL, &r, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "is a multimap: use beam_dofn_side_input_lookup"));
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(running_count_per_key, setup),
      cmocka_unit_test_setup(running_count_per_key_and_window, setup),
      cmocka_unit_test_setup(multimap_lookup_with_missing_keys, setup),
      cmocka_unit_test_setup(proto_declares_state_and_multimap, setup),
      cmocka_unit_test_setup(errors_name_the_problem, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
