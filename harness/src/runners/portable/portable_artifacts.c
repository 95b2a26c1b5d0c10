/* Artifact staging for portable submission (see portable_artifacts.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beam/urns.h"
#include "beam/grpc_client.h"
#include "portable_artifacts.h"

/* Well under every job service's default 4 MB message limit. */
enum { CHUNK_BYTES = 1 << 20 };

beam_status beam_stage_plan_worker(beam_stage_plan *plan, const char *worker_binary, beam_error *err) {
  const char *given = worker_binary && *worker_binary ? worker_binary : "/proc/self/exe";
  if (!realpath(given, plan->path))
    return beam_error_set(err, BEAM_ERR_IO, "worker binary %s: %s", given, strerror(errno));
  if (access(plan->path, X_OK) != 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "worker binary %s is not executable: %s", plan->path,
                          strerror(errno));
  beam_status s = beam_sha256_file(plan->path, plan->sha256, err);
  plan->deps = s == BEAM_OK ? beam_arena_calloc(&plan->arena, 1, sizeof *plan->deps) : NULL;
  if (s == BEAM_OK && !plan->deps) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK)
    s = beam_artifact_file_new(plan->path, plan->sha256, BEAM_WORKER_ARTIFACT_NAME, &plan->arena, &plan->deps[0], err);
  if (s == BEAM_OK) plan->n_deps = 1;
  return s;
}

void beam_stage_plan_free(beam_stage_plan *plan) {
  beam_arena_free(&plan->arena);
  plan->deps = NULL;
  plan->n_deps = 0;
}

static beam_status send_response(beam_grpc_stream *s, const JOB(ArtifactResponseWrapper) *m, beam_buf *buf,
                                 beam_error *err) {
  beam_buf_reset(buf);
  beam_status st = beam_buf_reserve(buf, JOB_FN(artifact_response_wrapper__get_packed_size)(m) + 1);
  if (st != BEAM_OK) return beam_error_set(err, st, "out of memory");
  buf->len = JOB_FN(artifact_response_wrapper__pack)(m, buf->data);
  return beam_grpc_stream_send(s, buf->data, buf->len, err);
}

/* Every requested artifact is already in a form the runner can fetch from us (FILE) or one we
 * cannot improve on: the replacements are the artifacts themselves. */
static beam_status answer_resolve(beam_grpc_stream *s, const JOB(ResolveArtifactsRequest) *req, beam_buf *buf,
                                  beam_error *err) {
  JOB(ResolveArtifactsResponse) resolved = JOB_INIT(RESOLVE_ARTIFACTS_RESPONSE);
  resolved.n_replacements = req->n_artifacts;
  resolved.replacements = req->artifacts;
  JOB(ArtifactResponseWrapper) answer = JOB_INIT(ARTIFACT_RESPONSE_WRAPPER);
  answer.response_case = JOB_ENUM(ARTIFACT_RESPONSE_WRAPPER__RESPONSE_RESOLVE_ARTIFACT_RESPONSE);
  answer.resolve_artifact_response = &resolved;
  return send_response(s, &answer, buf, err);
}

/* Only files this launcher put in the plan are served: the runner names a path, and a job
 * service must not be able to read any file of the submitting machine. */
static beam_status find_staged(const beam_stage_plan *plan, const PIPE(ArtifactInformation) *ai, beam_error *err) {
  beam_artifact_desc d;
  beam_status s = beam_artifact_describe(ai, &d, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "the runner asked for an artifact: ");
  bool ours = ai->type_urn && strcmp(ai->type_urn, BEAM_URN_ARTIFACT_FILE) == 0 && d.path &&
              strcmp(d.path, plan->path) == 0 && plan->n_deps > 0;
  if (!ours)
    s = beam_error_set(err, BEAM_ERR_NOT_FOUND, "the runner asked for artifact %s %s, which this launcher did not stage",
                       ai->type_urn ? ai->type_urn : "(no type)", d.path ? d.path : "(no path)");
  beam_artifact_desc_free(&d);
  return s;
}

static beam_status send_chunk(beam_grpc_stream *s, const uint8_t *data, size_t len, bool last, beam_buf *buf,
                              beam_error *err) {
  JOB(GetArtifactResponse) chunk = JOB_INIT(GET_ARTIFACT_RESPONSE);
  chunk.data.data = (uint8_t *)data;
  chunk.data.len = len;
  JOB(ArtifactResponseWrapper) m = JOB_INIT(ARTIFACT_RESPONSE_WRAPPER);
  m.response_case = JOB_ENUM(ARTIFACT_RESPONSE_WRAPPER__RESPONSE_GET_ARTIFACT_RESPONSE);
  m.get_artifact_response = &chunk;
  m.is_last = last;
  return send_response(s, &m, buf, err);
}

