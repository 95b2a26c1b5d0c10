/* The subscriber's lease keeper thread and its ack / deadline calls
 * (pubsub_subscriber_int.h).
 *
 * Every half stream deadline the keeper extends the deadline of every leased message to a
 * full deadline from now, so a message whose deadline is about to pass always gets its
 * extension with half a deadline to spare (Google's clients extend a few seconds before the
 * deadline, by a deadline drawn from their ack latencies; the fixed half keeps it simple and
 * costs one ModifyAckDeadline per 2500 held messages per half deadline). A message leased for
 * longer than max_lease_seconds is let go: a buffered one is nacked, a handed-out one simply
 * no longer extended (its holder may still ack it). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub_subscriber_int.h"

/* Pub/Sub's limits per call: 2500 ack ids is what the client libraries batch; the request
 * size (512 KB) is kept with room to spare. */
#define MAX_IDS_PER_CALL 2500
#define MAX_REQUEST_BYTES (400 * 1000)

/* The end (exclusive) of the call that starts at ack_ids[start]. */
static size_t call_end(const char *const *ack_ids, size_t n, size_t start) {
  size_t bytes = 0, i = start;
  for (; i < n && i - start < MAX_IDS_PER_CALL; i++) {
    bytes += strlen(ack_ids[i]) + 4;
    if (bytes > MAX_REQUEST_BYTES && i > start) break;
  }
  return i;
}

