/* The DoFns that bring an asserted PCollection to its check:
 *
 * "beam_test_reify" turns each element into KV<"", record>, one record per window the element
 * is in: a window tag (global / interval with big-endian start and end / other with its
 * bytes) and the element's nested encoding under the PCollection's coder (config.coder).
 * Records carry the window because the check runs after everything is rewindowed into the
 * global window.
 *
 * "beam_test_sentinel" emits KV<"", ""> once (after an Impulse): the group the check receives
 * then exists even when the asserted PCollection is empty. */
#include <stdlib.h>

#include "testing_internal.h"

typedef struct reify_state {
  beam_coder *coder;
  beam_buf record;
} reify_state;

static beam_status reify_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  reify_state *st = state;
  return beam_test_coder_from_json(json_object_get(beam_dofn_config(ctx), "coder"), &st->coder, err);
}

static beam_status put_window(beam_buf *b, const beam_window *w) {
  if (w->kind == BEAM_WINDOW_GLOBAL) return beam_buf_append_byte(b, BEAM_TEST_WINDOW_GLOBAL);
  if (w->kind == BEAM_WINDOW_INTERVAL) {
    beam_status s = beam_buf_append_byte(b, BEAM_TEST_WINDOW_INTERVAL);
    if (s == BEAM_OK) s = beam_coder_encode_be64(b, (uint64_t)w->start_ms);
    if (s == BEAM_OK) s = beam_coder_encode_be64(b, (uint64_t)w->end_ms);
    return s;
  }
  beam_status s = beam_buf_append_byte(b, BEAM_TEST_WINDOW_OTHER);
  return s == BEAM_OK ? beam_coder_encode_lp_bytes(b, w->custom.data, w->custom.len) : s;
}

static beam_status reify_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  reify_state *st = state;
  beam_value key = beam_value_bytes("", 0);
  for (size_t i = 0; i < elem->n_windows; i++) {
    beam_buf_reset(&st->record);
    beam_status s = put_window(&st->record, &elem->windows[i]);
    if (s == BEAM_OK) s = beam_coder_encode(st->coder, elem->value, true, &st->record, err);
    if (s != BEAM_OK) return beam_error_prefix(err, "assert: cannot encode an element with its coder: "), s;
    beam_value record = beam_value_bytes(st->record.data, st->record.len);
    beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, &record}};
    beam_windowed_value out = *elem;
    out.value = &kv;
    out.windows = &elem->windows[i];
    out.n_windows = 1;
    s = beam_dofn_emit_windowed(ctx, 0, &out, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static void reify_teardown(void *state) {
  reify_state *st = state;
  beam_coder_free(st->coder);
  beam_buf_free(&st->record);
}

const beam_dofn_def beam_test_reify_dofn = {.name = BEAM_TEST_REIFY_DOFN,
                                            .state_size = sizeof(reify_state),
                                            .setup = reify_setup,
                                            .process = reify_process,
                                            .teardown = reify_teardown};

static beam_status sentinel_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)elem;
  beam_value key = beam_value_bytes("", 0), empty = beam_value_bytes("", 0);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, &empty}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}

const beam_dofn_def beam_test_sentinel_dofn = {.name = BEAM_TEST_SENTINEL_DOFN, .process = sentinel_process};
