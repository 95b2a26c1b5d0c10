/* The execution graph: what a bundle runs, in the local runner and in the Fn API harness.
 *
 * Each transform becomes a node with a small vtable (start_bundle, process, finish_bundle,
 * teardown), as in the Go SDK's exec package. A node's outputs fan out to consumer nodes;
 * emitting calls the consumers' process directly, so a fused chain of ParDos is a chain of
 * function calls with no queue and no encoding between them. */
#ifndef BEAM_EXEC_H
#define BEAM_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "beam/arena.h"
#include "beam/coder.h"
#include "beam/status.h"
#include "beam/value.h"
#include "proto_names.h"

typedef struct beam_exec_node beam_exec_node;
typedef struct beam_exec_graph beam_exec_graph;

typedef struct beam_exec_ops {
  const char *kind; /* for logs: "pardo", "flatten", ... */
  beam_status (*start_bundle)(beam_exec_node *n, beam_error *err);
  beam_status (*process)(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err);
  beam_status (*finish_bundle)(beam_exec_node *n, beam_error *err);
  void (*teardown)(beam_exec_node *n); /* releases everything the node owns, not the node */
} beam_exec_ops;

/* One output PCollection of a node and the nodes that consume it. */
typedef struct beam_exec_output {
  const char *pcollection_id;
  beam_exec_node **consumers;
  size_t n_consumers;
  int64_t elements; /* count emitted, for progress and metrics */
} beam_exec_output;

struct beam_exec_node {
  const beam_exec_ops *ops;
  const char *transform_id;
  beam_exec_graph *graph;
  beam_exec_output *outputs;
  size_t n_outputs;
  void *impl;
};

static inline beam_status beam_exec_emit(beam_exec_output *out, const beam_windowed_value *wv,
                                         beam_error *err) {
  /* Progress requests read the count from the control thread: relaxed atomics keep that
   * defined without a locked instruction on the hot path. */
  __atomic_store_n(&out->elements, __atomic_load_n(&out->elements, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
  for (size_t i = 0; i < out->n_consumers; i++) {
    beam_exec_node *c = out->consumers[i];
    beam_status s = c->ops->process(c, wv, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

/* A user counter's value, keyed by transform and name. */
typedef struct beam_exec_counter {
  const char *transform_id;
  const char *name;
  int64_t value;
} beam_exec_counter;

/* Where side input values come from: the local runner materializes PCollections; the
 * harness reads them over the State API. */
typedef struct beam_side_input_source {
  beam_status (*get)(void *self, const char *transform_id, const char *local_name,
                     const char *pcollection_id, beam_arena *arena, const beam_value_list **out,
                     beam_error *err);
  /* Multimap access: the values under one key of a KV side input. key_bytes is the key
   * nested-encoded with the KV's key coder (what Beam compares); key is the same value. */
  beam_status (*lookup)(void *self, const char *transform_id, const char *local_name,
                        const char *pcollection_id, const beam_value *key, const beam_bytes *key_bytes,
                        beam_arena *arena, const beam_value_list **out, beam_error *err);
  void *self;
} beam_side_input_source;

/* Where bag user state lives between bundles: the local runner's in-memory store, or the
 * runner's state over the Fn API. Values are the bag's elements encoded (nested) and
 * concatenated; get appends what it reads to out. */
typedef struct beam_user_state_key {
  const char *transform_id;
  const char *state_id;
  beam_bytes window; /* the window encoded with the input's window coder */
  beam_bytes key;    /* the element's key nested-encoded with the input's key coder */
} beam_user_state_key;

typedef struct beam_user_state_backend {
  beam_status (*get)(void *self, const beam_user_state_key *k, beam_buf *out, beam_error *err);
  beam_status (*append)(void *self, const beam_user_state_key *k, const uint8_t *data, size_t len,
                        beam_error *err);
  beam_status (*clear)(void *self, const beam_user_state_key *k, beam_error *err);
  void *self;
} beam_user_state_backend;

/* Where data sinks (beam:runner:sink:v1) send encoded elements: the harness's data channel.
 * is_last closes the sink's stream for the bundle. */
typedef struct beam_data_port {
  beam_status (*send)(void *self, const char *transform_id, const uint8_t *data, size_t len, bool is_last,
                      beam_error *err);
  void *self;
} beam_data_port;

struct beam_exec_graph {
  beam_arena arena;           /* node structs, ids, output arrays: lives as long as the graph */
  const PIPE(Components) *components;
  beam_exec_node **nodes;     /* topological order: producers before consumers */
  size_t n_nodes;
  beam_exec_node **roots;     /* nodes fed from outside: impulses, data sources */
  size_t n_roots;
  const json_t *options;      /* pipeline options */
  const char *bundle_id;
  beam_side_input_source side_inputs;
  beam_user_state_backend user_state;
  /* True in the local runner: side inputs are complete only at finish, so ParDos with side
   * inputs hold their main input until then. The harness reads them over the State API. */
  bool side_inputs_deferred;
  /* During beam_exec_graph_finish: nodes[0 .. n_finished) have finished. A ParDo whose
   * side inputs' producers are all among them has complete side inputs and need not hold
   * its main input (a ParDo after a GroupByKey, fed while the GroupByKey finishes). */
  size_t n_finished;
  /* A stateful ParDo runs in this graph: its bundles are never split. The split itself is
   * legal, but Prism 2.67 queues the residual of a keyed stage where it is never scheduled
   * (engine/elementmanager.go splitBundle) and the job stalls; an empty split response is
   * always correct. */
  bool unsplittable;
  beam_data_port data_out;    /* set by the harness for each bundle */
  /* Counters of the bundle, gathered at finish. */
  beam_exec_counter *counters;
  size_t n_counters, cap_counters;
  /* Coders built for this graph, freed with it. */
  beam_coder **coders;
  const char **coder_ids; /* parallel to coders: what each was built from */
  size_t n_coders, cap_coders;
};

/* Resolves a coder id of the graph's Components (built once per graph, owned by it). */
beam_status beam_exec_graph_coder(beam_exec_graph *g, const char *coder_id, beam_coder **out,
                                  beam_error *err);
/* The key and value coders of a KV PCollection (owned by the graph). */
beam_status beam_exec_graph_kv_coders(beam_exec_graph *g, const char *pcollection_id, const beam_coder **key,
                                      const beam_coder **value, beam_error *err);
/* The window coder of a PCollection's windowing strategy. */
beam_status beam_exec_graph_window_coder(beam_exec_graph *g, const char *pcollection_id, beam_coder **out,
                                         beam_error *err);
/* Decodes concatenated nested encodings (state and side input reads) into a list in arena.
 * Decoded bytes and strings alias in. */
beam_status beam_exec_decode_all(const beam_coder *coder, const beam_bytes *in, beam_arena *arena, beam_value_list *out,
                                 beam_error *err);
/* Adds delta to the counter (transform, name). */
beam_status beam_exec_graph_count(beam_exec_graph *g, const char *transform_id, const char *name,
                                  int64_t delta);

#endif
