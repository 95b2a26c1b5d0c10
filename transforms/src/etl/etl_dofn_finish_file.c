/* DoFn "etl_finish_file": the _files row of a file read in byte ranges, once every range is
 * in. Without a GroupByKey each range is a unit the writer commits with its own ledger entry
 * (etl_dofn_write.c) and reports on "ranges"; grouped by file, the reports arrive here:
 * KV<file, [range reports]> -> one _files element with the counts summed, `ranges` the count,
 * the file's identity, and status "loaded" when the ranges cover the file from byte 0 to its
 * size (the identity's) exactly, else "failed" with the first range's error (or the gap).
 * Empty ranges (a runner split a range before its first claim) neither count nor cover.
 * Ranges that saw different identities (the file changed between their reads: each range
 * identifies the file when it opens it) fail the file, whose `file_id` then lists them all,
 * space-separated, the first range's first: WriteFiles retracts what each committed. WriteFiles
 * writes the row with the file's ledger entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/buf.h"
#include "beam/log.h"

#include "etl_dofn_common.h"
#include "etl_files_row.h"

typedef struct finish_state {
  int c_files, c_ranges, c_failed;
} finish_state;

static beam_status finish_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  finish_state *st = state;
  st->c_files = beam_dofn_declare_counter(ctx, "files_split");
  st->c_ranges = beam_dofn_declare_counter(ctx, "ranges");
  /* Files whose ranges each read but that fail as a whole (ReadAndProcess counts the others). */
  st->c_failed = beam_dofn_declare_counter(ctx, "files_failed");
  return BEAM_OK;
}

typedef struct range_report {
  beam_etl_file_report rep;
  int64_t start, end;
} range_report;

static int by_start(const void *a, const void *b) {
  int64_t x = ((const range_report *)a)->start, y = ((const range_report *)b)->start;
  return x < y ? -1 : x > y;
}

/* Reads the group's reports into out (sorted by range start); the file's identity, from the
 * first report that knows it, to *id (NULL when none does). */
static beam_status read_reports(const beam_value_list *group, beam_arena *a, range_report *out, char **id,
                                beam_error *err) {
  *id = NULL;
  for (size_t i = 0; i < group->len; i++) {
    const char *table, *file;
    beam_etl_row row;
    beam_status s = beam_etl_element_view(&group->items[i], NULL, a, &table, &file, &row, err);
    if (s == BEAM_OK) s = beam_etl_files_row_read(&row, a, &out[i].rep, err);
    if (s != BEAM_OK) return s;
    size_t id_len;
    if (!beam_etl_unit_key_parse(out[i].rep.file_id, &id_len, &out[i].start, &out[i].end))
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_finish_file: %s is not a range's report", file);
    bool known = strncmp(out[i].rep.file_id, BEAM_ETL_UNIDENTIFIED, id_len) != 0 || id_len != strlen(BEAM_ETL_UNIDENTIFIED);
    if (!*id && known && !(*id = beam_arena_strndup(a, out[i].rep.file_id, id_len)))
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  qsort(out, group->len, sizeof *out, by_start);
  return BEAM_OK;
}

/* The distinct identities the ranges (sorted) saw, space-separated in range order, when there
 * are more than one (*ids NULL otherwise); *sizes: "A bytes, then B" for the error. */
static beam_status identities_seen(const range_report *ranges, size_t n, beam_arena *a, char **ids,
                                   char *sizes, size_t cap) {
  beam_buf b = BEAM_BUF_INIT;
  beam_status s = BEAM_OK;
  size_t distinct = 0, used = 0;
  *ids = NULL;
  sizes[0] = '\0';
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    size_t len;
    int64_t start, end;
    if (!beam_etl_unit_key_parse(ranges[i].rep.file_id, &len, &start, &end) ||
        strncmp(ranges[i].rep.file_id, BEAM_ETL_UNIDENTIFIED, len) == 0)
      continue;
    bool seen = false;
    for (size_t j = 0; !seen && j < i; j++) seen = strncmp(ranges[j].rep.file_id, ranges[i].rep.file_id, len + 1) == 0;
    if (seen) continue;
    if (distinct++) s = beam_buf_append_byte(&b, ' ');
    if (s == BEAM_OK) s = beam_buf_append(&b, ranges[i].rep.file_id, len);
    int w = snprintf(sizes + used, cap - used, "%s%lld bytes", distinct > 1 ? ", then " : "",
                     strtoll(ranges[i].rep.file_id, NULL, 10));
    if (w > 0 && (size_t)w < cap - used) used += (size_t)w;
  }
  if (s == BEAM_OK && distinct > 1 && beam_buf_terminate(&b) == BEAM_OK)
    *ids = beam_arena_strndup(a, (const char *)b.data, b.len);
  bool oom = s != BEAM_OK || (distinct > 1 && !*ids);
  beam_buf_free(&b);
  return oom ? BEAM_ERR_NOMEM : BEAM_OK;
}

