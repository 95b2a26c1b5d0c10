/* Dedupe on a key field (spec "clean.dedupe_on"), as two DoFns around a CombinePerKey:
 *   "etl_dedupe_key"   element -> KV<key bytes, element> (key from the typed value, see
 *                      etl_dedupe.h, so "7" and "7.0" of an INT64 field agree)
 *   "etl_dedupe_pick"  KV<key, [KV<count, first element> per file]> (what the CombineFn
 *                      "etl_dedupe_first" folds, etl_combine_dedupe.c) -> the first element in
 *                      record order on "rows"; the others are counted per file and reported on
 *                      "stats" at the end of the bundle (not lost: _files.deduplicated counts them).
 * Dead letters travel the same way, each under a key of its own (byte 2, then its record
 * identity), so that DedupePick can drop every row and dead letter of a file that failed: its
 * side input "reports" holds each file's report (etl_dofn_read.c), and a failed file's
 * elements neither win a group nor count as duplicates. Nor do those of a file whose content
 * another file of the run has (beam_etl_file_report.same_content_as): that content loads once,
 * as the other file, and this one is already loaded (FilesRow counts it so).
 * An element crosses the shuffle without its record identity (file_id, the same long string
 * in every row of a file: a quarter of a row's bytes there): DedupeKey leaves it out (an empty
 * string) where the file's identity and the element's source make it again, and DedupePick
 * makes it again from the identity in the file's report before the element goes on.
 * Config: {"spec": {...}}. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "beam/transforms/etl_dedupe.h"
#include "beam/transforms/etl_table.h"
#include "etl_dofn_common.h"
#include "etl_files_row.h"
#include "etl_stats_map.h"

/* Views of elements whose header strings are kept across elements (etl_element.h): rows
 * come in runs of one file spread over a few tables, so most views copy no string. */
typedef struct element_views {
  beam_arena arena;
  beam_etl_view_cache cache;
} element_views;

enum { VIEWS_ARENA_MAX = 1 << 20 }; /* then the arena starts afresh, with the cache */

/* At the start of a process call (views made in an earlier call may go). */
static void views_begin(element_views *v) {
  if (v->arena.bytes_allocated > VIEWS_ARENA_MAX) {
    beam_arena_reset(&v->arena);
    v->cache = (beam_etl_view_cache){0};
  }
}

static beam_status view_element(element_views *v, const beam_value *element, const beam_etl_spec *spec,
                                const char **table, const char **file, beam_etl_row *row, beam_error *err) {
  return beam_etl_element_view_cached(element, spec, &v->arena, &v->cache, table, file, row, err);
}

static void views_free(element_views *v) { beam_arena_free(&v->arena); }

typedef struct key_state {
  beam_etl_spec *spec;
  beam_buf key;
  element_views views;
} key_state;

static beam_status key_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  key_state *st = state;
  beam_status s = beam_etl_spec_from_config(beam_dofn_config(ctx), &st->spec, err);
  if (s == BEAM_OK && st->spec->dedupe_field < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_dedupe_key: the spec has no clean.dedupe_on");
  return s;
}

/* A key no value key equals (those start with byte 0 or 1): the record's identity, and the
 * file it was read from, since two inputs may have the same content (the same identity). */
static beam_status dead_letter_key(const beam_etl_row *row, const char *file, beam_buf *key) {
  char text[64];
  const char *id = row->origin.file_id ? row->origin.file_id : (row->origin.source ? row->origin.source : "");
  snprintf(text, sizeof text, "@%lld:%lld", (long long)row->origin.offset, (long long)row->origin.line);
  beam_buf_reset(key);
  beam_status s = beam_buf_append_byte(key, 2);
  if (s == BEAM_OK) s = beam_buf_append(key, file, strlen(file) + 1);
  if (s == BEAM_OK) s = beam_buf_append(key, id, strlen(id));
  return s == BEAM_OK ? beam_buf_append(key, text, strlen(text)) : s;
}

/* The element's header item i as bytes (NULL when it is not a string). */
static const beam_bytes *header_string(const beam_value *element, size_t i) {
  const beam_value *h = &element->u.list.items[i];
  return h->kind == BEAM_VALUE_STRING ? &h->u.bytes : NULL;
}

