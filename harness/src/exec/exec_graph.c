/* Builds an execution graph from Beam protos: the same code for the local runner (a whole
 * Pipeline) and the harness (a ProcessBundleDescriptor's transforms). */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "beam/urns.h"
#include "exec_nodes.h"
#include "coder_proto.h"
#include "proto_lookup.h"

beam_status beam_exec_graph_coder(beam_exec_graph *g, const char *coder_id, beam_coder **out,
                                  beam_error *err) {
  for (size_t i = 0; i < g->n_coders; i++)
    if (strcmp(g->coder_ids[i], coder_id) == 0) {
      *out = g->coders[i];
      return BEAM_OK;
    }
  beam_coder *c = NULL;
  beam_status s = beam_coder_from_components(g->components, coder_id, &c, err);
  if (s != BEAM_OK) return s;
  const char *id = beam_arena_strdup(&g->arena, coder_id);
  if (g->n_coders == g->cap_coders) {
    size_t cap = g->cap_coders ? g->cap_coders * 2 : 8;
    beam_coder **grown = realloc(g->coders, cap * sizeof *grown);
    const char **grown_ids = grown ? realloc(g->coder_ids, cap * sizeof *grown_ids) : NULL;
    if (grown) g->coders = grown;
    if (grown_ids) g->coder_ids = grown_ids;
    if (!grown || !grown_ids) {
      beam_coder_free(c);
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    }
    g->cap_coders = cap;
  }
  if (!id) {
    beam_coder_free(c);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  g->coder_ids[g->n_coders] = id;
  g->coders[g->n_coders++] = c;
  *out = c;
  return BEAM_OK;
}

beam_status beam_exec_graph_kv_coders(beam_exec_graph *g, const char *pcollection_id, const beam_coder **key,
                                      const beam_coder **value, beam_error *err) {
  const PIPE(PCollection) *pc = beam_proto_find_pcollection(g->components, pcollection_id);
  if (!pc) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "PCollection %s is not in the components", pcollection_id);
  beam_coder *c = NULL;
  beam_status s = beam_exec_graph_coder(g, pc->coder_id, &c, err);
  if (s != BEAM_OK) return s;
  if (strcmp(beam_coder_urn(c), BEAM_URN_CODER_KV) != 0 || beam_coder_n_components(c) != 2)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "PCollection %s has coder %s, not a KV coder", pcollection_id,
                          beam_coder_urn(c));
  *key = beam_coder_component(c, 0);
  *value = beam_coder_component(c, 1);
  return BEAM_OK;
}

beam_status beam_exec_graph_window_coder(beam_exec_graph *g, const char *pcollection_id, beam_coder **out,
                                         beam_error *err) {
  const PIPE(Components) *c = g->components;
  const PIPE(PCollection) *pc = beam_proto_find_pcollection(c, pcollection_id);
  if (!pc) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "PCollection %s is not in the components", pcollection_id);
  const PIPE(WindowingStrategy) *ws = beam_proto_find_windowing_strategy(c, pc->windowing_strategy_id);
  if (ws) return beam_exec_graph_coder(g, ws->window_coder_id, out, err);
  return beam_error_set(err, BEAM_ERR_NOT_FOUND, "windowing strategy %s of PCollection %s is not in the components",
                        pc->windowing_strategy_id, pcollection_id);
}

beam_status beam_exec_decode_all(const beam_coder *coder, const beam_bytes *in, beam_arena *arena, beam_value_list *out,
                                 beam_error *err) {
  beam_value *items = NULL;
  size_t n = 0, cap = 0;
  beam_reader r = beam_reader_make(in->data, in->len);
  while (!beam_reader_at_end(&r)) {
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      beam_value *grown = beam_arena_alloc(arena, cap * sizeof *grown);
      if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory decoding values");
      if (n) memcpy(grown, items, n * sizeof *grown);
      items = grown;
    }
    beam_status s = beam_coder_decode(coder, &r, true, arena, &items[n], err);
    if (s != BEAM_OK) return beam_error_prefix(err, "value %zu: ", n);
    n++;
  }
  *out = (beam_value_list){items, n};
  return BEAM_OK;
}

