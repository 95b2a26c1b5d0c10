/* Cuts a pipeline's leaf transforms into stages (see local_stages.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "local_stages.h"
#include "proto_lookup.h"

typedef struct leaf {
  const char *id;
  const PIPE(PTransform) *t;
  bool gbk, split;
  const char **main_in, **side_in; /* PCollection ids */
  size_t n_main, n_side;
  size_t level, stage;
} leaf;

typedef struct planner {
  const PIPE(Components) *c;
  beam_local_plan *plan;
  leaf *leaves;
  size_t n;
  size_t *parent; /* union-find over leaves */
} planner;

static size_t find_root(planner *p, size_t i) {
  while (p->parent[i] != i) i = p->parent[i] = p->parent[p->parent[i]];
  return i;
}

static void unite(planner *p, size_t a, size_t b) {
  a = find_root(p, a), b = find_root(p, b);
  if (a != b) p->parent[a < b ? b : a] = a < b ? a : b; /* the earlier leaf names the stage */
}

/* The leaf producing pcollection, or n. */
static size_t producer(const planner *p, const char *pcollection) {
  for (size_t i = 0; i < p->n; i++)
    for (size_t j = 0; j < p->leaves[i].t->n_outputs; j++)
      if (strcmp(p->leaves[i].t->outputs[j]->value, pcollection) == 0) return i;
  return p->n;
}

/* Splits t's inputs into main and side inputs (the side ones a ParDoPayload names). */
static beam_status read_leaf(planner *p, leaf *l, beam_error *err) {
  const char *urn = l->t->spec ? l->t->spec->urn : "";
  l->gbk = strcmp(urn, BEAM_URN_GBK) == 0;
  l->split = strcmp(urn, BEAM_LOCAL_URN_SDF_PROCESS) == 0;
  PIPE(ParDoPayload) *pardo = NULL;
  if (strcmp(urn, BEAM_URN_PARDO) == 0)
    pardo = PIPE_FN(par_do_payload__unpack)(NULL, l->t->spec->payload.len, l->t->spec->payload.data);
  beam_arena *a = &p->plan->arena;
  l->main_in = beam_arena_calloc(a, l->t->n_inputs + 1, sizeof *l->main_in);
  l->side_in = beam_arena_calloc(a, l->t->n_inputs + 1, sizeof *l->side_in);
  if (!l->main_in || !l->side_in) {
    if (pardo) PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < l->t->n_inputs; i++) {
    bool side = false;
    for (size_t k = 0; pardo && k < pardo->n_side_inputs; k++)
      if (strcmp(pardo->side_inputs[k]->key, l->t->inputs[i]->key) == 0) side = true;
    if (side) l->side_in[l->n_side++] = l->t->inputs[i]->value;
    else l->main_in[l->n_main++] = l->t->inputs[i]->value;
  }
  if (pardo) PIPE_FN(par_do_payload__free_unpacked)(pardo, NULL);
  return BEAM_OK;
}

/* Longest-path levels; a pipeline is a DAG, so n + 1 passes settle them. */
static beam_status assign_levels(planner *p, beam_error *err) {
  for (size_t pass = 0; pass <= p->n + 1; pass++) {
    bool changed = false;
    for (size_t i = 0; i < p->n; i++) {
      leaf *l = &p->leaves[i];
      size_t level = 0;
      for (size_t j = 0; j < l->n_main; j++) {
        size_t u = producer(p, l->main_in[j]);
        if (u == p->n) continue;
        size_t want = p->leaves[u].level + (l->gbk || l->split ? 1 : 0);
        if (want > level) level = want;
      }
      for (size_t j = 0; j < l->n_side; j++) {
        size_t u = producer(p, l->side_in[j]);
        if (u < p->n && p->leaves[u].level + 1 > level) level = p->leaves[u].level + 1;
      }
      if (level != l->level) l->level = level, changed = true;
    }
    if (!changed) return BEAM_OK;
  }
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the pipeline graph has a cycle");
}

/* Joins producer and consumer at one level, and the consumers at one level of one input. */
static void form_stages(planner *p) {
  for (size_t i = 0; i < p->n; i++) {
    leaf *l = &p->leaves[i];
    if (l->gbk) continue;
    for (size_t j = 0; j < l->n_main; j++) {
      size_t u = producer(p, l->main_in[j]);
      if (u == p->n) continue;
      leaf *up = &p->leaves[u];
      if (!up->gbk && !l->split && up->level == l->level) {
        unite(p, u, i);
        continue;
      }
      for (size_t k = 0; k < i; k++) { /* an earlier consumer of the same stage input */
        leaf *o = &p->leaves[k];
        if (o->gbk || o->level != l->level) continue;
        for (size_t m = 0; m < o->n_main; m++)
          if (strcmp(o->main_in[m], l->main_in[j]) == 0 && (up->gbk || o->split || up->level != o->level))
            unite(p, k, i);
      }
    }
  }
}

