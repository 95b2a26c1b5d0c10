/* Cancel a portable job on Ctrl-C (see portable_cancel.h). The handler only sets a flag; the
 * watch thread makes the RPC, and the message stream then reports CANCELLED as usual. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_names.h"
#include "portable_cancel.h"
#include "time_after.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

struct beam_cancel_watch {
  beam_grpc_channel *ch;
  char *job_id;
  bool quiet;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t stop_cond;
  bool stop;
  struct sigaction old_int, old_term;
};

static void cancel_job(beam_cancel_watch *w) {
  JOB(CancelJobRequest) req = JOB_INIT(CANCEL_JOB_REQUEST);
  req.job_id = w->job_id;
  uint8_t body[1024];
  if (JOB_FN(cancel_job_request__get_packed_size)(&req) > sizeof body) return;
  size_t len = JOB_FN(cancel_job_request__pack)(&req, body);
  beam_buf resp = BEAM_BUF_INIT;
  beam_error err = {0};
  if (!w->quiet) fprintf(stderr, "interrupted: cancelling job %s\n", w->job_id);
  if (beam_grpc_unary(w->ch, JOB_SERVICE "Cancel", body, len, 30000, &resp, &err) != BEAM_OK)
    fprintf(stderr, "cannot cancel job %s: %s\n", w->job_id, err.message);
  beam_buf_free(&resp);
}

static void *watch(void *arg) {
  beam_cancel_watch *w = arg;
  bool cancelled = false;
  pthread_mutex_lock(&w->lock);
  while (!w->stop) {
    if (interrupted && !cancelled) {
      cancelled = true;
      pthread_mutex_unlock(&w->lock);
      cancel_job(w);
      pthread_mutex_lock(&w->lock);
      continue;
    }
    struct timespec t = beam_time_after_ms(CLOCK_REALTIME, 100);
    pthread_cond_timedwait(&w->stop_cond, &w->lock, &t);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

beam_cancel_watch *beam_cancel_watch_start(beam_grpc_channel *ch, const char *job_id, bool quiet) {
  beam_cancel_watch *w = calloc(1, sizeof *w);
  if (!w || !(w->job_id = strdup(job_id))) return free(w), NULL;
  w->ch = ch;
  w->quiet = quiet;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->stop_cond, NULL);
  interrupted = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &w->old_int);
  sigaction(SIGTERM, &sa, &w->old_term);
  if (pthread_create(&w->thread, NULL, watch, w) != 0) {
    sigaction(SIGINT, &w->old_int, NULL);
    sigaction(SIGTERM, &w->old_term, NULL);
    free(w->job_id);
    free(w);
    return NULL;
  }
  return w;
}

void beam_cancel_watch_stop(beam_cancel_watch *w) {
  if (!w) return;
  pthread_mutex_lock(&w->lock);
  w->stop = true;
  pthread_cond_signal(&w->stop_cond);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  sigaction(SIGINT, &w->old_int, NULL);
  sigaction(SIGTERM, &w->old_term, NULL);
  pthread_cond_destroy(&w->stop_cond);
  pthread_mutex_destroy(&w->lock);
  free(w->job_id);
  free(w);
}