beam_status beam_exec_graph_count(beam_exec_graph *g, const char *transform_id, const char *name,
                                  int64_t delta) {
  for (size_t i = 0; i < g->n_counters; i++)
    if (g->counters[i].transform_id == transform_id && strcmp(g->counters[i].name, name) == 0) {
      g->counters[i].value += delta;
      return BEAM_OK;
    }
  if (g->n_counters == g->cap_counters) {
    size_t cap = g->cap_counters ? g->cap_counters * 2 : 16;
    beam_exec_counter *grown = realloc(g->counters, cap * sizeof *grown);
    if (!grown) return BEAM_ERR_NOMEM;
    g->counters = grown;
    g->cap_counters = cap;
  }
  g->counters[g->n_counters++] = (beam_exec_counter){transform_id, name, delta};
  return BEAM_OK;
}

/* Appends consumer to out->consumers (arrays live in the graph arena). */
static bool add_consumer(beam_exec_graph *g, beam_exec_output *out, beam_exec_node *consumer) {
  beam_exec_node **grown = beam_arena_alloc(&g->arena, (out->n_consumers + 1) * sizeof *grown);
  if (!grown) return false;
  if (out->n_consumers) memcpy(grown, out->consumers, out->n_consumers * sizeof *grown);
  grown[out->n_consumers++] = consumer;
  out->consumers = grown;
  return true;
}

static beam_exec_output *find_producer(beam_exec_graph *g, const char *pcoll, beam_exec_node **node) {
  for (size_t i = 0; i < g->n_nodes; i++)
    for (size_t j = 0; j < g->nodes[i]->n_outputs; j++)
      if (strcmp(g->nodes[i]->outputs[j].pcollection_id, pcoll) == 0) {
        if (node) *node = g->nodes[i];
        return &g->nodes[i]->outputs[j];
      }
  return NULL;
}

/* Kahn's algorithm over the consumer edges: producers first. */
static beam_status sort_topologically(beam_exec_graph *g, beam_error *err) {
  size_t n = g->n_nodes;
  size_t *indegree = calloc(n ? n : 1, sizeof *indegree);
  beam_exec_node **order = beam_arena_alloc(&g->arena, (n ? n : 1) * sizeof *order);
  if (!indegree || !order) {
    free(indegree);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < g->nodes[i]->n_outputs; j++)
      for (size_t k = 0; k < g->nodes[i]->outputs[j].n_consumers; k++)
        for (size_t m = 0; m < n; m++)
          if (g->nodes[m] == g->nodes[i]->outputs[j].consumers[k]) indegree[m]++;
  size_t done = 0;
  for (size_t i = 0; i < n; i++)
    if (indegree[i] == 0) order[done++] = g->nodes[i];
  for (size_t head = 0; head < done; head++) {
    beam_exec_node *node = order[head];
    for (size_t j = 0; j < node->n_outputs; j++)
      for (size_t k = 0; k < node->outputs[j].n_consumers; k++)
        for (size_t m = 0; m < n; m++)
          if (g->nodes[m] == node->outputs[j].consumers[k] && --indegree[m] == 0) order[done++] = g->nodes[m];
  }
  free(indegree);
  if (done != n) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the pipeline graph has a cycle");
  g->nodes = order;
  return BEAM_OK;
}

static beam_status create_node(beam_exec_graph *g, const char *id, const PIPE(PTransform) *t,
                               beam_exec_node **out, beam_error *err) {
  beam_exec_node *node = beam_arena_calloc(&g->arena, 1, sizeof *node);
  if (!node) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  node->transform_id = beam_arena_strdup(&g->arena, id);
  node->graph = g;
  node->n_outputs = t->n_outputs;
  node->outputs = beam_arena_calloc(&g->arena, t->n_outputs + 1, sizeof *node->outputs);
  if (!node->transform_id || !node->outputs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < t->n_outputs; i++) node->outputs[i].pcollection_id = t->outputs[i]->value;
  const char *urn = t->spec ? t->spec->urn : "";
  const beam_exec_node_factory *f = beam_exec_find_factory(urn);
  if (!f)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "transform \"%s\": unsupported urn \"%s\"", id, urn);
  beam_status s = f->create(g, node, t, err);
  if (s != BEAM_OK) {
    /* The node never joins the graph, so release what create managed to set up. */
    if (node->ops && node->ops->teardown) node->ops->teardown(node);
    return beam_error_prefix(err, "transform \"%s\": ", id);
  }
  *out = node;
  return BEAM_OK;
}

