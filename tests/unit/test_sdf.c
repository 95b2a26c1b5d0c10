/* Splittable DoFns end to end (beam_splittable_pardo): each number n becomes the offsets
 * [0, n), split into parts of config "part" offsets, and process() emits n * 1000 + offset
 * for every offset it claims, so the output is exactly that set however the work was split.
 * Runs on the local runner (the local expansion) and on Prism with BEAM_TEST_RUNNER=portable
 * BEAM_TEST_JOB_ENDPOINT=host:port (ctest -L prism), where the slow case sleeps per claim so
 * that Prism, seeing no progress, splits the running bundle (its residual roots come back as
 * new bundles, so every offset must still be emitted exactly once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "beam/testing.h"
#include "beam/testing_cmocka.h"

typedef struct positions_state {
  int64_t part;     /* offsets per initial part */
  int64_t sleep_us; /* per claim */
} positions_state;

static beam_status positions_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)err;
  positions_state *st = state;
  st->part = json_integer_value(json_object_get(beam_dofn_config(ctx), "part"));
  st->sleep_us = json_integer_value(json_object_get(beam_dofn_config(ctx), "sleep_us"));
  return BEAM_OK;
}

static beam_status positions_initial(void *state, const beam_windowed_value *elem, beam_offset_range *out,
                                     beam_error *err) {
  (void)state;
  (void)err;
  *out = (beam_offset_range){0, elem->value->u.i64};
  return BEAM_OK;
}

static beam_status positions_split(void *state, const beam_windowed_value *elem, beam_offset_range range,
                                   beam_restriction_out *out, beam_error *err) {
  (void)elem;
  const positions_state *st = state;
  int64_t part = st->part > 0 ? st->part : range.end - range.start;
  for (int64_t at = range.start; at < range.end; at += part) {
    beam_offset_range r = {at, at + part < range.end ? at + part : range.end};
    beam_status s = beam_restriction_output(out, r, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static beam_status positions_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                     beam_error *err) {
  const positions_state *st = state;
  beam_offset_range range;
  if (!beam_dofn_restriction(ctx, &range)) return beam_error_set(err, BEAM_ERR_INTERNAL, "no restriction");
  for (int64_t at = range.start; beam_dofn_try_claim(ctx, at); at++) {
    if (st->sleep_us) nanosleep(&(struct timespec){0, (long)st->sleep_us * 1000}, NULL);
    beam_value v = beam_value_int64(elem->value->u.i64 * 1000 + at);
    beam_status s = beam_dofn_emit(ctx, 0, &v, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static const beam_splittable_dofn_def positions = {
    .dofn = {.name = "sdf_positions", .state_size = sizeof(positions_state), .setup = positions_setup,
             .process = positions_process},
    .initial_restriction = positions_initial,
    .split_restriction = positions_split,
};
BEAM_REGISTER_SPLITTABLE_DOFN(positions)

/* The output for inputs ns: n * 1000 + offset for every offset of [0, n). */
static size_t expected(const int64_t *ns, size_t n_ns, int64_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < n_ns; i++)
    for (int64_t at = 0; at < ns[i]; at++) out[n++] = ns[i] * 1000 + at;
  return n;
}

static void run_positions(const char *name, const int64_t *ns, size_t n_ns, const char *config) {
  beam_test *t = beam_test_new(name);
  beam_pipeline *p = beam_test_pipeline(t);
  beam_pcollection *in = beam_test_create_int64s(t, "Numbers", ns, n_ns);
  beam_coder_spec *varint = beam_coder_spec_varint(p);
  beam_pardo_spec spec = {.dofn = "sdf_positions", .config_json = config, .n_outputs = 1, .output_coders = &varint};
  beam_pcollection *out = NULL;
  beam_splittable_pardo(p, "Positions", in, &spec, &out);
  int64_t *want = calloc(4096, sizeof *want);
  assert_non_null(want);
  size_t n_want = expected(ns, n_ns, want);
  beam_assert_equal_int64s(t, out, "EveryOffsetOnce", want, n_want);
  free(want);
  assert_beam_test_passes(t);
  beam_test_free(t);
}

/* Several initial parts per element, an empty range, a range of one part. */
static void initial_splits_cover_every_offset_once(void **state) {
  (void)state;
  static const int64_t ns[] = {0, 1, 5, 30, 123};
  run_positions("sdf initial splits", ns, 5, "{\"part\": 7}");
}

/* One element, slow claims: a runner that splits slow bundles splits this one. */
static void slow_claims_split_dynamically(void **state) {
  (void)state;
  static const int64_t ns[] = {400};
  run_positions("sdf dynamic split", ns, 1, "{\"part\": 0, \"sleep_us\": 3000}");
}

int main(int argc, char **argv) {
  int rc;
  if (beam_test_worker(argc, argv, &rc)) return rc;
  beam_error err = {0};
  if (beam_test_configure(argc, argv, &err) != BEAM_OK) return fprintf(stderr, "%s\n", err.message), 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(initial_splits_cover_every_offset_once),
      cmocka_unit_test(slow_claims_split_dynamically),
  };
  return cmocka_run_group_tests_name("sdf", tests, NULL, NULL);
}
