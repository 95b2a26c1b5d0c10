/* DoFn "etl_write": ETL elements in, rows into a sink (SQLite, JSON lines, ...), one sink
 * bundle per Beam bundle so a retried bundle commits once (with config "units", also per
 * file for sinks without savepoints: see "Units" below). A _files element is a file's
 * report: its row is written with the file's ledger entry.
 *
 * Rows are copied into per-table batches (the element's memory lives only during process)
 * and written when 1024 rows are pending or the bundle finishes; commit happens in
 * finish_bundle, so a failure anywhere in the bundle leaves nothing behind. A row the sink
 * refuses (a constraint, a type it cannot store) becomes a dead letter in the same bundle,
 * stage "sink", with the row as JSON in `raw` (its first MiB). At the end of the bundle the per-file
 * written / dead-lettered counts go out on "stats" and per-table counts into counters
 * "written.<table>".
 *
 * Sinks that learn of refused rows only when they send them (BigQuery's insertErrors, see
 * beam_sink_send) get each data table sent at finish_bundle before the commit; the rows they
 * refuse become dead letters the same way, in the same bundle, and move from written to
 * dead-lettered in the per-file counts. For them the writer keeps, per row of the bundle,
 * its file and origin (a few words per row) to name the refused ones.
 *
 * A destination may take only some tables and routed rows (etl_destination.h: "tables",
 * "where"): a row it does not take is counted ("not_taken") and, when routed, as written in
 * its file's statistics: _files.written is the run's outcome (rows the ETL routed to a table),
 * the same for every destination except for the rows its own sink refused. A _files row it
 * does not take is not written, but the unit's ledger entry always is.
 *
 * A stream (config "stream", a pubsub: input): each bundle starts with ReadMessages' header;
 * rows of messages this destination committed before are dropped, and the bundle commits
 * with every other message's ledger entry and its _stream_bundles row (etl_write_stream.h),
 * which also goes out on "files".
 *
 * Config: {"spec": {...}, "sink": "sqlite:out.db", "tables": [...], "where": "...",
 * "label": "destination 2 (sqlite:out.db)" (prefixes its errors), "no_sync": false,
 * "batch_rows": 0, "units": false, "reload": false, "stream": false, "message_ledger_days": 7}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/log.h"
#include "beam/transforms/etl_destination.h"
#include "beam/transforms/etl_process.h"
#include "beam/transforms/etl_stream.h"
#include "beam/transforms/etl_table.h"
#include "beam/transforms/file_identity.h"
#include "beam/transforms/json_row_writer.h"
#include "beam/transforms/sink.h"
#include "etl_dofn_common.h"
#include "etl_files_row.h"
#include "etl_stats_map.h"
#include "etl_test_hooks.h"
#include "etl_write_stream.h"

enum { PENDING_LIMIT = 1024 };
#define SINK_DEAD_LETTER_RAW_MAX ((size_t)1 << 20)

/* What a late refusal needs to dead-letter a row already handed to the sink. */
typedef struct late_key {
  const char *file;   /* interned in write_state.late_names */
  const char *source;
  const char *file_id; /* interned too */
  int64_t line, offset, member_offset;
} late_key;

typedef struct pending_table {
  char *name;
  int64_t written_at_unit; /* written when the open unit began: restored when it is dropped */
  const beam_etl_schema *schema;
  beam_etl_row *rows;
  const char **files; /* input file of each row, for _files */
  size_t n;
  int64_t written;    /* this bundle, for the counter */
  bool dropped;       /* a table the destination does not take: never ensured nor written */
  late_key *late;     /* every row written this bundle, when the sink rejects late */
  size_t n_late, cap_late;
} pending_table;

/* The byte ranges of one file the ledger holds committed (see "Rows committed before"). */
typedef struct committed_file {
  char *file_id;
  beam_sink_ranges ranges; /* empty for most files */
} committed_file;

typedef struct write_state {
  beam_etl_spec *spec;
  beam_sink *sink;
  beam_etl_destination dest; /* the sink and what it takes */
  beam_arena dest_arena;
  bool selects;       /* it does not take everything */
  char *label;        /* "destination N (URI)" among several, else NULL */
  int c_not_taken;    /* counter: rows (routed or dead letters) the destination does not take */
  int64_t not_taken, not_taken_at_unit; /* this bundle; when the last unit ended */
  int out_stats;
  int out_files;      /* the _files rows written, or -1 */
  int out_ranges;     /* the reports of split files' ranges committed, as KV<file, report>, or -1 */
  pending_table *tables;
  size_t n_tables;
  size_t pending;
  bool in_bundle;     /* the sink bundle has begun (lazily, at the first row) */
  bool range_in_bundle; /* it records a byte range's ledger entry (for a test hook) */
  char *transform_id;
  beam_arena batch;   /* copies of pending rows */
  beam_etl_view_cache view; /* the last element's header strings, in batch: zeroed with it */
  beam_etl_stats_map per_file;
  beam_buf json;
  beam_arena late_names; /* files and sources named by late keys, for one bundle */
  const char *last_file, *last_source, *last_file_id;
  /* Units (config "units": the writer is fused with ReadAndProcess, whose report of a file
   * follows the file's rows). */
  bool units;
  bool unit_open;      /* rows of a unit whose report has not come yet were written */
  bool reload;         /* a unit the ledger holds is loaded again, its entry replaced */
  int64_t reload_at;   /* when this writer started: a reload's unit bundles are new bundles */
  char unit_bundle[512]; /* the sink bundle id of a unit committed alone */
  int c_already;       /* counter: units found in the ledger (a retry or a concurrent run) */
  int c_ranges_already; /* ... of which byte ranges of split files (not files) */
  int c_already_records; /* ... and their records and filtered records, which the run does */
  int c_already_filtered; /* not count again */
  /* Rows committed before (units, no reload, a sink with a ledger): each file's committed
   * ranges, looked up once per bundle; last is the file of the previous row. */
  bool skip_committed;
  committed_file *committed;
  size_t n_committed, cap_committed, last_committed;
  int64_t unit_skipped; /* rows of the open unit dropped as committed before */
  beam_etl_write_stream stream; /* config "stream" */
  int c_messages_already; /* counter: a stream's messages committed before (redelivered) */
  int c_stream_bundles;   /* counter: _stream_bundles rows committed */
  int c_stream_messages;  /* counter: a stream's messages committed now */
} write_state;

/* Prefixes a failure with the destination's label (a run with several names the one that failed). */
static beam_status named(const write_state *st, beam_status s, beam_error *err) {
  if (s != BEAM_OK && st->label && err) beam_error_prefix(err, "%s: ", st->label);
  return s;
}

