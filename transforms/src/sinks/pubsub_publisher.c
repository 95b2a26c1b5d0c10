/* Publishing one PublishRequest to Pub/Sub over gRPC, with retries (pubsub_internal.h).
 *
 * Pub/Sub's own client libraries retry Publish on UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN and CANCELLED; we do the same (plus a call
 * that never reached a server), with exponential backoff and "equal jitter" (a delay drawn
 * from [d/2, d]) so many workers retrying at once spread out. Everything else cannot succeed
 * by repetition and fails at once with the server's message. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/status.h>

#include "beam/gcp_auth.h"
#include "google/pubsub/v1/pubsub.pb-c.h"
#include "beam/grpc_client.h"
#include "pubsub_internal.h"

#define PUBLISH_METHOD "/google.pubsub.v1.Publisher/Publish"

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static beam_pubsub_token_fn token_fn;
static void *token_ctx;

void beam_sink_pubsub_set_token_provider(beam_pubsub_token_fn fn, void *ctx) {
  pthread_mutex_lock(&token_lock);
  token_fn = fn;
  token_ctx = ctx;
  pthread_mutex_unlock(&token_lock);
}

/* The default provider: Application Default Credentials, one cached token per process. The
 * token is copied per thread, since publishers run on several worker threads. */
static const char *adc_token(void *ctx, beam_error *err) {
  (void)ctx;
  static _Thread_local char token[4096];
  beam_gcp_auth *auth = NULL;
  if (beam_gcp_auth_shared_default(&auth, err) != BEAM_OK) return NULL;
  return beam_gcp_auth_token(auth, token, sizeof token, err) == BEAM_OK ? token : NULL;
}

struct beam_pubsub_publisher {
  beam_grpc_channel *ch;
  char *topic;
  bool emulator;             /* plaintext, no credentials */
  beam_pubsub_token_fn token;
  void *token_ctx;
  beam_pubsub_retry retry;
  beam_buf resp;
  uint64_t rng;
  uint64_t requests, retries;
};

/* Pub/Sub's clients give a publish 60 s per attempt; the total bounds a request that keeps
 * timing out (8 x 60 s would be a hang in all but name). */
static const beam_pubsub_retry default_retry = {.max_attempts = 8,
                                                .initial_delay_ms = 100,
                                                .max_delay_ms = 10000,
                                                .call_timeout_ms = 60000,
                                                .total_timeout_ms = 120000};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

beam_status beam_pubsub_publisher_open(const char *topic, const char *endpoint, const beam_pubsub_retry *retry,
                                       beam_pubsub_publisher **out, beam_error *err) {
  *out = NULL;
  beam_pubsub_publisher *p = calloc(1, sizeof *p);
  if (!p) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->retry = retry ? *retry : default_retry;
  if (p->retry.max_attempts < 1) p->retry.max_attempts = 1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  p->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
  const char *emulator = getenv("PUBSUB_EMULATOR_HOST");
  p->emulator = emulator && *emulator && !endpoint;
  beam_status st = BEAM_OK;
  if (!(p->topic = strdup(topic))) {
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  } else if (p->emulator) {
    st = beam_grpc_channel_open(emulator, NULL, &p->ch, err);
  } else {
    pthread_mutex_lock(&token_lock);
    p->token = token_fn ? token_fn : adc_token;
    p->token_ctx = token_fn ? token_ctx : NULL;
    pthread_mutex_unlock(&token_lock);
    /* Find the credentials now, so a machine without any fails at open, not at the first
     * commit (the token itself is fetched at the first publish). */
    beam_gcp_auth *auth = NULL;
    if (!token_fn && beam_gcp_auth_shared_default(&auth, err) != BEAM_OK)
      st = beam_error_prefix(err, "pubsub %s: no Google credentials (or set PUBSUB_EMULATOR_HOST=host:port for the "
                                  "emulator): ",
                             topic);
    else
      st = beam_grpc_channel_open_tls(endpoint ? endpoint : BEAM_PUBSUB_DEFAULT_ENDPOINT, &p->ch, err);
  }
  if (st != BEAM_OK) {
    beam_pubsub_publisher_free(p);
    return st;
  }
  *out = p;
  return BEAM_OK;
}

