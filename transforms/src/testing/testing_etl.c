/* The file ETL's outcomes as assertions (beam/testing_etl.h): small DoFns turn the written ETL
 * elements into strings (the table of each row; each dead letter as "source:line: stage:
 * error"; each _files row's counts), and the kit's ordinary assertions compare those. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/testing_etl.h"
#include "beam/coder.h"
#include "beam/dofn.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_types.h"

enum { ETL_FILES_NAME = 0, ETL_FILES_RECORDS = 2, ETL_FILES_DEDUPLICATED = 6 };

static bool text_at(const beam_value *v, size_t i, beam_bytes *out) {
  if (v->kind != BEAM_VALUE_ROW || i >= v->u.list.len || v->u.list.items[i].kind != BEAM_VALUE_STRING) return false;
  *out = v->u.list.items[i].u.bytes;
  return true;
}

static int64_t int_at(const beam_value *v, size_t i) {
  return i < v->u.list.len && v->u.list.items[i].kind == BEAM_VALUE_INT64 ? v->u.list.items[i].u.i64 : 0;
}

static beam_status emit_text(beam_dofn_ctx *ctx, const char *text, beam_error *err) {
  beam_value s = beam_value_string(text, strlen(text));
  return beam_dofn_emit(ctx, 0, &s, err);
}

/* "dir/a.zip!m.csv" -> "a.zip!m.csv": the base name of the file part, the member as it is. */
static void base_source(const beam_bytes *src, char *buf, size_t cap) {
  snprintf(buf, cap, "%.*s", (int)src->len, (const char *)src->data);
  char *bang = strchr(buf, '!');
  size_t file_end = bang ? (size_t)(bang - buf) : strlen(buf);
  size_t start = file_end;
  while (start > 0 && buf[start - 1] != '/') start--;
  memmove(buf, buf + start, strlen(buf + start) + 1);
}

static beam_status table_of_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  beam_bytes table;
  if (!text_at(elem->value, 0, &table)) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "not an ETL element");
  if (table.len == strlen(BEAM_ETL_FILES_TABLE) && memcmp(table.data, BEAM_ETL_FILES_TABLE, table.len) == 0)
    return BEAM_OK; /* a file's report travels with its rows: not a routed row */
  beam_value s = beam_value_string((const char *)table.data, table.len);
  return beam_dofn_emit(ctx, 0, &s, err);
}

static beam_status dead_letter_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  const beam_value *v = elem->value;
  beam_bytes table, source, error, stage;
  if (!text_at(v, 0, &table)) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "not an ETL element");
  if (table.len != strlen(BEAM_ETL_DEAD_LETTER_TABLE) || memcmp(table.data, BEAM_ETL_DEAD_LETTER_TABLE, table.len) != 0)
    return BEAM_OK;
  const size_t h = BEAM_ETL_ELEMENT_HEADER; /* then source, line, raw, error, stage */
  if (!text_at(v, h, &source) || !text_at(v, h + 3, &error) || !text_at(v, h + 4, &stage))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "malformed dead letter element");
  char src[1024];
  base_source(&source, src, sizeof src);
  size_t cap = sizeof src + error.len + stage.len + 64;
  char *text = beam_arena_alloc(beam_dofn_scratch(ctx), cap);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  snprintf(text, cap, "%s:%" PRId64 ": %.*s: %.*s", src, int_at(v, h + 1), (int)stage.len, (const char *)stage.data,
           (int)error.len, (const char *)error.data);
  return emit_text(ctx, text, err);
}

static void file_counts_text(const char *name, const int64_t *c, char *buf, size_t cap) {
  snprintf(buf, cap, "%s: records=%" PRId64 " written=%" PRId64 " dead_lettered=%" PRId64 " filtered=%" PRId64
           " deduplicated=%" PRId64, name, c[0], c[1], c[2], c[3], c[4]);
}

static beam_status file_counts_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state;
  const beam_value *v = elem->value;
  beam_bytes name;
  const size_t h = BEAM_ETL_ELEMENT_HEADER;
  if (!text_at(v, h + ETL_FILES_NAME, &name)) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "malformed _files element");
  char base[1024], text[1400];
  base_source(&name, base, sizeof base);
  int64_t counts[5];
  for (size_t i = 0; i < 5; i++) counts[i] = int_at(v, h + ETL_FILES_RECORDS + i);
  file_counts_text(base, counts, text, sizeof text);
  return emit_text(ctx, text, err);
}

