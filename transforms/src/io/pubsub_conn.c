/* The Pub/Sub connection shared by publisher and subscriber (pubsub_conn.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/status.h>

#include "beam/gcp_auth.h"
#include "pubsub_conn.h"

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static beam_pubsub_token_fn token_fn;
static void *token_ctx;

void beam_pubsub_set_token_provider(beam_pubsub_token_fn fn, void *ctx) {
  pthread_mutex_lock(&token_lock);
  token_fn = fn;
  token_ctx = ctx;
  pthread_mutex_unlock(&token_lock);
}

/* The default provider: Application Default Credentials, one cached token per process. The
 * token is copied per thread, since publishers and subscribers call from several threads. */
static const char *adc_token(void *ctx, beam_error *err) {
  (void)ctx;
  static _Thread_local char token[4096];
  beam_gcp_auth *auth = NULL;
  if (beam_gcp_auth_shared_default(&auth, err) != BEAM_OK) return NULL;
  return beam_gcp_auth_token(auth, token, sizeof token, err) == BEAM_OK ? token : NULL;
}

beam_status beam_pubsub_conn_open(beam_pubsub_conn *c, const char *what, const char *endpoint, beam_error *err) {
  memset(c, 0, sizeof *c);
  const char *emulator = getenv("PUBSUB_EMULATOR_HOST");
  c->emulator = emulator && *emulator && !endpoint;
  if (c->emulator) return beam_grpc_channel_open(emulator, NULL, &c->ch, err);
  pthread_mutex_lock(&token_lock);
  c->token = token_fn ? token_fn : adc_token;
  c->token_ctx = token_fn ? token_ctx : NULL;
  pthread_mutex_unlock(&token_lock);
  beam_gcp_auth *auth = NULL;
  if (c->token == adc_token && beam_gcp_auth_shared_default(&auth, err) != BEAM_OK)
    return beam_error_prefix(err, "pubsub %s: no Google credentials (or set PUBSUB_EMULATOR_HOST=host:port for the "
                                  "emulator): ",
                             what);
  /* Pings every 30 s, as Google's client libraries do: a StreamingPull that idles stays
   * connected, and a connection gone dead fails the stream (which reconnects) within the ping
   * timeout. Not to the emulator: pstest (Go gRPC) refuses pings under 5 minutes apart. */
  beam_grpc_channel_options o = {.tls = true, .keepalive_time_ms = BEAM_PUBSUB_KEEPALIVE_MS};
  return beam_grpc_channel_open_with(endpoint ? endpoint : BEAM_PUBSUB_DEFAULT_ENDPOINT, &o, &c->ch, err);
}

void beam_pubsub_conn_close(beam_pubsub_conn *c) {
  beam_grpc_channel_close(c->ch);
  c->ch = NULL;
}

beam_status beam_pubsub_conn_auth(beam_pubsub_conn *c, const char *what, beam_grpc_metadata *md, size_t *n_md,
                                  char **auth, beam_error *err) {
  *n_md = 0;
  *auth = NULL;
  if (c->emulator) return BEAM_OK;
  const char *token = c->token(c->token_ctx, err);
  if (!token) {
    beam_status code_of_provider = err && err->code != BEAM_OK ? err->code : BEAM_ERR_IO;
    beam_error_prefix(err, "pubsub %s: no access token: ", what);
    if (err) err->code = code_of_provider;
    return code_of_provider;
  }
  size_t n = strlen(token) + sizeof "Bearer ";
  if (!(*auth = malloc(n))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  memcpy(*auth, "Bearer ", 7);
  memcpy(*auth + 7, token, n - 7);
  md[(*n_md)++] = (beam_grpc_metadata){"authorization", *auth};
  return BEAM_OK;
}

bool beam_pubsub_retryable_code(int code) {
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

void beam_pubsub_backoff_init(beam_pubsub_backoff *b, int initial_ms, int max_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  b->initial_ms = initial_ms;
  b->max_ms = max_ms;
  b->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
}

long beam_pubsub_backoff_ms(beam_pubsub_backoff *b, int attempt, int64_t budget_ms) {
  long delay = b->initial_ms;
  for (int i = 1; i < attempt && delay < b->max_ms; i++) delay *= 2;
  if (delay > b->max_ms) delay = b->max_ms;
  b->rng ^= b->rng << 13; /* xorshift64: jitter needs spread, not quality */
  b->rng ^= b->rng >> 7;
  b->rng ^= b->rng << 17;
  long half = delay / 2;
  long ms = half + (long)(b->rng % (uint64_t)(half + 1));
  return ms > budget_ms ? (long)(budget_ms > 0 ? budget_ms : 0) : ms;
}

int64_t beam_pubsub_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool beam_pubsub_resource_id_valid(const char *id, size_t len) {
  if (len < 3 || len > 255) return false;
  if (!((id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= 'a' && id[0] <= 'z'))) return false;
  if (len >= 4 && strncmp(id, "goog", 4) == 0) return false;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == '~' || c == '+' || c == '%';
    if (!ok) return false;
  }
  return true;
}

bool beam_pubsub_project_valid(const char *p, size_t len) {
  if (len == 0 || len > 128) return false;
  for (size_t i = 0; i < len; i++) {
    char c = p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':')) return false;
  }
  return true;
}

beam_status beam_pubsub_conn_call(beam_pubsub_conn *c, const char *what, const char *method, const void *req,
                                  size_t len, const beam_pubsub_retry *retry, beam_pubsub_backoff *b, beam_buf *resp,
                                  int *code, int *attempts, beam_error *err) {
  int64_t deadline = beam_pubsub_now_ms() + retry->total_timeout_ms;
  for (int a = 1;; a++) {
    *attempts = a;
    *code = -1;
    int64_t left = deadline - beam_pubsub_now_ms();
    int timeout = (int)(left < retry->call_timeout_ms ? left : retry->call_timeout_ms);
    beam_grpc_metadata md[1];
    size_t n_md = 0;
    char *auth = NULL;
    beam_status st = beam_pubsub_conn_auth(c, what, md, &n_md, &auth, err);
    if (st == BEAM_OK) /* a timeout of 0 would mean none */
      st = beam_grpc_unary_ex(c->ch, method, req, len, md, n_md, timeout > 0 ? timeout : 1, resp, code, err);
    free(auth);
    if (st == BEAM_OK || (*code == -1 && st != BEAM_ERR_IO)) return st;
    left = deadline - beam_pubsub_now_ms();
    if (!beam_pubsub_retryable_code(*code) || a >= retry->max_attempts || left < 1) return st;
    long ms = beam_pubsub_backoff_ms(b, a, left);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
}
