/* Monitoring infos and their short ids (see worker_metrics.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/dofn.h"
#include "beam/coder.h"
#include "exec_data.h"
#include "worker_metrics.h"

typedef struct metric_id {
  char *key;                 /* urn, type and labels, one per line: what identifies the metric */
  char short_id[24];
  PIPE(MonitoringInfo) info; /* without payload, for metadata requests */
  PIPE(MonitoringInfo__LabelsEntry) labels[3];
  PIPE(MonitoringInfo__LabelsEntry) *label_ptrs[3];
} metric_id;

struct beam_metric_ids {
  pthread_mutex_t lock;
  metric_id **items;
  size_t n, cap;
};

beam_metric_ids *beam_metric_ids_new(void) {
  beam_metric_ids *ids = calloc(1, sizeof *ids);
  if (ids) pthread_mutex_init(&ids->lock, NULL);
  return ids;
}

void beam_metric_ids_free(beam_metric_ids *ids) {
  if (!ids) return;
  for (size_t i = 0; i < ids->n; i++) free(ids->items[i]->key), free(ids->items[i]);
  free(ids->items);
  pthread_mutex_destroy(&ids->lock);
  free(ids);
}

/* The metric's short id, registered on first use. key holds urn, type and label values; the
 * registered info points into it, so it lives as long as the registry. */
static metric_id *lookup(beam_metric_ids *ids, const char *urn, const char *const *labels, size_t n_labels) {
  char key[1024];
  int len = snprintf(key, sizeof key, "%s\n%s", urn, BEAM_METRIC_TYPE_SUM_INT64);
  for (size_t i = 0; i < n_labels && len > 0 && (size_t)len < sizeof key; i++)
    len += snprintf(key + len, sizeof key - (size_t)len, "\n%s\n%s", labels[2 * i], labels[2 * i + 1]);
  if (len <= 0 || (size_t)len >= sizeof key) return NULL;
  pthread_mutex_lock(&ids->lock);
  metric_id *m = NULL;
  for (size_t i = 0; i < ids->n && !m; i++)
    if (strcmp(ids->items[i]->key, key) == 0) m = ids->items[i];
  if (!m && ids->n == ids->cap) {
    size_t cap = ids->cap ? ids->cap * 2 : 64;
    metric_id **grown = realloc(ids->items, cap * sizeof *grown);
    if (grown) ids->items = grown, ids->cap = cap;
  }
  if (!m && ids->n < ids->cap && (m = calloc(1, sizeof *m)) && (m->key = strdup(key))) {
    snprintf(m->short_id, sizeof m->short_id, "c%zu", ids->n + 1);
    /* Point the info's strings into the key: split it at its newlines. */
    char *parts[8] = {0};
    size_t n_parts = 0;
    for (char *p = m->key, *nl; n_parts < 8; p = nl + 1) {
      parts[n_parts++] = p;
      if (!(nl = strchr(p, '\n'))) break;
      *nl = '\0';
    }
    m->info = (PIPE(MonitoringInfo))PIPE_INIT(MONITORING_INFO);
    m->info.urn = parts[0];
    m->info.type = parts[1];
    for (size_t i = 0; i < n_labels; i++) {
      m->labels[i] = (PIPE(MonitoringInfo__LabelsEntry))PIPE_INIT(MONITORING_INFO__LABELS_ENTRY);
      m->labels[i].key = parts[2 + 2 * i];
      m->labels[i].value = parts[3 + 2 * i];
      m->label_ptrs[i] = &m->labels[i];
    }
    m->info.n_labels = n_labels;
    m->info.labels = m->label_ptrs;
    ids->items[ids->n++] = m;
  } else if (m && !m->key) {
    free(m);
    m = NULL;
  }
  pthread_mutex_unlock(&ids->lock);
  return m;
}

