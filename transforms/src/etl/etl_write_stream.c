/* A stream writer's exactly-once by message id (etl_write_stream.h). */
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_stream.h"
#include "etl_write_stream.h"

void beam_etl_write_stream_reset(beam_etl_write_stream *ws) {
  bool on = ws->on;
  beam_arena arena = ws->arena;
  beam_arena_reset(&arena);
  memset(ws, 0, sizeof *ws);
  ws->on = on;
  ws->arena = arena;
}

void beam_etl_write_stream_free(beam_etl_write_stream *ws) { beam_arena_free(&ws->arena); }

static int64_t header_int(const beam_etl_row *h, const char *field) {
  int i = beam_etl_schema_find(h->schema, field);
  return i >= 0 && h->values[i].kind == BEAM_VALUE_INT64 ? h->values[i].u.i64 : 0;
}

typedef struct keyed_index {
  const char *key;
  size_t index;
} keyed_index;

static int by_key(const void *a, const void *b) {
  const keyed_index *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* A message delivered twice into one bundle (Pub/Sub is at least once, also while a message is
 * leased) is written once: every copy after the first is held, as if committed before. */
static beam_status hold_repeats(beam_etl_write_stream *ws, beam_error *err) {
  if (ws->n < 2) return BEAM_OK;
  keyed_index *order = beam_arena_alloc(&ws->arena, ws->n * sizeof *order);
  if (!order) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < ws->n; i++) order[i] = (keyed_index){ws->keys[i], i};
  qsort(order, ws->n, sizeof *order, by_key);
  for (size_t i = 1; i < ws->n; i++)
    if (strcmp(order[i].key, order[i - 1].key) == 0) ws->held[order[i].index] = true;
  return BEAM_OK;
}

beam_status beam_etl_write_stream_header(beam_etl_write_stream *ws, beam_sink *sink, const beam_etl_row *header,
                                         beam_error *err) {
  if (ws->have_header)
    return beam_error_set(err, BEAM_ERR_INTERNAL, "etl_write: a second stream bundle header in one bundle");
  beam_etl_write_stream_reset(ws);
  const beam_value *sub = &header->values[0];
  if (sub->kind != BEAM_VALUE_STRING || header_int(header, "messages") < 0)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "etl_write: a stream bundle header without its subscription");
  ws->subscription = beam_arena_strndup(&ws->arena, (const char *)sub->u.bytes.data, sub->u.bytes.len);
  if (!ws->subscription) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_etl_stream_header_parse(header->origin.raw, &ws->arena, &ws->messages, &ws->n, err);
  if (s != BEAM_OK) return s;
  ws->keys = beam_arena_calloc(&ws->arena, ws->n ? ws->n : 1, sizeof *ws->keys);
  ws->held = beam_arena_calloc(&ws->arena, ws->n ? ws->n : 1, sizeof *ws->held);
  if (!ws->keys || !ws->held) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  char key[1024];
  for (size_t i = 0; i < ws->n; i++) {
    if (!beam_etl_message_unit_key(ws->subscription, ws->messages[i].publish_us, ws->messages[i].id, key,
                                   sizeof key))
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "message id \"%.64s\" too long", ws->messages[i].id);
    if (!(ws->keys[i] = beam_arena_strdup(&ws->arena, key))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  if ((s = beam_sink_ledger_find_many(sink, ws->keys, ws->n, ws->held, err)) != BEAM_OK) return s;
  if ((s = hold_repeats(ws, err)) != BEAM_OK) return s;
  for (size_t i = 0; i < ws->n; i++) {
    const beam_etl_stream_message *m = &ws->messages[i];
    if (ws->held[i]) {
      ws->held_messages++;
      continue;
    }
    if (!ws->messages_new || m->publish_us < ws->first_us) ws->first_us = m->publish_us;
    if (!ws->messages_new || m->publish_us > ws->last_us) ws->last_us = m->publish_us;
    ws->messages_new++;
    ws->dead += m->outcome == BEAM_ETL_MESSAGE_DEAD;
    ws->filtered += m->outcome == BEAM_ETL_MESSAGE_FILTERED;
  }
  ws->have_header = true;
  return BEAM_OK;
}

beam_status beam_etl_write_stream_next_row(beam_etl_write_stream *ws, const char *file_id, bool *held,
                                           beam_error *err) {
  *held = false;
  if (!ws->have_header)
    return beam_error_set(err, BEAM_ERR_INTERNAL, "etl_write: a stream's row came before its bundle's header");
  while (ws->next < ws->n && ws->messages[ws->next].outcome == BEAM_ETL_MESSAGE_FILTERED) ws->next++;
  if (ws->next >= ws->n || !file_id || strcmp(ws->keys[ws->next], file_id) != 0)
    return beam_error_set(err, BEAM_ERR_INTERNAL, "etl_write: a stream's row of %s is not the next message's (%s)",
                          file_id ? file_id : "no message", ws->next < ws->n ? ws->keys[ws->next] : "none left");
  *held = ws->held[ws->next++];
  return BEAM_OK;
}

beam_status beam_etl_write_stream_record(beam_etl_write_stream *ws, beam_sink *sink, bool replace, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < ws->n; i++)
    if (!ws->held[i]) s = beam_sink_ledger_record(sink, ws->keys[i], ws->subscription, replace, err);
  return s;
}

beam_status beam_etl_write_stream_row(const beam_etl_write_stream *ws, int64_t written, int64_t sink_dead_lettered,
                                      beam_arena *arena, beam_etl_row *out, beam_error *err) {
  const beam_etl_schema *schema = beam_etl_stream_bundles_schema();
  beam_value *v = beam_arena_alloc(arena, schema->n_fields * sizeof *v);
  if (!v) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  v[0] = beam_value_string(ws->subscription, strlen(ws->subscription));
  v[1] = beam_value_int64(ws->messages_new);
  v[2] = beam_value_int64(written);
  v[3] = beam_value_int64(ws->dead + sink_dead_lettered);
  v[4] = beam_value_int64(ws->filtered);
  v[5] = beam_value_int64(ws->first_us);
  v[6] = beam_value_int64(ws->last_us);
  v[7] = beam_value_int64(beam_etl_now_micros());
  memset(out, 0, sizeof *out);
  out->schema = schema;
  out->values = v;
  out->origin.source = ws->subscription;
  return BEAM_OK;
}

void beam_etl_write_stream_latency(const beam_etl_write_stream *ws, int64_t committed_us, beam_latency_histogram *h) {
  for (size_t i = 0; i < ws->n; i++)
    if (!ws->held[i]) beam_latency_add(h, (double)(committed_us - ws->messages[i].publish_us) / 1000.0);
}
