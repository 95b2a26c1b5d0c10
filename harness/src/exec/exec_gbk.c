/* GroupByKey in memory, for the local runner, and the precombine phase of a lifted
 * combine_per_key (the same grouping, folding each value into its group's accumulator).
 *
 * Elements are grouped by (window, encoded key): Beam groups by the key's encoded bytes, not
 * by value equality. Groups are emitted at finish_bundle, in the order their keys were first
 * seen, so a local run is deterministic. Precombine also emits early when it holds many keys:
 * partial accumulators are fine, the runner merges them after its GroupByKey. */
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "exec_combine.h"
#include "exec_nodes.h"
#include "proto_lookup.h"

/* Precombine holds up to PRECOMBINE_MAX_GROUPS keys. When its table, at PRECOMBINE_PROBE
 * keys or full, had folded fewer than 1% of its inputs (keys all but unique, as a dedupe key
 * usually is), holding them only costs (a copy of every input): the next
 * PRECOMBINE_PASS_INPUTS inputs go out one accumulator each, then the table is tried again.
 * A key that a share of the input above 1% has is folded. */
enum { PRECOMBINE_PROBE = 1000, PRECOMBINE_MAX_GROUPS = 10000, PRECOMBINE_PASS_INPUTS = 100000 };

typedef struct group {
  beam_window window;
  beam_bytes key_bytes;
  beam_value *key;
  beam_value *values;
  size_t n_values, cap_values;
  beam_value acc;       /* precombine: the folded values */
  int64_t min_timestamp_ms;
  uint64_t hash;
} group;

typedef struct gbk_node {
  beam_coder *key_coder;
  beam_exec_combinefn fold; /* precombine only */
  beam_arena arena;  /* keys and values held until finish */
  group *groups;     /* insertion order */
  size_t n_groups, cap_groups;
  size_t *slots;     /* open addressing: index+1 into groups, 0 = empty */
  size_t n_slots;
  beam_buf key_buf;
  int64_t inputs;    /* precombine: inputs folded into the groups held */
  int64_t pass_left; /* precombine: inputs still to pass through unfolded */
  size_t probe_at;   /* precombine: the number of keys at which the table is judged next */
  beam_arena pass_arena; /* one passed-through accumulator at a time */
} gbk_node;

