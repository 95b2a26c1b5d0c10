/* The local runner: executes a Pipeline proto in-process as one bundle.
 *
 * The leaf transforms become one execution graph (the same nodes the Fn API harness uses).
 * Impulses are fired, elements stream through fused ParDos by direct calls, GroupByKey
 * buffers in memory and emits at finish, and nodes finish in topological order so every
 * node's input is complete before it finishes. Stateless pipelines therefore run in flat
 * memory whatever the input size. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beam/coder.h"
#include "beam/runner.h"
#include "bytes_map.h"
#include "exec_nodes.h"
#include "local_sdf_expand.h"
#include "local_state.h"
#include "proto_lookup.h"

/* Collects leaf transform ids under id, depth first. */
static beam_status collect_leaves(const PIPE(Components) *c, const char *id, const char ***ids, size_t *n,
                                  size_t *cap, int depth, beam_error *err) {
  if (depth > 64) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "transforms nested too deep at %s", id);
  const PIPE(PTransform) *t = beam_proto_find_transform(c, id);
  if (!t) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "transform \"%s\" is not in the pipeline", id);
  if (t->n_subtransforms) {
    for (size_t i = 0; i < t->n_subtransforms; i++) {
      beam_status s = collect_leaves(c, t->subtransforms[i], ids, n, cap, depth + 1, err);
      if (s != BEAM_OK) return s;
    }
    return BEAM_OK;
  }
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 32;
    const char **grown = realloc(*ids, ncap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    *ids = grown;
    *cap = ncap;
  }
  (*ids)[(*n)++] = id;
  return BEAM_OK;
}

/* --- side inputs: a hidden consumer materializes each side-input PCollection ---------------- */

typedef struct materialized {
  const char *pcollection_id;
  beam_arena arena;
  beam_value *items;
  size_t n, cap;
  beam_value_list list;
  /* Multimap access: encoded key -> the values under it, built on the first lookup. */
  bool indexed;
  beam_bytes_map index;
  beam_value_list *groups;
} materialized;

typedef struct side_inputs {
  beam_exec_graph *g;
  materialized *items;
  size_t n;
  beam_exec_node *collectors;
} side_inputs;

static beam_status collect_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  materialized *m = n->impl;
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    beam_value *grown = realloc(m->items, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory materializing a side input");
    m->items = grown;
    m->cap = cap;
  }
  beam_value *copy = beam_value_clone(&m->arena, wv->value);
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory materializing a side input");
  m->items[m->n++] = *copy;
  return BEAM_OK;
}

static const beam_exec_ops collect_ops = {.kind = "side_input", .process = collect_process};

static beam_status side_input_get(void *self, const char *transform_id, const char *local_name,
                                  const char *pcollection_id, beam_arena *arena, const beam_value_list **out,
                                  beam_error *err) {
  (void)arena;
  side_inputs *si = self;
  for (size_t i = 0; i < si->n; i++)
    if (strcmp(si->items[i].pcollection_id, pcollection_id) == 0) {
      si->items[i].list = (beam_value_list){si->items[i].items, si->items[i].n};
      *out = &si->items[i].list;
      return BEAM_OK;
    }
  return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: side input %s (%s) was not materialized", transform_id,
                        local_name, pcollection_id);
}

/* Groups a KV side input's values by encoded key (two passes: count, then fill). */
static beam_status build_index(side_inputs *si, materialized *m, beam_error *err) {
  const beam_coder *key_coder = NULL, *value_coder = NULL;
  beam_status s = beam_exec_graph_kv_coders(si->g, m->pcollection_id, &key_coder, &value_coder, err);
  size_t *group_of = s == BEAM_OK ? calloc(m->n + 1, sizeof *group_of) : NULL;
  if (s == BEAM_OK && !group_of) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
  beam_buf key = BEAM_BUF_INIT;
  for (size_t i = 0; s == BEAM_OK && i < m->n; i++) {
    if (m->items[i].kind != BEAM_VALUE_KV) {
      s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "multimap side input %s: element %zu is not a KV", m->pcollection_id, i);
      break;
    }
    beam_buf_reset(&key);
    s = beam_coder_encode(key_coder, m->items[i].u.kv.key, true, &key, err);
    bool added;
    ptrdiff_t g = s == BEAM_OK ? beam_bytes_map_put(&m->index, key.data, key.len, &added) : 0;
    if (g < 0) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
    group_of[i] = (size_t)g;
  }
  beam_buf_free(&key);
  if (s == BEAM_OK) m->groups = beam_arena_calloc(&m->arena, m->index.n + 1, sizeof *m->groups);
  if (s == BEAM_OK && !m->groups) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
  for (size_t i = 0; s == BEAM_OK && i < m->n; i++) m->groups[group_of[i]].len++;
  for (size_t g = 0; s == BEAM_OK && g < m->index.n; g++) {
    m->groups[g].items = beam_arena_alloc(&m->arena, m->groups[g].len * sizeof(beam_value));
    if (!m->groups[g].items) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory indexing a side input");
    m->groups[g].len = 0;
  }
  for (size_t i = 0; s == BEAM_OK && i < m->n; i++) {
    beam_value_list *grp = &m->groups[group_of[i]];
    grp->items[grp->len++] = *m->items[i].u.kv.value;
  }
  free(group_of);
  m->indexed = s == BEAM_OK;
  return s;
}

