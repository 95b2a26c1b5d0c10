/* One record per message: the data of a Pub/Sub message (or any single-record payload) parsed
 * against the schema, the way a file's line is.
 *
 *   JSON  a JSON object (json_record.h rules: keys to fields by name, unknown keys ignored,
 *         surrounding whitespace and one trailing newline allowed);
 *   CSV   one CSV record without a header, columns in schema order, the spec's delimiter and
 *         quote (a quoted field may hold newlines; a second record is an error);
 *   AUTO  JSON when the first non-blank byte is '{', else CSV.
 * A message that does not parse is a BEAM_READ_BAD_RECORD with perr saying why (empty data,
 * not an object, bad quoting, a field count other than the schema's, more than one record), so
 * the caller dead-letters it; only out-of-memory is a failure. rec->origin gets source (the
 * subscription), raw (the data) and line 0; the caller adds what identifies the message. */
#ifndef BEAM_TRANSFORMS_MESSAGE_RECORD_H
#define BEAM_TRANSFORMS_MESSAGE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/transforms/csv_reader.h"
#include "beam/transforms/etl_types.h"
#include "beam/transforms/parse_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum beam_message_format {
  BEAM_MESSAGE_AUTO = 0,
  BEAM_MESSAGE_JSON,
  BEAM_MESSAGE_CSV
} beam_message_format;

typedef struct beam_message_parser beam_message_parser;

/* A parser for schema (borrowed, must outlive it); csv may be NULL (',' '"'); its header flag
 * is ignored (a message has no header). */
beam_status beam_message_parser_new(beam_message_format format, const beam_csv_options *csv,
                                    const beam_etl_schema *schema, beam_message_parser **out, beam_error *err);
void beam_message_parser_free(beam_message_parser *p);

/* Parses data[0..len) (not modified; the cells live in arena) into rec, naming source. */
beam_status beam_message_parse(const beam_message_parser *p, const char *source, const uint8_t *data, size_t len,
                               beam_arena *arena, beam_etl_record *rec, beam_read_result *res,
                               beam_etl_parse_error *perr, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
