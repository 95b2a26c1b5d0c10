/* The sink front: argument checks, the bundle state machine, counters, the scheme registry.
 * Implementations (sink_sqlite.c, sink_jsonl.c, ...) only see calls that make sense. */
#include "sink_int.h"
#include "sink_uri_options.h"
#include "beam/transforms/sink_pubsub.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "beam/sha256.h"

/* ---- Rejected-row lists ------------------------------------------------------------ */

void beam_sink_row_errors_reset(beam_sink_row_errors *e) {
  if (!e) return;
  e->len = 0;
  beam_arena_reset(&e->arena);
}

void beam_sink_row_errors_free(beam_sink_row_errors *e) {
  if (!e) return;
  free(e->items);
  e->items = NULL;
  e->len = e->cap = 0;
  beam_arena_free(&e->arena);
}

__attribute__((format(printf, 5, 0))) static beam_status row_errors_vadd(beam_sink_row_errors *e, size_t index,
                                                                          const char *row, size_t row_len,
                                                                          const char *fmt, va_list ap) {
  if (e->len == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 16;
    beam_sink_row_error *items = realloc(e->items, cap * sizeof *items);
    if (!items) return BEAM_ERR_NOMEM;
    e->items = items;
    e->cap = cap;
  }
  char reason[512];
  vsnprintf(reason, sizeof reason, fmt, ap);
  char *copy = beam_arena_strdup(&e->arena, reason);
  char *row_copy = row ? beam_arena_strndup(&e->arena, row, row_len) : NULL;
  if (!copy || (row && !row_copy)) return BEAM_ERR_NOMEM;
  e->items[e->len].index = index;
  e->items[e->len].reason = copy;
  e->items[e->len].row = row_copy;
  e->len++;
  return BEAM_OK;
}

beam_status beam_sink_row_errors_add(beam_sink_row_errors *e, size_t index, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  beam_status st = row_errors_vadd(e, index, NULL, 0, fmt, ap);
  va_end(ap);
  return st;
}

beam_status beam_sink_row_errors_add_row(beam_sink_row_errors *e, size_t index, const char *row,
                                         size_t row_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  beam_status st = row_errors_vadd(e, index, row, row_len, fmt, ap);
  va_end(ap);
  return st;
}

/* ---- Checks shared by every sink --------------------------------------------------- */

