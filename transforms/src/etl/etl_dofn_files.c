/* The _files table: per-file statistics from every stage, summed per file by the
 * "etl_file_stats" CombineFn, become one row each through DoFn "etl_files_row", which also
 * checks the bookkeeping identity records = written + dead_lettered + filtered +
 * deduplicated. A difference means a row went missing: the run fails loudly rather than
 * report a load that lost data.
 *
 * etl_files_row config: {"runner": "local"}. */
#include <string.h>

#include "beam/combinefn.h"
#include "etl_dofn_common.h"

static beam_status stats_create(void *state, beam_arena *a, beam_value *acc, beam_error *err) {
  beam_value *items = beam_arena_calloc(a, BEAM_ETL_STAT_COUNT, sizeof *items);
  if (!items) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (int i = 0; i < BEAM_ETL_STAT_COUNT; i++) items[i] = beam_value_int64(0);
  acc->kind = BEAM_VALUE_ROW;
  acc->u.list.items = items;
  acc->u.list.len = BEAM_ETL_STAT_COUNT;
  return BEAM_OK;
}

static beam_status stats_merge(void *state, beam_arena *a, beam_value *acc, const beam_value *other,
                               beam_error *err) {
  beam_etl_file_stats x, y;
  beam_status s = beam_etl_stats_read(acc, &x, err);
  if (s == BEAM_OK) s = beam_etl_stats_read(other, &y, err);
  if (s != BEAM_OK) return s;
  beam_etl_stats_merge(&x, &y);
  for (int i = 0; i < BEAM_ETL_STAT_COUNT; i++) acc->u.list.items[i].u.i64 = x.v[i];
  return BEAM_OK;
}

static beam_status stats_extract(void *state, beam_arena *a, const beam_value *acc, beam_value *out,
                                 beam_error *err) {
  *out = *acc;
  return BEAM_OK;
}

const beam_combinefn_def beam_etl_file_stats_combinefn = {
    .name = "etl_file_stats",
    .create = stats_create,
    .add = stats_merge, /* inputs are partial statistics: adding one is merging it */
    .merge = stats_merge,
    .extract = stats_extract,
};

typedef struct files_state {
  const char *runner;
} files_state;

static beam_status files_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  files_state *st = state;
  st->runner = beam_etl_config_string(beam_dofn_config(ctx), "runner", "local");
  return BEAM_OK;
}

static beam_value nullable_time(int64_t micros) {
  return micros ? beam_value_int64(micros) : beam_value_null();
}

static beam_status files_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                 beam_error *err) {
  files_state *st = state;
  const beam_value *kv = elem->value;
  if (kv->kind != BEAM_VALUE_KV || kv->u.kv.key->kind != BEAM_VALUE_STRING)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_files_row expects KV<file, statistics>");
  beam_etl_file_stats fs;
  beam_status s = beam_etl_stats_read(kv->u.kv.value, &fs, err);
  if (s != BEAM_OK) return s;
  beam_arena *a = beam_dofn_scratch(ctx);
  char *file = beam_arena_strndup(a, (const char *)kv->u.kv.key->u.bytes.data, kv->u.kv.key->u.bytes.len);
  beam_value *v = beam_arena_alloc(a, 10 * sizeof *v);
  if (!file || !v) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  const int64_t *c = fs.v;
  int64_t accounted = c[BEAM_ETL_STAT_WRITTEN] + c[BEAM_ETL_STAT_DEAD_LETTERED] + c[BEAM_ETL_STAT_FILTERED] +
                      c[BEAM_ETL_STAT_DEDUPLICATED];
  if (accounted != c[BEAM_ETL_STAT_RECORDS])
    return beam_error_set(err, BEAM_ERR_INTERNAL,
                          "%s: %lld records read but %lld accounted for (written %lld, dead-lettered %lld, "
                          "filtered %lld, deduplicated %lld)",
                          file, (long long)c[BEAM_ETL_STAT_RECORDS], (long long)accounted,
                          (long long)c[BEAM_ETL_STAT_WRITTEN], (long long)c[BEAM_ETL_STAT_DEAD_LETTERED],
                          (long long)c[BEAM_ETL_STAT_FILTERED], (long long)c[BEAM_ETL_STAT_DEDUPLICATED]);
  v[0] = beam_value_string(file, strlen(file));
  v[1] = beam_value_int64(c[BEAM_ETL_STAT_SIZE_BYTES]);
  v[2] = beam_value_int64(c[BEAM_ETL_STAT_RECORDS]);
  v[3] = beam_value_int64(c[BEAM_ETL_STAT_WRITTEN]);
  v[4] = beam_value_int64(c[BEAM_ETL_STAT_DEAD_LETTERED]);
  v[5] = beam_value_int64(c[BEAM_ETL_STAT_FILTERED]);
  v[6] = beam_value_int64(c[BEAM_ETL_STAT_DEDUPLICATED]);
  v[7] = beam_value_string(st->runner, strlen(st->runner));
  v[8] = nullable_time(c[BEAM_ETL_STAT_STARTED_AT]);
  v[9] = nullable_time(c[BEAM_ETL_STAT_FINISHED_AT]);
  beam_etl_row row = {beam_etl_files_schema(), v, {.source = file}};
  beam_value out;
  if (beam_etl_element_make(a, BEAM_ETL_FILES_TABLE, file, &row, false, &out) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return beam_dofn_emit(ctx, 0, &out, err);
}

const beam_dofn_def beam_etl_files_row_dofn = {
    .name = "etl_files_row",
    .state_size = sizeof(files_state),
    .setup = files_setup,
    .process = files_process,
};
