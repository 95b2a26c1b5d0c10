/* Object-file sinks: gcs:gs://BUCKET/PREFIX and file:DIR. Rows become JSON-lines objects
 *
 *   {table}/{yyyy}/{mm}/{dd}/{hh}/part-{H}.jsonl          rows by their partition timestamp
 *   {table}/{yyyy}/{mm}/{dd}/{hh}/part-{H}-ingest.jsonl   rows without one, at ingestion hour
 *
 * where H is the first 32 hex digits of SHA-256 of the bundle's content key when every row
 * of it was read from a file (beam_sink_content_key: the same records give the same H at any
 * relaunch), else of its bundle_id; for a stream's bundle (one that records message units)
 * "s", its commit's instant and a hash (stream_hash below): one object per table and hour
 * per bundle. The hour comes from the table's own partition field
 * (beam_sink_ensure_table_with), else opts.partition_field when the table has that field
 * (TIMESTAMP: its UTC hour; DATE: hour 00 of the day), else - and for null values - from
 * the row's origin.event_time_us when set (a stream's rows: the event or publish time), else
 * from the ingestion time. Rows are encoded as the jsonl sink encodes them (json_row_writer.h).
 *
 * A bundle's rows wait in memory (past opts.spill_bytes for the whole bundle, the part being
 * written moves to an unnamed temporary file in $TMPDIR) and are written at commit only:
 *   1. .bundles/{H}.committed exists            -> a retried, committed bundle: write nothing;
 *   2. create .bundles/{H}.pending if absent with {"bundle", "ingest_hour"}; if a previous
 *      attempt left one, take its ingest_hour, so a retry names every part the same;
 *   3. put every part object, never overwriting (GCS: resumable upload with
 *      ifGenerationMatch=0, visible only when complete; directory: link of a finished temp
 *      file). A part that exists was written by an earlier attempt of the same bundle;
 *   4. create .bundles/{H}.committed; remove the pending marker.
 * So each part is written once whatever fails and however often the bundle is retried
 * (given a retry carries the same rows, which Beam's deterministic bundles do). A commit
 * that fails removes the parts it created (best effort; a leftover keeps its name, and the
 * retry skips it). Readers that must not see a bundle before its commit completes check
 * for its .bundles/{H}.committed marker; parts appear one by one during the commit.
 * ".bundles" is not a valid table name, so markers never mix with tables.
 *
 * A stream's sink (opts.stream_ledger) keeps a message ledger in those markers
 * (object_ledger.h): the units its bundles record are claimed before step 2, listed with the
 * part names in the pending marker and again in the committed one, and found by the stream's
 * writer in the ledger, which this process reads once per destination. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "beam/transforms/etl_time.h"
#include "beam/transforms/json_row_writer.h"
#include "sink_int.h"
#include "sink_tables.h"
#include "object_ledger.h"
#include "object_store.h"

#define INGEST_BUCKET INT64_MIN
#define MICROS_PER_HOUR INT64_C(3600000000)

typedef struct obj_table {
  char *name;
  const beam_etl_schema *schema;
  beam_json_row_writer writer;
  int ts_field; /* index of the partition field in this table, or -1 */
} obj_table;
BEAM_SINK_TABLE_NAME_FIRST(obj_table);

/* One output object of the open bundle. */
typedef struct obj_part {
  size_t table;
  int64_t hour;      /* hours since the epoch, or INGEST_BUCKET */
  beam_buf buf;      /* rows not yet spilled */
  int spill_fd;      /* earlier rows, or -1 */
  uint64_t spilled;
  bool created;      /* put by this commit attempt (undone if the commit fails) */
  /* Reading it back for the upload. */
  uint64_t read_pos;
} obj_part;

typedef struct obj_sink {
  beam_sink base;
  const char *scheme;
  beam_object_store *store;
  char *partition_field;
  obj_table *tables;
  size_t n_tables, cap_tables;
  obj_part *parts;
  size_t n_parts, cap_parts;
  size_t last_part;
  size_t buffered;   /* bytes held in the parts' memory buffers */
  char hash[33];
  char *bundle_id;
  /* With a message ledger: the process's, and the units the open bundle records. */
  beam_object_ledger *ledger;
  int64_t committed_us; /* the instant the last commit's marker holds */
  char **units;
  size_t n_units, cap_units;
} obj_sink;