/* The member of the element's archive its source names (NULL: the file itself). */
static const char *element_member(const beam_value *element, size_t *len) {
  const beam_bytes *file = header_string(element, 1), *source = header_string(element, 2);
  return beam_etl_source_member((const char *)file->data, file->len, source ? (const char *)source->data : NULL,
                                source ? source->len : 0, len);
}

/* element without its file_id (header item 6: "") when beam_etl_record_file_id makes it again
 * from the file's identity: it is the identity itself, or ends in "!<member>". In a. */
static const beam_value *slim_element(beam_arena *a, const beam_value *element) {
  const beam_bytes *file_id = header_string(element, 6);
  if (!file_id || !file_id->len || !header_string(element, 1)) return element;
  size_t len, n = element->u.list.len;
  const char *member = element_member(element, &len);
  if (member && (file_id->len <= len + 1 || file_id->data[file_id->len - len - 1] != '!' ||
                 memcmp(file_id->data + file_id->len - len, member, len) != 0))
    return element;
  beam_value *items = beam_arena_alloc(a, n * sizeof *items), *slim = beam_arena_alloc(a, sizeof *slim);
  if (!items || !slim) return element; /* no memory: the element whole */
  memcpy(items, element->u.list.items, n * sizeof *items);
  items[6] = beam_value_string("", 0);
  *slim = (beam_value){.kind = BEAM_VALUE_ROW, .u.list = {items, n}};
  return slim;
}

/* The dedupe key of a routed row whose key value is not NULL (most rows): from its table's
 * schema and values alone, no header strings read. false: another kind of element. */
static bool value_key(key_state *st, const beam_value *element, const char *table, const beam_etl_schema *schema,
                      beam_status *s) {
  if (strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) == 0) return false;
  int at = beam_etl_table_field_index(st->spec, schema, st->spec->dedupe_field);
  beam_etl_row row = {.schema = schema, .values = element->u.list.items + BEAM_ETL_ELEMENT_HEADER};
  if (at < 0 || row.values[at].kind == BEAM_VALUE_NULL) return false; /* keyed by its origin */
  *s = beam_etl_dedupe_key(st->spec, &row, &st->key);
  return true;
}

static beam_status key_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  key_state *st = state;
  const char *table, *file;
  const beam_etl_schema *schema;
  beam_etl_row row;
  views_begin(&st->views);
  beam_status s =
      beam_etl_element_table_cached(elem->value, st->spec, &st->views.arena, &st->views.cache, &table, &schema, err);
  if (s != BEAM_OK) return s;
  if (!value_key(st, elem->value, table, schema, &s)) {
    s = view_element(&st->views, elem->value, st->spec, &table, &file, &row, err);
    if (s != BEAM_OK) return s;
    s = strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) == 0 ? dead_letter_key(&row, file, &st->key)
                                                        : beam_etl_dedupe_key(st->spec, &row, &st->key);
  }
  if (s != BEAM_OK) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_value key = beam_value_bytes(st->key.data, st->key.len);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, (beam_value *)slim_element(beam_dofn_scratch(ctx), elem->value)}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}

static void key_teardown(void *state) {
  key_state *st = state;
  beam_etl_spec_free(st->spec);
  beam_buf_free(&st->key);
  views_free(&st->views);
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
  int c_dropped, c_failed_dropped;
  beam_etl_stats_map dropped; /* per file, this bundle */
  beam_etl_report_index reports; /* side input "reports", loaded once per bundle */
  element_views views;
  beam_buf last_file; /* NUL-terminated: the file of the last lone element, and its report */
  const beam_etl_file_report *last_report;
} pick_state;

static beam_status pick_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  pick_state *st = state;
  beam_status s = beam_etl_spec_from_config(beam_dofn_config(ctx), &st->spec, err);
  if (s == BEAM_OK) s = beam_etl_output(ctx, "rows", &st->out_rows, err);
  if (s == BEAM_OK) s = beam_etl_output(ctx, "stats", &st->out_stats, err);
  st->c_dropped = beam_dofn_declare_counter(ctx, "deduplicated");
  st->c_failed_dropped = beam_dofn_declare_counter(ctx, "failed_dropped");
  return s;
}

