/* Filling beam_etl_parse_error, the per-record reason a record gets dead-lettered. */
#include "beam/transforms/parse_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void beam_etl_parse_error_clear(beam_etl_parse_error *perr) {
  if (!perr) return;
  perr->column = 0;
  perr->field[0] = '\0';
  perr->message[0] = '\0';
}

void beam_etl_parse_error_set(beam_etl_parse_error *perr, int column, const char *field,
                              size_t field_len, const char *fmt, ...) {
  if (!perr) return;
  perr->column = column;
  if (field) {
    size_t n = field_len < sizeof perr->field - 1 ? field_len : sizeof perr->field - 1;
    memcpy(perr->field, field, n);
    perr->field[n] = '\0';
  } else {
    perr->field[0] = '\0';
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(perr->message, sizeof perr->message, fmt, ap);
  va_end(ap);
}