/* The destination from config: its sink URI and its selection. */
static beam_status destination_from_config(write_state *st, const json_t *config, beam_error *err) {
  const char *uri = beam_etl_config_string(config, "sink", NULL);
  if (!uri) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_write: config.sink is missing");
  const char *label = beam_etl_config_string(config, "label", NULL);
  if (label && !(st->label = strdup(label))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  json_t *tables = json_object_get(config, "tables");
  size_t n = json_array_size(tables);
  const char **names = beam_arena_calloc(&st->dest_arena, n ? n : 1, sizeof *names);
  if (!names) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) names[i] = json_string_value(json_array_get(tables, i));
  beam_status s = beam_etl_destination_make(uri, tables ? names : NULL, n, beam_etl_config_string(config, "where", NULL),
                                            &st->spec->schema, &st->spec->route, &st->dest_arena, &st->dest, err);
  st->selects = st->dest.tables || st->dest.where_filter;
  return s;
}

static beam_status write_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  write_state *st = state;
  const json_t *config = beam_dofn_config(ctx);
  beam_status s = beam_etl_spec_from_config(config, &st->spec, err);
  if (s == BEAM_OK) s = beam_etl_output(ctx, "stats", &st->out_stats, err);
  if (s == BEAM_OK) s = destination_from_config(st, config, err);
  if (s != BEAM_OK) return named(st, s, err);
  beam_sink_options o = {0};
  o.no_sync = json_is_true(json_object_get(config, "no_sync"));
  o.reload = json_is_true(json_object_get(config, "reload"));
  o.batch_rows = (size_t)json_integer_value(json_object_get(config, "batch_rows"));
  if (st->spec->partition_field >= 0) /* object-file sinks name paths by it, BigQuery partitions */
    o.partition_field = st->spec->schema.fields[st->spec->partition_field].name;
  const char *cluster[4];
  for (size_t i = 0; i < st->spec->n_cluster_fields && i < 4; i++)
    cluster[i] = st->spec->schema.fields[st->spec->cluster_fields[i]].name;
  o.cluster_fields = cluster;
  o.n_cluster_fields = st->spec->n_cluster_fields < 4 ? st->spec->n_cluster_fields : 4;
  st->units = json_is_true(json_object_get(config, "units"));
  st->out_files = beam_dofn_output_index(ctx, "files");
  st->out_ranges = beam_dofn_output_index(ctx, "ranges");
  st->reload = json_is_true(json_object_get(config, "reload"));
  st->reload_at = beam_etl_now_micros();
  st->c_already = beam_dofn_declare_counter(ctx, "files_already_loaded");
  st->c_ranges_already = beam_dofn_declare_counter(ctx, "ranges_already_loaded");
  st->c_already_records = beam_dofn_declare_counter(ctx, "records_already_loaded");
  st->c_already_filtered = beam_dofn_declare_counter(ctx, "filtered_already_loaded");
  st->c_not_taken = beam_dofn_declare_counter(ctx, "not_taken");
  st->stream.on = json_is_true(json_object_get(config, "stream"));
  o.stream_ledger = st->stream.on;
  o.message_ledger_days = (int)json_integer_value(json_object_get(config, "message_ledger_days"));
  st->c_messages_already = beam_dofn_declare_counter(ctx, "messages_already_loaded");
  st->c_stream_bundles = beam_dofn_declare_counter(ctx, "stream_bundles");
  st->c_stream_messages = beam_dofn_declare_counter(ctx, "stream_messages");
  st->transform_id = strdup(beam_dofn_transform_id(ctx));
  if (!st->transform_id) return named(st, beam_error_set(err, BEAM_ERR_NOMEM, "out of memory"), err);
  beam_status s2 = beam_sink_open(st->dest.sink, &o, &st->sink, err);
  st->skip_committed = s2 == BEAM_OK && st->units && !st->reload && beam_sink_keeps_ledger(st->sink);
  return named(st, s2, err);
}

