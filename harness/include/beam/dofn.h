/* The DoFn API: user functions in C, registered by name.
 *
 * A DoFn is a table of callbacks with per-instance state. The runtime creates one instance
 * per transform per worker thread (calls setup once), brackets each bundle with
 * start_bundle / finish_bundle, calls process per element, and teardown at the end.
 * The same compiled DoFn runs in the local runner and inside Beam runners (Fn API).
 *
 * Lifetimes: the element passed to process, and everything it points at, is valid only during
 * that call. Values emitted are consumed synchronously (downstream runs inside emit), so a DoFn
 * may emit values living in its own scratch memory. A DoFn that keeps values across calls
 * (batching) copies them with beam_value_clone into memory it owns. */
#ifndef BEAM_DOFN_H
#define BEAM_DOFN_H

#include <stdint.h>

#include <jansson.h>

#include "beam/arena.h"
#include "beam/status.h"
#include "beam/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runtime handles, opaque to DoFns. */
typedef struct beam_dofn_setup_ctx beam_dofn_setup_ctx;
typedef struct beam_dofn_ctx beam_dofn_ctx;

/* A splittable DoFn's restriction: the offsets [start, end) of its element's work (a file's
 * byte range, say). Runners see it as KV<varint start, varint end>. */
typedef struct beam_offset_range {
  int64_t start;
  int64_t end;
} beam_offset_range;

/* Where split_restriction puts the parts of a restriction (beam_restriction_output). */
typedef struct beam_restriction_out beam_restriction_out;

typedef struct beam_dofn_def {
  const char *name;  /* registry key: what the pipeline's ParDo payload names */
  size_t state_size; /* bytes of zeroed per-instance state passed to every callback */
  beam_status (*setup)(void *state, beam_dofn_setup_ctx *ctx, beam_error *err);
  beam_status (*start_bundle)(void *state, beam_dofn_ctx *ctx, beam_error *err);
  beam_status (*process)(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                         beam_error *err);
  beam_status (*finish_bundle)(void *state, beam_dofn_ctx *ctx, beam_error *err);
  void (*teardown)(void *state);

} beam_dofn_def;

/* A splittable DoFn: a DoFn and its restriction callbacks. Its ParDo is declared splittable
 * (beam_pardo_spec.splittable): each element is paired with a restriction (an offset range),
 * the restriction is split into parts (each may run in a different bundle or worker), and
 * process() claims the positions of its part with beam_dofn_try_claim. A runner may split a
 * part further while process() runs. The callbacks run on the DoFn's set-up state but
 * outside bundles: they must only read what setup stored, and restriction_size may be
 * called from another thread while process() runs on the same state. */
typedef struct beam_splittable_dofn_def {
  beam_dofn_def dofn; /* the DoFn itself, registered under dofn.name */
  /* The whole work of elem (required). */
  beam_status (*initial_restriction)(void *state, const beam_windowed_value *elem, beam_offset_range *out,
                                     beam_error *err);
  /* Splits range into the parts the runner starts with, each given to beam_restriction_output
   * in order, covering range exactly once (file ranges by a split size, say). NULL: the
   * range is one part. */
  beam_status (*split_restriction)(void *state, const beam_windowed_value *elem, beam_offset_range range,
                                   beam_restriction_out *out, beam_error *err);
  /* The relative size of range's work (>= 0). NULL: end - start. */
  double (*restriction_size)(void *state, const beam_windowed_value *elem, beam_offset_range range);
} beam_splittable_dofn_def;

/* --- registry ------------------------------------------------------------------------ */
beam_status beam_dofn_register(const beam_dofn_def *def);
const beam_dofn_def *beam_dofn_lookup(const char *name);

/* Registers a DoFn when the program starts. Use in the executable (or an object file the
 * executable links whole); a static library member nobody references would be dropped. */
#define BEAM_REGISTER_DOFN(def)                                            \
  __attribute__((constructor)) static void beam_register_dofn_##def(void) { \
    beam_dofn_register(&(def));                                           \
  }

/* Registers def->dofn as a DoFn and its restriction callbacks with it. */
beam_status beam_dofn_register_splittable(const beam_splittable_dofn_def *def);
/* The splittable DoFn registered as name, or NULL (not registered, or not splittable). */
const beam_splittable_dofn_def *beam_dofn_lookup_splittable(const char *name);
#define BEAM_REGISTER_SPLITTABLE_DOFN(def)                                            \
  __attribute__((constructor)) static void beam_register_splittable_dofn_##def(void) { \
    beam_dofn_register_splittable(&(def));                                           \
  }

