/* _files rows (see etl_files_row.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_files_row.h"

enum { F_NAME, F_SIZE, F_RECORDS, F_WRITTEN, F_DEAD, F_FILTERED, F_DEDUP, F_RUNNER, F_STARTED, F_FINISHED,
       F_STATUS, F_ERROR, F_FILE_ID, F_RANGES, F_COUNT };

/* Which statistic each count column holds. */
static const struct { int column, stat; } counts[] = {
    {F_SIZE, BEAM_ETL_STAT_SIZE_BYTES}, {F_RECORDS, BEAM_ETL_STAT_RECORDS},   {F_WRITTEN, BEAM_ETL_STAT_WRITTEN},
    {F_DEAD, BEAM_ETL_STAT_DEAD_LETTERED}, {F_FILTERED, BEAM_ETL_STAT_FILTERED}, {F_DEDUP, BEAM_ETL_STAT_DEDUPLICATED},
};

static beam_value text_or_null(const char *s) { return s ? beam_value_string(s, strlen(s)) : beam_value_null(); }
static beam_value time_or_null(int64_t micros) { return micros ? beam_value_int64(micros) : beam_value_null(); }

const char *beam_etl_source_member(const char *file, size_t file_len, const char *source, size_t source_len,
                                   size_t *member_len) {
  *member_len = 0;
  if (!source || (source_len == file_len && memcmp(source, file, file_len) == 0)) return NULL;
  bool in_file = source_len > file_len && memcmp(source, file, file_len) == 0 && source[file_len] == '!';
  size_t skip = in_file ? file_len + 1 : 0;
  *member_len = source_len - skip;
  return source + skip;
}

size_t beam_etl_record_file_id(char *out, size_t cap, const char *identity, const char *file, const char *source) {
  size_t len = 0;
  const char *member = beam_etl_source_member(file, strlen(file), source, source ? strlen(source) : 0, &len);
  int n = member ? snprintf(out, cap, "%s!%.*s", identity, (int)len, member) : snprintf(out, cap, "%s", identity);
  return n < 0 ? 0 : (size_t)n;
}

beam_status beam_etl_files_row_make(beam_arena *arena, const beam_etl_file_report *r, beam_etl_row *out) {
  beam_value *v = beam_arena_alloc(arena, F_COUNT * sizeof *v);
  if (!v) return BEAM_ERR_NOMEM;
  v[F_NAME] = text_or_null(r->file ? r->file : "");
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) v[counts[i].column] = beam_value_int64(r->stats.v[counts[i].stat]);
  v[F_RUNNER] = text_or_null(r->runner);
  v[F_STARTED] = time_or_null(r->stats.v[BEAM_ETL_STAT_STARTED_AT]);
  v[F_FINISHED] = time_or_null(r->stats.v[BEAM_ETL_STAT_FINISHED_AT]);
  v[F_STATUS] = text_or_null(r->status);
  v[F_ERROR] = text_or_null(r->error);
  v[F_FILE_ID] = text_or_null(r->file_id);
  v[F_RANGES] = r->ranges > 0 ? beam_value_int64(r->ranges) : beam_value_null();
  /* The row's record identity is (_files, the file's identity, 0): a relaunch writing the
   * same file's row again is recognised like any record (content keys, record ids). A failed
   * file's row has none: each run that fails it says so (and retracts what its ranges
   * committed again), as a failed whole file's row is committed under a bundle id of its own. */
  bool loaded = r->status && strcmp(r->status, BEAM_ETL_FILE_LOADED) == 0;
  *out = (beam_etl_row){beam_etl_files_schema(), v,
                        {.source = r->file, .file_id = loaded ? r->file_id : NULL, .member_offset = -1}};
  return BEAM_OK;
}

beam_status beam_etl_files_element_make(beam_arena *arena, const char *file, const beam_etl_file_report *r,
                                        beam_value *out) {
  beam_etl_row row;
  beam_status s = beam_etl_files_row_make(arena, r, &row);
  return s == BEAM_OK ? beam_etl_element_make(arena, BEAM_ETL_FILES_TABLE, file, &row, false, out) : s;
}

static beam_status text_of(const beam_value *v, beam_arena *arena, const char **out) {
  *out = NULL;
  if (v->kind != BEAM_VALUE_STRING) return BEAM_OK;
  *out = beam_arena_strndup(arena, (const char *)v->u.bytes.data, v->u.bytes.len);
  return *out ? BEAM_OK : BEAM_ERR_NOMEM;
}

