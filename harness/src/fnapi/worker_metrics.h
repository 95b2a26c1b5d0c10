/* Monitoring infos the harness reports: element counts, the data channel read index and
 * user counters, as MonitoringInfos and as short-id payloads
 * (beam:protocol:monitoring_info_short_ids:v1). Short ids are worker-wide: a runner asks
 * what an id means once (MonitoringInfosMetadataRequest) and keeps the answer. */
#ifndef BEAM_WORKER_METRICS_H
#define BEAM_WORKER_METRICS_H

#include "beam/arena.h"
#include "beam/status.h"
#include "fn_names.h"
#include "exec.h"
#include "org/apache/beam/model/pipeline/v1/metrics.pb-c.h"

#define BEAM_METRIC_ELEMENT_COUNT "beam:metric:element_count:v1"
#define BEAM_METRIC_READ_INDEX "beam:metric:data_channel:read_index:v1"
#define BEAM_METRIC_USER_SUM_INT64 "beam:metric:user:sum_int64:v1"
#define BEAM_METRIC_TYPE_SUM_INT64 "beam:metrics:sum_int64:v1"

typedef struct beam_metric_ids beam_metric_ids;

beam_metric_ids *beam_metric_ids_new(void);
void beam_metric_ids_free(beam_metric_ids *ids);

/* A set of metric values for one response; memory lives in its arena. */
typedef struct beam_metric_report {
  beam_arena arena;
  const char **short_ids;
  PIPE(MonitoringInfo) **infos;
  size_t n, cap;
} beam_metric_report;

/* Adds the current metrics of a bundle's graph: element counts of every PCollection produced,
 * each data source's read index, and (final only) the user counters. */
beam_status beam_metric_report_graph(beam_metric_ids *ids, beam_exec_graph *g, bool final,
                                     beam_metric_report *r, beam_error *err);
void beam_metric_report_free(beam_metric_report *r);

/* Fills a MonitoringInfosMetadataResponse for the requested short ids (unknown ids are left
 * out). Memory from a. */
beam_status beam_metric_ids_metadata(beam_metric_ids *ids, const FN(MonitoringInfosMetadataRequest) *req,
                                     beam_arena *a, FN(MonitoringInfosMetadataResponse) *resp, beam_error *err);

#endif
