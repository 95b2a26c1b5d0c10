/* Publishing one PublishRequest to Pub/Sub over gRPC, with retries (pubsub_internal.h).
 *
 * Pub/Sub's own client libraries retry Publish on UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN and CANCELLED; we do the same (plus a call
 * that never reached a server), with exponential backoff and "equal jitter" (a delay drawn
 * from [d/2, d]) so many workers retrying at once spread out. Everything else cannot succeed
 * by repetition and fails at once with the server's message. */
#include <stdlib.h>
#include <string.h>

#include <grpc/status.h>

#include "google/pubsub/v1/pubsub.pb-c.h"
#include "pubsub_conn.h"
#include "pubsub_internal.h"

#define PUBLISH_METHOD "/google.pubsub.v1.Publisher/Publish"

void beam_sink_pubsub_set_token_provider(beam_pubsub_token_fn fn, void *ctx) {
  beam_pubsub_set_token_provider(fn, ctx);
}

struct beam_pubsub_publisher {
  beam_pubsub_conn conn;
  char *topic;
  beam_pubsub_retry retry;
  beam_pubsub_backoff backoff;
  beam_buf resp;
  uint64_t requests, retries;
};

/* Pub/Sub's clients give a publish 60 s per attempt; the total bounds a request that keeps
 * timing out (8 x 60 s would be a hang in all but name). */
static const beam_pubsub_retry default_retry = {.max_attempts = 8,
                                                .initial_delay_ms = 100,
                                                .max_delay_ms = 10000,
                                                .call_timeout_ms = 60000,
                                                .total_timeout_ms = 120000};

beam_status beam_pubsub_publisher_open(const char *topic, const char *endpoint, const beam_pubsub_retry *retry,
                                       beam_pubsub_publisher **out, beam_error *err) {
  *out = NULL;
  beam_pubsub_publisher *p = calloc(1, sizeof *p);
  if (!p) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->retry = retry ? *retry : default_retry;
  if (p->retry.max_attempts < 1) p->retry.max_attempts = 1;
  beam_pubsub_backoff_init(&p->backoff, p->retry.initial_delay_ms, p->retry.max_delay_ms);
  beam_status st = BEAM_OK;
  if (!(p->topic = strdup(topic)))
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  else
    st = beam_pubsub_conn_open(&p->conn, topic, endpoint, err);
  if (st != BEAM_OK) {
    beam_pubsub_publisher_free(p);
    return st;
  }
  *out = p;
  return BEAM_OK;
}

void beam_pubsub_publisher_free(beam_pubsub_publisher *p) {
  if (!p) return;
  beam_pubsub_conn_close(&p->conn);
  beam_buf_free(&p->resp);
  free(p->topic);
  free(p);
}

void beam_pubsub_publisher_counts(const beam_pubsub_publisher *p, uint64_t *requests, uint64_t *retries) {
  if (requests) *requests = p->requests;
  if (retries) *retries = p->retries;
}

static beam_status check_response(beam_pubsub_publisher *p, size_t n_messages, beam_error *err) {
  Google__Pubsub__V1__PublishResponse *r =
      google__pubsub__v1__publish_response__unpack(NULL, p->resp.len, p->resp.data);
  if (!r) return beam_error_set(err, BEAM_ERR_MALFORMED, "pubsub %s: unreadable PublishResponse", p->topic);
  size_t ids = r->n_message_ids;
  google__pubsub__v1__publish_response__free_unpacked(r, NULL);
  if (ids != n_messages)
    return beam_error_set(err, BEAM_ERR_IO, "pubsub %s: published %zu messages, the server returned %zu ids",
                          p->topic, n_messages, ids);
  return BEAM_OK;
}

/* The final error of a request: a missing topic is NOT_FOUND and says what to do. */
static beam_status give_up(const beam_pubsub_publisher *p, beam_status st, int code, int attempts, beam_error *err) {
  if (code == GRPC_STATUS_NOT_FOUND) {
    beam_error_prefix(err, "pubsub topic %s does not exist (create it, e.g. gcloud pubsub topics create): ", p->topic);
    st = BEAM_ERR_NOT_FOUND;
  } else if (beam_pubsub_retryable_code(code)) {
    beam_error_prefix(err, "pubsub %s: gave up after %d attempts: ", p->topic, attempts);
  } else {
    beam_error_prefix(err, "pubsub %s: ", p->topic);
  }
  if (err) err->code = st;
  return st;
}

beam_status beam_pubsub_publisher_send(beam_pubsub_publisher *p, const void *req, size_t len, size_t n_messages,
                                       beam_error *err) {
  p->requests++;
  int code = -1, attempts = 0;
  beam_status st = beam_pubsub_conn_call(&p->conn, p->topic, PUBLISH_METHOD, req, len, &p->retry, &p->backoff,
                                         &p->resp, &code, &attempts, err);
  p->retries += (uint64_t)(attempts - 1);
  if (st == BEAM_OK) return check_response(p, n_messages, err);
  if (code == -1 && st != BEAM_ERR_IO) return st; /* no token, no memory: not the server's doing */
  return give_up(p, st, code, attempts, err);
}