bool beam_sink_table_name_valid(const char *name) {
  if (!name) return false;
  size_t i = 0;
  for (; name[i]; i++) {
    char c = name[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
    if (i >= 128) return false;
  }
  return i > 0;
}

static const char *kind_name(beam_value_kind k) {
  switch (k) {
    case BEAM_VALUE_NULL: return "null";
    case BEAM_VALUE_BOOL: return "bool";
    case BEAM_VALUE_INT64: return "int64";
    case BEAM_VALUE_DOUBLE: return "double";
    case BEAM_VALUE_BYTES: return "bytes";
    case BEAM_VALUE_STRING: return "string";
    default: return "composite";
  }
}

static beam_value_kind kind_for_type(beam_etl_type t) {
  switch (t) {
    case BEAM_ETL_STRING:
    case BEAM_ETL_NUMERIC: return BEAM_VALUE_STRING;
    case BEAM_ETL_INT64:
    case BEAM_ETL_TIMESTAMP:
    case BEAM_ETL_DATE: return BEAM_VALUE_INT64;
    case BEAM_ETL_FLOAT64: return BEAM_VALUE_DOUBLE;
    case BEAM_ETL_BOOL: return BEAM_VALUE_BOOL;
    case BEAM_ETL_BYTES: return BEAM_VALUE_BYTES;
  }
  return BEAM_VALUE_NULL;
}

bool beam_sink_row_conforms(const beam_etl_schema *schema, const beam_etl_row *row, char *reason,
                            size_t reason_cap) {
  if (!row->values && schema->n_fields > 0) {
    snprintf(reason, reason_cap, "row has no values");
    return false;
  }
  if (row->schema && row->schema != schema && row->schema->n_fields != schema->n_fields) {
    snprintf(reason, reason_cap, "row has %zu fields, table has %zu", row->schema->n_fields,
             schema->n_fields);
    return false;
  }
  for (size_t i = 0; i < schema->n_fields; i++) {
    const beam_etl_field *f = &schema->fields[i];
    beam_value_kind k = row->values[i].kind;
    if (k == BEAM_VALUE_NULL) {
      if (f->mode == BEAM_ETL_REQUIRED) {
        snprintf(reason, reason_cap, "field %s: null in a REQUIRED field", f->name);
        return false;
      }
      continue;
    }
    /* Tolerate BYTES for STRING-mapped fields and vice versa: both are byte spans and the
     * sinks treat their contents alike (text is validated or escaped on output). */
    beam_value_kind want = kind_for_type(f->type);
    bool span = (k == BEAM_VALUE_STRING || k == BEAM_VALUE_BYTES) &&
                (want == BEAM_VALUE_STRING || want == BEAM_VALUE_BYTES);
    if (k != want && !span) {
      snprintf(reason, reason_cap, "field %s: %s field holds a %s value", f->name,
               beam_etl_type_name(f->type), kind_name(k));
      return false;
    }
  }
  return true;
}

/* ---- The front: state machine and counters ----------------------------------------- */

void beam_sink_init(beam_sink *s, const beam_sink_vtable *vt, const beam_sink_options *opts) {
  memset(s, 0, sizeof *s);
  s->vt = vt;
  if (opts) s->opts = *opts;
  if (s->opts.batch_rows == 0) s->opts.batch_rows = 64;
  if (s->opts.busy_timeout_ms <= 0) s->opts.busy_timeout_ms = 30000;
  if (s->opts.spill_bytes == 0) s->opts.spill_bytes = (size_t)8 << 20;
  s->state = BEAM_SINK_IDLE;
}

static beam_status closed_error(beam_error *err) {
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sink is closed");
}

beam_status beam_sink_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   beam_error *err) {
  return beam_sink_ensure_table_with(s, table, schema, NULL, err);
}

beam_status beam_sink_ensure_table_with(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                        const beam_sink_table_options *topts, beam_error *err) {
  if (!s || !schema) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ensure_table: NULL argument");
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ensure_table: bundle failed, abort it first");
  if (!beam_sink_table_name_valid(table))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "invalid table name \"%.64s\": must match ^[A-Za-z_][A-Za-z0-9_]*$ "
                          "(at most 128 characters)",
                          table ? table : "(null)");
  if (schema->n_fields == 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: schema has no fields", table);
  for (size_t i = 0; i < schema->n_fields; i++)
    if (!schema->fields[i].name || !schema->fields[i].name[0])
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: field %zu has no name", table, i);
  if (topts && beam_sink_table_options_check(table, schema, topts, err) != BEAM_OK) return BEAM_ERR_INVALID_ARG;
  beam_status st = s->vt->ensure_table(s, table, schema, topts, err);
  if (st != BEAM_OK && s->state == BEAM_SINK_IN_BUNDLE) s->state = BEAM_SINK_FAILED;
  return st;
}

beam_status beam_sink_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  if (!s) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "begin: NULL sink");
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state != BEAM_SINK_IDLE)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "begin: a bundle is already open");
  if (!bundle_id || !bundle_id[0])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "begin: empty bundle id");
  s->duplicate = false;
  s->bundle = (beam_sink_tally){0};
  s->content_key[0] = '\0';
  s->has_mark = false;
  s->n_retracted = 0;
  beam_status st = s->vt->begin(s, bundle_id, err);
  if (st == BEAM_OK) s->state = BEAM_SINK_IN_BUNDLE;
  return st;
}