static const beam_dofn_def table_of_dofn = {.name = "beam_test_etl_table_of", .process = table_of_process};
static const beam_dofn_def dead_letter_dofn = {.name = "beam_test_etl_dead_letter", .process = dead_letter_process};
static const beam_dofn_def file_counts_dofn = {.name = "beam_test_etl_file_counts", .process = file_counts_process};

/* The ETL's DoFns and the ones above, in the launcher (local runner) and in a worker. */
static beam_status register_fns(void) {
  beam_status s = beam_etl_register_fns();
  if (s == BEAM_OK) s = beam_dofn_register(&table_of_dofn);
  if (s == BEAM_OK) s = beam_dofn_register(&dead_letter_dofn);
  if (s == BEAM_OK) s = beam_dofn_register(&file_counts_dofn);
  return s;
}

bool beam_test_etl_worker(int argc, char **argv, int *exit_code) {
  if (register_fns() != BEAM_OK) {
    fprintf(stderr, "beam test worker: cannot register the ETL functions\n");
    *exit_code = 1;
    return true;
  }
  return beam_test_worker(argc, argv, exit_code);
}

/* --- construction ------------------------------------------------------------------------- */

beam_status beam_test_etl_build(beam_test *t, const beam_etl_file_pipeline_config *cfg,
                                beam_etl_file_pipeline_outputs *out) {
  memset(out, 0, sizeof *out);
  if (beam_test_failed(t)) return BEAM_ERR_INVALID_ARG;
  if (register_fns() != BEAM_OK) return beam_test_fail(t, BEAM_ERR_NOMEM, "file ETL: cannot register its DoFns");
  beam_error err = {0};
  beam_status s = beam_etl_file_pipeline_build_outputs(beam_test_pipeline(t), cfg, out, &err);
  return s == BEAM_OK ? s : beam_test_fail(t, s, "file ETL: %s", err.message);
}

/* NAME/Strings: the ETL elements of pc rendered as strings by dofn. */
static beam_pcollection *as_strings(beam_test *t, beam_pcollection *pc, const char *name, const char *dofn) {
  if (beam_test_failed(t)) return NULL;
  if (!pc) return beam_test_fail(t, BEAM_ERR_INVALID_ARG, "assert \"%s\": build the ETL with beam_test_etl_build first", name), NULL;
  char full[512];
  snprintf(full, sizeof full, "%s/Strings", name ? name : "?");
  beam_pipeline *p = beam_test_pipeline(t);
  beam_test_next_subject(t, beam_pcollection_name(pc)); /* reports name the ETL's own PCollection */
  return beam_pardo1(p, full, pc, dofn, NULL, beam_coder_spec_string(p));
}

beam_status beam_assert_etl_tables(beam_test *t, const beam_etl_file_pipeline_outputs *out, const char *name,
                                   const beam_test_etl_table *tables, size_t n) {
  beam_pcollection *names = as_strings(t, out->rows, name, "beam_test_etl_table_of");
  beam_value *v = calloc(n ? n : 1, sizeof *v);
  int64_t *counts = calloc(n ? n : 1, sizeof *counts);
  beam_status s = v && counts ? BEAM_OK : beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    v[i] = beam_value_string(tables[i].table, strlen(tables[i].table));
    counts[i] = tables[i].rows;
  }
  if (s == BEAM_OK) s = beam_assert_counts(t, names, name, v, counts, n);
  free(v);
  free(counts);
  return s;
}

beam_status beam_assert_etl_dead_letters(beam_test *t, const beam_etl_file_pipeline_outputs *out, const char *name,
                                         const char *const *expected, size_t n) {
  return beam_assert_equal_strings(t, as_strings(t, out->rows, name, "beam_test_etl_dead_letter"), name, expected, n);
}

beam_status beam_assert_etl_files(beam_test *t, const beam_etl_file_pipeline_outputs *out, const char *name,
                                  const beam_test_etl_file *files, size_t n) {
  char **texts = calloc(n ? n : 1, sizeof *texts);
  beam_status s = texts ? BEAM_OK : beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    const beam_test_etl_file *f = &files[i];
    const int64_t c[5] = {f->records, f->written, f->dead_lettered, f->filtered, f->deduplicated};
    texts[i] = malloc(1400);
    if (!texts[i]) s = beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory");
    else file_counts_text(f->name ? f->name : "", c, texts[i], 1400);
  }
  if (s == BEAM_OK)
    s = beam_assert_equal_strings(t, as_strings(t, out->files, name, "beam_test_etl_file_counts"), name,
                                  (const char *const *)texts, n);
  for (size_t i = 0; texts && i < n; i++) free(texts[i]);
  free(texts);
  return s;
}