void beam_pubsub_publisher_free(beam_pubsub_publisher *p) {
  if (!p) return;
  beam_grpc_channel_close(p->ch);
  beam_buf_free(&p->resp);
  free(p->topic);
  free(p);
}

void beam_pubsub_publisher_counts(const beam_pubsub_publisher *p, uint64_t *requests, uint64_t *retries) {
  if (requests) *requests = p->requests;
  if (retries) *retries = p->retries;
}

static bool retryable(int code) {
  switch (code) {
    case -1: /* never reached a server */
    case GRPC_STATUS_CANCELLED:
    case GRPC_STATUS_UNKNOWN:
    case GRPC_STATUS_DEADLINE_EXCEEDED:
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
    case GRPC_STATUS_ABORTED:
    case GRPC_STATUS_INTERNAL:
    case GRPC_STATUS_UNAVAILABLE: return true;
    default: return false;
  }
}

static uint64_t next_random(beam_pubsub_publisher *p) {
  p->rng ^= p->rng << 13; /* xorshift64: jitter needs spread, not quality */
  p->rng ^= p->rng >> 7;
  p->rng ^= p->rng << 17;
  return p->rng;
}

/* Sleeps before retry number `attempt`, at most budget_ms. */
static void backoff(beam_pubsub_publisher *p, int attempt, int64_t budget_ms) {
  long delay = p->retry.initial_delay_ms;
  for (int i = 1; i < attempt && delay < p->retry.max_delay_ms; i++) delay *= 2;
  if (delay > p->retry.max_delay_ms) delay = p->retry.max_delay_ms;
  long half = delay / 2;
  long ms = half + (long)(next_random(p) % (uint64_t)(half + 1));
  if (ms > budget_ms) ms = (long)budget_ms;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* One attempt: *code gets the gRPC status (-1: no call). */
static beam_status attempt(beam_pubsub_publisher *p, const void *req, size_t len, int timeout_ms, int *code,
                           beam_error *err) {
  beam_grpc_metadata md[1];
  size_t n_md = 0;
  char *auth = NULL;
  if (!p->emulator) {
    const char *token = p->token(p->token_ctx, err);
    if (!token) {
      beam_status code_of_provider = err && err->code != BEAM_OK ? err->code : BEAM_ERR_IO;
      beam_error_prefix(err, "pubsub %s: no access token: ", p->topic);
      return code_of_provider;
    }
    size_t n = strlen(token) + sizeof "Bearer ";
    if (!(auth = malloc(n))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    memcpy(auth, "Bearer ", 7);
    memcpy(auth + 7, token, n - 7);
    md[n_md++] = (beam_grpc_metadata){"authorization", auth};
  }
  beam_status st = beam_grpc_unary_ex(p->ch, PUBLISH_METHOD, req, len, md, n_md, timeout_ms, &p->resp, code, err);
  free(auth);
  return st;
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
  } else if (retryable(code)) {
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
  int64_t deadline = now_ms() + p->retry.total_timeout_ms;
  for (int a = 1;; a++) {
    int64_t left = deadline - now_ms();
    int timeout = (int)(left < p->retry.call_timeout_ms ? left : p->retry.call_timeout_ms);
    int code = -1;
    beam_status st = attempt(p, req, len, timeout > 0 ? timeout : 1, &code, err); /* 0 would mean no deadline */
    if (st == BEAM_OK) return check_response(p, n_messages, err);
    if (code == -1 && st != BEAM_ERR_IO) return st; /* no token, no memory: not the server's doing */
    left = deadline - now_ms();
    if (!retryable(code) || a >= p->retry.max_attempts || left < 1) return give_up(p, st, code, a, err);
    p->retries++;
    backoff(p, a, left);
  }
}
