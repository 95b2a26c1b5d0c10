/* DoFn "etl_read_messages" (ReadMessages): a stream's messages in, each out as exactly one of
 * a routed row, a dead letter, or a filtered count, the way ReadAndProcess treats a file's
 * records.
 *
 * Its input is what the Pub/Sub read gives with attributes: serialized PubsubMessages
 * (pubsub_message.h). A message's data is one record (message_record.h: a JSON object, or a
 * headerless CSV line in schema order with the spec's csv settings; the spec's format picks,
 * "auto" by the first byte), run through the same chain (etl_process.h). Every element it
 * emits carries the message as its origin: source and file the subscription, raw the data,
 * file_id the message's unit key (etl_stream.h), so a dead letter names the message id.
 *
 * A bundle's elements are held until finish_bundle, then sent after a header (a
 * _stream_bundles element listing the bundle's messages, etl_stream_header.h): each writer
 * looks the bundle's message ids up in its ledger at once before the rows come, drops the
 * rows of messages it committed before, and commits the others' ids with the rows.
 *
 * Before parsing, a message whose data is over max_message_bytes (its raw cut to the first
 * KiB), not valid UTF-8 (naming the byte offset) or empty is dead-lettered at stage parse with
 * the reason; like every dead letter it is committed and then acked once. Message fields
 * (etl_message_fields.h): the data is parsed against the data schema and the attributes and
 * publish time the spec names join it as cells.
 *
 * Config: {"spec": {...}, "spec_name": "...", "subscription": "projects/P/subscriptions/S",
 *          "max_message_bytes": N (default BEAM_ETL_MESSAGE_MAX_BYTES)}.
 * Output: "rows". Counters: messages, written is the writer's; dead_lettered, filtered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_process.h"
#include "beam/transforms/etl_stream.h"
#include "beam/transforms/etl_table.h"
#include "beam/transforms/message_record.h"
#include "beam/transforms/pubsub_message.h"
#include "etl_dofn_common.h"
#include "etl_message_fields.h"
#include "etl_stream_header.h"

/* An oversize message's dead letter keeps this much of its data (a sample, not the whole). */
#define RAW_KEPT_OF_OVERSIZE ((size_t)1024)

typedef struct held_element {
  beam_value value;
  int64_t timestamp_ms;
} held_element;

typedef struct read_messages_state {
  beam_etl_spec *spec;
  beam_message_parser *parser;
  beam_etl_message_fields fields;
  size_t max_message_bytes;
  char *subscription;
  int out_rows;
  int c_messages, c_dead, c_filtered;
  /* the bundle so far */
  held_element *held;
  size_t n_held, cap_held;
  beam_buf list;
  int64_t messages, dead, filtered, first_us, last_us;
} read_messages_state;

static beam_message_format message_format(beam_etl_format f) {
  return f == BEAM_ETL_FORMAT_JSONL ? BEAM_MESSAGE_JSON : f == BEAM_ETL_FORMAT_CSV ? BEAM_MESSAGE_CSV : BEAM_MESSAGE_AUTO;
}

static beam_status rm_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  read_messages_state *st = state;
  const json_t *config = beam_dofn_config(ctx);
  beam_status s = beam_etl_spec_from_config(config, &st->spec, err);
  if (s == BEAM_OK) s = beam_etl_spec_check_stream(st->spec, err);
  if (s == BEAM_OK) s = beam_etl_output(ctx, "rows", &st->out_rows, err);
  const char *sub = beam_etl_config_string(config, "subscription", NULL);
  if (s == BEAM_OK && !sub) s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_read_messages: config.subscription is missing");
  if (s == BEAM_OK && !(st->subscription = strdup(sub))) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s != BEAM_OK) return s;
  beam_csv_options csv;
  beam_csv_options_init(&csv);
  csv.delimiter = st->spec->csv.delimiter ? st->spec->csv.delimiter : ',';
  csv.quote = st->spec->csv.quote ? st->spec->csv.quote : '"';
  csv.no_quoting = st->spec->csv.quote == '\0';
  json_int_t max = json_integer_value(json_object_get(config, "max_message_bytes"));
  st->max_message_bytes = max > 0 ? (size_t)max : BEAM_ETL_MESSAGE_MAX_BYTES;
  if ((s = beam_etl_message_fields_init(st->spec, &st->fields, err)) != BEAM_OK) return s;
  s = beam_message_parser_new(message_format(st->spec->format), &csv, &st->fields.data_schema, &st->parser, err);
  st->c_messages = beam_dofn_declare_counter(ctx, "messages");
  st->c_dead = beam_dofn_declare_counter(ctx, "dead_lettered");
  st->c_filtered = beam_dofn_declare_counter(ctx, "filtered");
  return s;
}

