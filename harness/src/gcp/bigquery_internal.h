/* Shared by the BigQuery client's files (bigquery.c, bigquery_load.c). */
#ifndef BEAM_BIGQUERY_INTERNAL_H
#define BEAM_BIGQUERY_INTERNAL_H

#include "beam/bigquery.h"
#include "beam/buf.h"

struct beam_bq {
  beam_http *http;
  beam_gcp_auth *auth;
  bool owns_auth;
  bool emulator;
  char *endpoint; /* no trailing slash */
  char *project;
  long job_timeout_ms;
};

/* Appends "<endpoint><prefix><project>" then "/word/id/word/id..." (ids escaped). */
beam_status beam_bq_url(const beam_bq *b, beam_buf *url, const char *prefix, const char *const *segments);

/* Sends rq with the client's credentials; a 401 refreshes the token and tries once more. */
beam_status beam_bq_send(beam_bq *b, beam_http_request *rq, beam_http_response *rs, beam_error *err);

/* One JSON call to a full URL: body (may be NULL) sent as JSON, the response parsed into *out
 * (may be NULL: not parsed); *status (may be NULL) is the last HTTP status. */
beam_status beam_bq_call(beam_bq *b, const char *method, const char *url, const char *body, size_t len,
                         json_t **out, long *status, beam_error *err);

#endif
