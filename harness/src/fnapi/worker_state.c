/* The Fn API state channel (see worker_state.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "time_after.h"
#include "worker_state.h"
#include "worker_stream.h"

/* A runner that never answers a state request must not hang the bundle forever. */
enum { STATE_TIMEOUT_S = 600 };

typedef struct waiter {
  char id[32];
  bool done;
  char *error;            /* the runner's StateResponse.error, if any */
  beam_buf data;          /* get: this page */
  beam_buf continuation;  /* get: token of the next page, empty when complete */
  pthread_cond_t cond;
  struct waiter *next;
} waiter;

struct beam_state_channel {
  char *endpoint;
  beam_worker_stream stream; /* its thread is the receiver */
  pthread_mutex_t lock;
  waiter *waiting;
  atomic_uint_fast64_t next_id;
  bool broken;
  char broken_reason[512];
};

static void deliver(beam_state_channel *ch, const FN(StateResponse) *r) {
  pthread_mutex_lock(&ch->lock);
  for (waiter *w = ch->waiting; w; w = w->next) {
    if (strcmp(w->id, r->id) != 0) continue;
    if (r->error && r->error[0]) w->error = strdup(r->error);
    if (r->response_case == FN_ENUM(STATE_RESPONSE__RESPONSE_GET) && r->get) {
      beam_buf_append(&w->data, r->get->data.data, r->get->data.len);
      beam_buf_append(&w->continuation, r->get->continuation_token.data, r->get->continuation_token.len);
    }
    w->done = true;
    pthread_cond_signal(&w->cond);
    break;
  }
  pthread_mutex_unlock(&ch->lock);
}

static void mark_broken(beam_state_channel *ch, const char *reason) {
  pthread_mutex_lock(&ch->lock);
  ch->broken = true;
  snprintf(ch->broken_reason, sizeof ch->broken_reason, "%s", reason);
  for (waiter *w = ch->waiting; w; w = w->next) pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&ch->lock);
}

static void *receive_loop(void *arg) {
  beam_state_channel *ch = arg;
  beam_buf msg = BEAM_BUF_INIT;
  beam_error err = {0};
  for (;;) {
    bool eof = false;
    if (beam_grpc_stream_recv(ch->stream.call, &msg, &eof, &err) != BEAM_OK || eof) {
      mark_broken(ch, eof ? "the runner closed the state stream" : err.message);
      break;
    }
    FN(StateResponse) *r = FN_FN(state_response__unpack)(NULL, msg.len, msg.data);
    if (!r) {
      mark_broken(ch, "undecodable StateResponse");
      break;
    }
    deliver(ch, r);
    FN_FN(state_response__free_unpacked)(r, NULL);
  }
  beam_buf_free(&msg);
  return NULL;
}

