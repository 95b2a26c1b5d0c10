/* One stage of a local run on the worker threads (see local_stage_run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "exec_nodes.h"
#include "local_collect.h"
#include "local_pool.h"
#include "local_stage_run.h"
#include "local_stream.h"
#include "proto_lookup.h"

/* Bundles of a stage input: about 1/64 of it (so up to 16 threads get 4 each), at least
 * 1 MiB (a sink commit per bundle has a cost) and at most 1/64 of the memory budget (a
 * bundle decoded takes several times its encoded size, on every thread at once). The sizes
 * depend on the data and the budget only, never on --parallelism, so every N cuts the same
 * bundles. */
enum { BUNDLES_PER_INPUT = 64, MIN_BUNDLE_BYTES = 1 << 20, MIN_WRITER_BUDGET = 4096 };

/* One thread's copy of the stage. */
typedef struct instance {
  beam_exec_graph *g;
  beam_exec_output *inputs;    /* per source: the graph's consumers of its PCollection */
  beam_exec_node **collectors;
  size_t n_collectors;
  beam_exec_node **impulses;
  size_t n_impulses;
  beam_arena arena;            /* decoded input of one bundle */
  beam_buf chunk;              /* encoded input of one bundle */
  beam_stream_batch batch;     /* streaming: the bundle's elements, until acknowledged */
} instance;

typedef struct stage_exec {
  beam_local_run *run;
  const beam_local_stage *st;
  size_t index;
  instance *inst;
  size_t n_inst;
  beam_shuffle_reader **readers; /* per source */
  size_t *target_bytes, *max_items;
  bool has_impulse;
  atomic_bool impulse_claimed;
  size_t writer_budget;
  pthread_mutex_t build_mu;      /* instances are built one at a time */
  beam_local_stream *stream;     /* streaming mode: the source feeding the stage, else NULL */
} stage_exec;

int64_t beam_local_run_memory(const beam_local_run *run) {
  int64_t sum = 0;
  for (size_t i = 0; i < run->plan.n_shuffles; i++)
    if (run->shuffles[i]) sum += beam_shuffle_memory_bytes(run->shuffles[i]);
  return sum;
}

/* Whether local_name is a main input of t (not one its ParDoPayload names as a side input). */
static bool is_main_input(const PIPE(PTransform) *t, const char *local_name) {
  if (!t->spec || strcmp(t->spec->urn, BEAM_URN_PARDO) != 0) return true;
  PIPE(ParDoPayload) *p = PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  bool side = false;
  for (size_t i = 0; p && i < p->n_side_inputs; i++)
    if (strcmp(p->side_inputs[i]->key, local_name) == 0) side = true;
  if (p) PIPE_FN(par_do_payload__free_unpacked)(p, NULL);
  return !side;
}

static bool add_consumer(beam_exec_graph *g, beam_exec_output *out, beam_exec_node *node) {
  beam_exec_node **grown = beam_arena_alloc(&g->arena, (out->n_consumers + 1) * sizeof *grown);
  if (!grown) return false;
  if (out->n_consumers) memcpy(grown, out->consumers, out->n_consumers * sizeof *grown);
  grown[out->n_consumers++] = node;
  out->consumers = grown;
  return true;
}

