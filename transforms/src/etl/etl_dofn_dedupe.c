/* Dedupe on a key field (spec "clean.dedupe_on"), as two DoFns around a GroupByKey:
 *   "etl_dedupe_key"   element -> KV<key bytes, element> (key from the typed value, see
 *                      etl_dedupe.h, so "7" and "7.0" of an INT64 field agree)
 *   "etl_dedupe_pick"  KV<key, [elements]> -> the first element in record order on "rows";
 *                      the others are counted per file and reported on "stats" at the end
 *                      of the bundle (they are not lost: _files.deduplicated counts them).
 * Config: {"spec": {...}}. */
#include <string.h>

#include "beam/transforms/etl_dedupe.h"
#include "etl_dofn_common.h"
#include "etl_stats_map.h"

typedef struct key_state {
  beam_etl_spec *spec;
  beam_buf key;
} key_state;

static beam_status key_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  key_state *st = state;
  beam_status s = beam_etl_spec_from_config(beam_dofn_config(ctx), &st->spec, err);
  if (s == BEAM_OK && st->spec->dedupe_field < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_dedupe_key: the spec has no clean.dedupe_on");
  return s;
}

static beam_status key_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  key_state *st = state;
  beam_arena *a = beam_dofn_scratch(ctx);
  const char *table, *file;
  beam_etl_row row;
  beam_status s = beam_etl_element_view(elem->value, st->spec, a, &table, &file, &row, err);
  if (s != BEAM_OK) return s;
  if (beam_etl_dedupe_key(st->spec, &row, &st->key) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_value key = beam_value_bytes(st->key.data, st->key.len);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, elem->value}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}

static void key_teardown(void *state) {
  key_state *st = state;
  beam_etl_spec_free(st->spec);
  beam_buf_free(&st->key);
}

const beam_dofn_def beam_etl_dedupe_key_dofn = {
    .name = "etl_dedupe_key",
    .state_size = sizeof(key_state),
    .setup = key_setup,
    .process = key_process,
    .teardown = key_teardown,
};

typedef struct pick_state {
  beam_etl_spec *spec;
  int out_rows, out_stats;
  int c_dropped;
  beam_etl_stats_map dropped; /* per file, this bundle */
} pick_state;

static beam_status pick_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  pick_state *st = state;
  beam_status s = beam_etl_spec_from_config(beam_dofn_config(ctx), &st->spec, err);
  if (s == BEAM_OK) s = beam_etl_output(ctx, "rows", &st->out_rows, err);
  if (s == BEAM_OK) s = beam_etl_output(ctx, "stats", &st->out_stats, err);
  st->c_dropped = beam_dofn_declare_counter(ctx, "deduplicated");
  return s;
}

static beam_status pick_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  beam_etl_stats_map_free(&((pick_state *)state)->dropped); /* left over by a failed bundle */
  return BEAM_OK;
}

static beam_status pick_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  pick_state *st = state;
  beam_arena *a = beam_dofn_scratch(ctx);
  const beam_value *group = elem->value->kind == BEAM_VALUE_KV ? elem->value->u.kv.value : NULL;
  if (!group || group->kind != BEAM_VALUE_LIST || group->u.list.len == 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_dedupe_pick expects KV<key, non-empty list>");
  size_t n = group->u.list.len, best = 0;
  beam_etl_row *rows = beam_arena_alloc(a, n * sizeof *rows);
  const char **files = beam_arena_alloc(a, n * sizeof *files);
  if (!rows || !files) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const char *table;
    beam_status s = beam_etl_element_view(&group->u.list.items[i], st->spec, a, &table, &files[i], &rows[i], err);
    if (s != BEAM_OK) return s;
    if (beam_etl_row_order_compare(&rows[i], &rows[best]) < 0) best = i;
  }
  for (size_t i = 0; i < n; i++) {
    if (i == best) continue;
    beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->dropped, files[i]);
    if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    fs->v[BEAM_ETL_STAT_DEDUPLICATED]++;
  }
  beam_dofn_counter_add(ctx, st->c_dropped, (int64_t)n - 1);
  return beam_dofn_emit(ctx, st->out_rows, &group->u.list.items[best], err);
}

static beam_status pick_finish(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  pick_state *st = state;
  return beam_etl_stats_map_drain(&st->dropped, ctx, st->out_stats, err);
}

static void pick_teardown(void *state) {
  pick_state *st = state;
  beam_etl_spec_free(st->spec);
  beam_etl_stats_map_free(&st->dropped);
}

const beam_dofn_def beam_etl_dedupe_pick_dofn = {
    .name = "etl_dedupe_pick",
    .state_size = sizeof(pick_state),
    .setup = pick_setup,
    .start_bundle = pick_start,
    .process = pick_process,
    .finish_bundle = pick_finish,
    .teardown = pick_teardown,
};
