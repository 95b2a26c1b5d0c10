/* Deep equality and deep copy of beam_values. */
#include <math.h>
#include <string.h>

#include "beam/value.h"

static bool bytes_equal(beam_bytes a, beam_bytes b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static bool list_equal(const beam_value *a, const beam_value *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!beam_value_equal(&a[i], &b[i])) return false;
  return true;
}

static bool ptr_equal(const beam_value *a, const beam_value *b) {
  if (!a || !b) return a == b;
  return beam_value_equal(a, b);
}

static bool window_equal(const beam_window *a, const beam_window *b) {
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case BEAM_WINDOW_GLOBAL: return true;
    case BEAM_WINDOW_INTERVAL: return a->start_ms == b->start_ms && a->end_ms == b->end_ms;
    case BEAM_WINDOW_CUSTOM: return bytes_equal(a->custom, b->custom);
  }
  return false;
}

static bool windows_equal(const beam_window *a, size_t na, const beam_window *b, size_t nb) {
  if (na != nb) return false;
  for (size_t i = 0; i < na; i++)
    if (!window_equal(&a[i], &b[i])) return false;
  return true;
}

static bool pane_equal(const beam_pane *a, const beam_pane *b) {
  return a->is_first == b->is_first && a->is_last == b->is_last && a->timing == b->timing &&
         a->index == b->index && a->on_time_index == b->on_time_index;
}

bool beam_value_equal(const beam_value *a, const beam_value *b) {
  if (a == b) return true;
  if (!a || !b || a->kind != b->kind) return false;
  switch (a->kind) {
    case BEAM_VALUE_NULL: return true;
    case BEAM_VALUE_BOOL: return a->u.b == b->u.b;
    case BEAM_VALUE_INT64:
    case BEAM_VALUE_TIMESTAMP: return a->u.i64 == b->u.i64;
    case BEAM_VALUE_DOUBLE:
      if (isnan(a->u.f64) && isnan(b->u.f64)) return true;
      return memcmp(&a->u.f64, &b->u.f64, sizeof(double)) == 0;
    case BEAM_VALUE_BYTES:
    case BEAM_VALUE_STRING: return bytes_equal(a->u.bytes, b->u.bytes);
    case BEAM_VALUE_LIST:
    case BEAM_VALUE_ROW:
    case BEAM_VALUE_MAP:
      return a->u.list.len == b->u.list.len && list_equal(a->u.list.items, b->u.list.items, a->u.list.len);
    case BEAM_VALUE_STATE_ITERABLE:
      return a->u.state_iterable.len == b->u.state_iterable.len &&
             bytes_equal(a->u.state_iterable.token, b->u.state_iterable.token) &&
             list_equal(a->u.state_iterable.items, b->u.state_iterable.items, a->u.state_iterable.len);
    case BEAM_VALUE_KV:
    case BEAM_VALUE_SHARDED_KEY:
      return ptr_equal(a->u.kv.key, b->u.kv.key) && ptr_equal(a->u.kv.value, b->u.kv.value);
    case BEAM_VALUE_WINDOW: return window_equal(&a->u.window, &b->u.window);
    case BEAM_VALUE_WINDOWED: {
      const beam_windowed_value *x = &a->u.windowed, *y = &b->u.windowed;
      return x->timestamp_ms == y->timestamp_ms && pane_equal(&x->pane, &y->pane) &&
             windows_equal(x->windows, x->n_windows, y->windows, y->n_windows) &&
             ptr_equal(x->value, y->value);
    }
    case BEAM_VALUE_TIMER: {
      const beam_timer *x = &a->u.timer, *y = &b->u.timer;
      if (x->clear_bit != y->clear_bit || !ptr_equal(x->user_key, y->user_key) ||
          !bytes_equal(x->dynamic_tag, y->dynamic_tag) ||
          !windows_equal(x->windows, x->n_windows, y->windows, y->n_windows))
        return false;
      /* A cleared timer carries no timestamps or pane. */
      return x->clear_bit || (x->fire_timestamp_ms == y->fire_timestamp_ms &&
                              x->hold_timestamp_ms == y->hold_timestamp_ms &&
                              pane_equal(&x->pane, &y->pane));
    }
  }
  return false;
}

/* --- clone ------------------------------------------------------------------------------ */

static bool clone_bytes(beam_arena *a, beam_bytes *b) {
  if (b->len == 0) return true;
  uint8_t *p = beam_arena_alloc(a, b->len);
  if (!p) return false;
  memcpy(p, b->data, b->len);
  b->data = p;
  return true;
}

static bool clone_into(beam_arena *a, beam_value *dst, const beam_value *src);

static beam_value *clone_array(beam_arena *a, const beam_value *items, size_t n) {
  beam_value *out = beam_arena_calloc(a, n ? n : 1, sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++)
    if (!clone_into(a, &out[i], &items[i])) return NULL;
  return out;
}

static beam_value *clone_ptr(beam_arena *a, const beam_value *v, bool *ok) {
  if (!v) return NULL;
  beam_value *out = beam_value_clone(a, v);
  if (!out) *ok = false;
  return out;
}

static beam_window *clone_windows(beam_arena *a, const beam_window *w, size_t n) {
  beam_window *out = beam_arena_calloc(a, n ? n : 1, sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    out[i] = w[i];
    if (!clone_bytes(a, &out[i].custom)) return NULL;
  }
  return out;
}

static bool clone_into(beam_arena *a, beam_value *dst, const beam_value *src) {
  *dst = *src;
  bool ok = true;
  switch (src->kind) {
    case BEAM_VALUE_BYTES:
    case BEAM_VALUE_STRING: return clone_bytes(a, &dst->u.bytes);
    case BEAM_VALUE_LIST:
    case BEAM_VALUE_ROW:
    case BEAM_VALUE_MAP:
      dst->u.list.items = clone_array(a, src->u.list.items, src->u.list.len);
      return dst->u.list.items != NULL;
    case BEAM_VALUE_STATE_ITERABLE:
      dst->u.state_iterable.items =
          clone_array(a, src->u.state_iterable.items, src->u.state_iterable.len);
      return dst->u.state_iterable.items && clone_bytes(a, &dst->u.state_iterable.token);
    case BEAM_VALUE_KV:
    case BEAM_VALUE_SHARDED_KEY:
      dst->u.kv.key = clone_ptr(a, src->u.kv.key, &ok);
      dst->u.kv.value = clone_ptr(a, src->u.kv.value, &ok);
      return ok;
    case BEAM_VALUE_WINDOW: return clone_bytes(a, &dst->u.window.custom);
    case BEAM_VALUE_WINDOWED:
      dst->u.windowed.value = clone_ptr(a, src->u.windowed.value, &ok);
      dst->u.windowed.windows = clone_windows(a, src->u.windowed.windows, src->u.windowed.n_windows);
      return ok && dst->u.windowed.windows;
    case BEAM_VALUE_TIMER:
      dst->u.timer.user_key = clone_ptr(a, src->u.timer.user_key, &ok);
      dst->u.timer.windows = clone_windows(a, src->u.timer.windows, src->u.timer.n_windows);
      return ok && dst->u.timer.windows && clone_bytes(a, &dst->u.timer.dynamic_tag);
    default: return true;
  }
}

beam_value *beam_value_clone(beam_arena *a, const beam_value *v) {
  beam_value *out = beam_arena_alloc(a, sizeof *out);
  if (!out || !clone_into(a, out, v)) return NULL;
  return out;
}
