/* The subscriber's API (beam/transforms/pubsub_subscriber.h): open (name and option checks,
 * GetSubscription, the threads), pull from the buffer, ack and nack, close. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/status.h>

#include "pubsub_subscriber_int.h"

/* "projects/P/subscriptions/S" with a valid project and id. */
static beam_status check_name(const char *name, beam_error *err) {
  static const char usage[] = "expected projects/PROJECT/subscriptions/SUBSCRIPTION";
  size_t len = strlen(name);
  const char *project = name + 9, *slash = NULL;
  if (len > 9 && strncmp(name, "projects/", 9) == 0) slash = strchr(project, '/');
  if (!slash || !beam_pubsub_project_valid(project, (size_t)(slash - project)))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub subscription \"%.200s\": bad project; %s", name, usage);
  if (strncmp(slash + 1, "subscriptions/", 14) != 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub subscription \"%.200s\": %s", name, usage);
  const char *id = slash + 15;
  if (!beam_pubsub_resource_id_valid(id, strlen(id)))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "pubsub subscription \"%.200s\": subscription id \"%.200s\" must be 3-255 of "
                          "[A-Za-z0-9-_.~+%%], start with a letter and not with \"goog\"",
                          name, id);
  return BEAM_OK;
}

/* Fills in defaults and checks the ranges; the emulator also takes deadlines under 10 s. */
static beam_status resolve_options(beam_pubsub_subscriber *sub, const beam_pubsub_subscriber_options *in,
                                   beam_error *err) {
  beam_pubsub_subscriber_options o = in ? *in : (beam_pubsub_subscriber_options){0};
  if (!o.max_outstanding_messages) o.max_outstanding_messages = BEAM_PUBSUB_DEFAULT_MAX_OUTSTANDING_MESSAGES;
  if (!o.max_outstanding_bytes) o.max_outstanding_bytes = BEAM_PUBSUB_DEFAULT_MAX_OUTSTANDING_BYTES;
  if (!o.stream_ack_deadline_seconds) o.stream_ack_deadline_seconds = BEAM_PUBSUB_DEFAULT_STREAM_ACK_DEADLINE_S;
  if (!o.max_lease_seconds) o.max_lease_seconds = BEAM_PUBSUB_DEFAULT_MAX_LEASE_S;
  if (!o.retry_budget_ms) o.retry_budget_ms = BEAM_PUBSUB_DEFAULT_RETRY_BUDGET_MS;
  int min_deadline = sub->conn.emulator ? 1 : 10;
  if (o.stream_ack_deadline_seconds < min_deadline || o.stream_ack_deadline_seconds > 600)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "pubsub subscription %s: stream_ack_deadline_seconds %d: must be %d to 600%s", sub->subscription,
                          o.stream_ack_deadline_seconds, min_deadline,
                          sub->conn.emulator ? "" : " (the service's range; the emulator also takes 1 to 9)");
  if (o.max_outstanding_messages < 0 || o.max_outstanding_bytes < 0 || o.max_lease_seconds < 0 ||
      o.retry_budget_ms < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "pubsub subscription %s: max_outstanding_messages, max_outstanding_bytes, max_lease_seconds "
                          "and retry_budget_ms must not be negative",
                          sub->subscription);
  o.endpoint = NULL; /* used at open only; the caller's string need not outlive it */
  sub->opts = o;
  return BEAM_OK;
}

/* GetSubscription, retried like any call: does it exist, may we read it. */
static beam_status check_subscription(beam_pubsub_subscriber *sub, beam_error *err) {
  Google__Pubsub__V1__GetSubscriptionRequest req = GOOGLE__PUBSUB__V1__GET_SUBSCRIPTION_REQUEST__INIT;
  req.subscription = sub->subscription;
  size_t len = google__pubsub__v1__get_subscription_request__get_packed_size(&req);
  uint8_t *bytes = malloc(len ? len : 1);
  if (!bytes) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  google__pubsub__v1__get_subscription_request__pack(&req, bytes);
  beam_buf resp = BEAM_BUF_INIT;
  beam_pubsub_backoff backoff;
  beam_pubsub_backoff_init(&backoff, 100, 5000);
  beam_pubsub_retry retry = {INT_MAX, 100, 5000, 30000, sub->opts.retry_budget_ms};
  int code = -1, attempts = 0;
  beam_status st = beam_pubsub_conn_call(&sub->conn, sub->subscription, BEAM_PUBSUB_GET_SUBSCRIPTION, bytes, len,
                                         &retry, &backoff, &resp, &code, &attempts, err);
  free(bytes);
  beam_buf_free(&resp);
  if (st == BEAM_OK || (code == -1 && st != BEAM_ERR_IO)) return st; /* no token, no memory: said already */
  if (code == GRPC_STATUS_NOT_FOUND) {
    beam_error_prefix(err, "pubsub subscription %s does not exist (create it, e.g. gcloud pubsub subscriptions create): ",
                      sub->subscription);
    if (err) err->code = BEAM_ERR_NOT_FOUND;
    return BEAM_ERR_NOT_FOUND;
  }
  if (code == GRPC_STATUS_PERMISSION_DENIED)
    return beam_error_prefix(err, "pubsub subscription %s: permission denied (the caller needs "
                                  "roles/pubsub.subscriber on it): ",
                             sub->subscription);
  if (beam_pubsub_retryable_code(code))
    return beam_error_prefix(err, "pubsub subscription %s: unreachable for %d ms: ", sub->subscription,
                             sub->opts.retry_budget_ms);
  return beam_error_prefix(err, "pubsub subscription %s: ", sub->subscription);
}