/* FNV-1a, two lanes: cheap enough per row, and the key only needs to tell record sets apart. */
static void fnv2(uint64_t h[2], const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h[0] = (h[0] ^ p[i]) * 1099511628211ULL;
    h[1] = (h[1] ^ p[i]) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
  }
}

/* A bijection with full avalanche (MurmurHash3's finalizer). FNV's last bytes reach only the
 * low and middle bits, and a plain sum of such hashes let two sets of offsets collide (rows
 * at {a, b} and at {a + 256, b + 256}: two ranges of a file of fixed-width lines), so that a
 * sink took the second range for a retry of the first and dropped it. Mixed, every bit of a
 * record's hash moves the sum. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

/* Adds the rows' record identities (table, file identity, offset) to the bundle's content sum,
 * a sum so that the key does not depend on the rows' order. */
static void content_add(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n) {
  if (s->bundle.content_unkeyable) return;
  uint64_t t[2] = {1469598103934665603ULL, 0x84222325cbf29ce4ULL};
  fnv2(t, table, strlen(table) + 1);
  /* The file identity's hash is cached by pointer within this call only: the caller's strings
   * may be freed and their addresses reused between calls. */
  const char *file_id = NULL;
  uint64_t file_id_hash[2] = {0, 0};
  for (size_t i = 0; i < n; i++) {
    const beam_etl_origin *o = &rows[i].origin;
    if (!o->file_id) {
      s->bundle.content_unkeyable = true;
      return;
    }
    /* Compared before hashed: rows of one file carry equal identities, not always one pointer. */
    if (o->file_id != file_id && (!file_id || strcmp(o->file_id, file_id) != 0)) {
      file_id_hash[0] = 1469598103934665603ULL, file_id_hash[1] = 0x84222325cbf29ce4ULL;
      fnv2(file_id_hash, o->file_id, strlen(o->file_id) + 1);
      file_id = o->file_id;
    }
    uint64_t h[2] = {t[0] ^ file_id_hash[0], t[1] ^ file_id_hash[1]};
    fnv2(h, &o->offset, sizeof o->offset);
    s->bundle.content_sum[0] += mix64(h[0]);
    s->bundle.content_sum[1] += mix64(h[1] ^ 0x9e3779b97f4a7c15ULL);
    s->bundle.content_rows++;
  }
}

/* The bundle's content key, from the sum and the count (48 hex digits). */
static void content_finish(beam_sink *s) {
  s->content_key[0] = '\0';
  if (!s->keys_content || s->bundle.content_unkeyable || !s->bundle.content_rows) return;
  snprintf(s->content_key, sizeof s->content_key, "%016llx%016llx%016llx", (unsigned long long)s->bundle.content_sum[0],
           (unsigned long long)s->bundle.content_sum[1], (unsigned long long)s->bundle.content_rows);
}

beam_status beam_sink_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows,
                                 size_t n, beam_sink_row_errors *rejected, beam_error *err) {
  if (!s) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "write_rows: NULL sink");
  if (rejected) beam_sink_row_errors_reset(rejected);
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "write_rows: bundle failed, abort it first");
  if (s->state != BEAM_SINK_IN_BUNDLE)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "write_rows: no bundle open (call begin)");
  if (n == 0) return BEAM_OK;
  if (!rows || !table) {
    s->state = BEAM_SINK_FAILED;
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "write_rows: NULL rows or table");
  }
  /* A retried bundle that is already committed costs nothing to write. */
  if (s->duplicate) return BEAM_OK;
  beam_sink_row_errors *rej = rejected;
  if (!rej) {
    rej = &s->scratch_rejected;
    beam_sink_row_errors_reset(rej);
  }
  if (s->keys_content && !s->opts.reload) content_add(s, table, rows, n);
  beam_status st = s->vt->write_rows(s, table, rows, n, rej, err);
  if (st == BEAM_OK && !rejected && rej->len > 0)
    st = beam_error_set(err, BEAM_ERR_INVALID_ARG, "table %s: row %zu rejected: %s", table,
                        rej->items[0].index, rej->items[0].reason);
  if (st != BEAM_OK) {
    s->state = BEAM_SINK_FAILED;
    return st;
  }
  s->bundle.rows += n - rej->len;
  s->bundle.rejected += rej->len;
  return BEAM_OK;
}

