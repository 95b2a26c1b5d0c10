/* The few Dataflow REST calls a submission makes (projects.locations.jobs.*), JSON in and
 * out, on the shared HTTP layer; retries of 429/5xx/resets are the HTTP layer's. */
#ifndef BEAM_DATAFLOW_CLIENT_H
#define BEAM_DATAFLOW_CLIENT_H

#include <jansson.h>

#include "beam/gcp_auth.h"
#include "beam/http.h"
#include "beam/status.h"

typedef struct beam_dataflow_client {
  beam_http *http;
  beam_gcp_auth *auth;  /* owned */
  char *base;           /* ".../v1b3/projects/P/locations/R/jobs" */
  long last_status;     /* HTTP status of the last call (409: the job name is taken) */
} beam_dataflow_client;

/* endpoint NULL: https://dataflow.googleapis.com. An http:// endpoint on loopback (a test
 * server) is called without credentials; anything else with Application Default Credentials. */
beam_status beam_dataflow_client_open(beam_dataflow_client *c, const char *endpoint, const char *project,
                                      const char *region, beam_error *err);
void beam_dataflow_client_close(beam_dataflow_client *c);

beam_status beam_dataflow_create_job(beam_dataflow_client *c, const json_t *job, json_t **out, beam_error *err);
beam_status beam_dataflow_get_job(beam_dataflow_client *c, const char *job_id, json_t **out, beam_error *err);
/* One page of job messages at or after start_time (RFC 3339; NULL: from the start), page_token
 * NULL for the first; *out is the ListJobMessagesResponse. */
beam_status beam_dataflow_list_messages(beam_dataflow_client *c, const char *job_id, const char *start_time,
                                        const char *page_token, json_t **out, beam_error *err);
/* The job's metrics (JobMetrics: metrics[] of MetricUpdate). */
beam_status beam_dataflow_get_metrics(beam_dataflow_client *c, const char *job_id, json_t **out, beam_error *err);
/* Asks the service to cancel the job (requestedState JOB_STATE_CANCELLED). */
beam_status beam_dataflow_cancel_job(beam_dataflow_client *c, const char *job_id, beam_error *err);
/* Asks the service to drain a streaming job (JOB_STATE_DRAINING): its sources stop and what
 * was read is processed and committed before it ends DRAINED. */
beam_status beam_dataflow_drain_job(beam_dataflow_client *c, const char *job_id, beam_error *err);
/* The id of the active job named name (into id), or BEAM_ERR_NOT_FOUND. */
beam_status beam_dataflow_find_active_job(beam_dataflow_client *c, const char *name, char *id, size_t cap,
                                          beam_error *err);

#endif
