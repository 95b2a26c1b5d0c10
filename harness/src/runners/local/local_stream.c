/* The local runner's streaming mode (see local_stream.h). */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beam/log.h"
#include "beam/urns.h"
#include "local_stream.h"
#include "proto_lookup.h"

enum { DEFAULT_BUNDLE_MAX_RECORDS = 1000, DEFAULT_BUNDLE_MAX_MS = 1000, MAX_BACKOFF_MS = 30000 };
/* A bundle's batch is cut by bytes too, so one bundle of large messages stays small. */
#define BUNDLE_MAX_BYTES ((size_t)64 << 20)

struct beam_local_stream {
  const beam_stream_source_ops *ops;
  void *src;
  size_t max_records;
  int max_ms;
  int64_t max_idle_ms;            /* 0: none */
  _Atomic int64_t last_element_ms; /* monotonic time of the last element pulled */
  atomic_bool failed;              /* a bundle failed for good: the run stops */
  struct sigaction old_int, old_term;
};

/* One flag for the process: a signal stops every streaming run in it. A lock-free atomic,
 * so that the handler may set it and every worker thread read it. */
static atomic_int stop_requested;

static void on_stop_signal(int sig) {
  (void)sig;
  atomic_store(&stop_requested, 1);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *beam_local_stream_read(const PIPE(Components) *c, const char *const *leaves, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const PIPE(PTransform) *t = beam_proto_find_transform(c, leaves[i]);
    const char *urn = t && t->spec ? t->spec->urn : "";
    if (strcmp(urn, BEAM_URN_PUBSUB_READ) == 0 || beam_stream_source_find(urn)) return leaves[i];
  }
  return NULL;
}

/* Why the streaming mode cannot run leaf t, or NULL when it can. */
static const char *unsupported(const PIPE(PTransform) *t) {
  const char *urn = t->spec ? t->spec->urn : "";
  if (strcmp(urn, BEAM_URN_FLATTEN) == 0 || strcmp(urn, BEAM_URN_WINDOW_INTO) == 0) return NULL;
  if (strcmp(urn, BEAM_URN_PARDO) != 0) return "needs its whole input";
  PIPE(ParDoPayload) *p = PIPE_FN(par_do_payload__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
  const char *why = !p ? "has a ParDo payload that does not decode"
                    : p->n_side_inputs ? "reads a side input"
                    : p->n_state_specs || p->n_timer_family_specs ? "keeps state or timers"
                                                                   : NULL;
  if (p) PIPE_FN(par_do_payload__free_unpacked)(p, NULL);
  return why;
}

beam_status beam_local_stream_plan(const PIPE(Components) *c, const char *const *leaves, size_t n, const char *read,
                                   beam_local_plan *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  const PIPE(PTransform) *r = beam_proto_find_transform(c, read);
  if (!r || r->n_outputs != 1)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the unbounded read \"%s\" must have one output", read);
  out->stages = calloc(1, sizeof *out->stages);
  beam_local_stage *st = out->stages;
  st->ids = st ? beam_arena_calloc(&out->arena, n + 1, sizeof *st->ids) : NULL;
  st = st && st->ids ? st : NULL;
  if (st) st->sources = calloc(1, sizeof *st->sources);
  if (!st || !st->sources) {
    beam_local_plan_free(out);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  out->n_stages = 1;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(leaves[i], read) == 0) continue;
    const PIPE(PTransform) *t = beam_proto_find_transform(c, leaves[i]);
    const char *why = t ? unsupported(t) : "is not in the pipeline";
    if (why) {
      beam_local_plan_free(out);
      return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                            "the local runner streams a pipeline of element-wise transforms after its read \"%s\": "
                            "transform \"%s\" %s",
                            read, leaves[i], why);
    }
    st->ids[st->n_ids++] = leaves[i];
  }
  st->sources[0] = (beam_local_source){.kind = BEAM_LOCAL_SOURCE_STREAM, .pcollection_id = r->outputs[0]->value};
  st->n_sources = 1;
  return BEAM_OK;
}

/* A non-negative integer option, or def when absent. */
static beam_status int_option(const json_t *options, const char *name, int64_t def, int64_t max, int64_t *out,
                              beam_error *err) {
  const json_t *v = json_object_get(options, name);
  *out = def;
  if (!v || json_is_null(v)) return BEAM_OK;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: expected an integer from 0 to %lld", name, (long long)max);
  *out = json_integer_value(v);
  return BEAM_OK;
}

static beam_status read_options(beam_local_stream *s, const json_t *options, beam_error *err) {
  int64_t records, ms, idle;
  beam_status st = int_option(options, "bundle_max_records", DEFAULT_BUNDLE_MAX_RECORDS, 1 << 20, &records, err);
  if (st == BEAM_OK) st = int_option(options, "bundle_max_ms", DEFAULT_BUNDLE_MAX_MS, 3600000, &ms, err);
  if (st == BEAM_OK) st = int_option(options, "max_idle_s", 0, 365LL * 86400, &idle, err);
  if (st != BEAM_OK) return st;
  s->max_records = records ? (size_t)records : 1;
  s->max_ms = ms ? (int)ms : 1;
  s->max_idle_ms = idle * 1000;
  return BEAM_OK;
}

