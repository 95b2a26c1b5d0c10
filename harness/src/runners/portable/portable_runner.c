/* Submits a Pipeline to a Beam job service (Prism, the Python portable runner, Flink's job
 * server): Prepare, artifact staging (portable_artifacts.c), Run, then follow the job's
 * messages and state until it ends. Only DONE is success; a failed job's error messages come
 * back in the error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beam/runner.h"
#include "google/protobuf/struct.pb-c.h"
#include "beam/grpc_client.h"
#include "job_names.h"
#include "portable_cancel.h"
#include "portable_environment.h"
#include "portable_artifacts.h"
#include "portable_metrics.h"
#include "proto_struct.h"
#include "proto_names.h"

#define PREPARE_TIMEOUT_MS 60000

static beam_status prepare(beam_grpc_channel *ch, const uint8_t *pipeline, size_t len, const beam_portable_options *o,
                           const beam_stage_plan *plan, JOB(PrepareJobResponse) **out, beam_error *err) {
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, len, pipeline);
  if (!pl) return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode the Pipeline proto to submit");
  beam_arena a = {0};
  beam_environment_saved *saved = NULL;
  size_t n_saved = 0;
  beam_status s = beam_environment_apply(pl, o->environment_type, o->environment_config, plan->deps, plan->n_deps,
                                         &a, &saved, &n_saved, err);
  Google__Protobuf__Struct *options = s == BEAM_OK ? beam_options_to_struct(o->pipeline_options, &a) : NULL;
  if (s == BEAM_OK && !options) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory encoding pipeline options");
  JOB(PrepareJobRequest) req = JOB_INIT(PREPARE_JOB_REQUEST);
  req.pipeline = pl;
  req.pipeline_options = options;
  req.job_name = (char *)(o->job_name ? o->job_name : "beam-c");
  beam_buf body = BEAM_BUF_INIT, resp = BEAM_BUF_INIT;
  if (s == BEAM_OK) s = beam_buf_reserve(&body, JOB_FN(prepare_job_request__get_packed_size)(&req));
  if (s == BEAM_OK) body.len = JOB_FN(prepare_job_request__pack)(&req, body.data);
  beam_environment_restore(saved, n_saved);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  beam_arena_free(&a);
  if (s == BEAM_OK) s = beam_grpc_unary(ch, JOB_SERVICE "Prepare", body.data, body.len, PREPARE_TIMEOUT_MS, &resp, err);
  if (s == BEAM_OK && !(*out = JOB_FN(prepare_job_response__unpack)(NULL, resp.len, resp.data)))
    s = beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable PrepareJobResponse");
  beam_buf_free(&body);
  beam_buf_free(&resp);
  return s;
}

static beam_status run_job(beam_grpc_channel *ch, const char *preparation_id, char **job_id, beam_error *err) {
  JOB(RunJobRequest) req = JOB_INIT(RUN_JOB_REQUEST);
  req.preparation_id = (char *)preparation_id;
  uint8_t body[1024];
  if (JOB_FN(run_job_request__get_packed_size)(&req) > sizeof body)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "preparation id too long");
  size_t len = JOB_FN(run_job_request__pack)(&req, body);
  beam_buf resp = BEAM_BUF_INIT;
  beam_status s = beam_grpc_unary(ch, JOB_SERVICE "Run", body, len, PREPARE_TIMEOUT_MS, &resp, err);
  JOB(RunJobResponse) *r = s == BEAM_OK ? JOB_FN(run_job_response__unpack)(NULL, resp.len, resp.data) : NULL;
  if (s == BEAM_OK && !r) s = beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable RunJobResponse");
  if (r) {
    *job_id = strdup(r->job_id);
    JOB_FN(run_job_response__free_unpacked)(r, NULL);
    if (!*job_id) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  beam_buf_free(&resp);
  return s;
}

/* STOPPED is not terminal: job services report it for a job that has not started yet. */
static bool terminal(int state) {
  return state == JOB_ENUM(JOB_STATE__ENUM__DONE) || state == JOB_ENUM(JOB_STATE__ENUM__FAILED) ||
         state == JOB_ENUM(JOB_STATE__ENUM__CANCELLED) || state == JOB_ENUM(JOB_STATE__ENUM__DRAINED) ||
         state == JOB_ENUM(JOB_STATE__ENUM__UPDATED);
}

static const char *state_name(int state) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&JOB_FN(job_state__enum__descriptor), state);
  return v ? v->name : "UNKNOWN";
}

/* A runner's error message may be a long stack trace (the Python runner's are) whose cause is
 * its last line: put that line first so a bounded error message still shows it. */
static void keep_error(beam_buf *errors, const char *text) {
  const char *end = text + strlen(text);
  while (end > text && (end[-1] == '\n' || end[-1] == ' ')) end--;
  const char *last = end;
  while (last > text && last[-1] != '\n') last--;
  if (last > text && strstr(text, "Traceback")) {
    beam_buf_append(errors, last, (size_t)(end - last));
    beam_buf_append_str(errors, " <- ");
  }
  beam_buf_append_str(errors, text);
}

