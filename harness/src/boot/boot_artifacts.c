/* The boot program's downloads: an environment's artifacts from the runner's
 * ArtifactRetrievalService into the semi-persistent directory, each checked against the
 * sha256 its payload carries before it is renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact_info.h"
#include "beam/urns.h"
#include "boot_internal.h"
#include "beam/grpc_client.h"
#include "job_names.h"

#define ARTIFACT_RETRIEVAL_SERVICE "/org.apache.beam.model.job_management.v1.ArtifactRetrievalService/"
/* A worker binary over loopback takes well under a second; a stalled runner must not keep the
 * environment waiting forever. */
enum { RESOLVE_TIMEOUT_MS = 60000, ARTIFACT_TIMEOUT_MS = 600000 };

static char *join(const char *dir, const char *name, const char *suffix) {
  size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s%s", dir, name, suffix);
  return p;
}

beam_status beam_boot_download_begin(beam_boot_download *d, const char *dir, const char *name,
                                     const char *expected_sha256, beam_error *err) {
  memset(d, 0, sizeof *d);
  d->path = join(dir, name, "");
  char suffix[32];
  snprintf(suffix, sizeof suffix, ".part-%ld", (long)getpid());
  d->part = join(dir, name, suffix);
  d->expected_sha256 = expected_sha256 && *expected_sha256 ? strdup(expected_sha256) : NULL;
  d->what = name;
  if (!d->path || !d->part || (expected_sha256 && *expected_sha256 && !d->expected_sha256)) {
    beam_boot_download_abort(d);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  d->f = fopen(d->part, "wb");
  if (!d->f) {
    beam_status s = beam_error_set(err, BEAM_ERR_IO, "%s: %s", d->part, strerror(errno));
    beam_boot_download_abort(d);
    return s;
  }
  beam_status s = beam_sha256_begin(&d->hash, err);
  if (s != BEAM_OK) beam_boot_download_abort(d);
  return s;
}

beam_status beam_boot_download_write(beam_boot_download *d, const void *data, size_t len, beam_error *err) {
  if (len && fwrite(data, 1, len, d->f) != len)
    return beam_error_set(err, BEAM_ERR_IO, "%s: write failed: %s", d->part, strerror(errno));
  beam_sha256_update(&d->hash, data, len);
  d->bytes += len;
  return BEAM_OK;
}

beam_status beam_boot_download_finish(beam_boot_download *d, int *fd, beam_error *err) {
  char got[BEAM_SHA256_HEX_LEN + 1];
  if (fd) *fd = -1;
  beam_sha256_end_hex(&d->hash, got);
  beam_status s = BEAM_OK;
  if (fclose(d->f) != 0) s = beam_error_set(err, BEAM_ERR_IO, "%s: %s", d->part, strerror(errno));
  d->f = NULL;
  if (s == BEAM_OK && d->expected_sha256 && strcasecmp(got, d->expected_sha256) != 0)
    s = beam_error_set(err, BEAM_ERR_MALFORMED,
                       "artifact %s: sha256 mismatch: the runner sent %zu bytes with sha256 %s, the artifact says %s; "
                       "refusing a corrupted download",
                       d->what, d->bytes, got, d->expected_sha256);
  if (s == BEAM_OK && fd && (*fd = open(d->part, O_RDONLY | O_CLOEXEC)) < 0)
    s = beam_error_set(err, BEAM_ERR_IO, "%s: %s", d->part, strerror(errno));
  if (s == BEAM_OK && rename(d->part, d->path) != 0)
    s = beam_error_set(err, BEAM_ERR_IO, "%s: cannot rename into place: %s", d->path, strerror(errno));
  if (s != BEAM_OK) {
    unlink(d->part);
    if (fd && *fd >= 0) close(*fd), *fd = -1;
  }
  free(d->path);
  free(d->part);
  free(d->expected_sha256);
  memset(d, 0, sizeof *d);
  return s;
}

void beam_boot_download_abort(beam_boot_download *d) {
  if (d->f) fclose(d->f);
  if (d->part) unlink(d->part);
  beam_sha256_abort(&d->hash);
  free(d->path);
  free(d->part);
  free(d->expected_sha256);
  memset(d, 0, sizeof *d);
}

/* GetArtifact is server-streaming: one request, then chunks until the stream ends. */
static beam_status get_artifact(beam_grpc_channel *ch, const PIPE(ArtifactInformation) *ai, beam_boot_download *d,
                                beam_error *err) {
  JOB(GetArtifactRequest) req = JOB_INIT(GET_ARTIFACT_REQUEST);
  req.artifact = (PIPE(ArtifactInformation) *)ai;
  beam_buf buf = BEAM_BUF_INIT;
  beam_grpc_stream *s = NULL;
  beam_status st = beam_buf_reserve(&buf, JOB_FN(get_artifact_request__get_packed_size)(&req) + 1);
  if (st != BEAM_OK) return beam_error_set(err, st, "out of memory");
  buf.len = JOB_FN(get_artifact_request__pack)(&req, buf.data);
  st = beam_grpc_stream_open_timeout(ch, ARTIFACT_RETRIEVAL_SERVICE "GetArtifact", ARTIFACT_TIMEOUT_MS, &s, err);
  if (st == BEAM_OK) st = beam_grpc_stream_send(s, buf.data, buf.len, err);
  if (st == BEAM_OK) st = beam_grpc_stream_close_send(s, err);
  for (bool eof = false; st == BEAM_OK;) {
    st = beam_grpc_stream_recv(s, &buf, &eof, err);
    if (st != BEAM_OK || eof) break;
    JOB(GetArtifactResponse) *chunk = JOB_FN(get_artifact_response__unpack)(NULL, buf.len, buf.data);
    st = chunk ? beam_boot_download_write(d, chunk->data.data, chunk->data.len, err)
               : beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable GetArtifactResponse");
    if (chunk) JOB_FN(get_artifact_response__free_unpacked)(chunk, NULL);
  }
  beam_grpc_stream_free(s);
  beam_buf_free(&buf);
  return st;
}

/* An EMBEDDED artifact carries its bytes: nothing to fetch. */
static beam_status write_embedded(const PIPE(ArtifactInformation) *ai, beam_boot_download *d, beam_error *err) {
  PIPE(EmbeddedFilePayload) *e = PIPE_FN(embedded_file_payload__unpack)(NULL, ai->type_payload.len, ai->type_payload.data);
  if (!e) return beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable EmbeddedFilePayload");
  beam_status s = beam_boot_download_write(d, e->data.data, e->data.len, err);
  PIPE_FN(embedded_file_payload__free_unpacked)(e, NULL);
  return s;
}

/* The staged name as a file name in dir: its last path component, never "." or "..". */
static const char *file_name(const beam_artifact_desc *desc, size_t index, char *fallback, size_t cap) {
  const char *name = desc->staged_name;
  if (name) {
    const char *slash = strrchr(name, '/');
    name = slash ? slash + 1 : name;
  }
  if (name && *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) return name;
  snprintf(fallback, cap, "artifact-%zu", index);
  return fallback;
}

static beam_status fetch_one(beam_grpc_channel *ch, const PIPE(ArtifactInformation) *ai, size_t index,
                             const char *dir, beam_boot_staged *out, beam_error *err) {
  beam_artifact_desc desc;
  beam_status s = beam_artifact_describe(ai, &desc, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "artifact %zu: ", index);
  char fallback[32];
  const char *name = file_name(&desc, index, fallback, sizeof fallback);
  beam_boot_download d;
  s = beam_boot_download_begin(&d, dir, name, desc.sha256, err);
  bool embedded = ai->type_urn && strcmp(ai->type_urn, BEAM_URN_ARTIFACT_EMBEDDED) == 0;
  if (s == BEAM_OK) s = embedded ? write_embedded(ai, &d, err) : get_artifact(ch, ai, &d, err);
  if (s == BEAM_OK) {
    out->path = strdup(d.path);
    out->staged_name = desc.staged_name ? strdup(desc.staged_name) : NULL;
    out->bytes = d.bytes;
    out->sha256_checked = d.expected_sha256 != NULL;
    s = beam_boot_download_finish(&d, &out->fd, err);
  } else if (d.path) {
    beam_boot_download_abort(&d);
  }
  if (s != BEAM_OK)
    beam_error_prefix(err, "artifact %zu (%s %s): ", index, ai->type_urn ? ai->type_urn : "",
                      desc.path ? desc.path : name);
  beam_artifact_desc_free(&desc);
  return s;
}

static bool fetchable(const PIPE(ArtifactInformation) *ai) {
  const char *urn = ai->type_urn ? ai->type_urn : "";
  return strcmp(urn, BEAM_URN_ARTIFACT_FILE) == 0 || strcmp(urn, BEAM_URN_ARTIFACT_EMBEDDED) == 0 ||
         strcmp(urn, BEAM_URN_ARTIFACT_URL) == 0;
}

/* Runners serve FILE artifacts (and URL ones) through GetArtifact directly; anything else
 * (DEFERRED, ...) is first resolved into those. */
static beam_status resolve(beam_grpc_channel *ch, PIPE(ArtifactInformation) **deps, size_t n,
                           JOB(ResolveArtifactsResponse) **out, beam_error *err) {
  JOB(ResolveArtifactsRequest) req = JOB_INIT(RESOLVE_ARTIFACTS_REQUEST);
  char *preferred[] = {BEAM_URN_ARTIFACT_FILE, BEAM_URN_ARTIFACT_EMBEDDED};
  req.artifacts = deps;
  req.n_artifacts = n;
  req.preferred_urns = preferred;
  req.n_preferred_urns = 2;
  beam_buf body = BEAM_BUF_INIT, resp = BEAM_BUF_INIT;
  beam_status s = beam_buf_reserve(&body, JOB_FN(resolve_artifacts_request__get_packed_size)(&req) + 1);
  if (s == BEAM_OK) {
    body.len = JOB_FN(resolve_artifacts_request__pack)(&req, body.data);
    s = beam_grpc_unary(ch, ARTIFACT_RETRIEVAL_SERVICE "ResolveArtifacts", body.data, body.len, RESOLVE_TIMEOUT_MS,
                        &resp, err);
  }
  if (s == BEAM_OK && !(*out = JOB_FN(resolve_artifacts_response__unpack)(NULL, resp.len, resp.data)))
    s = beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable ResolveArtifactsResponse");
  beam_buf_free(&body);
  beam_buf_free(&resp);
  return s;
}

beam_status beam_boot_materialize(const char *endpoint, const char *worker_id, FN(ProvisionInfo) *info,
                                  const char *dir, beam_boot_staged **out, size_t *n_out, beam_error *err) {
  *out = NULL;
  *n_out = 0;
  PIPE(ArtifactInformation) **deps = info->dependencies;
  size_t n = info->n_dependencies;
  if (n == 0) return BEAM_OK;
  if (!endpoint || !*endpoint)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "%zu artifacts to fetch but no artifact endpoint (ProvisionInfo.artifact_endpoint or "
                          "--artifact_endpoint)", n);
  beam_grpc_channel *ch = NULL;
  JOB(ResolveArtifactsResponse) *resolved = NULL;
  beam_status s = beam_grpc_channel_open(endpoint, worker_id, &ch, err);
  bool all_fetchable = true;
  for (size_t i = 0; i < n; i++) all_fetchable = all_fetchable && fetchable(deps[i]);
  if (s == BEAM_OK && !all_fetchable && (s = resolve(ch, deps, n, &resolved, err)) == BEAM_OK) {
    deps = resolved->replacements;
    n = resolved->n_replacements;
  }
  if (s != BEAM_OK) beam_error_prefix(err, "ResolveArtifacts on %s: ", endpoint);
  *out = s == BEAM_OK ? calloc(n + 1, sizeof **out) : NULL;
  if (s == BEAM_OK && !*out) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; *out && i < n; i++) (*out)[i].fd = -1;
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    s = fetch_one(ch, deps[i], i, dir, &(*out)[i], err);
    *n_out = i + 1;
  }
  if (resolved) JOB_FN(resolve_artifacts_response__free_unpacked)(resolved, NULL);
  beam_grpc_channel_close(ch);
  if (s != BEAM_OK) {
    beam_boot_staged_free(*out, *n_out);
    *out = NULL;
    *n_out = 0;
  }
  return s;
}

void beam_boot_staged_free(beam_boot_staged *staged, size_t n) {
  for (size_t i = 0; staged && i < n; i++) {
    free(staged[i].path);
    free(staged[i].staged_name);
    if (staged[i].fd >= 0) close(staged[i].fd);
  }
  free(staged);
}