/* ---- Small helpers ----------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void part_name(const obj_sink *o, const obj_part *p, int64_t ingest_hour, char *buf, size_t cap) {
  int64_t hour = p->hour == INGEST_BUCKET ? ingest_hour : p->hour;
  int64_t year;
  int month, day;
  beam_etl_civil_from_days(floor_div(hour, 24), &year, &month, &day);
  snprintf(buf, cap, "%s/%04" PRId64 "/%02d/%02d/%02d/part-%s%s.jsonl", o->tables[p->table].name,
           year, month, day, (int)(hour - floor_div(hour, 24) * 24), o->hash,
           p->hour == INGEST_BUCKET ? "-ingest" : "");
}


/* The instant before which a stream's message units are forgotten (sink.h), or 0. */
static int64_t forget_before_us(const beam_sink_options *opts) {
  if (!opts || opts->message_ledger_days <= 0) return 0;
  return beam_etl_now_micros() - (int64_t)opts->message_ledger_days * 86400 * 1000000;
}

static void part_discard(obj_part *p) {
  beam_buf_free(&p->buf);
  if (p->spill_fd >= 0) close(p->spill_fd);
  p->spill_fd = -1;
}

static void discard_bundle(obj_sink *o) {
  for (size_t i = 0; i < o->n_parts; i++) part_discard(&o->parts[i]);
  o->n_parts = 0;
  o->buffered = 0;
  free(o->bundle_id);
  o->bundle_id = NULL;
  for (size_t i = 0; i < o->n_units; i++) free(o->units[i]);
  o->n_units = 0;
}

static obj_table *table_find(obj_sink *o, const char *name, size_t *index) {
  size_t i = beam_sink_table_index(o->tables, o->n_tables, sizeof *o->tables, NULL, name);
  if (i == o->n_tables) return NULL;
  if (index) *index = i;
  return &o->tables[i];
}

/* ---- The sink vtable --------------------------------------------------------------- */

static beam_status obj_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                    const beam_sink_table_options *topts, beam_error *err) {
  obj_sink *o = (obj_sink *)s;
  obj_table *t = table_find(o, table, NULL);
  if (t) return beam_sink_table_reensure(t->schema, schema, false, o->scheme, o->store->root, table, err);
  obj_table *grown = beam_sink_tables_reserve(o->tables, o->n_tables, &o->cap_tables, sizeof *grown);
  if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  o->tables = grown;
  t = &o->tables[o->n_tables];
  memset(t, 0, sizeof *t);
  t->schema = schema;
  t->ts_field = -1;
  const char *partition_field = topts ? topts->partition_field : o->partition_field;
  if (partition_field) {
    int f = beam_etl_schema_find(schema, partition_field);
    if (f >= 0 && (schema->fields[f].type == BEAM_ETL_TIMESTAMP || schema->fields[f].type == BEAM_ETL_DATE))
      t->ts_field = f;
  }
  t->name = strdup(table);
  if (!t->name || beam_json_row_writer_init(&t->writer, schema) != BEAM_OK) {
    free(t->name);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  o->n_tables++;
  return BEAM_OK;
}

static beam_status obj_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  obj_sink *o = (obj_sink *)s;
  discard_bundle(o);
  o->bundle_id = strdup(bundle_id);
  if (!o->bundle_id) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_sink_name_hash(bundle_id, o->hash);
  return BEAM_OK;
}