/* Wires the stage's sources to their consumers, and checks every other root is an Impulse. */
static beam_status wire_inputs(stage_exec *se, instance *in, beam_error *err) {
  beam_exec_graph *g = in->g;
  const beam_local_stage *st = se->st;
  in->inputs = beam_arena_calloc(&g->arena, st->n_sources + 1, sizeof *in->inputs);
  in->impulses = beam_arena_calloc(&g->arena, g->n_roots + 1, sizeof *in->impulses);
  if (!in->inputs || !in->impulses) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t k = 0; k < st->n_sources; k++) in->inputs[k].pcollection_id = st->sources[k].pcollection_id;
  for (size_t i = 0; i < g->n_nodes; i++) {
    beam_exec_node *n = g->nodes[i];
    const PIPE(PTransform) *t = beam_proto_find_transform(g->components, n->transform_id);
    for (size_t j = 0; t && j < t->n_inputs; j++)
      for (size_t k = 0; k < st->n_sources; k++)
        if (strcmp(t->inputs[j]->value, st->sources[k].pcollection_id) == 0 && is_main_input(t, t->inputs[j]->key) &&
            !add_consumer(g, &in->inputs[k], n))
          return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < g->n_roots; i++) {
    beam_exec_node *root = g->roots[i];
    if (strcmp(root->ops->kind, "impulse") == 0) {
      in->impulses[in->n_impulses++] = root;
      continue;
    }
    bool fed = false;
    for (size_t k = 0; k < st->n_sources; k++)
      for (size_t c = 0; c < in->inputs[k].n_consumers; c++) fed |= in->inputs[k].consumers[c] == root;
    if (!fed)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "transform \"%s\" has no input in the pipeline", root->transform_id);
  }
  return BEAM_OK;
}