beam_status beam_etl_files_row_read(const beam_etl_row *row, beam_arena *arena, beam_etl_file_report *out,
                                    beam_error *err) {
  memset(out, 0, sizeof *out);
  if (row->schema != beam_etl_files_schema())
    return beam_error_set(err, BEAM_ERR_MALFORMED, "a _files element has another table's schema");
  const beam_value *v = row->values;
  beam_status s = BEAM_OK;
  const char **texts[] = {&out->file, &out->runner, &out->status, &out->error, &out->file_id};
  const int columns[] = {F_NAME, F_RUNNER, F_STATUS, F_ERROR, F_FILE_ID};
  for (size_t i = 0; s == BEAM_OK && i < 5; i++) s = text_of(&v[columns[i]], arena, texts[i]);
  if (s != BEAM_OK) return beam_error_set(err, s, "out of memory");
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
    if (v[counts[i].column].kind == BEAM_VALUE_INT64) out->stats.v[counts[i].stat] = v[counts[i].column].u.i64;
  if (v[F_STARTED].kind == BEAM_VALUE_INT64) out->stats.v[BEAM_ETL_STAT_STARTED_AT] = v[F_STARTED].u.i64;
  if (v[F_FINISHED].kind == BEAM_VALUE_INT64) out->stats.v[BEAM_ETL_STAT_FINISHED_AT] = v[F_FINISHED].u.i64;
  if (v[F_RANGES].kind == BEAM_VALUE_INT64) out->ranges = v[F_RANGES].u.i64;
  return BEAM_OK;
}

bool beam_etl_unit_key(const char *file_id, int64_t start, int64_t end, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s@%" PRId64 "-%" PRId64, file_id, start, end);
  return n > 0 && (size_t)n < cap;
}

bool beam_etl_unit_key_parse(const char *unit, size_t *id_len, int64_t *start, int64_t *end) {
  const char *at = unit ? strrchr(unit, '@') : NULL;
  if (!at) return false;
  char tail;
  if (sscanf(at + 1, "%" SCNd64 "-%" SCNd64 "%c", start, end, &tail) != 2) return false;
  *id_len = (size_t)(at - unit);
  return true;
}

void beam_etl_file_report_keep_none(beam_etl_file_report *r) {
  r->stats.v[BEAM_ETL_STAT_WRITTEN] = r->stats.v[BEAM_ETL_STAT_DEAD_LETTERED] = 0;
  r->stats.v[BEAM_ETL_STAT_FILTERED] = r->stats.v[BEAM_ETL_STAT_DEDUPLICATED] = 0;
}

beam_status beam_etl_files_check_accounted(const beam_etl_file_report *r, beam_error *err) {
  const int64_t *c = r->stats.v;
  int64_t accounted = c[BEAM_ETL_STAT_WRITTEN] + c[BEAM_ETL_STAT_DEAD_LETTERED] + c[BEAM_ETL_STAT_FILTERED] +
                      c[BEAM_ETL_STAT_DEDUPLICATED];
  if (accounted == c[BEAM_ETL_STAT_RECORDS]) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INTERNAL,
                        "%s: %lld records read but %lld accounted for (written %lld, dead-lettered %lld, "
                        "filtered %lld, deduplicated %lld)",
                        r->file, (long long)c[BEAM_ETL_STAT_RECORDS], (long long)accounted,
                        (long long)c[BEAM_ETL_STAT_WRITTEN], (long long)c[BEAM_ETL_STAT_DEAD_LETTERED],
                        (long long)c[BEAM_ETL_STAT_FILTERED], (long long)c[BEAM_ETL_STAT_DEDUPLICATED]);
}

static int by_file(const void *a, const void *b) {
  return strcmp(((const beam_etl_file_report *)a)->file, ((const beam_etl_file_report *)b)->file);
}

/* "FILE: changed while being read (its ranges saw A bytes, then B bytes)" in arena, the sizes
 * from the identities ("<size>-..."); a shorter text without memory. */
static const char *changed_error(beam_arena *arena, const char *file, const char *id_a, const char *id_b) {
  size_t cap = strlen(file) + 128;
  char *text = beam_arena_alloc(arena, cap);
  if (!text) return "changed while being read (its ranges saw other contents)";
  snprintf(text, cap, "%s: changed while being read (its ranges saw %lld bytes, then %lld bytes)", file,
           strtoll(id_a, NULL, 10), strtoll(id_b, NULL, 10));
  return text;
}