/* A subscriber connected and its subscription checked, its threads not started yet. */
static beam_status prepare(const char *subscription, const beam_pubsub_subscriber_options *opts,
                           beam_pubsub_subscriber **out, beam_error *err) {
  *out = NULL;
  beam_status st = check_name(subscription, err);
  if (st != BEAM_OK) return st;
  beam_pubsub_subscriber *sub = calloc(1, sizeof *sub);
  if (!sub || !(sub->subscription = strdup(subscription))) {
    free(sub);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  pthread_mutex_init(&sub->mu, NULL);
  pthread_cond_init(&sub->arrived, NULL);
  pthread_cond_init(&sub->wake, NULL);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(sub->client_id, sizeof sub->client_id, "beam-c-%lx-%lx", (unsigned long)ts.tv_sec ^ (unsigned long)getpid(),
           (unsigned long)ts.tv_nsec ^ (unsigned long)(uintptr_t)sub);
  st = beam_pubsub_conn_open(&sub->conn, subscription, opts ? opts->endpoint : NULL, err);
  if (st == BEAM_OK) st = resolve_options(sub, opts, err);
  if (st == BEAM_OK) st = check_subscription(sub, err);
  *out = sub;
  return st;
}

beam_status beam_pubsub_subscription_check(const char *subscription, const beam_pubsub_subscriber_options *opts,
                                           beam_error *err) {
  beam_pubsub_subscriber *sub = NULL;
  beam_status st = prepare(subscription, opts, &sub, err);
  beam_pubsub_subscriber_close(sub);
  return st;
}

beam_status beam_pubsub_subscriber_open(const char *subscription, const beam_pubsub_subscriber_options *opts,
                                        beam_pubsub_subscriber **out, beam_error *err) {
  beam_pubsub_subscriber *sub = NULL;
  *out = NULL;
  beam_status st = prepare(subscription, opts, &sub, err);
  if (st == BEAM_OK) {
    sub->receiver_started = pthread_create(&sub->receiver, NULL, beam_pubsub_sub_receive_main, sub) == 0;
    sub->keeper_started =
        sub->receiver_started && pthread_create(&sub->keeper, NULL, beam_pubsub_sub_keep_leases_main, sub) == 0;
    if (!sub->keeper_started) st = beam_error_set(err, BEAM_ERR_INTERNAL, "cannot start the subscriber's threads");
  }
  if (st != BEAM_OK) {
    beam_pubsub_subscriber_close(sub);
    return st;
  }
  *out = sub;
  return BEAM_OK;
}

static void deadline_after(int timeout_ms, struct timespec *abs) {
  clock_gettime(CLOCK_REALTIME, abs);
  int64_t ns = (int64_t)abs->tv_nsec + (int64_t)timeout_ms * 1000000;
  abs->tv_sec += (time_t)(ns / 1000000000);
  abs->tv_nsec = (long)(ns % 1000000000);

}

beam_status beam_pubsub_subscriber_pull(beam_pubsub_subscriber *sub, size_t max_messages, int timeout_ms,
                                        beam_pubsub_messages *batch, beam_error *err) {
  memset(batch, 0, sizeof *batch);
  struct timespec until;
  if (timeout_ms > 0) deadline_after(timeout_ms, &until);
  pthread_mutex_lock(&sub->mu);
  while (!sub->buf_head && sub->failed == BEAM_OK && !sub->closing && timeout_ms != 0) {
    if (timeout_ms < 0) pthread_cond_wait(&sub->arrived, &sub->mu);
    else if (pthread_cond_timedwait(&sub->arrived, &sub->mu, &until) != 0) break;
  }
  beam_status st = BEAM_OK;
  if (sub->failed != BEAM_OK && !sub->buf_head) {
    st = beam_error_set(err, sub->failed, "%s", sub->failure.message);
  } else {
    size_t n = 0;
    for (beam_pubsub_received *r = sub->buf_head; r && n < max_messages; r = r->next) n++;
    if (n) {
      batch->items = malloc(n * sizeof *batch->items);
      batch->blocks_ = malloc(n * sizeof *batch->blocks_);
      if (!batch->items || !batch->blocks_) {
        free(batch->items);
        free(batch->blocks_);
        memset(batch, 0, sizeof *batch);
        st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
        n = 0;
      }
    }
    for (size_t i = 0; i < n; i++) {
      beam_pubsub_received *r = sub->buf_head;
      sub->buf_head = r->next;
      if (!sub->buf_head) sub->buf_tail = NULL;
      batch->items[i] = r->msg;
      batch->blocks_[i] = r;
    }
    batch->n = n;
  }
  pthread_mutex_unlock(&sub->mu);
  return st;
}

/* Ends the leases of ack ids (they no longer count toward the limits). */
static void end_leases(beam_pubsub_subscriber *sub, const char *const *ack_ids, size_t n, bool ack) {
  pthread_mutex_lock(&sub->mu);
  for (size_t i = 0; i < n; i++) beam_pubsub_leases_remove(&sub->leases, ack_ids[i]);
  if (ack) sub->stats.acked += n;
  else sub->stats.nacked += n;
  pthread_mutex_unlock(&sub->mu);
}

beam_status beam_pubsub_subscriber_ack(beam_pubsub_subscriber *sub, const char *const *ack_ids, size_t n,
                                       beam_error *err) {
  end_leases(sub, ack_ids, n, true);
  return beam_pubsub_sub_send_ack_ids(sub, ack_ids, n, -1, sub->opts.retry_budget_ms, err);
}

beam_status beam_pubsub_subscriber_nack(beam_pubsub_subscriber *sub, const char *const *ack_ids, size_t n,
                                        beam_error *err) {
  end_leases(sub, ack_ids, n, false);
  return beam_pubsub_sub_send_ack_ids(sub, ack_ids, n, 0, sub->opts.retry_budget_ms, err);
}

void beam_pubsub_subscriber_stats_get(beam_pubsub_subscriber *sub, beam_pubsub_subscriber_stats *out) {
  pthread_mutex_lock(&sub->mu);
  *out = sub->stats;
  out->outstanding_messages = sub->leases.count;
  out->outstanding_bytes = sub->leases.bytes;
  out->oldest_publish_us = beam_pubsub_leases_oldest_publish_us(&sub->leases);
  pthread_mutex_unlock(&sub->mu);
}

/* Nacks what is still leased, so another subscriber gets it now rather than at its deadline. */
static void nack_leftovers(beam_pubsub_subscriber *sub) {
  size_t n = (size_t)sub->leases.count, i = 0;
  const char **ids = n ? malloc(n * sizeof *ids) : NULL;
  if (!ids) return;
  for (beam_pubsub_lease *l = sub->leases.head; l && i < n; l = l->next) ids[i++] = l->ack_id;
  beam_error ignored = {0};
  beam_pubsub_sub_send_ack_ids(sub, ids, i, 0, 3000, &ignored);
  sub->stats.nacked += i;
  free(ids);
}

void beam_pubsub_subscriber_close(beam_pubsub_subscriber *sub) {
  if (!sub) return;
  pthread_mutex_lock(&sub->mu);
  sub->closing = true;
  if (sub->stream) beam_grpc_stream_cancel(sub->stream);
  pthread_cond_broadcast(&sub->wake);
  pthread_cond_broadcast(&sub->arrived);
  pthread_mutex_unlock(&sub->mu);
  if (sub->receiver_started) pthread_join(sub->receiver, NULL);
  if (sub->keeper_started) pthread_join(sub->keeper, NULL);
  if (sub->conn.ch && sub->failed == BEAM_OK) nack_leftovers(sub);
  for (beam_pubsub_received *r = sub->buf_head, *next; r; r = next) {
    next = r->next;
    free(r);
  }
  beam_pubsub_leases_free(&sub->leases);
  beam_pubsub_conn_close(&sub->conn);
  pthread_cond_destroy(&sub->wake);
  pthread_cond_destroy(&sub->arrived);
  pthread_mutex_destroy(&sub->mu);
  free(sub->subscription);
  free(sub);
}

void beam_pubsub_messages_free(beam_pubsub_messages *batch) {
  if (!batch) return;
  for (size_t i = 0; i < batch->n; i++) free(batch->blocks_[i]);
  free(batch->blocks_);
  free(batch->items);
  memset(batch, 0, sizeof *batch);
}