static uint64_t hash_bytes(uint64_t h, const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static uint64_t group_hash(const beam_window *w, const beam_buf *key) {
  uint64_t h = 14695981039346656037ULL;
  h = hash_bytes(h, &w->kind, sizeof w->kind);
  h = hash_bytes(h, &w->start_ms, sizeof w->start_ms);
  h = hash_bytes(h, &w->end_ms, sizeof w->end_ms);
  h = hash_bytes(h, w->custom.data, w->custom.len);
  return hash_bytes(h, key->data, key->len);
}

static bool same_window(const beam_window *a, const beam_window *b) {
  return a->kind == b->kind && a->start_ms == b->start_ms && a->end_ms == b->end_ms &&
         a->custom.len == b->custom.len &&
         (a->custom.len == 0 || memcmp(a->custom.data, b->custom.data, a->custom.len) == 0);
}

static bool rehash(gbk_node *g) {
  size_t n = g->n_slots ? g->n_slots * 2 : 1024;
  size_t *slots = calloc(n, sizeof *slots);
  if (!slots) return false;
  for (size_t i = 0; i < g->n_groups; i++) {
    size_t j = g->groups[i].hash & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = i + 1;
  }
  free(g->slots);
  g->slots = slots;
  g->n_slots = n;
  return true;
}

static group *find_or_add(gbk_node *g, const beam_window *w, const beam_value *key, beam_error *err) {
  if ((g->n_groups + 1) * 2 > g->n_slots && !rehash(g)) goto nomem;
  uint64_t h = group_hash(w, &g->key_buf);
  size_t j = h & (g->n_slots - 1);
  for (; g->slots[j]; j = (j + 1) & (g->n_slots - 1)) {
    group *gr = &g->groups[g->slots[j] - 1];
    if (gr->hash == h && gr->key_bytes.len == g->key_buf.len && same_window(&gr->window, w) &&
        memcmp(gr->key_bytes.data, g->key_buf.data, g->key_buf.len) == 0)
      return gr;
  }
  if (g->n_groups == g->cap_groups) {
    size_t cap = g->cap_groups ? g->cap_groups * 2 : 256;
    group *grown = realloc(g->groups, cap * sizeof *grown);
    if (!grown) goto nomem;
    g->groups = grown;
    g->cap_groups = cap;
  }
  group *gr = &g->groups[g->n_groups];
  memset(gr, 0, sizeof *gr);
  gr->hash = h;
  gr->window = *w;
  uint8_t *kb = beam_arena_alloc(&g->arena, g->key_buf.len + 1);
  gr->key = beam_value_clone(&g->arena, key);
  if (!kb || !gr->key) goto nomem;
  memcpy(kb, g->key_buf.data, g->key_buf.len);
  gr->key_bytes = (beam_bytes){kb, g->key_buf.len};
  if (w->custom.len) {
    uint8_t *cb = beam_arena_alloc(&g->arena, w->custom.len);
    if (!cb) goto nomem;
    memcpy(cb, w->custom.data, w->custom.len);
    gr->window.custom.data = cb;
  }
  g->slots[j] = ++g->n_groups;
  return gr;
nomem:
  beam_error_set(err, BEAM_ERR_NOMEM, "out of memory grouping by key");
  return NULL;
}

static beam_status fold_value(gbk_node *g, group *gr, const beam_windowed_value *wv, beam_error *err) {
  const beam_combinefn_def *fn = g->fold.def;
  if (gr->n_values++ == 0) {
    gr->min_timestamp_ms = wv->timestamp_ms;
    beam_status s = fn->create(g->fold.state, &g->arena, &gr->acc, err);
    if (s != BEAM_OK) return s;
  }
  if (wv->timestamp_ms < gr->min_timestamp_ms) gr->min_timestamp_ms = wv->timestamp_ms;
  return fn->add(g->fold.state, &g->arena, &gr->acc, wv->value->u.kv.value, err);
}

static beam_status add_value(gbk_node *g, group *gr, const beam_windowed_value *wv, beam_error *err) {
  if (g->fold.def) return fold_value(g, gr, wv, err);
  const beam_value *v = wv->value->u.kv.value;
  if (gr->n_values == gr->cap_values) {
    size_t cap = gr->cap_values ? gr->cap_values * 2 : 4;
    beam_value *grown = beam_arena_alloc(&g->arena, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory grouping by key");
    if (gr->n_values) memcpy(grown, gr->values, gr->n_values * sizeof *grown);
    gr->values = grown;
    gr->cap_values = cap;
  }
  beam_value *copy = beam_value_clone(&g->arena, v);
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory grouping by key");
  gr->values[gr->n_values++] = *copy;
  return BEAM_OK;
}

static beam_status emit_groups(beam_exec_node *n, beam_error *err);

/* Precombine without holding: the input goes out as its own accumulator (which may borrow
 * the input's memory: both live until the emit returns). */
static beam_status pass_through(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  gbk_node *g = n->impl;
  const beam_combinefn_def *fn = g->fold.def;
  beam_value acc;
  beam_status s = fn->create(g->fold.state, &g->pass_arena, &acc, err);
  if (s == BEAM_OK) {
    beam_status (*add)(void *, beam_arena *, beam_value *, const beam_value *, beam_error *) =
        fn->add_borrowed ? fn->add_borrowed : fn->add;
    s = add(g->fold.state, &g->pass_arena, &acc, wv->value->u.kv.value, err);
  }
  if (s == BEAM_OK) {
    beam_value out = {.kind = BEAM_VALUE_KV, .u.kv = {wv->value->u.kv.key, &acc}};
    beam_windowed_value one = *wv;
    one.value = &out;
    s = beam_exec_emit(&n->outputs[0], &one, err);
  }
  beam_arena_reset(&g->pass_arena);
  return s;
}

static beam_status gbk_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  gbk_node *g = n->impl;
  const beam_value *kv = wv->value;
  if (kv->kind != BEAM_VALUE_KV)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "GroupByKey input is not a KV");
  if (g->fold.def && g->pass_left > 0) {
    g->pass_left--;
    return pass_through(n, wv, err);
  }
  if (g->fold.def && g->n_groups >= g->probe_at) {
    bool no_gain = g->inputs < (int64_t)g->n_groups + (int64_t)g->n_groups / 100;
    bool flush = no_gain || g->n_groups >= PRECOMBINE_MAX_GROUPS; /* the table starts afresh */
    g->probe_at = flush ? PRECOMBINE_PROBE : PRECOMBINE_MAX_GROUPS;
    if (flush) {
      beam_status s = emit_groups(n, err);
      if (s != BEAM_OK) return s;
    }
    if (no_gain) {
      g->pass_left = PRECOMBINE_PASS_INPUTS - 1;
      return pass_through(n, wv, err);
    }
  }
  g->inputs++;
  beam_buf_reset(&g->key_buf);
  beam_status s = beam_coder_encode(g->key_coder, kv->u.kv.key, true, &g->key_buf, err);
  if (s != BEAM_OK) return s;
  for (size_t i = 0; i < wv->n_windows; i++) {
    group *gr = find_or_add(g, &wv->windows[i], kv->u.kv.key, err);
    if (!gr) return BEAM_ERR_NOMEM;
    s = add_value(g, gr, wv, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

/* Output timestamp END_OF_WINDOW: the window's max timestamp. */
static int64_t window_max_timestamp(const beam_window *w) {
  return w->kind == BEAM_WINDOW_INTERVAL ? w->end_ms - 1 : BEAM_GLOBAL_WINDOW_MAX_MS;
}

static void gbk_clear(gbk_node *g) {
  g->n_groups = 0;
  g->inputs = 0;
  if (g->slots) memset(g->slots, 0, g->n_slots * sizeof *g->slots);
  beam_arena_reset(&g->arena);
}

static beam_status emit_groups(beam_exec_node *n, beam_error *err) {
  gbk_node *g = n->impl;
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < g->n_groups; i++) {
    group *gr = &g->groups[i];
    beam_value values = {.kind = BEAM_VALUE_LIST, .u.list = {gr->values, gr->n_values}};
    beam_value out = {.kind = BEAM_VALUE_KV, .u.kv = {gr->key, g->fold.def ? &gr->acc : &values}};
    beam_windowed_value wv = {&out, window_max_timestamp(&gr->window), &gr->window, 1, BEAM_PANE_NO_FIRING};
    if (g->fold.def) wv.timestamp_ms = gr->min_timestamp_ms;
    else wv.pane.timing = BEAM_PANE_ON_TIME;
    s = beam_exec_emit(&n->outputs[0], &wv, err);
  }
  gbk_clear(g);
  return s;
}

static beam_status gbk_finish(beam_exec_node *n, beam_error *err) { return emit_groups(n, err); }

static beam_status gbk_start(beam_exec_node *n, beam_error *err) {
  (void)err;
  gbk_clear(n->impl);
  ((gbk_node *)n->impl)->pass_left = 0; /* each bundle tries holding first */
  ((gbk_node *)n->impl)->probe_at = PRECOMBINE_PROBE;
  return BEAM_OK;
}

static void gbk_teardown(beam_exec_node *n) {
  gbk_node *g = n->impl;
  if (!g) return;
  beam_exec_combinefn_unload(&g->fold);
  free(g->groups);
  free(g->slots);
  beam_buf_free(&g->key_buf);
  beam_arena_free(&g->arena);
  beam_arena_free(&g->pass_arena);
  free(g);
  n->impl = NULL;
}

static const beam_exec_ops gbk_ops = {
    .kind = "group_by_key",
    .start_bundle = gbk_start,
    .process = gbk_process,
    .finish_bundle = gbk_finish,
    .teardown = gbk_teardown,
};

/* The key coder: first component of the input PCollection's KV coder. */
static beam_status key_coder_id(beam_exec_graph *g, const PIPE(PTransform) *t, const char **out,
                                beam_error *err) {
  if (t->n_inputs != 1) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "GroupByKey needs one input");
  const PIPE(Components) *c = g->components;
  const char *pcoll = t->inputs[0]->value;
  const PIPE(PCollection) *pc = beam_proto_find_pcollection(c, pcoll);
  const PIPE(Coder) *kv = pc ? beam_proto_find_coder(c, pc->coder_id) : NULL;
  if (!kv) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "GroupByKey input %s has no coder", pcoll);
  if (!kv->spec || strcmp(kv->spec->urn, BEAM_URN_CODER_KV) != 0 || kv->n_component_coder_ids != 2)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "GroupByKey input %s is not KV-coded", pcoll);
  *out = kv->component_coder_ids[0];
  return BEAM_OK;
}

