/* The local runner's stage plan: the leaf transforms cut into stages (fused subgraphs).
 *
 * Every leaf gets a level: a GroupByKey is one above its input's producer (its input is a
 * shuffle), a transform whose inputs are split into bundles (sdf_process) is one above its
 * main inputs' producers, a ParDo is one above the producers of its side inputs (they must be
 * complete before it runs), and otherwise a transform sits at its main inputs' highest level.
 * Transforms joined by a main-input edge at the same level, and the consumers at one level of
 * the same stage input, form one stage. An edge between levels is materialized: the producer's
 * stage writes the PCollection to a shuffle (unsorted) that the consumer's stage reads.
 * Stages run in level order, so every input and side input of a stage is complete when it
 * starts. GroupByKeys are not in any stage: the runner groups between the stages. */
#ifndef BEAM_LOCAL_STAGES_H
#define BEAM_LOCAL_STAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/arena.h"
#include "exec.h"

/* Transforms of this URN get their main input materialized and split into bundles of one
 * element each (the sized restrictions of a splittable DoFn). */
#define BEAM_LOCAL_URN_SDF_PROCESS "beam:transform:sdf_process_sized_element_and_restrictions:v1"

typedef enum beam_local_source_kind {
  BEAM_LOCAL_SOURCE_GROUPED,      /* a GroupByKey's output: KV<key, iterable<value>> per group */
  BEAM_LOCAL_SOURCE_MATERIALIZED, /* a PCollection written by an earlier stage */
  BEAM_LOCAL_SOURCE_STREAM,       /* an unbounded read's output (local_stream.h) */
} beam_local_source_kind;

/* What feeds a stage besides its Impulses. */
typedef struct beam_local_source {
  beam_local_source_kind kind;
  const char *pcollection_id; /* what the stage's transforms consume */
  size_t shuffle;             /* index in plan->shuffles */
  bool one_per_bundle;        /* each element is a bundle of its own */
} beam_local_source;

typedef struct beam_local_stage {
  const char **ids; /* leaf transforms, pipeline order */
  size_t n_ids;
  beam_local_source *sources;
  size_t n_sources;
  size_t level;
} beam_local_stage;

typedef enum beam_local_collect_kind {
  BEAM_LOCAL_COLLECT_GROUP, /* KV elements into a sorted shuffle, by (key, window) */
  BEAM_LOCAL_COLLECT_SPOOL, /* whole elements into an unsorted shuffle */
  BEAM_LOCAL_COLLECT_SIDE,  /* values into the side-input store */
} beam_local_collect_kind;

/* A hidden consumer the runner attaches to a PCollection of a stage. */
typedef struct beam_local_collector {
  beam_local_collect_kind kind;
  const char *pcollection_id;
  size_t stage;
  size_t target; /* index in plan->shuffles, or in plan->side_ids */
} beam_local_collector;

typedef struct beam_local_shuffle_spec {
  const char *what;               /* "GroupByKey X" / "the output of X (pc)", for messages */
  const char *input_pcollection;  /* what the writers receive */
  const char *group_by;           /* the GroupByKey's transform id (sorted shuffles) */
  bool sorted;
  size_t last_reader;             /* the last stage reading it: freed after that one */
} beam_local_shuffle_spec;

typedef struct beam_local_plan {
  beam_arena arena;
  beam_local_stage *stages;
  size_t n_stages;
  beam_local_collector *collectors;
  size_t n_collectors;
  beam_local_shuffle_spec *shuffles;
  size_t n_shuffles;
  const char **side_ids; /* PCollections read as side inputs */
  size_t n_side_ids;
} beam_local_plan;

/* Plans the stages of leaves (leaf transform ids of components, pipeline order). */
beam_status beam_local_plan_build(const PIPE(Components) *components, const char *const *leaves, size_t n,
                                  beam_local_plan *out, beam_error *err);
void beam_local_plan_free(beam_local_plan *plan);

#endif
