/* What a Dataflow submission puts in GCS before creating the job: the Pipeline proto (with
 * DOCKER environments) and, when asked, the worker binary named by content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "artifact_info.h"
#include "beam/urns.h"
#include "dataflow_stage.h"
#include "portable_environment.h"
#include "proto_names.h"
#include "beam/sha256.h"


/* "gs://b/x/" + "name" -> "gs://b/x/name" (one slash). */
static char *join_path(const char *dir, const char *name) {
  size_t n = strlen(dir);
  while (n && dir[n - 1] == '/') n--;
  size_t cap = n + strlen(name) + 2;
  char *out = malloc(cap);
  if (out) snprintf(out, cap, "%.*s/%s", (int)n, dir, name);
  return out;
}

beam_status beam_dataflow_stage_paths(const beam_dataflow_options *o, const char *job_name, beam_dataflow_stage *st,
                                      beam_error *err) {
  char *base = o->staging_location ? strdup(o->staging_location) : join_path(o->temp_location, "staging");
  char dir[1200];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  snprintf(dir, sizeof dir, "%s-%s-%ld", job_name, stamp, (long)getpid());
  char *job_dir = base ? join_path(base, dir) : NULL;
  st->pipeline_url = job_dir ? join_path(job_dir, "pipeline.pb") : NULL;
  st->staging_base = base;
  free(job_dir);
  if (!st->pipeline_url) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

beam_status beam_dataflow_worker_paths(const beam_dataflow_options *o, beam_dataflow_stage *st, beam_error *err) {
  char self[4096];
  const char *path = o->worker_binary;
  if (!path) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return beam_error_set(err, BEAM_ERR_IO, "cannot find this program's path to stage it");
    self[n] = '\0';
    path = self;
  }
  beam_status s = beam_sha256_file(path, st->worker_sha256, err);
  char name[64];
  snprintf(name, sizeof name, BEAM_WORKER_ARTIFACT_NAME "-%.16s", st->worker_sha256);
  if (s == BEAM_OK && (!(st->worker_path = strdup(path)) || !(st->worker_url = join_path(st->staging_base, name))))
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return s;
}

/* The staged worker as a url artifact (ArtifactUrlPayload{url, sha256}) with the staging_to
 * role, for the image's boot to fetch. Everything lives in a. */
static beam_status worker_url_artifact(const beam_dataflow_stage *st, beam_arena *a, PIPE(ArtifactInformation) **out,
                                       beam_error *err) {
  PIPE(ArtifactUrlPayload) up = PIPE_INIT(ARTIFACT_URL_PAYLOAD);
  up.url = st->worker_url;
  up.sha256 = (char *)st->worker_sha256;
  PIPE(ArtifactStagingToRolePayload) rp = PIPE_INIT(ARTIFACT_STAGING_TO_ROLE_PAYLOAD);
  rp.staged_name = BEAM_WORKER_ARTIFACT_NAME;
  size_t ul = PIPE_FN(artifact_url_payload__get_packed_size)(&up);
  size_t rl = PIPE_FN(artifact_staging_to_role_payload__get_packed_size)(&rp);
  uint8_t *ub = beam_arena_alloc(a, ul + 1), *rb = beam_arena_alloc(a, rl + 1);
  PIPE(ArtifactInformation) *info = beam_arena_alloc(a, sizeof *info);
  if (!ub || !rb || !info) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *info = (PIPE(ArtifactInformation))PIPE_INIT(ARTIFACT_INFORMATION);
  info->type_urn = BEAM_URN_ARTIFACT_URL;
  info->type_payload = (ProtobufCBinaryData){PIPE_FN(artifact_url_payload__pack)(&up, ub), ub};
  info->role_urn = BEAM_URN_ARTIFACT_ROLE_STAGING_TO;
  info->role_payload = (ProtobufCBinaryData){PIPE_FN(artifact_staging_to_role_payload__pack)(&rp, rb), rb};
  *out = info;
  return BEAM_OK;
}

