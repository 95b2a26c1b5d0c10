/* The in-memory pipeline graph the construction API builds, before it becomes a proto. */
#ifndef BEAM_PIPELINE_MODEL_H
#define BEAM_PIPELINE_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/arena.h"
#include "beam/buf.h"
#include "beam/pipeline.h"

struct beam_coder_spec {
  const char *urn;
  const uint8_t *payload;
  size_t payload_len;
  beam_coder_spec **components;
  size_t n_components;
  const char *id; /* assigned when interned into Components */
};

typedef struct beam_named_id {
  const char *name; /* local name (tag) */
  const char *id;   /* PCollection id */
} beam_named_id;

typedef struct beam_model_transform {
  const char *id; /* == unique name */
  const char *urn;
  const uint8_t *payload;
  size_t payload_len;
  beam_named_id *inputs;
  size_t n_inputs;
  beam_named_id *outputs;
  size_t n_outputs;
  const char **subtransforms;
  size_t n_subtransforms;
  bool is_root;         /* listed in root_transform_ids */
  bool has_environment; /* runs user code in the SDK environment */
  /* ParDo side inputs (local names are also in inputs). */
  const char **side_input_names;
  bool *side_input_multimap; /* per side input: multimap access, else iterable */
  size_t n_side_inputs;
  /* ParDo bag user states: names and element coders. */
  const char **state_names;
  beam_coder_spec **state_coders;
  size_t n_states;
  /* ParDo: splittable (the payload names the restriction coder). */
  bool splittable;
  /* combine_per_key: the CombinePayload's accumulator coder. */
  beam_coder_spec *accumulator_coder;
  /* window_into: the windowing strategy whose window_fn the payload carries. */
  const char *windowing_id;
  /* pubsub_read: what the PubSubReadPayload says (strings in the pipeline's arena). */
  beam_pubsub_read_spec *pubsub;
} beam_model_transform;

struct beam_pcollection {
  const char *id;
  const char *unique_name;
  beam_coder_spec *coder;
  const char *windowing_strategy_id;
};

typedef struct beam_model_windowing {
  const char *id;
  bool fixed;
  int64_t size_ms;
  int64_t offset_ms;
} beam_model_windowing;

struct beam_pipeline {
  beam_arena arena;
  beam_error error; /* sticky first error */
  beam_model_transform **transforms;
  size_t n_transforms, cap_transforms;
  beam_pcollection **pcolls;
  size_t n_pcolls, cap_pcolls;
  beam_model_windowing **windowings;
  size_t n_windowings, cap_windowings;
  unsigned next_id;
};

#define BEAM_ENVIRONMENT_ID "beam_c"
#define BEAM_GLOBAL_WINDOWING_ID "global_windowing"

/* BEAM_OK, or an error naming a GroupByKey of an unbounded PCollection in the global window
 * (pipeline_unbounded.c). */
beam_status beam_pipeline_check_unbounded_grouping(const beam_pipeline *p, beam_error *err);
/* Per PCollection of p (parallel to p->pcolls): unbounded or not. Caller frees; NULL when out
 * of memory. */
bool *beam_pipeline_unbounded_flags(const beam_pipeline *p);

/* Records err in the pipeline if it is the first; returns the code. */
beam_status beam_pipeline_fail(beam_pipeline *p, beam_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
