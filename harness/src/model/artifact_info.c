/* ArtifactInformation payloads (see artifact_info.h). */
#include <stdlib.h>
#include <string.h>

#include "artifact_info.h"
#include "beam/urns.h"

static beam_status pack_into(const ProtobufCMessage *m, beam_arena *a, ProtobufCBinaryData *out, beam_error *err) {
  out->len = protobuf_c_message_get_packed_size(m);
  out->data = beam_arena_alloc(a, out->len + 1);
  if (!out->data) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  protobuf_c_message_pack(m, out->data);
  return BEAM_OK;
}

beam_status beam_artifact_file_new(const char *path, const char *sha256_hex, const char *staged_name, beam_arena *a,
                                   PIPE(ArtifactInformation) **out, beam_error *err) {
  PIPE(ArtifactInformation) *ai = beam_arena_calloc(a, 1, sizeof *ai);
  if (!ai) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *ai = (PIPE(ArtifactInformation))PIPE_INIT(ARTIFACT_INFORMATION);
  PIPE(ArtifactFilePayload) file = PIPE_INIT(ARTIFACT_FILE_PAYLOAD);
  file.path = (char *)path;
  file.sha256 = (char *)sha256_hex;
  PIPE(ArtifactStagingToRolePayload) role = PIPE_INIT(ARTIFACT_STAGING_TO_ROLE_PAYLOAD);
  role.staged_name = (char *)staged_name;
  ai->type_urn = BEAM_URN_ARTIFACT_FILE;
  ai->role_urn = BEAM_URN_ARTIFACT_ROLE_STAGING_TO;
  beam_status s = pack_into(&file.base, a, &ai->type_payload, err);
  if (s == BEAM_OK) s = pack_into(&role.base, a, &ai->role_payload, err);
  if (s == BEAM_OK) *out = ai;
  return s;
}

static char *dup_nonempty(const char *s) { return s && *s ? strdup(s) : NULL; }

static beam_status describe_type(const PIPE(ArtifactInformation) *ai, beam_artifact_desc *d, beam_error *err) {
  const char *urn = ai->type_urn ? ai->type_urn : "";
  const ProtobufCBinaryData *p = &ai->type_payload;
  if (strcmp(urn, BEAM_URN_ARTIFACT_FILE) == 0) {
    PIPE(ArtifactFilePayload) *f = PIPE_FN(artifact_file_payload__unpack)(NULL, p->len, p->data);
    if (!f) return beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable ArtifactFilePayload");
    d->path = dup_nonempty(f->path);
    d->sha256 = dup_nonempty(f->sha256);
    PIPE_FN(artifact_file_payload__free_unpacked)(f, NULL);
  } else if (strcmp(urn, BEAM_URN_ARTIFACT_URL) == 0) {
    PIPE(ArtifactUrlPayload) *u = PIPE_FN(artifact_url_payload__unpack)(NULL, p->len, p->data);
    if (!u) return beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable ArtifactUrlPayload");
    d->path = dup_nonempty(u->url);
    d->sha256 = dup_nonempty(u->sha256);
    PIPE_FN(artifact_url_payload__free_unpacked)(u, NULL);
  }
  return BEAM_OK;
}

beam_status beam_artifact_describe(const PIPE(ArtifactInformation) *ai, beam_artifact_desc *d, beam_error *err) {
  memset(d, 0, sizeof *d);
  beam_status s = describe_type(ai, d, err);
  if (s == BEAM_OK && ai->role_urn && strcmp(ai->role_urn, BEAM_URN_ARTIFACT_ROLE_STAGING_TO) == 0) {
    const ProtobufCBinaryData *p = &ai->role_payload;
    PIPE(ArtifactStagingToRolePayload) *r = PIPE_FN(artifact_staging_to_role_payload__unpack)(NULL, p->len, p->data);
    if (!r) s = beam_error_set(err, BEAM_ERR_MALFORMED, "undecodable ArtifactStagingToRolePayload");
    else d->staged_name = dup_nonempty(r->staged_name);
    if (r) PIPE_FN(artifact_staging_to_role_payload__free_unpacked)(r, NULL);
  }
  if (s != BEAM_OK) beam_artifact_desc_free(d);
  return s;
}

void beam_artifact_desc_free(beam_artifact_desc *d) {
  free(d->path);
  free(d->sha256);
  free(d->staged_name);
  memset(d, 0, sizeof *d);
}
