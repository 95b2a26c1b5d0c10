/* One record per message (see message_record.h): JSON with the in-place object parser on a
 * copy, CSV with the streaming reader over the message's bytes. */
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/json_record.h"
#include "beam/transforms/message_record.h"

struct beam_message_parser {
  beam_message_format format;
  beam_csv_options csv;
  const beam_etl_schema *schema;
  beam_json_record_parser *json;
};

beam_status beam_message_parser_new(beam_message_format format, const beam_csv_options *csv,
                                    const beam_etl_schema *schema, beam_message_parser **out, beam_error *err) {
  *out = NULL;
  beam_message_parser *p = calloc(1, sizeof *p);
  if (!p) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->format = format;
  p->schema = schema;
  if (csv) p->csv = *csv;
  else beam_csv_options_init(&p->csv);
  p->csv.header = false;
  beam_status s = beam_json_record_parser_create(schema, &p->json, err);
  if (s != BEAM_OK) {
    free(p);
    return s;
  }
  *out = p;
  return BEAM_OK;
}

void beam_message_parser_free(beam_message_parser *p) {
  if (!p) return;
  beam_json_record_parser_free(p->json);
  free(p);
}

static bool is_blank(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static beam_status bad(beam_etl_parse_error *perr, beam_read_result *res, const char *message) {
  beam_etl_parse_error_set(perr, 0, NULL, 0, "%s", message);
  *res = BEAM_READ_BAD_RECORD;
  return BEAM_OK;
}

static beam_status parse_json(const beam_message_parser *p, const uint8_t *data, size_t len, beam_arena *arena,
                              beam_etl_record *rec, beam_read_result *res, beam_etl_parse_error *perr,
                              beam_error *err) {
  char *text = beam_arena_alloc(arena, len + 1);
  rec->cells = beam_arena_calloc(arena, p->schema->n_fields + 1, sizeof *rec->cells);
  if (!text || !rec->cells) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  memcpy(text, data, len);
  text[len] = '\0';
  size_t start = 0;
  while (start < len && is_blank(data[start])) start++;
  if (start == len || data[start] != '{') return bad(perr, res, "the message is not a JSON object");
  *res = beam_json_record_parse(p->json, text, len, rec->cells, perr) == BEAM_OK ? BEAM_READ_RECORD
                                                                                  : BEAM_READ_BAD_RECORD;
  return BEAM_OK;
}

/* The CSV reader over the message; a second record makes the message bad. */
static beam_status parse_csv(const beam_message_parser *p, const uint8_t *data, size_t len, beam_arena *arena,
                             beam_etl_record *rec, beam_read_result *res, beam_etl_parse_error *perr,
                             beam_error *err) {
  beam_byte_source *src = NULL;
  beam_csv_reader *r = NULL;
  beam_status s = beam_memory_source_open(rec->origin.source, data, len, &src, err);
  if (s == BEAM_OK) s = beam_csv_reader_open(src, &p->csv, p->schema, len + 64, len + 64, &r, err);
  beam_etl_origin origin = rec->origin;
  if (s == BEAM_OK) s = beam_csv_reader_next(r, arena, rec, res, perr, err);
  if (s == BEAM_OK && *res == BEAM_READ_EOF) s = bad(perr, res, "the message holds no CSV record");
  if (s == BEAM_OK && *res == BEAM_READ_RECORD) {
    beam_etl_record extra = {0};
    beam_read_result more = BEAM_READ_EOF;
    s = beam_csv_reader_next(r, arena, &extra, &more, NULL, err);
    if (s == BEAM_OK && more != BEAM_READ_EOF) s = bad(perr, res, "the message holds more than one CSV record");
  }
  beam_csv_reader_close(r);
  beam_byte_source_close(src);
  rec->origin = origin; /* the message's, not the reader's line count */
  return s;
}

beam_status beam_message_parse(const beam_message_parser *p, const char *source, const uint8_t *data, size_t len,
                               beam_arena *arena, beam_etl_record *rec, beam_read_result *res,
                               beam_etl_parse_error *perr, beam_error *err) {
  memset(rec, 0, sizeof *rec);
  beam_etl_parse_error_clear(perr);
  rec->schema = p->schema;
  rec->origin.source = source ? source : "";
  rec->origin.raw = (beam_bytes){data, len};
  size_t start = 0;
  while (start < len && is_blank(data[start])) start++;
  if (start == len) return bad(perr, res, "the message has no data");
  bool json = p->format == BEAM_MESSAGE_JSON || (p->format == BEAM_MESSAGE_AUTO && data[start] == '{');
  return json ? parse_json(p, data, len, arena, rec, res, perr, err) : parse_csv(p, data, len, arena, rec, res, perr, err);
}
