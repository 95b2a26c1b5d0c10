/* The local runner's streaming mode: a pipeline read from an unbounded source runs its
 * element-wise transforms bundle by bundle on several threads; a batch is acknowledged only
 * after its bundle finished; a failing bundle is retried until it succeeds; max_idle_s and
 * SIGTERM end the run with every pulled batch committed and acknowledged; what the mode cannot
 * run (a GroupByKey, a source nobody registered) is refused, naming it. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "beam/dofn.h"
#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/stream_source.h"
#include "beam/urns.h"

/* --- an in-memory source: messages "m<i>" for i < total ------------------------------ */

enum { MAX_MESSAGES = 4096 };

typedef struct queue {
  pthread_mutex_t mu;
  int total, next;           /* messages not yet handed out start at next (then the nacked) */
  int nacked[MAX_MESSAGES];
  int n_nacked;
  int acked[MAX_MESSAGES];   /* times each message was acknowledged */
  int committed[MAX_MESSAGES]; /* times a bundle holding it finished (the DoFn says) */
  bool acked_before_commit;
  int opened, closed;
} queue;

static queue q = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct token {
  int ids[MAX_MESSAGES];
  beam_stream_element items[MAX_MESSAGES];
  char text[MAX_MESSAGES][16];
} token;

static beam_status q_open(const uint8_t *payload, size_t len, const json_t *options, void **src, beam_error *err) {
  (void)payload, (void)len, (void)options, (void)err;
  q.opened++;
  *src = &q;
  return BEAM_OK;
}

static int take_one(void) {
  if (q.n_nacked) return q.nacked[--q.n_nacked];
  return q.next < q.total ? q.next++ : -1;
}

static atomic_int pulls, fail_pull_at; /* the pull of that number fails (0: none) */
/* Per thread: it set up its DoFns / it pulled messages before doing so; and how often a setup
 * came after its thread had pulled messages (they waited for it). */
static _Thread_local bool thread_set_up, thread_pulled_first;
static atomic_int setups_after_pull;

static beam_status q_pull(void *src, size_t max, size_t max_bytes, int wait_ms, beam_stream_batch *b, beam_error *err) {
  (void)src, (void)max_bytes;
  if (atomic_fetch_add(&pulls, 1) + 1 == atomic_load(&fail_pull_at))
    return beam_error_set(err, BEAM_ERR_IO, "the subscription went away");
  token *t = calloc(1, sizeof *t);
  b->token = t;
  b->items = t->items;
  pthread_mutex_lock(&q.mu);
  for (int id; b->n < max && (id = take_one()) >= 0; b->n++) {
    t->ids[b->n] = id;
    int n = snprintf(t->text[b->n], sizeof t->text[b->n], "m%d", id);
    t->items[b->n] = (beam_stream_element){(const uint8_t *)t->text[b->n], (size_t)n, 1000 + id};
  }
  pthread_mutex_unlock(&q.mu);
  if (b->n && !thread_set_up) thread_pulled_first = true;
  if (!b->n) {
    struct timespec ts = {0, (long)(wait_ms < 20 ? wait_ms : 20) * 1000000L};
    nanosleep(&ts, NULL);
  }
  return BEAM_OK;
}

static beam_status q_ack(void *src, beam_stream_batch *b, beam_error *err) {
  (void)src, (void)err;
  token *t = b->token;
  pthread_mutex_lock(&q.mu);
  for (size_t i = 0; i < b->n; i++) {
    q.acked[t->ids[i]]++;
    if (!q.committed[t->ids[i]]) q.acked_before_commit = true;
  }
  pthread_mutex_unlock(&q.mu);
  free(t);
  return BEAM_OK;
}

static void q_nack(void *src, beam_stream_batch *b) {
  (void)src;
  token *t = b->token;
  pthread_mutex_lock(&q.mu);
  for (size_t i = 0; i < b->n; i++) q.nacked[q.n_nacked++] = t->ids[i];
  pthread_mutex_unlock(&q.mu);
  free(t);
}

static void q_close(void *src) {
  (void)src;
  q.closed++;
}

static const beam_stream_source_ops queue_source = {BEAM_URN_PUBSUB_READ, q_open, q_pull, q_ack, q_nack, q_close};

static void reset_queue(int total) {
  pthread_mutex_lock(&q.mu);
  q.total = total;
  q.next = q.n_nacked = q.opened = q.closed = 0;
  q.acked_before_commit = false;
  memset(q.acked, 0, sizeof q.acked);
  memset(q.committed, 0, sizeof q.committed);
  pthread_mutex_unlock(&q.mu);
}

/* --- the DoFn: collects a bundle's messages and "commits" them at finish_bundle ---------- */

static atomic_int failures_left; /* finish_bundle fails while positive */
static atomic_int stop_after;    /* raise SIGTERM once this many messages were processed (0: never) */
static atomic_int processed;

