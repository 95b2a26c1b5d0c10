/* BeamFnExternalWorkerPool: starts one worker process per StartWorker (see worker_pool.h).
 *
 * The gRPC handlers run on the server's one serve thread and never block: StartWorker
 * spawns and returns, StopWorker sends SIGTERM and returns. A monitor thread does the
 * waiting: it reaps the pool's own children (waitpid on each pid, never on -1, so the host
 * program's other children are left alone) and sends SIGKILL to a stopped worker still
 * alive after the grace period. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "beam/worker_pool.h"
#include "fn_names.h"
#include "grpc_server.h"
#include "time_after.h"

extern char **environ;

enum { DEFAULT_GRACE_MS = 5000, MONITOR_TICK_MS = 50 };

typedef struct worker {
  struct worker *next;
  char *id;
  pid_t pid;
  bool stopping;           /* SIGTERM sent */
  bool killed;             /* SIGKILL sent */
  struct timespec kill_at; /* CLOCK_MONOTONIC */
} worker;

struct beam_worker_pool {
  beam_grpc_server *server;
  char **argv; /* NULL-terminated copy of worker_argv */
  size_t argc;
  bool quiet;
  int grace_ms;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled when a worker is reaped or on stop */
  worker *workers;     /* started, not yet reaped */
  bool closing;        /* the monitor thread ends */
  bool stop_requested; /* beam_worker_pool_wait returns */
  pthread_t monitor;
  bool monitor_started;
};

