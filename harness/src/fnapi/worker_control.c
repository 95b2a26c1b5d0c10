/* The control stream: the runner's instructions in, one response per instruction out.
 * ProcessBundle runs on the bundle threads; everything else is quick and answered here, so
 * progress and split requests are never stuck behind a busy bundle. */
#include <stdlib.h>
#include <string.h>

#include "worker_internal.h"

beam_status beam_worker_respond(beam_worker *w, const FN(InstructionResponse) *resp, beam_error *err) {
  size_t size = FN_FN(instruction_response__get_packed_size)(resp);
  uint8_t *bytes = malloc(size ? size : 1);
  if (!bytes) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  FN_FN(instruction_response__pack)(resp, bytes);
  beam_status s = beam_grpc_stream_send(w->control.call, bytes, size, err);
  free(bytes);
  return s;
}

static void register_descriptors(beam_worker *w, const FN(RegisterRequest) *reg, FN(InstructionResponse) *resp,
                                 beam_arena *a) {
  static FN(RegisterResponse) done = FN_INIT(REGISTER_RESPONSE);
  beam_error err = {0};
  for (size_t i = 0; reg && i < reg->n_process_bundle_descriptor; i++)
    if (beam_worker_descriptor_register(w, reg->process_bundle_descriptor[i], &err) != BEAM_OK) {
      resp->error = beam_arena_strdup(a, err.message);
      return;
    }
  resp->response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_REGISTER);
  resp->register_ = &done;
}

static void monitoring_metadata(beam_worker *w, const FN(MonitoringInfosMetadataRequest) *req,
                                FN(InstructionResponse) *resp, beam_arena *a) {
  FN(MonitoringInfosMetadataResponse) *out = beam_arena_alloc(a, sizeof *out);
  beam_error err = {0};
  if (!out) return (void)(resp->error = "out of memory");
  *out = (FN(MonitoringInfosMetadataResponse))FN_INIT(MONITORING_INFOS_METADATA_RESPONSE);
  if (beam_metric_ids_metadata(w->metric_ids, req, a, out, &err) != BEAM_OK) {
    resp->error = beam_arena_strdup(a, err.message);
    return;
  }
  resp->response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_MONITORING_INFOS);
  resp->monitoring_infos = out;
}

void beam_worker_execute(beam_worker *w, FN(InstructionRequest) *req) {
  static FN(FinalizeBundleResponse) finalized = FN_INIT(FINALIZE_BUNDLE_RESPONSE);
  static FN(HarnessMonitoringInfosResponse) no_harness_metrics = FN_INIT(HARNESS_MONITORING_INFOS_RESPONSE);
  static FN(SampleDataResponse) no_samples = FN_INIT(SAMPLE_DATA_RESPONSE);
  beam_arena a = {0};
  FN(InstructionResponse) resp = FN_INIT(INSTRUCTION_RESPONSE);
  resp.instruction_id = req->instruction_id;
  switch (req->request_case) {
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_PROCESS_BUNDLE):
      beam_worker_process_bundle(w, req, &resp, &a);
      break;
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_PROCESS_BUNDLE_PROGRESS):
      beam_worker_progress(w, req->process_bundle_progress, &resp, &a);
      break;
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_PROCESS_BUNDLE_SPLIT):
      beam_worker_split(w, req->process_bundle_split, &resp, &a);
      break;
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_FINALIZE_BUNDLE):
      /* No DoFn here asks for finalization; acknowledging is the whole job. */
      resp.response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_FINALIZE_BUNDLE);
      resp.finalize_bundle = &finalized;
      break;
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_MONITORING_INFOS):
      monitoring_metadata(w, req->monitoring_infos, &resp, &a);
      break;
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_HARNESS_MONITORING_INFOS):
      resp.response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_HARNESS_MONITORING_INFOS);
      resp.harness_monitoring_infos = &no_harness_metrics;
      break;
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_SAMPLE_DATA):
      resp.response_case = FN_ENUM(INSTRUCTION_RESPONSE__RESPONSE_SAMPLE_DATA);
      resp.sample_data = &no_samples;
      break;
    case FN_ENUM(INSTRUCTION_REQUEST__REQUEST_REGISTER):
      register_descriptors(w, req->register_, &resp, &a);
      break;
    default: {
      char message[128];
      snprintf(message, sizeof message, "beam-c worker: unsupported instruction (InstructionRequest field %d)",
               (int)req->request_case);
      resp.error = beam_arena_strdup(&a, message);
      if (!resp.error) resp.error = "beam-c worker: unsupported instruction";
      break;
    }
  }
  beam_error err = {0};
  if (beam_worker_respond(w, &resp, &err) != BEAM_OK)
    beam_worker_log_write(w->log, BEAM_LOG_ERROR, req->instruction_id, NULL, "cannot answer instruction: %s",
                          err.message);
  FN_FN(instruction_request__free_unpacked)(req, NULL);
  beam_arena_free(&a);
}

beam_status beam_worker_control_loop(beam_worker *w, beam_error *err) {
  beam_buf msg = BEAM_BUF_INIT;
  beam_status s = BEAM_OK;
  for (;;) {
    bool eof = false;
    s = beam_grpc_stream_recv(w->control.call, &msg, &eof, err);
    if (s != BEAM_OK || eof) break;
    FN(InstructionRequest) *req = FN_FN(instruction_request__unpack)(NULL, msg.len, msg.data);
    if (!req) {
      /* Without an id there is nobody to answer: say so and go on. */
      beam_worker_log_write(w->log, BEAM_LOG_ERROR, NULL, NULL, "undecodable InstructionRequest (%zu bytes) ignored",
                            msg.len);
      continue;
    }
    if (req->request_case == FN_ENUM(INSTRUCTION_REQUEST__REQUEST_PROCESS_BUNDLE)) {
      beam_error qerr = {0};
      if (beam_worker_submit(w, req, &qerr) != BEAM_OK) {
        FN(InstructionResponse) resp = FN_INIT(INSTRUCTION_RESPONSE);
        resp.instruction_id = req->instruction_id;
        resp.error = qerr.message;
        beam_worker_respond(w, &resp, &qerr);
        FN_FN(instruction_request__free_unpacked)(req, NULL);
      }
    } else {
      beam_worker_execute(w, req);
    }
  }
  beam_buf_free(&msg);
  return s;
}
