/* ProcessBundle, progress and split: a bundle is a graph fed by its data sources from the
 * data channel, reading side inputs and user state over the state channel
 * (worker_state_access.c), sending outputs back through its data sinks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/log.h"
#include "exec_data.h"
#include "exec_sdf.h"
#include "worker_internal.h"

typedef beam_worker_bundle_ctx bundle_ctx;

static beam_status send_data(void *self, const char *transform_id, const uint8_t *data, size_t len, bool is_last,
                             beam_error *err) {
  bundle_ctx *b = self;
  return beam_data_channel_send(b->data, b->instruction_id, transform_id, data, len, is_last, err);
}

static beam_exec_node *find_source(beam_exec_graph *g, const char *transform_id) {
  for (size_t i = 0; i < g->n_roots; i++)
    if (beam_exec_is_data_source(g->roots[i]) && strcmp(g->roots[i]->transform_id, transform_id) == 0)
      return g->roots[i];
  return NULL;
}

/* Feeds every data source until each has seen is_last, then finishes the graph. */
static beam_status run_bundle(bundle_ctx *b, beam_exec_graph *g, beam_error *err) {
  beam_data_inbox *inbox = b->data ? beam_data_channel_inbox(b->data, b->instruction_id) : NULL;
  if (b->data && !inbox) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t open_sources = 0;
  for (size_t i = 0; i < g->n_roots; i++) open_sources += beam_exec_is_data_source(g->roots[i]);
  /* What DoFns see as the bundle id (sinks key their idempotent commits on it). */
  char bundle_id[512];
  snprintf(bundle_id, sizeof bundle_id, "%s/%s/%s", b->w->id, b->instruction_id, b->w->bundle_id_nonce);
  beam_status s = beam_exec_graph_start(g, bundle_id, err);
  while (s == BEAM_OK && open_sources > 0) {
    beam_data_chunk chunk = {0};
    s = beam_data_inbox_next(inbox, &chunk, 0, err);
    if (s != BEAM_OK) break;
    beam_exec_node *src = find_source(g, chunk.transform_id);
    if (!src) s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "data for unknown transform %s", chunk.transform_id);
    else s = beam_exec_data_source_feed(src, chunk.data, chunk.len, chunk.is_last, err);
    if (s == BEAM_OK && chunk.is_last) open_sources--;
    beam_data_chunk_free(&chunk);
  }
  if (s == BEAM_OK) s = beam_exec_graph_finish(g, err);
  g->bundle_id = NULL; /* bundle_id is on this stack */
  if (inbox) beam_data_channel_release(b->data, inbox);
  return s;
}

#define FILL_MONITORING(resp_field, n_field, entry_type, entry_init, report, a)            \
  do {                                                                                       \
    resp_field = beam_arena_calloc(a, (report)->n + 1, sizeof *(resp_field));                \
    entry_type *entries_ = beam_arena_calloc(a, (report)->n + 1, sizeof *entries_);          \
    if (!(resp_field) || !entries_) break;                                                   \
    for (size_t i_ = 0; i_ < (report)->n; i_++) {                                            \
      entries_[i_] = (entry_type)entry_init;                                                 \
      entries_[i_].key = (char *)(report)->short_ids[i_];                                    \
      entries_[i_].value = (report)->infos[i_]->payload;                                     \
      (resp_field)[i_] = &entries_[i_];                                                      \
    }                                                                                        \
    n_field = (report)->n;                                                                   \
  } while (0)

static void set_error(FN(InstructionResponse) *resp, beam_arena *a, const beam_error *err) {
  resp->error = beam_arena_strdup(a, err->message[0] ? err->message : beam_status_name(err->code));
  if (!resp->error) resp->error = "bundle failed (out of memory describing the error)";
}

