/* The BigQuery sink: bigquery:PROJECT.DATASET[?option=value&...].
 *
 * Options in the URI: endpoint=URL (an emulator or a loopback fake: no credentials are
 * sent; BIGQUERY_EMULATOR_HOST does the same), location=US (for the dataset and jobs),
 * rows_per_request=500 and request_bytes=5000000 (insertAll limits; BigQuery allows 50,000
 * rows and 10 MB), load_threshold=20000 (a table's rows in one bundle at or above this go
 * by a load job instead of insertAll), bundle_bytes=67108864 (see below), job_timeout_s=600.
 *
 * Tables: the dataset is created when missing (once per sink), each table when missing from
 * its schema (time partitioning and clustering: the table's own options given to
 * beam_sink_ensure_table_with, else DAY partitioning on the sink-wide partition_field and
 * clustering on cluster_fields where the table has them; see sink_bigquery_table.c); an existing table gains the spec's missing NULLABLE fields
 * (tables.patch) and must otherwise have the same fields, types and modes.
 * Existence is asked once per table per sink (tables.get), never per bundle or row.
 * A stream's sink (opts.stream_ledger) creates a table without a partition field partitioned
 * by ingestion day and sends each row with an event time to its day's partition ("t$20261107",
 * a partition decorator: BigQuery's way to put a streamed row in a past day's partition), as
 * it does for an existing table partitioned that way.
 *
 * What "atomic bundle" means here. BigQuery's streaming inserts are not transactional, so
 * this sink keeps a bundle's rows in memory (as the JSON it will send) and sends nothing
 * before the bundle ends: a bundle that fails or is aborted before that leaves nothing.
 * The rows are sent at the end of the bundle - by beam_sink_send, which reports the rows
 * BigQuery refuses (insertErrors) so the caller can dead-letter them in the same bundle, and
 * by commit for whatever is left (the dead letters themselves). A failure while sending can
 * leave part of the bundle in the table; the retry sends the same rows with the same
 * insertIds (deduplicated by BigQuery, best-effort, within its dedupe window) or the same
 * load job id (exact: the existing job is found and not run again). A bundle id already
 * committed by this sink is recognized and writes nothing. A runner that retries a bundle
 * under a new instruction id sends rows read from records with the same insertIds (they are
 * keyed by each record's file identity and byte offset, beam_sink_record_id: the same at a
 * relaunch of the same command too), so BigQuery drops the repeats within its dedupe window;
 * only rows without a record (_files) carry the bundle's id.
 *
 * Memory: a bundle's rows are held (as JSON) until they are sent. So that a big bundle (the
 * local runner makes a whole file one bundle) does not hold a whole file, a table whose unsent
 * rows pass bundle_bytes is sent at once, inside the bundle; the rows BigQuery refuses then
 * are kept and handed over by the next beam_sink_send. Those rows are visible before the
 * bundle ends: a bundle that fails later leaves them, and its retry is deduplicated as above. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "beam/transforms/etl_time.h"
#include "sink_bigquery_internal.h"
#include "sink_uri_options.h"
#include "sink_tables.h"

#define MAX_REQUEST_BYTES ((size_t)9 << 20) /* below BigQuery's 10 MB request limit */

static bq_sink *as_bq(beam_sink *s) { return (bq_sink *)s; }

BEAM_SINK_TABLE_NAME_FIRST(bq_table);

static bq_table *table_find(bq_sink *q, const char *name) {
  size_t i = beam_sink_table_index(q->tables, q->n_tables, sizeof *q->tables, NULL, name);
  return i < q->n_tables ? &q->tables[i] : NULL;
}

/* Frees what a table and a day child alike own (not the parent's writer or days). */
static void free_rows(bq_table *t) {
  free(t->name), free(t->ends), free(t->seqs), free(t->record_ids);
  beam_sink_row_errors_free(&t->refused);
  beam_buf_free(&t->rows);
}

/* Frees t's day children (bq_table.by_event_day). */
static void free_days(bq_table *t) {
  for (size_t d = 0; d < t->n_days; d++) free_rows(&t->days[d]);
  free(t->days);
  t->days = NULL;
  t->n_days = t->cap_days = 0;
}