/* The pending batch of table, ensuring the table in the sink the first time it is seen. */
static beam_status find_table(write_state *st, const char *name, const beam_etl_schema *schema,
                              pending_table **out, beam_error *err) {
  for (size_t i = 0; i < st->n_tables; i++)
    if (strcmp(st->tables[i].name, name) == 0) return *out = &st->tables[i], BEAM_OK;
  bool dropped = !beam_etl_destination_takes_table(&st->dest, name);
  /* the table's own options */
  beam_status s = dropped ? BEAM_OK : beam_etl_ensure_table(st->sink, st->spec, name, schema, err);
  if (s != BEAM_OK) return s;
  pending_table *grown = realloc(st->tables, (st->n_tables + 1) * sizeof *grown);
  if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  st->tables = grown;
  pending_table *t = &st->tables[st->n_tables];
  memset(t, 0, sizeof *t);
  t->name = strdup(name);
  t->schema = schema;
  t->dropped = dropped;
  t->rows = malloc(PENDING_LIMIT * sizeof *t->rows);
  t->files = malloc(PENDING_LIMIT * sizeof *t->files);
  if (!t->name || !t->rows || !t->files) {
    free(t->name), free(t->rows), free(t->files);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  st->n_tables++;
  *out = t;
  return BEAM_OK;
}

/* Copies the values (and the strings they point at) into the batch arena. */
static beam_value *copy_values(beam_arena *a, const beam_value *values, size_t n) {
  beam_value *out = beam_arena_alloc(a, n * sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    out[i] = values[i];
    if ((values[i].kind == BEAM_VALUE_STRING || values[i].kind == BEAM_VALUE_BYTES) && values[i].u.bytes.len) {
      uint8_t *data = beam_arena_alloc(a, values[i].u.bytes.len);
      if (!data) return NULL;
      memcpy(data, values[i].u.bytes.data, values[i].u.bytes.len);
      out[i].u.bytes.data = data;
    }
  }
  return out;
}

/* Appends a _dead_letter row (stage "sink") for a refused row to the dead-letter batch. */
static beam_status add_dead_letter(write_state *st, const beam_etl_origin *row_origin, const char *reason,
                                   const char *file, pending_table *dl, beam_error *err) {
  if (dl->dropped) { /* the destination takes no dead letters: counted, as the row it was */
    st->not_taken++;
    return BEAM_OK;
  }
  /* A row refused for its size (a Pub/Sub message, a BigQuery row) must not come back as a
   * dead letter just as large: keep the head of its JSON and say so in the error. */
  beam_etl_origin origin = *row_origin;
  char cut_reason[640];
  if (origin.raw.len > SINK_DEAD_LETTER_RAW_MAX) {
    snprintf(cut_reason, sizeof cut_reason, "%s (raw: the first %zu of %zu bytes of the row as JSON)", reason,
             (size_t)SINK_DEAD_LETTER_RAW_MAX, origin.raw.len);
    size_t cut = SINK_DEAD_LETTER_RAW_MAX;
    while (cut > 0 && (origin.raw.data[cut] & 0xC0) == 0x80) cut--; /* not inside a UTF-8 character */
    origin.raw.len = cut;
    reason = cut_reason;
  }
  char *error = beam_arena_strdup(&st->batch, reason);
  beam_etl_row out;
  if (!error || beam_etl_dead_letter_row(&origin, error, BEAM_ETL_STAGE_SINK, &st->batch, &out) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  out.values = copy_values(&st->batch, out.values, out.schema->n_fields);
  if (!out.values) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  dl->rows[dl->n] = out;
  dl->files[dl->n++] = file;
  return BEAM_OK;
}

/* A row the sink refused, as a _dead_letter row naming the reason. */
static beam_status dead_letter_refused(write_state *st, pending_table *t, size_t index, const char *reason,
                                       pending_table *dl, beam_error *err) {
  const beam_etl_row *row = &t->rows[index];
  beam_json_row_writer w;
  beam_buf_reset(&st->json);
  beam_status s = beam_json_row_writer_init(&w, t->schema);
  if (s == BEAM_OK) s = beam_json_row_writer_append(&w, &st->json, row->values);
  beam_json_row_writer_free(&w);
  if (s == BEAM_ERR_NOMEM) return beam_error_set(err, s, "out of memory");
  beam_etl_origin origin = row->origin;
  /* A row refused for a value JSON cannot show keeps a null raw; the reason still says why. */
  origin.raw = s == BEAM_OK ? (beam_bytes){st->json.data, st->json.len} : (beam_bytes){NULL, 0};
  return add_dead_letter(st, &origin, reason, t->files[index], dl, err);
}

/* tables[0] is always _dead_letter (created at the first bundle), so refused rows have a
 * batch to join while another table flushes, and flush_all writes it last. */
static beam_status account_rows(write_state *st, pending_table *t, const beam_sink_row_errors *rejected,
                                beam_error *err);

/* Files and sources repeat row after row: one copy per run of equal names. */
static const char *intern(write_state *st, const char **last, const char *name) {
  if (!name) return NULL;
  if (*last && strcmp(*last, name) == 0) return *last;
  const char *copy = beam_arena_strdup(&st->late_names, name);
  if (copy) *last = copy;
  return copy;
}

/* Remembers file and origin of the rows about to be handed to a late-rejecting sink. */
static beam_status remember_late(write_state *st, pending_table *t, beam_error *err) {
  if (t->n_late + t->n > t->cap_late) {
    size_t cap = t->cap_late ? t->cap_late : 1024;
    while (cap < t->n_late + t->n) cap *= 2;
    late_key *grown = realloc(t->late, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    t->late = grown;
    t->cap_late = cap;
  }
  for (size_t i = 0; i < t->n; i++) {
    late_key *k = &t->late[t->n_late++];
    k->file = intern(st, &st->last_file, t->files[i]);
    k->source = intern(st, &st->last_source, t->rows[i].origin.source);
    k->file_id = intern(st, &st->last_file_id, t->rows[i].origin.file_id);
    k->line = t->rows[i].origin.line;
    k->offset = t->rows[i].origin.offset;
    k->member_offset = t->rows[i].origin.member_offset;
    if ((t->files[i] && !k->file) || (t->rows[i].origin.source && !k->source) ||
        (t->rows[i].origin.file_id && !k->file_id))
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  return BEAM_OK;
}

/* The refusals list is per call: refusing rows can fill the dead-letter batch and flush it
 * from inside this loop, which must not overwrite the list being walked. */
static beam_status flush_table(write_state *st, pending_table *t, beam_error *err) {
  if (!t->n || t->dropped) return BEAM_OK; /* rows of a dropped table never join its batch */
  if (t != &st->tables[0] && beam_sink_rejects_late(st->sink)) {
    beam_status s = remember_late(st, t, err);
    if (s != BEAM_OK) return s;
  }
  beam_sink_row_errors rejected = BEAM_SINK_ROW_ERRORS_INIT;
  beam_status s = beam_sink_write_rows(st->sink, t->name, t->rows, t->n, &rejected, err);
  if (s == BEAM_OK && rejected.len && t == &st->tables[0])
    s = beam_error_set(err, BEAM_ERR_IO, "the sink refused a dead letter row: %s", rejected.items[0].reason);
  if (s == BEAM_OK) s = account_rows(st, t, &rejected, err);
  beam_sink_row_errors_free(&rejected);
  return s;
}

/* Counts written rows per file and turns refused ones into dead letters. */
static beam_status account_rows(write_state *st, pending_table *t, const beam_sink_row_errors *rejected,
                                beam_error *err) {
  pending_table *dl = &st->tables[0];
  beam_status s;
  size_t r = 0;
  for (size_t i = 0; i < t->n; i++) {
    beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->per_file, t->files[i]);
    if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    bool refused = r < rejected->len && rejected->items[r].index == i;
    if (!refused) {
      t->written++;
      if (t != dl) fs->v[BEAM_ETL_STAT_WRITTEN]++;
      continue;
    }
    if (dl->n == PENDING_LIMIT && (s = flush_table(st, dl, err)) != BEAM_OK) return s;
    s = dead_letter_refused(st, t, i, rejected->items[r++].reason, dl, err);
    if (s != BEAM_OK) return s;
    fs->v[BEAM_ETL_STAT_DEAD_LETTERED]++;
  }
  t->n = 0;
  return BEAM_OK;
}

static beam_status flush_all(write_state *st, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 1; s == BEAM_OK && i < st->n_tables; i++) s = flush_table(st, &st->tables[i], err);
  if (s == BEAM_OK) s = flush_table(st, &st->tables[0], err);
  if (s != BEAM_OK) return s;
  st->pending = 0;
  beam_arena_reset(&st->batch);
  st->view = (beam_etl_view_cache){0};
  return BEAM_OK;
}

/* A row the sink refused when it sent it: a dead letter, counted as such, not as written. */
static beam_status late_refusal(write_state *st, pending_table *t, const beam_sink_row_error *r, beam_error *err) {
  if (r->index >= t->n_late)
    return beam_error_set(err, BEAM_ERR_INTERNAL, "sink refused row %zu of table %s, which has %zu rows", r->index,
                          t->name, t->n_late);
  const late_key *k = &t->late[r->index];
  beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->per_file, k->file);
  if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  fs->v[BEAM_ETL_STAT_WRITTEN]--;
  fs->v[BEAM_ETL_STAT_DEAD_LETTERED]++;
  t->written--;
  pending_table *dl = &st->tables[0];
  beam_status s = dl->n == PENDING_LIMIT ? flush_table(st, dl, err) : BEAM_OK;
  beam_etl_origin origin = {.source = k->source, .line = k->line,
                            .raw = {(const uint8_t *)r->row, r->row ? strlen(r->row) : 0},
                            .offset = k->offset, .file_id = k->file_id, .member_offset = k->member_offset};
  return s == BEAM_OK ? add_dead_letter(st, &origin, r->reason, k->file, dl, err) : s;
}

/* Sends each data table now (late-rejecting sinks) and dead-letters what the sink refuses. */
static beam_status send_late(write_state *st, beam_error *err) {
  if (!beam_sink_rejects_late(st->sink)) return BEAM_OK;
  beam_status s = BEAM_OK;
  beam_sink_row_errors rejected = BEAM_SINK_ROW_ERRORS_INIT;
  for (size_t i = 1; s == BEAM_OK && i < st->n_tables; i++) {
    pending_table *t = &st->tables[i];
    if (!t->n_late) continue;
    s = beam_sink_send(st->sink, t->name, &rejected, err);
    for (size_t r = 0; s == BEAM_OK && r < rejected.len; r++) s = late_refusal(st, t, &rejected.items[r], err);
    t->n_late = 0;
  }
  beam_sink_row_errors_free(&rejected);
  if (s == BEAM_OK) s = flush_table(st, &st->tables[0], err);
  return s;
}

static void reset_late(write_state *st) {
  for (size_t i = 0; i < st->n_tables; i++) st->tables[i].n_late = 0;
  beam_arena_reset(&st->late_names);
  st->last_file = st->last_source = st->last_file_id = NULL;
}

/* Forgets the committed ranges looked up: the next bundle looks again (another writer may
 * have committed ranges meanwhile). */
static void forget_committed(write_state *st) {
  for (size_t i = 0; i < st->n_committed; i++) {
    free(st->committed[i].file_id);
    beam_sink_ranges_free(&st->committed[i].ranges);
  }
  st->n_committed = st->last_committed = 0;
}

static void reset_bundle(write_state *st) {
  beam_sink_abort(st->sink);
  forget_committed(st);
  st->unit_skipped = 0;
  st->not_taken = st->not_taken_at_unit = 0;
  st->in_bundle = false;
  st->range_in_bundle = false;
  st->unit_open = false;
  st->unit_bundle[0] = '\0';
  reset_late(st);
  for (size_t i = 0; i < st->n_tables; i++) st->tables[i].n = 0, st->tables[i].written = 0;
  st->pending = 0;
  beam_arena_reset(&st->batch);
  st->view = (beam_etl_view_cache){0};
  beam_etl_stats_map_free(&st->per_file);
}

/* Writes what is pending and commits the sink bundle. */
/* Counters "retracted.<table>": rows of failed split files the commit removed (the summary
 * takes them from what Write counted). */
static beam_status count_retracted(write_state *st, beam_dofn_ctx *ctx, beam_error *err) {
  const beam_sink_table_rows *rows;
  size_t n = beam_sink_retracted_rows(st->sink, &rows);
  beam_status s = BEAM_OK;
  char name[160];
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    snprintf(name, sizeof name, "retracted.%s", rows[i].table);
    s = beam_dofn_counter_add_named(ctx, name, rows[i].rows, err);
  }
  return s;
}

