/* The subscriber's receiver thread (pubsub_subscriber_int.h): opens the StreamingPull stream,
 * buffers and leases what arrives within the flow-control limits, nacks the rest, and
 * reopens the stream with backoff until it has not worked for retry_budget_ms. */
#include <stdlib.h>
#include <string.h>

#include <grpc/status.h>

#include "pubsub_subscriber_int.h"

/* A stream that lived this long had worked: its end starts a fresh retry budget. */
#define STREAM_WORKED_MS 10000

bool beam_pubsub_sub_sleep_locked(beam_pubsub_subscriber *sub, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  long long ns = (long long)until.tv_nsec + (long long)ms * 1000000;
  until.tv_sec += (time_t)(ns / 1000000000);
  until.tv_nsec = (long)(ns % 1000000000);
  while (!sub->closing && pthread_cond_timedwait(&sub->wake, &sub->mu, &until) == 0) {
  }
  return sub->closing;
}

void beam_pubsub_sub_fail_locked(beam_pubsub_subscriber *sub, const beam_error *why) {
  if (sub->failed != BEAM_OK) return;
  sub->failed = why->code != BEAM_OK ? why->code : BEAM_ERR_IO;
  sub->failure = *why;
  sub->failure.code = sub->failed;
  pthread_cond_broadcast(&sub->arrived);
}

/* The stream's first request: the subscription, the deadline, the limits. */
static beam_status send_first_request(beam_pubsub_subscriber *sub, beam_grpc_stream *s, beam_error *err) {
  Google__Pubsub__V1__StreamingPullRequest req = GOOGLE__PUBSUB__V1__STREAMING_PULL_REQUEST__INIT;
  req.subscription = sub->subscription;
  req.stream_ack_deadline_seconds = sub->opts.stream_ack_deadline_seconds;
  req.client_id = sub->client_id;
  req.max_outstanding_messages = sub->opts.max_outstanding_messages;
  req.max_outstanding_bytes = sub->opts.max_outstanding_bytes;
  size_t len = google__pubsub__v1__streaming_pull_request__get_packed_size(&req);
  uint8_t *bytes = malloc(len ? len : 1);
  if (!bytes) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  google__pubsub__v1__streaming_pull_request__pack(&req, bytes);
  beam_status st = beam_grpc_stream_send(s, bytes, len, err);
  free(bytes);
  return st;
}

/* Whether one more message of size bytes stays within the limits (one message is always
 * taken when nothing is leased, so a message larger than the byte limit cannot stall). */
static bool fits(const beam_pubsub_subscriber *sub, size_t size) {
  if (sub->leases.count == 0) return true;
  return sub->leases.count + 1 <= sub->opts.max_outstanding_messages &&
         sub->leases.bytes + (int64_t)size <= sub->opts.max_outstanding_bytes;
}

/* Buffers and leases the response's messages that fit; nacks the others. */
static beam_status take_response(beam_pubsub_subscriber *sub, const beam_buf *msg, beam_error *err) {
  Google__Pubsub__V1__StreamingPullResponse *r =
      google__pubsub__v1__streaming_pull_response__unpack(NULL, msg->len, msg->data);
  if (!r) return beam_error_set(err, BEAM_ERR_MALFORMED, "pubsub %s: unreadable StreamingPullResponse", sub->subscription);
  size_t n = r->n_received_messages, n_nack = 0;
  const char **nacks = n ? malloc(n * sizeof *nacks) : NULL;
  beam_pubsub_received **copies = n ? calloc(n, sizeof *copies) : NULL;
  beam_status st = BEAM_OK;
  if (n && (!nacks || !copies)) st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; st == BEAM_OK && i < n; i++)
    if (!(copies[i] = beam_pubsub_received_copy(r->received_messages[i])))
      st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  int64_t now = beam_pubsub_now_ms();
  pthread_mutex_lock(&sub->mu);
  for (size_t i = 0; st == BEAM_OK && i < n; i++) {
    beam_pubsub_received *c = copies[i];
    sub->stats.received++;
    if (sub->closing || !fits(sub, c->msg.size) ||
        beam_pubsub_leases_add(&sub->leases, c->msg.ack_id, c->msg.size, c->msg.publish_time_us, now) != BEAM_OK) {
      nacks[n_nack++] = r->received_messages[i]->ack_id;
      sub->stats.overflow_nacked++;
      free(c);
    } else {
      if (sub->buf_tail) sub->buf_tail->next = c;
      else sub->buf_head = c;
      sub->buf_tail = c;
    }
    copies[i] = NULL;
  }
  if (n) pthread_cond_broadcast(&sub->arrived);
  pthread_mutex_unlock(&sub->mu);
  if (n_nack) {
    beam_error ignored = {0}; /* a lost nack only delays the message to its deadline */
    beam_pubsub_sub_send_ack_ids(sub, nacks, n_nack, 0, 2000, &ignored);
  }
  for (size_t i = 0; copies && i < n; i++) free(copies[i]);
  free(copies);
  free(nacks);
  google__pubsub__v1__streaming_pull_response__free_unpacked(r, NULL);
  return st;
}

/* One stream from open to its end. *code: how it ended (0: cleanly, -1: never opened);
 * *got: whether a message came. Returns a local failure (no memory) only. */
