/* The gRPC client against a real Beam runner: Prism's JobService answers our unary calls
 * (GetJobs, DescribePipelineOptions) and a server-streaming call on an unknown job ends with
 * the runner's error status, not a hang. Usage: grpc_prism_smoke HOST:PORT */
#include <stdio.h>
#include <string.h>

#include "beam/grpc_client.h"
#include "org/apache/beam/model/job_management/v1/beam_job_api.pb-c.h"

#define JOB(name) Org__Apache__Beam__Model__JobManagement__V1__##name
#define JOB_FN(name) org__apache__beam__model__job_management__v1__##name
#define SERVICE "/org.apache.beam.model.job_management.v1.JobService/"

static int fail(const char *what, const beam_error *err) {
  fprintf(stderr, "grpc_prism_smoke: %s: %s\n", what, err->message);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]), 2;
  beam_error err = {0};
  beam_grpc_channel *ch = NULL;
  if (beam_grpc_channel_open(argv[1], "smoke-1", &ch, &err) != BEAM_OK) return fail("open", &err);
  beam_buf resp = BEAM_BUF_INIT;
  int rc = 0;

  /* GetJobs with an empty request: a fresh Prism knows no jobs. */
  if (beam_grpc_unary(ch, SERVICE "GetJobs", "", 0, 10000, &resp, &err) != BEAM_OK) rc = fail("GetJobs", &err);
  JOB(GetJobsResponse) *jobs = rc ? NULL : JOB_FN(get_jobs_response__unpack)(NULL, resp.len, resp.data);
  if (!rc && !jobs) rc = fail("GetJobs", &(beam_error){BEAM_ERR_MALFORMED, "undecodable response"});
  if (jobs) {
    printf("GetJobs: %zu jobs\n", jobs->n_job_info);
    JOB_FN(get_jobs_response__free_unpacked)(jobs, NULL);
  }

  if (!rc && beam_grpc_unary(ch, SERVICE "DescribePipelineOptions", "", 0, 10000, &resp, &err) != BEAM_OK)
    rc = fail("DescribePipelineOptions", &err);
  if (!rc) printf("DescribePipelineOptions: %zu bytes\n", resp.len);

  /* A state stream for a job that does not exist must end with an error status. */
  JOB(GetJobStateRequest) req = ORG__APACHE__BEAM__MODEL__JOB_MANAGEMENT__V1__GET_JOB_STATE_REQUEST__INIT;
  req.job_id = "no-such-job";
  uint8_t buf[64];
  size_t len = JOB_FN(get_job_state_request__pack)(&req, buf);
  beam_grpc_stream *s = NULL;
  bool eof = false;
  if (!rc && beam_grpc_stream_open(ch, SERVICE "GetStateStream", &s, &err) != BEAM_OK) rc = fail("open stream", &err);
  if (!rc && beam_grpc_stream_send(s, buf, len, &err) != BEAM_OK) rc = fail("send", &err);
  if (!rc && beam_grpc_stream_close_send(s, &err) != BEAM_OK) rc = fail("close_send", &err);
  if (!rc) {
    beam_status st = beam_grpc_stream_recv(s, &resp, &eof, &err);
    if (st == BEAM_OK) rc = fail("GetStateStream of an unknown job", &(beam_error){BEAM_ERR_INTERNAL, "no error"});
    else printf("GetStateStream(no-such-job): %s\n", err.message);
  }
  beam_grpc_stream_free(s);
  beam_buf_free(&resp);
  beam_grpc_channel_close(ch);
  if (!rc) printf("grpc_prism_smoke: ok\n");
  return rc;
}