static beam_status commit_bundle(write_state *st, beam_dofn_ctx *ctx, beam_error *err) {
  beam_status s = flush_all(st, err);
  if (s == BEAM_OK) s = send_late(st, err);
  if (s == BEAM_OK) s = beam_sink_commit(st->sink, err);
  if (s == BEAM_OK) s = count_retracted(st, ctx, err);
  if (s == BEAM_OK && st->range_in_bundle) beam_etl_test_exit_after_range_commit();
  st->range_in_bundle = false;
  st->in_bundle = false;
  reset_late(st);
  return s;
}

static beam_status write_start(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  write_state *st = state;
  reset_bundle(st); /* a failed previous bundle may have left rows and an open sink bundle */
  beam_etl_write_stream_reset(&st->stream);
  return BEAM_OK;
}

/* The sink bundle starts with the first row, not at start_bundle: a bundle without rows
 * takes no database lock, so the _files writer downstream (a second sink on the same
 * database, fed only after this one commits) never waits on this one. */
static beam_status begin_lazily(write_state *st, beam_dofn_ctx *ctx, beam_error *err) {
  if (st->in_bundle) return BEAM_OK;
  /* Sinks recognise a retried bundle by its id; two writers in one Beam bundle (rows and
   * _files) are different sink bundles, so the id names the transform too. A unit committed
   * alone is named by the unit, the same at every attempt and relaunch. */
  char id[1024];
  if (st->unit_bundle[0]) snprintf(id, sizeof id, "unit:%s/%s", st->unit_bundle, st->transform_id);
  else snprintf(id, sizeof id, "%s/%s", beam_dofn_bundle_id(ctx), st->transform_id);
  beam_status s = beam_sink_begin(st->sink, id, err);
  if (s != BEAM_OK) return s;
  st->in_bundle = true;
  pending_table *dl;
  return st->n_tables ? BEAM_OK : find_table(st, BEAM_ETL_DEAD_LETTER_TABLE, beam_etl_dead_letter_schema(), &dl, err);
}

/* ---- Units ---------------------------------------------------------------------------
 * With config "units", ReadAndProcess's report of a file (a _files row) follows the file's
 * rows: the writer marks where the unit's rows start (a sink savepoint) and, at the report,
 * writes the file's _files row and its ledger entry in the same sink bundle, or drops the
 * unit's rows when the file failed or the ledger already holds it. A sink without savepoints
 * commits each unit as a bundle of its own instead, so that dropping one is an abort. Without
 * "units" (the _files writer after the statistics are combined), a report is written as it
 * comes, once: the ledger entry is recorded beside it. */

/* Names the sink bundle of a unit committed alone: the unit, so that a retry or a relaunch is
 * recognised by the sink; a reload's bundles are new ones (the earlier load holds the name). */
static void name_unit_bundle(write_state *st, const char *unit) {
  if (st->reload) snprintf(st->unit_bundle, sizeof st->unit_bundle, "%s#reload@%lld", unit, (long long)st->reload_at);
  else snprintf(st->unit_bundle, sizeof st->unit_bundle, "%s", unit);
}

