/* The per-record chain: clean -> coerce -> validate -> filter -> route -> the table's shape
 * (etl_table.h), and the dead-letter
 * row builder. The pipeline calls beam_etl_process_record once per parsed record.
 *
 * Outcomes:
 *   ROW          row is typed, table names its destination.
 *   DEAD_LETTER  error and stage say why ("parse" for typing errors such as
 *                `field "amount": "abc" is not a FLOAT64` or a missing REQUIRED field,
 *                "validate" for rule failures, "route" for bad table names, "table" for a
 *                REQUIRED field of the row's table that is null); build the
 *                _dead_letter row with beam_etl_dead_letter_row.
 *   FILTERED     the filter was FALSE or UNKNOWN; count it.
 *   HARD_FAIL    the spec's validate.mode is "hard" and the record would have been
 *                dead-lettered (at any stage): the caller must stop the run before committing
 *                anything; beam_etl_outcome_message gives "source:line: stage: error"
 *                ("source@byte offset: ..." where the line is unknown: a byte range past 0).
 * All memory (typed values, messages, table name) comes from the arena: no malloc per
 * record. Everything lives until the arena is reset. */
#ifndef BEAM_TRANSFORMS_ETL_PROCESS_H
#define BEAM_TRANSFORMS_ETL_PROCESS_H

#include "beam/transforms/etl_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_etl_outcome_kind {
  BEAM_ETL_OUTCOME_ROW = 0,
  BEAM_ETL_OUTCOME_DEAD_LETTER,
  BEAM_ETL_OUTCOME_FILTERED,
  BEAM_ETL_OUTCOME_HARD_FAIL
} beam_etl_outcome_kind;

typedef struct beam_etl_outcome {
  beam_etl_outcome_kind kind;
  beam_etl_row row;    /* ROW: in its table's shape; FILTERED: in the spec's schema; for the
                        * others the values may be partial/NULL */
  const char *table;   /* ROW */
  const char *error;   /* DEAD_LETTER, HARD_FAIL (arena) */
  const char *stage;   /* DEAD_LETTER, HARD_FAIL: a BEAM_ETL_STAGE_* string */
  uint64_t empty_to_null; /* empty text cells read as NULL (see beam_etl_clean_record_counted) */
} beam_etl_outcome;

/* Runs the chain on rec (cleaned in place). Returns BEAM_OK with *out filled for every
 * record-level outcome; a non-OK status only for BEAM_ERR_NOMEM or BEAM_ERR_INVALID_ARG
 * (rec's schema is not spec's). */
beam_status beam_etl_process_record(const beam_etl_spec *spec, beam_etl_record *rec, beam_arena *arena,
                                    beam_etl_outcome *out);

/* "source:line: stage: error" for a DEAD_LETTER/HARD_FAIL outcome of rec's origin, into buf
 * (truncated to cap). Returns buf. */
const char *beam_etl_outcome_message(const beam_etl_outcome *o, char *buf, size_t cap);

/* A row in the _dead_letter schema (source, line, raw, error, stage, offset, message_id: the
 * id when origin->file_id is a message unit, etl_stream.h). line <= 0 and a NULL
 * raw become nulls; source NULL becomes "". Values alias the inputs except where copied into
 * arena (the raw text is not copied). origin is kept as the row's origin. */
beam_status beam_etl_dead_letter_row(const beam_etl_origin *origin, const char *error, const char *stage,
                                     beam_arena *arena, beam_etl_row *out);

#ifdef __cplusplus
}
#endif
#endif