static beam_status grow(beam_local_plan *plan, void **items, size_t n, size_t size, beam_error *err) {
  void *grown = realloc(*items, (n + 1) * size);
  if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *items = grown;
  memset((char *)grown + n * size, 0, size);
  (void)plan;
  return BEAM_OK;
}

/* The shuffle carrying pcollection (sorted: the input of GroupByKey gbk_id), created on
 * first use; producer names the transform writing it, for messages. */
static beam_status shuffle_for(planner *p, const char *pcollection, bool sorted, const char *gbk_id,
                               const char *producer_id, size_t *out, beam_error *err) {
  beam_local_plan *plan = p->plan;
  for (size_t i = 0; i < plan->n_shuffles; i++)
    if (plan->shuffles[i].sorted == sorted && strcmp(plan->shuffles[i].input_pcollection, pcollection) == 0 &&
        (!sorted || strcmp(plan->shuffles[i].group_by, gbk_id) == 0)) {
      *out = i;
      return BEAM_OK;
    }
  beam_status s = grow(plan, (void **)&plan->shuffles, plan->n_shuffles, sizeof *plan->shuffles, err);
  if (s != BEAM_OK) return s;
  char what[512];
  if (sorted) snprintf(what, sizeof what, "GroupByKey %s", gbk_id);
  else snprintf(what, sizeof what, "the output of %s (%s)", producer_id, pcollection);
  beam_local_shuffle_spec *sp = &plan->shuffles[plan->n_shuffles];
  sp->what = beam_arena_strdup(&plan->arena, what);
  sp->input_pcollection = pcollection;
  sp->sorted = sorted;
  sp->group_by = gbk_id;
  if (!sp->what) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *out = plan->n_shuffles++;
  return BEAM_OK;
}

static beam_status add_collector(planner *p, beam_local_collect_kind kind, const char *pcollection, size_t stage,
                                 size_t target, beam_error *err) {
  beam_local_plan *plan = p->plan;
  for (size_t i = 0; i < plan->n_collectors; i++) {
    beam_local_collector *c = &plan->collectors[i];
    if (c->kind == kind && c->target == target && strcmp(c->pcollection_id, pcollection) == 0) return BEAM_OK;
  }
  beam_status s = grow(plan, (void **)&plan->collectors, plan->n_collectors, sizeof *plan->collectors, err);
  if (s == BEAM_OK) plan->collectors[plan->n_collectors++] = (beam_local_collector){kind, pcollection, stage, target};
  return s;
}

static beam_status add_source(planner *p, beam_local_stage *st, size_t stage, beam_local_source_kind kind,
                              const char *pcollection, size_t shuffle, bool split, beam_error *err) {
  for (size_t i = 0; i < st->n_sources; i++)
    if (st->sources[i].shuffle == shuffle) {
      st->sources[i].one_per_bundle |= split;
      return BEAM_OK;
    }
  beam_status s = grow(p->plan, (void **)&st->sources, st->n_sources, sizeof *st->sources, err);
  if (s != BEAM_OK) return s;
  st->sources[st->n_sources++] = (beam_local_source){kind, pcollection, shuffle, split};
  if (p->plan->shuffles[shuffle].last_reader < stage) p->plan->shuffles[shuffle].last_reader = stage;
  return BEAM_OK;
}