beam_status beam_dataflow_prepare_pipeline(const uint8_t *proto, size_t len, const beam_dataflow_options *o,
                                           const beam_dataflow_stage *st, beam_buf *out, beam_error *err) {
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, len, proto);
  if (!pl) return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode the Pipeline proto to submit");
  beam_arena a = BEAM_ARENA_INIT;
  beam_environment_saved *saved = NULL;
  size_t n_saved = 0;
  PIPE(ArtifactInformation) *worker = NULL;
  beam_status s = st->worker_url ? worker_url_artifact(st, &a, &worker, err) : BEAM_OK;
  if (s == BEAM_OK)
    s = beam_environment_apply(pl, "DOCKER", o->sdk_container_image, &worker, worker ? 1 : 0, &a, &saved, &n_saved,
                               err);
  if (s == BEAM_OK) s = beam_buf_reserve(out, PIPE_FN(pipeline__get_packed_size)(pl));
  if (s == BEAM_OK) out->len = PIPE_FN(pipeline__pack)(pl, out->data);
  beam_environment_restore(saved, n_saved);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  beam_arena_free(&a);
  return s;
}

static beam_status upload_bytes(beam_gcs *g, const char *url, const void *data, size_t len, bool *created,
                                beam_error *err) {
  char *bucket = NULL, *object = NULL;
  beam_status s = beam_gcs_parse_uri(url, &bucket, &object, err);
  beam_gcs_upload_options uo = {.content_type = "application/octet-stream", .only_if_absent = true};
  if (s == BEAM_OK) s = beam_gcs_upload_bytes(g, bucket, object, &uo, data, len, created, err);
  free(bucket);
  free(object);
  return s == BEAM_OK ? s : beam_error_prefix(err, "staging %s: ", url);
}

typedef struct file_reader {
  FILE *f;
} file_reader;

static beam_status read_file_chunk(void *ctx, void *buf, size_t cap, size_t *n, beam_error *err) {
  file_reader *r = ctx;
  *n = fread(buf, 1, cap, r->f);
  return ferror(r->f) ? beam_error_set(err, BEAM_ERR_IO, "read error") : BEAM_OK;
}

static beam_status rewind_file(void *ctx, beam_error *err) {
  file_reader *r = ctx;
  return fseek(r->f, 0, SEEK_SET) == 0 ? BEAM_OK : beam_error_set(err, BEAM_ERR_IO, "cannot rewind");
}

beam_status beam_dataflow_stage_files(beam_gcs *g, const beam_dataflow_stage *st, const beam_buf *pipeline,
                                      bool quiet, beam_error *err) {
  bool created = false;
  beam_status s = upload_bytes(g, st->pipeline_url, pipeline->data, pipeline->len, &created, err);
  if (s == BEAM_OK && !created)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "staging %s: the object exists already; not overwriting it",
                          st->pipeline_url);
  if (s != BEAM_OK || !st->worker_url) return s;
  char *bucket = NULL, *object = NULL;
  s = beam_gcs_parse_uri(st->worker_url, &bucket, &object, err);
  file_reader r = {fopen(st->worker_path, "rb")};
  if (s == BEAM_OK && !r.f) s = beam_error_set(err, BEAM_ERR_IO, "cannot read the worker binary %s", st->worker_path);
  beam_gcs_upload_options uo = {.content_type = "application/octet-stream", .only_if_absent = true};
  /* Named by content: an existing object is the same binary, staged by an earlier job. */
  if (s == BEAM_OK) s = beam_gcs_upload(g, bucket, object, &uo, read_file_chunk, rewind_file, &r, &created, NULL, err);
  if (s == BEAM_OK && !quiet)
    fprintf(stderr, "dataflow: worker binary %s %s\n", st->worker_url, created ? "staged" : "already staged");
  if (r.f) fclose(r.f);
  free(bucket);
  free(object);
  return s;
}

void beam_dataflow_stage_free(beam_dataflow_stage *st) {
  free(st->staging_base);
  free(st->pipeline_url);
  free(st->worker_url);
  free(st->worker_path);
  memset(st, 0, sizeof *st);
}