/* Follows the job's message stream (messages and state changes) until a terminal state; the
 * last error messages are kept for the failure report. */
static beam_status follow(beam_grpc_channel *ch, const char *job_id, bool quiet, int *final_state, beam_buf *errors,
                          beam_error *err) {
  JOB(JobMessagesRequest) req = JOB_INIT(JOB_MESSAGES_REQUEST);
  req.job_id = (char *)job_id;
  uint8_t body[1024];
  size_t len = JOB_FN(job_messages_request__pack)(&req, body);
  beam_grpc_stream *s = NULL;
  beam_status st = beam_grpc_stream_open(ch, JOB_SERVICE "GetMessageStream", &s, err);
  if (st == BEAM_OK) st = beam_grpc_stream_send(s, body, len, err);
  if (st == BEAM_OK) st = beam_grpc_stream_close_send(s, err);
  beam_buf msg = BEAM_BUF_INIT;
  *final_state = 0;
  /* After FAILED keep reading to the end of the stream: Prism sends the failure's cause as a
   * message right after the state. */
  while (st == BEAM_OK && (!terminal(*final_state) || *final_state == JOB_ENUM(JOB_STATE__ENUM__FAILED))) {
    bool eof = false;
    st = beam_grpc_stream_recv(s, &msg, &eof, err);
    if (st != BEAM_OK && terminal(*final_state)) {
      beam_error_clear(err);
      st = BEAM_OK;
      break;
    }
    if (st != BEAM_OK || eof) break;
    JOB(JobMessagesResponse) *r = JOB_FN(job_messages_response__unpack)(NULL, msg.len, msg.data);
    if (!r) continue;
    if (r->response_case == JOB_ENUM(JOB_MESSAGES_RESPONSE__RESPONSE_STATE_RESPONSE) && r->state_response) {
      *final_state = r->state_response->state;
      if (!quiet) fprintf(stderr, "job %s: %s\n", job_id, state_name(*final_state));
    } else if (r->response_case == JOB_ENUM(JOB_MESSAGES_RESPONSE__RESPONSE_MESSAGE_RESPONSE) && r->message_response) {
      const JOB(JobMessage) *m = r->message_response;
      if (m->importance >= JOB_ENUM(JOB_MESSAGE__MESSAGE_IMPORTANCE__JOB_MESSAGE_ERROR)) {
        beam_buf_reset(errors); /* keep the latest: it is the one that ended the job */
        keep_error(errors, m->message_text);
      }
      if (!quiet) fprintf(stderr, "job %s: %s\n", job_id, m->message_text);
    }
    JOB_FN(job_messages_response__free_unpacked)(r, NULL);
  }
  beam_buf_free(&msg);
  beam_grpc_stream_free(s);
  if (st == BEAM_OK && !terminal(*final_state))
    st = beam_error_set(err, BEAM_ERR_IO, "job %s: the runner closed the message stream before the job ended", job_id);
  return st;
}

beam_status beam_run_portable(const uint8_t *pipeline, size_t len, const beam_portable_options *o,
                              beam_run_result *result, beam_error *err) {
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  if (result) memset(result, 0, sizeof *result);
  beam_grpc_channel *ch = NULL;
  JOB(PrepareJobResponse) *prep = NULL;
  char *job_id = NULL;
  int state = 0;
  beam_buf errors = BEAM_BUF_INIT;
  beam_stage_plan plan = {0};
  beam_status s = BEAM_OK;
  if (beam_environment_stages_worker(o->environment_type, o->environment_config, o->stage_worker))
    s = beam_stage_plan_worker(&plan, o->worker_binary, err);
  if (s == BEAM_OK) s = beam_grpc_channel_open(o->job_endpoint, NULL, &ch, err);
  if (s == BEAM_OK) s = prepare(ch, pipeline, len, o, &plan, &prep, err);
  if (s == BEAM_OK) s = beam_stage_artifacts(prep, o->job_endpoint, &plan, err);
  if (s == BEAM_OK) s = run_job(ch, prep->preparation_id, &job_id, err);
  beam_cancel_watch *cancel = s == BEAM_OK && o->cancel_on_interrupt ? beam_cancel_watch_start(ch, job_id, o->quiet) : NULL;
  if (s == BEAM_OK) s = follow(ch, job_id, o->quiet, &state, &errors, err);
  beam_cancel_watch_stop(cancel);
  if (s == BEAM_OK && state != JOB_ENUM(JOB_STATE__ENUM__DONE)) {
    beam_buf_append_byte(&errors, 0);
    s = beam_error_set(err, BEAM_ERR_USER, "job %s ended %s%s%s", job_id, state_name(state),
                       errors.len > 1 ? ": " : "", errors.len > 1 ? (const char *)errors.data : "");
  }
  if (s == BEAM_OK && result) s = beam_portable_job_counters(ch, job_id, result, err);
  if (result) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    result->elapsed_seconds = (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
  }
  if (prep) JOB_FN(prepare_job_response__free_unpacked)(prep, NULL);
  free(job_id);
  beam_stage_plan_free(&plan);
  beam_buf_free(&errors);
  beam_grpc_channel_close(ch);
  return s;
}