/* Stages in level order (then pipeline order), with their sources and collectors. */
static beam_status build_stages(planner *p, beam_error *err) {
  beam_local_plan *plan = p->plan;
  size_t max_level = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->leaves[i].level > max_level) max_level = p->leaves[i].level;
  for (size_t level = 0; level <= max_level; level++)
    for (size_t i = 0; i < p->n; i++) {
      leaf *l = &p->leaves[i];
      if (l->gbk || l->level != level || find_root(p, i) != i) continue;
      beam_status s = grow(plan, (void **)&plan->stages, plan->n_stages, sizeof *plan->stages, err);
      if (s != BEAM_OK) return s;
      beam_local_stage *st = &plan->stages[plan->n_stages];
      st->level = level;
      st->ids = beam_arena_calloc(&plan->arena, p->n + 1, sizeof *st->ids);
      if (!st->ids) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      for (size_t k = 0; k < p->n; k++)
        if (!p->leaves[k].gbk && find_root(p, k) == i) {
          st->ids[st->n_ids++] = p->leaves[k].id;
          p->leaves[k].stage = plan->n_stages;
        }
      plan->n_stages++;
    }
  for (size_t i = 0; i < p->n; i++) {
    leaf *l = &p->leaves[i];
    if (l->gbk) continue;
    for (size_t j = 0; j < l->n_main; j++) {
      size_t u = producer(p, l->main_in[j]);
      if (u == p->n) continue;
      leaf *up = &p->leaves[u];
      beam_status s = BEAM_OK;
      size_t sh = 0;
      if (up->gbk) {
        size_t w = up->n_main == 1 ? producer(p, up->main_in[0]) : p->n;
        if (w == p->n || p->leaves[w].gbk)
          return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                                "GroupByKey \"%s\" needs one input produced by a transform of the pipeline", up->id);
        s = shuffle_for(p, up->main_in[0], true, up->id, NULL, &sh, err);
        if (s == BEAM_OK) s = add_collector(p, BEAM_LOCAL_COLLECT_GROUP, up->main_in[0], p->leaves[w].stage, sh, err);
        if (s == BEAM_OK)
          s = add_source(p, &plan->stages[l->stage], l->stage, BEAM_LOCAL_SOURCE_GROUPED, l->main_in[j], sh, l->split, err);
      } else if (up->stage != l->stage) {
        s = shuffle_for(p, l->main_in[j], false, NULL, up->id, &sh, err);
        if (s == BEAM_OK) s = add_collector(p, BEAM_LOCAL_COLLECT_SPOOL, l->main_in[j], up->stage, sh, err);
        if (s == BEAM_OK)
          s = add_source(p, &plan->stages[l->stage], l->stage, BEAM_LOCAL_SOURCE_MATERIALIZED, l->main_in[j], sh,
                         l->split, err);
      }
      if (s != BEAM_OK) return s;
    }
    for (size_t j = 0; j < l->n_side; j++) {
      size_t u = producer(p, l->side_in[j]);
      if (u == p->n) continue;
      if (p->leaves[u].gbk)
        return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                              "%s: a side input read straight from GroupByKey \"%s\" is not supported by the local "
                              "runner (add a ParDo between them)", l->id, p->leaves[u].id);
      size_t item = plan->n_side_ids;
      for (size_t k = 0; k < plan->n_side_ids; k++)
        if (strcmp(plan->side_ids[k], l->side_in[j]) == 0) item = k;
      beam_status s = BEAM_OK;
      if (item == plan->n_side_ids) {
        s = grow(plan, (void **)&plan->side_ids, plan->n_side_ids, sizeof *plan->side_ids, err);
        if (s == BEAM_OK) plan->side_ids[plan->n_side_ids++] = l->side_in[j];
      }
      if (s == BEAM_OK) s = add_collector(p, BEAM_LOCAL_COLLECT_SIDE, l->side_in[j], p->leaves[u].stage, item, err);
      if (s != BEAM_OK) return s;
    }
  }
  return BEAM_OK;
}

beam_status beam_local_plan_build(const PIPE(Components) *components, const char *const *leaves, size_t n,
                                  beam_local_plan *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  planner p = {.c = components, .plan = out, .n = n};
  p.leaves = calloc(n + 1, sizeof *p.leaves);
  p.parent = calloc(n + 1, sizeof *p.parent);
  beam_status s = p.leaves && p.parent ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    p.parent[i] = i;
    p.leaves[i].id = leaves[i];
    p.leaves[i].t = beam_proto_find_transform(components, leaves[i]);
    if (!p.leaves[i].t) s = beam_error_set(err, BEAM_ERR_NOT_FOUND, "transform \"%s\" not in the components", leaves[i]);
    else s = read_leaf(&p, &p.leaves[i], err);
  }
  if (s == BEAM_OK) s = assign_levels(&p, err);
  if (s == BEAM_OK) form_stages(&p);
  if (s == BEAM_OK) s = build_stages(&p, err);
  free(p.leaves);
  free(p.parent);
  if (s != BEAM_OK) beam_local_plan_free(out);
  return s;
}

void beam_local_plan_free(beam_local_plan *plan) {
  for (size_t i = 0; i < plan->n_stages; i++) free(plan->stages[i].sources);
  free(plan->stages);
  free(plan->collectors);
  free(plan->shuffles);
  free(plan->side_ids);
  beam_arena_free(&plan->arena);
  memset(plan, 0, sizeof *plan);
}
