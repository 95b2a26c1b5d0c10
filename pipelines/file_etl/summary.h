/* The end-of-run report of file_etl. */
#ifndef FILE_ETL_SUMMARY_H
#define FILE_ETL_SUMMARY_H

#include <stdio.h>

#include "beam/runner.h"

/* Prints per-table counts, dead letters, filtered, deduplicated, elapsed and rate. Returns
 * false (after saying so) when the counts do not add up to the records read. */
int file_etl_print_summary(FILE *out, const beam_run_result *r, const char *sink_uri, const char *runner);

#endif