static void clear_bundle(bq_sink *q) {
  for (size_t i = 0; i < q->n_tables; i++) {
    bq_table *t = &q->tables[i];
    beam_sink_row_errors_reset(&t->refused);
    beam_buf_reset(&t->rows);
    t->n = 0;
    t->next_seq = 0;
    free_days(t); /* a long stream passes through many days: keep none */
  }
  free(q->bundle_id);
  q->bundle_id = NULL;
}

/* ---- Tables ------------------------------------------------------------------------ */

/* Adds the fields marked in add to the existing table with tables.patch. Workers doing the
 * same at once are harmless (the same schema twice); a patch the service refuses because the
 * table changed meanwhile is judged by reading the table again: when it now has the fields,
 * someone else added them. */
static beam_status add_fields(bq_sink *q, const char *name, const beam_etl_schema *schema, json_t *existing,
                              bool *add, beam_error *err) {
  json_t *patch = beam_bq_schema_patch(existing, schema, add);
  if (!patch) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  json_t *patched = NULL;
  long status = 0;
  beam_status s = beam_bq_patch_table(q->bq, q->dataset, name, patch, &patched, &status, err);
  json_decref(patch);
  if (s != BEAM_OK && status >= 400 && status < 500) {
    beam_status refused = s;
    beam_error why = {0};
    s = beam_bq_get_table(q->bq, q->dataset, name, &patched, &why);
    if (s == BEAM_OK && !patched) s = beam_error_set(&why, BEAM_ERR_IO, "dropped while adding fields");
    if (s == BEAM_OK) s = beam_bq_schema_plan(q, name, schema, patched, add, &why);
    if (s == BEAM_OK && beam_sink_columns_any_added(add, schema->n_fields)) s = refused; /* err still says why */
    else if (err) *err = why; /* fits now, or the new reason */
  } else if (s == BEAM_OK) {
    s = beam_bq_schema_plan(q, name, schema, patched, add, err);
    if (s == BEAM_OK && beam_sink_columns_any_added(add, schema->n_fields))
      s = beam_error_set(err, BEAM_ERR_IO, "tables.patch answered without the added fields");
  }
  json_decref(patched);
  return s;
}

/* Creates the table unless it exists; an existing table gains the spec's missing NULLABLE
 * fields, any other difference is an error. */
/* A stream's table partitioned by ingestion day (no partition field): rows go to the
 * partition of their event day (bq_table.by_event_day). */
static bool by_ingestion_day(const bq_sink *q, const json_t *table) {
  const json_t *tp = json_object_get(table, "timePartitioning");
  const char *type = json_string_value(json_object_get(tp, "type"));
  return q->stream && tp && !json_object_get(tp, "field") && type && strcmp(type, "DAY") == 0;
}

static beam_status create_or_check(bq_sink *q, const char *name, const beam_etl_schema *schema,
                                   const beam_sink_table_options *topts, bool *by_day, beam_error *err) {
  json_t *existing = NULL;
  json_t *created = NULL;
  beam_status s = beam_bq_get_table(q->bq, q->dataset, name, &existing, err);
  if (s == BEAM_OK && !existing) {
    beam_sink_table_options wide;
    if (!topts) beam_bq_sink_wide_options(q, schema, &wide);
    json_t *resource = beam_bq_table_resource(q, name, schema, topts ? topts : &wide);
    bool existed = false;
    s = resource ? beam_bq_insert_table(q->bq, q->dataset, resource, &existed, err)
                 : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    created = resource;
    /* Created meanwhile by another worker (or our own lost first attempt): check it. */
    if (s == BEAM_OK && existed) s = beam_bq_get_table(q->bq, q->dataset, name, &existing, err);
  }
  bool *add = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *add);
  if (!add) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK && existing) s = beam_bq_schema_plan(q, name, schema, existing, add, err);
  if (s == BEAM_OK && existing && beam_sink_columns_any_added(add, schema->n_fields)) s = add_fields(q, name, schema, existing, add, err);
  free(add);
  *by_day = by_ingestion_day(q, existing ? existing : created);
  json_decref(created);
  json_decref(existing);
  return s;
}

