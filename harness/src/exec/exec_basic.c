/* Small nodes: Impulse, Flatten and WindowInto. */
#include <string.h>

#include "beam/urns.h"
#include "exec_nodes.h"

/* --- Impulse: a root that emits one empty byte string in the global window. -------------- */

static beam_status impulse_process(beam_exec_node *n, const beam_windowed_value *ignored, beam_error *err) {
  (void)ignored;
  static beam_window global = {BEAM_WINDOW_GLOBAL, 0, 0, {NULL, 0}};
  beam_value empty = beam_value_bytes("", 0);
  beam_windowed_value wv = {&empty, BEAM_TIMESTAMP_MIN_MS, &global, 1, BEAM_PANE_NO_FIRING};
  return beam_exec_emit(&n->outputs[0], &wv, err);
}

static const beam_exec_ops impulse_ops = {.kind = "impulse", .process = impulse_process};

static beam_status impulse_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                  beam_error *err) {
  (void)g;
  if (t->n_outputs != 1) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "Impulse needs exactly one output");
  node->ops = &impulse_ops;
  return BEAM_OK;
}

const beam_exec_node_factory beam_exec_impulse_factory = {.urn = BEAM_URN_IMPULSE, .create = impulse_create};

/* --- Flatten: every input goes to the one output. --------------------------------------- */

static beam_status flatten_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  return beam_exec_emit(&n->outputs[0], wv, err);
}

static const beam_exec_ops flatten_ops = {.kind = "flatten", .process = flatten_process};

static beam_status flatten_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                  beam_error *err) {
  (void)g;
  if (t->n_outputs != 1) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "Flatten needs exactly one output");
  node->ops = &flatten_ops;
  return BEAM_OK;
}

const beam_exec_node_factory beam_exec_flatten_factory = {.urn = BEAM_URN_FLATTEN, .create = flatten_create};

/* --- WindowInto: assigns global or fixed windows by element timestamp. ------------------- */

typedef struct window_into {
  bool fixed;
  int64_t size_ms;
  int64_t offset_ms;
} window_into;

/* Start of the fixed window holding ts: ts - ((ts - offset) mod size), mod taken positive. */
static int64_t fixed_window_start(int64_t ts, int64_t size, int64_t offset) {
  int64_t rem = (ts - offset) % size;
  if (rem < 0) rem += size;
  return ts - rem;
}

static beam_status window_into_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  window_into *w = n->impl;
  beam_window win = {BEAM_WINDOW_GLOBAL, 0, 0, {NULL, 0}};
  if (w->fixed) {
    win.kind = BEAM_WINDOW_INTERVAL;
    win.start_ms = fixed_window_start(wv->timestamp_ms, w->size_ms, w->offset_ms);
    win.end_ms = win.start_ms + w->size_ms;
  }
  beam_windowed_value out = *wv;
  out.windows = &win;
  out.n_windows = 1;
  return beam_exec_emit(&n->outputs[0], &out, err);
}

static const beam_exec_ops window_into_ops = {.kind = "window_into", .process = window_into_process};

static int64_t duration_ms(const Google__Protobuf__Duration *d) {
  return d ? d->seconds * 1000 + d->nanos / 1000000 : 0;
}

static beam_status window_into_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                      beam_error *err) {
  window_into *w = beam_arena_calloc(&g->arena, 1, sizeof *w);
  if (!w) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  PIPE(WindowIntoPayload) *p =
      PIPE_FN(window_into_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  if (!p || !p->window_fn) {
    if (p) PIPE_FN(window_into_payload__free_unpacked)(p, NULL);
    return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode WindowIntoPayload");
  }
  beam_status s = BEAM_OK;
  if (strcmp(p->window_fn->urn, BEAM_URN_FIXED_WINDOWS) == 0) {
    PIPE(FixedWindowsPayload) *f = PIPE_FN(fixed_windows_payload__unpack)(
        NULL, p->window_fn->payload.len, p->window_fn->payload.data);
    if (!f) {
      s = beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode FixedWindowsPayload");
    } else {
      w->fixed = true;
      w->size_ms = duration_ms(f->size);
      w->offset_ms = f->offset ? f->offset->seconds * 1000 + f->offset->nanos / 1000000 : 0;
      if (w->size_ms <= 0) s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "fixed window size must be positive");
      PIPE_FN(fixed_windows_payload__free_unpacked)(f, NULL);
    }
  } else if (strcmp(p->window_fn->urn, BEAM_URN_GLOBAL_WINDOWS) != 0) {
    s = beam_error_set(err, BEAM_ERR_UNSUPPORTED, "window fn \"%s\" is not supported", p->window_fn->urn);
  }
  PIPE_FN(window_into_payload__free_unpacked)(p, NULL);
  node->ops = &window_into_ops;
  node->impl = w;
  return s;
}

const beam_exec_node_factory beam_exec_window_into_factory = {
    .urn = BEAM_URN_WINDOW_INTO,
    .create = window_into_create,
};
