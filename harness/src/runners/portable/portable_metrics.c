/* A finished portable job's user counters (JobService/GetJobMetrics), as a beam_run_result
 * like the local runner's, so a program reports the same way whichever runner ran it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/coder.h"
#include "beam/dofn.h"
#include "beam/runner.h"
#include "beam/grpc_client.h"
#include "job_names.h"
#include "org/apache/beam/model/pipeline/v1/metrics.pb-c.h"
#include "portable_metrics.h"
#include "proto_names.h"

#define USER_SUM_INT64 "beam:metric:user:sum_int64:v1"

static const char *label(const PIPE(MonitoringInfo) *m, const char *key) {
  for (size_t i = 0; i < m->n_labels; i++)
    if (strcmp(m->labels[i]->key, key) == 0) return m->labels[i]->value;
  return NULL;
}

beam_status beam_run_result_add_counter(beam_run_result *r, const char *transform, const char *name, int64_t v) {
  for (size_t i = 0; i < r->n_counters; i++)
    if (strcmp(r->counters[i].transform_id, transform) == 0 && strcmp(r->counters[i].name, name) == 0) {
      r->counters[i].value += v;
      return BEAM_OK;
    }
  beam_counter_result *grown = realloc(r->counters, (r->n_counters + 1) * sizeof *grown);
  if (!grown) return BEAM_ERR_NOMEM;
  r->counters = grown;
  beam_counter_result *c = &r->counters[r->n_counters];
  c->transform_id = strdup(transform);
  c->name = strdup(name);
  c->value = v;
  if (!c->transform_id || !c->name) {
    free(c->transform_id);
    free(c->name);
    return BEAM_ERR_NOMEM;
  }
  r->n_counters++;
  return BEAM_OK;
}

beam_status beam_portable_job_counters(beam_grpc_channel *ch, const char *job_id, beam_run_result *result,
                                       beam_error *err) {
  JOB(GetJobMetricsRequest) req = JOB_INIT(GET_JOB_METRICS_REQUEST);
  req.job_id = (char *)job_id;
  uint8_t body[1024];
  if (JOB_FN(get_job_metrics_request__get_packed_size)(&req) > sizeof body)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "job id too long");
  size_t len = JOB_FN(get_job_metrics_request__pack)(&req, body);
  beam_buf resp = BEAM_BUF_INIT;
  beam_status s = beam_grpc_unary(ch, JOB_SERVICE "GetJobMetrics", body, len, 30000, &resp, err);
  JOB(GetJobMetricsResponse) *r = s == BEAM_OK ? JOB_FN(get_job_metrics_response__unpack)(NULL, resp.len, resp.data) : NULL;
  beam_buf_free(&resp);
  if (s != BEAM_OK) return beam_error_prefix(err, "GetJobMetrics: ");
  if (!r) return beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable GetJobMetricsResponse");
  /* Committed values count each bundle once; runners that only report attempted ones do so
   * after a successful job, where the two agree. */
  const JOB(MetricResults) *m = r->metrics;
  size_t n = m ? (m->n_committed ? m->n_committed : m->n_attempted) : 0;
  PIPE(MonitoringInfo) **infos = m ? (m->n_committed ? m->committed : m->attempted) : NULL;
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    const PIPE(MonitoringInfo) *mi = infos[i];
    const char *transform = label(mi, "PTRANSFORM"), *name = label(mi, "NAME"), *ns = label(mi, "NAMESPACE");
    if (strcmp(mi->urn, USER_SUM_INT64) != 0 || !transform || !name) continue;
    char qualified[256];
    if (ns && *ns && strcmp(ns, BEAM_COUNTER_DEFAULT_NAMESPACE) != 0) {
      snprintf(qualified, sizeof qualified, "%s:%s", ns, name);
      name = qualified;
    }
    beam_reader rd = beam_reader_make(mi->payload.data, mi->payload.len);
    int64_t v = 0;
    if (beam_coder_decode_varint_i64(&rd, &v) != BEAM_OK) continue;
    if (beam_run_result_add_counter(result, transform, name, v) != BEAM_OK) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  JOB_FN(get_job_metrics_response__free_unpacked)(r, NULL);
  return s;
}
