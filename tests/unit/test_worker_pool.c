/* BeamFnExternalWorkerPool over real gRPC: the pool on 127.0.0.1:0, called through our own
 * gRPC client with encoded protos. The worker is a shell script written here: it appends
 * its arguments (one per line, then "---") to a file, its pid to another, and sleeps. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "beam/worker_pool.h"
#include "fn_names.h"
#include "beam/grpc_client.h"

#define ENDPOINT(name) Org__Apache__Beam__Model__Pipeline__V1__ApiServiceDescriptor name = \
    ORG__APACHE__BEAM__MODEL__PIPELINE__V1__API_SERVICE_DESCRIPTOR__INIT
#define POOL FN_WORKER_POOL_SERVICE

static char dir[64];
static char script[128], args_path[128], pids_path[128];

static void sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The whole file, NUL-terminated ("" when missing). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *text = calloc(1, 1 << 16);
  assert_non_null(text);
  if (!f) return text;
  size_t n = fread(text, 1, (1 << 16) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

static int count_lines(const char *path) {
  char *text = slurp(path);
  int n = 0;
  for (char *p = text; *p; p++) n += *p == '\n';
  free(text);
  return n;
}

/* Waits until the pids file has n lines (the script writes it after its arguments). */
static void wait_started(int n) {
  for (int i = 0; i < 200 && count_lines(pids_path) < n; i++) sleep_ms(25);
  assert_int_equal(count_lines(pids_path), n);
}

static pid_t nth_pid(int n) {
  char *text = slurp(pids_path);
  char *p = text;
  for (int i = 0; i < n && p; i++) p = strchr(p, '\n'), p = p ? p + 1 : NULL;
  assert_non_null(p);
  pid_t pid = (pid_t)atol(p);
  free(text);
  assert_true(pid > 0);
  return pid;
}

/* Gone and reaped: a zombie would still answer kill(pid, 0). */
static bool pid_gone(pid_t pid) { return kill(pid, 0) == -1 && errno == ESRCH; }

static void wait_running(beam_worker_pool *pool, int n) {
  for (int i = 0; i < 400 && beam_worker_pool_running(pool) != n; i++) sleep_ms(25);
  assert_int_equal(beam_worker_pool_running(pool), n);
}