static beam_status add_sum(beam_metric_ids *ids, beam_metric_report *r, const char *urn, int64_t value,
                           const char *const *labels, size_t n_labels, beam_error *err) {
  metric_id *m = lookup(ids, urn, labels, n_labels);
  if (!m) return beam_error_set(err, BEAM_ERR_NOMEM, "cannot register metric %s", urn);
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 32;
    const char **ids_grown = beam_arena_alloc(&r->arena, cap * sizeof *ids_grown);
    PIPE(MonitoringInfo) **infos_grown = beam_arena_alloc(&r->arena, cap * sizeof *infos_grown);
    if (!ids_grown || !infos_grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (r->n) memcpy(ids_grown, r->short_ids, r->n * sizeof *ids_grown), memcpy(infos_grown, r->infos, r->n * sizeof *infos_grown);
    r->short_ids = ids_grown;
    r->infos = infos_grown;
    r->cap = cap;
  }
  PIPE(MonitoringInfo) *info = beam_arena_alloc(&r->arena, sizeof *info);
  uint8_t *payload = beam_arena_alloc(&r->arena, 10);
  if (!info || !payload) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_buf buf = BEAM_BUF_INIT;
  beam_coder_encode_varint_i64(&buf, value);
  memcpy(payload, buf.data, buf.len);
  *info = m->info;
  info->payload.data = payload;
  info->payload.len = buf.len;
  beam_buf_free(&buf);
  r->short_ids[r->n] = m->short_id;
  r->infos[r->n++] = info;
  return BEAM_OK;
}

static int64_t relaxed_load(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

beam_status beam_metric_report_graph(beam_metric_ids *ids, beam_exec_graph *g, bool final,
                                     beam_metric_report *r, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < g->n_nodes; i++) {
    beam_exec_node *n = g->nodes[i];
    for (size_t j = 0; s == BEAM_OK && j < n->n_outputs; j++) {
      const char *labels[] = {"PCOLLECTION", n->outputs[j].pcollection_id};
      s = add_sum(ids, r, BEAM_METRIC_ELEMENT_COUNT, relaxed_load(&n->outputs[j].elements), labels, 1, err);
    }
    if (s == BEAM_OK && beam_exec_is_data_source(n)) {
      const char *labels[] = {"PTRANSFORM", n->transform_id};
      s = add_sum(ids, r, BEAM_METRIC_READ_INDEX, beam_exec_data_source_index(n) - 1, labels, 1, err);
    }
  }
  for (size_t i = 0; final && s == BEAM_OK && i < g->n_counters; i++) {
    char ns[128];
    const char *name = beam_counter_split_namespace(g->counters[i].name, ns, sizeof ns);
    const char *labels[] = {"PTRANSFORM", g->counters[i].transform_id, "NAMESPACE", ns, "NAME", name};
    s = add_sum(ids, r, BEAM_METRIC_USER_SUM_INT64, g->counters[i].value, labels, 3, err);
  }
  return s;
}

void beam_metric_report_free(beam_metric_report *r) { beam_arena_free(&r->arena); }

beam_status beam_metric_ids_metadata(beam_metric_ids *ids, const FN(MonitoringInfosMetadataRequest) *req,
                                     beam_arena *a, FN(MonitoringInfosMetadataResponse) *resp, beam_error *err) {
  resp->monitoring_info = beam_arena_calloc(a, req->n_monitoring_info_id + 1, sizeof *resp->monitoring_info);
  if (!resp->monitoring_info) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&ids->lock);
  for (size_t i = 0; i < req->n_monitoring_info_id; i++)
    for (size_t j = 0; j < ids->n; j++) {
      if (strcmp(ids->items[j]->short_id, req->monitoring_info_id[i]) != 0) continue;
      FN(MonitoringInfosMetadataResponse__MonitoringInfoEntry) *e = beam_arena_alloc(a, sizeof *e);
      if (!e) break;
      *e = (FN(MonitoringInfosMetadataResponse__MonitoringInfoEntry))FN_INIT(
          MONITORING_INFOS_METADATA_RESPONSE__MONITORING_INFO_ENTRY);
      e->key = ids->items[j]->short_id;
      e->value = &ids->items[j]->info;
      resp->monitoring_info[resp->n_monitoring_info++] = e;
      break;
    }
  pthread_mutex_unlock(&ids->lock);
  return BEAM_OK;
}
