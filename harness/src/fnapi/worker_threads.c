/* The worker's bundle threads: runners send several ProcessBundle requests at once (one per
 * stage with work, and more for splits), and each blocks on its own data. Threads are made
 * on demand up to MAX_THREADS and then requests queue. */
#include <stdlib.h>

#include "worker_internal.h"

enum { MAX_THREADS = 32 };

static void *thread_main(void *arg) {
  beam_worker *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->queue_head && !w->stopping) {
      w->n_idle_threads++;
      pthread_cond_wait(&w->work_ready, &w->lock);
      w->n_idle_threads--;
    }
    if (!w->queue_head) break;
    beam_worker_task *task = w->queue_head;
    w->queue_head = task->next;
    if (!w->queue_head) w->queue_tail = NULL;
    w->n_running++;
    pthread_mutex_unlock(&w->lock);
    beam_worker_execute(w, task->request);
    free(task);
    pthread_mutex_lock(&w->lock);
    w->n_running--;
    pthread_cond_broadcast(&w->work_done);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

beam_status beam_worker_submit(beam_worker *w, FN(InstructionRequest) *req, beam_error *err) {
  beam_worker_task *task = calloc(1, sizeof *task);
  if (!task) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory queueing a bundle");
  task->request = req;
  pthread_mutex_lock(&w->lock);
  if (w->n_idle_threads == 0 && w->n_threads < MAX_THREADS) {
    pthread_t *grown = realloc(w->threads, (w->n_threads + 1) * sizeof *grown);
    if (grown) w->threads = grown;
    if (grown && pthread_create(&w->threads[w->n_threads], NULL, thread_main, w) == 0) w->n_threads++;
    else if (w->n_threads == 0) {
      pthread_mutex_unlock(&w->lock);
      free(task);
      return beam_error_set(err, BEAM_ERR_INTERNAL, "cannot start a bundle thread");
    }
  }
  if (w->queue_tail) w->queue_tail->next = task;
  else w->queue_head = task;
  w->queue_tail = task;
  pthread_cond_signal(&w->work_ready);
  pthread_mutex_unlock(&w->lock);
  return BEAM_OK;
}

void beam_worker_threads_stop(beam_worker *w) {
  pthread_mutex_lock(&w->lock);
  w->stopping = true;
  pthread_cond_broadcast(&w->work_ready);
  pthread_mutex_unlock(&w->lock);
  for (size_t i = 0; i < w->n_threads; i++) pthread_join(w->threads[i], NULL);
  free(w->threads);
  w->threads = NULL;
  w->n_threads = 0;
  for (beam_worker_task *t = w->queue_head, *next; t; t = next) {
    next = t->next;
    FN_FN(instruction_request__free_unpacked)(t->request, NULL);
    free(t);
  }
  w->queue_head = w->queue_tail = NULL;
}