beam_status beam_sink_send(beam_sink *s, const char *table, beam_sink_row_errors *rejected,
                           beam_error *err) {
  if (!s || !table || !rejected) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "send: NULL argument");
  beam_sink_row_errors_reset(rejected);
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "send: bundle failed, abort it first");
  if (s->state != BEAM_SINK_IN_BUNDLE)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "send: no bundle open (call begin)");
  if (!s->send || s->duplicate) return BEAM_OK;
  beam_status st = s->send(s, table, rejected, err);
  if (st != BEAM_OK) {
    s->state = BEAM_SINK_FAILED;
    return st;
  }
  /* Rows counted as accepted by write_rows turn out refused. */
  s->bundle.rows -= rejected->len <= s->bundle.rows ? rejected->len : s->bundle.rows;
  s->bundle.rejected += rejected->len;
  return BEAM_OK;
}

bool beam_sink_rejects_late(const beam_sink *s) { return s && s->send; }

beam_status beam_sink_commit(beam_sink *s, beam_error *err) {
  if (!s) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "commit: NULL sink");
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "commit: bundle failed, abort it");
  if (s->state != BEAM_SINK_IN_BUNDLE)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "commit: no bundle open");
  content_finish(s);
  beam_status st = s->vt->commit(s, err);
  s->state = BEAM_SINK_IDLE;
  if (st != BEAM_OK || s->duplicate) s->n_retracted = 0; /* nothing of the bundle happened */
  if (st != BEAM_OK) {
    s->stats.bundles_aborted++;
    return st;
  }
  if (s->duplicate) {
    s->stats.bundles_duplicate++;
  } else {
    s->stats.bundles_committed++;
    s->stats.rows_written += s->bundle.rows;
    s->stats.rows_rejected += s->bundle.rejected;
  }
  return BEAM_OK;
}

void beam_sink_abort(beam_sink *s) {
  if (!s || (s->state != BEAM_SINK_IN_BUNDLE && s->state != BEAM_SINK_FAILED)) return;
  s->vt->abort(s);
  s->state = BEAM_SINK_IDLE;
  s->stats.bundles_aborted++;
}

/* ---- Units and the ledger ------------------------------------------------------------ */

bool beam_sink_has_savepoints(const beam_sink *s) { return s && s->vt->savepoint && s->vt->rollback_to_savepoint; }

static beam_status in_healthy_bundle(const beam_sink *s, const char *what, beam_error *err) {
  if (!s) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: NULL sink", what);
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: bundle failed, abort it first", what);
  if (s->state != BEAM_SINK_IN_BUNDLE) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: no bundle open", what);
  return BEAM_OK;
}

beam_status beam_sink_unit_begin(beam_sink *s, beam_error *err) {
  beam_status st = in_healthy_bundle(s, "unit_begin", err);
  if (st != BEAM_OK) return st;
  if (s->duplicate || !beam_sink_has_savepoints(s)) return BEAM_OK;
  if ((st = s->vt->savepoint(s, err)) != BEAM_OK) {
    s->state = BEAM_SINK_FAILED;
    return st;
  }
  s->has_mark = true;
  s->mark = s->bundle;
  return BEAM_OK;
}