typedef struct collect_state {
  int ids[MAX_MESSAGES];
  size_t n;
} collect_state;

static beam_status collect_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  (void)ctx, (void)err;
  ((collect_state *)state)->n = 0;
  return BEAM_OK;
}

static beam_status collect_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *e, beam_error *err) {
  (void)ctx;
  collect_state *st = state;
  char text[16];
  snprintf(text, sizeof text, "%.*s", (int)e->value->u.bytes.len, (const char *)e->value->u.bytes.data);
  int id = atoi(text + 1);
  if (e->timestamp_ms != 1000 + id) return beam_error_set(err, BEAM_ERR_INTERNAL, "wrong timestamp");
  st->ids[st->n++] = id;
  int seen = atomic_fetch_add(&processed, 1) + 1;
  if (atomic_load(&stop_after) && seen == atomic_load(&stop_after)) kill(getpid(), SIGTERM); /* as a user would */
  return BEAM_OK;
}

static beam_status collect_finish(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  (void)ctx;
  collect_state *st = state;
  if (atomic_fetch_sub(&failures_left, 1) > 0) return beam_error_set(err, BEAM_ERR_IO, "the destination is down");
  pthread_mutex_lock(&q.mu);
  for (size_t i = 0; i < st->n; i++) q.committed[st->ids[i]]++;
  pthread_mutex_unlock(&q.mu);
  return BEAM_OK;
}

static atomic_int setups, fail_setup_from; /* setup fails from that call on (0: never) */

static beam_status collect_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  (void)state, (void)ctx;
  int n = atomic_fetch_add(&setups, 1) + 1;
  if (thread_pulled_first) atomic_fetch_add(&setups_after_pull, 1);
  thread_set_up = true;
  if (atomic_load(&fail_setup_from) && n >= atomic_load(&fail_setup_from))
    return beam_error_set(err, BEAM_ERR_IO, "cannot connect to the destination");
  return BEAM_OK;
}

static const beam_dofn_def collect = {"stream_collect", sizeof(collect_state), collect_setup, collect_start,
                                      collect_process, collect_finish, NULL};

static beam_pipeline *stream_pipeline(bool with_group) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pubsub_read_spec spec = {.subscription = "projects/p/subscriptions/s"};
  beam_pcollection *in = beam_pubsub_read(p, "Read", &spec);
  beam_pcollection *out = beam_pardo1(p, "Collect", in, "stream_collect", NULL, beam_coder_spec_bytes(p));
  if (with_group) {
    beam_pcollection *w = beam_window_into_fixed(p, "Window", out, 1000, 0);
    beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_bytes(p), beam_coder_spec_bytes(p));
    beam_group_by_key(p, "Group", beam_pardo1(p, "Key", w, "stream_collect", NULL, kv));
  }
  return p;
}

static beam_status run(beam_pipeline *p, int parallelism, beam_run_result *r, beam_error *err) {
  json_t *opts = json_pack("{s:i, s:i, s:i, s:i}", "parallelism", parallelism, "bundle_max_records", 50,
                           "bundle_max_ms", 20, "max_idle_s", 1);
  beam_status s = beam_pipeline_run_local(p, opts, r, err);
  json_decref(opts);
  return s;
}

static int setup(void **state) {
  (void)state;
  beam_dofn_register(&collect);
  return beam_stream_source_register(&queue_source, NULL) == BEAM_OK ? 0 : -1;
}

/* Every message once, acknowledged once and only after its bundle committed, on 2 threads;
 * idle for max_idle_s ends the run. */
static void every_message_once_acked_after_commit(void **state) {
  (void)state;
  reset_queue(1000);
  atomic_store(&failures_left, 0);
  atomic_store(&stop_after, 0);
  beam_pipeline *p = stream_pipeline(false);
  beam_run_result r;
  beam_error err = {0};
  assert_int_equal(run(p, 2, &r, &err), BEAM_OK);
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(q.committed[i], 1);
    assert_int_equal(q.acked[i], 1);
  }
  assert_false(q.acked_before_commit);
  assert_int_equal(q.opened, 1);
  assert_int_equal(q.closed, 1);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

/* Each thread sets up before it pulls, so no pulled message waits for a setup (a sink
 * loading a large ledger takes seconds). */
