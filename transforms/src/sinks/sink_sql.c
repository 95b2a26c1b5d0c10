/* SQL text shared by the SQL sinks (sink_sql.h). */
#include "sink_sql.h"

beam_status beam_sink_sql_append_ident(beam_buf *b, const char *name) {
  beam_status st = beam_buf_append_byte(b, '"');
  for (const char *c = name; st == BEAM_OK && *c; c++) {
    if (*c == '"') st = beam_buf_append_byte(b, '"');
    if (st == BEAM_OK) st = beam_buf_append_byte(b, (uint8_t)*c);
  }
  return st == BEAM_OK ? beam_buf_append_byte(b, '"') : st;
}

beam_status beam_sink_sql_append_column(beam_buf *b, const beam_etl_field *f, const char *type) {
  beam_status st = beam_sink_sql_append_ident(b, f->name);
  if (st == BEAM_OK) st = beam_buf_append_byte(b, ' ');
  if (st == BEAM_OK) st = beam_buf_append_str(b, type);
  if (st == BEAM_OK && f->mode == BEAM_ETL_REQUIRED) st = beam_buf_append_str(b, " NOT NULL");
  return st;
}
