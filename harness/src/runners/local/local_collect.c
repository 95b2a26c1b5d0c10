/* Collector nodes and the encodings of a stage boundary (see local_collect.h).
 *
 * GroupByKey record: key = varint key_len, the key nested-encoded with the KV's key coder,
 * then the window; value = the value nested-encoded with the KV's value coder. Sorting by
 * these key bytes groups by (encoded key, window), as Beam does.
 * Materialized record: key empty; value = the element nested-encoded with the PCollection's
 * coder, timestamp, windows and pane. Windows are written as kind, start, end, custom bytes. */
#include <stdlib.h>
#include <string.h>

#include "beam/coder.h"
#include "local_collect.h"
#include "proto_lookup.h"

struct beam_local_collect {
  beam_exec_node node;
  beam_local_collect_kind kind;
  beam_shuffle_writer *writer;
  beam_local_side *side;
  size_t item;
  const beam_coder *key_coder, *value_coder, *elem_coder;
  beam_buf key, value, composite;
};

static beam_status encode_window(beam_buf *b, const beam_window *w) {
  if (beam_buf_append_byte(b, (uint8_t)w->kind) != BEAM_OK || beam_coder_encode_varint_i64(b, w->start_ms) != BEAM_OK ||
      beam_coder_encode_varint_i64(b, w->end_ms) != BEAM_OK ||
      beam_coder_encode_lp_bytes(b, w->custom.data, w->custom.len) != BEAM_OK)
    return BEAM_ERR_NOMEM;
  return BEAM_OK;
}

static beam_status decode_window(beam_reader *r, beam_window *w) {
  uint8_t kind;
  if (beam_reader_byte(r, &kind) != BEAM_OK || beam_coder_decode_varint_i64(r, &w->start_ms) != BEAM_OK ||
      beam_coder_decode_varint_i64(r, &w->end_ms) != BEAM_OK || beam_coder_decode_lp_bytes(r, &w->custom) != BEAM_OK)
    return BEAM_ERR_MALFORMED;
  w->kind = (beam_window_kind)kind;
  return BEAM_OK;
}

static beam_status group_process(beam_local_collect *c, const beam_windowed_value *wv, beam_error *err) {
  const beam_value *kv = wv->value;
  if (kv->kind != BEAM_VALUE_KV) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "GroupByKey input is not a KV");
  beam_buf_reset(&c->value);
  beam_buf_reset(&c->key);
  beam_status s = beam_coder_encode(c->value_coder, kv->u.kv.value, true, &c->value, err);
  if (s == BEAM_OK) s = beam_coder_encode(c->key_coder, kv->u.kv.key, true, &c->key, err);
  if (s != BEAM_OK) return s;
  size_t key_len = c->key.len;
  for (size_t i = 0; i < wv->n_windows; i++) {
    /* key bytes: varint len + encoded key, then this window */
    beam_buf *composite = &c->composite;
    beam_buf_reset(composite);
    if (beam_coder_encode_lp_bytes(composite, c->key.data, key_len) != BEAM_OK ||
        encode_window(composite, &wv->windows[i]) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory grouping by key");
    s = beam_shuffle_write(c->writer, composite->data, composite->len, c->value.data, c->value.len, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static beam_status spool_process(beam_local_collect *c, const beam_windowed_value *wv, beam_error *err) {
  beam_buf *b = &c->value;
  beam_buf_reset(b);
  beam_status s = beam_coder_encode(c->elem_coder, wv->value, true, b, err);
  if (s != BEAM_OK) return s;
  bool ok = beam_coder_encode_varint_i64(b, wv->timestamp_ms) == BEAM_OK &&
            beam_coder_encode_varint(b, wv->n_windows) == BEAM_OK;
  for (size_t i = 0; ok && i < wv->n_windows; i++) ok = encode_window(b, &wv->windows[i]) == BEAM_OK;
  if (!ok || beam_coder_encode_pane(b, &wv->pane) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory materializing a PCollection");
  return beam_shuffle_write(c->writer, NULL, 0, b->data, b->len, err);
}

static beam_status collect_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  beam_local_collect *c = n->impl;
  switch (c->kind) {
  case BEAM_LOCAL_COLLECT_GROUP: return group_process(c, wv, err);
  case BEAM_LOCAL_COLLECT_SPOOL: return spool_process(c, wv, err);
  default: return beam_local_side_add(c->side, c->item, wv->value, err);
  }
}

static const beam_exec_ops collect_ops = {.kind = "stage_output", .process = collect_process};

beam_status beam_local_collect_new(beam_exec_graph *g, beam_local_collect_kind kind, const char *pcollection_id,
                                   beam_shuffle_writer *writer, beam_local_side *side, size_t item,
                                   beam_exec_node **node, beam_error *err) {
  beam_local_collect *c = calloc(1, sizeof *c);
  if (!c) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  c->kind = kind;
  c->writer = writer;
  c->side = side;
  c->item = item;
  c->node = (beam_exec_node){.ops = &collect_ops, .transform_id = pcollection_id, .graph = g, .impl = c};
  beam_status s = BEAM_OK;
  if (kind == BEAM_LOCAL_COLLECT_GROUP) {
    s = beam_exec_graph_kv_coders(g, pcollection_id, &c->key_coder, &c->value_coder, err);
  } else if (kind == BEAM_LOCAL_COLLECT_SPOOL) {
    const PIPE(PCollection) *pc = beam_proto_find_pcollection(g->components, pcollection_id);
    beam_coder *coder = NULL;
    s = pc ? beam_exec_graph_coder(g, pc->coder_id, &coder, err)
           : beam_error_set(err, BEAM_ERR_NOT_FOUND, "PCollection %s is not in the components", pcollection_id);
    c->elem_coder = coder;
  }
  if (s != BEAM_OK) {
    free(c);
    return s;
  }
  *node = &c->node;
  return BEAM_OK;
}

beam_shuffle_writer *beam_local_collect_writer(const beam_exec_node *node) {
  return ((const beam_local_collect *)node->impl)->writer;
}

void beam_local_collect_free(beam_exec_node *node) {
  if (!node) return;
  beam_local_collect *c = node->impl;
  beam_buf_free(&c->key);
  beam_buf_free(&c->value);
  beam_buf_free(&c->composite);
  free(c);
}

/* --- feeding a stage ------------------------------------------------------------------------ */

/* Output timestamp END_OF_WINDOW: the window's max timestamp. */
static int64_t window_max_timestamp(const beam_window *w) {
  return w->kind == BEAM_WINDOW_INTERVAL ? w->end_ms - 1 : BEAM_GLOBAL_WINDOW_MAX_MS;
}

static beam_status feed_group(beam_reader *r, const beam_coder *key_coder, const beam_coder *value_coder,
                              beam_arena *arena, beam_exec_output *out, beam_error *err) {
  beam_bytes composite;
  if (beam_coder_decode_lp_bytes(r, &composite) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "a shuffled group is cut short");
  beam_reader kr = beam_reader_make(composite.data, composite.len);
  beam_bytes key_bytes;
  beam_window *w = beam_arena_calloc(arena, 1, sizeof *w);
  beam_value *key = beam_arena_calloc(arena, 1, sizeof *key);
  if (!w || !key) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (beam_coder_decode_lp_bytes(&kr, &key_bytes) != BEAM_OK || decode_window(&kr, w) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "a shuffled key is cut short");
  beam_reader keyr = beam_reader_make(key_bytes.data, key_bytes.len);
  beam_status s = beam_coder_decode(key_coder, &keyr, true, arena, key, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "decoding a grouped key: ");
  beam_value *values = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    uint8_t more;
    if (beam_reader_byte(r, &more) != BEAM_OK) return beam_error_set(err, BEAM_ERR_MALFORMED, "a shuffled group is cut short");
    if (!more) break;
    beam_bytes vb;
    if (beam_coder_decode_lp_bytes(r, &vb) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_MALFORMED, "a shuffled value is cut short");
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      beam_value *grown = beam_arena_alloc(arena, cap * sizeof *grown);
      if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      if (n) memcpy(grown, values, n * sizeof *grown);
      values = grown;
    }
    beam_reader vr = beam_reader_make(vb.data, vb.len);
    s = beam_coder_decode(value_coder, &vr, true, arena, &values[n], err);
    if (s != BEAM_OK) return beam_error_prefix(err, "decoding a grouped value: ");
    n++;
  }
  beam_value list = {.kind = BEAM_VALUE_LIST, .u.list = {values, n}};
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {key, &list}};
  beam_windowed_value wv = {&kv, window_max_timestamp(w), w, 1, BEAM_PANE_NO_FIRING};
  wv.pane.timing = BEAM_PANE_ON_TIME;
  return beam_exec_emit(out, &wv, err);
}

