/* DoFn "etl_read": one input file in, every record out as exactly one of
 *   "rows"  an ETL element routed to its table,
 *   "dead"  an ETL element for _dead_letter (parse / validate / route failures),
 *   a filtered count,
 * and at the end of the file one "stats" element with the file's counts and the file's
 * report: a _files row with what this stage knows (status "loaded" or "failed", the error,
 * the file identity, the counts). With config "units" the report goes on "rows" after the
 * file's last row, in the same bundle, so the writer downstream (fused) sees where the unit
 * ends and commits it with its _files row (dead letters go on "rows" too: outputs "rows" and
 * "stats" only); otherwise it goes on "reports" (a side input of the stages after a
 * GroupByKey).
 *
 * A file that cannot be read as a whole (missing, corrupt archive, a JSON array document,
 * truncated gzip, a CSV header without the schema's fields, hard validation) is not a failed
 * run: its report says "failed" with the error, and the writer drops the rows it emitted.
 * Only running out of memory or an internal error fails the bundle.
 *
 * The file's identity (file_identity.h) is taken when it is opened; every record carries it
 * with its byte offset, the record's identity at any relaunch.
 *
 * A splittable DoFn (beam/dofn.h): the input is KV<index, file name> from ListFiles, the
 * restriction either [-1, 0), the whole file read as one unit (one process() call, as every
 * file was before splitting), or a byte range [start, end) of a file split by "split_size"
 * (see "Splitting" below). A range's records are those that start in it (byte_ranges.h); each
 * is claimed at its offset before it is processed, so a runner's split mid-range hands the
 * rest to another bundle. A range's report is the file's report for that range, its file_id
 * the range's unit (beam_etl_unit_key), and its size counted by the range at offset 0 only,
 * so that summed reports give the file. Records stream through a per-record arena, so
 * memory stays flat whatever the file size. In hard validation mode the first record that
 * would be dead-lettered fails the file. A failure downstream (the fused writer's sink) comes
 * back through an emit: that one fails the bundle with its own message, never the file.
 *
 * Config: {"spec": {...}, "spec_name": "...", "progress": "auto"|"on"|"off", "units": bool,
 * "runner": "local", "split_size": bytes (0 never splits, -1 auto), "parallelism": threads
 * (what auto aims to keep busy locally)}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "beam/log.h"
#include "beam/progress.h"
#include "beam/transforms/byte_ranges.h"
#include "beam/transforms/etl_process.h"
#include "beam/transforms/etl_stream.h"
#include "beam/transforms/file_identity.h"
#include "beam/transforms/input.h"
#include "etl_bad_tally.h"
#include "etl_dofn_common.h"
#include "etl_files_row.h"
#include "etl_identity_cache.h"
#include "etl_test_hooks.h"

typedef struct read_state {
  beam_etl_spec *spec;
  beam_input_options input_options;
  const char *progress_mode;
  int out_rows, out_dead, out_stats, out_reports;
  int c_records, c_dead, c_filtered, c_bytes, c_failed, c_empty_null;
  int c_emitted_failed; /* with dedupe: rows and dead letters a file emitted before it failed */
  const char *runner;
  int64_t split_size;  /* config: bytes, 0 never, -1 auto */
  int64_t parallelism; /* config: threads auto keeps busy on the local runner */
  bool units;          /* no GroupByKey after the read: each range is committed on its own */
  beam_arena record_arena;
} read_state;