beam_status beam_sink_unit_rollback(beam_sink *s, beam_error *err) {
  beam_status st = in_healthy_bundle(s, "unit_rollback", err);
  if (st != BEAM_OK) return st;
  if (!beam_sink_has_savepoints(s))
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "unit_rollback: the %s sink has no savepoints", s->vt->scheme);
  if (s->duplicate) return BEAM_OK;
  if (!s->has_mark) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "unit_rollback: no unit_begin in this bundle");
  if ((st = s->vt->rollback_to_savepoint(s, err)) != BEAM_OK) {
    s->state = BEAM_SINK_FAILED;
    return st;
  }
  s->bundle = s->mark; /* the dropped rows leave counts and content key as if never written */
  return BEAM_OK;
}

bool beam_sink_keeps_ledger(const beam_sink *s) { return s && s->vt->ledger_record; }

beam_status beam_sink_ledger_record(beam_sink *s, const char *key, const char *file, bool replace,
                                    beam_error *err) {
  beam_status st = in_healthy_bundle(s, "ledger_record", err);
  if (st != BEAM_OK) return st;
  if (!key || !key[0]) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_record: empty key");
  if (!beam_sink_keeps_ledger(s) || s->duplicate) return BEAM_OK;
  if ((st = s->vt->ledger_record(s, key, file ? file : "", replace, err)) != BEAM_OK) s->state = BEAM_SINK_FAILED;
  return st;
}

beam_status beam_sink_ledger_find(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err) {
  if (!s || !key || !hit) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_find: NULL argument");
  memset(hit, 0, sizeof *hit);
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_find: bundle failed, abort it first");
  if (!beam_sink_keeps_ledger(s)) return BEAM_OK;
  beam_status st = s->vt->ledger_find(s, key, hit, err);
  if (st != BEAM_OK && s->state == BEAM_SINK_IN_BUNDLE) s->state = BEAM_SINK_FAILED;
  return st;
}

beam_status beam_sink_ledger_find_many(beam_sink *s, const char *const *keys, size_t n, bool *found,
                                       beam_error *err) {
  if (!s || (n && (!keys || !found))) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_find_many: NULL argument");
  if (n) memset(found, 0, n * sizeof *found);
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_find_many: bundle failed, abort it first");
  if (!beam_sink_keeps_ledger(s) || !n) return BEAM_OK;
  beam_status st = BEAM_OK;
  if (s->vt->ledger_find_many) {
    st = s->vt->ledger_find_many(s, keys, n, found, err);
  } else {
    beam_sink_ledger_hit hit;
    for (size_t i = 0; st == BEAM_OK && i < n; i++) {
      memset(&hit, 0, sizeof hit);
      st = s->vt->ledger_find(s, keys[i], &hit, err);
      found[i] = st == BEAM_OK && hit.found;
    }
  }
  if (st != BEAM_OK && s->state == BEAM_SINK_IN_BUNDLE) s->state = BEAM_SINK_FAILED;
  return st;
}

beam_status beam_sink_note_retracted(beam_sink *s, const char *table, int64_t rows) {
  for (size_t i = 0; i < s->n_retracted; i++)
    if (strcmp(s->retracted[i].table, table) == 0) return s->retracted[i].rows += rows, BEAM_OK;
  if (s->n_retracted == s->cap_retracted) {
    size_t cap = s->cap_retracted ? s->cap_retracted * 2 : 4;
    beam_sink_table_rows *grown = realloc(s->retracted, cap * sizeof *grown);
    if (!grown) return BEAM_ERR_NOMEM;
    s->retracted = grown;
    s->cap_retracted = cap;
  }
  beam_sink_table_rows *t = &s->retracted[s->n_retracted++];
  snprintf(t->table, sizeof t->table, "%s", table);
  t->rows = rows;
  return BEAM_OK;
}

size_t beam_sink_retracted_rows(const beam_sink *s, const beam_sink_table_rows **out) {
  *out = s ? s->retracted : NULL;
  return s ? s->n_retracted : 0;
}

bool beam_sink_message_expiry_due(const beam_sink *s, int64_t *last) {
  if (!s->opts.stream_ledger || s->opts.message_ledger_days <= 0) return false;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t t = now.tv_sec > 0 ? (int64_t)now.tv_sec : 1;
  if (*last && t - *last < 3600) return false;
  *last = t;
  return true;
}

