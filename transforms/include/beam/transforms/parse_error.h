/* What a record reader hands back besides the record: whether it parsed, and why not.
 *
 * A bad record is not a failure of the read: the reader returns BEAM_OK with
 * BEAM_READ_BAD_RECORD, the record's origin (source, line, raw text) filled so the
 * pipeline can dead-letter it, and a beam_etl_parse_error saying what was wrong. Only
 * errors that make the rest of the input unreadable (I/O, corrupt archive, a record over
 * the size cap) are returned as a non-OK beam_status. */
#ifndef BEAM_TRANSFORMS_PARSE_ERROR_H
#define BEAM_TRANSFORMS_PARSE_ERROR_H

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_read_result {
  BEAM_READ_RECORD = 0, /* a record parsed; its cells are valid */
  BEAM_READ_BAD_RECORD, /* only rec->origin is meaningful; perr says why */
  BEAM_READ_EOF         /* no more records; rec is untouched */
} beam_read_result;

typedef struct beam_etl_parse_error {
  int column;         /* 1-based CSV column (or JSON field position) involved, 0 if none */
  char field[128];    /* schema field / JSON key involved, "" if none */
  char message[384];  /* complete sentence for the dead letter, e.g. "bad CSV quoting at column 3: ..." */
} beam_etl_parse_error;

void beam_etl_parse_error_clear(beam_etl_parse_error *perr);
/* Fills perr (if not NULL); field may be NULL or not NUL-terminated (field_len bytes). */
void beam_etl_parse_error_set(beam_etl_parse_error *perr, int column, const char *field,
                              size_t field_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#ifdef __cplusplus
}
#endif
#endif
