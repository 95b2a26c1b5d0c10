/* The per-record ETL chain and dead-letter rows. */
#include "beam/transforms/etl_process.h"
#include "beam/transforms/etl_stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_table.h"
#include "etl_message_fields.h"

/* A failure at some stage: a dead letter, or the end of the run in hard mode. */
static beam_status fail(const beam_etl_spec *spec, beam_arena *arena, const beam_error *e, const char *stage,
                        beam_etl_outcome *out) {
  char *msg = beam_arena_strdup(arena, e->message);
  if (!msg) return BEAM_ERR_NOMEM;
  out->kind = spec->validate.hard ? BEAM_ETL_OUTCOME_HARD_FAIL : BEAM_ETL_OUTCOME_DEAD_LETTER;
  out->error = msg;
  out->stage = stage;
  return BEAM_OK;
}

beam_status beam_etl_process_record(const beam_etl_spec *spec, beam_etl_record *rec, beam_arena *arena,
                                    beam_etl_outcome *out) {
  memset(out, 0, sizeof *out);
  out->row.schema = rec->schema;
  out->row.origin = rec->origin;
  if (rec->schema != &spec->schema && rec->schema->n_fields != spec->schema.n_fields) return BEAM_ERR_INVALID_ARG;
  beam_status st = beam_etl_clean_record_counted(&spec->clean, rec, arena, &out->empty_to_null);
  if (st != BEAM_OK) return st;
  /* The error slot is only written on failure: the happy path never formats a message. */
  beam_error e;
  st = beam_etl_coerce_record(rec, arena, &out->row, &e);
  if (st == BEAM_ERR_NOMEM) return st;
  if (st != BEAM_OK) return fail(spec, arena, &e, BEAM_ETL_STAGE_PARSE, out);
  st = beam_etl_validate_row(&spec->validate, &out->row, arena, &e);
  if (st == BEAM_ERR_NOMEM) return st;
  if (st != BEAM_OK) return fail(spec, arena, &e, BEAM_ETL_STAGE_VALIDATE, out);
  if (!beam_etl_filter_keep(spec->filter, &out->row)) {
    out->kind = BEAM_ETL_OUTCOME_FILTERED;
    return BEAM_OK;
  }
  const char *missing = beam_etl_route_missing_attribute(spec, rec);
  if (missing) {
    beam_error_set(&e, BEAM_ERR_USER, "route: the message has no attribute \"%s\", which route.table \"%s\" names "
                                      "tables by", missing, spec->route.template_text);
    return fail(spec, arena, &e, BEAM_ETL_STAGE_ROUTE, out);
  }
  st = beam_etl_route_table(&spec->route, &out->row, arena, &out->table, &e);
  if (st == BEAM_ERR_NOMEM) return st;
  if (st != BEAM_OK) return fail(spec, arena, &e, BEAM_ETL_STAGE_ROUTE, out);
  st = beam_etl_row_to_table(spec, out->table, rec, arena, &out->row, &e);
  if (st == BEAM_ERR_NOMEM) return st;
  if (st != BEAM_OK) return fail(spec, arena, &e, BEAM_ETL_STAGE_TABLE, out);
  out->kind = BEAM_ETL_OUTCOME_ROW;
  return BEAM_OK;
}

const char *beam_etl_outcome_message(const beam_etl_outcome *o, char *buf, size_t cap) {
  if (!cap) return buf;
  const char *src = o->row.origin.source ? o->row.origin.source : "?";
  const char *stage = o->stage ? o->stage : "?", *error = o->error ? o->error : "no error";
  if (o->row.origin.line > 0) snprintf(buf, cap, "%s:%" PRId64 ": %s: %s", src, o->row.origin.line, stage, error);
  else snprintf(buf, cap, "%s@%" PRId64 ": %s: %s", src, o->row.origin.offset, stage, error); /* a range past 0 */
  return buf;
}

beam_status beam_etl_dead_letter_row(const beam_etl_origin *origin, const char *error, const char *stage,
                                     beam_arena *arena, beam_etl_row *out) {
  const beam_etl_schema *s = beam_etl_dead_letter_schema();
  beam_value *v = beam_arena_alloc(arena, s->n_fields * sizeof *v);
  if (!v) return BEAM_ERR_NOMEM;
  const char *src = origin->source ? origin->source : "";
  const char *msg = error ? error : "";
  const char *stg = stage ? stage : "";
  v[0] = beam_value_string(src, strlen(src));
  v[1] = origin->line > 0 ? beam_value_int64(origin->line) : beam_value_null();
  v[2] = origin->raw.data ? beam_value_string((const char *)origin->raw.data, origin->raw.len) : beam_value_null();
  v[3] = beam_value_string(msg, strlen(msg));
  v[4] = beam_value_string(stg, strlen(stg));
  /* A message's dead letter: its id instead of a byte offset (a message has none). */
  const char *message_id = beam_etl_unit_message_id(origin->file_id);
  v[5] = origin->file_id && !message_id ? beam_value_int64(origin->offset) : beam_value_null();
  v[6] = message_id ? beam_value_string(message_id, strlen(message_id)) : beam_value_null();
  out->schema = s;
  out->values = v;
  out->origin = *origin;
  return BEAM_OK;
}