beam_status beam_state_channel_open(const char *endpoint, const char *worker_id, beam_state_channel **out,
                                    beam_error *err) {
  beam_state_channel *ch = calloc(1, sizeof *ch);
  if (!ch || !(ch->endpoint = strdup(endpoint))) {
    free(ch);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  pthread_mutex_init(&ch->lock, NULL);
  beam_status s = beam_worker_stream_open(&ch->stream, endpoint, worker_id, FN_STATE_METHOD, err);
  if (s == BEAM_OK) s = beam_worker_stream_start_thread(&ch->stream, receive_loop, ch, "state receiver", err);
  if (s != BEAM_OK) {
    beam_state_channel_free(ch);
    return beam_error_prefix(err, "state channel %s: ", endpoint);
  }
  *out = ch;
  return BEAM_OK;
}

const char *beam_state_channel_endpoint(const beam_state_channel *ch) { return ch->endpoint; }

void beam_state_channel_cancel(beam_state_channel *ch) {
  beam_worker_stream_cancel(&ch->stream);
  mark_broken(ch, "the worker is shutting down");
}

void beam_state_channel_free(beam_state_channel *ch) {
  if (!ch) return;
  beam_worker_stream_end(&ch->stream);
  beam_worker_stream_close(&ch->stream);
  pthread_mutex_destroy(&ch->lock);
  free(ch->endpoint);
  free(ch);
}

/* Sends req (its id is filled in) and waits for the response into w. */
static beam_status round_trip(beam_state_channel *ch, FN(StateRequest) *req, waiter *w, beam_error *err) {
  snprintf(w->id, sizeof w->id, "s%" PRIuFAST64, atomic_fetch_add(&ch->next_id, 1) + 1);
  req->id = w->id;
  pthread_cond_init(&w->cond, NULL);
  size_t size = FN_FN(state_request__get_packed_size)(req);
  uint8_t *bytes = malloc(size ? size : 1);
  if (!bytes) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  FN_FN(state_request__pack)(req, bytes);
  pthread_mutex_lock(&ch->lock);
  w->next = ch->waiting;
  ch->waiting = w;
  pthread_mutex_unlock(&ch->lock);
  beam_status s = beam_grpc_stream_send(ch->stream.call, bytes, size, err);
  free(bytes);
  struct timespec deadline = beam_time_after_ms(CLOCK_REALTIME, STATE_TIMEOUT_S * 1000L);
  pthread_mutex_lock(&ch->lock);
  while (s == BEAM_OK && !w->done && !ch->broken)
    if (pthread_cond_timedwait(&w->cond, &ch->lock, &deadline) == ETIMEDOUT)
      s = beam_error_set(err, BEAM_ERR_IO, "no answer to state request %s in %d s", w->id, STATE_TIMEOUT_S);
  if (s == BEAM_OK && !w->done) s = beam_error_set(err, BEAM_ERR_IO, "%s", ch->broken_reason);
  for (waiter **p = &ch->waiting; *p; p = &(*p)->next)
    if (*p == w) {
      *p = w->next;
      break;
    }
  pthread_mutex_unlock(&ch->lock);
  pthread_cond_destroy(&w->cond);
  if (s == BEAM_OK && w->error) s = beam_error_set(err, BEAM_ERR_IO, "the runner refused a state request: %s", w->error);
  if (s != BEAM_OK) beam_error_prefix(err, "state channel %s: ", ch->endpoint);
  return s;
}

static void waiter_free(waiter *w) {
  free(w->error);
  beam_buf_free(&w->data);
  beam_buf_free(&w->continuation);
}

/* A request of the given kind about key, for instruction_id; the caller sets its payload. */
static FN(StateRequest) request_about(const char *instruction_id, const FN(StateKey) *key,
                                      FN(StateRequest__RequestCase) kind) {
  FN(StateRequest) req = FN_INIT(STATE_REQUEST);
  req.instruction_id = (char *)instruction_id;
  req.state_key = (FN(StateKey) *)key;
  req.request_case = kind;
  return req;
}

/* A round trip whose answer carries nothing but success or the runner's error. */
static beam_status round_trip_no_data(beam_state_channel *ch, FN(StateRequest) *req, beam_error *err) {
  waiter w = {0};
  beam_status s = round_trip(ch, req, &w, err);
  waiter_free(&w);
  return s;
}

beam_status beam_state_get(beam_state_channel *ch, const char *instruction_id, const FN(StateKey) *key,
                           beam_buf *out, beam_error *err) {
  beam_buf token = BEAM_BUF_INIT;
  beam_status s = BEAM_OK;
  do {
    FN(StateGetRequest) get = FN_INIT(STATE_GET_REQUEST);
    get.continuation_token.data = token.data;
    get.continuation_token.len = token.len;
    FN(StateRequest) req = request_about(instruction_id, key, FN_ENUM(STATE_REQUEST__REQUEST_GET));
    req.get = &get;
    waiter w = {0};
    s = round_trip(ch, &req, &w, err);
    if (s == BEAM_OK && beam_buf_append(out, w.data.data, w.data.len) != BEAM_OK)
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading state");
    beam_buf_reset(&token);
    if (s == BEAM_OK && beam_buf_append(&token, w.continuation.data, w.continuation.len) != BEAM_OK)
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory reading state");
    waiter_free(&w);
  } while (s == BEAM_OK && token.len);
  beam_buf_free(&token);
  return s;
}

beam_status beam_state_append(beam_state_channel *ch, const char *instruction_id, const FN(StateKey) *key,
                              const uint8_t *data, size_t len, beam_error *err) {
  FN(StateAppendRequest) append = FN_INIT(STATE_APPEND_REQUEST);
  append.data.data = (uint8_t *)data;
  append.data.len = len;
  FN(StateRequest) req = request_about(instruction_id, key, FN_ENUM(STATE_REQUEST__REQUEST_APPEND));
  req.append = &append;
  return round_trip_no_data(ch, &req, err);
}

beam_status beam_state_clear(beam_state_channel *ch, const char *instruction_id, const FN(StateKey) *key,
                             beam_error *err) {
  FN(StateClearRequest) clear = FN_INIT(STATE_CLEAR_REQUEST);
  FN(StateRequest) req = request_about(instruction_id, key, FN_ENUM(STATE_REQUEST__REQUEST_CLEAR));
  req.clear = &clear;
  return round_trip_no_data(ch, &req, err);
}