static beam_status pick_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  pick_state *st = state;
  beam_etl_stats_map_free(&st->dropped); /* left over by a failed bundle */
  st->reports.loaded = false;
  beam_buf_reset(&st->last_file); /* its report was the last bundle's */
  return BEAM_OK;
}

/* The report of file (NULL: none, the file loaded), looked up once per run of its elements. */
static beam_status lone_file_report(pick_state *st, const beam_bytes *file, const beam_etl_file_report **rep,
                                    beam_error *err) {
  beam_buf *last = &st->last_file;
  if (last->len != file->len + 1 || memcmp(last->data, file->data, file->len) != 0) {
    beam_buf_reset(last);
    if (beam_buf_append(last, file->data, file->len) != BEAM_OK || beam_buf_append_byte(last, 0) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    st->last_report = beam_etl_report_index_find(&st->reports, (const char *)last->data);
  }
  *rep = st->last_report;
  return BEAM_OK;
}

/* element as it goes on: its file_id made again (slim_element) from the identity in the
 * file's report rep, in a. */
static beam_status restore_file_id(beam_arena *a, const beam_value *element, const beam_etl_file_report *rep,
                                   const beam_value **out, beam_error *err) {
  *out = element;
  const beam_bytes *file_id = header_string(element, 6);
  if (!file_id || file_id->len) return BEAM_OK;
  const char *identity = rep ? rep->file_id : NULL;
  if (!identity || !identity[0] || strcmp(identity, BEAM_ETL_UNIDENTIFIED) == 0) {
    const beam_bytes *file = header_string(element, 1);
    return beam_error_set(err, BEAM_ERR_INTERNAL, "etl_dedupe_pick: %.*s has no report with its identity",
                          (int)file->len, (const char *)file->data);
  }
  size_t len, n = element->u.list.len, id_len = strlen(identity);
  const char *member = element_member(element, &len);
  char *id = beam_arena_alloc(a, id_len + (member ? len + 1 : 0) + 1);
  beam_value *items = beam_arena_alloc(a, n * sizeof *items), *whole = beam_arena_alloc(a, sizeof *whole);
  if (!id || !items || !whole) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  memcpy(id, identity, id_len);
  if (member) id[id_len] = '!', memcpy(id + id_len + 1, member, len), id_len += len + 1;
  id[id_len] = '\0';
  memcpy(items, element->u.list.items, n * sizeof *items);
  items[6] = beam_value_string(id, id_len);
  *whole = (beam_value){.kind = BEAM_VALUE_ROW, .u.list = {items, n}};
  *out = whole;
  return BEAM_OK;
}

/* A key with one row (its group that element, or a single entry of count 1): no order to
 * judge and no duplicate to count, so the element is passed on without a view; most keys of
 * a dedupe are such. false: not such a group. */
static bool pick_lone(pick_state *st, beam_dofn_ctx *ctx, const beam_value *group, beam_status *s, beam_error *err) {
  const beam_value *element = group;
  if (group->kind == BEAM_VALUE_LIST) {
    const beam_value *e = group->u.list.len == 1 ? &group->u.list.items[0] : NULL;
    if (!e || e->kind != BEAM_VALUE_KV || e->u.kv.key->kind != BEAM_VALUE_INT64 || e->u.kv.key->u.i64 != 1)
      return false;
    element = e->u.kv.value;
  }
  if (element->kind != BEAM_VALUE_ROW || element->u.list.len < BEAM_ETL_ELEMENT_HEADER ||
      element->u.list.items[1].kind != BEAM_VALUE_STRING)
    return false;
  const beam_etl_file_report *rep = NULL;
  if ((*s = lone_file_report(st, &element->u.list.items[1].u.bytes, &rep, err)) != BEAM_OK) return true;
  if (rep && strcmp(rep->status, BEAM_ETL_FILE_LOADED) != 0) {
    beam_dofn_counter_add(ctx, st->c_failed_dropped, 1);
    return true;
  }
  if (rep && rep->same_content_as) return true; /* loaded as that file */
  const beam_value *whole;
  if ((*s = restore_file_id(beam_dofn_scratch(ctx), element, rep, &whole, err)) == BEAM_OK)
    *s = beam_dofn_emit(ctx, st->out_rows, whole, err);
  return true;
}

/* Input: KV<key, the etl_dedupe_first accumulator: a LIST of KV<INT64 count, first element>,
 * one per file, or a key's lone element>. The kept row is the first of the files that
 * loaded; every other row of those files counts as a duplicate of its own file. */
static beam_status pick_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  pick_state *st = state;
  beam_arena *a = beam_dofn_scratch(ctx);
  const beam_value *group = elem->value->kind == BEAM_VALUE_KV ? elem->value->u.kv.value : NULL;
  if (!group || (group->kind != BEAM_VALUE_ROW && (group->kind != BEAM_VALUE_LIST || group->u.list.len == 0)))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_dedupe_pick expects KV<key, element or non-empty list>");
  beam_status loaded = beam_etl_report_index_load(ctx, "reports", &st->reports, err);
  if (loaded != BEAM_OK) return loaded;
  if (pick_lone(st, ctx, group, &loaded, err)) return loaded;
  if (group->kind != BEAM_VALUE_LIST)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_dedupe_pick: not an ETL element");
  views_begin(&st->views);
  size_t n = group->u.list.len, best = SIZE_MAX;
  int64_t kept = 0, failed = 0;
  beam_etl_row *rows = beam_arena_alloc(a, n * sizeof *rows);
  const char **files = beam_arena_alloc(a, n * sizeof *files);
  bool *dropped = beam_arena_calloc(a, n, sizeof *dropped);
  if (!rows || !files || !dropped) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  const beam_value *entries = group->u.list.items;
  const beam_etl_file_report *best_report = NULL;
  for (size_t i = 0; i < n; i++) {
    if (entries[i].kind != BEAM_VALUE_KV || entries[i].u.kv.key->kind != BEAM_VALUE_INT64)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_dedupe_pick expects KV<count, element> entries");
    const char *table;
    beam_status s = view_element(&st->views, entries[i].u.kv.value, st->spec, &table, &files[i], &rows[i], err);
    if (s != BEAM_OK) return s;
    const beam_etl_file_report *rep = beam_etl_report_index_find(&st->reports, files[i]);
    if ((dropped[i] = rep && strcmp(rep->status, BEAM_ETL_FILE_LOADED) != 0)) {
      failed += entries[i].u.kv.key->u.i64;
      continue;
    }
    if ((dropped[i] = rep && rep->same_content_as)) continue; /* its rows load as that file's */
    kept += entries[i].u.kv.key->u.i64;
    if (best == SIZE_MAX || beam_etl_row_order_compare(&rows[i], &rows[best]) < 0) best = i, best_report = rep;
  }
  /* Counted for the summary's accounting: ReadAndProcess's emitted_by_failed is the part of
   * these its records do not count (what failed ranges and files sent before they failed). */
  beam_dofn_counter_add(ctx, st->c_failed_dropped, failed);
  if (best == SIZE_MAX) return BEAM_OK; /* every element came from failed files */
  for (size_t i = 0; i < n; i++) {
    int64_t duplicates = entries[i].u.kv.key->u.i64 - (i == best);
    if (dropped[i] || duplicates == 0) continue;
    beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->dropped, files[i]);
    if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    fs->v[BEAM_ETL_STAT_DEDUPLICATED] += duplicates;
  }
  beam_dofn_counter_add(ctx, st->c_dropped, kept - 1);
  const beam_value *whole;
  beam_status s = restore_file_id(a, entries[best].u.kv.value, best_report, &whole, err);
  return s == BEAM_OK ? beam_dofn_emit(ctx, st->out_rows, whole, err) : s;
}

static beam_status pick_finish(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  pick_state *st = state;
  return beam_etl_stats_map_drain(&st->dropped, ctx, st->out_stats, err);
}

static void pick_teardown(void *state) {
  pick_state *st = state;
  beam_etl_spec_free(st->spec);
  beam_etl_stats_map_free(&st->dropped);
  views_free(&st->views);
  beam_buf_free(&st->last_file);
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
