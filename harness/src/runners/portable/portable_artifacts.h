/* Artifact staging for portable submission: the launcher offers its worker binary to the job
 * service, which pulls it over ArtifactStagingService/ReverseArtifactRetrievalService (the
 * launcher is the gRPC client but answers the server's Resolve/GetArtifact requests). */
#ifndef BEAM_PORTABLE_ARTIFACTS_H
#define BEAM_PORTABLE_ARTIFACTS_H

#include <stdbool.h>

#include "artifact_info.h"
#include "beam/arena.h"
#include "beam/status.h"
#include "job_names.h"
#include "beam/sha256.h"

/* What the environments depend on: none, or the worker binary. */
typedef struct beam_stage_plan {
  char path[4096];                    /* absolute path of the worker binary */
  char sha256[BEAM_SHA256_HEX_LEN + 1];
  PIPE(ArtifactInformation) **deps;   /* the environments' dependencies (in arena) */
  size_t n_deps;
  beam_arena arena;
} beam_stage_plan;

/* Plans to stage worker_binary (NULL: this program, /proc/self/exe) as BEAM_WORKER_ARTIFACT_NAME:
 * resolves the path and takes its sha256. */
beam_status beam_stage_plan_worker(beam_stage_plan *plan, const char *worker_binary, beam_error *err);
void beam_stage_plan_free(beam_stage_plan *plan);

/* Serves the runner's staging session (staging token and endpoint from Prepare; job_endpoint
 * when the response names none) until the runner ends it: ResolveArtifacts answered with the
 * artifacts as they are (FILE artifacts the launcher serves itself), GetArtifact with the
 * file in chunks then an is_last message. Requests for files not in the plan are refused. */
beam_status beam_stage_artifacts(const JOB(PrepareJobResponse) *prep, const char *job_endpoint,
                                 const beam_stage_plan *plan, beam_error *err);

#endif