static beam_status bq_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   const beam_sink_table_options *topts, beam_error *err) {
  bq_sink *q = as_bq(s);
  if (table_find(q, table)) return BEAM_OK;
  beam_status st = BEAM_OK;
  if (!q->dataset_ready) st = beam_bq_ensure_dataset(q->bq, q->dataset, q->location, err);
  q->dataset_ready = st == BEAM_OK;
  bool by_day = false;
  if (st == BEAM_OK) st = create_or_check(q, table, schema, topts, &by_day, err);
  if (st != BEAM_OK) return beam_error_prefix(err, "bigquery sink: table %s: ", table);
  bq_table *grown = beam_sink_tables_reserve(q->tables, q->n_tables, &q->cap_tables, sizeof *grown);
  if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  q->tables = grown;
  bq_table *t = &q->tables[q->n_tables];
  memset(t, 0, sizeof *t);
  t->schema = schema;
  /* Bookkeeping tables (_dead_letter, _stream_bundles) keep ingestion time: a dead letter
   * must land even when its message's day is out of the decorators' reach. */
  t->by_event_day = by_day && table[0] != '_';
  if (!(t->name = strdup(table)) || beam_json_row_writer_init(&t->writer, schema) != BEAM_OK) {
    free(t->name);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  q->n_tables++;
  return BEAM_OK;
}

/* ---- Bundles ----------------------------------------------------------------------- */

static bool was_committed(const bq_sink *q, const char *bundle_id) {
  for (size_t i = 0; i < q->n_committed; i++)
    if (strcmp(q->committed[i], bundle_id) == 0) return true;
  return false;
}

static beam_status bq_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  bq_sink *q = as_bq(s);
  clear_bundle(q);
  if (!(q->bundle_id = strdup(bundle_id))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_sink_name_hash(bundle_id, q->bundle_hash);
  s->duplicate = was_committed(q, bundle_id);
  return BEAM_OK;
}

static beam_status push_row(bq_table *t, size_t end, const char *record_id, size_t seq) {
  enum { RID = BEAM_SINK_RECORD_ID_LEN + 1 };
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    size_t *ends = realloc(t->ends, cap * sizeof *ends);
    if (!ends) return BEAM_ERR_NOMEM;
    t->ends = ends;
    size_t *seqs = realloc(t->seqs, cap * sizeof *seqs);
    if (!seqs) return BEAM_ERR_NOMEM;
    t->seqs = seqs;
    char *rids = realloc(t->record_ids, cap * RID);
    if (!rids) return BEAM_ERR_NOMEM;
    t->record_ids = rids;
    t->cap = cap;
  }
  t->ends[t->n] = end;
  memcpy(t->record_ids + t->n * RID, record_id, RID);
  t->seqs[t->n++] = seq;
  return BEAM_OK;
}

#define MICROS_PER_DAY INT64_C(86400000000)

static int64_t day_of(int64_t us) { return us / MICROS_PER_DAY - (us % MICROS_PER_DAY < 0); }

/* A stream writes the partitions of the last 31 days and the next 16 (BigQuery's rule for
 * partition decorators); false for a row of another day, written nowhere (a wrong partition
 * would be a guess). */
static bool day_writable(int64_t day) {
  int64_t today = day_of(beam_etl_now_micros());
  return day >= today - 31 && day <= today + 16;
}

/* Where a row of t goes: t, or for a row with an event time in a table partitioned by
 * ingestion day the child of its day (made the first time: "name$YYYYMMDD"). NULL: no memory. */
static bq_table *row_target(bq_table *t, const beam_etl_row *row) {
  if (!t->by_event_day || !row->origin.event_time_us) return t;
  int64_t day = day_of(row->origin.event_time_us);
  for (size_t d = 0; d < t->n_days; d++)
    if (t->days[d].day == day) return &t->days[d];
  if (t->n_days == t->cap_days) {
    size_t cap = t->cap_days ? t->cap_days * 2 : 4;
    bq_table *grown = realloc(t->days, cap * sizeof *grown);
    if (!grown) return NULL;
    t->days = grown;
    t->cap_days = cap;
  }
  bq_table *c = &t->days[t->n_days];
  memset(c, 0, sizeof *c);
  c->schema = t->schema;
  c->day = day;
  int64_t year;
  int month, mday;
  beam_etl_civil_from_days(day, &year, &month, &mday);
  if (asprintf(&c->name, "%s$%04lld%02d%02d", t->name, (long long)year, month, mday) < 0) return NULL;
  t->n_days++;
  return c;
}