static int setup(void **state) {
  snprintf(dir, sizeof dir, "/tmp/beam_pool_XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(script, sizeof script, "%s/worker.sh", dir);
  snprintf(args_path, sizeof args_path, "%s/args", dir);
  snprintf(pids_path, sizeof pids_path, "%s/pids", dir);
  FILE *f = fopen(script, "w");
  if (!f) return -1;
  fprintf(f,
          "#!/bin/sh\n"
          "{ for a in \"$@\"; do printf '%%s\\n' \"$a\"; done; echo ---; } >> '%s'\n"
          "echo $$ >> '%s'\n"
          "case \"$*\" in *--id=stubborn*) trap '' TERM;; esac\n"
          "exec sleep 60\n",
          args_path, pids_path);
  fclose(f);
  return chmod(script, 0755);
}

static int teardown(void **state) {
  unlink(script);
  unlink(args_path);
  unlink(pids_path);
  rmdir(dir);
  return 0;
}

static void reset_files(void) {
  unlink(args_path);
  unlink(pids_path);
}

static beam_worker_pool *start_pool(const char *const *argv, int grace_ms, beam_grpc_channel **ch) {
  beam_worker_pool_options o = {.quiet = true, .stop_grace_ms = grace_ms};
  beam_worker_pool *pool = NULL;
  beam_error err = {0};
  assert_int_equal(beam_worker_pool_start_opts("127.0.0.1:0", argv, &o, &pool, &err), BEAM_OK);
  assert_true(beam_worker_pool_port(pool) > 0);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", beam_worker_pool_port(pool));
  assert_int_equal(beam_grpc_channel_open(target, NULL, ch, &err), BEAM_OK);
  return pool;
}

/* StartWorker; returns StartWorkerResponse.error (malloc'd, "" when none). */
static char *start_worker(beam_grpc_channel *ch, const char *id, const char *provision, const char *control,
                          const char *logging, const char *artifact) {
  FN(StartWorkerRequest) req = FN_INIT(START_WORKER_REQUEST);
  ENDPOINT(p);
  ENDPOINT(c);
  ENDPOINT(l);
  ENDPOINT(a);
  req.worker_id = (char *)id;
  if (provision) p.url = (char *)provision, req.provision_endpoint = &p;
  if (control) c.url = (char *)control, req.control_endpoint = &c;
  if (logging) l.url = (char *)logging, req.logging_endpoint = &l;
  if (artifact) a.url = (char *)artifact, req.artifact_endpoint = &a;
  /* Params (ExternalPayload.params, passed through by the Python runner) are accepted. */
  FN(StartWorkerRequest__ParamsEntry) param = FN_INIT(START_WORKER_REQUEST__PARAMS_ENTRY);
  param.key = "k";
  param.value = "v";
  FN(StartWorkerRequest__ParamsEntry) *params[] = {&param};
  req.n_params = 1;
  req.params = params;
  uint8_t bytes[1024];
  size_t n = FN_FN(start_worker_request__pack)(&req, bytes);
  beam_buf resp = BEAM_BUF_INIT;
  beam_error err = {0};
  beam_status s = beam_grpc_unary(ch, POOL "StartWorker", bytes, n, 10000, &resp, &err);
  if (s != BEAM_OK) fprintf(stderr, "StartWorker: %s\n", err.message);
  assert_int_equal(s, BEAM_OK);
  FN(StartWorkerResponse) *r = FN_FN(start_worker_response__unpack)(NULL, resp.len, resp.data);
  assert_non_null(r);
  char *error = strdup(r->error ? r->error : "");
  FN_FN(start_worker_response__free_unpacked)(r, NULL);
  beam_buf_free(&resp);
  return error;
}

static void stop_worker(beam_grpc_channel *ch, const char *id) {
  FN(StopWorkerRequest) req = FN_INIT(STOP_WORKER_REQUEST);
  req.worker_id = (char *)id;
  uint8_t bytes[256];
  size_t n = FN_FN(stop_worker_request__pack)(&req, bytes);
  beam_buf resp = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_grpc_unary(ch, POOL "StopWorker", bytes, n, 10000, &resp, &err), BEAM_OK);
  FN(StopWorkerResponse) *r = FN_FN(stop_worker_response__unpack)(NULL, resp.len, resp.data);
  assert_non_null(r);
  assert_string_equal(r->error ? r->error : "", "");
  FN_FN(stop_worker_response__free_unpacked)(r, NULL);
  beam_buf_free(&resp);
}

static void start_passes_exact_flags_and_stop_ends_worker(void **state) {
  reset_files();
  const char *argv[] = {script, "--worker", NULL};
  beam_grpc_channel *ch = NULL;
  beam_worker_pool *pool = start_pool(argv, 0, &ch);

  char *error = start_worker(ch, "w1", "localhost:1001", "localhost:1002", "localhost:1003", "localhost:1004");
  assert_string_equal(error, "");
  free(error);
  wait_started(1);
  char *args = slurp(args_path);
  assert_string_equal(args,
                      "--worker\n--id=w1\n--provision_endpoint=localhost:1001\n--control_endpoint=localhost:1002\n"
                      "--logging_endpoint=localhost:1003\n--artifact_endpoint=localhost:1004\n---\n");
  free(args);

  /* Only the endpoints given (Flink and Prism pass just the provision endpoint). */
  error = start_worker(ch, "w2", "localhost:2001", NULL, NULL, NULL);
  assert_string_equal(error, "");
  free(error);
  wait_started(2);
  args = slurp(args_path);
  const char *second = strstr(args, "---\n") + 4;
  assert_string_equal(second, "--worker\n--id=w2\n--provision_endpoint=localhost:2001\n---\n");
  free(args);
  assert_int_equal(beam_worker_pool_running(pool), 2);

  pid_t w1 = nth_pid(0), w2 = nth_pid(1);
  assert_false(pid_gone(w1));
  stop_worker(ch, "w1");
  wait_running(pool, 1);
  assert_true(pid_gone(w1));
  assert_false(pid_gone(w2));
  /* An unknown or already ended worker is not an error (workers end on their own). */
  stop_worker(ch, "w1");
  stop_worker(ch, "nobody");
  assert_int_equal(beam_worker_pool_running(pool), 1);

  beam_grpc_channel_close(ch);
  beam_worker_pool_stop_and_free(pool);
  assert_true(pid_gone(w2));
}

