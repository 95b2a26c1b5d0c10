/* The end-of-run report: where every record went. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_types.h"
#include "summary.h"

#define WRITTEN_PREFIX "written."
#define RETRACTED_PREFIX "retracted."

/* Rows of table a failed split file's ranges wrote that its failure removed (WriteFiles). */
static int64_t retracted_from(const beam_run_result *r, const char *table) {
  char name[200];
  snprintf(name, sizeof name, RETRACTED_PREFIX "%s", table);
  return beam_run_result_counter(r, "WriteFiles", name);
}

static int compare_counters(const void *a, const void *b) {
  const beam_counter_result *x = *(beam_counter_result *const *)a, *y = *(beam_counter_result *const *)b;
  return strcmp(x->name, y->name);
}

int file_etl_print_summary(FILE *out, const beam_run_result *r, const char *sink_uri, const char *runner) {
  /* Records of files another attempt had committed already are not counted again. */
  int64_t records = beam_run_result_counter(r, "ReadAndProcess", "records") -
                    beam_run_result_counter(r, "Write", "records_already_loaded");
  int64_t failed = beam_run_result_counter(r, "ReadAndProcess", "files_failed");
  int64_t filtered = beam_run_result_counter(r, "ReadAndProcess", "filtered") -
                     beam_run_result_counter(r, "Write", "filtered_already_loaded");
  int64_t already = beam_run_result_counter(r, "Write", "files_already_loaded") +
                    beam_run_result_counter(r, "WriteFiles", "files_already_loaded");
  int64_t dedup = beam_run_result_counter(r, "DedupePick", "deduplicated");
  int64_t files = beam_run_result_counter(r, "ListFiles", "files");
  int64_t bytes = beam_run_result_counter(r, "ReadAndProcess", "bytes_read");
  int64_t dead = beam_run_result_counter(r, "Write", WRITTEN_PREFIX BEAM_ETL_DEAD_LETTER_TABLE) -
                 retracted_from(r, BEAM_ETL_DEAD_LETTER_TABLE);
  int64_t retracted = 0;
  for (size_t i = 0; i < r->n_counters; i++)
    if (strcmp(r->counters[i].transform_id, "WriteFiles") == 0 &&
        strncmp(r->counters[i].name, RETRACTED_PREFIX, strlen(RETRACTED_PREFIX)) == 0)
      retracted += r->counters[i].value;
  const beam_counter_result **tables = calloc(r->n_counters + 1, sizeof *tables);
  size_t n = 0;
  int64_t written = 0;
  for (size_t i = 0; tables && i < r->n_counters; i++) {
    const beam_counter_result *c = &r->counters[i];
    if (strcmp(c->transform_id, "Write") != 0 || strncmp(c->name, WRITTEN_PREFIX, strlen(WRITTEN_PREFIX)) != 0 ||
        strcmp(c->name, WRITTEN_PREFIX BEAM_ETL_DEAD_LETTER_TABLE) == 0 ||
        strcmp(c->name, WRITTEN_PREFIX BEAM_ETL_FILES_TABLE) == 0)
      continue;
    tables[n++] = c;
    written += c->value - retracted_from(r, c->name + strlen(WRITTEN_PREFIX));
  }
  if (n) qsort(tables, n, sizeof *tables, compare_counters);
  double secs = r->elapsed_seconds > 0 ? r->elapsed_seconds : 1e-9;
  bool mb = bytes >= 1000000;
  fprintf(out, "file_etl: %lld file%s, %lld records, %.1f %s in %.3f s (%.0f records/s), runner %s\n",
          (long long)files, files == 1 ? "" : "s", (long long)records, (double)bytes / (mb ? 1e6 : 1e3),
          mb ? "MB" : "KB", r->elapsed_seconds, (double)records / secs, runner);
  for (size_t i = 0; i < n; i++) {
    const char *table = tables[i]->name + strlen(WRITTEN_PREFIX);
    fprintf(out, "  %-32s %12lld rows\n", table, (long long)(tables[i]->value - retracted_from(r, table)));
  }
  fprintf(out, "  %-32s %12lld rows\n", BEAM_ETL_DEAD_LETTER_TABLE, (long long)dead);
  fprintf(out, "  %-32s %12lld rows (counted, not written)\n", "filtered", (long long)filtered);
  fprintf(out, "  %-32s %12lld rows (duplicates of a kept row)\n", "deduplicated", (long long)dedup);
  fprintf(out, "  %-32s %12lld rows (one per input file loaded or failed)\n", BEAM_ETL_FILES_TABLE,
          (long long)(files - already));
  int64_t empty_null = beam_run_result_counter(r, "ReadAndProcess", "empty_as_null");
  if (empty_null)
    fprintf(out, "  %-32s %12lld (clean.null_tokens has \"\"; \"null_tokens\": [] keeps them)\n",
            "empty strings read as NULL", (long long)empty_null);
  if (already)
    fprintf(out, "  %-32s %12lld (the same content was committed before, or earlier in this run)\n",
            "files already loaded", (long long)already);
  if (failed)
    fprintf(out, "  %-32s %12lld (none of their rows kept; _files.status = 'failed' says why)\n", "failed files",
            (long long)failed);
  if (retracted)
    fprintf(out, "  %-32s %12lld rows (written by ranges of failed files, removed with their failure)\n",
            "retracted", (long long)retracted);
  int64_t split = beam_run_result_counter(r, "FinishFile", "files_split");
  if (split)
    fprintf(out, "  %-32s %12lld (in %lld byte ranges; _files.ranges per file)\n", "files read in ranges",
            (long long)split, (long long)beam_run_result_counter(r, "FinishFile", "ranges"));
  int64_t ranges_again = beam_run_result_counter(r, "Write", "ranges_already_loaded");
  if (ranges_again)
    fprintf(out, "  %-32s %12lld (committed by an earlier attempt: read again, not written again)\n",
            "ranges already loaded", (long long)ranges_again);
  fprintf(out, "rows went to %s\n", sink_uri);
  free(tables);
  int64_t accounted = written + dead + filtered + dedup + retracted;
  if (accounted != records) {
    fprintf(stderr, "file_etl: %lld records read but %lld accounted for: this is a bug, please report it\n",
            (long long)records, (long long)accounted);
    return 0;
  }
  return 1;
}
