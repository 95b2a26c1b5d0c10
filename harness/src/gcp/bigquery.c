/* BigQuery REST client: endpoint and credentials, datasets, tables (get, insert, patch),
 * insertAll.
 * Load jobs live in bigquery_load.c. See beam/bigquery.h. */
#include "beam/bigquery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigquery_internal.h"

#define BQ_DEFAULT_ENDPOINT "https://bigquery.googleapis.com"

static char *endpoint_url(const char *ep) {
  size_t len = strlen(ep) + 8;
  char *url = malloc(len);
  if (!url) return NULL;
  snprintf(url, len, "%s%s", strstr(ep, "://") ? "" : "http://", ep);
  size_t n = strlen(url);
  while (n && url[n - 1] == '/') url[--n] = '\0';
  return url;
}

beam_status beam_bq_new(const char *project, const beam_bq_options *opts, beam_bq **out,
                        beam_error *err) {
  *out = NULL;
  if (!project || !project[0])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "bigquery: empty project id");
  beam_bq *b = calloc(1, sizeof *b);
  if (!b) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  const char *emu = getenv("BIGQUERY_EMULATOR_HOST");
  const char *ep = opts && opts->endpoint && opts->endpoint[0] ? opts->endpoint
                   : emu && emu[0]                             ? emu
                                                               : NULL;
  b->emulator = ep != NULL;
  b->endpoint = endpoint_url(ep ? ep : BQ_DEFAULT_ENDPOINT);
  b->project = strdup(project);
  b->job_timeout_ms = opts && opts->job_timeout_ms > 0 ? opts->job_timeout_ms : 600000;
  beam_status s = b->endpoint && b->project ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) s = beam_http_new(opts ? opts->http : NULL, &b->http, err);
  if (s == BEAM_OK && opts && opts->auth) {
    b->auth = opts->auth;
  } else if (s == BEAM_OK) {
    s = b->emulator ? beam_gcp_auth_new_anonymous(&b->auth, err) : beam_gcp_auth_new_default(NULL, &b->auth, err);
    b->owns_auth = s == BEAM_OK;
  }
  if (s != BEAM_OK) {
    beam_bq_free(b);
    return s;
  }
  *out = b;
  return BEAM_OK;
}

void beam_bq_free(beam_bq *b) {
  if (!b) return;
  beam_http_free(b->http);
  if (b->owns_auth) beam_gcp_auth_free(b->auth);
  free(b->endpoint);
  free(b->project);
  free(b);
}

const char *beam_bq_endpoint(const beam_bq *b) { return b->endpoint; }
const char *beam_bq_project(const beam_bq *b) { return b->project; }

beam_status beam_bq_url(const beam_bq *b, beam_buf *url, const char *prefix, const char *const *segments) {
  beam_status s = beam_buf_append_str(url, b->endpoint);
  if (s == BEAM_OK) s = beam_buf_append_str(url, prefix);
  if (s == BEAM_OK) s = beam_http_append_escaped(url, b->project);
  for (size_t i = 0; s == BEAM_OK && segments && segments[i]; i++) {
    /* Even entries are literal path words ("datasets"), odd ones are escaped ids. */
    s = beam_buf_append_byte(url, '/');
    if (s == BEAM_OK) s = i % 2 == 0 ? beam_buf_append_str(url, segments[i]) : beam_http_append_escaped(url, segments[i]);
  }
  return s;
}

beam_status beam_bq_send(beam_bq *b, beam_http_request *rq, beam_http_response *rs, beam_error *err) {
  return beam_gcp_auth_send(b->auth, b->http, rq, rs, err);
}