/* --- setup-time context ---------------------------------------------------------------- */
/* The DoFn's JSON config from the pipeline (an object; never NULL: {} when absent). */
const json_t *beam_dofn_config(const beam_dofn_setup_ctx *ctx);
/* Pipeline options as a JSON object (flags passed to the launcher). */
const json_t *beam_dofn_pipeline_options(const beam_dofn_setup_ctx *ctx);
const char *beam_dofn_transform_id(const beam_dofn_setup_ctx *ctx);
/* Index of a tagged output by tag ("main" or "" is output 0), or -1 if the ParDo lacks it. */
int beam_dofn_output_index(const beam_dofn_setup_ctx *ctx, const char *tag);
/* Counters live in a namespace, as in every Beam SDK: "NAMESPACE:NAME" names one in
 * NAMESPACE, a name without ':' is in "beam-c". Runners report both parts (the
 * MonitoringInfo labels NAMESPACE and NAME); results read back the same qualified name. */
#define BEAM_COUNTER_DEFAULT_NAMESPACE "beam-c"
/* The NAME part of a counter name; the namespace goes to ns (truncated to ns_cap). */
const char *beam_counter_split_namespace(const char *qualified, char *ns, size_t ns_cap);
/* Declares a user counter; the returned id is used with beam_dofn_counter_add. */
int beam_dofn_declare_counter(beam_dofn_setup_ctx *ctx, const char *name);

/* --- bundle-time context --------------------------------------------------------------- */
/* Emits value to output `output`, with the current element's timestamp and windows. */
beam_status beam_dofn_emit(beam_dofn_ctx *ctx, int output, const beam_value *value, beam_error *err);
/* Emits with an explicit timestamp (milliseconds), in the current element's windows. */
beam_status beam_dofn_emit_at(beam_dofn_ctx *ctx, int output, const beam_value *value,
                              int64_t timestamp_ms, beam_error *err);
/* Emits a fully specified windowed value. */
beam_status beam_dofn_emit_windowed(beam_dofn_ctx *ctx, int output, const beam_windowed_value *wv,
                                    beam_error *err);
void beam_dofn_counter_add(beam_dofn_ctx *ctx, int counter, int64_t delta);
/* Adds to a counter named at bundle time (declared on first use; for names known only from
 * the data, such as one counter per destination table). Slower than a declared id. */
beam_status beam_dofn_counter_add_named(beam_dofn_ctx *ctx, const char *name, int64_t delta,
                                        beam_error *err);
/* Scratch memory reset after every process() call returns. */
beam_arena *beam_dofn_scratch(beam_dofn_ctx *ctx);
/* Memory that lives until finish_bundle returns. */
beam_arena *beam_dofn_bundle_arena(beam_dofn_ctx *ctx);
const char *beam_dofn_bundle_id(const beam_dofn_ctx *ctx);
/* Side input by its local name as declared on the ParDo: the list of its values. */
beam_status beam_dofn_side_input(beam_dofn_ctx *ctx, const char *name, const beam_value_list **out,
                                 beam_error *err);
/* Multimap side input (declared BEAM_SIDE_INPUT_MULTIMAP over a KV PCollection): the values
 * of every element whose key encodes like `key` (Beam compares encoded keys); an empty list
 * when there is none. The list lives until the current process() call returns. */
beam_status beam_dofn_side_input_lookup(beam_dofn_ctx *ctx, const char *name, const beam_value *key,
                                        const beam_value_list **values, beam_error *err);

/* --- splittable DoFns ------------------------------------------------------------------- */
/* Adds part to the restrictions split_restriction produces. */
beam_status beam_restriction_output(beam_restriction_out *out, beam_offset_range part, beam_error *err);
/* The restriction process() works on now (its end moves down when the runner splits it).
 * False outside process() of a splittable DoFn. */
bool beam_dofn_restriction(beam_dofn_ctx *ctx, beam_offset_range *out);
/* Claims position (offsets must increase from call to call) before doing its work. False:
 * stop now, the position and the rest of the range are not this call's (the range ends
 * there, or a split gave the rest to another bundle). process() must end either by a false
 * claim or by claiming end - 1: a DoFn whose data ends before its range does (end of file)
 * claims INT64_MAX, which fails and marks the restriction done. Thread-safe against the
 * runner's splits. */
bool beam_dofn_try_claim(beam_dofn_ctx *ctx, int64_t position);

/* --- bag user state ---------------------------------------------------------------------- */
/* For ParDos declared with beam_state_spec: each bag is scoped to the current element's key
 * and window (an element in several windows is processed once per window). Only valid inside
 * process(). Writes are buffered in the bundle and flushed to the runner before it ends;
 * reads see them at once. */
/* The bag's elements in append order. The list lives until the current process() returns. */
beam_status beam_dofn_state_bag_read(beam_dofn_ctx *ctx, const char *name, const beam_value_list **out,
                                     beam_error *err);
/* Appends a copy of value (encoded with the bag's element coder). */
beam_status beam_dofn_state_bag_append(beam_dofn_ctx *ctx, const char *name, const beam_value *value,
                                       beam_error *err);
beam_status beam_dofn_state_bag_clear(beam_dofn_ctx *ctx, const char *name, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
