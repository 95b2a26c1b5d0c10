/* The _files table of a pipeline with a GroupByKey (dedupe): per-file statistics from every
 * stage, summed per file by the "etl_file_stats" CombineFn, become one row each through DoFn
 * "etl_files_row", which also checks, for a loaded file, the bookkeeping identity records =
 * written + dead_lettered + filtered + deduplicated. A difference means a row went missing:
 * the run fails loudly rather than report a load that lost data. (Without a GroupByKey the
 * writer makes the _files rows itself, see etl_dofn_write.c.)
 *
 * etl_files_row config: {"runner": "local"}. */
#include <string.h>

#include "beam/combinefn.h"
#include "beam/log.h"
#include "etl_dofn_common.h"
#include "etl_files_row.h"

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
  int c_failed, c_already, c_already_records, c_already_filtered;
  beam_etl_report_index reports; /* side input "reports", loaded once per bundle */
} files_state;

static beam_status files_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  files_state *st = state;
  st->runner = beam_etl_config_string(beam_dofn_config(ctx), "runner", "local");
  /* Here a file's ranges' reports are one: a split file that failed in any range counts once. */
  st->c_failed = beam_dofn_declare_counter(ctx, "files_failed");
  /* Named as the writer names a file whose content was loaded before (etl_dofn_write.c). */
  st->c_already = beam_dofn_declare_counter(ctx, "files_already_loaded");
  st->c_already_records = beam_dofn_declare_counter(ctx, "records_already_loaded");
  st->c_already_filtered = beam_dofn_declare_counter(ctx, "filtered_already_loaded");
  return BEAM_OK;
}

static beam_status files_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  ((files_state *)state)->reports.loaded = false;
  return BEAM_OK;
}

/* A file whose content another file of the run has, loaded as that one (DedupePick dropped
 * its rows): no _files row, counted as the writer counts a file loaded before. */
static beam_status already_loaded(files_state *st, beam_dofn_ctx *ctx, const beam_etl_file_report *r,
                                  const char *loaded_as) {
  beam_log(BEAM_LOG_INFO, "%s: the same content as %s, loaded in this run: skipped", r->file, loaded_as);
  beam_dofn_counter_add(ctx, st->c_already, 1);
  beam_dofn_counter_add(ctx, st->c_already_records, r->stats.v[BEAM_ETL_STAT_RECORDS]);
  beam_dofn_counter_add(ctx, st->c_already_filtered, r->stats.v[BEAM_ETL_STAT_FILTERED]);
  return BEAM_OK;
}

/* A file's row: the summed statistics, with status, error and identity from the file's report
 * (side input "reports"). A failed file has none of its rows written: only what was read. */
static beam_status files_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                 beam_error *err) {
  files_state *st = state;
  const beam_value *kv = elem->value;
  if (kv->kind != BEAM_VALUE_KV || kv->u.kv.key->kind != BEAM_VALUE_STRING)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_files_row expects KV<file, statistics>");
  beam_etl_file_report r = {.runner = st->runner, .status = BEAM_ETL_FILE_LOADED};
  beam_status s = beam_etl_stats_read(kv->u.kv.value, &r.stats, err);
  if (s == BEAM_OK) s = beam_etl_report_index_load(ctx, "reports", &st->reports, err);
  if (s != BEAM_OK) return s;
  beam_arena *a = beam_dofn_scratch(ctx);
  char *file = beam_arena_strndup(a, (const char *)kv->u.kv.key->u.bytes.data, kv->u.kv.key->u.bytes.len);
  if (!file) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  r.file = file;
  const beam_etl_file_report *rep = beam_etl_report_index_find(&st->reports, file);
  if (rep) r.status = rep->status, r.error = rep->error, r.file_id = rep->file_id, r.ranges = rep->ranges;
  if (rep && rep->same_content_as) return already_loaded(st, ctx, &r, rep->same_content_as);
  if (strcmp(r.status, BEAM_ETL_FILE_LOADED) != 0) {
    beam_dofn_counter_add(ctx, st->c_failed, 1);
    if (rep && rep->failed_late) beam_log(BEAM_LOG_WARN, "file failed, none of its rows kept: %s", r.error);
    beam_etl_file_report_keep_none(&r);
  } else if ((s = beam_etl_files_check_accounted(&r, err)) != BEAM_OK) {
    return s;
  }
  beam_value out;
  if (beam_etl_files_element_make(a, file, &r, &out) != BEAM_OK) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return beam_dofn_emit(ctx, 0, &out, err);
}

const beam_dofn_def beam_etl_files_row_dofn = {
    .name = "etl_files_row",
    .state_size = sizeof(files_state),
    .setup = files_setup,
    .start_bundle = files_start,
    .process = files_process,
};