beam_status beam_bq_call(beam_bq *b, const char *method, const char *url, const char *body, size_t len,
                         json_t **out, long *status, beam_error *err) {
  if (out) *out = NULL;
  beam_http_request rq = {.method = method, .url = url};
  if (body) {
    rq.body = body;
    rq.body_len = len;
    rq.content_type = "application/json; charset=UTF-8";
  }
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  beam_status s = beam_bq_send(b, &rq, &rs, err);
  if (status) *status = rs.status;
  if (s == BEAM_OK && out) {
    json_error_t jerr;
    *out = json_loadb((const char *)rs.body.data, rs.body.len, 0, &jerr);
    if (!*out)
      s = beam_error_set(err, BEAM_ERR_MALFORMED, "bigquery: %s %s: response is not JSON: %s", method,
                         url, jerr.text);
  }
  beam_http_response_free(&rs);
  return s;
}

/* Builds the URL, then calls; url_out keeps the URL for messages. */
static beam_status call_path(beam_bq *b, const char *method, const char *const *segments, const json_t *body,
                             json_t **out, long *status, beam_error *err) {
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = beam_bq_url(b, &url, "/bigquery/v2/projects/", segments);
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (s != BEAM_OK || (body && !text)) {
    free(text);
    beam_buf_free(&url);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  s = beam_bq_call(b, method, (const char *)url.data, text, text ? strlen(text) : 0, out, status, err);
  free(text);
  beam_buf_free(&url);
  return s;
}

beam_status beam_bq_ensure_dataset(beam_bq *b, const char *dataset, const char *location, beam_error *err) {
  const char *get[] = {"datasets", dataset, NULL};
  long status = 0;
  beam_status s = call_path(b, "GET", get, NULL, NULL, &status, err);
  if (s == BEAM_OK || status != 404) return s;
  json_t *body = json_pack("{s:{s:s,s:s}}", "datasetReference", "projectId", b->project, "datasetId", dataset);
  if (body && location) json_object_set_new(body, "location", json_string(location));
  if (!body) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  const char *insert[] = {"datasets", NULL};
  beam_error_clear(err);
  s = call_path(b, "POST", insert, body, NULL, &status, err);
  json_decref(body);
  if (s != BEAM_OK && status == 409) { /* created meanwhile, or by our own first attempt */
    beam_error_clear(err);
    s = BEAM_OK;
  }
  return s;
}

beam_status beam_bq_get_table(beam_bq *b, const char *dataset, const char *table, json_t **out, beam_error *err) {
  const char *path[] = {"datasets", dataset, "tables", table, NULL};
  long status = 0;
  beam_status s = call_path(b, "GET", path, NULL, out, &status, err);
  if (s != BEAM_OK && status == 404) {
    beam_error_clear(err);
    *out = NULL;
    return BEAM_OK;
  }
  return s;
}

beam_status beam_bq_insert_table(beam_bq *b, const char *dataset, const json_t *resource, bool *existed,
                                 beam_error *err) {
  const char *path[] = {"datasets", dataset, "tables", NULL};
  long status = 0;
  *existed = false;
  beam_status s = call_path(b, "POST", path, resource, NULL, &status, err);
  if (s != BEAM_OK && status == 409) {
    beam_error_clear(err);
    *existed = true;
    s = BEAM_OK;
  }
  return s;
}

beam_status beam_bq_patch_table(beam_bq *b, const char *dataset, const char *table, const json_t *patch,
                                json_t **out, long *status, beam_error *err) {
  const char *path[] = {"datasets", dataset, "tables", table, NULL};
  return call_path(b, "PATCH", path, patch, out, status, err);
}

beam_status beam_bq_insert_all(beam_bq *b, const char *dataset, const char *table, const char *body, size_t len,
                               json_t **out, long *status, beam_error *err) {
  const char *path[] = {"datasets", dataset, "tables", table, "insertAll", NULL};
  beam_buf url = BEAM_BUF_INIT;
  beam_status s = beam_bq_url(b, &url, "/bigquery/v2/projects/", path);
  if (s == BEAM_OK) s = beam_buf_terminate(&url);
  if (s != BEAM_OK) {
    beam_buf_free(&url);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  s = beam_bq_call(b, "POST", (const char *)url.data, body, len, out, status, err);
  beam_buf_free(&url);
  return s;
}