static beam_status part_for(obj_sink *o, size_t table, int64_t hour, obj_part **out, beam_error *err) {
  if (o->last_part < o->n_parts && o->parts[o->last_part].table == table &&
      o->parts[o->last_part].hour == hour)
    return *out = &o->parts[o->last_part], BEAM_OK;
  for (size_t i = 0; i < o->n_parts; i++)
    if (o->parts[i].table == table && o->parts[i].hour == hour) {
      o->last_part = i;
      return *out = &o->parts[i], BEAM_OK;
    }
  if (o->n_parts == o->cap_parts) {
    size_t cap = o->cap_parts ? o->cap_parts * 2 : 16;
    obj_part *grown = realloc(o->parts, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    o->parts = grown;
    o->cap_parts = cap;
  }
  obj_part *p = &o->parts[o->n_parts];
  memset(p, 0, sizeof *p);
  p->table = table;
  p->hour = hour;
  p->spill_fd = -1;
  o->last_part = o->n_parts++;
  *out = p;
  return BEAM_OK;
}

static beam_status spill(obj_sink *o, obj_part *p, beam_error *err) {
  if (p->spill_fd < 0) {
    const char *tmp = getenv("TMPDIR");
    p->spill_fd = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (p->spill_fd < 0)
      return beam_error_set(err, BEAM_ERR_IO, "%s %s: creating a spill file: %m", o->scheme, o->store->root);
  }
  size_t off = 0;
  while (off < p->buf.len) {
    ssize_t w = write(p->spill_fd, p->buf.data + off, p->buf.len - off);
    if (w <= 0) return beam_error_set(err, BEAM_ERR_IO, "%s %s: spilling: %m", o->scheme, o->store->root);
    off += (size_t)w;
  }
  p->spilled += p->buf.len;
  o->buffered -= p->buf.len;
  beam_buf_reset(&p->buf);
  return BEAM_OK;
}

static int64_t row_hour(const obj_table *t, const beam_etl_row *row) {
  const beam_value *v = t->ts_field >= 0 ? &row->values[t->ts_field] : NULL;
  if (!v || v->kind != BEAM_VALUE_INT64)
    return row->origin.event_time_us ? floor_div(row->origin.event_time_us, MICROS_PER_HOUR) : INGEST_BUCKET;
  if (t->schema->fields[t->ts_field].type == BEAM_ETL_DATE) return v->u.i64 * 24;
  return floor_div(v->u.i64, MICROS_PER_HOUR);
}

static beam_status obj_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                                  beam_sink_row_errors *rejected, beam_error *err) {
  obj_sink *o = (obj_sink *)s;
  size_t ti;
  obj_table *t = table_find(o, table, &ti);
  if (!t)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND, "%s %s: table %s was not ensured on this sink",
                          o->scheme, o->store->root, table);
  char reason[256];
  for (size_t i = 0; i < n; i++) {
    if (!beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason)) {
      if (beam_sink_row_errors_add(rejected, i, "%s", reason) != BEAM_OK)
        return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      continue;
    }
    obj_part *p = NULL;
    beam_status st = part_for(o, ti, row_hour(t, &rows[i]), &p, err);
    if (st != BEAM_OK) return st;
    size_t before = p->buf.len;
    st = beam_json_row_writer_append(&t->writer, &p->buf, rows[i].values);
    if (st == BEAM_OK) st = beam_buf_append_byte(&p->buf, '\n');
    if (st != BEAM_OK) return beam_error_set(err, st, "%s: encoding a row of table %s failed", o->scheme, table);
    o->buffered += p->buf.len - before;
    /* One budget for the whole bundle, however many tables and hours it spans: past it,
     * the part being written goes to its spill file. */
    if (o->buffered >= o->base.opts.spill_bytes && (st = spill(o, p, err)) != BEAM_OK) return st;
  }
  return BEAM_OK;
}

/* ---- Commit ------------------------------------------------------------------------ */

static beam_status part_read(void *ctx, void *buf, size_t cap, size_t *n, beam_error *err) {
  obj_part *p = ctx;
  *n = 0;
  if (p->read_pos < p->spilled) {
    size_t want = p->spilled - p->read_pos < cap ? (size_t)(p->spilled - p->read_pos) : cap;
    ssize_t r = pread(p->spill_fd, buf, want, (off_t)p->read_pos);
    if (r <= 0) return beam_error_set(err, BEAM_ERR_IO, "reading a spill file back: %m");
    *n = (size_t)r;
  } else {
    uint64_t at = p->read_pos - p->spilled;
    size_t left = at < p->buf.len ? p->buf.len - (size_t)at : 0;
    *n = left < cap ? left : cap;
    if (*n) memcpy(buf, p->buf.data + at, *n);
  }
  p->read_pos += *n;
  return BEAM_OK;
}

static beam_status part_rewind(void *ctx, beam_error *err) {
  (void)err;
  ((obj_part *)ctx)->read_pos = 0;
  return BEAM_OK;
}

static beam_status put_text(obj_sink *o, const char *name, const char *text, bool *created, beam_error *err) {
  return beam_object_store_put_text(o->store, name, text, created, err);
}