static beam_status run_stream(beam_pubsub_subscriber *sub, int *code, bool *got, beam_error *err) {
  *code = -1;
  beam_grpc_metadata md[1];
  size_t n_md = 0;
  char *auth = NULL;
  beam_grpc_stream *s = NULL;
  beam_status st = beam_pubsub_conn_auth(&sub->conn, sub->subscription, md, &n_md, &auth, err);
  if (st == BEAM_OK) st = beam_grpc_stream_open_ex(sub->conn.ch, BEAM_PUBSUB_STREAMING_PULL, md, n_md, 0, &s, err);
  free(auth);
  if (st != BEAM_OK) return st == BEAM_ERR_NOMEM ? st : BEAM_OK;
  pthread_mutex_lock(&sub->mu);
  bool closing = sub->closing;
  if (!closing) {
    sub->stream = s;
    sub->stream_starting_ms = beam_pubsub_now_ms(); /* the keeper's watchdog (see _int.h) */
  }
  pthread_mutex_unlock(&sub->mu);
  beam_buf msg = BEAM_BUF_INIT;
  beam_status local = BEAM_OK;
  beam_status sent = closing ? BEAM_ERR_CANCELLED : send_first_request(sub, s, err);
  pthread_mutex_lock(&sub->mu);
  sub->stream_starting_ms = 0;
  pthread_mutex_unlock(&sub->mu);
  if (sent == BEAM_OK) {
    for (;;) {
      bool eof = false;
      if (beam_grpc_stream_recv(s, &msg, &eof, err) != BEAM_OK || eof) break;
      *got = true;
      if ((local = take_response(sub, &msg, err)) != BEAM_OK) break;
    }
  }
  pthread_mutex_lock(&sub->mu);
  sub->stream = NULL;
  pthread_mutex_unlock(&sub->mu);
  *code = beam_grpc_stream_status_code(s); /* -1 when we stopped reading ourselves */
  beam_grpc_stream_free(s);                /* cancels a call still running */
  beam_buf_free(&msg);
  return local;
}

static const char *code_name(int code) {
  switch (code) {
    case -1: return "no connection";
    case 0: return "OK (the server ended the stream)";
    case GRPC_STATUS_CANCELLED: return "CANCELLED";
    case GRPC_STATUS_UNKNOWN: return "UNKNOWN";
    case GRPC_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case GRPC_STATUS_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case GRPC_STATUS_NOT_FOUND: return "NOT_FOUND";
    case GRPC_STATUS_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case GRPC_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case GRPC_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case GRPC_STATUS_ABORTED: return "ABORTED";
    case GRPC_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case GRPC_STATUS_INTERNAL: return "INTERNAL";
    case GRPC_STATUS_UNAVAILABLE: return "UNAVAILABLE";
    case GRPC_STATUS_UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "another gRPC status";
  }
}

/* Worth reopening: a clean end (the service closes streams now and then), a retryable code,
 * and NOT_FOUND, since open saw the subscription (an emulator restarting answers NOT_FOUND
 * until it has created it again; a subscription really deleted fails after the budget). */
static bool reopen_after(int code) {
  return code == 0 || code == GRPC_STATUS_NOT_FOUND || beam_pubsub_retryable_code(code);
}

void *beam_pubsub_sub_receive_main(void *arg) {
  beam_pubsub_subscriber *sub = arg;
  beam_pubsub_backoff backoff;
  beam_pubsub_backoff_init(&backoff, 100, 5000);
  int64_t failing_since = -1;
  int attempt = 0;
  for (;;) {
    beam_error err = {0};
    int code = -1;
    bool got = false;
    int64_t opened = beam_pubsub_now_ms();
    beam_status local = run_stream(sub, &code, &got, &err);
    int64_t now = beam_pubsub_now_ms();
    pthread_mutex_lock(&sub->mu);
    if (sub->closing) {
      pthread_mutex_unlock(&sub->mu);
      break;
    }
    if (got || now - opened >= STREAM_WORKED_MS) {
      failing_since = -1;
      attempt = 0;
    }
    if (failing_since < 0) failing_since = now;
    attempt++;
    if (local != BEAM_OK || !reopen_after(code) || now - failing_since > sub->opts.retry_budget_ms) {
      if (err.code == BEAM_OK) beam_error_set(&err, BEAM_ERR_IO, "the stream ended");
      beam_error why = err;
      if (local == BEAM_OK && !reopen_after(code))
        beam_error_prefix(&why, "pubsub subscription %s: streaming pull failed with %s: ", sub->subscription,
                          code_name(code));
      else if (local == BEAM_OK)
        beam_error_prefix(&why, "pubsub subscription %s: no working stream for %lld ms (%d attempts, last %s): ",
                          sub->subscription, (long long)(now - failing_since), attempt, code_name(code));
      if (code == GRPC_STATUS_PERMISSION_DENIED || code == GRPC_STATUS_UNAUTHENTICATED) why.code = BEAM_ERR_IO;
      beam_pubsub_sub_fail_locked(sub, &why);
      pthread_mutex_unlock(&sub->mu);
      break;
    }
    long ms = beam_pubsub_backoff_ms(&backoff, attempt, sub->opts.retry_budget_ms);
    bool closing = beam_pubsub_sub_sleep_locked(sub, ms);
    if (!closing) sub->stats.reconnects++;
    pthread_mutex_unlock(&sub->mu);
    if (closing) break;
  }
  return NULL;
}
