/* The end-of-run report: where every record went, per destination. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_pipeline.h"
#include "beam/transforms/etl_types.h"
#include "summary.h"

#define WRITTEN_PREFIX "written."
#define RETRACTED_PREFIX "retracted."

/* Rows of table that destination d's WriteFiles removed with a failed split file's ranges. */
static int64_t retracted_from(const beam_run_result *r, size_t d, size_t n_dests, const char *table) {
  char step[64], name[200];
  beam_etl_file_pipeline_step("WriteFiles", d, n_dests, step, sizeof step);
  snprintf(name, sizeof name, RETRACTED_PREFIX "%s", table);
  return beam_run_result_counter(r, step, name);
}

/* Every row destination d's WriteFiles retracted, over its tables. */
static int64_t retracted_rows(const beam_run_result *r, size_t d, size_t n_dests) {
  char step[64];
  beam_etl_file_pipeline_step("WriteFiles", d, n_dests, step, sizeof step);
  int64_t sum = 0;
  for (size_t i = 0; i < r->n_counters; i++)
    if (strcmp(r->counters[i].transform_id, step) == 0 &&
        strncmp(r->counters[i].name, RETRACTED_PREFIX, strlen(RETRACTED_PREFIX)) == 0)
      sum += r->counters[i].value;
  return sum;
}

/* True when step has a written.<table> counter. */
static bool table_written(const beam_run_result *r, const char *step, const char *table) {
  char name[200];
  snprintf(name, sizeof name, WRITTEN_PREFIX "%s", table);
  for (size_t i = 0; i < r->n_counters; i++)
    if (strcmp(r->counters[i].transform_id, step) == 0 && strcmp(r->counters[i].name, name) == 0) return true;
  return false;
}

static int compare_counters(const void *a, const void *b) {
  const beam_counter_result *x = *(beam_counter_result *const *)a, *y = *(beam_counter_result *const *)b;
  return strcmp(x->name, y->name);
}

void file_etl_destination_tables(const beam_run_result *r, size_t d, size_t n_dests,
                                 void (*fn)(void *ctx, const char *table, int64_t rows), void *ctx) {
  char write[64];
  beam_etl_file_pipeline_step("Write", d, n_dests, write, sizeof write);
  const beam_counter_result **tables = calloc(r->n_counters + 1, sizeof *tables);
  size_t n = 0;
  for (size_t i = 0; tables && i < r->n_counters; i++) {
    const beam_counter_result *c = &r->counters[i];
    if (strcmp(c->transform_id, write) != 0 || strncmp(c->name, WRITTEN_PREFIX, strlen(WRITTEN_PREFIX)) != 0 ||
        beam_etl_is_bookkeeping_table(c->name + strlen(WRITTEN_PREFIX)))
      continue;
    tables[n++] = c;
  }
  if (n) qsort(tables, n, sizeof *tables, compare_counters);
  for (size_t i = 0; i < n; i++) {
    const char *table = tables[i]->name + strlen(WRITTEN_PREFIX);
    fn(ctx, table, tables[i]->value - retracted_from(r, d, n_dests, table));
  }
  free(tables);
}

static void add_rows(void *ctx, const char *table, int64_t rows) { *(int64_t *)ctx += rows; }

void file_etl_destination_counts_of(const beam_run_result *r, size_t d, size_t n_dests,
                                    file_etl_destination_counts *out) {
  char write[64], write_files[64], files_row[64];
  beam_etl_file_pipeline_step("Write", d, n_dests, write, sizeof write);
  beam_etl_file_pipeline_step("WriteFiles", d, n_dests, write_files, sizeof write_files);
  beam_etl_file_pipeline_step("FilesRow", d, n_dests, files_row, sizeof files_row);
  memset(out, 0, sizeof *out);
  file_etl_destination_tables(r, d, n_dests, add_rows, &out->written);
  int64_t dead_retracted = retracted_from(r, d, n_dests, BEAM_ETL_DEAD_LETTER_TABLE);
  out->dead_lettered = beam_run_result_counter(r, write, WRITTEN_PREFIX BEAM_ETL_DEAD_LETTER_TABLE) - dead_retracted;
  out->retracted = retracted_rows(r, d, n_dests);
  /* The tables' lines took off the retractions of the tables this run wrote; a retraction of
   * rows an earlier run committed (its ranges skipped here) may name a table this run did
   * not write, and counts against written all the same, so that written + retracted is what
   * this run wrote. */
  int64_t shown = 0;
  for (size_t i = 0; i < r->n_counters; i++) {
    const beam_counter_result *c = &r->counters[i];
    const char *table = c->name + strlen(RETRACTED_PREFIX);
    if (strcmp(c->transform_id, write_files) == 0 && strncmp(c->name, RETRACTED_PREFIX, strlen(RETRACTED_PREFIX)) == 0 &&
        strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) != 0 && table_written(r, write, table))
      shown += c->value;
  }
  out->written -= out->retracted - dead_retracted - shown;
  out->files_rows = beam_run_result_counter(r, write, WRITTEN_PREFIX BEAM_ETL_FILES_TABLE) +
                    beam_run_result_counter(r, write_files, WRITTEN_PREFIX BEAM_ETL_FILES_TABLE);
  out->not_taken = beam_run_result_counter(r, write, "not_taken");
  /* With dedupe, FilesRow counts a file whose content another file of the run has. */
  out->already_files = beam_run_result_counter(r, write, "files_already_loaded") +
                       beam_run_result_counter(r, write_files, "files_already_loaded") +
                       beam_run_result_counter(r, files_row, "files_already_loaded");
  out->already_records = beam_run_result_counter(r, write, "records_already_loaded") +
                         beam_run_result_counter(r, files_row, "records_already_loaded");
  out->already_filtered = beam_run_result_counter(r, write, "filtered_already_loaded") +
                          beam_run_result_counter(r, files_row, "filtered_already_loaded");
  out->already_ranges = beam_run_result_counter(r, write, "ranges_already_loaded");
}

