/* Job submission against a real job service (Prism): a runner-only pipeline (Impulse) goes
 * through Prepare, staging, Run and the message stream to DONE; an unreachable job service
 * fails promptly with a message naming it. Usage: portable_submit HOST:PORT */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beam/pipeline.h"
#include "beam/runner.h"

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]), 2;
  beam_pipeline *p = beam_pipeline_new();
  beam_impulse(p, "Impulse");
  beam_buf proto = BEAM_BUF_INIT;
  beam_error err = {0};
  int rc = 0;
  if (beam_pipeline_encode(p, &proto, &err) != BEAM_OK) rc = 1, fprintf(stderr, "encode: %s\n", err.message);
  beam_portable_options o = {.job_endpoint = argv[1], .job_name = "impulse-only"};
  if (!rc && beam_run_portable(proto.data, proto.len, &o, NULL, &err) != BEAM_OK) {
    fprintf(stderr, "portable_submit: impulse-only job: %s\n", err.message);
    rc = 1;
  }
  if (!rc) printf("portable_submit: impulse-only job DONE\n");

  time_t started = time(NULL);
  beam_portable_options nowhere = {.job_endpoint = "127.0.0.1:1", .job_name = "nowhere", .quiet = true};
  if (!rc && beam_run_portable(proto.data, proto.len, &nowhere, NULL, &err) == BEAM_OK) {
    fprintf(stderr, "portable_submit: a job on an unreachable service succeeded\n");
    rc = 1;
  } else if (!rc) {
    printf("portable_submit: unreachable service: %s (%lds)\n", err.message, (long)(time(NULL) - started));
    if (!strstr(err.message, "127.0.0.1:1") || time(NULL) - started > 30) rc = 1;
  }
  beam_buf_free(&proto);
  beam_pipeline_free(p);
  return rc;
}