/* The file in chunks, then an empty chunk marked is_last: Prism stops reading at is_last
 * without looking at that message's data. The digest is taken again on the way so a binary
 * rebuilt since Prepare fails here rather than in every worker's boot. */
static beam_status answer_get(beam_grpc_stream *s, const beam_stage_plan *plan, beam_buf *buf, beam_error *err) {
  FILE *f = fopen(plan->path, "rb");
  if (!f) return beam_error_set(err, BEAM_ERR_IO, "staging %s: %s", plan->path, strerror(errno));
  uint8_t *chunk = malloc(CHUNK_BYTES);
  beam_sha256 h = {0};
  beam_status st = chunk ? beam_sha256_begin(&h, err) : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t n;
  while (st == BEAM_OK && (n = fread(chunk, 1, CHUNK_BYTES, f)) > 0) {
    beam_sha256_update(&h, chunk, n);
    st = send_chunk(s, chunk, n, false, buf, err);
  }
  if (st == BEAM_OK && ferror(f)) st = beam_error_set(err, BEAM_ERR_IO, "staging %s: read error", plan->path);
  char hex[BEAM_SHA256_HEX_LEN + 1];
  if (st == BEAM_OK) {
    beam_sha256_end_hex(&h, hex);
    if (strcmp(hex, plan->sha256) != 0)
      st = beam_error_set(err, BEAM_ERR_IO, "staging %s: the file changed since the job was prepared (sha256 %s, was %s)",
                          plan->path, hex, plan->sha256);
  }
  beam_sha256_abort(&h);
  if (st == BEAM_OK) st = send_chunk(s, NULL, 0, true, buf, err);
  free(chunk);
  fclose(f);
  return st;
}

static beam_status answer(beam_grpc_stream *s, const beam_stage_plan *plan, const JOB(ArtifactRequestWrapper) *req,
                          beam_buf *buf, beam_error *err) {
  if (req->request_case == JOB_ENUM(ARTIFACT_REQUEST_WRAPPER__REQUEST_RESOLVE_ARTIFACT) && req->resolve_artifact)
    return answer_resolve(s, req->resolve_artifact, buf, err);
  if (req->request_case == JOB_ENUM(ARTIFACT_REQUEST_WRAPPER__REQUEST_GET_ARTIFACT) && req->get_artifact &&
      req->get_artifact->artifact) {
    beam_status st = find_staged(plan, req->get_artifact->artifact, err);
    return st == BEAM_OK ? answer_get(s, plan, buf, err) : st;
  }
  return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "the runner sent an artifact request of an unknown kind (%d)",
                        (int)req->request_case);
}

beam_status beam_stage_artifacts(const JOB(PrepareJobResponse) *prep, const char *job_endpoint,
                                 const beam_stage_plan *plan, beam_error *err) {
  const char *url = prep->artifact_staging_endpoint && prep->artifact_staging_endpoint->url &&
                            *prep->artifact_staging_endpoint->url
                        ? prep->artifact_staging_endpoint->url
                        : job_endpoint;
  beam_grpc_channel *ch = NULL;
  beam_grpc_stream *s = NULL;
  beam_buf buf = BEAM_BUF_INIT;
  beam_status st = beam_grpc_channel_open(url, NULL, &ch, err);
  if (st == BEAM_OK) st = beam_grpc_stream_open(ch, ARTIFACT_STAGING_SERVICE "ReverseArtifactRetrievalService", &s, err);
  JOB(ArtifactResponseWrapper) hello = JOB_INIT(ARTIFACT_RESPONSE_WRAPPER);
  hello.staging_token = prep->staging_session_token;
  if (st == BEAM_OK) st = send_response(s, &hello, &buf, err);
  /* Flink's and Python's job services resolve every environment's dependencies (even when
   * there are none) and wait for the answer; Prism asks only for the files. */
  for (bool eof = false; st == BEAM_OK;) {
    st = beam_grpc_stream_recv(s, &buf, &eof, err);
    if (st != BEAM_OK || eof) break;
    JOB(ArtifactRequestWrapper) *req = JOB_FN(artifact_request_wrapper__unpack)(NULL, buf.len, buf.data);
    st = req ? answer(s, plan, req, &buf, err)
             : beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable artifact request from the runner");
    if (req) JOB_FN(artifact_request_wrapper__free_unpacked)(req, NULL);
  }
  if (st == BEAM_OK) st = beam_grpc_stream_close_send(s, err);
  beam_buf_free(&buf);
  beam_grpc_stream_free(s);
  beam_grpc_channel_close(ch);
  return st;
}
