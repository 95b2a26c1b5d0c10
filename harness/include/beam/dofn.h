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

/* --- registry ------------------------------------------------------------------------ */
beam_status beam_dofn_register(const beam_dofn_def *def);
const beam_dofn_def *beam_dofn_lookup(const char *name);

/* Registers a DoFn when the program starts. Use in the executable (or an object file the
 * executable links whole); a static library member nobody references would be dropped. */
#define BEAM_REGISTER_DOFN(def)                                            \
  __attribute__((constructor)) static void beam_register_dofn_##def(void) { \
    beam_dofn_register(&(def));                                           \
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

#ifdef __cplusplus
}
#endif
#endif
