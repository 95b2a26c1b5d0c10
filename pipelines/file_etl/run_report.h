/* --summary_json=FILE: the run's outcome for schedulers. Per file: status (loaded, failed,
 * skipped), counts and error; totals; the exit status. Files loaded by workers that share
 * this machine's filesystem (the local runner, a portable runner's loopback or process
 * workers) are listed one by one; a job on Dataflow reports its totals only. */
#ifndef FILE_ETL_RUN_REPORT_H
#define FILE_ETL_RUN_REPORT_H

#include <jansson.h>

#include "beam/pipeline.h"
#include "beam/runner.h"
#include "beam/status.h"
#include "beam/transforms/etl_destination.h"
#include "load_plan.h"

typedef struct file_etl_run_report {
  char *path;       /* --summary_json, or NULL: nothing is collected */
  char *lines_path; /* the workers' per-file lines (a temporary file) */
  json_t *root;
} file_etl_run_report;

/* Starts a report to path (NULL: a report that does nothing). */
beam_status file_etl_run_report_init(file_etl_run_report *r, const char *path, beam_error *err);

/* Adds a ParDo after files (the _files rows written) that appends each as a JSON line. */
beam_status file_etl_run_report_attach(file_etl_run_report *r, beam_pipeline *p, beam_pcollection *files,
                                       beam_error *err);

/* Adds a run's counters (one runner group): the totals, and per destination what it received
 * ("destinations": sink, selection, written per table, dead_lettered, files_rows, not_taken,
 * files_already_loaded). totals.written (per table, _dead_letter included) is there with
 * one destination only. */
void file_etl_run_report_add_run(file_etl_run_report *r, const beam_run_result *res,
                                 const beam_etl_destination *dests, size_t n_dests, const char *runner);

/* Adds a stream's run (a pubsub: input) instead: "stream" {input, messages, filtered,
 * elapsed_seconds, messages_per_second} and per destination (in "destinations": sink,
 * selection, written per table, dead_lettered, not_taken, bundles, messages_committed,
 * messages_committed_before, commit_latency_ms {p50, p99, messages}: publish to commit, each
 * the upper bound of its histogram bucket). */
void file_etl_run_report_add_stream(file_etl_run_report *r, const beam_run_result *res, const char *input,
                                    const beam_etl_destination *dests, size_t n_dests, const char *runner);

/* Writes the file: skipped files from the plan, the per-file lines, totals, exit status. */
beam_status file_etl_run_report_write(file_etl_run_report *r, const file_etl_load_plan *plan, int exit_status,
                                      beam_error *err);
void file_etl_run_report_free(file_etl_run_report *r);

/* Registers the DoFn the ParDo uses (a worker started by a runner needs it too). */
beam_status file_etl_run_report_register(void);

#endif