/* The bundle's units as a JSON array (NULL when out of memory). */
static json_t *units_json(const obj_sink *o) {
  json_t *units = json_array();
  for (size_t i = 0; units && i < o->n_units; i++)
    if (json_array_append_new(units, json_string(o->units[i])) != 0) json_decref(units), units = NULL;
  return units;
}

/* The pending marker's record: the bundle and its ingestion hour; with units (a stream's
 * bundle), the units and the part names too, for the roll back of a commit that died
 * (object_ledger.c). */
static json_t *pending_record(const obj_sink *o, int64_t ingest_hour) {
  json_t *rec = json_pack("{s:s, s:I}", "bundle", o->bundle_id, "ingest_hour", (json_int_t)ingest_hour);
  if (!rec || !o->n_units) return rec;
  json_t *parts = json_array();
  char name[512];
  for (size_t i = 0; parts && i < o->n_parts; i++) {
    part_name(o, &o->parts[i], ingest_hour, name, sizeof name);
    if (json_array_append_new(parts, json_string(name)) != 0) json_decref(parts), parts = NULL;
  }
  if (json_object_set_new(rec, "parts", parts) != 0 || json_object_set_new(rec, "units", units_json(o)) != 0 ||
      json_object_set_new(rec, "owner", json_string(beam_object_ledger_owner())) != 0 ||
      json_object_set_new(rec, "pending_us", json_integer((json_int_t)beam_etl_now_micros())) != 0)
    json_decref(rec), rec = NULL;
  return rec;
}

/* The ingestion hour of the bundle: ours, or the one an earlier attempt recorded. */
static beam_status pending_marker(obj_sink *o, const char *name, int64_t *ingest_hour, beam_error *err) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  *ingest_hour = floor_div((int64_t)now.tv_sec, 3600);
  json_t *rec = pending_record(o, *ingest_hour);
  char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
  json_decref(rec);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  bool created = false;
  beam_status s = put_text(o, name, text, &created, err);
  free(text);
  if (s != BEAM_OK || created) return s;
  beam_buf prev = BEAM_BUF_INIT;
  s = o->store->ops->get(o->store, name, &prev, err);
  json_t *root = s == BEAM_OK ? json_loadb((const char *)prev.data, prev.len, 0, NULL) : NULL;
  json_t *h = json_object_get(root, "ingest_hour");
  if (s == BEAM_OK && !json_is_integer(h))
    s = beam_error_set(err, BEAM_ERR_MALFORMED, "%s/%s: not a bundle marker", o->store->root, name);
  if (s == BEAM_OK) *ingest_hour = json_integer_value(h);
  json_decref(root);
  beam_buf_free(&prev);
  return s;
}

static void undo_parts(obj_sink *o, int64_t ingest_hour) {
  char name[512];
  beam_error ignored;
  for (size_t i = 0; i < o->n_parts; i++) {
    if (!o->parts[i].created) continue;
    part_name(o, &o->parts[i], ingest_hour, name, sizeof name);
    o->store->ops->remove(o->store, name, &ignored);
  }
}

static beam_status commit_parts(obj_sink *o, beam_error *err) {
  char committed[96], pending[96], name[512];
  snprintf(committed, sizeof committed, ".bundles/%s.committed", o->hash);
  snprintf(pending, sizeof pending, ".bundles/%s.pending", o->hash);
  beam_buf scratch = BEAM_BUF_INIT;
  beam_status s = o->store->ops->get(o->store, committed, &scratch, err);
  beam_buf_free(&scratch);
  if (s == BEAM_OK) {
    o->base.duplicate = true;
    return BEAM_OK;
  }
  if (s != BEAM_ERR_NOT_FOUND) return s;
  int64_t ingest_hour;
  if ((s = pending_marker(o, pending, &ingest_hour, err)) != BEAM_OK) return s;
  for (size_t i = 0; s == BEAM_OK && i < o->n_parts; i++) {
    obj_part *p = &o->parts[i];
    part_name(o, p, ingest_hour, name, sizeof name);
    p->read_pos = 0;
    s = o->store->ops->put_if_absent(o->store, name, part_read, part_rewind, p, &p->created, err);
  }
  bool created;
  if (s == BEAM_OK) {
    json_t *rec = json_pack("{s:s}", "bundle", o->bundle_id);
    o->committed_us = beam_etl_now_micros();
    if (rec && o->n_units &&
        (json_object_set_new(rec, "units", units_json(o)) != 0 ||
         json_object_set_new(rec, "committed_us", json_integer((json_int_t)o->committed_us)) != 0))
      json_decref(rec), rec = NULL;
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    s = text ? put_text(o, committed, text, &created, err) : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    free(text);
  }
  if (s != BEAM_OK) {
    undo_parts(o, ingest_hour);
    return s;
  }
  beam_error ignored;
  o->store->ops->remove(o->store, pending, &ignored); /* tidiness only */
  return BEAM_OK;
}