/* Unsent bytes of t and its days. */
static size_t bytes_held(const bq_table *t) {
  size_t n = t->rows.len;
  for (size_t d = 0; d < t->n_days; d++) n += t->days[d].rows.len;
  return n;
}

/* t's unsent rows, and its days' (bq_table.by_event_day). */
static beam_status send_with_days(bq_sink *q, bq_table *t, beam_sink_row_errors *rejected, beam_error *err) {
  beam_status st = beam_bq_send_table(q, t, rejected, err);
  for (size_t d = 0; st == BEAM_OK && d < t->n_days; d++) st = beam_bq_send_table(q, &t->days[d], rejected, err);
  return st;
}

/* Encodes the rows as the JSON insertAll and load jobs send; nothing goes out yet. Rows
 * that can never be written (not the table's schema, larger than a request) are refused. */
static beam_status bq_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                                 beam_sink_row_errors *rejected, beam_error *err) {
  bq_sink *q = as_bq(s);
  bq_table *t = table_find(q, table);
  if (!t) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "bigquery sink: table %s was not ensured", table);
  char reason[256];
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < n; i++, t->next_seq++) {
    if (!beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason)) {
      st = beam_sink_row_errors_add(rejected, i, "%s", reason);
      continue;
    }
    if (t->by_event_day && rows[i].origin.event_time_us && !day_writable(day_of(rows[i].origin.event_time_us))) {
      st = beam_sink_row_errors_add(rejected, i,
                                    "bigquery: table %s is partitioned by ingestion day and the row's event time is "
                                    "more than 31 days back or 16 ahead: no partition decorator reaches that day",
                                    table);
      continue;
    }
    bq_table *dst = row_target(t, &rows[i]);
    if (!dst) {
      st = BEAM_ERR_NOMEM;
      break;
    }
    size_t start = dst->rows.len;
    st = beam_json_row_writer_append(&t->writer, &dst->rows, rows[i].values);
    if (st == BEAM_OK && dst->rows.len - start > q->max_row_bytes) {
      size_t bytes = dst->rows.len - start;
      dst->rows.len = start;
      st = beam_sink_row_errors_add(rejected, i,
                                    "bigquery: row is %zu bytes as JSON; an insertAll request holds at most %zu, "
                                    "so it can never be written",
                                    bytes, q->max_row_bytes);
      continue;
    }
    /* A record's own id makes its insertId, so a runner's retry under a new bundle id
     * sends the same one; rows without a record fall back to the bundle's. */
    char record_id[BEAM_SINK_RECORD_ID_LEN + 1] = "";
    beam_sink_record_id(table, &rows[i], record_id);
    if (st == BEAM_OK) st = beam_buf_append_byte(&dst->rows, '\n');
    if (st == BEAM_OK) st = push_row(dst, dst->rows.len, record_id, t->next_seq);
    /* Bounded memory: a big bundle goes out in parts (see the top of this file). */
    if (st == BEAM_OK && bytes_held(t) >= q->bundle_bytes) {
      if ((st = send_with_days(q, t, &t->refused, err)) != BEAM_OK) {
        clear_bundle(q);
        return st;
      }
    }
  }
  if (st == BEAM_ERR_NOMEM) return beam_error_set(err, st, "out of memory");
  if (st != BEAM_OK) return beam_error_set(err, st, "bigquery sink: table %s: cannot encode a row", table);
  return BEAM_OK;
}

static beam_status bq_send(beam_sink *s, const char *table, beam_sink_row_errors *rejected, beam_error *err) {
  bq_sink *q = as_bq(s);
  bq_table *t = table_find(q, table);
  if (!t) return beam_error_set(err, BEAM_ERR_NOT_FOUND, "bigquery sink: table %s was not ensured", table);
  /* First the refusals of the sends made while the bundle was written. */
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < t->refused.len; i++) {
    const beam_sink_row_error *r = &t->refused.items[i];
    st = beam_sink_row_errors_add_row(rejected, r->index, r->row, r->row ? strlen(r->row) : 0, "%s", r->reason);
  }
  beam_sink_row_errors_reset(&t->refused);
  if (st != BEAM_OK) st = beam_error_set(err, st, "out of memory");
  if (st == BEAM_OK) st = send_with_days(q, t, rejected, err);
  if (st != BEAM_OK) clear_bundle(q);
  return st;
}

