/* JSON Lines reader: line splitter + in-place object parser (see jsonl_reader.h). */
#include "beam/transforms/jsonl_reader.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/json_record.h"
#include "beam/transforms/line_reader.h"

struct beam_jsonl_reader {
  beam_byte_source *src;
  beam_line_reader *lines;
  int64_t records; /* non-blank lines returned so far */
  beam_json_record_parser *parser;
  const beam_etl_schema *schema;
  size_t n_fields;
  bool seen_record;
  bool lines_unknown; /* a byte range past the file's start */
};

beam_status beam_jsonl_reader_open(beam_byte_source *src, const beam_etl_schema *schema,
                                   size_t buffer_size, size_t max_record,
                                   beam_jsonl_reader **out, beam_error *err) {
  *out = NULL;
  beam_jsonl_reader *r = calloc(1, sizeof *r);
  if (!r) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
  r->src = src;
  r->schema = schema;
  r->n_fields = schema ? schema->n_fields : 0;
  beam_status st = beam_line_reader_open(src, buffer_size, max_record, &r->lines, err);
  if (st == BEAM_OK) st = beam_json_record_parser_create(schema, &r->parser, err);
  if (st != BEAM_OK) {
    beam_jsonl_reader_close(r);
    return st;
  }
  *out = r;
  return BEAM_OK;
}

void beam_jsonl_reader_start_at(beam_jsonl_reader *r, uint64_t offset) {
  beam_line_reader_start_at(r->lines, offset);
  r->lines_unknown = offset > 0;
  if (r->lines_unknown) r->seen_record = true;
}

void beam_jsonl_reader_close(beam_jsonl_reader *r) {
  if (!r) return;
  beam_line_reader_close(r->lines);
  beam_json_record_parser_free(r->parser);
  free(r);
}

static bool is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
  return true;
}

beam_status beam_jsonl_reader_next(beam_jsonl_reader *r, beam_arena *arena,
                                   beam_etl_record *rec, beam_read_result *res,
                                   beam_etl_parse_error *perr, beam_error *err) {
  *res = BEAM_READ_EOF;
  beam_etl_parse_error_clear(perr);
  for (;;) {
    char *line;
    size_t len;
    int64_t lineno;
    bool eof;
    beam_status st = beam_line_reader_next(r->lines, &line, &len, &lineno, &eof, err);
    if (st != BEAM_OK) return st;
    if (eof) return BEAM_OK;
    if (len == 0 || (line[0] != '{' && is_blank(line, len))) continue;
    if (!r->seen_record) {
      r->seen_record = true;
      size_t i = 0;
      while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
      if (line[i] == '[')
        return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                              "%s: line %lld: the input is a JSON array; expected JSON Lines "
                              "(one JSON object per line)",
                              r->src->name, (long long)lineno);
      /* A file's first line that is a lone "{": one pretty-printed JSON document, which
       * would be a dead letter per line. (A later range starts mid-file: not its first.) */
      if (!r->lines_unknown && line[i] == '{' && is_blank(line + i + 1, len - i - 1))
        return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                              "%s: line %lld: the input is one JSON document spread over lines; expected JSON "
                              "Lines (one JSON object per line)",
                              r->src->name, (long long)lineno);
    }
    size_t cells_bytes = r->n_fields * sizeof(beam_etl_cell);
    char *mem = beam_arena_alloc(arena, cells_bytes + 2 * (len + 1));
    if (!mem) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", r->src->name);
    beam_etl_cell *cells = (beam_etl_cell *)(void *)mem;
    char *raw = mem + cells_bytes, *w = raw + len + 1;
    memcpy(raw, line, len + 1);
    memcpy(w, line, len + 1);
    rec->schema = r->schema;
    rec->cells = cells;
    rec->origin.source = r->src->name;
    ++r->records;
    /* the record number, as _dead_letter.line reports; unknown (0) in a later byte range */
    rec->origin.line = r->lines_unknown ? 0 : r->records;
    rec->origin.raw.data = (const uint8_t *)raw;
    rec->origin.raw.len = len;
    rec->origin.offset = (int64_t)beam_line_reader_offset(r->lines);
    if (beam_json_record_parse(r->parser, w, len, cells, perr) != BEAM_OK) {
      *res = BEAM_READ_BAD_RECORD;
      return BEAM_OK;
    }
    *res = BEAM_READ_RECORD;
    return BEAM_OK;
  }
}