static void print_table(void *ctx, const char *table, int64_t rows) {
  fprintf((FILE *)ctx, "  %-32s %12lld rows\n", table, (long long)rows);
}

/* The run's counts, whatever the destinations. */
typedef struct run_counts {
  int64_t records, failed, filtered, dedup, files, bytes, empty_null, split, ranges;
  int64_t failed_dropped;
} run_counts;

static void print_line(FILE *out, const char *what, int64_t n, const char *note) {
  fprintf(out, "  %-32s %12lld%s\n", what, (long long)n, note);
}

static void print_empty_null(FILE *out, const run_counts *c) {
  if (c->empty_null)
    print_line(out, "empty strings read as NULL", c->empty_null,
               " (clean.null_tokens has \"\"; \"null_tokens\": [] keeps them)");
}

static void print_failed_and_split(FILE *out, const run_counts *c) {
  if (c->failed) print_line(out, "failed files", c->failed, " (none of their rows kept; _files.status = 'failed' says why)");
  if (c->failed_dropped)
    print_line(out, "dropped with failed files", c->failed_dropped,
               " rows (read from ranges before their file failed; not written)");
  if (c->split)
    fprintf(out, "  %-32s %12lld (in %lld byte ranges; _files.ranges per file)\n", "files read in ranges",
            (long long)c->split, (long long)c->ranges);
}

/* Destination d's rows: its tables, _dead_letter, _files, what it did not take and what was
 * loaded before. One destination prints the run's lines among them, where they always were. */
static void print_destination(FILE *out, const beam_run_result *r, const run_counts *c, size_t d, size_t n_dests,
                              const file_etl_destination_counts *dc, const beam_etl_destination *dest) {
  bool one = n_dests == 1;
  file_etl_destination_tables(r, d, n_dests, print_table, out);
  print_line(out, BEAM_ETL_DEAD_LETTER_TABLE, dc->dead_lettered,
             beam_etl_destination_takes_table(dest, BEAM_ETL_DEAD_LETTER_TABLE) ? " rows" : " rows (not taken)");
  if (one) {
    print_line(out, "filtered", c->filtered - dc->already_filtered, " rows (counted, not written)");
    print_line(out, "deduplicated", c->dedup, " rows (duplicates of a kept row)");
  }
  bool files_taken = beam_etl_destination_takes_table(dest, BEAM_ETL_FILES_TABLE);
  print_line(out, BEAM_ETL_FILES_TABLE, files_taken ? c->files - dc->already_files : 0,
             files_taken ? " rows (one per input file loaded or failed)"
                         : " rows (not taken)");
  if (dc->not_taken) print_line(out, "not taken", dc->not_taken, " rows (outside its tables or where)");
  if (one) print_empty_null(out, c);
  if (dc->already_files)
    print_line(out, "files already loaded", dc->already_files,
               " (the same content was committed before, or earlier in this run)");
  if (one) print_failed_and_split(out, c);
  if (dc->retracted)
    print_line(out, "retracted", dc->retracted, " rows (written by ranges of failed files, removed with their failure)");
  if (dc->already_ranges)
    print_line(out, "ranges already loaded", dc->already_ranges,
               " (committed before, by an earlier attempt or a file of the same content: read again, "
               "not written again)");
}