static void bad_worker_command_is_answered_in_the_response(void **state) {
  reset_files();
  const char *argv[] = {"/nonexistent/beam-worker", "--worker", NULL};
  beam_grpc_channel *ch = NULL;
  beam_worker_pool *pool = start_pool(argv, 0, &ch);
  char *error = start_worker(ch, "w1", "localhost:1001", NULL, NULL, NULL);
  assert_non_null(strstr(error, "/nonexistent/beam-worker"));
  assert_non_null(strstr(error, "No such file or directory"));
  assert_non_null(strstr(error, "w1"));
  free(error);
  assert_int_equal(beam_worker_pool_running(pool), 0);
  beam_grpc_channel_close(ch);
  beam_worker_pool_stop_and_free(pool);

  /* A request without the endpoint every worker needs. */
  const char *ok_argv[] = {script, NULL};
  pool = start_pool(ok_argv, 0, &ch);
  error = start_worker(ch, "w1", NULL, "localhost:1002", NULL, NULL);
  assert_non_null(strstr(error, "no provision_endpoint"));
  free(error);
  error = start_worker(ch, "", "localhost:1001", NULL, NULL, NULL);
  assert_non_null(strstr(error, "no worker_id"));
  free(error);
  assert_int_equal(beam_worker_pool_running(pool), 0);
  assert_int_equal(count_lines(pids_path), 0);
  beam_grpc_channel_close(ch);
  beam_worker_pool_stop_and_free(pool);
}

static void unknown_method_and_malformed_request(void **state) {
  const char *argv[] = {script, NULL};
  beam_grpc_channel *ch = NULL;
  beam_worker_pool *pool = start_pool(argv, 0, &ch);
  beam_buf resp = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_grpc_unary(ch, POOL "Nope", "", 0, 10000, &resp, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "gRPC status 12")); /* UNIMPLEMENTED */
  assert_non_null(strstr(err.message, "unknown method " POOL "Nope"));
  assert_int_equal(beam_grpc_unary(ch, "/some.Other/Service", "x", 1, 10000, &resp, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "gRPC status 12"));
  /* Bytes that are no StartWorkerRequest (a truncated length-delimited field). */
  assert_int_equal(beam_grpc_unary(ch, POOL "StartWorker", "\x0a\x7f", 2, 10000, &resp, &err), BEAM_ERR_IO);
  assert_non_null(strstr(err.message, "gRPC status 3")); /* INVALID_ARGUMENT */
  /* The server is still serving. */
  assert_int_equal(beam_grpc_unary(ch, POOL "StopWorker", "", 0, 10000, &resp, &err), BEAM_OK);
  beam_buf_free(&resp);
  beam_grpc_channel_close(ch);
  beam_worker_pool_stop_and_free(pool);
}

