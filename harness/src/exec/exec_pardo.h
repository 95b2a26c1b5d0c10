/* The ParDo node's private state, shared by exec_pardo.c (lifecycle, emit, counters, iterable
 * side inputs) and exec_pardo_state.c (bag user state, multimap side inputs). */
#ifndef BEAM_EXEC_PARDO_H
#define BEAM_EXEC_PARDO_H

#include "beam/dofn.h"
#include "exec_nodes.h"
#include "exec_user_state.h"

/* A DoFn's counters: grown as it names them (the ETL writer names one per table it writes),
 * bounded so that a DoFn naming a counter per element fails instead of eating memory. */
enum { MAX_COUNTERS = 1 << 16 };

typedef struct pardo_node pardo_node;
typedef struct beam_sdf_process beam_sdf_process;

struct beam_dofn_setup_ctx {
  pardo_node *pn;
};

struct beam_dofn_ctx {
  pardo_node *pn;
  const beam_windowed_value *current;
};

typedef struct side_input {
  const char *local_name;
  const char *pcollection_id;
  const beam_value_list *values; /* fetched once per bundle */
  bool multimap;                 /* looked up by key (beam:side_input:multimap:v1) */
  const beam_coder *key_coder;   /* multimap: encodes the keys looked up */
  /* multimap: keys already looked up in this bundle -> their values (bundle arena), so a
   * key asked for again costs no state request. */
  beam_bytes_map looked_up;
  const beam_value_list **found;
  size_t cap_found;
} side_input;

struct pardo_node {
  beam_exec_node *node;
  const beam_dofn_def *def;
  const beam_splittable_dofn_def *splittable; /* def's restriction callbacks, or NULL */
  void *state;
  json_t *payload;       /* {"fn", "config", "outputs"} */
  const json_t *config;
  size_t *output_slot;   /* DoFn output index -> node->outputs index */
  size_t n_declared_outputs;
  const char **counter_names; /* in the graph's arena */
  int64_t *counter_values;
  int n_counters, cap_counters;
  side_input *side_inputs;
  size_t n_side_inputs;
  beam_windowed_value *deferred; /* main input held until side inputs are complete */
  size_t n_deferred, cap_deferred;
  bool side_inputs_complete; /* this bundle: their producers finished (local runner) */
  beam_arena scratch;
  beam_arena bundle;
  beam_dofn_setup_ctx setup_ctx;
  beam_dofn_ctx ctx;
  bool set_up;
  /* Bag user state (exec_pardo_state.c). */
  const char **state_ids;
  const beam_coder **state_coders;
  size_t n_states;
  const beam_coder *key_coder; /* of the KV main input */
  beam_coder *window_coder;    /* of the main input's windowing strategy */
  beam_user_state_cache user_state;
  beam_buf scope_key, scope_window; /* the current element's key and window, encoded */
  bool scope_ready;
  beam_buf encode_buf;
  /* The process step of a splittable ParDo (exec_sdf_process.c); NULL for a plain ParDo. */
  beam_sdf_process *sdf;
};

/* --- exec_pardo.c, for the splittable ParDo's nodes (exec_sdf*.c) -------------------------- */
/* Makes node a ParDo node running t's DoFn (set up). helper: a step of a splittable ParDo
 * that only calls the DoFn's restriction callbacks, whose transform has one output and only
 * the main input, so the payload's outputs, side inputs and states are not mapped. */
beam_status beam_pardo_node_new(beam_exec_node *node, const PIPE(PTransform) *t, bool helper, beam_error *err);
/* Calls process() for one element (once per window for a stateful DoFn). */
beam_status beam_pardo_call(pardo_node *pn, const beam_windowed_value *wv, beam_error *err);
/* The ParDo node's teardown (calls the DoFn's teardown). */
void beam_pardo_node_teardown(beam_exec_node *n);

/* --- exec_sdf_process.c ------------------------------------------------------------------- */
/* Processes one sized element-and-restriction: process() under a tracker of its restriction. */
beam_status beam_sdf_process_element(pardo_node *pn, const beam_windowed_value *wv, beam_error *err);
void beam_sdf_process_free(beam_sdf_process *sdf);

/* --- exec_pardo_state.c ------------------------------------------------------------------ */
/* Reads the ParDo's state specs and the coders state and multimap side inputs need. */
beam_status beam_pardo_state_setup(pardo_node *pn, const PIPE(PTransform) *t, const PIPE(ParDoPayload) *pardo,
                                   beam_error *err);
/* After each process() call: forgets the element's key and window, bounds the cache. */
beam_status beam_pardo_state_after_element(pardo_node *pn, beam_error *err);
/* Sends the bundle's buffered state writes (ok: the bundle succeeded so far). */
beam_status beam_pardo_state_finish(pardo_node *pn, bool ok, beam_error *err);
void beam_pardo_state_teardown(pardo_node *pn);
/* At the start of a bundle: forgets the previous bundle's multimap lookups. */
void beam_pardo_side_inputs_reset(pardo_node *pn);

#endif
