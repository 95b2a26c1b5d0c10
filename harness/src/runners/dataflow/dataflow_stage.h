/* Staging for a Dataflow submission (see dataflow_stage.c). */
#ifndef BEAM_DATAFLOW_STAGE_H
#define BEAM_DATAFLOW_STAGE_H

#include "beam/buf.h"
#include "beam/dataflow.h"
#include "beam/gcs.h"

typedef struct beam_dataflow_stage {
  char *staging_base;   /* gs://.../staging */
  char *pipeline_url;   /* gs://.../staging/<job>-<time>-<pid>/pipeline.pb */
  char *worker_url;     /* gs://.../staging/beam-c-worker-<sha256 prefix>; NULL: baked in the image */
  char *worker_path;
  char worker_sha256[65];
} beam_dataflow_stage;

beam_status beam_dataflow_stage_paths(const beam_dataflow_options *o, const char *job_name, beam_dataflow_stage *st,
                                      beam_error *err);
/* Finds and hashes the worker binary (--worker_binary or this program). */
beam_status beam_dataflow_worker_paths(const beam_dataflow_options *o, beam_dataflow_stage *st, beam_error *err);
/* The pipeline as Dataflow runs it: every environment DOCKER with the SDK image, plus the
 * staged worker as an artifact when there is one. */
beam_status beam_dataflow_prepare_pipeline(const uint8_t *proto, size_t len, const beam_dataflow_options *o,
                                           const beam_dataflow_stage *st, beam_buf *out, beam_error *err);
/* Uploads the pipeline (never over an existing object) and the worker binary. */
beam_status beam_dataflow_stage_files(beam_gcs *g, const beam_dataflow_stage *st, const beam_buf *pipeline,
                                      bool quiet, beam_error *err);
void beam_dataflow_stage_free(beam_dataflow_stage *st);

#endif