static bool mono_passed(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void worker_free(worker *w) {
  free(w->id);
  free(w);
}

/* SIGTERM now, SIGKILL at the deadline (the monitor sends it). Called with the lock held. */
static void terminate_locked(beam_worker_pool *p, worker *w) {
  if (w->stopping) return;
  w->stopping = true;
  w->kill_at = beam_time_after_ms(CLOCK_MONOTONIC, p->grace_ms);
  kill(w->pid, SIGTERM);
}

static void log_exit(const beam_worker_pool *p, const worker *w, int status, bool unknown) {
  if (p->quiet) return;
  if (unknown)
    fprintf(stderr, "beam worker pool: worker %s (pid %ld) ended (status unknown)\n", w->id, (long)w->pid);
  else if (WIFEXITED(status))
    fprintf(stderr, "beam worker pool: worker %s (pid %ld) exited with status %d\n", w->id, (long)w->pid,
            WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    fprintf(stderr, "beam worker pool: worker %s (pid %ld) %s by signal %d%s\n", w->id, (long)w->pid,
            w->stopping ? "stopped" : "killed", WTERMSIG(status),
            w->killed ? " after the grace period" : "");
}

/* Reaps the workers that ended and escalates overdue stops. Called with the lock held. */
static void reap_locked(beam_worker_pool *p) {
  bool reaped = false;
  for (worker **link = &p->workers; *link;) {
    worker *w = *link;
    int status = 0;
    pid_t r = waitpid(w->pid, &status, WNOHANG);
    if (r == w->pid || (r < 0 && errno == ECHILD)) { /* ECHILD: SIGCHLD ignored, reaped by the kernel */
      log_exit(p, w, status, r < 0);
      *link = w->next;
      worker_free(w);
      reaped = true;
      continue;
    }
    if (w->stopping && !w->killed && mono_passed(&w->kill_at)) {
      kill(w->pid, SIGKILL);
      w->killed = true;
    }
    link = &w->next;
  }
  if (reaped) pthread_cond_broadcast(&p->cond);
}

static void *monitor_main(void *arg) {
  beam_worker_pool *p = arg;
  pthread_mutex_lock(&p->lock);
  while (!p->closing) {
    reap_locked(p);
    struct timespec tick = beam_time_after_ms(CLOCK_MONOTONIC, MONITOR_TICK_MS);
    pthread_cond_timedwait(&p->cond, &p->lock, &tick);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* Appends "--name=value" unless value is absent (an endpoint the request did not carry). */
static bool add_flag(char **argv, size_t *n, const char *name, const char *value) {
  if (!value || !*value) return true;
  size_t len = strlen(name) + strlen(value) + 4;
  char *flag = malloc(len);
  if (!flag) return false;
  snprintf(flag, len, "--%s=%s", name, value);
  argv[(*n)++] = flag;
  return true;
}

static const char *url_of(const Org__Apache__Beam__Model__Pipeline__V1__ApiServiceDescriptor *d) {
  return d && d->url && *d->url ? d->url : NULL;
}

/* Starts the worker; on failure writes the reason to why. */
static bool spawn_worker(beam_worker_pool *p, const FN(StartWorkerRequest) * req, char *why, size_t why_len) {
  const char *id = req->worker_id ? req->worker_id : "";
  if (!*id) return snprintf(why, why_len, "StartWorker: no worker_id"), false;
  if (!url_of(req->provision_endpoint))
    return snprintf(why, why_len, "StartWorker %s: no provision_endpoint", id), false;
  worker *w = calloc(1, sizeof *w);
  char **argv = calloc(p->argc + 6, sizeof *argv);
  size_t n = p->argc;
  bool ok = w && argv && (w->id = strdup(id)) != NULL;
  if (ok) {
    memcpy(argv, p->argv, p->argc * sizeof *argv);
    ok = add_flag(argv, &n, "id", id) && add_flag(argv, &n, "provision_endpoint", url_of(req->provision_endpoint)) &&
         add_flag(argv, &n, "control_endpoint", url_of(req->control_endpoint)) &&
         add_flag(argv, &n, "logging_endpoint", url_of(req->logging_endpoint)) &&
         add_flag(argv, &n, "artifact_endpoint", url_of(req->artifact_endpoint));
  }
  int rc = ok ? 0 : ENOMEM;
  if (ok) {
    /* The child starts with no blocked signals and default dispositions, whatever this
     * process (or gRPC's threads) set up. */
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&defaults, sigs[i]);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    pthread_mutex_lock(&p->lock);
    rc = posix_spawnp(&w->pid, argv[0], NULL, &attr, argv, environ);
    if (rc == 0) {
      w->next = p->workers;
      p->workers = w;
      if (!p->quiet) fprintf(stderr, "beam worker pool: worker %s started (pid %ld)\n", id, (long)w->pid);
    }
    pthread_mutex_unlock(&p->lock);
    posix_spawnattr_destroy(&attr);
  }
  if (argv)
    for (size_t i = p->argc; i < n; i++) free(argv[i]);
  free(argv);
  if (rc != 0) {
    snprintf(why, why_len, "cannot start worker %s: %s: %s", id, p->argv[0], strerror(rc));
    if (!p->quiet) fprintf(stderr, "beam worker pool: %s\n", why);
    if (w) worker_free(w);
    return false;
  }
  return true;
}

/* Serializes a response message into resp. */
static grpc_status_code reply(const ProtobufCMessage *m, beam_buf *resp, beam_error *err) {
  if (beam_buf_reserve(resp, protobuf_c_message_get_packed_size(m)) != BEAM_OK) {
    beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    return GRPC_STATUS_RESOURCE_EXHAUSTED;
  }
  resp->len = protobuf_c_message_pack(m, resp->data);
  return GRPC_STATUS_OK;
}

static grpc_status_code bad_request(beam_error *err, const char *method) {
  beam_error_set(err, BEAM_ERR_MALFORMED, "%s: cannot parse the request", method);
  return GRPC_STATUS_INVALID_ARGUMENT;
}

static grpc_status_code start_worker(void *user, const uint8_t *req, size_t len, beam_buf *resp, beam_error *err) {
  beam_worker_pool *p = user;
  FN(StartWorkerRequest) *r = FN_FN(start_worker_request__unpack)(NULL, len, req);
  if (!r) return bad_request(err, "StartWorker");
  char why[512] = "";
  bool ok = spawn_worker(p, r, why, sizeof why);
  FN_FN(start_worker_request__free_unpacked)(r, NULL);
  FN(StartWorkerResponse) out = FN_INIT(START_WORKER_RESPONSE);
  if (!ok) out.error = why;
  return reply(&out.base, resp, err);
}

/* Ends every worker with that id. An id that is unknown or already gone is not an error:
 * workers end on their own when the runner closes their control stream. */
static grpc_status_code stop_worker(void *user, const uint8_t *req, size_t len, beam_buf *resp, beam_error *err) {
  beam_worker_pool *p = user;
  FN(StopWorkerRequest) *r = FN_FN(stop_worker_request__unpack)(NULL, len, req);
  if (!r) return bad_request(err, "StopWorker");
  pthread_mutex_lock(&p->lock);
  reap_locked(p);
  for (worker *w = p->workers; w; w = w->next)
    if (r->worker_id && strcmp(w->id, r->worker_id) == 0) terminate_locked(p, w);
  pthread_mutex_unlock(&p->lock);
  FN_FN(stop_worker_request__free_unpacked)(r, NULL);
  FN(StopWorkerResponse) out = FN_INIT(STOP_WORKER_RESPONSE);
  return reply(&out.base, resp, err);
}

static void pool_free(beam_worker_pool *p) {
  if (p->argv)
    for (size_t i = 0; i < p->argc; i++) free(p->argv[i]);
  free(p->argv);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

beam_status beam_worker_pool_start(const char *address, const char *const *worker_argv, beam_worker_pool **out,
                                   beam_error *err) {
  return beam_worker_pool_start_opts(address, worker_argv, NULL, out, err);
}

beam_status beam_worker_pool_start_opts(const char *address, const char *const *worker_argv,
                                        const beam_worker_pool_options *opts, beam_worker_pool **out,
                                        beam_error *err) {
  *out = NULL;
  if (!address || !worker_argv || !worker_argv[0] || !*worker_argv[0])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "worker pool: needs an address and a worker command");
  beam_worker_pool *p = calloc(1, sizeof *p);
  if (!p) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->quiet = opts && opts->quiet;
  p->grace_ms = opts && opts->stop_grace_ms > 0 ? opts->stop_grace_ms : DEFAULT_GRACE_MS;
  pthread_mutex_init(&p->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cond, &ca);
  pthread_condattr_destroy(&ca);
  while (worker_argv[p->argc]) p->argc++;
  p->argv = calloc(p->argc + 1, sizeof *p->argv);
  bool ok = p->argv != NULL;
  for (size_t i = 0; ok && i < p->argc; i++) ok = (p->argv[i] = strdup(worker_argv[i])) != NULL;
  if (!ok) {
    pool_free(p);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  if (pthread_create(&p->monitor, NULL, monitor_main, p) != 0) {
    pool_free(p);
    return beam_error_set(err, BEAM_ERR_INTERNAL, "worker pool: cannot start the monitor thread");
  }
  p->monitor_started = true;
  const beam_grpc_method methods[] = {
      {FN_WORKER_POOL_SERVICE "StartWorker", start_worker, p},
      {FN_WORKER_POOL_SERVICE "StopWorker", stop_worker, p},
  };
  beam_status s = beam_grpc_server_start(address, methods, 2, &p->server, err);
  if (s != BEAM_OK) {
    beam_error_prefix(err, "worker pool: ");
    beam_worker_pool_stop_and_free(p);
    return s;
  }
  if (!p->quiet)
    fprintf(stderr, "beam worker pool: listening on %s (port %d), worker command %s\n", address,
            beam_grpc_server_port(p->server), p->argv[0]);
  *out = p;
  return BEAM_OK;
}

int beam_worker_pool_port(const beam_worker_pool *pool) { return beam_grpc_server_port(pool->server); }

int beam_worker_pool_running(beam_worker_pool *pool) {
  int n = 0;
  pthread_mutex_lock(&pool->lock);
  reap_locked(pool);
  for (worker *w = pool->workers; w; w = w->next) n++;
  pthread_mutex_unlock(&pool->lock);
  return n;
}

static volatile sig_atomic_t wait_signal;
static void on_stop_signal(int sig) { wait_signal = sig; }

int beam_worker_pool_wait(beam_worker_pool *pool) {
  struct sigaction sa, old_term, old_int;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  wait_signal = 0;
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  pthread_mutex_lock(&pool->lock);
  /* A signal handler cannot signal a condition variable: poll for it every 100 ms. */
  while (!pool->stop_requested && !wait_signal) {
    struct timespec tick = beam_time_after_ms(CLOCK_MONOTONIC, 100);
    pthread_cond_timedwait(&pool->cond, &pool->lock, &tick);
  }
  pthread_mutex_unlock(&pool->lock);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  return wait_signal;
}

void beam_worker_pool_request_stop(beam_worker_pool *pool) {
  pthread_mutex_lock(&pool->lock);
  pool->stop_requested = true;
  pthread_cond_broadcast(&pool->cond);
  pthread_mutex_unlock(&pool->lock);
}

void beam_worker_pool_stop_and_free(beam_worker_pool *pool) {
  if (!pool) return;
  beam_grpc_server_stop_and_free(pool->server); /* no handler runs after this */
  pool->server = NULL;
  pthread_mutex_lock(&pool->lock);
  for (worker *w = pool->workers; w; w = w->next) terminate_locked(pool, w);
  /* The monitor reaps them and sends SIGKILL to the ones past the grace period. */
  while (pool->workers && pool->monitor_started) pthread_cond_wait(&pool->cond, &pool->lock);
  pool->closing = true;
  pthread_cond_broadcast(&pool->cond);
  pthread_mutex_unlock(&pool->lock);
  if (pool->monitor_started) pthread_join(pool->monitor, NULL);
  pool_free(pool);
}