static beam_status gbk_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                              beam_error *err) {
  const char *kid = NULL;
  beam_status s = key_coder_id(g, t, &kid, err);
  if (s != BEAM_OK) return s;
  gbk_node *gn = calloc(1, sizeof *gn);
  if (!gn) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  node->ops = &gbk_ops;
  node->impl = gn;
  gn->arena.block_size = 1 << 20;
  return beam_exec_graph_coder(g, kid, &gn->key_coder, err);
}

static const beam_exec_ops precombine_ops = {
    .kind = "precombine",
    .start_bundle = gbk_start,
    .process = gbk_process,
    .finish_bundle = gbk_finish,
    .teardown = gbk_teardown,
};

static beam_status precombine_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                     beam_error *err) {
  beam_status s = gbk_create(g, node, t, err);
  if (s != BEAM_OK) return s;
  node->ops = &precombine_ops;
  gbk_node *gn = node->impl;
  return beam_exec_combinefn_load(t, &gn->fold, err);
}

const beam_exec_node_factory beam_exec_gbk_factory = {.urn = BEAM_URN_GBK, .create = gbk_create};
const beam_exec_node_factory beam_exec_precombine_factory = {
    .urn = BEAM_URN_COMBINE_PRECOMBINE,
    .create = precombine_create,
};