bool beam_sink_can_retract(const beam_sink *s) { return beam_sink_keeps_ledger(s) && s->vt->retract_units; }

beam_status beam_sink_retract_units(beam_sink *s, const char *file_id, beam_error *err) {
  beam_status st = in_healthy_bundle(s, "retract_units", err);
  if (st != BEAM_OK) return st;
  if (!file_id || !file_id[0]) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "retract_units: empty file id");
  if (!beam_sink_can_retract(s))
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "retract_units: the %s sink cannot retract committed units",
                          s->vt->scheme);
  if (s->duplicate) return BEAM_OK;
  if ((st = s->vt->retract_units(s, file_id, err)) != BEAM_OK) s->state = BEAM_SINK_FAILED;
  return st;
}

beam_status beam_sink_ledger_ranges(beam_sink *s, const char *file_id, beam_sink_ranges *out, beam_error *err) {
  if (!s || !file_id || !out) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_ranges: NULL argument");
  out->len = 0;
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_ranges: bundle failed, abort it first");
  if (!beam_sink_keeps_ledger(s) || !s->vt->ledger_ranges || !file_id[0]) return BEAM_OK;
  beam_status st = s->vt->ledger_ranges(s, file_id, out, err);
  if (st != BEAM_OK) {
    out->len = 0;
    if (s->state == BEAM_SINK_IN_BUNDLE) s->state = BEAM_SINK_FAILED;
    return st;
  }
  beam_sink_ranges_normalize(out);
  return BEAM_OK;
}

beam_status beam_sink_ledger_any(beam_sink *s, bool *any, beam_error *err) {
  if (!s || !any) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_any: NULL argument");
  *any = false;
  if (s->state == BEAM_SINK_CLOSED) return closed_error(err);
  if (s->state == BEAM_SINK_FAILED) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_any: bundle failed, abort it first");
  if (!beam_sink_keeps_ledger(s)) return BEAM_OK;
  beam_status st = s->vt->ledger_any(s, any, err);
  if (st != BEAM_OK && s->state == BEAM_SINK_IN_BUNDLE) s->state = BEAM_SINK_FAILED;
  return st;
}

bool beam_sink_last_bundle_was_duplicate(const beam_sink *s) { return s && s->duplicate; }

void beam_sink_get_stats(const beam_sink *s, beam_sink_stats *out) {
  if (s && out) *out = s->stats;
}

beam_status beam_sink_close(beam_sink *s, beam_error *err) {
  if (!s) return BEAM_OK;
  if (s->state == BEAM_SINK_CLOSED) return BEAM_OK;
  beam_sink_abort(s);
  beam_status st = s->vt->close(s, err);
  s->state = BEAM_SINK_CLOSED;
  return st;
}

void beam_sink_free(beam_sink *s) {
  if (!s) return;
  if (s->state != BEAM_SINK_CLOSED) beam_sink_close(s, NULL);
  beam_sink_row_errors_free(&s->scratch_rejected);
  free(s->retracted);
  s->vt->free(s);
}

/* ---- The scheme registry ----------------------------------------------------------- */

#define MAX_SCHEMES 32
#define MAX_SCHEME_LEN 31

typedef struct scheme_entry {
  char name[MAX_SCHEME_LEN + 1];
  beam_sink_factory factory;
} scheme_entry;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static scheme_entry registry[MAX_SCHEMES];
static size_t registry_len;
static bool registry_seeded;

