/* A _files row (beam_etl_files_schema) to and from per-file statistics and a status. Read
 * makes one per file, with the counts it knows (the file's report); the writer completes it
 * with what it wrote, or FilesRow with what every stage counted. Internal to the etl layer. */
#ifndef BEAM_ETL_FILES_ROW_H
#define BEAM_ETL_FILES_ROW_H

#include <stdbool.h>

#include "beam/dofn.h"
#include "beam/transforms/etl_element.h"

/* What a _files row says besides the counts. Strings may be NULL (SQL NULL). */
typedef struct beam_etl_file_report {
  const char *file;
  const char *runner;
  const char *status; /* BEAM_ETL_FILE_LOADED or BEAM_ETL_FILE_FAILED */
  const char *error;
  /* The file's identity; in the report of one byte range of a split file, the range's unit
   * `<identity>@<start>-<end>` (see beam_etl_unit_key): what the writer's ledger records. */
  const char *file_id;
  int64_t ranges; /* the units the file was read in (1 unless split; 0 in a range's report) */
  beam_etl_file_stats stats;
  /* Failed only when its ranges' reports became one (they saw other contents): no read
   * logged it, so whoever writes its _files row does. */
  bool failed_late;
  /* Set by beam_etl_report_index_load on a loaded file whose identity another loaded file of
   * the run has too (the same content under two names): that file's name, the first by name.
   * Its content loads once, as that file; this one is already loaded. */
  const char *same_content_as;
} beam_etl_file_report;

/* The identity a range's unit key names when the range could not identify its file. */
#define BEAM_ETL_UNIDENTIFIED "-"

/* A split file's unit: "<file identity>@<start>-<end>" into buf (false: too long). */
bool beam_etl_unit_key(const char *file_id, int64_t start, int64_t end, char *buf, size_t cap);
/* Reads a unit key back: the identity's length and the range. False: a whole file's key. */
bool beam_etl_unit_key_parse(const char *unit, size_t *id_len, int64_t *start, int64_t *end);

/* The member of a ZIP archive file a record's source names ("file!member", or a member name
 * alone): a pointer into source, its length in *member_len; NULL when the source is the file
 * itself (no source, or equal to file). Lengths given: the strings may be a value's bytes. */
const char *beam_etl_source_member(const char *file, size_t file_len, const char *source, size_t source_len,
                                   size_t *member_len);
/* The identity a record of file from source carries (beam_etl_origin.file_id): the file's
 * identity, or for a ZIP member's record "<identity>!<member>" (made once per member by the
 * read, rebuilt by DedupePick). The first into out (cap bytes, NUL-terminated); the length it
 * needs, as snprintf. */
size_t beam_etl_record_file_id(char *out, size_t cap, const char *identity, const char *file, const char *source);

/* The row, its values in arena (strings are not copied: they must outlive the row). */
beam_status beam_etl_files_row_make(beam_arena *arena, const beam_etl_file_report *r, beam_etl_row *out);

/* The _files element for file (etl_element.h) holding r's row, in arena. */
beam_status beam_etl_files_element_make(beam_arena *arena, const char *file, const beam_etl_file_report *r,
                                        beam_value *out);

/* Reads a row made by beam_etl_files_row_make back (strings alias the row's values, copied
 * NUL-terminated into arena). */
beam_status beam_etl_files_row_read(const beam_etl_row *row, beam_arena *arena, beam_etl_file_report *out,
                                    beam_error *err);

/* A failed file keeps none of its rows: its _files row counts what was read (records, size)
 * and nothing written, dead-lettered, filtered or deduplicated, whichever step makes it. */
void beam_etl_file_report_keep_none(beam_etl_file_report *r);

/* The conservation check of a loaded file: records = written + dead-lettered + filtered +
 * deduplicated. A difference means a row went missing: BEAM_ERR_INTERNAL naming the counts. */
beam_status beam_etl_files_check_accounted(const beam_etl_file_report *r, beam_error *err);

/* The reports of ReadAndProcess, read from a side input (every file's _files element) and
 * sorted by file, for the stages after a GroupByKey: DedupePick drops the rows of failed
 * files, FilesRow takes each file's status, error and identity. */
typedef struct beam_etl_report_index {
  beam_etl_file_report *items;
  size_t n;
  bool loaded; /* this bundle: clear it at start_bundle (the memory is the bundle's) */
} beam_etl_report_index;

/* Loads the side input `name` into ix once per bundle (nothing to do when ix->loaded),
 * memory from the bundle arena. The reports of a split file's ranges become one: failed when
 * one is, the counts summed, ranges counted, the file's identity. Files of the same content
 * are marked (same_content_as). */
beam_status beam_etl_report_index_load(beam_dofn_ctx *ctx, const char *name, beam_etl_report_index *ix,
                                       beam_error *err);

/* The report of file, or NULL. */
const beam_etl_file_report *beam_etl_report_index_find(const beam_etl_report_index *ix, const char *file);

#endif
