/* The input files of a run with their sizes, for --runner=auto's per-file dispatch: local
 * paths (directories walked) and gs:// objects or prefixes (listed through the GCS API). */
#ifndef FILE_ETL_INPUT_LIST_H
#define FILE_ETL_INPUT_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

typedef struct file_etl_input_list {
  char **paths;  /* owned */
  int64_t *sizes;
  size_t n;
} file_etl_input_list;

/* Every regular file under each input (hidden names skipped), in name order per input. An
 * input that lists nothing (missing, empty) is kept with size 0 so the run reports it. */
beam_status file_etl_list_inputs(const char *const *inputs, size_t n_inputs, file_etl_input_list *out,
                                 beam_error *err);
void file_etl_input_list_free(file_etl_input_list *l);

/* Fails (BEAM_ERR_NOT_FOUND, or BEAM_ERR_IO for other stat errors) on the first local input
 * that does not exist, naming it and the system error ("--input data/x.csv: No such file or
 * directory"), so a mistyped path is a usage error found before the destination is touched.
 * gs:// inputs are not checked here: they are listed (and their absence reported) by the run. */
beam_status file_etl_check_inputs(const char *const *inputs, size_t n_inputs, beam_error *err);

/* Total bytes of the local inputs' files (gs:// inputs count 0: no listing just for a note). */
int64_t file_etl_local_input_bytes(const char *const *inputs, size_t n_inputs);

#endif
