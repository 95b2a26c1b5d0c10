/* What a Dataflow submission puts in GCS before creating the job: the Pipeline proto (with
 * DOCKER environments) and, when asked, the worker binary named by content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dataflow_stage.h"
#include "portable_environment.h"
#include "proto_names.h"

#define WORKER_STAGED_NAME "beam-c-worker"
#define ARTIFACT_TYPE_URL "beam:artifact:type:url:v1"
#define ARTIFACT_ROLE_STAGING_TO "beam:artifact:role:staging_to:v1"

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

/* sha256 of a file as lowercase hex. */
static beam_status file_sha256(const char *path, char hex[65], beam_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return beam_error_set(err, BEAM_ERR_IO, "cannot read the worker binary %s", path);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  beam_status s = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "sha256");
  unsigned char buf[1 << 16];
  for (size_t n; s == BEAM_OK && (n = fread(buf, 1, sizeof buf, f)) > 0;)
    if (!EVP_DigestUpdate(md, buf, n)) s = beam_error_set(err, BEAM_ERR_IO, "sha256 of %s", path);
  if (s == BEAM_OK && ferror(f)) s = beam_error_set(err, BEAM_ERR_IO, "error reading %s", path);
  unsigned char digest[32];
  unsigned int len = 0;
  if (s == BEAM_OK && !EVP_DigestFinal_ex(md, digest, &len)) s = beam_error_set(err, BEAM_ERR_IO, "sha256 of %s", path);
  for (unsigned i = 0; s == BEAM_OK && i < len; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  EVP_MD_CTX_free(md);
  fclose(f);
  return s;
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
  beam_status s = file_sha256(path, st->worker_sha256, err);
  char name[64];
  snprintf(name, sizeof name, WORKER_STAGED_NAME "-%.16s", st->worker_sha256);
  if (s == BEAM_OK && (!(st->worker_path = strdup(path)) || !(st->worker_url = join_path(st->staging_base, name))))
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return s;
}

/* Every environment gets the staged worker as a url artifact, for the image's boot. */
static beam_status add_worker_artifact(PIPE(Pipeline) *pl, const beam_dataflow_stage *st, beam_arena *a,
                                       beam_error *err) {
  PIPE(ArtifactUrlPayload) up = PIPE_INIT(ARTIFACT_URL_PAYLOAD);
  up.url = st->worker_url;
  up.sha256 = (char *)st->worker_sha256;
  PIPE(ArtifactStagingToRolePayload) rp = PIPE_INIT(ARTIFACT_STAGING_TO_ROLE_PAYLOAD);
  rp.staged_name = WORKER_STAGED_NAME;
  size_t ul = PIPE_FN(artifact_url_payload__get_packed_size)(&up), rl =
      PIPE_FN(artifact_staging_to_role_payload__get_packed_size)(&rp);
  uint8_t *ub = beam_arena_alloc(a, ul + 1), *rb = beam_arena_alloc(a, rl + 1);
  PIPE(ArtifactInformation) *info = beam_arena_alloc(a, sizeof *info);
  if (!ub || !rb || !info) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *info = (PIPE(ArtifactInformation))PIPE_INIT(ARTIFACT_INFORMATION);
  info->type_urn = ARTIFACT_TYPE_URL;
  info->type_payload = (ProtobufCBinaryData){PIPE_FN(artifact_url_payload__pack)(&up, ub), ub};
  info->role_urn = ARTIFACT_ROLE_STAGING_TO;
  info->role_payload = (ProtobufCBinaryData){PIPE_FN(artifact_staging_to_role_payload__pack)(&rp, rb), rb};
  const PIPE(Components) *c = pl->components;
  for (size_t i = 0; c && i < c->n_environments; i++) {
    PIPE(Environment) *env = c->environments[i]->value;
    PIPE(ArtifactInformation) **deps = beam_arena_alloc(a, (env->n_dependencies + 1) * sizeof *deps);
    if (!deps) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < env->n_dependencies; k++) deps[k] = env->dependencies[k];
    deps[env->n_dependencies] = info;
    /* Restored below only by freeing the unpacked pipeline: the arena owns the array, so
     * the unpacked pipeline must not free it. */
    env->dependencies = deps;
    env->n_dependencies++;
  }
  return BEAM_OK;
}

beam_status beam_dataflow_prepare_pipeline(const uint8_t *proto, size_t len, const beam_dataflow_options *o,
                                           const beam_dataflow_stage *st, beam_buf *out, beam_error *err) {
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, len, proto);
  if (!pl) return beam_error_set(err, BEAM_ERR_MALFORMED, "cannot decode the Pipeline proto to submit");
  beam_arena a = BEAM_ARENA_INIT;
  beam_environment_saved *saved = NULL;
  size_t n_saved = 0;
  /* The dependency arrays are swapped in and out around the pack, like the environments. */
  size_t n_envs = pl->components ? pl->components->n_environments : 0;
  PIPE(ArtifactInformation) ***old_deps = calloc(n_envs + 1, sizeof *old_deps);
  size_t *old_n = calloc(n_envs + 1, sizeof *old_n);
  beam_status s = old_deps && old_n ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == BEAM_OK && i < n_envs; i++) {
    old_deps[i] = pl->components->environments[i]->value->dependencies;
    old_n[i] = pl->components->environments[i]->value->n_dependencies;
  }
  if (s == BEAM_OK) s = beam_environment_apply(pl, "DOCKER", o->sdk_container_image, &a, &saved, &n_saved, err);
  if (s == BEAM_OK && st->worker_url) s = add_worker_artifact(pl, st, &a, err);
  if (s == BEAM_OK) s = beam_buf_reserve(out, PIPE_FN(pipeline__get_packed_size)(pl));
  if (s == BEAM_OK) out->len = PIPE_FN(pipeline__pack)(pl, out->data);
  for (size_t i = 0; old_deps && old_n && i < n_envs; i++) {
    pl->components->environments[i]->value->dependencies = old_deps[i];
    pl->components->environments[i]->value->n_dependencies = old_n[i];
  }
  beam_environment_restore(saved, n_saved);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
  beam_arena_free(&a);
  free(old_deps);
  free(old_n);
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
