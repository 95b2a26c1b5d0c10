/* The element the ETL DoFns pass to each other, and the per-file statistics they report.
 *
 * An ETL element is a ROW value:
 * [table, file, source, line, raw, offset, file_id, file_index, member_offset, v0 ... vN-1]
 * where table
 * is the destination (STRING), file the input file it came from (what _files counts by),
 * source/line/raw the record's origin (source is "archive.zip!member.csv" inside archives,
 * NULL when it is the file itself, which views turn back into the file's name;
 * raw is NULL for good rows: only dead letters carry it), offset and file_id the record's
 * identity (beam_etl_origin; NULL when the row was not read from a file), file_index the
 * file's place in input order, member_offset where a ZIP member's record lies among the
 * archive's byte ranges (its member's local header; NULL for other records, see
 * beam_etl_origin), and v0.. the row's values in the
 * destination table's schema. The
 * destination decides the schema: "_dead_letter" and "_files" have their own, every other
 * table its own in the spec (beam_etl_table_schema: the spec's schema without "tables"). One shape for all tables lets routed rows and dead letters share a
 * PCollection; its coder is the self-describing beam:coder:c:value:v1.
 *
 * File statistics travel as KV<file name, stats ROW> and are summed per file by the
 * "etl_file_stats" CombineFn into the _files row. */
#ifndef BEAM_TRANSFORMS_ETL_ELEMENT_H
#define BEAM_TRANSFORMS_ETL_ELEMENT_H

#include "beam/transforms/etl_spec.h"
#include "beam/transforms/etl_time.h" /* beam_etl_now_micros */

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_ETL_ELEMENT_HEADER 9

/* Builds the element for row (values and origin are aliased, not copied) in arena. */
beam_status beam_etl_element_make(beam_arena *arena, const char *table, const char *file,
                                  const beam_etl_row *row, bool with_raw, beam_value *out);
/* Reads an element back: *table and *file are NUL-terminated copies in arena; row->values alias v;
 * row->schema is the destination's schema (beam_etl_table_schema for ordinary tables). BEAM_ERR_MALFORMED
 * when v is not an element or its width does not match that schema. */
beam_status beam_etl_element_view(const beam_value *v, const beam_etl_spec *spec, beam_arena *arena,
                                  const char **table, const char **file, beam_etl_row *row,
                                  beam_error *err);

/* The header strings (file, source, file identity) of the last element viewed, and the
 * tables seen with their schemas, so that the next element's equal strings are not copied
 * again nor its schema looked up again (rows arrive in runs of one file, spread over a few
 * tables). Points into the arena the views were made in: zero it whenever that arena is
 * reset, and use it with one spec only. */
enum { BEAM_ETL_VIEW_TABLES = 8 };
typedef struct beam_etl_view_cache {
  const char *s[4]; /* [0] unused, then file, source, file identity */
  size_t len[4];
  struct {
    const char *name;
    size_t len;
    const beam_etl_schema *schema;
  } tables[BEAM_ETL_VIEW_TABLES];
  size_t n_tables, next_table; /* next_table: the slot a new table replaces when all are taken */
} beam_etl_view_cache;
/* The element's table (NUL-terminated, in arena or cache's) and that table's schema, checked
 * as beam_etl_element_view checks them, without reading the rest of the header: what a DoFn
 * that only needs a row's values asks. */
beam_status beam_etl_element_table_cached(const beam_value *v, const beam_etl_spec *spec, beam_arena *arena,
                                          beam_etl_view_cache *cache, const char **table,
                                          const beam_etl_schema **schema, beam_error *err);
/* beam_etl_element_view, reusing cache's strings (and schema) where the element's are equal
 * and remembering the element's own. */
beam_status beam_etl_element_view_cached(const beam_value *v, const beam_etl_spec *spec, beam_arena *arena,
                                         beam_etl_view_cache *cache, const char **table, const char **file,
                                         beam_etl_row *row, beam_error *err);

/* Per-file counters, summed across the stages that know them. */
typedef enum beam_etl_stat {
  BEAM_ETL_STAT_SIZE_BYTES = 0,
  BEAM_ETL_STAT_RECORDS,
  BEAM_ETL_STAT_WRITTEN,
  BEAM_ETL_STAT_DEAD_LETTERED,
  BEAM_ETL_STAT_FILTERED,
  BEAM_ETL_STAT_DEDUPLICATED,
  BEAM_ETL_STAT_STARTED_AT,  /* microseconds since the epoch; combined with min */
  BEAM_ETL_STAT_FINISHED_AT, /* combined with max */
  BEAM_ETL_STAT_COUNT
} beam_etl_stat;

typedef struct beam_etl_file_stats {
  int64_t v[BEAM_ETL_STAT_COUNT];
} beam_etl_file_stats;

/* KV<STRING file, ROW of BEAM_ETL_STAT_COUNT INT64> in arena. */
beam_status beam_etl_stats_make(beam_arena *arena, const char *file, const beam_etl_file_stats *st,
                                beam_value *out);
/* Parses the ROW half of a stats value. */
beam_status beam_etl_stats_read(const beam_value *row, beam_etl_file_stats *st, beam_error *err);
/* a += b (times by min / max, zero meaning unset). */
void beam_etl_stats_merge(beam_etl_file_stats *a, const beam_etl_file_stats *b);

/* Registers the ETL DoFns and CombineFns (idempotent). Programs that build ETL pipelines
 * call it through beam_etl_file_pipeline_build; a worker calls it before running bundles. */
beam_status beam_etl_register_fns(void);

#ifdef __cplusplus
}
#endif
#endif
