/* Dataflow REST calls (see dataflow_client.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataflow_client.h"

#define DATAFLOW_DEFAULT_ENDPOINT "https://dataflow.googleapis.com"

static bool is_loopback_http(const char *url) {
  return strncmp(url, "http://127.0.0.1", 16) == 0 || strncmp(url, "http://localhost", 16) == 0 ||
         strncmp(url, "http://[::1]", 12) == 0;
}

beam_status beam_dataflow_client_open(beam_dataflow_client *c, const char *endpoint, const char *project,
                                      const char *region, beam_error *err) {
  memset(c, 0, sizeof *c);
  const char *ep = endpoint && *endpoint ? endpoint : DATAFLOW_DEFAULT_ENDPOINT;
  size_t n = strlen(ep);
  while (n && ep[n - 1] == '/') n--;
  size_t cap = n + strlen(project) + strlen(region) + 64;
  if (!(c->base = malloc(cap))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  snprintf(c->base, cap, "%.*s/v1b3/projects/%s/locations/%s/jobs", (int)n, ep, project, region);
  beam_http_options ho;
  beam_http_options_init(&ho);
  ho.timeout_ms = 120000;
  beam_status s = beam_http_new(&ho, &c->http, err);
  if (s == BEAM_OK)
    s = is_loopback_http(ep) ? beam_gcp_auth_new_anonymous(&c->auth, err) : beam_gcp_auth_new_default(NULL, &c->auth, err);
  if (s != BEAM_OK) beam_dataflow_client_close(c);
  return s;
}

void beam_dataflow_client_close(beam_dataflow_client *c) {
  beam_http_free(c->http);
  beam_gcp_auth_free(c->auth);
  free(c->base);
  memset(c, 0, sizeof *c);
}

/* One JSON call (a 401 refreshes the token once, in beam_gcp_auth_send). */
static beam_status call(beam_dataflow_client *c, const char *method, const char *url, const json_t *body,
                        json_t **out, beam_error *err) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (body && !text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_http_request rq = {.method = method, .url = url, .content_type = text ? "application/json" : NULL,
                          .body = text, .body_len = text ? strlen(text) : 0};
  beam_status s = beam_gcp_auth_send(c->auth, c->http, &rq, &rs, err);
  c->last_status = rs.status;
  free(text);
  if (s == BEAM_OK && out) {
    json_error_t je;
    *out = json_loadb((const char *)rs.body.data, rs.body.len, 0, &je);
    if (!*out) s = beam_error_set(err, BEAM_ERR_MALFORMED, "%s %s: the answer is not JSON: %s", method, url, je.text);
  }
  beam_http_response_free(&rs);
  return s;
}

beam_status beam_dataflow_create_job(beam_dataflow_client *c, const json_t *job, json_t **out, beam_error *err) {
  return call(c, "POST", c->base, job, out, err);
}

static beam_status job_url(const beam_dataflow_client *c, const char *job_id, const char *suffix, beam_buf *b,
                           beam_error *err) {
  beam_status s = beam_buf_append(b, c->base, strlen(c->base));
  if (s == BEAM_OK) s = beam_buf_append(b, "/", 1);
  if (s == BEAM_OK) s = beam_http_append_escaped(b, job_id);
  if (s == BEAM_OK) s = beam_buf_append_str(b, suffix);
  if (s == BEAM_OK) s = beam_buf_terminate(b);
  return s == BEAM_OK ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

beam_status beam_dataflow_get_job(beam_dataflow_client *c, const char *job_id, json_t **out, beam_error *err) {
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = job_url(c, job_id, "", &url, err);
  if (s == BEAM_OK) s = call(c, "GET", (const char *)url.data, NULL, out, err);
  beam_buf_free(&url);
  return s;
}

beam_status beam_dataflow_list_messages(beam_dataflow_client *c, const char *job_id, const char *start_time,
                                        const char *page_token, json_t **out, beam_error *err) {
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = job_url(c, job_id, "/messages?minimumImportance=JOB_MESSAGE_BASIC", &url, err);
  if (s == BEAM_OK && start_time) {
    s = beam_buf_append_str(&url, "&startTime=");
    if (s == BEAM_OK) s = beam_http_append_escaped(&url, start_time);
    if (s == BEAM_OK) s = beam_buf_terminate(&url);
  }
  if (s == BEAM_OK && page_token) {
    s = beam_buf_append_str(&url, "&pageToken=");
    if (s == BEAM_OK) s = beam_http_append_escaped(&url, page_token);
    if (s == BEAM_OK) s = beam_buf_terminate(&url);
  }
  if (s == BEAM_OK) s = call(c, "GET", (const char *)url.data, NULL, out, err);
  beam_buf_free(&url);
  return s;
}

beam_status beam_dataflow_get_metrics(beam_dataflow_client *c, const char *job_id, json_t **out, beam_error *err) {
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = job_url(c, job_id, "/metrics", &url, err);
  if (s == BEAM_OK) s = call(c, "GET", (const char *)url.data, NULL, out, err);
  beam_buf_free(&url);
  return s;
}

/* jobs.update with only requestedState: how Beam's SDKs cancel and drain. */
static beam_status request_state(beam_dataflow_client *c, const char *job_id, const char *state, beam_error *err) {
  beam_buf url = BEAM_BUF_INIT;
  json_t *body = json_pack("{s:s}", "requestedState", state);
  beam_status s = body ? job_url(c, job_id, "", &url, err) : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) s = call(c, "PUT", (const char *)url.data, body, NULL, err);
  json_decref(body);
  beam_buf_free(&url);
  return s;
}

beam_status beam_dataflow_cancel_job(beam_dataflow_client *c, const char *job_id, beam_error *err) {
  return request_state(c, job_id, "JOB_STATE_CANCELLED", err);
}

beam_status beam_dataflow_drain_job(beam_dataflow_client *c, const char *job_id, beam_error *err) {
  return request_state(c, job_id, "JOB_STATE_DRAINING", err);
}

beam_status beam_dataflow_find_active_job(beam_dataflow_client *c, const char *name, char *id, size_t cap,
                                          beam_error *err) {
  char *token = NULL;
  beam_status s = BEAM_OK;
  bool found = false;
  do {
    beam_buf url = BEAM_BUF_INIT;
    s = beam_buf_append(&url, c->base, strlen(c->base));
    if (s == BEAM_OK) s = beam_buf_append(&url, "?filter=ACTIVE", 14);
    if (s == BEAM_OK && token) s = beam_buf_append(&url, "&pageToken=", 11);
    if (s == BEAM_OK && token) s = beam_http_append_escaped(&url, token);
    if (s == BEAM_OK) s = beam_buf_terminate(&url);
    json_t *page = NULL;
    if (s == BEAM_OK) s = call(c, "GET", (const char *)url.data, NULL, &page, err);
    beam_buf_free(&url);
    free(token);
    token = NULL;
    size_t i;
    json_t *job;
    json_array_foreach(json_object_get(page, "jobs"), i, job) {
      const char *n = json_string_value(json_object_get(job, "name"));
      if (!found && n && strcmp(n, name) == 0) {
        snprintf(id, cap, "%s", json_string_value(json_object_get(job, "id")));
        found = true;
      }
    }
    const char *next = json_string_value(json_object_get(page, "nextPageToken"));
    if (next && *next && !found) token = strdup(next);
    json_decref(page);
  } while (s == BEAM_OK && token);
  free(token);
  if (s == BEAM_OK && !found)
    s = beam_error_set(err, BEAM_ERR_NOT_FOUND, "--update: no active Dataflow job is named %s", name);
  return s;
}
