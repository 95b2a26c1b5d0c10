/* BigQuery load jobs: jobs.insert with a multipart upload (the Job resource, then the data),
 * then jobs.get until the job is DONE. The caller's jobId makes the load idempotent: a
 * repeated insert (our own retry after a lost answer, or a retried bundle) gets 409 and
 * waits for the job that exists instead of loading the data twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bigquery_internal.h"

#define BOUNDARY "beam_c_load_boundary_5b1f0e"

static beam_status multipart_body(beam_buf *out, const char *job_json, const void *data, size_t len) {
  beam_status s = beam_buf_append_str(out, "--" BOUNDARY "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n");
  if (s == BEAM_OK) s = beam_buf_append_str(out, job_json);
  if (s == BEAM_OK) s = beam_buf_append_str(out, "\r\n--" BOUNDARY "\r\nContent-Type: application/octet-stream\r\n\r\n");
  if (s == BEAM_OK) s = beam_buf_append(out, data, len);
  if (s == BEAM_OK) s = beam_buf_append_str(out, "\r\n--" BOUNDARY "--\r\n");
  return s;
}

/* jobs.insert; *existed when a job with that id is already there. */
static beam_status insert_job(beam_bq *b, const json_t *job, const void *data, size_t len, bool *existed,
                              beam_error *err) {
  beam_buf url = BEAM_BUF_INIT, body = BEAM_BUF_INIT;
  char *job_json = json_dumps(job, JSON_COMPACT);
  const char *path[] = {"jobs", NULL};
  beam_status s = job_json ? beam_bq_url(b, &url, "/upload/bigquery/v2/projects/", path) : BEAM_ERR_NOMEM;
  if (s == BEAM_OK) s = beam_buf_append_str(&url, "?uploadType=multipart");
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  if (s == BEAM_OK) s = multipart_body(&body, job_json, data, len);
  free(job_json);
  if (s != BEAM_OK) {
    beam_buf_free(&url), beam_buf_free(&body);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  beam_http_request rq = {.method = "POST", .url = (const char *)url.data, .body = body.data,
                          .body_len = body.len, .content_type = "multipart/related; boundary=" BOUNDARY};
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  s = beam_bq_send(b, &rq, &rs, err);
  *existed = s != BEAM_OK && rs.status == 409;
  if (*existed) {
    beam_error_clear(err);
    s = BEAM_OK;
  }
  beam_http_response_free(&rs);
  beam_buf_free(&url), beam_buf_free(&body);
  return s;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* jobs.get until status.state is DONE. */
static beam_status wait_job(beam_bq *b, const char *job_id, const char *location, json_t **out, beam_error *err) {
  const char *path[] = {"jobs", job_id, NULL};
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = beam_bq_url(b, &url, "/bigquery/v2/projects/", path);
  if (s == BEAM_OK && location) {
    s = beam_buf_append_str(&url, "?location=");
    if (s == BEAM_OK) s = beam_http_append_escaped(&url, location);
  }
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  if (s != BEAM_OK) {
    beam_buf_free(&url);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  long deadline = now_ms() + b->job_timeout_ms, delay = 50;
  for (;;) {
    json_t *job = NULL;
    s = beam_bq_call(b, "GET", (const char *)url.data, NULL, 0, &job, NULL, err);
    if (s != BEAM_OK) break;
    const char *state = json_string_value(json_object_get(json_object_get(job, "status"), "state"));
    if (state && strcmp(state, "DONE") == 0) {
      *out = job;
      break;
    }
    json_decref(job);
    if (now_ms() + delay > deadline) {
      s = beam_error_set(err, BEAM_ERR_IO, "bigquery: load job %s still %s after %ld ms", job_id,
                         state ? state : "without a state", b->job_timeout_ms);
      break;
    }
    sleep_ms(delay);
    delay = delay * 2 > 2000 ? 2000 : delay * 2;
  }
  beam_buf_free(&url);
  return s;
}

beam_status beam_bq_load(beam_bq *b, const char *job_id, const char *location, const json_t *configuration,
                         const void *data, size_t len, json_t **job_out, beam_error *err) {
  if (job_out) *job_out = NULL;
  json_t *job = json_pack("{s:{s:s,s:s},s:O}", "jobReference", "projectId", b->project, "jobId", job_id,
                          "configuration", configuration);
  if (job && location) json_object_set_new(json_object_get(job, "jobReference"), "location", json_string(location));
  if (!job) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  bool existed = false;
  beam_status s = insert_job(b, job, data, len, &existed, err);
  json_decref(job);
  if (s != BEAM_OK) return beam_error_prefix(err, "bigquery: load job %s: ", job_id);
  json_t *done = NULL;
  s = wait_job(b, job_id, location, &done, err);
  if (s == BEAM_OK && job_out) *job_out = done;
  else json_decref(done);
  return s;
}