static beam_status remember_commit(bq_sink *q) {
  if (q->n_committed == q->cap_committed) {
    size_t cap = q->cap_committed ? q->cap_committed * 2 : 64;
    char **grown = realloc(q->committed, cap * sizeof *grown);
    if (!grown) return BEAM_ERR_NOMEM;
    q->committed = grown;
    q->cap_committed = cap;
  }
  q->committed[q->n_committed++] = q->bundle_id;
  q->bundle_id = NULL;
  return BEAM_OK;
}

/* Sends what is left; a row refused now has no one to hand it to, so the commit fails. */
static beam_status bq_commit(beam_sink *s, beam_error *err) {
  bq_sink *q = as_bq(s);
  beam_status st = BEAM_OK;
  beam_sink_row_errors refused = BEAM_SINK_ROW_ERRORS_INIT;
  q->refusal_fails = true;
  for (size_t i = 0; st == BEAM_OK && !s->duplicate && i < q->n_tables; i++) {
    const bq_table *t = &q->tables[i];
    if (t->refused.len) /* refused by an early send, and nobody asked (beam_sink_send) */
      st = beam_error_set(err, BEAM_ERR_IO, "bigquery sink: at commit: table %s refused a row: %s", t->name,
                          t->refused.items[0].reason);
    if (st == BEAM_OK && (st = send_with_days(q, &q->tables[i], &refused, err)) != BEAM_OK)
      beam_error_prefix(err, "bigquery sink: at commit: ");
  }
  q->refusal_fails = false;
  beam_sink_row_errors_free(&refused);
  if (st == BEAM_OK && !s->duplicate && remember_commit(q) != BEAM_OK)
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  clear_bundle(q);
  return st;
}

static void bq_abort(beam_sink *s) { clear_bundle(as_bq(s)); }

static beam_status bq_close(beam_sink *s, beam_error *err) {
  (void)err;
  clear_bundle(as_bq(s));
  return BEAM_OK;
}

static void bq_free(beam_sink *s) {
  bq_sink *q = as_bq(s);
  clear_bundle(q);
  for (size_t i = 0; i < q->n_tables; i++) {
    bq_table *t = &q->tables[i];
    free_days(t);
    free_rows(t);
    beam_json_row_writer_free(&t->writer);
  }
  free(q->tables);
  for (size_t i = 0; i < q->n_committed; i++) free(q->committed[i]);
  free(q->committed);
  for (size_t i = 0; i < q->n_cluster_fields; i++) free(q->cluster_fields[i]);
  free(q->cluster_fields);
  free(q->partition_field);
  free(q->project), free(q->dataset), free(q->location);
  beam_buf_free(&q->body);
  beam_bq_free(q->bq);
  free(q);
}

static const beam_sink_vtable bq_vtable = {
    .scheme = "bigquery",
    .ensure_table = bq_ensure_table,
    .begin = bq_begin,
    .write_rows = bq_write_rows,
    .commit = bq_commit,
    .abort = bq_abort,
    .close = bq_close,
    .free = bq_free,
};

/* ---- Opening: PROJECT.DATASET?options ----------------------------------------------- */

static beam_status size_option(const char *key, const char *value, size_t lo, size_t hi, size_t *out,
                               beam_error *err) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(value, &end, 10);
  if (errno || end == value || *end || v < lo || v > hi)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "bigquery sink: %s=%s: expected a number from %zu to %zu", key,
                          value, lo, hi);
  *out = (size_t)v;
  return BEAM_OK;
}

/* What parsing the options fills besides the sink's fields. */
typedef struct bq_open_options {
  bq_sink *q;
  char *endpoint;      /* malloc'd */
  long job_timeout_ms;
} bq_open_options;

