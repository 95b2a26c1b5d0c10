/* One HTTP client for every Google API the project talks to (GCS, OAuth token endpoints, the
 * metadata server, BigQuery, Dataflow), on libcurl.
 *
 *   beam_http_options o;
 *   beam_http_options_init(&o);
 *   beam_http *h;
 *   beam_http_new(&o, &h, &err);
 *   beam_http_request rq = {.method = "GET", .url = url, .bearer_token = token};
 *   beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
 *   if (beam_http_send(h, &rq, &rs, &err) != BEAM_OK) ... err.message, rs.status
 *   ... rs.body (NUL-terminated), beam_http_response_header(&rs, "location")
 *   beam_http_response_free(&rs);
 *   beam_http_free(h);
 *
 * Connections: one curl easy handle per client, so keep-alive connections (and TLS sessions)
 * are reused between requests. A client is NOT thread-safe: one per thread (or a lock).
 *
 * Timeouts: connect, total per attempt, and low speed (a transfer slower than
 * low_speed_bytes/s for low_speed_seconds is aborted) so a stalled peer never hangs a worker.
 *
 * Retries: 429, 5xx, connection failures, resets and timeouts are retried with exponential
 * backoff and full jitter (delay = random(0, min(max_backoff, initial * 2^attempt))), at most
 * max_attempts attempts in all; a Retry-After header (seconds) is honoured, capped at
 * max_retry_after_ms. Other statuses, 4xx included, are answered at once. A request with a
 * streamed body is retried only when it can be rewound (rewind set); a streamed download
 * only while nothing has been delivered to on_data (callers resume by Range themselves).
 *
 * Errors: any status >= 400 after the retries ends in a non-OK status (404 is
 * BEAM_ERR_NOT_FOUND, others BEAM_ERR_IO) whose message names the method, the URL without
 * its query, the HTTP status and the API's own message (`error.message` of a Google JSON
 * error body, else the start of the body); rs.status and rs.body stay readable. Bearer
 * tokens travel only in the Authorization header and are never part of a message or log. */
#ifndef BEAM_HTTP_H
#define BEAM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/buf.h"
#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_http beam_http;

typedef struct beam_http_options {
  long connect_timeout_ms;  /* default 10000 */
  long timeout_ms;          /* whole attempt; default 300000; 0 after init = none */
  long low_speed_bytes;     /* default 1 byte/s ... */
  long low_speed_seconds;   /* ... for 60 s aborts the attempt; 0 = off */
  int max_attempts;         /* attempts in all, first included; default 6 */
  long initial_backoff_ms;  /* default 200 */
  long max_backoff_ms;      /* default 30000 */
  long max_retry_after_ms;  /* cap on a server's Retry-After; default 60000 */
  const char *user_agent;   /* default "beam-c/<version>" */
} beam_http_options;

void beam_http_options_init(beam_http_options *o);

/* Supplies the next bytes of a streamed request body: *n = 0 means the end. */
typedef beam_status (*beam_http_read_fn)(void *ctx, void *buf, size_t cap, size_t *n,
                                         beam_error *err);
/* Puts a streamed body back at its start for a retry. */
typedef beam_status (*beam_http_rewind_fn)(void *ctx, beam_error *err);
/* Receives response body bytes as they arrive (only for 2xx responses; error bodies are
 * kept in the response for the message). A non-OK return aborts the transfer. */
typedef beam_status (*beam_http_write_fn)(void *ctx, const void *data, size_t len,
                                          beam_error *err);

typedef struct beam_http_request {
  const char *method;              /* "GET", "POST", "PUT", "DELETE", ... */
  const char *url;
  const char *const *headers;      /* "Name: value" strings, NULL-terminated; may be NULL */
  const char *bearer_token;        /* sent as "Authorization: Bearer ..."; NULL/"" = none */
  const char *content_type;        /* for bodies; NULL = none sent */
  /* Body from memory (copied by nothing: must live for the call) ... */
  const void *body;
  size_t body_len;
  /* ... or streamed. body_size is the total (-1 = unknown: chunked encoding). */
  beam_http_read_fn read;
  beam_http_rewind_fn rewind;
  void *read_ctx;
  int64_t body_size;
  /* Streamed download; NULL = the body is collected in the response. */
  beam_http_write_fn on_data;
  void *on_data_ctx;
  bool no_retry;                   /* one attempt only (the caller does its own recovery) */
} beam_http_request;

typedef struct beam_http_response {
  long status;        /* last HTTP status, 0 when no response arrived */
  beam_buf body;      /* NUL-terminated (len excludes it) unless on_data took it */
  beam_buf headers;   /* raw header lines of the last response */
  int attempts;       /* attempts made */
} beam_http_response;

#define BEAM_HTTP_RESPONSE_INIT {0, BEAM_BUF_INIT, BEAM_BUF_INIT, 0}

/* A client (opts may be NULL: the defaults), and its release. */
beam_status beam_http_new(const beam_http_options *opts, beam_http **out, beam_error *err);
void beam_http_free(beam_http *h);

/* Sends the request (with retries as above). The response is reset first. */
beam_status beam_http_send(beam_http *h, const beam_http_request *rq, beam_http_response *rs,
                           beam_error *err);

/* The value of a header of the last response (case-insensitive name), copied into buf
 * (trimmed, truncated to cap); NULL when absent. */
const char *beam_http_response_header(const beam_http_response *rs, const char *name, char *buf,
                                      size_t cap);
void beam_http_response_free(beam_http_response *rs);

/* Appends s percent-encoded (everything but A-Z a-z 0-9 - . _ ~) to b: object names, form
 * values, query parameters. */
beam_status beam_http_append_escaped(beam_buf *b, const char *s);

/* The API's message from a Google JSON error body ({"error":{"message":...}} or the OAuth
 * form {"error":"...","error_description":"..."}), else the body's first bytes, into buf. */
const char *beam_http_error_message(const char *body, size_t len, char *buf, size_t cap);

/* Sleeps the backoff before retry number attempt_no (0-based) with the client's policy and
 * jitter: for callers that run their own recovery (resumable uploads, resumed downloads). */
void beam_http_backoff(beam_http *h, int attempt_no);
int beam_http_max_attempts(const beam_http *h);

/* True when a status is worth retrying (429, 5xx, or 0 = no response). */
bool beam_http_status_retryable(long status);

#ifdef __cplusplus
}
#endif
#endif