/* True when the ranges (sorted) follow each other from byte 0 to size, empty ones aside. */
static bool ranges_cover(const range_report *ranges, size_t n, int64_t size) {
  int64_t covered = 0;
  for (size_t i = 0; i < n; i++) {
    if (ranges[i].end <= ranges[i].start) continue; /* a split before its first claim */
    if (ranges[i].start != covered) return false;
    covered = ranges[i].end;
  }
  return size >= 0 && covered == size;
}

static beam_status finish_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  finish_state *st = state;
  const beam_value *kv = elem->value;
  const beam_value *group = kv->kind == BEAM_VALUE_KV ? kv->u.kv.value : NULL;
  if (!group || group->kind != BEAM_VALUE_LIST || !group->u.list.len || kv->u.kv.key->kind != BEAM_VALUE_STRING)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_finish_file expects KV<file, non-empty list>");
  beam_arena *a = beam_dofn_scratch(ctx);
  size_t n = group->u.list.len;
  range_report *ranges = beam_arena_calloc(a, n, sizeof *ranges);
  char *file = beam_arena_strndup(a, (const char *)kv->u.kv.key->u.bytes.data, kv->u.kv.key->u.bytes.len), *id;
  if (!ranges || !file) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = read_reports(&group->u.list, a, ranges, &id, err);
  if (s != BEAM_OK) return s;
  bool read_ok = true;
  for (size_t i = 0; i < n; i++) read_ok &= strcmp(ranges[i].rep.status, BEAM_ETL_FILE_LOADED) == 0;
  beam_etl_file_report r = ranges[0].rep;
  r.file = file, r.file_id = id, r.ranges = 0;
  for (size_t i = 0; i < n; i++) {
    if (i) beam_etl_stats_merge(&r.stats, &ranges[i].rep.stats);
    r.ranges += ranges[i].end > ranges[i].start;
    if (strcmp(ranges[i].rep.status, BEAM_ETL_FILE_LOADED) != 0 && strcmp(r.status, BEAM_ETL_FILE_LOADED) == 0)
      r.status = ranges[i].rep.status, r.error = ranges[i].rep.error;
  }
  /* The size is the identity's ("<size>-..."), not a sum a missing report could shrink. */
  int64_t size = id ? strtoll(id, NULL, 10) : -1;
  if (size >= 0) r.stats.v[BEAM_ETL_STAT_SIZE_BYTES] = size;
  char *ids = NULL, sizes[160];
  if (identities_seen(ranges, n, a, &ids, sizes, sizeof sizes) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (ids) { /* it changed between the reads of its ranges: none of them can stand */
    r.status = BEAM_ETL_FILE_FAILED;
    r.file_id = ids;
    size_t cap = strlen(file) + sizeof sizes + 64;
    char *error = beam_arena_alloc(a, cap);
    if (!error) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    snprintf(error, cap, "%s: changed while being read (its ranges saw %s)", file, sizes);
    r.error = error;
  }
  if (strcmp(r.status, BEAM_ETL_FILE_LOADED) == 0 && !ranges_cover(ranges, n, size)) {
    r.status = BEAM_ETL_FILE_FAILED;
    r.error = "its byte ranges do not cover it: a range report is missing";
  }
  beam_dofn_counter_add(ctx, st->c_files, 1);
  if (read_ok && strcmp(r.status, BEAM_ETL_FILE_LOADED) != 0) { /* the read logged the others */
    beam_dofn_counter_add(ctx, st->c_failed, 1);
    if (strncmp(r.error, file, strlen(file)) == 0) beam_log(BEAM_LOG_WARN, "file failed, none of its rows kept: %s", r.error);
    else beam_log(BEAM_LOG_WARN, "%s: file failed, none of its rows kept: %s", file, r.error);
  }
  beam_dofn_counter_add(ctx, st->c_ranges, r.ranges);
  beam_value out;
  if (beam_etl_files_element_make(a, file, &r, &out) != BEAM_OK) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return beam_dofn_emit(ctx, 0, &out, err);
}

const beam_dofn_def beam_etl_finish_file_dofn = {
    .name = "etl_finish_file",
    .state_size = sizeof(finish_state),
    .setup = finish_setup,
    .process = finish_process,
};