/* A stream bundle's H (object_ledger.h): "s", the commit's instant (16 hex digits of
 * microseconds) and 15 hex digits of its bundle id's hash - 32 characters, as the others. Its
 * units, not its name, recognise a retry; the name lets the ledger's reader skip file bundles'
 * markers and expired ones without reading them. */
static void stream_hash(obj_sink *o) {
  char h[33];
  beam_sink_name_hash(o->bundle_id, h);
  snprintf(o->hash, sizeof o->hash, "s%016llx%.15s", (unsigned long long)beam_etl_now_micros(), h);
}

static beam_status obj_commit(beam_sink *s, beam_error *err) {
  obj_sink *o = (obj_sink *)s;
  /* Rows read from files name their parts by their content (beam_sink_content_key), so a
   * relaunch that holds the same records under another bundle id finds them committed. */
  if (o->n_units) {
    stream_hash(o);
  } else if (s->content_key[0]) {
    char key[64];
    snprintf(key, sizeof key, "content:%s", s->content_key);
    beam_sink_name_hash(key, o->hash);
  }
  beam_status st = BEAM_OK;
  bool claimed = false;
  if (o->n_units) {
    bool duplicate;
    st = beam_object_ledger_claim(o->ledger, (const char *const *)o->units, o->n_units, &duplicate, err);
    claimed = st == BEAM_OK && !duplicate;
    if (duplicate) s->duplicate = true;
  }
  if (st == BEAM_OK && !s->duplicate && (o->n_parts || o->n_units)) st = commit_parts(o, err);
  /* A duplicate found by its committed marker (the same bundle committed before) holds the
   * units committed too. */
  if (claimed) beam_object_ledger_settle(o->ledger, (const char *const *)o->units, o->n_units, st == BEAM_OK);
  if (claimed && st == BEAM_OK && !s->duplicate) {
    char marker[96];
    snprintf(marker, sizeof marker, ".bundles/%s.committed", o->hash);
    beam_object_ledger_note_commit(o->ledger, o->store, marker, o->committed_us, (const char *const *)o->units,
                                   o->n_units);
  }
  if (st != BEAM_OK) beam_error_prefix(err, "%s %s: commit: ", o->scheme, o->store->root);
  discard_bundle(o);
  return st;
}

/* ---- The message ledger (object_ledger.h) ------------------------------------------- */