static beam_status unit_start(write_state *st, beam_dofn_ctx *ctx, const beam_etl_row *first, beam_error *err) {
  bool alone = !beam_sink_has_savepoints(st->sink);
  /* Named by its first record, which is the same at every attempt: the report that names the
   * unit (a split file's range) comes last. */
  char unit[BEAM_FILE_IDENTITY_MAX + 64];
  snprintf(unit, sizeof unit, "%s@%lld", first->origin.file_id ? first->origin.file_id : "", (long long)first->origin.offset);
  if (alone) name_unit_bundle(st, unit);
  beam_status s = begin_lazily(st, ctx, err);
  if (s == BEAM_OK && !alone) s = flush_all(st, err);
  if (s == BEAM_OK && !alone) s = beam_sink_unit_begin(st->sink, err);
  if (s != BEAM_OK) return s;
  for (size_t i = 0; i < st->n_tables; i++) st->tables[i].written_at_unit = st->tables[i].written;
  st->unit_open = true;
  return BEAM_OK;
}

/* Drops the open unit's rows from the sink bundle and from the counts (also the counts of rows
 * dropped as committed before, when none was written). */
static beam_status unit_drop(write_state *st, const char *file, beam_error *err) {
  beam_status s = BEAM_OK;
  if (st->unit_open && beam_sink_has_savepoints(st->sink)) {
    s = beam_sink_unit_rollback(st->sink, err);
  } else if (st->unit_open) {
    beam_sink_abort(st->sink); /* the bundle holds this unit only */
    st->in_bundle = false;
  }
  if (st->unit_open)
    for (size_t i = 0; i < st->n_tables; i++) st->tables[i].written = st->tables[i].written_at_unit;
  st->not_taken = st->not_taken_at_unit;
  beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->per_file, file);
  if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  memset(fs, 0, sizeof *fs);
  return s;
}

/* The report completed with what this writer wrote for the file. */
static void add_written(write_state *st, const char *file, beam_etl_file_report *rep) {
  beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->per_file, file);
  if (!fs) return;
  rep->stats.v[BEAM_ETL_STAT_WRITTEN] += fs->v[BEAM_ETL_STAT_WRITTEN];
  rep->stats.v[BEAM_ETL_STAT_DEAD_LETTERED] += fs->v[BEAM_ETL_STAT_DEAD_LETTERED];
  memset(fs, 0, sizeof *fs); /* counted in _files now: not again on "stats" */
}

/* True when the ledger holds the report's file (and this is no reload). */
static beam_status already_loaded(write_state *st, const beam_etl_file_report *rep, bool *out, beam_error *err) {
  *out = false;
  if (st->reload || !rep->file_id || strcmp(rep->status, BEAM_ETL_FILE_LOADED) != 0) return BEAM_OK;
  beam_sink_ledger_hit hit;
  beam_status s = beam_sink_ledger_find(st->sink, rep->file_id, &hit, err);
  *out = s == BEAM_OK && hit.found;
  return s;
}

/* ---- Rows committed before -----------------------------------------------------------
 * A range's unit key names its boundaries, and a rerun may cut the file at others than the
 * run that committed ranges of it before a crash (another --split_size, another CPU count, a
 * runner's dynamic split). So the writer asks the ledger for every committed range of a row's
 * file (once per file per bundle; most files have none, and then a row costs one string
 * compare) and drops a row whose offset lies in one before it joins the batch - before
 * unit_start too, which names a unit committed alone by its first row written. A dropped row
 * counts as it did when it was written: a routed row as written, a dead letter not at all (the
 * read counted it). At the range's report, committed ranges covering it make it loaded
 * before; otherwise the rest is committed with the range's own key. */

/* The committed ranges of file_id (looked up at its first row of the bundle). */
static beam_status committed_ranges(write_state *st, const char *file_id, const beam_sink_ranges **out,
                                    beam_error *err) {
  if (st->n_committed && strcmp(st->committed[st->last_committed].file_id, file_id) == 0)
    return *out = &st->committed[st->last_committed].ranges, BEAM_OK;
  for (size_t i = 0; i < st->n_committed; i++)
    if (strcmp(st->committed[i].file_id, file_id) == 0) {
      st->last_committed = i;
      return *out = &st->committed[i].ranges, BEAM_OK;
    }
  if (st->n_committed == st->cap_committed) {
    size_t cap = st->cap_committed ? st->cap_committed * 2 : 8;
    committed_file *grown = realloc(st->committed, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    st->committed = grown;
    st->cap_committed = cap;
  }
  committed_file *c = &st->committed[st->n_committed];
  memset(c, 0, sizeof *c);
  if (!(c->file_id = strdup(file_id))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_sink_ledger_ranges(st->sink, file_id, &c->ranges, err);
  if (s != BEAM_OK) {
    free(c->file_id);
    beam_sink_ranges_free(&c->ranges);
    return s;
  }
  st->last_committed = st->n_committed++;
  *out = &c->ranges;
  return BEAM_OK;
}

/* True in *skip when row was committed before by a range of its file (of its archive for a
 * ZIP member's row); then counted. */
static beam_status skip_committed_row(write_state *st, const char *table, const char *file, const beam_etl_row *row,
                                      bool *skip, beam_error *err) {
  *skip = false;
  if (!st->skip_committed || !row->origin.file_id) return BEAM_OK;
  /* A ZIP member's record ("<archive identity>!<member>") lies in the archive's ranges at its
   * member's local header. */
  const char *file_id = row->origin.file_id;
  char archive[BEAM_FILE_IDENTITY_MAX];
  const char *bang = row->origin.member_offset >= 0 ? strchr(file_id, '!') : NULL;
  if (bang && (size_t)(bang - file_id) < sizeof archive) {
    memcpy(archive, file_id, (size_t)(bang - file_id));
    archive[bang - file_id] = '\0';
    file_id = archive;
  }
  const beam_sink_ranges *committed;
  beam_status s = committed_ranges(st, file_id, &committed, err);
  if (s != BEAM_OK || !committed->len || !beam_sink_ranges_contain(committed, beam_etl_origin_position(&row->origin)))
    return s;
  *skip = true;
  if (strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) != 0) {
    beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->per_file, file);
    if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    fs->v[BEAM_ETL_STAT_WRITTEN]++;
  }
  st->unit_skipped++;
  return BEAM_OK;
}

/* True in *out when the ledger's committed ranges of the range's file cover [start, end). */
static beam_status range_covered(write_state *st, const char *unit, size_t id_len, int64_t start, int64_t end,
                                 bool *out, beam_error *err) {
  *out = false;
  if (!st->skip_committed) return BEAM_OK;
  char id[BEAM_FILE_IDENTITY_MAX + 64];
  if (id_len >= sizeof id) return BEAM_OK; /* longer than any identity: not one of ours */
  memcpy(id, unit, id_len);
  id[id_len] = '\0';
  const beam_sink_ranges *committed;
  beam_status s = committed_ranges(st, id, &committed, err);
  *out = s == BEAM_OK && beam_sink_ranges_cover(committed, start, end);
  return s;
}

