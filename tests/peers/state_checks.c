/* Bag user state and multimap side inputs on a real runner: the pipelines of
 * tests/unit/state_pipelines.h run on the local runner and on the runner, and every checked
 * counter must equal the expected value in both. The program is its own worker (PROCESS
 * environments start it with BEAM_C_WORKER=1; a worker pool starts it with --worker).
 *
 * Usage: state_checks JOB_ENDPOINT [ENVIRONMENT_TYPE [ENVIRONMENT_CONFIG]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/runner.h"
#include "beam/worker.h"
#include "state_pipelines.h"

static beam_status submit(beam_pipeline *p, const beam_portable_options *o, beam_run_result *r, beam_error *err) {
  beam_buf proto = BEAM_BUF_INIT;
  beam_status s = beam_pipeline_encode(p, &proto, err);
  if (s == BEAM_OK) s = beam_run_portable(proto.data, proto.len, o, r, err);
  beam_buf_free(&proto);
  return s;
}

/* Runs p locally and on the runner; 0 when both give every expected counter. */
static int check(const char *what, beam_pipeline *p, const state_expected *want, size_t n_want,
                 beam_portable_options *o) {
  beam_run_result local = {0}, remote = {0};
  beam_error err = {0};
  int rc = 0;
  if (beam_pipeline_run_local(p, NULL, &local, &err) != BEAM_OK) {
    fprintf(stderr, "state_checks: %s: local run failed: %s\n", what, err.message);
    rc = 1;
  }
  o->job_name = what;
  if (rc == 0 && submit(p, o, &remote, &err) != BEAM_OK) {
    fprintf(stderr, "state_checks: %s: runner job failed: %s\n", what, err.message);
    rc = 1;
  }
  for (size_t i = 0; rc == 0 && i < n_want; i++) {
    int64_t l = beam_run_result_counter(&local, NULL, want[i].name);
    int64_t r = beam_run_result_counter(&remote, NULL, want[i].name);
    printf("state_checks: %s: %-15s local %lld, runner %lld, want %lld\n", what, want[i].name, (long long)l,
           (long long)r, (long long)want[i].value);
    if (l != want[i].value || r != want[i].value) rc = 1;
  }
  if (rc == 0 && beam_run_result_counter(&remote, NULL, "bundles"))
    printf("state_checks: %s: the stateful ParDo ran %lld bundles locally, %lld on the runner\n", what,
           (long long)beam_run_result_counter(&local, NULL, "bundles"), (long long)beam_run_result_counter(&remote, NULL, "bundles"));
  beam_run_result_free(&local);
  beam_run_result_free(&remote);
  beam_pipeline_free(p);
  return rc;
}

int main(int argc, char **argv) {
  stp_register(); /* before the worker starts: it looks DoFns up by name */
  if (beam_worker_requested(argc, argv)) return beam_worker_main(argc, argv);
  if (beam_worker_pool_requested(argc, argv)) return beam_worker_pool_main(argc, argv);
  if (argc < 2) return fprintf(stderr, "usage: %s JOB_ENDPOINT [ENVIRONMENT_TYPE [ENVIRONMENT_CONFIG]]\n", argv[0]), 2;
  beam_portable_options o = {.job_endpoint = argv[1],
                             .quiet = true,
                             .environment_type = argc > 2 ? argv[2] : NULL,
                             .environment_config = argc > 3 ? argv[3] : NULL};
  /* STATE_CHECKS_STREAMING=1: Flink then bundles by size and time, so a key's state is read
   * back in later bundles (in batch mode it sends each key's elements in one bundle). */
  json_t *streaming = json_pack("{s:b}", "streaming", 1);
  if (getenv("STATE_CHECKS_STREAMING") && strcmp(getenv("STATE_CHECKS_STREAMING"), "1") == 0)
    o.pipeline_options = streaming;
  state_expected want[8];
  state_count_config global = {.n = 12000, .keys = 3000, .window_ms = 0, .complete_at = 4};
  size_t n = stp_running_count_expected(&global, want);
  int rc = check("state-running-count", stp_running_count_pipeline(&global), want, n, &o);
  state_count_config windowed = {.n = 1000, .keys = 10, .window_ms = 100, .complete_at = 10};
  n = stp_running_count_expected(&windowed, want);
  rc |= check("state-running-count-windowed", stp_running_count_pipeline(&windowed), want, n, &o);
  n = stp_multimap_expected(1000, want);
  rc |= check("state-multimap-lookup", stp_multimap_pipeline(1000), want, n, &o);
  json_decref(streaming);
  return rc;
}