beam_status beam_local_stream_open(const PIPE(Components) *c, const char *read, const json_t *options,
                                   beam_local_stream **out, beam_error *err) {
  *out = NULL;
  const PIPE(PTransform) *t = beam_proto_find_transform(c, read);
  const char *urn = t && t->spec ? t->spec->urn : "";
  const beam_stream_source_ops *ops = beam_stream_source_find(urn);
  if (!ops)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                          "transform \"%s\" reads %s, and no stream source for it is registered in this program "
                          "(beam_stream_source_register)",
                          read, urn);
  beam_local_stream *s = calloc(1, sizeof *s);
  if (!s) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  s->ops = ops;
  beam_status st = read_options(s, options, err);
  if (st == BEAM_OK) st = ops->open(t->spec->payload.data, t->spec->payload.len, options, &s->src, err);
  if (st != BEAM_OK) {
    free(s);
    return st;
  }
  atomic_init(&s->last_element_ms, now_ms());
  atomic_init(&s->failed, false);
  atomic_store(&stop_requested, 0);
  struct sigaction sa = {0};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESTART; /* blocking calls on the thread the signal lands on go on */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &s->old_int);
  sigaction(SIGTERM, &sa, &s->old_term);
  *out = s;
  return BEAM_OK;
}

static bool stopping(beam_local_stream *s) {
  if (atomic_load(&stop_requested) || atomic_load(&s->failed)) return true;
  return s->max_idle_ms && now_ms() - atomic_load(&s->last_element_ms) >= s->max_idle_ms;
}

beam_status beam_local_stream_next(beam_local_stream *s, beam_stream_batch *batch, bool *more, beam_error *err) {
  memset(batch, 0, sizeof *batch);
  for (;;) {
    if (stopping(s)) {
      *more = false;
      return BEAM_OK;
    }
    beam_status st = s->ops->pull(s->src, s->max_records, BUNDLE_MAX_BYTES, s->max_ms, batch, err);
    if (st != BEAM_OK) return st;
    if (batch->n) {
      atomic_store(&s->last_element_ms, now_ms());
      *more = true;
      return BEAM_OK;
    }
    s->ops->nack(s->src, batch); /* releases an empty batch's token */
    memset(batch, 0, sizeof *batch);
  }
}

beam_status beam_local_stream_ack(beam_local_stream *s, beam_stream_batch *batch, beam_error *err) {
  beam_status st = s->ops->ack(s->src, batch, err);
  memset(batch, 0, sizeof *batch);
  return st;
}

void beam_local_stream_fail(beam_local_stream *s, beam_stream_batch *batch) {
  atomic_store(&s->failed, true);
  if (batch->n || batch->token) s->ops->nack(s->src, batch);
  memset(batch, 0, sizeof *batch);
}

/* A signal, or another thread's bundle failed for good (not idleness: a bundle in retries
 * is not idle). */
static bool stopping_now(beam_local_stream *s) {
  return atomic_load(&stop_requested) || atomic_load(&s->failed);
}

bool beam_local_stream_retry(beam_local_stream *s, beam_stream_batch *batch, int attempt, const beam_error *failure) {
  int64_t wait = 100;
  for (int i = 0; i < attempt && wait < MAX_BACKOFF_MS; i++) wait *= 2;
  if (wait > MAX_BACKOFF_MS) wait = MAX_BACKOFF_MS;
  beam_log(BEAM_LOG_WARN, "a bundle of %zu elements failed (attempt %d): %s; %s", batch->n, attempt + 1,
           failure->message, stopping_now(s) ? "stopping: its elements are given back" : "retrying");
  for (int64_t slept = 0; slept < wait && !stopping_now(s); slept += 50) {
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
  if (!stopping_now(s)) return true;
  s->ops->nack(s->src, batch);
  memset(batch, 0, sizeof *batch);
  return false;
}

beam_status beam_local_stream_feed(const beam_stream_batch *batch, const beam_coder *coder, beam_arena *arena,
                                   beam_exec_output *out, beam_error *err) {
  static beam_window global = {BEAM_WINDOW_GLOBAL, 0, 0, {NULL, 0}};
  for (size_t i = 0; i < batch->n; i++) {
    const beam_stream_element *e = &batch->items[i];
    beam_value *v = beam_arena_calloc(arena, 1, sizeof *v);
    if (!v) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    beam_reader r = beam_reader_make(e->data, e->len);
    beam_status s = beam_coder_decode(coder, &r, false, arena, v, err);
    if (s != BEAM_OK) return beam_error_prefix(err, "decoding a streamed element: ");
    beam_windowed_value wv = {v, e->timestamp_ms, &global, 1, BEAM_PANE_NO_FIRING};
    s = beam_exec_emit(out, &wv, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

void beam_local_stream_close(beam_local_stream *s) {
  if (!s) return;
  sigaction(SIGINT, &s->old_int, NULL);
  sigaction(SIGTERM, &s->old_term, NULL);
  s->ops->close(s->src);
  free(s);
}