/* Folds each split file's range reports (adjacent after the sort) into one for the file. */
static void merge_ranges(beam_etl_report_index *ix, beam_arena *arena) {
  size_t out = 0;
  for (size_t i = 0; i < ix->n; i++) {
    beam_etl_file_report *r = &ix->items[i];
    size_t id_len;
    int64_t start, end;
    bool range = beam_etl_unit_key_parse(r->file_id, &id_len, &start, &end);
    if (range) ((char *)r->file_id)[id_len] = '\0'; /* the file's identity (the copy is the index's) */
    beam_etl_file_report *into = out ? &ix->items[out - 1] : NULL;
    if (range && into && strcmp(into->file, r->file) == 0) {
      beam_etl_stats_merge(&into->stats, &r->stats);
      into->ranges += end > start;
      if (strcmp(into->file_id, BEAM_ETL_UNIDENTIFIED) == 0) into->file_id = r->file_id;
      else if (strcmp(r->file_id, BEAM_ETL_UNIDENTIFIED) != 0 && strcmp(into->file_id, r->file_id) != 0 &&
               strcmp(into->status, BEAM_ETL_FILE_LOADED) == 0) { /* it changed between its ranges' reads */
        into->status = BEAM_ETL_FILE_FAILED, into->failed_late = true;
        into->error = changed_error(arena, into->file, into->file_id, r->file_id);
      }
      if (strcmp(r->status, BEAM_ETL_FILE_LOADED) != 0 && strcmp(into->status, BEAM_ETL_FILE_LOADED) == 0)
        into->status = r->status, into->error = r->error, into->failed_late = false;
      continue;
    }
    if (range) r->ranges = end > start;
    ix->items[out++] = *r;
  }
  ix->n = out;
}

/* A loaded report with an identity of its own, which another file may share. */
static bool identified(const beam_etl_file_report *r) {
  return r->file_id && r->file_id[0] && strcmp(r->file_id, BEAM_ETL_UNIDENTIFIED) != 0 &&
         strcmp(r->status, BEAM_ETL_FILE_LOADED) == 0;
}

static int by_identity_then_file(const void *a, const void *b) {
  const beam_etl_file_report *x = *(const beam_etl_file_report *const *)a, *y = *(const beam_etl_file_report *const *)b;
  int c = strcmp(x->file_id, y->file_id);
  return c ? c : strcmp(x->file, y->file);
}

/* Sets same_content_as on every loaded file whose identity a file before it by name has. */
static beam_status mark_same_content(beam_etl_report_index *ix, beam_arena *arena, beam_error *err) {
  if (ix->n < 2) return BEAM_OK;
  beam_etl_file_report **by_id = beam_arena_alloc(arena, ix->n * sizeof *by_id);
  if (!by_id) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < ix->n; i++)
    if (identified(&ix->items[i])) by_id[n++] = &ix->items[i];
  qsort(by_id, n, sizeof *by_id, by_identity_then_file);
  for (size_t i = 1; i < n; i++) {
    const beam_etl_file_report *before = by_id[i - 1];
    if (strcmp(by_id[i]->file_id, before->file_id) == 0)
      by_id[i]->same_content_as = before->same_content_as ? before->same_content_as : before->file;
  }
  return BEAM_OK;
}

beam_status beam_etl_report_index_load(beam_dofn_ctx *ctx, const char *name, beam_etl_report_index *ix,
                                       beam_error *err) {
  if (ix->loaded) return BEAM_OK;
  beam_arena *arena = beam_dofn_bundle_arena(ctx);
  const beam_value_list *list = NULL;
  ix->items = NULL;
  ix->n = 0;
  beam_status s = beam_dofn_side_input(ctx, name, &list, err);
  if (s != BEAM_OK) return s;
  if (!list || !list->len) return ix->loaded = true, BEAM_OK;
  ix->items = beam_arena_alloc(arena, list->len * sizeof *ix->items);
  if (!ix->items) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < list->len; i++) {
    const char *table, *file;
    beam_etl_row row;
    s = beam_etl_element_view(&list->items[i], NULL, arena, &table, &file, &row, err);
    if (s == BEAM_OK) s = beam_etl_files_row_read(&row, arena, &ix->items[ix->n], err);
    if (s != BEAM_OK) return s;
    ix->items[ix->n].file = file; /* the element's file, as rows and statistics name it */
    ix->n++;
  }
  qsort(ix->items, ix->n, sizeof *ix->items, by_file);
  merge_ranges(ix, arena);
  s = mark_same_content(ix, arena, err);
  ix->loaded = s == BEAM_OK;
  return s;
}

const beam_etl_file_report *beam_etl_report_index_find(const beam_etl_report_index *ix, const char *file) {
  if (!ix->n || !file) return NULL;
  beam_etl_file_report key = {.file = file};
  return bsearch(&key, ix->items, ix->n, sizeof *ix->items, by_file);
}
