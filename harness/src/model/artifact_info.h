/* ArtifactInformation (beam_runner_api.proto) in and out: the one artifact beam-c stages (the
 * worker binary as a FILE with a staging_to role) and what a harness needs to fetch one. */
#ifndef BEAM_ARTIFACT_INFO_H
#define BEAM_ARTIFACT_INFO_H

#include "beam/arena.h"
#include "beam/status.h"
#include "proto_names.h"

/* The staged name of the worker binary (ArtifactStagingToRolePayload.staged_name): boot
 * looks for it among the environment's dependencies. */
#define BEAM_WORKER_ARTIFACT_NAME "beam-c-worker"

/* A beam:artifact:type:file:v1 artifact (ArtifactFilePayload{path, sha256}) with the role
 * beam:artifact:role:staging_to:v1 (staged_name). Everything lives in a. */
beam_status beam_artifact_file_new(const char *path, const char *sha256_hex, const char *staged_name, beam_arena *a,
                                   PIPE(ArtifactInformation) **out, beam_error *err);

/* What a payload says about an artifact; strings are malloc'd, NULL when absent. */
typedef struct beam_artifact_desc {
  char *path;        /* FILE: path on the stager's machine; URL: the url */
  char *sha256;      /* hex, from the FILE or URL payload */
  char *staged_name; /* from a staging_to role */
} beam_artifact_desc;

/* Decodes the type and role payloads; an undecodable payload is BEAM_ERR_MALFORMED. */
beam_status beam_artifact_describe(const PIPE(ArtifactInformation) *ai, beam_artifact_desc *out, beam_error *err);
void beam_artifact_desc_free(beam_artifact_desc *d);

#endif
