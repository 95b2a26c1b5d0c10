/* Command-line options of file_etl. */
#ifndef FILE_ETL_OPTIONS_H
#define FILE_ETL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/dataflow.h"

typedef struct file_etl_options {
  const char **inputs;
  size_t n_inputs;
  const char *spec;
  const char **sinks;        /* --sink, repeatable: destinations besides the spec's "outputs" */
  size_t n_sinks;
  const char *runner;        /* "auto" | "local" | "portable" | "dataflow" */
  int64_t size_threshold;    /* bytes; auto sends files at or above it to big_runner */
  const char *big_runner;    /* "portable" | "dataflow" (auto's runner for big files); NULL: none */
  const char *job_endpoint;  /* portable: the job service, host:port */
  const char *environment_type;   /* portable: PROCESS | EXTERNAL | DOCKER */
  const char *environment_config; /* portable: command, worker pool or image */
  beam_dataflow_options dataflow; /* --project, --region, ... (Beam's Dataflow flag names) */
  const char *worker_binary; /* portable: the binary staged for a boot program (default: this one) */
  bool stage_worker;         /* portable: stage it whatever the environment */
  const char *dump_pipeline; /* write the Pipeline proto here */
  const char *summary_json;  /* write the run's outcome here (run_report.h) */
  const char *progress;      /* "auto" | "on" | "off" */
  int64_t split_size;        /* bytes per range of a split file; 0 never; -1 auto (the default) */
  int64_t parallelism;       /* local runner: worker threads; 0: the CPUs this process may use */
  int64_t memory_budget;     /* local runner: bytes for shuffles and stage inputs; 0: 256 MiB */
  const char *temp_dir;      /* local runner: where shuffles spill; NULL: $TMPDIR or /tmp */
  /* A pubsub: input (local runner's streaming mode); -1: the runner's default. */
  int64_t bundle_max_records; /* messages per bundle at most (default 1000) */
  int64_t bundle_max_ms;      /* a bundle closes this long after it opened (default 1000) */
  int64_t max_idle_s;         /* stop after this long without a message (default: until SIGINT/SIGTERM) */
  int64_t pubsub_retry_budget_s; /* Pub/Sub unreachable this long fails the run (default 60) */
  int64_t message_ledger_days;   /* message units older than this are forgotten (default 7; 0 never) */
  bool no_sync;
  bool reload;  /* load files the destination's ledger holds again */
  bool quiet;
  bool help;
  bool version;
} file_etl_options;

/* Parses argv (flags as --name=value or --name value). On a usage error writes the message
 * to msg and returns false. The inputs and sinks arrays are heap-allocated: free them with
 * file_etl_options_free. Whether there is a destination at all (--sink or the spec's
 * "outputs") is for the caller to say: file_etl_no_sink_message. */
bool file_etl_options_parse(int argc, char **argv, file_etl_options *o, char *msg, size_t cap);
void file_etl_options_free(file_etl_options *o);

/* The message for a run without any destination. */
const char *file_etl_no_sink_message(void);
void file_etl_usage(const char *prog);

#endif