/* Adds the collectors of this stage's outputs (shuffle writers get budget bytes each). */
static beam_status attach_collectors(stage_exec *se, instance *in, size_t budget, beam_error *err) {
  beam_local_run *run = se->run;
  const beam_local_plan *plan = &run->plan;
  in->collectors = calloc(plan->n_collectors + 1, sizeof *in->collectors);
  if (!in->collectors) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < plan->n_collectors; i++) {
    const beam_local_collector *c = &plan->collectors[i];
    if (c->stage != se->index) continue;
    beam_exec_output *out = beam_exec_graph_output_of(in->g, c->pcollection_id);
    if (!out)
      return beam_error_set(err, BEAM_ERR_INTERNAL, "stage %zu does not produce PCollection %s", se->index,
                            c->pcollection_id);
    beam_shuffle_writer *w = NULL;
    beam_status s = BEAM_OK;
    if (c->kind != BEAM_LOCAL_COLLECT_SIDE) s = beam_shuffle_writer_new(run->shuffles[c->target], budget, &w, err);
    beam_exec_node *node = NULL;
    if (s == BEAM_OK) s = beam_local_collect_new(in->g, c->kind, c->pcollection_id, w, run->side, c->target, &node, err);
    if (s != BEAM_OK) {
      beam_shuffle_writer_discard(w);
      return s;
    }
    in->collectors[in->n_collectors++] = node;
    if (!add_consumer(in->g, out, node)) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

static size_t writers_per_instance(const stage_exec *se) {
  size_t n = 0;
  for (size_t i = 0; i < se->run->plan.n_collectors; i++)
    n += se->run->plan.collectors[i].stage == se->index && se->run->plan.collectors[i].kind != BEAM_LOCAL_COLLECT_SIDE;
  return n;
}

static beam_status build_instance(stage_exec *se, instance *in, beam_error *err) {
  beam_local_run *run = se->run;
  beam_status s = beam_exec_graph_build(run->components, se->st->ids, se->st->n_ids, run->options, &in->g, err);
  if (s != BEAM_OK) return s;
  in->g->side_inputs = beam_local_side_source(run->side);
  in->g->side_inputs_deferred = false; /* side inputs come from earlier stages: complete */
  in->g->user_state = run->user_state;
  in->arena.block_size = 1 << 16;
  s = wire_inputs(se, in, err);
  if (s == BEAM_OK) s = attach_collectors(se, in, se->writer_budget, err);
  return s;
}

static void free_instance(instance *in) {
  for (size_t i = 0; i < in->n_collectors; i++) {
    beam_shuffle_writer_discard(beam_local_collect_writer(in->collectors[i]));
    beam_local_collect_free(in->collectors[i]);
  }
  free(in->collectors);
  beam_exec_graph_free(in->g);
  beam_arena_free(&in->arena);
  beam_buf_free(&in->chunk);
  memset(in, 0, sizeof *in);
}

/* Sums a finished bundle's counters into the run's. */
static beam_status add_counters(beam_local_run *run, const beam_exec_graph *g, beam_error *err) {
  beam_status s = BEAM_OK;
  pthread_mutex_lock(&run->counters_mu);
  for (size_t i = 0; s == BEAM_OK && i < g->n_counters; i++) {
    const beam_exec_counter *c = &g->counters[i];
    size_t j = 0;
    while (j < run->n_counters &&
           (strcmp(run->counters[j].transform_id, c->transform_id) != 0 || strcmp(run->counters[j].name, c->name) != 0))
      j++;
    if (j == run->n_counters) {
      if (run->n_counters == run->cap_counters) {
        size_t cap = run->cap_counters ? run->cap_counters * 2 : 16;
        beam_counter_result *grown = realloc(run->counters, cap * sizeof *grown);
        if (!grown) {
          s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
          break;
        }
        run->counters = grown;
        run->cap_counters = cap;
      }
      beam_counter_result *r = &run->counters[run->n_counters];
      *r = (beam_counter_result){strdup(c->transform_id), strdup(c->name), 0};
      if (!r->transform_id || !r->name) {
        free(r->transform_id), free(r->name);
        s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
        break;
      }
      run->n_counters++;
    }
    run->counters[j].value += c->value;
  }
  pthread_mutex_unlock(&run->counters_mu);
  return s;
}

/* Takes the next bundle: the Impulses (once), else a chunk of the first source not drained. */
static beam_status claim(stage_exec *se, instance *in, ptrdiff_t *source, bool *impulse, beam_error *err) {
  *impulse = false;
  *source = -1;
  if (se->stream) {
    bool more = false;
    beam_status s = beam_local_stream_next(se->stream, &in->batch, &more, err);
    if (s == BEAM_OK && more) *source = 0;
    if (s != BEAM_OK) beam_local_stream_fail(se->stream, &in->batch); /* the other threads stop too */
    return s;
  }
  if (se->has_impulse && !atomic_exchange(&se->impulse_claimed, true)) {
    *impulse = true;
    return BEAM_OK;
  }
  for (size_t k = 0; k < se->st->n_sources; k++) {
    beam_buf_reset(&in->chunk);
    size_t n = 0;
    beam_status s = beam_shuffle_reader_next(se->readers[k], &in->chunk, se->target_bytes[k], se->max_items[k], &n, err);
    if (s != BEAM_OK) return s;
    if (n) {
      *source = (ptrdiff_t)k;
      return BEAM_OK;
    }
  }
  return BEAM_OK;
}

/* Feeds a bundle's input: a chunk of a shuffle, or a streamed batch. */
static beam_status feed(stage_exec *se, instance *in, ptrdiff_t source, beam_error *err) {
  const beam_local_source *src = &se->st->sources[source];
  if (src->kind == BEAM_LOCAL_SOURCE_STREAM) {
    beam_coder *coder = NULL;
    const PIPE(PCollection) *pc = beam_proto_find_pcollection(in->g->components, src->pcollection_id);
    beam_status s = pc ? beam_exec_graph_coder(in->g, pc->coder_id, &coder, err)
                       : beam_error_set(err, BEAM_ERR_NOT_FOUND, "PCollection %s is not in the components",
                                        src->pcollection_id);
    return s == BEAM_OK ? beam_local_stream_feed(&in->batch, coder, &in->arena, &in->inputs[source], err) : s;
  }
  return beam_local_feed(in->g, se->run->plan.shuffles[src->shuffle].input_pcollection,
                         src->kind == BEAM_LOCAL_SOURCE_GROUPED, &in->chunk, &in->arena, &in->inputs[source], err);
}

/* One attempt of a bundle on the thread's graph: start, the Impulses or the input, finish. */
static beam_status run_bundle_once(stage_exec *se, instance *in, ptrdiff_t source, bool impulse, beam_error *err) {
  beam_local_run *run = se->run;
  char bundle_id[160];
  snprintf(bundle_id, sizeof bundle_id, "%s-%zu-%zu", run->run_id, se->index, atomic_fetch_add(&run->bundles, 1));
  beam_arena_reset(&in->arena);
  beam_status s = beam_exec_graph_start(in->g, bundle_id, err);
  for (size_t i = 0; s == BEAM_OK && impulse && i < in->n_impulses; i++)
    s = in->impulses[i]->ops->process(in->impulses[i], NULL, err);
  if (s == BEAM_OK && !impulse) s = feed(se, in, source, err);
  if (s == BEAM_OK) s = beam_exec_graph_finish(in->g, err);
  if (s == BEAM_OK) s = add_counters(run, in->g, err);
  return s;
}

/* Streaming: a batch's bundle is tried until it finishes, on a graph built anew after each
 * failure (its DoFns torn down, as a runner does with a failed bundle's), then acknowledged;
 * a stop during the retries gives the batch back and fails the run with the last error. */
static beam_status stream_attempts(stage_exec *se, instance *in, beam_error *err) {
  for (int attempt = 0;; attempt++) {
    beam_status s = run_bundle_once(se, in, 0, false, err);
    if (s == BEAM_OK) return beam_local_stream_ack(se->stream, &in->batch, err);
    if (!beam_local_stream_retry(se->stream, &in->batch, attempt, err)) return s;
    beam_stream_batch kept = in->batch;
    free_instance(in);
    in->batch = kept;
    pthread_mutex_lock(&se->build_mu);
    s = build_instance(se, in, err);
    pthread_mutex_unlock(&se->build_mu);
    if (s != BEAM_OK) return s;
  }
}

/* A failure ends the run: the batch, if still held, goes back, and the other threads stop
 * waiting for elements (they would otherwise pull until a signal or max_idle_s). */
static beam_status run_stream_bundle(stage_exec *se, instance *in, beam_status built, beam_error *err) {
  beam_status s = built == BEAM_OK ? stream_attempts(se, in, err) : built;
  if (s != BEAM_OK) beam_local_stream_fail(se->stream, &in->batch);
  return s;
}

static beam_status run_bundle(void *ctx, size_t worker, bool *more, beam_error *err) {
  stage_exec *se = ctx;
  instance *in = &se->inst[worker];
  if (se->stream && !in->g) {
    /* A streaming thread sets up before it pulls: its setup (a sink loading a large ledger
     * takes seconds) then delays no pulled message and eats no lease time. */
    pthread_mutex_lock(&se->build_mu);
    beam_status built = build_instance(se, in, err);
    pthread_mutex_unlock(&se->build_mu);
    if (built != BEAM_OK) {
      beam_local_stream_fail(se->stream, &in->batch); /* the other threads stop too */
      return built;
    }
  }
  ptrdiff_t source;
  bool impulse;
  beam_status s = claim(se, in, &source, &impulse, err);
  if (s != BEAM_OK) return s;
  if (!impulse && source < 0) {
    *more = false;
    return BEAM_OK;
  }
  if (!in->g) {
    /* Built on a thread's first bundle: a thread with nothing to do sets nothing up (no
     * DoFn setup, no sink connection). */
    pthread_mutex_lock(&se->build_mu);
    s = build_instance(se, in, err);
    pthread_mutex_unlock(&se->build_mu);
    if (s != BEAM_OK && !se->stream) return s;
  }
  return se->stream ? run_stream_bundle(se, in, s, err) : run_bundle_once(se, in, source, impulse, err);
}

static beam_status open_readers(stage_exec *se, beam_error *err) {
  const beam_local_stage *st = se->st;
  size_t n = st->n_sources;
  se->readers = calloc(n + 1, sizeof *se->readers);
  se->target_bytes = calloc(n + 1, sizeof *se->target_bytes);
  se->max_items = calloc(n + 1, sizeof *se->max_items);
  if (!se->readers || !se->target_bytes || !se->max_items) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  int64_t budget = se->run->opts.memory_budget;
  for (size_t k = 0; k < n && !se->stream; k++) {
    beam_shuffle *sh = se->run->shuffles[st->sources[k].shuffle];
    size_t target = (size_t)(beam_shuffle_bytes(sh) / BUNDLES_PER_INPUT);
    size_t cap = (size_t)(budget / 64);
    if (target < MIN_BUNDLE_BYTES) target = MIN_BUNDLE_BYTES;
    if (target > cap) target = cap > 1024 ? cap : 1024;
    se->target_bytes[k] = target;
    se->max_items[k] = st->sources[k].one_per_bundle ? 1 : SIZE_MAX;
    beam_status s = beam_shuffle_reader_open(sh, (size_t)(budget / 4) / n, &se->readers[k], err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

/* Hands the writers' rests to their shuffles: kept in memory while the shuffles together
 * stay within half the budget, else spilled. */
static beam_status close_writers(stage_exec *se, beam_error *err) {
  beam_local_run *run = se->run;
  int64_t pending = 0;
  for (size_t i = 0; i < se->n_inst; i++)
    for (size_t c = 0; c < se->inst[i].n_collectors; c++) {
      beam_shuffle_writer *w = beam_local_collect_writer(se->inst[i].collectors[c]);
      if (w) pending += (int64_t)beam_shuffle_writer_pending(w);
    }
  bool keep = beam_local_run_memory(run) + pending <= run->opts.memory_budget / 2;
  beam_status s = BEAM_OK;
  for (size_t i = 0; i < se->n_inst; i++)
    for (size_t c = 0; c < se->inst[i].n_collectors; c++) {
      beam_shuffle_writer *w = beam_local_collect_writer(se->inst[i].collectors[c]);
      if (w && s == BEAM_OK) s = beam_shuffle_writer_close(w, keep, err);
      else if (w) beam_shuffle_writer_discard(w);
      beam_local_collect_free(se->inst[i].collectors[c]);
    }
  for (size_t i = 0; i < se->n_inst; i++) se->inst[i].n_collectors = 0;
  return s;
}

beam_status beam_local_stage_run(beam_local_run *run, size_t index, beam_local_stream *stream, beam_error *err) {
  stage_exec se = {.run = run, .st = &run->plan.stages[index], .index = index, .stream = stream};
  atomic_init(&se.impulse_claimed, false);
  pthread_mutex_init(&se.build_mu, NULL);
  for (size_t i = 0; i < se.st->n_ids; i++) {
    const PIPE(PTransform) *t = beam_proto_find_transform(run->components, se.st->ids[i]);
    if (t && t->spec && strcmp(t->spec->urn, BEAM_URN_IMPULSE) == 0) se.has_impulse = true;
  }
  size_t n_inst = run->opts.parallelism;
  se.inst = calloc(n_inst, sizeof *se.inst);
  if (!se.inst) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  se.n_inst = n_inst;
  /* Half the budget buffers shuffles, shared by every writer of every thread. */
  size_t writers = writers_per_instance(&se) * n_inst;
  se.writer_budget = writers ? (size_t)(run->opts.memory_budget / 2) / writers : 0;
  if (se.writer_budget < MIN_WRITER_BUDGET) se.writer_budget = MIN_WRITER_BUDGET;
  /* The first instance is built here: a graph that cannot be built fails the run before any
   * thread starts. A stateful ParDo reads and writes its keys' state across bundles, so its
   * stage runs on one thread. */
  beam_status s = build_instance(&se, &se.inst[0], err);
  if (s == BEAM_OK && se.inst[0].g->unsplittable) se.n_inst = 1;
  if (s == BEAM_OK) s = open_readers(&se, err);
  if (s == BEAM_OK) s = beam_pool_run(se.n_inst, run_bundle, &se, err);
  if (s == BEAM_OK) s = close_writers(&se, err);
  for (size_t k = 0; se.readers && k < se.st->n_sources; k++) beam_shuffle_reader_free(se.readers[k]);
  free(se.readers);
  free(se.target_bytes);
  free(se.max_items);
  for (size_t i = 0; i < n_inst; i++) free_instance(&se.inst[i]);
  free(se.inst);
  pthread_mutex_destroy(&se.build_mu);
  return s;
}
