/* What a run loads: the inputs minus the files every destination's ledger says are loaded
 * already (unless --reload), each skipped file with the time it was loaded. A file some
 * destination lacks is loaded; the writers of the destinations that hold it skip it.
 *
 * Before that, the rows of unfinished loads of changed files go: a run that stopped in the
 * middle of a split file (a crash, a kill) left the ranges it committed; when that file now
 * has another content, the same command loads the new content whole, so the old content's
 * ranges are retracted first, each in a bundle of its own (beam_sink_ledger_unfinished). */
#ifndef FILE_ETL_LOAD_PLAN_H
#define FILE_ETL_LOAD_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/status.h"

typedef struct file_etl_skipped {
  char *path;
  char loaded_at[40];
} file_etl_skipped;

typedef struct file_etl_load_plan {
  char **inputs; /* what to load: the inputs as given, or the files left when some are skipped */
  size_t n_inputs;
  file_etl_skipped *skipped;
  size_t n_skipped;
  size_t n_reloaded; /* --reload: files the ledger holds that are loaded again */
  /* Unfinished loads of changed files retracted: one line per file and destination, and the
   * rows removed, summed over the destinations. */
  char **retracted_notes;
  size_t n_retracted_notes;
  int64_t retracted_rows;
} file_etl_load_plan;

/* Opens every destination (so one that cannot be reached fails before any work, its message
 * starting with "sink URI: "), and when each ledger holds anything, identifies every input
 * file and looks it up in each. With reload, nothing is skipped and n_reloaded counts the
 * files every destination loaded before. */
beam_status file_etl_plan_load(const char *const *sink_uris, size_t n_sinks, const char *const *inputs,
                               size_t n_inputs, bool reload, file_etl_load_plan *out, beam_error *err);
void file_etl_load_plan_free(file_etl_load_plan *p);

#endif