static beam_status side_input_lookup(void *self, const char *transform_id, const char *local_name,
                                     const char *pcollection_id, const beam_value *key, const beam_bytes *key_bytes,
                                     beam_arena *arena, const beam_value_list **out, beam_error *err) {
  static const beam_value_list empty = {NULL, 0};
  (void)key, (void)arena;
  side_inputs *si = self;
  for (size_t i = 0; i < si->n; i++) {
    materialized *m = &si->items[i];
    if (strcmp(m->pcollection_id, pcollection_id) != 0) continue;
    if (!m->indexed) {
      beam_status s = build_index(si, m, err);
      if (s != BEAM_OK) return beam_error_prefix(err, "%s: side input %s: ", transform_id, local_name);
    }
    ptrdiff_t g = beam_bytes_map_find(&m->index, key_bytes->data, key_bytes->len);
    *out = g < 0 ? &empty : &m->groups[g];
    return BEAM_OK;
  }
  return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s: side input %s (%s) was not materialized", transform_id,
                        local_name, pcollection_id);
}

/* The ParDoPayload of transform_id (the caller frees it) and the transform in *t; NULL when
 * it is not a ParDo of the pipeline or its payload does not decode. */
static PIPE(ParDoPayload) *pardo_payload_of(const PIPE(Components) *c, const char *transform_id,
                                           const PIPE(PTransform) **t) {
  *t = beam_proto_find_transform(c, transform_id);
  if (!*t || !(*t)->spec || strcmp((*t)->spec->urn, "beam:transform:pardo:v1") != 0) return NULL;
  return PIPE_FN(par_do_payload__unpack)(NULL, (*t)->spec->payload.len, (*t)->spec->payload.data);
}

static beam_status attach_side_inputs(beam_exec_graph *g, side_inputs *si, beam_error *err) {
  const PIPE(Components) *c = g->components;
  size_t cap = 0;
  for (size_t i = 0; i < g->n_nodes; i++) {
    const PIPE(PTransform) *t = NULL;
    PIPE(ParDoPayload) *p = pardo_payload_of(c, g->nodes[i]->transform_id, &t);
    for (size_t k = 0; p && k < p->n_side_inputs; k++)
      for (size_t j = 0; j < t->n_inputs; j++)
        if (strcmp(t->inputs[j]->key, p->side_inputs[k]->key) == 0) cap++;
    if (p) PIPE_FN(par_do_payload__free_unpacked)(p, NULL);
  }
  si->items = calloc(cap + 1, sizeof *si->items);
  si->collectors = calloc(cap + 1, sizeof *si->collectors);
  if (!si->items || !si->collectors) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < g->n_nodes; i++) {
    const PIPE(PTransform) *t = NULL;
    PIPE(ParDoPayload) *p = pardo_payload_of(c, g->nodes[i]->transform_id, &t);
    for (size_t k = 0; p && k < p->n_side_inputs; k++)
      for (size_t j = 0; j < t->n_inputs; j++) {
        if (strcmp(t->inputs[j]->key, p->side_inputs[k]->key) != 0) continue;
        const char *pc = t->inputs[j]->value;
        beam_exec_output *prod = beam_exec_graph_output_of(g, pc);
        if (!prod) continue;
        materialized *m = &si->items[si->n];
        beam_exec_node *col = &si->collectors[si->n++];
        m->pcollection_id = pc;
        col->ops = &collect_ops;
        col->impl = m;
        col->graph = g;
        col->transform_id = pc;
        beam_exec_node **grown = beam_arena_alloc(&g->arena, (prod->n_consumers + 1) * sizeof *grown);
        if (!grown) break;
        if (prod->n_consumers) memcpy(grown, prod->consumers, prod->n_consumers * sizeof *grown);
        grown[prod->n_consumers++] = col;
        prod->consumers = grown;
      }
    if (p) PIPE_FN(par_do_payload__free_unpacked)(p, NULL);
  }
  si->g = g;
  g->side_inputs = (beam_side_input_source){side_input_get, side_input_lookup, si};
  g->side_inputs_deferred = true;
  return BEAM_OK;
}