static beam_status obj_ledger_record(beam_sink *s, const char *key, const char *file, bool replace, beam_error *err) {
  (void)file, (void)replace; /* a stream's units only: neither a file nor a reload */
  obj_sink *o = (obj_sink *)s;
  if (o->n_units == o->cap_units) {
    size_t cap = o->cap_units ? o->cap_units * 2 : 64;
    char **grown = realloc(o->units, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    o->units = grown;
    o->cap_units = cap;
  }
  if (!(o->units[o->n_units] = strdup(key))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  o->n_units++;
  return BEAM_OK;
}

static bool recorded_now(const obj_sink *o, const char *key) {
  for (size_t i = 0; i < o->n_units; i++)
    if (strcmp(o->units[i], key) == 0) return true;
  return false;
}

static beam_status obj_ledger_find_many(beam_sink *s, const char *const *keys, size_t n, bool *found, beam_error *err) {
  obj_sink *o = (obj_sink *)s;
  beam_status st = beam_object_ledger_find_many(o->ledger, keys, n, found, err);
  for (size_t i = 0; st == BEAM_OK && o->n_units && i < n; i++) found[i] = found[i] || recorded_now(o, keys[i]);
  return st;
}

static beam_status obj_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  beam_status st = obj_ledger_find_many(s, &key, 1, &hit->found, err);
  if (st == BEAM_OK && hit->found) snprintf(hit->file, sizeof hit->file, "%s", "(a stream's message)");
  return st;
}

static beam_status obj_ledger_any(beam_sink *s, bool *any, beam_error *err) {
  (void)err;
  obj_sink *o = (obj_sink *)s;
  *any = o->n_units || beam_object_ledger_any(o->ledger);
  return BEAM_OK;
}

static void obj_abort(beam_sink *s) { discard_bundle((obj_sink *)s); }

static beam_status obj_close(beam_sink *s, beam_error *err) {
  (void)err;
  discard_bundle((obj_sink *)s);
  return BEAM_OK;
}

static void obj_free(beam_sink *s) {
  obj_sink *o = (obj_sink *)s;
  discard_bundle(o);
  free(o->parts);
  free(o->units);
  beam_object_ledger_release(o->ledger);
  for (size_t i = 0; i < o->n_tables; i++) {
    free(o->tables[i].name);
    beam_json_row_writer_free(&o->tables[i].writer);
  }
  free(o->tables);
  free(o->partition_field);
  if (o->store) o->store->ops->free(o->store);
  free(o);
}

static const beam_sink_vtable gcs_vtable = {
    .scheme = "gcs",
    .ensure_table = obj_ensure_table,
    .begin = obj_begin,
    .write_rows = obj_write_rows,
    .commit = obj_commit,
    .abort = obj_abort,
    .close = obj_close,
    .free = obj_free,
};
static const beam_sink_vtable file_vtable = {
    .scheme = "file",
    .ensure_table = obj_ensure_table,
    .begin = obj_begin,
    .write_rows = obj_write_rows,
    .commit = obj_commit,
    .abort = obj_abort,
    .close = obj_close,
    .free = obj_free,
};
/* A stream's: the same with the message ledger. */
#define OBJ_STREAM_VTABLE(name)                                                                              \
  {.scheme = name, .ensure_table = obj_ensure_table, .begin = obj_begin, .write_rows = obj_write_rows,       \
   .commit = obj_commit, .abort = obj_abort, .close = obj_close, .free = obj_free,                           \
   .ledger_record = obj_ledger_record, .ledger_find = obj_ledger_find, .ledger_any = obj_ledger_any,         \
   .ledger_find_many = obj_ledger_find_many}
static const beam_sink_vtable gcs_stream_vtable = OBJ_STREAM_VTABLE("gcs");
static const beam_sink_vtable file_stream_vtable = OBJ_STREAM_VTABLE("file");

static beam_status obj_open(const beam_sink_vtable *vt, const beam_sink_options *opts, beam_sink **out,
                            obj_sink **o, beam_error *err) {
  *out = NULL;
  *o = calloc(1, sizeof **o);
  if (!*o) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_sink_init(&(*o)->base, vt, opts);
  (*o)->base.keys_content = true; /* parts are named by their content when it has a key */
  (*o)->scheme = vt->scheme;
  if (opts && opts->partition_field && !((*o)->partition_field = strdup(opts->partition_field)))
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

beam_status beam_sink_gcs_open(const char *location, const beam_sink_options *opts, beam_sink **out,
                               beam_error *err) {
  obj_sink *o;
  beam_status s = obj_open(opts && opts->stream_ledger ? &gcs_stream_vtable : &gcs_vtable, opts, out, &o, err);
  if (s == BEAM_OK) s = beam_object_store_gcs_open(location, &o->store, err);
  if (s == BEAM_OK && opts && opts->stream_ledger)
    s = beam_object_ledger_acquire(o->store, forget_before_us(opts), &o->ledger, err);
  if (s != BEAM_OK) {
    if (o) obj_free(&o->base);
    return beam_error_prefix(err, "gcs sink: ");
  }
  *out = &o->base;
  return BEAM_OK;
}

beam_status beam_sink_file_open(const char *location, const beam_sink_options *opts, beam_sink **out,
                                beam_error *err) {
  obj_sink *o;
  beam_status s = obj_open(opts && opts->stream_ledger ? &file_stream_vtable : &file_vtable, opts, out, &o, err);
  if (s == BEAM_OK) s = beam_object_store_dir_open(location, opts && opts->no_sync, &o->store, err);
  if (s == BEAM_OK && opts && opts->stream_ledger)
    s = beam_object_ledger_acquire(o->store, forget_before_us(opts), &o->ledger, err);
  if (s != BEAM_OK) {
    if (o) obj_free(&o->base);
    return beam_error_prefix(err, "file sink: ");
  }
  *out = &o->base;
  return BEAM_OK;
}
