/* The dynamic value every coder decodes to and encodes from.
 *
 * A beam_value is a small tagged union. Composite values point at arrays allocated in a
 * beam_arena; BYTES/STRING may alias the buffer they were decoded from (zero copy), so a
 * decoded value lives no longer than both its arena and its input bytes. */
#ifndef BEAM_VALUE_H
#define BEAM_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_value_kind {
  BEAM_VALUE_NULL = 0,
  BEAM_VALUE_BOOL,
  BEAM_VALUE_INT64,     /* varint, and every integer row type (BYTE, INT16, INT32, INT64) */
  BEAM_VALUE_DOUBLE,    /* double, and FLOAT row fields */
  BEAM_VALUE_BYTES,
  BEAM_VALUE_STRING,    /* UTF-8, not NUL-terminated: use u.bytes.len */
  BEAM_VALUE_LIST,      /* iterable / array: u.list */
  BEAM_VALUE_KV,        /* u.kv */
  BEAM_VALUE_ROW,       /* schema'd row: u.list holds one value per field, NULL kind for null */
  BEAM_VALUE_MAP,       /* u.list holds 2*n values: key0, value0, key1, value1, ... */
  BEAM_VALUE_TIMESTAMP, /* u.i64: milliseconds since epoch (Beam event time) */
  BEAM_VALUE_WINDOW,    /* u.window */
  BEAM_VALUE_WINDOWED,  /* u.windowed */
  BEAM_VALUE_TIMER,     /* u.timer */
  BEAM_VALUE_SHARDED_KEY, /* u.kv: key = shard id (BYTES), value = the user key */
  /* A state-backed iterable whose tail lives in runner state: u.state_iterable holds the
   * elements sent inline (same layout as u.list, so u.list.items/len read the prefix) and
   * the opaque state token to fetch the rest with (beam:coder:state_backed_iterable:v1). */
  BEAM_VALUE_STATE_ITERABLE
} beam_value_kind;

typedef struct beam_value beam_value;

typedef struct beam_bytes {
  const uint8_t *data;
  size_t len;
} beam_bytes;

typedef struct beam_value_list {
  beam_value *items;
  size_t len;
} beam_value_list;

/* Prefix-compatible with beam_value_list: the first two members are the inline elements. */
typedef struct beam_value_state_iterable {
  beam_value *items;
  size_t len;
  beam_bytes token;
} beam_value_state_iterable;

typedef struct beam_value_kv {
  beam_value *key;
  beam_value *value;
} beam_value_kv;

/* Beam's bounds on event time (millis). */
#define BEAM_TIMESTAMP_MIN_MS (-9223372036854775LL)
#define BEAM_TIMESTAMP_MAX_MS (9223372036854775LL)
/* GlobalWindow.max_timestamp(): end of time minus one day. */
#define BEAM_GLOBAL_WINDOW_MAX_MS (BEAM_TIMESTAMP_MAX_MS - 86400000LL)

typedef enum beam_window_kind {
  BEAM_WINDOW_GLOBAL = 0,
  BEAM_WINDOW_INTERVAL, /* [start_ms, end_ms) */
  BEAM_WINDOW_CUSTOM    /* opaque bytes encoded by a window coder we do not interpret */
} beam_window_kind;

typedef struct beam_window {
  beam_window_kind kind;
  int64_t start_ms;
  int64_t end_ms;
  beam_bytes custom;
} beam_window;

typedef enum beam_pane_timing {
  BEAM_PANE_EARLY = 0,
  BEAM_PANE_ON_TIME = 1,
  BEAM_PANE_LATE = 2,
  BEAM_PANE_UNKNOWN = 3
} beam_pane_timing;

typedef struct beam_pane {
  bool is_first;
  bool is_last;
  beam_pane_timing timing;
  int64_t index;
  int64_t on_time_index;
} beam_pane;

/* PaneInfo.NO_FIRING: first and last, timing unknown, index 0. */
#define BEAM_PANE_NO_FIRING ((beam_pane){true, true, BEAM_PANE_UNKNOWN, 0, 0})

typedef struct beam_windowed_value {
  beam_value *value;
  int64_t timestamp_ms;
  beam_window *windows;
  size_t n_windows;
  beam_pane pane;
} beam_windowed_value;

typedef struct beam_timer {
  beam_value *user_key;
  beam_bytes dynamic_tag;
  beam_window *windows;
  size_t n_windows;
  bool clear_bit;
  int64_t fire_timestamp_ms; /* unset when clear_bit */
  int64_t hold_timestamp_ms;
  beam_pane pane;
} beam_timer;

struct beam_value {
  beam_value_kind kind;
  union {
    bool b;
    int64_t i64;
    double f64;
    beam_bytes bytes;
    beam_value_list list;
    beam_value_state_iterable state_iterable;
    beam_value_kv kv;
    beam_window window;
    beam_windowed_value windowed;
    beam_timer timer;
  } u;
};

/* Values of the scalar kinds, by value. Bytes and strings point at the caller's memory (not
 * copied): it must outlive the value. */
static inline beam_value beam_value_null(void) {
  beam_value v;
  v.kind = BEAM_VALUE_NULL;
  v.u.i64 = 0;
  return v;
}
static inline beam_value beam_value_int64(int64_t x) {
  beam_value v;
  v.kind = BEAM_VALUE_INT64;
  v.u.i64 = x;
  return v;
}
static inline beam_value beam_value_double(double x) {
  beam_value v;
  v.kind = BEAM_VALUE_DOUBLE;
  v.u.f64 = x;
  return v;
}
static inline beam_value beam_value_bool(bool x) {
  beam_value v;
  v.kind = BEAM_VALUE_BOOL;
  v.u.b = x;
  return v;
}
static inline beam_value beam_value_bytes(const void *data, size_t len) {
  beam_value v;
  v.kind = BEAM_VALUE_BYTES;
  v.u.bytes.data = (const uint8_t *)data;
  v.u.bytes.len = len;
  return v;
}
static inline beam_value beam_value_string(const char *s, size_t len) {
  beam_value v;
  v.kind = BEAM_VALUE_STRING;
  v.u.bytes.data = (const uint8_t *)s;
  v.u.bytes.len = len;
  return v;
}

/* Deep structural equality (doubles compare bitwise-equal or both NaN). */
bool beam_value_equal(const beam_value *a, const beam_value *b);
/* Deep copy into arena; BYTES/STRING data is copied too, so the copy owns nothing external. */
beam_value *beam_value_clone(beam_arena *a, const beam_value *v);

#ifdef __cplusplus
}
#endif
#endif
