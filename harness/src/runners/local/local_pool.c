/* Worker threads of the local runner (see local_pool.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "local_pool.h"

typedef struct pool {
  beam_pool_work work;
  void *ctx;
  atomic_bool stop;
  pthread_mutex_t mu;
  beam_status status; /* the first failure */
  beam_error *err;
} pool;

typedef struct worker_arg {
  pool *p;
  size_t index;
} worker_arg;

static void *worker_main(void *arg) {
  worker_arg *w = arg;
  pool *p = w->p;
  beam_error err = {0};
  bool more = true;
  while (more && !atomic_load(&p->stop)) {
    beam_status s = p->work(p->ctx, w->index, &more, &err);
    if (s == BEAM_OK) continue;
    pthread_mutex_lock(&p->mu);
    if (p->status == BEAM_OK) {
      p->status = s;
      *p->err = err;
    }
    pthread_mutex_unlock(&p->mu);
    atomic_store(&p->stop, true);
  }
  return NULL;
}

beam_status beam_pool_run(size_t n_workers, beam_pool_work work, void *ctx, beam_error *err) {
  pool p = {.work = work, .ctx = ctx, .status = BEAM_OK, .err = err};
  atomic_init(&p.stop, false);
  pthread_mutex_init(&p.mu, NULL);
  if (n_workers < 1) n_workers = 1;
  worker_arg *args = calloc(n_workers, sizeof *args);
  pthread_t *threads = calloc(n_workers, sizeof *threads);
  bool *started = calloc(n_workers, sizeof *started);
  if (!args || !threads || !started) {
    free(args), free(threads), free(started);
    pthread_mutex_destroy(&p.mu);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n_workers; i++) args[i] = (worker_arg){&p, i};
  /* Worker 0 is the calling thread: one worker means no thread at all. */
  for (size_t i = 1; i < n_workers; i++) started[i] = pthread_create(&threads[i], NULL, worker_main, &args[i]) == 0;
  worker_main(&args[0]);
  for (size_t i = 1; i < n_workers; i++)
    if (started[i]) pthread_join(threads[i], NULL);
  free(args), free(threads), free(started);
  pthread_mutex_destroy(&p.mu);
  return p.status;
}
