/* The end-of-run report of file_etl. */
#ifndef FILE_ETL_SUMMARY_H
#define FILE_ETL_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "beam/latency.h"

#include "beam/runner.h"
#include "beam/transforms/etl_destination.h"

/* Prints where the records went: the run's counts (records, filtered, deduplicated, failed
 * files), and per destination its rows per table, dead letters, _files rows and what it did
 * not take (one destination: the lines file_etl always printed, in that order). Returns false
 * (after saying so) when a destination's counts do not add up to the records read. */
int file_etl_print_summary(FILE *out, const beam_run_result *r, const beam_etl_destination *dests, size_t n_dests,
                           const char *runner);

/* Files that failed: in their read (ReadAndProcess), or as a whole once their ranges were
 * in (FinishFile: a file that changed between its ranges' reads, a missing range). */
int64_t file_etl_files_failed(const beam_run_result *r, size_t n_dests);

/* With dedupe: rows and dead letters read from the ranges of failed files that read well,
 * dropped by DedupePick with their file (0 without dedupe: the writers drop a failed range's
 * rows uncommitted and retract the committed ranges, counted under "retracted"). */
int64_t file_etl_failed_dropped(const beam_run_result *r);

/* The report of a stream's run (a pubsub: input): messages read, and per destination its rows
 * per table, dead letters, _stream_bundles rows and the messages it had committed before
 * (redelivered). Returns false (after saying so) when a destination's messages do not add up
 * to the messages read. */
int file_etl_print_stream_summary(FILE *out, const beam_run_result *r, const beam_etl_destination *dests,
                                  size_t n_dests, const char *runner);

/* Destination d's publish-to-commit latency over a stream's run (its writer's bucket
 * counters, beam/latency.h); empty (n 0) when nothing was committed. */
void file_etl_stream_latency(const beam_run_result *r, size_t d, size_t n_dests, beam_latency_histogram *h);

/* What destination d (of n_dests) received, from the run's counters. */
typedef struct file_etl_destination_counts {
  int64_t written;         /* rows into routed tables */
  int64_t dead_lettered;   /* rows into _dead_letter */
  int64_t files_rows;      /* rows into _files */
  int64_t not_taken;       /* rows its tables / where did not select */
  int64_t retracted;       /* rows of failed split files' ranges removed with their failure */
  int64_t already_files, already_records, already_filtered, already_ranges; /* loaded before */
} file_etl_destination_counts;

void file_etl_destination_counts_of(const beam_run_result *r, size_t d, size_t n_dests,
                                    file_etl_destination_counts *out);

/* Calls fn with each "written.<table>" counter of destination d's writer, routed tables only
 * (no _dead_letter, _files or _stream_bundles), in name order. */
void file_etl_destination_tables(const beam_run_result *r, size_t d, size_t n_dests,
                                 void (*fn)(void *ctx, const char *table, int64_t rows), void *ctx);

#endif