static beam_status feed_element(beam_reader *r, const beam_coder *coder, beam_arena *arena, beam_exec_output *out,
                                beam_error *err) {
  beam_bytes rec;
  if (beam_coder_decode_lp_bytes(r, &rec) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "a materialized element is cut short");
  beam_reader er = beam_reader_make(rec.data, rec.len);
  beam_value *v = beam_arena_calloc(arena, 1, sizeof *v);
  if (!v) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_coder_decode(coder, &er, true, arena, v, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "decoding a materialized element: ");
  beam_windowed_value wv = {.value = v};
  uint64_t n_windows = 0;
  bool ok = beam_coder_decode_varint_i64(&er, &wv.timestamp_ms) == BEAM_OK &&
            beam_coder_decode_varint(&er, &n_windows) == BEAM_OK && n_windows <= er.len;
  wv.windows = ok ? beam_arena_calloc(arena, n_windows + 1, sizeof *wv.windows) : NULL;
  wv.n_windows = (size_t)n_windows;
  for (size_t i = 0; wv.windows && i < wv.n_windows; i++) ok = ok && decode_window(&er, &wv.windows[i]) == BEAM_OK;
  if (!wv.windows || !ok || beam_coder_decode_pane(&er, &wv.pane) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "a materialized element's windows are cut short");
  return beam_exec_emit(out, &wv, err);
}

beam_status beam_local_feed(beam_exec_graph *g, const char *input_pcollection, bool grouped, const beam_buf *chunk,
                            beam_arena *arena, beam_exec_output *out, beam_error *err) {
  const beam_coder *key_coder = NULL, *value_coder = NULL;
  beam_coder *elem_coder = NULL;
  beam_status s;
  if (grouped) {
    s = beam_exec_graph_kv_coders(g, input_pcollection, &key_coder, &value_coder, err);
  } else {
    const PIPE(PCollection) *pc = beam_proto_find_pcollection(g->components, input_pcollection);
    s = pc ? beam_exec_graph_coder(g, pc->coder_id, &elem_coder, err)
           : beam_error_set(err, BEAM_ERR_NOT_FOUND, "PCollection %s is not in the components", input_pcollection);
  }
  beam_reader r = beam_reader_make(chunk->data, chunk->len);
  while (s == BEAM_OK && !beam_reader_at_end(&r))
    s = grouped ? feed_group(&r, key_coder, value_coder, arena, out, err) : feed_element(&r, elem_coder, arena, out, err);
  return s;
}