static bool scheme_name_valid(const char *s, size_t len) {
  if (len == 0 || len > MAX_SCHEME_LEN || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

/* Caller holds registry_lock. */
static beam_status registry_put(const char *name, beam_sink_factory f) {
  for (size_t i = 0; i < registry_len; i++)
    if (strcmp(registry[i].name, name) == 0) {
      registry[i].factory = f;
      return BEAM_OK;
    }
  if (registry_len == MAX_SCHEMES) return BEAM_ERR_NOMEM;
  /* Keep the table sorted so the error message lists schemes in a stable order. */
  size_t at = registry_len;
  while (at > 0 && strcmp(registry[at - 1].name, name) > 0) {
    registry[at] = registry[at - 1];
    at--;
  }
  snprintf(registry[at].name, sizeof registry[at].name, "%s", name);
  registry[at].factory = f;
  registry_len++;
  return BEAM_OK;
}

/* Caller holds registry_lock. Built-ins go in lazily so a user registration made before
 * the first open (e.g. replacing "sqlite" in a test) is not overwritten. */
static void registry_seed(void) {
  static const struct {
    const char *name;
    beam_sink_factory factory;
  } builtins[] = {
      {"sqlite", beam_sink_sqlite_open}, {"jsonl", beam_sink_jsonl_open}, {"gcs", beam_sink_gcs_open},
      {"file", beam_sink_file_open},     {"pubsub", beam_sink_pubsub_open}, {"bigquery", beam_sink_bigquery_open},
      {"postgres", beam_sink_postgres_open},
  };
  if (registry_seeded) return;
  registry_seeded = true;
  for (size_t k = 0; k < sizeof builtins / sizeof builtins[0]; k++) {
    bool have = false;
    for (size_t i = 0; i < registry_len; i++) have = have || strcmp(registry[i].name, builtins[k].name) == 0;
    if (!have) registry_put(builtins[k].name, builtins[k].factory);
  }
}

beam_status beam_sink_register_scheme(const char *scheme, beam_sink_factory factory,
                                      beam_error *err) {
  if (!scheme || !factory || !scheme_name_valid(scheme, strlen(scheme)))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "invalid sink scheme \"%.40s\": lowercase letter then [a-z0-9+.-], "
                          "at most %d characters",
                          scheme ? scheme : "(null)", MAX_SCHEME_LEN);
  pthread_mutex_lock(&registry_lock);
  beam_status st = registry_put(scheme, factory);
  pthread_mutex_unlock(&registry_lock);
  if (st != BEAM_OK)
    return beam_error_set(err, st, "sink scheme registry full (%d schemes)", MAX_SCHEMES);
  return BEAM_OK;
}

/* Caller holds registry_lock. */
static void known_schemes_locked(char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < registry_len && used < cap; i++) {
    int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", registry[i].name);
    if (w < 0) break;
    used += (size_t)w;
  }
}

const char *beam_sink_known_schemes(char *buf, size_t cap) {
  if (!buf || cap == 0) return buf;
  pthread_mutex_lock(&registry_lock);
  registry_seed();
  known_schemes_locked(buf, cap);
  pthread_mutex_unlock(&registry_lock);
  return buf;
}

/* The factory of uri's scheme and where its location starts; the message of a URI without a
 * scheme, an unknown scheme or an empty location otherwise. */
static beam_status lookup_scheme(const char *uri, beam_sink_factory *factory, const char **location,
                                 beam_error *err) {
  const char *colon = strchr(uri, ':');
  size_t slen = colon ? (size_t)(colon - uri) : 0;
  char known[256];
  if (!colon || !scheme_name_valid(uri, slen)) {
    beam_sink_known_schemes(known, sizeof known);
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "sink URI \"%.200s\" has no scheme: expected scheme:location, "
                          "known schemes: %s",
                          uri, known);
  }
  char scheme[MAX_SCHEME_LEN + 1];
  memcpy(scheme, uri, slen);
  scheme[slen] = '\0';
  *factory = NULL;
  pthread_mutex_lock(&registry_lock);
  registry_seed();
  for (size_t i = 0; i < registry_len; i++)
    if (strcmp(registry[i].name, scheme) == 0) *factory = registry[i].factory;
  if (!*factory) known_schemes_locked(known, sizeof known);
  pthread_mutex_unlock(&registry_lock);
  if (!*factory)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND,
                          "unknown sink scheme \"%s\" in \"%.200s\"; known schemes: %s", scheme,
                          uri, known);
  *location = colon + 1;
  if (!(*location)[0])
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sink URI \"%s\" names no location", uri);
  return BEAM_OK;
}

