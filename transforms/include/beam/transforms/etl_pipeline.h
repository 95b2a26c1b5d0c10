/* The file ETL as a Beam pipeline: what pipelines/file_etl builds and any runner executes.
 *
 * ReadAndProcess is a splittable DoFn: a file larger than split_size is read in byte ranges
 * (in parallel bundles, on many workers), each range a unit of its own.
 *
 * Without dedupe, every file (or range) is a unit committed with its ledger entry:
 *
 *   Impulse -> ListFiles -> ReadAndProcess -> Flatten(rows and each unit's report, dead)
 *     -> Write (sink: rows, dead letters, a whole file's _files row, ledger; a failed unit's
 *        rows dropped)
 *   Write's range reports -> RangesByFile (GroupByKey) -> FinishFile -> WriteFiles (a split
 *     file's _files row and ledger entry, once all its ranges are in)
 *
 * With clean.dedupe_on, rows of many files meet in a GroupByKey:
 *
 *   ReadAndProcess -> Flatten(rows, dead) -> DedupeKey -> DedupeGroup -> DedupePick -> Write
 *   Flatten(stats of ReadAndProcess, DedupePick, Write) -> SumFileStats (CombinePerKey)
 *     -> FilesRow -> WriteFiles (_files rows and the files' ledger entries)
 *   ReadAndProcess's reports (one _files element per file) are a side input of DedupePick
 *   (drops a failed file's rows) and FilesRow (status, error, identity).
 *
 * A Pub/Sub input (inputs = {"pubsub:projects/P/subscriptions/S"}, etl_stream.h) makes a
 * streaming pipeline, each destination committing a bundle's rows with its messages' ids:
 *
 *   ReadPubSub (beam:transform:pubsub_read:v1, with attributes) -> ReadMessages -> Write
 *     (rows, dead letters, one _stream_bundles row per bundle; rows of messages the ledger
 *     holds dropped)
 *
 * Several destinations (the spec's "outputs", sink_uri, sink_uris; etl_destination.h): the
 * records are read and processed once, and each destination has its own steps from Write
 * on (units: Write, RangesByFile, FinishFile, WriteFiles; dedupe: Write, FileStats,
 * SumFileStats, FilesRow, WriteFiles), with its own ledger and commits, so one that fails
 * fails the run naming it ("destination 2 (URI): ...") and a rerun completes it without
 * writing the others again. One destination keeps the names above; with more, destination
 * N's are "Write-N", "WriteFiles-N", ... (beam_etl_file_pipeline_step). */
#ifndef BEAM_TRANSFORMS_ETL_PIPELINE_H
#define BEAM_TRANSFORMS_ETL_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/pipeline.h"
#include "beam/transforms/etl_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_etl_file_pipeline_config {
  const char *const *inputs; /* files or directories */
  size_t n_inputs;
  const char *spec_json;     /* the spec's text (already checked with beam_etl_spec_parse) */
  const char *spec_name;     /* what errors call it (its path) */
  const char *sink_uri;      /* a destination ("sqlite:PATH", "jsonl:DIR?tables=a,b", ...), or NULL */
  const char *runner;        /* recorded in _files.runner; NULL = "local" */
  const char *progress;      /* "auto" | "on" | "off"; NULL = auto */
  bool no_sync;              /* sinks skip fsync (benchmarks, scratch outputs) */
  bool reload;               /* load files the destination's ledger holds again (--reload) */
  int64_t split_size;        /* bytes per range of a split file; 0 never splits; -1 auto (64 MiB
                              * on a runner, locally enough ranges for `parallelism` threads) */
  int64_t parallelism;       /* the local runner's threads (what auto splitting aims at); 0 = 1 */
  const char *const *sink_uris; /* more destinations (after the spec's "outputs" and sink_uri) */
  size_t n_sink_uris;
  int message_ledger_days;   /* a stream's writers forget message units older (sink.h); 0 never */
} beam_etl_file_pipeline_config;

/* Adds the file ETL to p (and registers the ETL functions). */
beam_status beam_etl_file_pipeline_build(beam_pipeline *p, const beam_etl_file_pipeline_config *cfg,
                                         beam_error *err);

/* What the pipeline writes, for tests to look at (beam/testing_etl.h). Both carry ETL
 * elements (etl_element.h) with the self-describing value coder. */
typedef struct beam_etl_file_pipeline_outputs {
  beam_pcollection *rows;  /* into Write: routed rows and dead letters (before the sink);
                            * without dedupe also each file's report (a _files element) */
  beam_pcollection *files; /* the _files rows written: one per input file and destination */
} beam_etl_file_pipeline_outputs;

/* The run's destinations: the spec's "outputs", then sink_uri, then sink_uris, each checked
 * (etl_destination.h); none at all is an error. *out lives in arena. */
beam_status beam_etl_file_pipeline_destinations(const beam_etl_file_pipeline_config *cfg, const beam_etl_spec *spec,
                                                beam_arena *arena, const beam_etl_destination **out, size_t *n_out,
                                                beam_error *err);

/* The transform name of step ("Write", "WriteFiles", "FinishFile", ...) for destination
 * dest (0-based) of n_dests: the step itself for one destination, "Write-2" among several.
 * Counter lookups by transform (beam_run_result_counter) take "X" and "X/...", never "X-2". */
const char *beam_etl_file_pipeline_step(const char *step, size_t dest, size_t n_dests, char *buf, size_t cap);

/* beam_etl_file_pipeline_build, also returning the written PCollections. */
beam_status beam_etl_file_pipeline_build_outputs(beam_pipeline *p, const beam_etl_file_pipeline_config *cfg,
                                                 beam_etl_file_pipeline_outputs *out, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