static void stop_and_free_leaves_no_child(void **state) {
  reset_files();
  const char *argv[] = {script, NULL};
  beam_grpc_channel *ch = NULL;
  beam_worker_pool *pool = start_pool(argv, 300, &ch);
  char *error = start_worker(ch, "plain", "localhost:1", NULL, NULL, NULL);
  assert_string_equal(error, "");
  free(error);
  /* This one ignores SIGTERM: only SIGKILL after the grace period ends it. */
  error = start_worker(ch, "stubborn", "localhost:1", NULL, NULL, NULL);
  assert_string_equal(error, "");
  free(error);
  wait_started(2);
  pid_t plain = nth_pid(0), stubborn = nth_pid(1);
  assert_int_equal(beam_worker_pool_running(pool), 2);
  beam_grpc_channel_close(ch);
  double t0 = now_s();
  beam_worker_pool_stop_and_free(pool);
  double took = now_s() - t0;
  assert_true(pid_gone(plain));
  assert_true(pid_gone(stubborn));
  assert_true(took >= 0.25 && took < 5.0);
  /* Nothing left to reap in this process either. */
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

/* A client that opened a call and never sent its request does not hold up the stop. */
static void stop_with_a_call_in_flight(void **state) {
  const char *argv[] = {script, NULL};
  beam_grpc_channel *ch = NULL;
  beam_worker_pool *pool = start_pool(argv, 0, &ch);
  beam_grpc_stream *call = NULL;
  beam_error err = {0};
  assert_int_equal(beam_grpc_stream_open(ch, POOL "StartWorker", &call, &err), BEAM_OK);
  sleep_ms(100); /* the server has accepted the call and waits for its message */
  double t0 = now_s();
  beam_worker_pool_stop_and_free(pool);
  assert_true(now_s() - t0 < 2.0);
  beam_buf msg = BEAM_BUF_INIT;
  bool eof = false;
  assert_int_not_equal(beam_grpc_stream_recv(call, &msg, &eof, &err), BEAM_OK);
  beam_buf_free(&msg);
  beam_grpc_stream_free(call);
  beam_grpc_channel_close(ch);
}

static void busy_port_fails(void **state) {
  const char *argv[] = {script, NULL};
  beam_grpc_channel *ch = NULL;
  beam_worker_pool *pool = start_pool(argv, 0, &ch);
  char address[64];
  snprintf(address, sizeof address, "127.0.0.1:%d", beam_worker_pool_port(pool));
  beam_worker_pool *second = NULL;
  beam_error err = {0};
  beam_worker_pool_options o = {.quiet = true};
  assert_int_equal(beam_worker_pool_start_opts(address, argv, &o, &second, &err), BEAM_ERR_IO);
  assert_null(second);
  assert_non_null(strstr(err.message, address));
  const char *no_argv[] = {NULL};
  assert_int_equal(beam_worker_pool_start("127.0.0.1:0", no_argv, &second, &err), BEAM_ERR_INVALID_ARG);
  beam_grpc_channel_close(ch);
  beam_worker_pool_stop_and_free(pool);
}

static void *stop_later(void *arg) {
  sleep_ms(100);
  beam_worker_pool_request_stop(arg);
  return NULL;
}

static void *signal_later(void *arg) {
  sleep_ms(300);
  kill(getpid(), SIGTERM);
  return NULL;
}

static void wait_ends_on_request_or_signal(void **state) {
  const char *argv[] = {script, NULL};
  beam_grpc_channel *ch = NULL;
  beam_worker_pool *pool = start_pool(argv, 0, &ch);
  beam_grpc_channel_close(ch);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, stop_later, pool), 0);
  assert_int_equal(beam_worker_pool_wait(pool), 0);
  pthread_join(t, NULL);
  beam_worker_pool_stop_and_free(pool);

  pool = start_pool(argv, 0, &ch);
  beam_grpc_channel_close(ch);
  assert_int_equal(pthread_create(&t, NULL, signal_later, NULL), 0);
  assert_int_equal(beam_worker_pool_wait(pool), SIGTERM);
  pthread_join(t, NULL);
  beam_worker_pool_stop_and_free(pool);
  /* The previous disposition is back. */
  struct sigaction now;
  sigaction(SIGTERM, NULL, &now);
  assert_true(now.sa_handler == SIG_DFL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(start_passes_exact_flags_and_stop_ends_worker),
      cmocka_unit_test(bad_worker_command_is_answered_in_the_response),
      cmocka_unit_test(unknown_method_and_malformed_request),
      cmocka_unit_test(stop_and_free_leaves_no_child),
      cmocka_unit_test(stop_with_a_call_in_flight),
      cmocka_unit_test(busy_port_fails),
      cmocka_unit_test(wait_ends_on_request_or_signal),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