static void side_inputs_free(side_inputs *si) {
  for (size_t i = 0; i < si->n; i++) {
    free(si->items[i].items);
    beam_bytes_map_free(&si->items[i].index);
    beam_arena_free(&si->items[i].arena);
  }
  free(si->items);
  free(si->collectors);
}

/* --- results -------------------------------------------------------------------------------- */

static beam_status copy_counters(const beam_exec_graph *g, beam_run_result *r, beam_error *err) {
  r->counters = calloc(g->n_counters + 1, sizeof *r->counters);
  if (!r->counters) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < g->n_counters; i++) {
    r->counters[i].transform_id = strdup(g->counters[i].transform_id);
    r->counters[i].name = strdup(g->counters[i].name);
    r->counters[i].value = g->counters[i].value;
    r->n_counters++;
    if (!r->counters[i].transform_id || !r->counters[i].name)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

/* transform_id itself or a step a runner expanded it into (a splittable ParDo's process step
 * reports its counters): "X/..." (the Java runners' names), or Prism's "eX_..."
 * ("eReadAndProcess_processandsplit"). */
static bool is_or_within(const char *id, const char *transform_id) {
  size_t n = strlen(transform_id);
  if (strncmp(id, transform_id, n) == 0) return id[n] == '\0' || id[n] == '/';
  return id[0] == 'e' && strncmp(id + 1, transform_id, n) == 0 && id[n + 1] == '_';
}

int64_t beam_run_result_counter(const beam_run_result *r, const char *transform_id, const char *name) {
  int64_t sum = 0;
  for (size_t i = 0; i < r->n_counters; i++)
    if (strcmp(r->counters[i].name, name) == 0 && (!transform_id || is_or_within(r->counters[i].transform_id, transform_id)))
      sum += r->counters[i].value;
  return sum;
}

void beam_run_result_free(beam_run_result *r) {
  for (size_t i = 0; i < r->n_counters; i++) {
    free(r->counters[i].transform_id);
    free(r->counters[i].name);
  }
  free(r->counters);
  r->counters = NULL;
  r->n_counters = 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static beam_status run_graph(beam_exec_graph *g, beam_error *err) {
  /* Sinks commit idempotently per bundle id, so every run needs an id of its own: a fixed id
   * would make a second run into the same database look like a retry and write nothing. */
  static atomic_uint runs;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char bundle_id[96];
  snprintf(bundle_id, sizeof bundle_id, "local-%lld%09ld-%ld-%u", (long long)ts.tv_sec, ts.tv_nsec,
           (long)getpid(), atomic_fetch_add(&runs, 1));
  beam_status s = beam_exec_graph_start(g, bundle_id, err);
  for (size_t i = 0; s == BEAM_OK && i < g->n_roots; i++) {
    beam_exec_node *root = g->roots[i];
    if (strcmp(root->ops->kind, "impulse") != 0) {
      s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "transform \"%s\" has no input in the pipeline",
                         root->transform_id);
      break;
    }
    s = root->ops->process(root, NULL, err);
  }
  if (s == BEAM_OK) s = beam_exec_graph_finish(g, err);
  return s;
}

beam_status beam_run_local(const uint8_t *pipeline_proto, size_t len, const json_t *options,
                           beam_run_result *result, beam_error *err) {
  double started = now_seconds();
  memset(result, 0, sizeof *result);
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, len, pipeline_proto);
  if (!pl || !pl->components)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode the Pipeline proto (%zu bytes)", len);
  const char **ids = NULL;
  size_t n = 0, cap = 0;
  beam_status s = beam_local_sdf_expand(pl, err);
  for (size_t i = 0; s == BEAM_OK && i < pl->n_root_transform_ids; i++)
    s = collect_leaves(pl->components, pl->root_transform_ids[i], &ids, &n, &cap, 0, err);
  beam_exec_graph *g = NULL;
  side_inputs si = {0};
  beam_local_state *state = NULL;
  if (s == BEAM_OK) s = beam_exec_graph_build(pl->components, ids, n, options, &g, err);
  if (s == BEAM_OK) s = attach_side_inputs(g, &si, err);
  if (s == BEAM_OK) s = beam_local_state_new(&state, &g->user_state, err);
  if (s == BEAM_OK) s = run_graph(g, err);
  if (s == BEAM_OK) s = copy_counters(g, result, err);
  result->elapsed_seconds = now_seconds() - started;
  beam_exec_graph_free(g);
  beam_local_state_free(state);
  side_inputs_free(&si);
  free(ids);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  return s;
}

beam_status beam_pipeline_run_local(beam_pipeline *p, const json_t *options, beam_run_result *result,
                                    beam_error *err) {
  beam_buf buf = BEAM_BUF_INIT;
  beam_status s = beam_pipeline_encode(p, &buf, err);
  if (s == BEAM_OK) s = beam_run_local(buf.data, buf.len, options, result, err);
  beam_buf_free(&buf);
  return s;
}