/* Main inputs of t are all its inputs except the side inputs its ParDoPayload names. */
static bool is_side_input(const PIPE(PTransform) *t, const char *local_name) {
  if (!t->spec || (strcmp(t->spec->urn, BEAM_URN_PARDO) != 0 && strcmp(t->spec->urn, BEAM_URN_SDF_PROCESS) != 0))
    return false;
  PIPE(ParDoPayload) *pardo =
      PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  bool found = false;
  for (size_t i = 0; pardo && i < pardo->n_side_inputs; i++)
    if (strcmp(pardo->side_inputs[i]->key, local_name) == 0) found = true;
  if (pardo) PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
  return found;
}

beam_status beam_exec_graph_build(const PIPE(Components) *components, const char *const *ids,
                                  size_t n_ids, const json_t *options, beam_exec_graph **out,
                                  beam_error *err) {
  beam_exec_graph *g = calloc(1, sizeof *g);
  if (!g) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  g->components = components;
  g->options = options;
  g->nodes = beam_arena_calloc(&g->arena, n_ids + 1, sizeof *g->nodes);
  g->roots = beam_arena_calloc(&g->arena, n_ids + 1, sizeof *g->roots);
  beam_status s = (g->nodes && g->roots) ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == BEAM_OK && i < n_ids; i++) {
    const PIPE(PTransform) *t = beam_proto_find_transform(components, ids[i]);
    if (!t) {
      s = beam_error_set(err, BEAM_ERR_NOT_FOUND, "transform \"%s\" not in the components", ids[i]);
      break;
    }
    s = create_node(g, ids[i], t, &g->nodes[g->n_nodes], err);
    if (s == BEAM_OK) g->n_nodes++;
  }
  /* Wire each main input to its producer; a node with no producer inside is a root. */
  for (size_t i = 0; s == BEAM_OK && i < n_ids; i++) {
    beam_exec_node *node = g->nodes[i];
    const PIPE(PTransform) *t = beam_proto_find_transform(components, ids[i]);
    bool fed = false;
    for (size_t j = 0; s == BEAM_OK && j < t->n_inputs; j++) {
      if (is_side_input(t, t->inputs[j]->key)) continue;
      beam_exec_output *prod = find_producer(g, t->inputs[j]->value, NULL);
      if (!prod) continue;
      if (!add_consumer(g, prod, node)) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      fed = true;
    }
    if (!fed) g->roots[g->n_roots++] = node;
  }
  if (s == BEAM_OK) s = sort_topologically(g, err);
  if (s != BEAM_OK) {
    beam_exec_graph_free(g);
    return s;
  }
  *out = g;
  return BEAM_OK;
}

void beam_exec_graph_free(beam_exec_graph *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i] && g->nodes[i]->ops && g->nodes[i]->ops->teardown) g->nodes[i]->ops->teardown(g->nodes[i]);
  for (size_t i = 0; i < g->n_coders; i++) beam_coder_free(g->coders[i]);
  free(g->coders);
  free(g->coder_ids);
  free(g->counters);
  beam_arena_free(&g->arena);
  free(g);
}

beam_exec_output *beam_exec_graph_output_of(beam_exec_graph *g, const char *pcollection_id) {
  return find_producer(g, pcollection_id, NULL);
}

/* Starts consumers before producers (so anything emitted finds its consumer started), then
 * finishes producers before consumers (so a node's inputs are complete when it finishes). */
beam_status beam_exec_graph_start(beam_exec_graph *g, const char *bundle_id, beam_error *err) {
  g->bundle_id = bundle_id;
  g->n_counters = 0;
  for (size_t i = g->n_nodes; i-- > 0;) {
    beam_exec_node *n = g->nodes[i];
    for (size_t j = 0; j < n->n_outputs; j++) n->outputs[j].elements = 0;
    if (n->ops->start_bundle) {
      beam_status s = n->ops->start_bundle(n, err);
      if (s != BEAM_OK) return s;
    }
  }
  return BEAM_OK;
}

beam_status beam_exec_graph_finish(beam_exec_graph *g, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < g->n_nodes; i++) {
    g->n_finished = i;
    beam_exec_node *n = g->nodes[i];
    if (n->ops->finish_bundle) s = n->ops->finish_bundle(n, err);
  }
  g->n_finished = 0; /* outside finish nothing counts as finished */
  return s;
}

bool beam_exec_graph_pcollection_complete(beam_exec_graph *g, const char *pcollection_id) {
  beam_exec_node *producer = NULL;
  if (!g->n_finished || !find_producer(g, pcollection_id, &producer)) return false;
  for (size_t i = 0; i < g->n_finished; i++)
    if (g->nodes[i] == producer) return true;
  return false;
}