static beam_status parse_option(void *ctx, const char *key, const char *v, beam_error *err) {
  bq_open_options *o = ctx;
  bq_sink *q = o->q;
  if (strcmp(key, "endpoint") == 0) {
    free(o->endpoint);
    return (o->endpoint = strdup(v)) ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  if (strcmp(key, "location") == 0) {
    free(q->location);
    return (q->location = strdup(v)) ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  if (strcmp(key, "rows_per_request") == 0) return size_option(key, v, 1, 50000, &q->rows_per_request, err);
  if (strcmp(key, "request_bytes") == 0) return size_option(key, v, 1024, MAX_REQUEST_BYTES, &q->request_bytes, err);
  if (strcmp(key, "load_threshold") == 0) return size_option(key, v, 1, SIZE_MAX, &q->load_threshold, err);
  if (strcmp(key, "bundle_bytes") == 0) return size_option(key, v, 1024, SIZE_MAX, &q->bundle_bytes, err);
  if (strcmp(key, "job_timeout_s") == 0) {
    size_t secs = 0;
    beam_status s = size_option(key, v, 1, 86400, &secs, err);
    o->job_timeout_ms = (long)secs * 1000;
    return s;
  }
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "bigquery sink: unknown option \"%s\" (endpoint, location, rows_per_request, request_bytes, "
                        "load_threshold, bundle_bytes, job_timeout_s)",
                        key);
}

/* PROJECT.DATASET: the dataset is after the last dot (project ids may hold dots and colons:
 * "example.com:proj"). Options are percent-encoded (sink_uri_options.h). */
static beam_status parse_location(bq_open_options *o, char *loc, beam_error *err) {
  bq_sink *q = o->q;
  char *query = (char *)beam_sink_uri_options_start(loc);
  if (query) query[-1] = '\0';
  char *dot = strrchr(loc, '.');
  if (!dot || dot == loc || !dot[1])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "bigquery sink: \"%s\" is not PROJECT.DATASET", loc);
  *dot = '\0';
  if (!beam_sink_table_name_valid(dot + 1))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "bigquery sink: dataset \"%s\": letters, digits and _ only",
                          dot + 1);
  if (!(q->project = strdup(loc)) || !(q->dataset = strdup(dot + 1)))
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return beam_sink_options_each(query, "bigquery sink", parse_option, o, err);
}

static beam_status copy_field_options(bq_sink *q, const beam_sink_options *opts, beam_error *err) {
  if (!opts) return BEAM_OK;
  q->stream = opts->stream_ledger;
  if (opts->partition_field && !(q->partition_field = strdup(opts->partition_field)))
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (opts->n_cluster_fields == 0) return BEAM_OK;
  if (opts->n_cluster_fields > 4)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "bigquery sink: at most 4 clustering fields");
  q->cluster_fields = calloc(opts->n_cluster_fields, sizeof *q->cluster_fields);
  if (!q->cluster_fields) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < opts->n_cluster_fields; i++, q->n_cluster_fields++)
    if (!(q->cluster_fields[i] = strdup(opts->cluster_fields[i]))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

beam_status beam_sink_bigquery_open(const char *location, const beam_sink_options *opts, beam_sink **out,
                                    beam_error *err) {
  *out = NULL;
  bq_sink *q = calloc(1, sizeof *q);
  char *loc = strdup(location ? location : "");
  if (!q || !loc) {
    free(q), free(loc);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  beam_sink_init(&q->base, &bq_vtable, opts);
  q->base.send = bq_send;
  q->rows_per_request = 500;
  q->request_bytes = 5000000;
  q->max_row_bytes = MAX_REQUEST_BYTES - 1024;
  q->load_threshold = 20000;
  q->bundle_bytes = (size_t)64 << 20;
  bq_open_options o = {.q = q};
  beam_status s = parse_location(&o, loc, err);
  if (s == BEAM_OK) s = copy_field_options(q, opts, err);
  if (s == BEAM_OK) {
    beam_bq_options bo = {.endpoint = o.endpoint, .job_timeout_ms = o.job_timeout_ms};
    s = beam_bq_new(q->project, &bo, &q->bq, err);
  }
  free(o.endpoint);
  free(loc);
  if (s != BEAM_OK) {
    bq_free(&q->base);
    return s;
  }
  *out = &q->base;
  return BEAM_OK;
}

beam_status beam_sink_bigquery_check(const char *location, beam_error *err) {
  bq_sink q = {0}; /* only the fields parse_location fills */
  char *loc = strdup(location);
  bq_open_options o = {.q = &q};
  beam_status s = loc ? parse_location(&o, loc, err) : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  free(q.project), free(q.dataset), free(q.location), free(o.endpoint);
  free(loc);
  return s;
}