/* Writes the _files row and, for a loaded file, its ledger entry, into the open bundle. A
 * range of a split file has only its ledger entry: its file's _files row comes when every
 * range is in (FinishFile, after the ranges are grouped by file). */
static beam_status record_file(write_state *st, const beam_etl_file_report *rep, bool range, beam_error *err) {
  if (range) {
    if (strcmp(rep->status, BEAM_ETL_FILE_LOADED) != 0) return BEAM_OK;
    st->range_in_bundle = true;
    return beam_sink_ledger_record(st->sink, rep->file_id, rep->file, st->reload, err);
  }
  beam_etl_row row;
  pending_table *t;
  beam_status s = beam_etl_files_row_make(&st->batch, rep, &row);
  if (s != BEAM_OK) return beam_error_set(err, s, "out of memory");
  row.values = copy_values(&st->batch, row.values, row.schema->n_fields);
  if (!row.values) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if ((s = find_table(st, BEAM_ETL_FILES_TABLE, row.schema, &t, err)) != BEAM_OK) return s;
  if (t->n == PENDING_LIMIT - 1 && (s = flush_all(st, err)) != BEAM_OK) return s;
  if (!t->dropped) {
    t->rows[t->n] = row;
    t->files[t->n++] = rep->file;
    st->pending++;
  }
  if ((s = flush_all(st, err)) != BEAM_OK) return s;
  if (!rep->file_id || strcmp(rep->status, BEAM_ETL_FILE_LOADED) != 0) return BEAM_OK;
  return beam_sink_ledger_record(st->sink, rep->file_id, rep->file, st->reload, err);
}

/* A failed file leaves none of its rows: the rows of the ranges of it committed before (a
 * split file that failed in a later range; a rerun that reads whole a file an earlier run
 * committed ranges of) go with its _files row, in the same bundle. A sink that cannot retract
 * keeps them, and the log says so. A reload keeps what the earlier load committed. */
static beam_status retract_ranges(write_state *st, beam_etl_file_report *rep, beam_error *err) {
  if (!rep->file_id || st->reload) return BEAM_OK;
  if (beam_sink_can_retract(st->sink)) {
    rep->stats.v[BEAM_ETL_STAT_WRITTEN] = 0; /* what its ranges wrote goes */
    /* A file that changed between its ranges' reads lists every identity they saw
     * (etl_dofn_finish_file.c): each one's ranges go. */
    beam_status s = BEAM_OK;
    for (const char *id = rep->file_id; s == BEAM_OK && *id;) {
      size_t len = strcspn(id, " ");
      char one[BEAM_FILE_IDENTITY_MAX + 1];
      if (len >= sizeof one) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: file id too long", rep->file);
      memcpy(one, id, len);
      one[len] = '\0';
      s = beam_sink_retract_units(st->sink, one, err);
      id += len + (id[len] == ' ');
    }
    return s;
  }
  if (rep->ranges > 1 && beam_sink_keeps_ledger(st->sink))
    beam_log(BEAM_LOG_WARN, "%s: failed after some of its %lld ranges committed; this destination cannot retract "
             "their rows: they stay (the same command loads the rest once the file reads)", rep->file,
             (long long)rep->ranges);
  return BEAM_OK;
}

/* The _files row goes on "files" too (tests look at it; it is what was written); a range's
 * report goes on "ranges" keyed by its file, for FinishFile. */
static beam_status emit_file(write_state *st, beam_dofn_ctx *ctx, const char *file, const beam_etl_file_report *rep,
                             bool range, beam_error *err) {
  int out = range ? st->out_ranges : st->out_files;
  if (out < 0 && range) return beam_error_set(err, BEAM_ERR_INTERNAL, "etl_write: a range report but no \"ranges\" output");
  if (out < 0) return BEAM_OK;
  beam_arena *a = beam_dofn_scratch(ctx);
  beam_value v, key = beam_value_string(file, strlen(file));
  if (beam_etl_files_element_make(a, file, rep, &v) != BEAM_OK) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&key, &v}};
  return beam_dofn_emit(ctx, out, range ? &kv : &v, err);
}

/* The unit's bundle was a duplicate at commit: another writer (a thread loading a file of
 * the same content, another process) committed the unit after this one looked it up, and
 * nothing of this one was written. It counts as loaded before, as when the ledger held it at
 * the report: its rows leave the counts, and a range's report says what the read routed. */
static void unit_loaded_meanwhile(write_state *st, beam_dofn_ctx *ctx, beam_etl_file_report *rep, bool range,
                                  bool had_rows, int64_t skipped, int64_t read_dead) {
  /* As unit_drop: the marks are the unit's only when it opened (wrote a row). */
  if (had_rows)
    for (size_t i = 0; i < st->n_tables; i++) st->tables[i].written = st->tables[i].written_at_unit;
  st->not_taken = st->not_taken_at_unit;
  const int64_t *c = rep->stats.v;
  beam_dofn_counter_add(ctx, range ? st->c_ranges_already : st->c_already, 1);
  beam_dofn_counter_add(ctx, st->c_already_records, c[BEAM_ETL_STAT_RECORDS] - skipped);
  beam_dofn_counter_add(ctx, st->c_already_filtered, c[BEAM_ETL_STAT_FILTERED]);
  rep->stats.v[BEAM_ETL_STAT_DEAD_LETTERED] = read_dead; /* not what this writer refused */
  rep->stats.v[BEAM_ETL_STAT_WRITTEN] = c[BEAM_ETL_STAT_RECORDS] - read_dead - c[BEAM_ETL_STAT_FILTERED];
}

/* A file's _files element: see "Units" above. Viewed in the call's scratch memory, which
 * outlives the flushes (they free the batch arena). */