static beam_status read_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  read_state *st = state;
  const json_t *config = beam_dofn_config(ctx);
  beam_status s = beam_etl_spec_from_config(config, &st->spec, err);
  if (s == BEAM_OK) s = beam_etl_spec_check_files(st->spec, err); /* a file has no message fields */
  if (s == BEAM_OK) s = beam_etl_output(ctx, "rows", &st->out_rows, err);
  st->units = json_is_true(json_object_get(config, "units"));
  if (s == BEAM_OK && !st->units) s = beam_etl_output(ctx, "dead", &st->out_dead, err);
  if (s == BEAM_OK) s = beam_etl_output(ctx, "stats", &st->out_stats, err);
  if (s == BEAM_OK && !st->units) {
    s = beam_etl_output(ctx, "reports", &st->out_reports, err);
  } else {
    /* One output for the unit: its rows, dead letters and report in order, so that no runner
     * needs a Flatten between the read and the writer (Prism does not fuse one after a
     * splittable DoFn: the writer would see a unit's elements in several bundles). */
    st->out_dead = st->out_reports = st->out_rows;
  }
  if (s != BEAM_OK) return s;
  st->runner = beam_etl_config_string(config, "runner", "local");
  const json_t *split = json_object_get(config, "split_size");
  st->split_size = json_is_integer(split) ? json_integer_value(split) : 0;
  st->parallelism = json_integer_value(json_object_get(config, "parallelism"));
  if (st->parallelism < 1) st->parallelism = 1;
  beam_input_options_init(&st->input_options);
  if (st->spec->format == BEAM_ETL_FORMAT_CSV) st->input_options.format = BEAM_INPUT_FORMAT_CSV;
  if (st->spec->format == BEAM_ETL_FORMAT_JSONL) st->input_options.format = BEAM_INPUT_FORMAT_JSONL;
  st->input_options.csv.delimiter = st->spec->csv.delimiter;
  st->input_options.csv.quote = st->spec->csv.quote ? st->spec->csv.quote : '"';
  st->input_options.csv.no_quoting = st->spec->csv.quote == '\0';
  st->input_options.csv.header = st->spec->csv.header;
  st->progress_mode = beam_etl_config_string(config, "progress", "auto");
  st->c_records = beam_dofn_declare_counter(ctx, "records");
  st->c_dead = beam_dofn_declare_counter(ctx, "dead_lettered");
  st->c_filtered = beam_dofn_declare_counter(ctx, "filtered");
  st->c_bytes = beam_dofn_declare_counter(ctx, "bytes_read");
  st->c_failed = beam_dofn_declare_counter(ctx, "files_failed");
  st->c_empty_null = beam_dofn_declare_counter(ctx, "empty_as_null");
  st->c_emitted_failed = beam_dofn_declare_counter(ctx, "emitted_by_failed");
  return BEAM_OK;
}

typedef struct file_run {
  read_state *st;
  const char *path;
  int64_t file_index;     /* its place in input order */
  beam_offset_range range; /* the restriction: [-1, 0) the whole file, else a byte range */
  beam_dofn_ctx *ctx;
  beam_etl_file_stats stats;
  beam_file_identity identity;
  const char *id_source; /* the record source record_id was found for (sources live until close) */
  const char *record_id; /* its identity: identity.id, or member_id */
  char *member_id;       /* "<file identity>!<member>" for records of a ZIP member */
  beam_etl_bad_tally bad; /* the file's dead letters by kind, for the guard rails */
  uint64_t empty_to_null; /* empty strings read as NULL */
  bool downstream_failed;  /* an emit failed: the error is the run's, not the file's */
  int64_t emitted;         /* rows and dead letters sent on */
} file_run;

/* The identity records of this source carry: the file's, or for a ZIP member
 * ("archive.zip!member.csv") the file's and the member's name, since member offsets each start
 * at 0. Made once per member. */
static const char *record_file_id(file_run *r, const char *source) {
  if (source && source == r->id_source) return r->record_id; /* the hot path: same source as before */
  size_t member_len;
  if (!beam_etl_source_member(r->path, strlen(r->path), source, source ? strlen(source) : 0, &member_len)) {
    r->id_source = source;
    return r->record_id = r->identity.id;
  }
  size_t len = beam_etl_record_file_id(NULL, 0, r->identity.id, r->path, source) + 1;
  char *id = malloc(len);
  if (!id) return NULL;
  beam_etl_record_file_id(id, len, r->identity.id, r->path, source);
  free(r->member_id);
  r->member_id = id;
  r->id_source = source;
  return r->record_id = id;
}

/* The file's identity: named by the opened source when its backend has one (a gs:// object's
 * metadata, no second request), else a hash of the file read beside the input. That read
 * comes after the open: a file whose size changed in between would give its records another
 * content's identity, so it fails here (a rewrite of the same size shows at the next run). */
