/* Message fields: what of a Pub/Sub message besides its data a spec may use.
 *
 *   "_attributes.NAME"  the message's attribute NAME (letters, digits, _ - .), a STRING;
 *   "_publish_time"     its publish time, a TIMESTAMP.
 * route ({_attributes.event_type}) and filter (_attributes.source == 'web') name them as
 * fields: the spec adds each one named as a hidden field at the end of its record schema (no
 * table has it as a column). A schema field takes its value from one with "source":
 * {"name": "event_type", "type": "STRING", "source": "_attributes.event_type"}: a column like
 * any other, read from the message instead of its data (a CSV message's columns are then the
 * schema's other fields, in order). A file has neither: such a spec is refused for file
 * inputs (beam_etl_spec_check_files), naming the key.
 *
 * A message's record is parsed against the data schema (the record fields without a source)
 * and spread over the spec's schema with the message values as text cells
 * (beam_etl_message_cells), so clean, coercion, validate, filter and route treat them as any
 * field: a missing attribute is a missing field (NULL), except where route names it: the
 * message is dead-lettered at stage route naming the attribute
 * (beam_etl_route_missing_attribute). */
#ifndef BEAM_ETL_MESSAGE_FIELDS_H
#define BEAM_ETL_MESSAGE_FIELDS_H

#include "beam/transforms/etl_spec.h"
#include "beam/transforms/pubsub_subscriber.h"

#define BEAM_ETL_ATTRIBUTES_PREFIX "_attributes."
#define BEAM_ETL_PUBLISH_TIME "_publish_time"

/* The length of the message field name starting at s[0..len) ("_publish_time" not followed by
 * a name character, or "_attributes." and at least one name character), else 0. */
size_t beam_etl_message_ref_len(const char *s, size_t len);

/* The next message field name in text at or after *pos: text is a filter expression
 * (template false; quoted literals skipped) or a route template (true; whole placeholders).
 * Its offset and length in *start and *n; *pos moves past it. False when there is none. */
bool beam_etl_message_ref_next(const char *text, bool template, size_t *pos, size_t *start, size_t *n);

/* A field's "source" text (at key path, for messages) checked against field f: "_publish_time"
 * for a TIMESTAMP or STRING field, "_attributes.NAME" for any. */
beam_status beam_etl_source_check(const char *text, const beam_etl_field *f, const char *path, beam_error *err);

/* Adds a hidden field to spec->schema for every message field text names
 * (beam_etl_message_ref_next) that the schema lacks. key ("filter", "route.table") becomes spec->message_key when
 * it is the first. Before the filter and route are parsed against spec->schema. */
beam_status beam_etl_message_refs_add(beam_etl_spec *spec, const char *text, bool template, const char *key,
                                      beam_error *err);

/* spec->sources from the fields' "source" texts (top: per top-level field, may be NULL; each
 * table's own) and the hidden fields; a field given different sources in two places is an
 * error naming the second. After the tables are parsed and the hidden fields added. */
beam_status beam_etl_message_sources_finish(beam_etl_spec *spec, const char **top, beam_error *err);

/* Where a message's data goes: the data schema (spec->schema's fields without a source) and
 * each data field's index in spec->schema. */
typedef struct beam_etl_message_fields {
  beam_etl_schema data_schema;
  int *data_to_spec; /* NULL when the data schema is spec->schema */
} beam_etl_message_fields;

beam_status beam_etl_message_fields_init(const beam_etl_spec *spec, beam_etl_message_fields *out, beam_error *err);
void beam_etl_message_fields_free(beam_etl_message_fields *mf);

/* rec, parsed against mf's data schema, over spec->schema: the data cells at their places,
 * each sourced or hidden field the message's value as text (absent when the message lacks the
 * attribute). In arena. */
beam_status beam_etl_message_cells(const beam_etl_spec *spec, const beam_etl_message_fields *mf,
                                   const beam_pubsub_message *m, beam_arena *arena, beam_etl_record *rec);

/* The attribute a route placeholder takes its value from that rec's message lacks, or NULL. */
const char *beam_etl_route_missing_attribute(const beam_etl_spec *spec, const beam_etl_record *rec);

#endif