static beam_status pack_request(beam_pubsub_subscriber *sub, const char *const *ids, size_t n, int deadline_s,
                                uint8_t **out, size_t *len, beam_error *err) {
  if (deadline_s < 0) {
    Google__Pubsub__V1__AcknowledgeRequest req = GOOGLE__PUBSUB__V1__ACKNOWLEDGE_REQUEST__INIT;
    req.subscription = sub->subscription;
    req.ack_ids = (char **)ids;
    req.n_ack_ids = n;
    *len = google__pubsub__v1__acknowledge_request__get_packed_size(&req);
    if (!(*out = malloc(*len ? *len : 1))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    google__pubsub__v1__acknowledge_request__pack(&req, *out);
  } else {
    Google__Pubsub__V1__ModifyAckDeadlineRequest req = GOOGLE__PUBSUB__V1__MODIFY_ACK_DEADLINE_REQUEST__INIT;
    req.subscription = sub->subscription;
    req.ack_ids = (char **)ids;
    req.n_ack_ids = n;
    req.ack_deadline_seconds = deadline_s;
    *len = google__pubsub__v1__modify_ack_deadline_request__get_packed_size(&req);
    if (!(*out = malloc(*len ? *len : 1))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    google__pubsub__v1__modify_ack_deadline_request__pack(&req, *out);
  }
  return BEAM_OK;
}

/* One call, retried on retryable codes until budget_ms has passed. */
static beam_status send_call(beam_pubsub_subscriber *sub, const uint8_t *req, size_t len, int deadline_s,
                             int budget_ms, beam_buf *resp, beam_error *err) {
  const char *method = deadline_s < 0 ? BEAM_PUBSUB_ACKNOWLEDGE : BEAM_PUBSUB_MODIFY_ACK_DEADLINE;
  beam_pubsub_backoff backoff;
  beam_pubsub_backoff_init(&backoff, 100, 5000);
  beam_pubsub_retry retry = {INT_MAX, 100, 5000, 30000, budget_ms};
  int code = -1, attempts = 0;
  beam_status st = beam_pubsub_conn_call(&sub->conn, sub->subscription, method, req, len, &retry, &backoff, resp,
                                         &code, &attempts, err);
  if (st == BEAM_OK) return BEAM_OK;
  return beam_error_prefix(err, "pubsub subscription %s: %s of ack ids failed after %d attempts: ", sub->subscription,
                           deadline_s < 0 ? "acknowledging" : "changing the deadline", attempts);
}

beam_status beam_pubsub_sub_send_ack_ids(beam_pubsub_subscriber *sub, const char *const *ack_ids, size_t n,
                                         int deadline_s, int budget_ms, beam_error *err) {
  beam_buf resp = BEAM_BUF_INIT;
  beam_status st = BEAM_OK;
  for (size_t start = 0; start < n && st == BEAM_OK;) {
    size_t end = call_end(ack_ids, n, start);
    uint8_t *req = NULL;
    size_t len = 0;
    st = pack_request(sub, ack_ids + start, end - start, deadline_s, &req, &len, err);
    if (st == BEAM_OK) st = send_call(sub, req, len, deadline_s, budget_ms, &resp, err);
    free(req);
    start = end;
  }
  beam_buf_free(&resp);
  return st;
}

/* Takes a buffered message out of the buffer (a lease that ran out before anyone pulled it). */
static void unbuffer_locked(beam_pubsub_subscriber *sub, const char *ack_id) {
  for (beam_pubsub_received **p = &sub->buf_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
    if (strcmp((*p)->msg.ack_id, ack_id) != 0) continue;
    beam_pubsub_received *r = *p;
    *p = r->next;
    if (sub->buf_tail == r) sub->buf_tail = prev;
    free(r);
    return;
  }
}

/* Under sub->mu: copies the ack ids to extend into *extend and ends the leases that ran out
 * (their buffered messages' ack ids go to *expired, to be nacked). */
static beam_status sweep_locked(beam_pubsub_subscriber *sub, char ***extend, size_t *n_extend, char ***expired,
                                size_t *n_expired) {
  size_t cap = (size_t)sub->leases.count;
  *extend = cap ? calloc(cap, sizeof **extend) : NULL;
  *expired = cap ? calloc(cap, sizeof **expired) : NULL;
  *n_extend = *n_expired = 0;
  if (cap && (!*extend || !*expired)) return BEAM_ERR_NOMEM;
  int64_t cutoff = beam_pubsub_now_ms() - (int64_t)sub->opts.max_lease_seconds * 1000;
  for (beam_pubsub_lease *l = sub->leases.head, *next; l; l = next) {
    next = l->next;
    char *id = strdup(l->ack_id);
    if (!id) return BEAM_ERR_NOMEM;
    if (l->received_ms >= cutoff) {
      (*extend)[(*n_extend)++] = id;
      continue;
    }
    unbuffer_locked(sub, id);
    (*expired)[(*n_expired)++] = id;
    beam_pubsub_leases_remove(&sub->leases, id);
  }
  return BEAM_OK;
}

static void free_ids(char **ids, size_t n) {
  for (size_t i = 0; i < n; i++) free(ids[i]);
  free(ids);
}

/* The watchdog of a stream's start (sub->mu held; see stream_starting_ms). */
static void cancel_stuck_start_locked(beam_pubsub_subscriber *sub, int64_t now) {
  if (sub->stream && sub->stream_starting_ms && now - sub->stream_starting_ms > BEAM_PUBSUB_STREAM_START_MS) {
    beam_grpc_stream_cancel(sub->stream);
    sub->stream_starting_ms = 0;
    sub->stats.stuck_starts++;
  }
}

void *beam_pubsub_sub_keep_leases_main(void *arg) {
  beam_pubsub_subscriber *sub = arg;
  long period_ms = (long)sub->opts.stream_ack_deadline_seconds * 1000 / 2;
  long tick_ms = period_ms < 1000 ? period_ms : 1000; /* the watchdog's resolution */
  int64_t next_sweep = beam_pubsub_now_ms() + period_ms;
  pthread_mutex_lock(&sub->mu);
  while (!beam_pubsub_sub_sleep_locked(sub, tick_ms)) {
    int64_t now = beam_pubsub_now_ms();
    cancel_stuck_start_locked(sub, now);
    if (now < next_sweep) continue;
    next_sweep = now + period_ms;
    char **extend = NULL, **expired = NULL;
    size_t n_extend = 0, n_expired = 0;
    beam_status st = sweep_locked(sub, &extend, &n_extend, &expired, &n_expired);
    pthread_mutex_unlock(&sub->mu);
    beam_error ignored = {0}; /* a failed extension is tried again at the next sweep */
    if (st == BEAM_OK && n_extend)
      beam_pubsub_sub_send_ack_ids(sub, (const char *const *)extend, n_extend, sub->opts.stream_ack_deadline_seconds,
                                   (int)period_ms, &ignored);
    if (st == BEAM_OK && n_expired)
      beam_pubsub_sub_send_ack_ids(sub, (const char *const *)expired, n_expired, 0, (int)period_ms, &ignored);
    free_ids(extend, n_extend);
    free_ids(expired, n_expired);
    pthread_mutex_lock(&sub->mu);
    sub->stats.lease_extensions += n_extend;
  }
  pthread_mutex_unlock(&sub->mu);
  return NULL;
}