beam_status beam_sink_open(const char *uri, const beam_sink_options *opts, beam_sink **out,
                           beam_error *err) {
  if (!out) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sink open: NULL out");
  *out = NULL;
  if (!uri) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sink open: NULL uri");
  beam_sink_factory factory;
  const char *location;
  beam_status st = lookup_scheme(uri, &factory, &location, err);
  return st == BEAM_OK ? factory(location, opts, out, err) : st;
}

/* The built-in factories' location checks, found by factory so that a scheme the caller
 * registered over a built-in one is not judged by the built-in's rules; and whether the
 * location may carry ?options (sink_uri_options.h: the others would take them for a path). */
static beam_sink_check_fn builtin_check(beam_sink_factory factory, bool *takes_options) {
  static const struct {
    beam_sink_factory factory;
    beam_sink_check_fn check;
    bool takes_options;
  } checks[] = {
      {beam_sink_sqlite_open, beam_sink_sqlite_check, false},    {beam_sink_jsonl_open, beam_sink_dir_check, false},
      {beam_sink_file_open, beam_sink_dir_check, false},         {beam_sink_gcs_open, beam_sink_gcs_check, false},
      {beam_sink_bigquery_open, beam_sink_bigquery_check, true}, {beam_sink_pubsub_open, beam_sink_pubsub_check, true},
      {beam_sink_postgres_open, beam_sink_postgres_check, true},
  };
  *takes_options = true;
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
    if (checks[i].factory == factory) return *takes_options = checks[i].takes_options, checks[i].check;
  return NULL;
}

beam_status beam_sink_check_uri(const char *uri, beam_error *err) {
  if (!uri) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "sink check: NULL uri");
  beam_sink_factory factory;
  const char *location;
  beam_status st = lookup_scheme(uri, &factory, &location, err);
  if (st != BEAM_OK) return st;
  bool takes_options;
  beam_sink_check_fn check = builtin_check(factory, &takes_options);
  const char *options = beam_sink_uri_options_start(uri);
  if (!takes_options && options)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%.200s: unknown option \"%.*s\" (%.*s: takes none)", uri,
                          (int)strcspn(options, "=&"), options, (int)(location - 1 - uri), uri);
  if (!check || (st = check(location, err)) == BEAM_OK) return BEAM_OK;
  beam_error_prefix(err, "%.200s: ", uri);
  return st;
}

bool beam_sink_record_id(const char *table, const beam_etl_row *row, char out[BEAM_SINK_RECORD_ID_LEN + 1]) {
  if (!row->origin.file_id) return false;
  beam_sha256 h;
  beam_error err = {0};
  if (beam_sha256_begin(&h, &err) != BEAM_OK) return false;
  char offset[24];
  int n = snprintf(offset, sizeof offset, "%lld", (long long)row->origin.offset);
  /* NUL-separated, so no two (table, file identity, offset) tuples hash the same text. */
  beam_sha256_update(&h, table, strlen(table) + 1);
  beam_sha256_update(&h, row->origin.file_id, strlen(row->origin.file_id) + 1);
  beam_sha256_update(&h, offset, (size_t)n);
  char hex[BEAM_SHA256_HEX_LEN + 1];
  beam_sha256_end_hex(&h, hex);
  memcpy(out, hex, BEAM_SINK_RECORD_ID_LEN);
  out[BEAM_SINK_RECORD_ID_LEN] = '\0';
  return true;
}

void beam_sink_name_hash(const char *text, char out[33]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}