void beam_worker_process_bundle(beam_worker *w, const FN(InstructionRequest) *req, FN(InstructionResponse) *resp,
                                beam_arena *a) {
  const FN(ProcessBundleRequest) *pb = req->process_bundle;
  beam_error err = {0};
  bundle_ctx b = {w, req->instruction_id, NULL, NULL, NULL};
  beam_exec_graph *g = NULL;
  beam_worker_bundle active = {req->instruction_id, NULL, NULL};
  beam_worker_log_set_instruction(req->instruction_id);
  beam_status s = beam_worker_descriptor_get(w, pb->process_bundle_descriptor_id, &b.d, &err);
  if (s == BEAM_OK && b.d->data_endpoint) s = beam_worker_data_channel(w, b.d->data_endpoint, &b.data, &err);
  if (s == BEAM_OK) s = beam_worker_graph_take(w, b.d, &g, &err);
  if (s == BEAM_OK) {
    g->data_out = (beam_data_port){send_data, &b};
    b.g = g;
    beam_worker_attach_state(&b);
    for (size_t i = 0; i < g->n_roots; i++)
      if (beam_exec_is_data_source(g->roots[i])) beam_exec_data_source_rearm(g->roots[i]);
    active.graph = g;
    pthread_mutex_lock(&w->lock);
    active.next = w->bundles;
    w->bundles = &active;
    pthread_mutex_unlock(&w->lock);
    s = run_bundle(&b, g, &err);
  }
  FN(ProcessBundleResponse) *out = beam_arena_alloc(a, sizeof *out);
  beam_metric_report report = {0};
  if (out) *out = (FN(ProcessBundleResponse))FN_INIT(PROCESS_BUNDLE_RESPONSE);
  if (s == BEAM_OK && out) s = beam_metric_report_graph(w->metric_ids, g, true, &report, &err);
  if (s == BEAM_OK && out) {
    FILL_MONITORING(out->monitoring_data, out->n_monitoring_data, FN(ProcessBundleResponse__MonitoringDataEntry),
                    FN_INIT(PROCESS_BUNDLE_RESPONSE__MONITORING_DATA_ENTRY), &report, a);
    if (!w->runner_short_ids) {
      out->monitoring_infos = beam_arena_calloc(a, report.n + 1, sizeof *out->monitoring_infos);
      for (size_t i = 0; out->monitoring_infos && i < report.n; i++)
        out->monitoring_infos[out->n_monitoring_infos++] = beam_arena_alloc(a, sizeof **out->monitoring_infos);
      for (size_t i = 0; i < out->n_monitoring_infos; i++)
        if (out->monitoring_infos[i]) *out->monitoring_infos[i] = *report.infos[i];
    }
    /* The response outlives the report's arena: copy the payload bytes over. */
    for (size_t i = 0; i < out->n_monitoring_data; i++) {
      uint8_t *p = beam_arena_alloc(a, out->monitoring_data[i]->value.len + 1);
      if (p) memcpy(p, out->monitoring_data[i]->value.data, out->monitoring_data[i]->value.len);
      out->monitoring_data[i]->value.data = p;
      if (i < out->n_monitoring_infos && out->monitoring_infos[i]) out->monitoring_infos[i]->payload.data = p;
    }
    resp->response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_PROCESS_BUNDLE);
    resp->process_bundle = out;
  } else if (s == BEAM_OK) {
    s = beam_error_set(&err, BEAM_ERR_NOMEM, "out of memory");
  }
  beam_metric_report_free(&report);
  if (active.graph) {
    pthread_mutex_lock(&w->lock);
    for (beam_worker_bundle **p = &w->bundles; *p; p = &(*p)->next)
      if (*p == &active) {
        *p = active.next;
        break;
      }
    if (s == BEAM_OK) w->bundles_done++;
    else w->bundles_failed++;
    if (w->first_bundle_ms == 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      w->first_bundle_ms = (double)(now.tv_sec - w->started.tv_sec) * 1e3 + (double)(now.tv_nsec - w->started.tv_nsec) / 1e6;
    }
    pthread_mutex_unlock(&w->lock);
    beam_worker_print_stats(w);
  }
  if (g) beam_worker_graph_return(w, b.d, g, s == BEAM_OK);
  if (s != BEAM_OK) {
    beam_worker_log_write(w->log, BEAM_LOG_ERROR, req->instruction_id, NULL, "bundle failed: %s", err.message);
    set_error(resp, a, &err);
  }
  beam_worker_log_set_instruction(NULL);
}

static beam_worker_bundle *find_bundle(beam_worker *w, const char *instruction_id) {
  for (beam_worker_bundle *b = w->bundles; b; b = b->next)
    if (strcmp(b->instruction_id, instruction_id) == 0) return b;
  return NULL;
}

