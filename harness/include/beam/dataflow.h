/* Running a pipeline as a Google Cloud Dataflow job (runner v2, portable job submission).
 *
 *   beam_dataflow_options o;
 *   beam_dataflow_options_init(&o);
 *   ... beam_dataflow_flag(&o, "project", "my-project", msg, sizeof msg) for each flag ...
 *   beam_run_dataflow(pipeline_proto, len, &o, &result, &err);
 *
 * What a submission does, in order:
 *  1. Every environment of the pipeline becomes a DOCKER environment running
 *     --sdk_container_image (Dataflow runs nothing else); with --stage_worker the
 *     worker binary is staged to GCS and named as the environments' artifact, which the
 *     image's boot program fetches and runs (otherwise the image's baked-in worker runs).
 *  2. The encoded Pipeline proto is staged to --staging_location (GCS, never overwriting).
 *  3. projects.locations.jobs.create with a Job whose steps are empty: the pipeline is named
 *     by sdkPipelineOptions.options.pipelineUrl; experiments use_runner_v2,
 *     use_unified_worker, use_portable_job_submission, beam_fn_api; one
 *     sdkHarnessContainerImages entry per environment with its capabilities.
 *     A pipeline with an unbounded PCollection (beam_pubsub_read), or --streaming, is a
 *     streaming job: JOB_TYPE_STREAMING, environment version FNAPI_STREAMING, pipeline
 *     option streaming=true, and Streaming Engine (experiments enable_streaming_engine,
 *     enable_windmill_service) as Beam's SDKs request it for runner v2.
 *  4. Unless --detach: the job is followed (jobs.get, jobs.messages.list): each state change
 *     and each job message printed once, until a terminal state. DONE is success; FAILED,
 *     CANCELLED and the rest are BEAM_ERR_USER with the job's error messages. Ctrl-C or
 *     SIGTERM while following: a batch job is cancelled (on a terminal, after asking); a
 *     streaming job is drained (JOB_STATE_DRAINING: the sources stop, what was read is
 *     processed and committed), or cancelled with --cancel_on_interrupt; a drained job that
 *     ends DRAINED is a success. A second Ctrl-C stops following (the job drains on).
 *
 * --dry_run prints the Job JSON (to o.out) and calls nothing; --template_location stages and
 * writes the Job JSON to that path instead of creating the job. --dataflow_endpoint points
 * every Dataflow call elsewhere (a test server); GCS honours STORAGE_EMULATOR_HOST.
 * Credentials: Application Default Credentials (beam/gcp_auth.h), not used for an
 * http:// endpoint on loopback (tests). */
#ifndef BEAM_DATAFLOW_H
#define BEAM_DATAFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "beam/runner.h"
#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_dataflow_options {
  /* Beam's flag names (Python/Java/Go SDKs). Strings are borrowed. */
  const char *project;
  const char *region;
  const char *temp_location;        /* gs://...; required */
  const char *staging_location;     /* gs://...; default temp_location + "/staging" */
  const char *sdk_container_image;  /* required: the beam-c SDK image (containers/sdk) */
  const char *job_name;             /* default beam-c-<user>-<utc time> */
  int num_workers;                  /* 0: the service's choice */
  int max_num_workers;
  const char *machine_type;
  const char *service_account_email;
  const char *network;
  const char *subnetwork;
  bool no_use_public_ips;
  const char *labels;               /* {"k": "v"} or k=v,k=v */
  const char *experiments;          /* comma-separated, added to the required ones */
  const char *dataflow_endpoint;    /* default https://dataflow.googleapis.com */
  bool update;                      /* replace the running job of the same name */
  bool streaming;                   /* a streaming job even when every PCollection is bounded */
  bool cancel_on_interrupt;         /* streaming: Ctrl-C cancels instead of draining */
  const char *transform_name_mapping; /* with update: {"old": "new"} */
  bool dry_run;                     /* print the Job JSON, call nothing */
  /* Stage, then write the Job JSON here (gs://... or a local path) instead of creating the
   * job: what Beam's SDKs do with --template_location, and what a flex-template launcher
   * asks of the program it runs (it creates the job from that file itself). */
  const char *template_location;
  bool detach;                      /* return once the job is created */
  bool stage_worker_binary;         /* --stage_worker: stage worker_binary (default: this program) */
  const char *worker_binary;
  /* Not flags. */
  const json_t *pipeline_options;   /* user options: reach the DoFns on the workers */
  int poll_interval_ms;             /* default 5000 (--dataflow_poll_ms) */
  bool quiet;                       /* no state/message lines */
  FILE *out;                        /* dry_run output; NULL: stdout */
  bool watch_interrupt;             /* follow Ctrl-C/SIGTERM as described above (default) */
} beam_dataflow_options;

void beam_dataflow_options_init(beam_dataflow_options *o);

/* Applies flag --name=value if it is a Dataflow flag: 1 applied, 0 not a Dataflow flag,
 * -1 a bad value (msg says which). Boolean flags take value NULL, "true" or "false". */
int beam_dataflow_flag(beam_dataflow_options *o, const char *name, const char *value, char *msg,
                       size_t cap);
bool beam_dataflow_flag_is_bool(const char *name);
/* One line per flag, for usage texts. */
const char *beam_dataflow_flags_help(void);

/* Checks what a submission needs (project, region, temp_location, image, gs:// locations,
 * a valid job name), naming the flag that is wrong. */
beam_status beam_dataflow_options_check(const beam_dataflow_options *o, beam_error *err);

/* True when the encoded pipeline has an UNBOUNDED PCollection (false if it does not decode). */
bool beam_dataflow_pipeline_is_unbounded(const uint8_t *pipeline_proto, size_t len);

/* The Job body of projects.locations.jobs.create for an encoded Pipeline (already carrying
 * its DOCKER environments) staged at pipeline_url; worker_url (may be NULL) is the staged
 * worker binary. */
beam_status beam_dataflow_job_json(const uint8_t *pipeline_proto, size_t len,
                                   const beam_dataflow_options *o, const char *job_name,
                                   const char *pipeline_url, const char *worker_url,
                                   json_t **out, beam_error *err);

/* Submits and (unless detach/dry_run) follows the job; see above. result (may be NULL) gets
 * the elapsed time and, after DONE, the job's committed user counters (jobs.getMetrics). */
beam_status beam_run_dataflow(const uint8_t *pipeline_proto, size_t len,
                              const beam_dataflow_options *o, beam_run_result *result,
                              beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