static beam_status unit_end_report(write_state *st, beam_dofn_ctx *ctx, const beam_value *element, beam_error *err) {
  beam_arena *a = beam_dofn_scratch(ctx);
  const char *table, *file;
  beam_etl_row row;
  beam_etl_file_report rep;
  beam_status s = beam_etl_element_view(element, st->spec, a, &table, &file, &row, err);
  if (s == BEAM_OK) s = beam_etl_files_row_read(&row, a, &rep, err);
  if (s != BEAM_OK) return s;
  size_t id_len;
  int64_t range_start, range_end;
  bool range = beam_etl_unit_key_parse(rep.file_id, &id_len, &range_start, &range_end);
  int64_t read_dead = rep.stats.v[BEAM_ETL_STAT_DEAD_LETTERED]; /* add_written adds the writer's */
  bool had_rows = st->unit_open;
  bool alone = st->units && !beam_sink_has_savepoints(st->sink);
  if (alone && !st->unit_open) name_unit_bundle(st, rep.file_id ? rep.file_id : file);
  if ((s = begin_lazily(st, ctx, err)) != BEAM_OK) return s;
  if (st->units && (s = flush_all(st, err)) == BEAM_OK) s = send_late(st, err);
  bool done_before = false;
  bool failed = strcmp(rep.status, BEAM_ETL_FILE_LOADED) != 0;
  if (s == BEAM_OK) s = already_loaded(st, &rep, &done_before, err);
  bool empty = range && range_end <= range_start; /* a split before its first claim: nothing to commit */
  if (s == BEAM_OK && st->units && range && !failed && !done_before && !empty)
    s = range_covered(st, rep.file_id, id_len, range_start, range_end, &done_before, err);
  /* Rows dropped as committed before were read again but not written again. */
  int64_t skipped = st->unit_skipped;
  st->unit_skipped = 0;
  if (s == BEAM_OK && skipped && !done_before) beam_dofn_counter_add(ctx, st->c_already_records, skipped);
  if (s != BEAM_OK) return s;
  if (st->units && (failed || done_before)) s = unit_drop(st, file, err);
  else if (st->units) add_written(st, file, &rep);
  if (s == BEAM_OK && st->units && !failed && !done_before) s = beam_etl_files_check_accounted(&rep, err);
  st->unit_open = false;
  if (s != BEAM_OK || done_before) {
    if (s == BEAM_OK) beam_dofn_counter_add(ctx, range ? st->c_ranges_already : st->c_already, 1);
    if (s == BEAM_OK && st->units) {
      beam_dofn_counter_add(ctx, st->c_already_records, rep.stats.v[BEAM_ETL_STAT_RECORDS]);
      beam_dofn_counter_add(ctx, st->c_already_filtered, rep.stats.v[BEAM_ETL_STAT_FILTERED]);
    }
    if (s == BEAM_OK && alone && st->in_bundle) s = commit_bundle(st, ctx, err); /* nothing in it */
    st->unit_bundle[0] = '\0';
    if (s != BEAM_OK || !range) return s;
    /* Its file's _files row still needs this range's counts: what the read says was written. */
    rep.stats.v[BEAM_ETL_STAT_WRITTEN] = rep.stats.v[BEAM_ETL_STAT_RECORDS] - rep.stats.v[BEAM_ETL_STAT_DEAD_LETTERED] -
                                         rep.stats.v[BEAM_ETL_STAT_FILTERED];
    return emit_file(st, ctx, file, &rep, true, err);
  }
  /* A failed file's _files row, after its rows were dropped, goes in a bundle of its own when
   * the sink commits units alone: unique, so a later load of the same file is not taken for it. */
  if (alone && !st->in_bundle)
    snprintf(st->unit_bundle, sizeof st->unit_bundle, "%s#failed@%lld", rep.file_id ? rep.file_id : file,
             (long long)beam_etl_now_micros());
  s = begin_lazily(st, ctx, err);
  if (s == BEAM_OK && failed && !range) s = retract_ranges(st, &rep, err);
  /* Its rows are gone, unless ranges of it committed on a sink that cannot retract them. */
  if (failed && !range && (rep.ranges <= 1 || beam_sink_can_retract(st->sink))) beam_etl_file_report_keep_none(&rep);
  if (s == BEAM_OK && !empty) s = record_file(st, &rep, range, err);
  if (s == BEAM_OK && alone) s = commit_bundle(st, ctx, err);
  st->unit_bundle[0] = '\0';
  if (s == BEAM_OK && alone && !failed && beam_sink_last_bundle_was_duplicate(st->sink)) {
    unit_loaded_meanwhile(st, ctx, &rep, range, had_rows, skipped, read_dead);
    if (!range) return BEAM_OK;
  }
  return s == BEAM_OK ? emit_file(st, ctx, file, &rep, range, err) : s;
}

/* The report ends the unit: what it did not take so far is the unit's for good. */
static beam_status unit_end(write_state *st, beam_dofn_ctx *ctx, const beam_value *element, beam_error *err) {
  beam_status s = unit_end_report(st, ctx, element, err);
  st->not_taken_at_unit = st->not_taken;
  return s;
}

/* A row the destination does not take: counted, and a routed one as written for its file
 * (_files.written is what the ETL routed; see the top). */
static beam_status not_taken(write_state *st, const char *table, const char *file, beam_error *err) {
  st->not_taken++;
  if (strcmp(table, BEAM_ETL_DEAD_LETTER_TABLE) == 0) return BEAM_OK;
  beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->per_file, file);
  if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  fs->v[BEAM_ETL_STAT_WRITTEN]++;
  return BEAM_OK;
}

/* Whether the destination takes row: its `where` was compiled against the union schema, and
 * a routed row is in its table's shape. */
static beam_status takes_row(write_state *st, const char *table, const beam_etl_row *row, bool *takes,
                             beam_error *err) {
  beam_etl_row in_union = *row;
  bool routed = table[0] != '_'; /* bookkeeping tables are selected by name only */
  beam_status s = routed ? beam_etl_row_in_union(st->spec, row, &st->batch, &in_union, err) : BEAM_OK;
  *takes = s == BEAM_OK && beam_etl_destination_takes_row(&st->dest, table, &in_union);
  return s;
}

static beam_status process_element(write_state *st, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                   beam_error *err) {
  const char *table, *file;
  beam_etl_row row;
  beam_status s = beam_etl_element_view_cached(elem->value, st->spec, &st->batch, &st->view, &table, &file, &row, err);
  if (s == BEAM_OK && strcmp(table, BEAM_ETL_FILES_TABLE) == 0) return unit_end(st, ctx, elem->value, err);
  if (s == BEAM_OK && strcmp(table, BEAM_ETL_STREAM_BUNDLES_TABLE) == 0)
    return beam_etl_write_stream_header(&st->stream, st->sink, &row, err);
  bool skip = false;
  if (s == BEAM_OK && st->stream.on) s = beam_etl_write_stream_next_row(&st->stream, row.origin.file_id, &skip, err);
  if (s == BEAM_OK && st->skip_committed) s = skip_committed_row(st, table, file, &row, &skip, err);
  if (s != BEAM_OK || skip) return s;
  if (st->selects) {
    bool takes = false;
    s = takes_row(st, table, &row, &takes, err);
    if (s != BEAM_OK) return s;
    if (!takes) return not_taken(st, table, file, err);
  }
  if (s == BEAM_OK && st->units && !st->unit_open) {
    /* unit_start flushes, which frees the batch arena the view lives in: view again. */
    s = unit_start(st, ctx, &row, err);
    if (s == BEAM_OK) s = beam_etl_element_view_cached(elem->value, st->spec, &st->batch, &st->view, &table, &file, &row, err);
  }
  if (s == BEAM_OK) s = begin_lazily(st, ctx, err);
  if (s != BEAM_OK) return s;
  pending_table *t;
  if ((s = find_table(st, table, row.schema, &t, err)) != BEAM_OK) return s;
  if (t->n == PENDING_LIMIT - 1 || st->pending >= PENDING_LIMIT) {
    /* Keep room for the refused rows flush_all may add to the dead-letter batch. */
    if ((s = flush_all(st, err)) != BEAM_OK) return s;
    if ((s = beam_etl_element_view_cached(elem->value, st->spec, &st->batch, &st->view, &table, &file, &row, err)) != BEAM_OK) return s;
  }
  row.values = copy_values(&st->batch, row.values, row.schema->n_fields);
  if (!row.values) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st->stream.on) row.origin.event_time_us = elem->timestamp_ms * 1000; /* ReadMessages' event time */
  t->rows[t->n] = row;
  t->files[t->n++] = file;
  st->pending++;
  return BEAM_OK;
}