static beam_status identify(file_run *r, const beam_input *in, beam_error *err) {
  const beam_byte_source *src = beam_input_source(in);
  if (src && src->identity) return beam_file_identity_from_source(src, &r->identity, err);
  /* A range hashes the whole file once per process, not once per range. */
  beam_status s = r->range.start >= 0 ? beam_etl_identity_cached(r->path, &r->identity, err)
                                      : beam_file_identity_of(r->path, &r->identity, err);
  beam_input_stats is;
  beam_input_get_stats(in, &is);
  if (s != BEAM_OK || is.size < 0 || is.size == r->identity.size) return s;
  return beam_error_set(err, BEAM_ERR_IO, "%s: changed while being read (%lld bytes, then %lld)", r->path,
                        (long long)is.size, (long long)r->identity.size);
}

static beam_status emit_element(file_run *r, int output, const char *table, const beam_etl_row *row,
                                bool with_raw, beam_error *err) {
  beam_value v;
  if (beam_etl_element_make(&r->st->record_arena, table, r->path, row, with_raw, &v) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_dofn_emit(r->ctx, output, &v, err);
  if (s != BEAM_OK) r->downstream_failed = true;
  else r->emitted++;
  return s;
}

/* The file fails its guard rails: the error names the limit and the most frequent error. */
static beam_status too_many_bad(file_run *r, const char *limit, double value, const char *unit, beam_error *err) {
  const beam_etl_bad_kind *top = beam_etl_bad_tally_top(&r->bad);
  return beam_error_set(err, BEAM_ERR_USER,
                        "%s: %lld of %lld records bad, %s (%g%s); most frequent (%lld): %s", r->path,
                        (long long)r->stats.v[BEAM_ETL_STAT_DEAD_LETTERED], (long long)r->stats.v[BEAM_ETL_STAT_RECORDS],
                        limit, value, unit, top ? (long long)top->n : 0LL, top ? top->example : "");
}

/* At the end of a file read whole: the ratio guard rail, or a warning for a mostly bad file. */
static beam_status check_bad_ratio(file_run *r, beam_error *err) {
  int64_t bad = r->stats.v[BEAM_ETL_STAT_DEAD_LETTERED], records = r->stats.v[BEAM_ETL_STAT_RECORDS];
  double ratio = r->st->spec->validate.max_bad_ratio;
  if (!records || !bad) return BEAM_OK;
  if (ratio >= 0 && (double)bad > ratio * (double)records)
    return too_many_bad(r, "more than validate.max_bad_ratio", ratio * 100, "%", err);
  const beam_etl_bad_kind *top = beam_etl_bad_tally_top(&r->bad);
  if (ratio < 0 && r->st->spec->validate.max_bad_records < 0 && bad * 2 > records && top)
    beam_log(BEAM_LOG_WARN, "%s: %lld of %lld records dead-lettered; most frequent (%lld): %s", r->path, (long long)bad,
             (long long)records, (long long)top->n, top->example);
  return BEAM_OK;
}

/* A record that failed: fatal in hard mode, a dead letter otherwise. */
static beam_status reject(file_run *r, const beam_etl_origin *origin, const char *stage, const char *error,
                          beam_error *err) {
  if (r->st->spec->validate.hard)
    return beam_error_set(err, BEAM_ERR_USER, "%s:%lld: %s: %s (validate.mode is hard: nothing of this file is loaded)",
                          origin->source, (long long)origin->line, stage, error);
  beam_etl_row dl;
  if (beam_etl_dead_letter_row(origin, error, stage, &r->st->record_arena, &dl) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  r->stats.v[BEAM_ETL_STAT_DEAD_LETTERED]++;
  beam_etl_bad_tally_add(&r->bad, stage, error);
  int64_t max = r->st->spec->validate.max_bad_records;
  if (max >= 0 && r->stats.v[BEAM_ETL_STAT_DEAD_LETTERED] > max)
    return too_many_bad(r, "more than validate.max_bad_records", (double)max, "", err);
  return emit_element(r, r->st->out_dead, BEAM_ETL_DEAD_LETTER_TABLE, &dl, false, err);
}

static beam_status handle_record(file_run *r, beam_etl_record *rec, beam_error *err) {
  beam_etl_outcome o;
  beam_status s = beam_etl_process_record(r->st->spec, rec, &r->st->record_arena, &o);
  if (s != BEAM_OK) return beam_error_set(err, s, "%s:%lld: processing failed", rec->origin.source,
                                          (long long)rec->origin.line);
  r->empty_to_null += o.empty_to_null;
  switch (o.kind) {
    case BEAM_ETL_OUTCOME_ROW: return emit_element(r, r->st->out_rows, o.table, &o.row, false, err);
    case BEAM_ETL_OUTCOME_FILTERED: r->stats.v[BEAM_ETL_STAT_FILTERED]++; return BEAM_OK;
    case BEAM_ETL_OUTCOME_DEAD_LETTER:
    case BEAM_ETL_OUTCOME_HARD_FAIL: return reject(r, &rec->origin, o.stage, o.error, err);
  }
  return BEAM_OK;
}

static beam_status read_file(file_run *r, beam_input *in, const char *path, beam_error *err) {
  read_state *st = r->st;
  beam_progress progress;
  /* A file's bar; ranges read in parallel would draw over each other. */
  beam_progress_start(&progress, path, r->range.start < 0 ? st->progress_mode : "off");
  beam_input_stats is;
  beam_status s = BEAM_OK;
  int64_t claimed = -1; /* the position claimed last: a ZIP member's records share their member's */
  for (;;) {
    beam_arena_reset(&st->record_arena);
    beam_etl_record rec;
    beam_read_result res;
    beam_etl_parse_error perr;
    s = beam_input_next(in, &st->record_arena, &rec, &res, &perr, err);
    if (s != BEAM_OK) break;
    /* A range claims each record at its position (its offset; in a ZIP its member's local
     * header, claimed once per member): false when a split gave it to another bundle. At the
     * end of the data the claim past any offset marks the range done. */
    int64_t at = res == BEAM_READ_EOF ? INT64_MAX : beam_etl_origin_position(&rec.origin);
    if (r->range.start >= 0 && at != claimed) {
      if (!beam_dofn_try_claim(r->ctx, at)) break;
      claimed = at;
    }
    if (res == BEAM_READ_EOF) break;
    rec.origin.file_index = r->file_index;
    if (!(rec.origin.file_id = record_file_id(r, rec.origin.source))) {
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      break;
    }
    r->stats.v[BEAM_ETL_STAT_RECORDS]++;
    s = res == BEAM_READ_BAD_RECORD ? reject(r, &rec.origin, BEAM_ETL_STAGE_PARSE, perr.message, err)
                                    : handle_record(r, &rec, err);
    if (s != BEAM_OK) break;
    if ((r->stats.v[BEAM_ETL_STAT_RECORDS] & 4095) == 0 && progress.enabled) {
      beam_input_get_stats(in, &is);
      beam_progress_update(&progress, is.records, is.bytes_read, is.size);
    }
  }
  beam_progress_finish(&progress);
  beam_input_get_stats(in, &is);
  beam_dofn_counter_add(r->ctx, st->c_bytes, (int64_t)is.bytes_read);
  return s;
}

/* Whether a failure is the file's (it fails alone) or the run's (the bundle fails). */
static bool fails_the_file(beam_status s) { return s != BEAM_ERR_NOMEM && s != BEAM_ERR_INTERNAL && s != BEAM_ERR_CANCELLED; }

/* The file's report (see the top of this file) and its statistics. */
static beam_status emit_report(file_run *r, const char *error, beam_error *err) {
  beam_arena *a = beam_dofn_scratch(r->ctx);
  beam_etl_file_report rep = {.file = r->path, .runner = r->st->runner, .stats = r->stats,
                              .status = error ? BEAM_ETL_FILE_FAILED : BEAM_ETL_FILE_LOADED, .error = error,
                              .file_id = r->identity.id[0] ? r->identity.id : NULL, .ranges = 1};
  char unit[BEAM_FILE_IDENTITY_MAX + 48];
  beam_offset_range now;
  if (r->range.start >= 0 && beam_dofn_restriction(r->ctx, &now)) {
    /* The range as it ended: a split moved its end to where the residual begins. A range that
     * could not even identify its file still reports as a range (of "-"), so that FinishFile
     * sees the file fail rather than miss a range. */
    if (!beam_etl_unit_key(rep.file_id ? rep.file_id : BEAM_ETL_UNIDENTIFIED, now.start, now.end, unit, sizeof unit))
      return beam_error_set(err, BEAM_ERR_INTERNAL, "%s: unit key too long", r->path);
    rep.file_id = unit;
    rep.ranges = 0;
    if (now.start > 0 || now.end <= now.start) rep.stats.v[BEAM_ETL_STAT_SIZE_BYTES] = 0; /* counted once */
  }
  beam_etl_row row;
  beam_value stats;
  if (beam_etl_files_row_make(a, &rep, &row) != BEAM_OK || beam_etl_stats_make(a, r->path, &rep.stats, &stats) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = emit_element(r, r->st->out_reports, BEAM_ETL_FILES_TABLE, &row, false, err);
  return s == BEAM_OK ? beam_dofn_emit(r->ctx, r->st->out_stats, &stats, err) : s;
}

/* The element: KV<index, file name> (ListFiles), or a bare file name (index 0). The name is
 * copied NUL-terminated into arena. */
static beam_status element_file(const beam_value *v, beam_arena *arena, char **path, int64_t *index,
                                beam_error *err) {
  *index = 0;
  if (v->kind == BEAM_VALUE_KV) {
    if (v->u.kv.key->kind == BEAM_VALUE_INT64) *index = v->u.kv.key->u.i64;
    v = v->u.kv.value;
  }
  if (v->kind != BEAM_VALUE_STRING)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_read expects file names (KV<index, string>)");
  *path = beam_arena_strndup(arena, (const char *)v->u.bytes.data, v->u.bytes.len);
  return *path ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

/* Opens the file, or its byte range. */
static beam_status open_input(file_run *r, beam_input **in, beam_error *err) {
  beam_input_options o = r->st->input_options;
  if (r->range.start >= 0) { /* split ranges are never empty: end > start >= 0 */
    o.range_start = r->range.start;
    o.range_end = r->range.end;
  }
  return beam_input_open(r->path, &o, &r->st->spec->schema, in, err);
}

static beam_status read_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                beam_error *err) {
  read_state *st = state;
  char *path;
  int64_t index;
  beam_status s = element_file(elem->value, beam_dofn_scratch(ctx), &path, &index, err);
  if (s != BEAM_OK) return s;
  file_run r = {.st = st, .path = path, .file_index = index, .ctx = ctx, .range = {-1, 0}};
  if (beam_dofn_restriction(ctx, &r.range) && r.range.start < 0 && !beam_dofn_try_claim(ctx, r.range.start))
    return BEAM_OK; /* the whole file, already another bundle's */
  r.stats.v[BEAM_ETL_STAT_STARTED_AT] = beam_etl_now_micros();
  beam_input *in = NULL;
  s = open_input(&r, &in, err);
  if (s == BEAM_OK) s = identify(&r, in, err);
  r.stats.v[BEAM_ETL_STAT_SIZE_BYTES] = r.identity.size;
  if (s == BEAM_OK) s = read_file(&r, in, path, err);
  if (s == BEAM_OK && r.range.start < 0) s = check_bad_ratio(&r, err); /* guard rails: whole files only */
  beam_input_close(in);
  if (s == BEAM_OK && r.range.start >= 0) beam_etl_test_grow_after_range(path);
  beam_arena_reset(&st->record_arena);
  free(r.member_id);
  r.stats.v[BEAM_ETL_STAT_FINISHED_AT] = beam_etl_now_micros();
  if (s != BEAM_OK && (r.downstream_failed || !fails_the_file(s))) return s;
  if (s != BEAM_OK) {
    const char *error = beam_arena_strdup(beam_dofn_scratch(ctx), err && err->message[0] ? err->message : "failed");
    if (!error) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (strncmp(error, path, strlen(path)) == 0) beam_log(BEAM_LOG_WARN, "file failed, none of its rows kept: %s", error);
    else beam_log(BEAM_LOG_WARN, "%s: file failed, none of its rows kept: %s", path, error);
    beam_dofn_counter_add(ctx, st->c_failed, 1);
    /* A failed file's (or range's) records are not counted as read, but with dedupe what it
     * sent on before failing reaches DedupePick, which drops it and counts it: the summary
     * takes this from that count. (Without dedupe the writer drops them uncounted.) */
    if (st->spec->dedupe_field >= 0) beam_dofn_counter_add(ctx, st->c_emitted_failed, r.emitted);
    /* A failed range is done: the rest of it is not read (its file fails as a whole). */
    if (r.range.start >= 0) beam_dofn_try_claim(ctx, INT64_MAX);
    return emit_report(&r, error, err);
  }
  beam_dofn_counter_add(ctx, st->c_records, r.stats.v[BEAM_ETL_STAT_RECORDS]);
  beam_dofn_counter_add(ctx, st->c_dead, r.stats.v[BEAM_ETL_STAT_DEAD_LETTERED]);
  beam_dofn_counter_add(ctx, st->c_filtered, r.stats.v[BEAM_ETL_STAT_FILTERED]);
  beam_dofn_counter_add(ctx, st->c_empty_null, (int64_t)r.empty_to_null);
  return emit_report(&r, NULL, err);
}

/* ---- Splitting --------------------------------------------------------------------------
 * A file is split into byte ranges when it is larger than the split size and can be read in
 * ranges (beam_input_splittable: plain CSV, TSV, JSON lines; a CSV without a newline inside
 * quotes; a ZIP archive of more than one file whose members hold more than the split size
 * uncompressed, cut at members' local headers). Guard rails (validate.max_bad_*) and hard
 * validation judge a whole file, so a file they apply to is read whole. Everything else is
 * the whole file, [-1, 0). */

enum { MIB = 1 << 20, AUTO_RUNNER_SPLIT = 64 * MIB, AUTO_LOCAL_MIN_FILE = 8 * MIB, AUTO_RANGES_PER_THREAD = 4 };

/* The split size for a file of size bytes: config "split_size", or auto: 64 MiB on a runner;
 * locally enough ranges to keep every thread busy (4 each), of at least 1 MiB, for a file of
 * more than 8 MiB. 0: do not split. */
static int64_t split_size_for(const read_state *st, int64_t size) {
  if (st->split_size >= 0) return st->split_size;
  if (strcmp(st->runner, "local") != 0) return AUTO_RUNNER_SPLIT;
  if (size <= AUTO_LOCAL_MIN_FILE) return 0;
  int64_t per = size / (AUTO_RANGES_PER_THREAD * st->parallelism);
  per = (per + MIB - 1) / MIB * MIB;
  return per > MIB ? per : MIB;
}

static bool guard_rails_judge_whole_files(const read_state *st) {
  const beam_etl_spec *spec = st->spec;
  return spec->validate.hard || spec->validate.max_bad_records >= 0 || spec->validate.max_bad_ratio >= 0;
}

/* [0, size) when the file is to be split, else the whole file [-1, 0). A file that cannot be
 * looked at is read whole: the read reports why it fails. */
static beam_status read_initial_restriction(void *state, const beam_windowed_value *elem, beam_offset_range *out,
                                            beam_error *err) {
  read_state *st = state;
  *out = (beam_offset_range){-1, 0};
  if (st->split_size == 0 || guard_rails_judge_whole_files(st)) return BEAM_OK;
  beam_arena arena = {0};
  char *path;
  int64_t index;
  beam_status s = element_file(elem->value, &arena, &path, &index, err);
  beam_input_split_info info;
  beam_error ignored = {0};
  if (s == BEAM_OK && beam_input_splittable(path, &st->input_options, &info, &ignored) == BEAM_OK) {
    bool members = info.kind == BEAM_INPUT_SPLIT_MEMBERS;
    int64_t weight = members ? info.content_size : info.size; /* what reading it costs */
    int64_t split = split_size_for(st, weight);
    int64_t quoted = -1;
    bool splittable = (info.kind == BEAM_INPUT_SPLIT_BYTES || (members && info.members > 1)) && split > 0 &&
                      weight > split;
    if (splittable && info.format == BEAM_INPUT_FORMAT_CSV &&
        beam_input_find_quoted_newline(path, &st->input_options, &quoted, &ignored) != BEAM_OK)
      splittable = false;
    if (splittable && quoted >= 0)
      beam_log(BEAM_LOG_INFO, "%s: read in one range: a newline inside a quoted field at byte %lld", path,
               (long long)quoted);
    if (splittable && quoted < 0) *out = (beam_offset_range){0, info.size};
  }
  beam_arena_free(&arena);
  return s;
}

/* A ZIP archive's ranges of [range.start, range.end), cut at its members' local headers. */
static beam_status split_members(read_state *st, const char *path, int64_t content_size, beam_offset_range range,
                                 beam_restriction_out *out, beam_error *err) {
  beam_byte_range *ranges = NULL;
  size_t n = 0;
  beam_error ignored = {0};
  beam_status s = beam_input_zip_ranges(path, range.start, range.end, split_size_for(st, content_size), &ranges, &n,
                                        &ignored);
  if (s == BEAM_ERR_NOMEM) return beam_error_set(err, s, "%s", ignored.message);
  if (s != BEAM_OK) /* unreadable now: one range, whose read reports why the file fails */
    return beam_restriction_output(out, range, err);
  for (size_t i = 0; s == BEAM_OK && i < n; i++)
    s = beam_restriction_output(out, (beam_offset_range){ranges[i].start, ranges[i].end}, err);
  free(ranges);
  return s;
}

/* The ranges of [range.start, range.end) by the split size (byte_ranges.h), in order. */
static beam_status read_split_restriction(void *state, const beam_windowed_value *elem, beam_offset_range range,
                                          beam_restriction_out *out, beam_error *err) {
  read_state *st = state;
  if (range.start < 0 || st->split_size == 0) return beam_restriction_output(out, range, err);
  beam_arena arena = {0};
  char *path;
  int64_t index;
  beam_input_split_info info;
  beam_error ignored = {0};
  beam_status s = element_file(elem->value, &arena, &path, &index, err);
  bool members = s == BEAM_OK && beam_input_splittable(path, &st->input_options, &info, &ignored) == BEAM_OK &&
                 info.kind == BEAM_INPUT_SPLIT_MEMBERS;
  if (members) s = split_members(st, path, info.content_size, range, out, err);
  beam_arena_free(&arena);
  if (s != BEAM_OK || members) return s;
  int64_t split = split_size_for(st, range.end);
  if (split <= 0) return beam_restriction_output(out, range, err);
  int64_t len = range.end - range.start;
  size_t n = len > 0 ? beam_byte_ranges_count(len, split) : 0; /* at most BEAM_BYTE_RANGES_MAX */
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    beam_byte_range r = beam_byte_ranges_at(len, split, i);
    s = beam_restriction_output(out, (beam_offset_range){range.start + r.start, range.start + r.end}, err);
  }
  return s;
}

/* A whole file weighs its size, so a runner balances big unsplit files against ranges. */
static double read_restriction_size(void *state, const beam_windowed_value *elem, beam_offset_range range) {
  (void)state;
  if (range.start >= 0) return (double)(range.end - range.start);
  const beam_value *v = elem->value->kind == BEAM_VALUE_KV ? elem->value->u.kv.value : elem->value;
  char path[4096];
  struct stat sb;
  if (v->kind != BEAM_VALUE_STRING || v->u.bytes.len >= sizeof path) return 1;
  memcpy(path, v->u.bytes.data, v->u.bytes.len);
  path[v->u.bytes.len] = '\0';
  return stat(path, &sb) == 0 && sb.st_size > 0 ? (double)sb.st_size : 1;
}

static void read_teardown(void *state) {
  read_state *st = state;
  beam_etl_spec_free(st->spec);
  beam_arena_free(&st->record_arena);
}

const beam_splittable_dofn_def beam_etl_read_dofn = {
    .dofn = {.name = "etl_read",
             .state_size = sizeof(read_state),
             .setup = read_setup,
             .process = read_process,
             .teardown = read_teardown},
    .initial_restriction = read_initial_restriction,
    .split_restriction = read_split_restriction,
    .restriction_size = read_restriction_size,
};