static beam_status rm_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  (void)ctx, (void)err;
  read_messages_state *st = state;
  st->n_held = 0;
  beam_buf_reset(&st->list);
  st->messages = st->dead = st->filtered = st->first_us = st->last_us = 0;
  return BEAM_OK;
}

/* Keeps an element (its memory is the bundle arena's) until finish_bundle. */
static beam_status hold(read_messages_state *st, beam_arena *arena, const char *table, const beam_etl_row *row,
                        int64_t timestamp_ms, beam_error *err) {
  if (st->n_held == st->cap_held) {
    size_t cap = st->cap_held ? st->cap_held * 2 : 256;
    held_element *grown = realloc(st->held, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    st->held = grown;
    st->cap_held = cap;
  }
  held_element *h = &st->held[st->n_held];
  if (beam_etl_element_make(arena, table, st->subscription, row, strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) == 0,
                            &h->value) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  h->timestamp_ms = timestamp_ms;
  st->n_held++;
  return BEAM_OK;
}

/* A message that is no record, or a record the chain rejects: a dead letter naming it. */
static beam_status dead_letter(read_messages_state *st, beam_arena *arena, const beam_etl_origin *origin,
                               const char *stage, const char *error, int64_t timestamp_ms, beam_error *err) {
  beam_etl_row dl;
  if (beam_etl_dead_letter_row(origin, error, stage, arena, &dl) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  st->dead++;
  return hold(st, arena, BEAM_ETL_DEAD_LETTER_TABLE, &dl, timestamp_ms, err);
}

/* Room for a dead letter's reason made here (the field names in it are at most 300 bytes). */
typedef char reason_buf[1024];

/* Whether the message's data is no record before parsing it (too big, not UTF-8), why in
 * *why. Cuts an oversize message's raw to its first KiB. */
static bool unreadable(const read_messages_state *st, const beam_pubsub_message *m, beam_etl_origin *origin,
                       reason_buf why) {
  size_t bad;
  if (m->data_len > st->max_message_bytes) {
    size_t cut = m->data_len < RAW_KEPT_OF_OVERSIZE ? m->data_len : RAW_KEPT_OF_OVERSIZE;
    while (cut > 0 && cut < m->data_len && (m->data[cut] & 0xC0) == 0x80) cut--; /* not inside a UTF-8 character */
    origin->raw.len = cut;
    snprintf(why, sizeof(reason_buf), "the message's data is %zu bytes, over the limit of %zu (raw holds its first %zu)",
             m->data_len, st->max_message_bytes, cut);
    return true;
  }
  if (beam_etl_utf8_valid((const char *)m->data, m->data_len, &bad)) return false;
  snprintf(why, sizeof(reason_buf), "the message's data is not valid UTF-8 (byte 0x%02X at offset %zu)", m->data[bad], bad);
  return true;
}

/* A routed row's event time (its element's timestamp, what names its hour folder and
 * partition downstream): its table's partition field, else the spec's event_time_field, else
 * the publish time (*event_ms as given). False, why in *why, when it has none (a null value):
 * a time is never guessed for a row. */
static bool event_time(const read_messages_state *st, const char *table, const beam_etl_row *row, int64_t *event_ms,
                       reason_buf why) {
  const char *key = NULL;
  int f = beam_etl_table_time_field(st->spec, table, row->schema, &key);
  const beam_value *v = f >= 0 ? &row->values[f] : NULL;
  if (v && v->kind == BEAM_VALUE_INT64) {
    bool date = row->schema->fields[f].type == BEAM_ETL_DATE;
    *event_ms = date ? v->u.i64 * 86400000 : (v->u.i64 >= 0 ? v->u.i64 / 1000 : -((-v->u.i64 + 999) / 1000));
    return true;
  }
  if (!v && *event_ms) return true;
  if (v) snprintf(why, sizeof(reason_buf), "field \"%.300s\" (the event time: %s of table \"%.300s\") is null or missing",
                  row->schema->fields[f].name, key, table);
  else snprintf(why, sizeof(reason_buf), "the message has no publish time");
  return false;
}

/* A dead letter whose reason is in a buffer of the caller's: copied to the bundle's arena. */
static beam_status dead_letter_why(read_messages_state *st, beam_arena *arena, const beam_etl_origin *origin,
                                   const char *stage, const char *why, int64_t timestamp_ms, beam_error *err) {
  const char *copy = beam_arena_strdup(arena, why); /* the dead letter lives until finish_bundle */
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return dead_letter(st, arena, origin, stage, copy, timestamp_ms, err);
}

/* The message's record through the chain; *outcome says which of row, dead letter, filtered. */
static beam_status process_message(read_messages_state *st, beam_arena *arena, const beam_pubsub_message *m,
                                   const char *unit, int64_t timestamp_ms, char *outcome, beam_error *err) {
  beam_etl_record rec;
  beam_read_result res;
  beam_etl_parse_error perr;
  *outcome = BEAM_ETL_MESSAGE_DEAD;
  beam_etl_origin raw_origin = {.source = st->subscription, .raw = {m->data, m->data_len}, .file_id = unit,
                                .member_offset = -1};
  reason_buf why;
  if (unreadable(st, m, &raw_origin, why))
    return dead_letter_why(st, arena, &raw_origin, BEAM_ETL_STAGE_PARSE, why, timestamp_ms, err);
  beam_status s = beam_message_parse(st->parser, st->subscription, m->data, m->data_len, arena, &rec, &res, &perr, err);
  if (s != BEAM_OK) return s;
  rec.origin.file_id = unit;
  rec.origin.offset = 0;
  if (res == BEAM_READ_BAD_RECORD)
    return dead_letter_why(st, arena, &rec.origin, BEAM_ETL_STAGE_PARSE, perr.message, timestamp_ms, err);
  if (beam_etl_message_cells(st->spec, &st->fields, m, arena, &rec) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_etl_origin origin = rec.origin; /* the chain may change the record, not where it came from */
  beam_etl_outcome o;
  if ((s = beam_etl_process_record(st->spec, &rec, arena, &o)) != BEAM_OK)
    return beam_error_set(err, s, "%s: message %s: processing failed", st->subscription, m->message_id);
  switch (o.kind) {
    case BEAM_ETL_OUTCOME_ROW: {
      int64_t event_ms = timestamp_ms;
      if (!event_time(st, o.table, &o.row, &event_ms, why))
        return dead_letter_why(st, arena, &origin, BEAM_ETL_STAGE_EVENT_TIME, why, timestamp_ms, err);
      *outcome = BEAM_ETL_MESSAGE_ROW;
      o.row.origin = origin;
      return hold(st, arena, o.table, &o.row, event_ms, err);
    }
    case BEAM_ETL_OUTCOME_FILTERED:
      *outcome = BEAM_ETL_MESSAGE_FILTERED;
      st->filtered++;
      return BEAM_OK;
    case BEAM_ETL_OUTCOME_DEAD_LETTER:
    case BEAM_ETL_OUTCOME_HARD_FAIL: break;
  }
  return dead_letter(st, arena, &origin, o.stage, o.error, timestamp_ms, err);
}

static beam_status rm_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  read_messages_state *st = state;
  beam_arena *arena = beam_dofn_bundle_arena(ctx);
  const beam_value *v = elem->value;
  if (v->kind != BEAM_VALUE_BYTES && v->kind != BEAM_VALUE_STRING)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_read_messages expects serialized PubsubMessages (bytes)");
  beam_pubsub_message m;
  beam_status s = beam_pubsub_message_decode(v->u.bytes.data, v->u.bytes.len, arena, &m, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "%s: ", st->subscription);
  char key[1024];
  if (!beam_etl_message_unit_key(st->subscription, m.publish_time_us, m.message_id, key, sizeof key))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: message id \"%.64s\" too long", st->subscription, m.message_id);
  const char *unit = beam_arena_strdup(arena, key);
  if (!unit) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  char outcome;
  if ((s = process_message(st, arena, &m, unit, elem->timestamp_ms, &outcome, err)) != BEAM_OK) return s;
  if ((s = beam_etl_stream_header_add(&st->list, outcome, m.publish_time_us, m.message_id)) != BEAM_OK)
    return beam_error_set(err, s, "out of memory");
  if (!st->messages || m.publish_time_us < st->first_us) st->first_us = m.publish_time_us;
  if (!st->messages || m.publish_time_us > st->last_us) st->last_us = m.publish_time_us;
  st->messages++;
  return BEAM_OK;
}

/* The header: the bundle's _stream_bundles row as the read knows it, its messages in raw. */
static beam_status emit_header(read_messages_state *st, beam_dofn_ctx *ctx, beam_window *global, beam_error *err) {
  beam_arena *arena = beam_dofn_bundle_arena(ctx);
  const beam_etl_schema *schema = beam_etl_stream_bundles_schema();
  beam_value *values = beam_arena_alloc(arena, schema->n_fields * sizeof *values);
  if (!values) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  values[0] = beam_value_string(st->subscription, strlen(st->subscription));
  values[1] = beam_value_int64(st->messages);
  values[2] = beam_value_null();
  values[3] = beam_value_int64(st->dead);
  values[4] = beam_value_int64(st->filtered);
  values[5] = beam_value_int64(st->first_us);
  values[6] = beam_value_int64(st->last_us);
  values[7] = beam_value_null();
  beam_etl_row row = {.schema = schema, .values = values};
  row.origin.source = st->subscription;
  row.origin.raw = (beam_bytes){st->list.data, st->list.len};
  beam_value header;
  if (beam_etl_element_make(arena, BEAM_ETL_STREAM_BUNDLES_TABLE, st->subscription, &row, true, &header) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_windowed_value wv = {&header, st->last_us / 1000, global, 1, BEAM_PANE_NO_FIRING};
  return beam_dofn_emit_windowed(ctx, st->out_rows, &wv, err);
}

static beam_status rm_finish(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  read_messages_state *st = state;
  if (!st->messages) return BEAM_OK;
  /* Stream elements are in the global window (the read's windowing). */
  beam_window global = {BEAM_WINDOW_GLOBAL, 0, 0, {NULL, 0}};
  beam_status s = emit_header(st, ctx, &global, err);
  for (size_t i = 0; s == BEAM_OK && i < st->n_held; i++) {
    beam_windowed_value wv = {&st->held[i].value, st->held[i].timestamp_ms, &global, 1, BEAM_PANE_NO_FIRING};
    s = beam_dofn_emit_windowed(ctx, st->out_rows, &wv, err);
  }
  if (s != BEAM_OK) return s;
  beam_dofn_counter_add(ctx, st->c_messages, st->messages);
  beam_dofn_counter_add(ctx, st->c_dead, st->dead);
  beam_dofn_counter_add(ctx, st->c_filtered, st->filtered);
  st->n_held = 0;
  return BEAM_OK;
}

static void rm_teardown(void *state) {
  read_messages_state *st = state;
  beam_etl_spec_free(st->spec);
  beam_message_parser_free(st->parser);
  beam_etl_message_fields_free(&st->fields);
  free(st->subscription);
  free(st->held);
  beam_buf_free(&st->list);
}

const beam_dofn_def beam_etl_read_messages_dofn = {
    .name = "etl_read_messages",
    .state_size = sizeof(read_messages_state),
    .setup = rm_setup,
    .start_bundle = rm_start,
    .process = rm_process,
    .finish_bundle = rm_finish,
    .teardown = rm_teardown,
};