static beam_status write_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  write_state *st = state;
  return named(st, process_element(st, ctx, elem, err), err);
}

/* A stream's bundle: the ledger entries of its new messages and its _stream_bundles row, with
 * what this writer wrote (after the sink's late refusals), into the open bundle. */
static beam_status stream_bundle_end(write_state *st, beam_dofn_ctx *ctx, beam_error *err) {
  beam_etl_write_stream *ws = &st->stream;
  if (ws->held_messages) beam_dofn_counter_add(ctx, st->c_messages_already, ws->held_messages);
  if (!ws->messages_new) return BEAM_OK; /* every message committed before: nothing to commit */
  beam_status s = begin_lazily(st, ctx, err);
  if (s == BEAM_OK) s = flush_all(st, err);
  if (s == BEAM_OK) s = send_late(st, err);
  if (s == BEAM_OK) s = beam_etl_write_stream_record(ws, st->sink, st->reload, err);
  if (s != BEAM_OK) return s;
  beam_etl_file_stats *fs = beam_etl_stats_map_get(&st->per_file, ws->subscription);
  if (!fs) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_etl_row row;
  pending_table *t;
  if ((s = beam_etl_write_stream_row(ws, fs->v[BEAM_ETL_STAT_WRITTEN], fs->v[BEAM_ETL_STAT_DEAD_LETTERED], &st->batch,
                                     &row, err)) != BEAM_OK ||
      (s = find_table(st, BEAM_ETL_STREAM_BUNDLES_TABLE, row.schema, &t, err)) != BEAM_OK)
    return s;
  if (!t->dropped) {
    t->rows[t->n] = row;
    t->files[t->n++] = ws->subscription;
    st->pending++;
    beam_dofn_counter_add(ctx, st->c_stream_bundles, 1);
  }
  beam_dofn_counter_add(ctx, st->c_stream_messages, ws->messages_new);
  beam_value v;
  if (st->out_files >= 0 && beam_etl_element_make(beam_dofn_scratch(ctx), BEAM_ETL_STREAM_BUNDLES_TABLE,
                                                  ws->subscription, &row, false, &v) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st->out_files < 0) return BEAM_OK;
  /* finish_bundle has no current element: the row goes out in the global window, at its commit. */
  beam_window global = {BEAM_WINDOW_GLOBAL, 0, 0, {NULL, 0}};
  beam_windowed_value wv = {&v, row.values[7].u.i64 / 1000, &global, 1, BEAM_PANE_NO_FIRING};
  return beam_dofn_emit_windowed(ctx, st->out_files, &wv, err);
}

/* Publish-to-commit latency of the messages just committed, as bucket counters (they sum
 * over threads and workers; the summary reads p50/p99 from them). */
static beam_status count_stream_latency(write_state *st, beam_dofn_ctx *ctx, beam_error *err) {
  beam_latency_histogram h = {0};
  beam_etl_write_stream_latency(&st->stream, beam_etl_now_micros(), &h);
  char name[64];
  beam_status s = BEAM_OK;
  for (int i = 0; s == BEAM_OK && i < BEAM_LATENCY_BUCKETS; i++) {
    if (!h.counts[i]) continue;
    snprintf(name, sizeof name, BEAM_ETL_COMMIT_LATENCY_COUNTER "%d", i);
    s = beam_dofn_counter_add_named(ctx, name, (int64_t)h.counts[i], err);
  }
  return s;
}

static beam_status finish(write_state *st, beam_dofn_ctx *ctx, beam_error *err) {
  beam_status s = st->stream.have_header ? stream_bundle_end(st, ctx, err) : BEAM_OK;
  if (s == BEAM_OK && st->in_bundle) s = commit_bundle(st, ctx, err);
  if (s == BEAM_OK && st->stream.have_header) s = count_stream_latency(st, ctx, err);
  beam_etl_write_stream_reset(&st->stream);
  if (s != BEAM_OK) return s;
  if (st->not_taken) beam_dofn_counter_add(ctx, st->c_not_taken, st->not_taken);
  st->not_taken = st->not_taken_at_unit = 0;
  char name[160];
  for (size_t i = 0; s == BEAM_OK && i < st->n_tables; i++) {
    if (!st->tables[i].written) continue;
    snprintf(name, sizeof name, "written.%s", st->tables[i].name);
    s = beam_dofn_counter_add_named(ctx, name, st->tables[i].written, err);
    st->tables[i].written = 0;
  }
  if (s == BEAM_OK) s = beam_etl_stats_map_drain(&st->per_file, ctx, st->out_stats, err);
  return s;
}

static beam_status write_finish(void *state, beam_dofn_ctx *ctx, beam_error *err) {
  write_state *st = state;
  return named(st, finish(st, ctx, err), err);
}

static void write_teardown(void *state) {
  write_state *st = state;
  beam_sink_free(st->sink); /* aborts an open bundle: nothing uncommitted becomes visible */
  for (size_t i = 0; i < st->n_tables; i++)
    free(st->tables[i].name), free(st->tables[i].rows), free(st->tables[i].files), free(st->tables[i].late);
  beam_arena_free(&st->late_names);
  free(st->tables);
  beam_arena_free(&st->batch);
  beam_etl_stats_map_free(&st->per_file);
  beam_buf_free(&st->json);
  beam_etl_spec_free(st->spec);
  beam_arena_free(&st->dest_arena);
  free(st->label);
  free(st->transform_id);
  forget_committed(st);
  free(st->committed);
  beam_etl_write_stream_free(&st->stream);
}

const beam_dofn_def beam_etl_write_dofn = {
    .name = "etl_write",
    .state_size = sizeof(write_state),
    .setup = write_setup,
    .start_bundle = write_start,
    .process = write_process,
    .finish_bundle = write_finish,
    .teardown = write_teardown,
};