int64_t file_etl_files_failed(const beam_run_result *r, size_t n_dests) {
  char finish[64], files_row[64];
  beam_etl_file_pipeline_step("FinishFile", 0, n_dests, finish, sizeof finish);
  beam_etl_file_pipeline_step("FilesRow", 0, n_dests, files_row, sizeof files_row);
  int64_t units = beam_run_result_counter(r, "ReadAndProcess", "files_failed") + beam_run_result_counter(r, finish, "files_failed");
  /* With dedupe FilesRow sees every failed file once, those the read failed whole among them. */
  int64_t grouped = beam_run_result_counter(r, files_row, "files_failed");
  return grouped > units ? grouped : units;
}

int64_t file_etl_failed_dropped(const beam_run_result *r) {
  /* What DedupePick dropped of failed files, less what their failing ranges (or the files
   * read whole) had sent on before failing, which their records do not count. */
  return beam_run_result_counter(r, "DedupePick", "failed_dropped") -
         beam_run_result_counter(r, "ReadAndProcess", "emitted_by_failed");
}

int file_etl_print_summary(FILE *out, const beam_run_result *r, const beam_etl_destination *dests, size_t n_dests,
                           const char *runner) {
  run_counts c = {
      .records = beam_run_result_counter(r, "ReadAndProcess", "records"),
      .failed = file_etl_files_failed(r, n_dests),
      .filtered = beam_run_result_counter(r, "ReadAndProcess", "filtered"),
      .dedup = beam_run_result_counter(r, "DedupePick", "deduplicated"),
      .files = beam_run_result_counter(r, "ListFiles", "files"),
      .bytes = beam_run_result_counter(r, "ReadAndProcess", "bytes_read"),
      .empty_null = beam_run_result_counter(r, "ReadAndProcess", "empty_as_null"),
      .failed_dropped = file_etl_failed_dropped(r),
  };
  char finish[64];
  beam_etl_file_pipeline_step("FinishFile", 0, n_dests, finish, sizeof finish);
  c.split = beam_run_result_counter(r, finish, "files_split");
  c.ranges = beam_run_result_counter(r, finish, "ranges");
  file_etl_destination_counts *dc = calloc(n_dests ? n_dests : 1, sizeof *dc);
  if (!dc) return 0;
  for (size_t d = 0; d < n_dests; d++) file_etl_destination_counts_of(r, d, n_dests, &dc[d]);
  /* Records of files another attempt had committed already are not counted again: with one
   * destination the header says what it loaded, with several what was read. */
  int64_t records = n_dests == 1 ? c.records - dc[0].already_records : c.records;
  double secs = r->elapsed_seconds > 0 ? r->elapsed_seconds : 1e-9;
  bool mb = c.bytes >= 1000000;
  fprintf(out, "file_etl: %lld file%s, %lld records, %.1f %s in %.3f s (%.0f records/s), runner %s\n",
          (long long)c.files, c.files == 1 ? "" : "s", (long long)records, (double)c.bytes / (mb ? 1e6 : 1e3),
          mb ? "MB" : "KB", r->elapsed_seconds, (double)records / secs, runner);
  if (n_dests > 1) {
    print_line(out, "filtered", c.filtered, " rows (counted, not written)");
    print_line(out, "deduplicated", c.dedup, " rows (duplicates of a kept row)");
    print_empty_null(out, &c);
    print_failed_and_split(out, &c);
  }
  char what[512];
  for (size_t d = 0; d < n_dests; d++) {
    if (n_dests > 1)
      fprintf(out, "destination %zu: %s (%s)\n", d + 1, dests[d].sink, beam_etl_destination_describe(&dests[d], what, sizeof what));
    print_destination(out, r, &c, d, n_dests, &dc[d], &dests[d]);
  }
  fprintf(out, "rows went to ");
  for (size_t d = 0; d < n_dests; d++) fprintf(out, "%s%s", d ? ", " : "", dests[d].sink);
  fprintf(out, "\n");
  int ok = 1;
  for (size_t d = 0; d < n_dests; d++) {
    /* Every record read is in one place for each destination: written, dead-lettered, not
     * taken, filtered or deduplicated (or loaded before, and not counted). */
    int64_t read = c.records - dc[d].already_records;
    int64_t accounted = dc[d].written + dc[d].dead_lettered + dc[d].not_taken + c.filtered - dc[d].already_filtered +
                        c.dedup + dc[d].retracted + c.failed_dropped;
    if (accounted == read) continue;
    fprintf(stderr, "file_etl: %s%s%lld records read but %lld accounted for: this is a bug, please report it\n",
            n_dests > 1 ? dests[d].sink : "", n_dests > 1 ? ": " : "", (long long)read, (long long)accounted);
    ok = 0;
  }
  free(dc);
  return ok;
}