void beam_worker_progress(beam_worker *w, const FN(ProcessBundleProgressRequest) *req, FN(InstructionResponse) *resp,
                          beam_arena *a) {
  beam_error err = {0};
  FN(ProcessBundleProgressResponse) *out = beam_arena_alloc(a, sizeof *out);
  if (!out) return (void)(resp->error = "out of memory");
  *out = (FN(ProcessBundleProgressResponse))FN_INIT(PROCESS_BUNDLE_PROGRESS_RESPONSE);
  beam_metric_report report = {0};
  pthread_mutex_lock(&w->lock);
  beam_worker_bundle *b = find_bundle(w, req->instruction_id);
  /* A bundle that already finished (or not started) has no progress: an empty answer. */
  beam_status s = b ? beam_metric_report_graph(w->metric_ids, b->graph, false, &report, &err) : BEAM_OK;
  pthread_mutex_unlock(&w->lock);
  if (s == BEAM_OK) {
    FILL_MONITORING(out->monitoring_data, out->n_monitoring_data,
                    FN(ProcessBundleProgressResponse__MonitoringDataEntry),
                    FN_INIT(PROCESS_BUNDLE_PROGRESS_RESPONSE__MONITORING_DATA_ENTRY), &report, a);
    for (size_t i = 0; i < out->n_monitoring_data; i++) {
      uint8_t *p = beam_arena_alloc(a, out->monitoring_data[i]->value.len + 1);
      if (p) memcpy(p, out->monitoring_data[i]->value.data, out->monitoring_data[i]->value.len);
      out->monitoring_data[i]->value.data = p;
    }
    resp->response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_PROCESS_BUNDLE_PROGRESS);
    resp->process_bundle_progress = out;
  } else {
    set_error(resp, a, &err);
  }
  beam_metric_report_free(&report);
}

void beam_worker_split(beam_worker *w, const FN(ProcessBundleSplitRequest) *req, FN(InstructionResponse) *resp,
                       beam_arena *a) {
  FN(ProcessBundleSplitResponse) *out = beam_arena_alloc(a, sizeof *out);
  FN(ProcessBundleSplitResponse__ChannelSplit) *splits = beam_arena_calloc(a, req->n_desired_splits + 1, sizeof *splits);
  FN(ProcessBundleSplitResponse__ChannelSplit) **list = beam_arena_calloc(a, req->n_desired_splits + 1, sizeof *list);
  if (!out || !splits || !list) return (void)(resp->error = "out of memory");
  *out = (FN(ProcessBundleSplitResponse))FN_INIT(PROCESS_BUNDLE_SPLIT_RESPONSE);
  out->channel_splits = list;
  out->primary_roots = beam_arena_calloc(a, req->n_desired_splits + 1, sizeof *out->primary_roots);
  out->residual_roots = beam_arena_calloc(a, req->n_desired_splits + 1, sizeof *out->residual_roots);
  if (!out->primary_roots || !out->residual_roots) return (void)(resp->error = "out of memory");
  beam_error err = {0};
  beam_status s = BEAM_OK;
  pthread_mutex_lock(&w->lock);
  beam_worker_bundle *b = find_bundle(w, req->instruction_id);
  if (b && b->graph->unsplittable) b = NULL;
  for (size_t i = 0; b && s == BEAM_OK && i < req->n_desired_splits; i++) {
    const FN(ProcessBundleSplitRequest__DesiredSplit) *want = req->desired_splits[i]->value;
    beam_exec_node *src = want ? find_source(b->graph, req->desired_splits[i]->key) : NULL;
    if (!src) continue;
    FN(ProcessBundleSplitResponse__ChannelSplit) *cs = &splits[out->n_channel_splits];
    *cs = (FN(ProcessBundleSplitResponse__ChannelSplit))FN_INIT(PROCESS_BUNDLE_SPLIT_RESPONSE__CHANNEL_SPLIT);
    int64_t at = 0;
    bool split = false;
    if (beam_exec_sdf_process_fed_by(src)) {
      /* A splittable ParDo reads this source: its element in progress can be split too. */
      s = beam_worker_sdf_split(src, want, out, cs, &split, a, &err);
    } else if (beam_exec_data_source_split(src, want->fraction_of_remainder, want->estimated_input_elements,
                                           want->allowed_split_points, want->n_allowed_split_points, &at)) {
      cs->last_primary_element = at - 1;
      cs->first_residual_element = at;
      split = true;
    }
    if (!split) continue;
    cs->transform_id = beam_arena_strdup(a, src->transform_id);
    out->channel_splits[out->n_channel_splits++] = cs;
  }
  pthread_mutex_unlock(&w->lock);
  if (s != BEAM_OK) {
    set_error(resp, a, &err);
    return;
  }
  /* No split possible (finished, unknown bundle, nothing unread): an empty response. */
  resp->response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_PROCESS_BUNDLE_SPLIT);
  resp->process_bundle_split = out;
}