static void threads_set_up_before_they_pull(void **state) {
  (void)state;
  reset_queue(1000);
  atomic_store(&failures_left, 0);
  atomic_store(&stop_after, 0);
  atomic_store(&setups, 0);
  atomic_store(&setups_after_pull, 0);
  beam_pipeline *p = stream_pipeline(false);
  beam_run_result r;
  beam_error err = {0};
  assert_int_equal(run(p, 2, &r, &err), BEAM_OK);
  assert_int_equal(atomic_load(&setups), 2);
  assert_int_equal(atomic_load(&setups_after_pull), 0);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

/* A destination outage: the bundle fails three times, nothing is acknowledged meanwhile, and
 * the retry commits it; every message still ends committed and acknowledged once. */
static void failed_bundle_is_retried_until_it_commits(void **state) {
  (void)state;
  reset_queue(120);
  atomic_store(&failures_left, 3);
  atomic_store(&stop_after, 0);
  beam_pipeline *p = stream_pipeline(false);
  beam_run_result r;
  beam_error err = {0};
  assert_int_equal(run(p, 1, &r, &err), BEAM_OK);
  for (int i = 0; i < 120; i++) {
    assert_int_equal(q.committed[i], 1);
    assert_int_equal(q.acked[i], 1);
  }
  assert_false(q.acked_before_commit);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

/* SIGTERM drains: the bundles in flight commit and are acknowledged, nothing more is pulled,
 * the run ends OK, and the rest stays in the subscription. */
static void sigterm_drains(void **state) {
  (void)state;
  reset_queue(MAX_MESSAGES);
  atomic_store(&failures_left, 0);
  atomic_store(&processed, 0);
  atomic_store(&stop_after, 120);
  beam_pipeline *p = stream_pipeline(false);
  beam_run_result r;
  beam_error err = {0};
  /* max_idle_s only bounds the test should the signal be lost: the signal must end the run
   * long before the queue runs dry. */
  json_t *opts = json_pack("{s:i, s:i, s:i, s:i}", "parallelism", 2, "bundle_max_records", 50, "bundle_max_ms", 20,
                           "max_idle_s", 20);
  assert_int_equal(beam_pipeline_run_local(p, opts, &r, &err), BEAM_OK);
  json_decref(opts);
  int acked = 0;
  for (int i = 0; i < MAX_MESSAGES; i++) {
    assert_int_equal(q.acked[i], q.committed[i]);
    assert_true(q.acked[i] <= 1);
    acked += q.acked[i];
  }
  assert_true(acked >= 120 && acked < MAX_MESSAGES);
  atomic_store(&stop_after, 0);
  beam_run_result_free(&r);
  beam_pipeline_free(p);
}

/* A thread whose graph cannot be built fails the run: its batch goes back, the other thread
 * stops pulling (no hang without max_idle_s), nothing is acknowledged uncommitted. */
static void failure_on_one_thread_ends_the_run(void **state) {
  (void)state;
  reset_queue(MAX_MESSAGES);
  atomic_store(&failures_left, 0);
  atomic_store(&stop_after, 0);
  atomic_store(&setups, 0);
  atomic_store(&fail_setup_from, 2);
  beam_pipeline *p = stream_pipeline(false);
  beam_run_result r;
  beam_error err = {0};
  json_t *opts = json_pack("{s:i, s:i, s:i}", "parallelism", 2, "bundle_max_records", 50, "bundle_max_ms", 20);
  assert_int_equal(beam_pipeline_run_local(p, opts, &r, &err), BEAM_ERR_IO);
  json_decref(opts);
  assert_non_null(strstr(err.message, "cannot connect to the destination"));
  for (int i = 0; i < MAX_MESSAGES; i++) assert_int_equal(q.acked[i], q.committed[i]);
  assert_int_equal(q.closed, 1);
  atomic_store(&fail_setup_from, 0);
  /* A source that fails on one thread stops the other as well. */
  reset_queue(MAX_MESSAGES);
  atomic_store(&pulls, 0);
  atomic_store(&fail_pull_at, 5);
  opts = json_pack("{s:i, s:i, s:i}", "parallelism", 2, "bundle_max_records", 50, "bundle_max_ms", 20);
  assert_int_equal(beam_pipeline_run_local(p, opts, &r, &err), BEAM_ERR_IO);
  json_decref(opts);
  assert_non_null(strstr(err.message, "the subscription went away"));
  for (int i = 0; i < MAX_MESSAGES; i++) assert_int_equal(q.acked[i], q.committed[i]);
  atomic_store(&fail_pull_at, 0);
  beam_pipeline_free(p);
}

/* What streaming cannot run locally is refused before a message is pulled. */
static void group_by_key_is_refused(void **state) {
  (void)state;
  reset_queue(10);
  beam_pipeline *p = stream_pipeline(true);
  beam_run_result r;
  beam_error err = {0};
  assert_int_equal(run(p, 1, &r, &err), BEAM_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "transform \"Group\" needs its whole input"));
  assert_int_equal(q.next, 0);
  beam_pipeline_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_message_once_acked_after_commit),
      cmocka_unit_test(threads_set_up_before_they_pull),
      cmocka_unit_test(failed_bundle_is_retried_until_it_commits),
      cmocka_unit_test(sigterm_drains),
      cmocka_unit_test(failure_on_one_thread_ends_the_run),
      cmocka_unit_test(group_by_key_is_refused),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
