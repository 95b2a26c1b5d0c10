/* The Pub/Sub sink (sink_pubsub.h): rows buffered as JSON messages during a bundle and
 * published at commit in requests of one ordering key each, within the request limits. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/etl_coerce.h"
#include "beam/transforms/json_row_writer.h"
#include "beam/transforms/sink_pubsub.h"
#include "google/pubsub/v1/pubsub.pb-c.h"
#include "pubsub_internal.h"
#include "sink_tables.h"

/* Pub/Sub refuses ordering keys above 1 KB and attribute values above 1024 bytes. */
#define MAX_ORDERING_KEY 1024
#define MAX_ROW_ID_PREFIX 900
#define ROW_ID_DIGITS 20
/* Row ids from a record's identity (run, table, source, line) rather than the bundle's. */
#define RECORD_ROW_ID_PREFIX "rec:"

typedef struct ps_table {
  char *name;
  size_t name_len;
  const beam_etl_schema *schema;
  beam_json_row_writer writer;
  int key_field; /* index of the ordering-key field, -1: none */
} ps_table;
BEAM_SINK_TABLE_NAME_FIRST(ps_table);

/* Committed bundle ids of this instance: open addressing, power-of-two capacity. */
typedef struct ps_ids {
  char **slots;
  size_t cap, len;
} ps_ids;

/* Scratch for encoding one request, sized for limits.max_messages. */
typedef struct ps_request {
  Google__Pubsub__V1__PubsubMessage *msgs;
  Google__Pubsub__V1__PubsubMessage **msg_ptrs;
  Google__Pubsub__V1__PubsubMessage__AttributesEntry *attrs;
  Google__Pubsub__V1__PubsubMessage__AttributesEntry **attr_ptrs;
  char *row_ids; /* one slot of row_id_stride bytes per message */
  size_t row_id_stride;
  beam_buf packed;
} ps_request;

typedef struct ps_sink {
  beam_sink base;
  beam_pubsub_target target;
  beam_pubsub_limits limits;
  size_t early_publish_bytes;
  beam_pubsub_publisher *pub;
  ps_table *tables;
  size_t n_tables, cap_tables;
  beam_pubsub_batch batch;
  char row_id_prefix[MAX_ROW_ID_PREFIX + 1]; /* the open bundle's id, or a digest of a long one */
  char *bundle_id;
  ps_ids committed;
  ps_request req;
} ps_sink;

/* ---- Committed bundle ids ---------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
  return h;
}

static bool ids_has(const ps_ids *set, const char *id) {
  if (!set->cap) return false;
  for (size_t i = hash_str(id) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
    if (!set->slots[i]) return false;
    if (strcmp(set->slots[i], id) == 0) return true;
  }
}

static void ids_put(char **slots, size_t cap, char *id) {
  size_t j = hash_str(id) & (cap - 1);
  while (slots[j]) j = (j + 1) & (cap - 1);
  slots[j] = id;
}

static beam_status ids_add(ps_ids *set, const char *id) {
  if (ids_has(set, id)) return BEAM_OK;
  if ((set->len + 1) * 2 > set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    char **slots = calloc(cap, sizeof *slots);
    if (!slots) return BEAM_ERR_NOMEM;
    for (size_t i = 0; i < set->cap; i++)
      if (set->slots[i]) ids_put(slots, cap, set->slots[i]);
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
  }
  char *copy = strdup(id);
  if (!copy) return BEAM_ERR_NOMEM;
  ids_put(set->slots, set->cap, copy);
  set->len++;
  return BEAM_OK;
}

static void ids_free(ps_ids *set) {
  for (size_t i = 0; i < set->cap; i++) free(set->slots[i]);
  free(set->slots);
  memset(set, 0, sizeof *set);
}

/* ---- Tables ------------------------------------------------------------------------ */

static ps_table *table_find(ps_sink *p, const char *name, uint32_t *index) {
  size_t i = beam_sink_table_index(p->tables, p->n_tables, sizeof *p->tables, NULL, name);
  if (i == p->n_tables) return NULL;
  if (index) *index = (uint32_t)i;
  return &p->tables[i];
}

/* The ordering-key field of a table: -1 when the sink has none or the table lacks it. */
static beam_status key_field_of(const ps_sink *p, const char *table, const beam_etl_schema *schema, int *out,
                                beam_error *err) {
  *out = -1;
  if (!p->target.ordering_field) return BEAM_OK;
  for (size_t i = 0; i < schema->n_fields; i++) {
    if (strcmp(schema->fields[i].name, p->target.ordering_field) != 0) continue;
    beam_etl_type t = schema->fields[i].type;
    if (t != BEAM_ETL_STRING && t != BEAM_ETL_NUMERIC && t != BEAM_ETL_BYTES && t != BEAM_ETL_INT64)
      return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                            "pubsub %s: ordering_key field %s of table %s must be STRING, NUMERIC, BYTES or INT64",
                            p->target.topic, p->target.ordering_field, table);
    *out = (int)i;
  }
  return BEAM_OK;
}

static beam_status ps_ensure_table(beam_sink *s, const char *table, const beam_etl_schema *schema,
                                   const beam_sink_table_options *topts, beam_error *err) {
  (void)topts; /* no partitioning or clustering here */
  ps_sink *p = (ps_sink *)s;
  ps_table *t = table_find(p, table, NULL);
  if (t) return beam_sink_table_reensure(t->schema, schema, false, "pubsub", p->target.topic, table, err);
  int key_field;
  beam_status st = key_field_of(p, table, schema, &key_field, err);
  if (st != BEAM_OK) return st;
  ps_table *tables = beam_sink_tables_reserve(p->tables, p->n_tables, &p->cap_tables, sizeof *tables);
  if (!tables) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->tables = tables;
  t = &p->tables[p->n_tables];
  memset(t, 0, sizeof *t);
  t->name = strdup(table);
  t->name_len = strlen(table);
  t->schema = schema;
  t->key_field = key_field;
  st = t->name ? beam_json_row_writer_init(&t->writer, schema) : BEAM_ERR_NOMEM;
  if (st != BEAM_OK) {
    free(t->name);
    return beam_error_set(err, st, "out of memory");
  }
  p->n_tables++;
  return BEAM_OK;
}

/* ---- Publishing -------------------------------------------------------------------- */

static beam_status request_alloc(ps_request *r, size_t max_messages) {
  r->msgs = calloc(max_messages, sizeof *r->msgs);
  r->msg_ptrs = calloc(max_messages, sizeof *r->msg_ptrs);
  r->attrs = calloc(2 * max_messages, sizeof *r->attrs);
  r->attr_ptrs = calloc(2 * max_messages, sizeof *r->attr_ptrs);
  r->row_id_stride = MAX_ROW_ID_PREFIX + 1 + ROW_ID_DIGITS + 1;
  r->row_ids = malloc(max_messages * r->row_id_stride);
  return r->msgs && r->msg_ptrs && r->attrs && r->attr_ptrs && r->row_ids ? BEAM_OK : BEAM_ERR_NOMEM;
}

static void request_free(ps_request *r) {
  free(r->msgs);
  free(r->msg_ptrs);
  free(r->attrs);
  free(r->attr_ptrs);
  free(r->row_ids);
  beam_buf_free(&r->packed);
}

/* Encodes order[start..end) as one PublishRequest into p->req.packed. */
static beam_status encode_request(ps_sink *p, const size_t *order, size_t start, size_t end) {
  ps_request *r = &p->req;
  const beam_pubsub_batch *b = &p->batch;
  for (size_t i = 0; i < end - start; i++) {
    const beam_pubsub_msg *m = &b->msgs[order[start + i]];
    Google__Pubsub__V1__PubsubMessage *pm = &r->msgs[i];
    google__pubsub__v1__pubsub_message__init(pm);
    pm->data.data = (uint8_t *)b->bytes.data + m->data_off;
    pm->data.len = m->data_len;
    char *row_id = r->row_ids + i * r->row_id_stride;
    if (m->record_id[0]) snprintf(row_id, r->row_id_stride, RECORD_ROW_ID_PREFIX "%s", m->record_id);
    else snprintf(row_id, r->row_id_stride, "%s#%" PRIu64, p->row_id_prefix, m->seq);
    Google__Pubsub__V1__PubsubMessage__AttributesEntry *a = &r->attrs[2 * i];
    google__pubsub__v1__pubsub_message__attributes_entry__init(&a[0]);
    google__pubsub__v1__pubsub_message__attributes_entry__init(&a[1]);
    a[0].key = (char *)BEAM_PUBSUB_ATTR_TABLE;
    a[0].value = p->tables[m->table].name;
    a[1].key = (char *)BEAM_PUBSUB_ATTR_ROW_ID;
    a[1].value = row_id;
    r->attr_ptrs[2 * i] = &a[0];
    r->attr_ptrs[2 * i + 1] = &a[1];
    pm->n_attributes = 2;
    pm->attributes = &r->attr_ptrs[2 * i];
    if (m->key_len) pm->ordering_key = (char *)b->bytes.data + m->key_off;
    r->msg_ptrs[i] = pm;
  }
  Google__Pubsub__V1__PublishRequest req = GOOGLE__PUBSUB__V1__PUBLISH_REQUEST__INIT;
  req.topic = p->target.topic;
  req.n_messages = end - start;
  req.messages = r->msg_ptrs;
  size_t size = google__pubsub__v1__publish_request__get_packed_size(&req);
  beam_buf_reset(&r->packed);
  if (beam_buf_reserve(&r->packed, size) != BEAM_OK) return BEAM_ERR_NOMEM;
  r->packed.len = google__pubsub__v1__publish_request__pack(&req, r->packed.data);
  return BEAM_OK;
}

/* Publishes every buffered message, one request after the other. */
static beam_status publish_buffered(ps_sink *p, beam_error *err) {
  if (!p->batch.n) return BEAM_OK;
  size_t *order;
  if (beam_pubsub_batch_order(&p->batch, &order) != BEAM_OK)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t topic_len = strlen(p->target.topic);
  beam_status st = BEAM_OK;
  for (size_t start = 0; start < p->batch.n && st == BEAM_OK;) {
    size_t end = beam_pubsub_batch_request_end(&p->batch, order, p->batch.n, start, &p->limits, topic_len);
    st = encode_request(p, order, start, end);
    if (st != BEAM_OK) st = beam_error_set(err, st, "out of memory");
    else st = beam_pubsub_publisher_send(p->pub, p->req.packed.data, p->req.packed.len, end - start, err);
    start = end;
  }
  free(order);
  beam_pubsub_batch_clear(&p->batch, false);
  return st;
}

/* ---- Rows -------------------------------------------------------------------------- */

/* The row's ordering key as text in buf/len (len 0: none); false with a reason if unusable. */
static bool ordering_key(const ps_table *t, const beam_etl_row *row, char *num, const void **key, size_t *len,
                         char *reason, size_t cap) {
  *len = 0;
  if (t->key_field < 0) return true;
  const beam_value *v = &row->values[t->key_field];
  if (v->kind == BEAM_VALUE_INT64) {
    *len = (size_t)snprintf(num, ROW_ID_DIGITS + 2, "%" PRId64, v->u.i64);
    *key = num;
    return true;
  }
  if (v->kind != BEAM_VALUE_STRING && v->kind != BEAM_VALUE_BYTES) return true; /* null: no key */
  *key = v->u.bytes.data;
  *len = v->u.bytes.len;
  const char *field = t->schema->fields[t->key_field].name;
  if (*len > MAX_ORDERING_KEY) {
    snprintf(reason, cap, "ordering key field %s is %zu bytes; Pub/Sub allows %d", field, *len, MAX_ORDERING_KEY);
    return false;
  }
  size_t bad = 0;
  if (!beam_etl_utf8_valid(*key, *len, &bad)) {
    snprintf(reason, cap, "ordering key field %s is not valid UTF-8 (byte %zu)", field, bad);
    return false;
  }
  if (memchr(*key, '\0', *len)) {
    snprintf(reason, cap, "ordering key field %s contains a NUL byte", field);
    return false;
  }
  return true;
}

/* Buffers one conforming row; refuses it (reason) when it cannot become a message. */
static beam_status buffer_row(ps_sink *p, ps_table *t, uint32_t table_index, const beam_etl_row *row, char *reason,
                              size_t cap, bool *refused) {
  *refused = false;
  char num[ROW_ID_DIGITS + 2];
  const void *key = NULL;
  size_t key_len;
  if (!ordering_key(t, row, num, &key, &key_len, reason, cap)) return *refused = true, BEAM_OK;
  size_t off = p->batch.bytes.len;
  beam_status st = beam_json_row_writer_append(&t->writer, &p->batch.bytes, row->values);
  if (st != BEAM_OK) {
    p->batch.bytes.len = off;
    if (st == BEAM_ERR_NOMEM) return st;
    snprintf(reason, cap, "cannot encode row as JSON");
    return *refused = true, BEAM_OK;
  }
  size_t json_len = p->batch.bytes.len - off;
  char record_id[BEAM_SINK_RECORD_ID_LEN + 1];
  bool has_record_id = beam_sink_record_id(t->name, row, record_id);
  size_t row_id_len = has_record_id ? strlen(RECORD_ROW_ID_PREFIX) + BEAM_SINK_RECORD_ID_LEN
                                    : strlen(p->row_id_prefix) + 1 + ROW_ID_DIGITS; /* the longest it can be */
  size_t encoded = beam_pubsub_message_size(json_len, t->name_len, row_id_len, key_len);
  if (!beam_pubsub_message_fits(&p->limits, strlen(p->target.topic), encoded)) {
    p->batch.bytes.len = off;
    snprintf(reason, cap,
             "row is %zu bytes as JSON (%zu as a Pub/Sub message), over this sink's limit of %zu bytes per "
             "publish request",
             json_len, encoded, p->limits.max_request_bytes);
    return *refused = true, BEAM_OK;
  }
  st = beam_pubsub_batch_add(&p->batch, off, key, key_len, table_index, encoded);
  if (st == BEAM_OK && has_record_id) memcpy(p->batch.msgs[p->batch.n - 1].record_id, record_id, sizeof record_id);
  return st;
}

static beam_status ps_write_rows(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                                 beam_sink_row_errors *rejected, beam_error *err) {
  ps_sink *p = (ps_sink *)s;
  uint32_t index;
  ps_table *t = table_find(p, table, &index);
  if (!t)
    return beam_error_set(err, BEAM_ERR_NOT_FOUND, "pubsub %s: table %s was not ensured on this sink",
                          p->target.topic, table);
  char reason[256];
  for (size_t i = 0; i < n; i++) {
    bool refused = !beam_sink_row_conforms(t->schema, &rows[i], reason, sizeof reason);
    if (!refused && buffer_row(p, t, index, &rows[i], reason, sizeof reason, &refused) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (refused && beam_sink_row_errors_add(rejected, i, "%s", reason) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  /* Bound memory: a huge bundle publishes early (visible before commit, see the header). */
  if (p->batch.bytes.len >= p->early_publish_bytes) return publish_buffered(p, err);
  return BEAM_OK;
}

/* ---- Bundles ----------------------------------------------------------------------- */

static void end_bundle(ps_sink *p) {
  beam_pubsub_batch_clear(&p->batch, true);
  free(p->bundle_id);
  p->bundle_id = NULL;
}

static beam_status ps_begin(beam_sink *s, const char *bundle_id, beam_error *err) {
  ps_sink *p = (ps_sink *)s;
  p->bundle_id = strdup(bundle_id);
  if (!p->bundle_id) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t len = strlen(bundle_id);
  /* Attribute values are limited to 1024 bytes: a very long id becomes a digest of it. */
  if (len <= MAX_ROW_ID_PREFIX)
    memcpy(p->row_id_prefix, bundle_id, len + 1);
  else
    snprintf(p->row_id_prefix, sizeof p->row_id_prefix, "h%016" PRIx64 "-%s", hash_str(bundle_id),
             bundle_id + len - 64);
  beam_pubsub_batch_clear(&p->batch, true);
  s->duplicate = ids_has(&p->committed, bundle_id);
  return BEAM_OK;
}

static beam_status ps_commit(beam_sink *s, beam_error *err) {
  ps_sink *p = (ps_sink *)s;
  beam_status st = BEAM_OK;
  if (!s->duplicate) {
    st = publish_buffered(p, err);
    if (st == BEAM_OK && ids_add(&p->committed, p->bundle_id) != BEAM_OK)
      st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  end_bundle(p);
  return st;
}

static void ps_abort(beam_sink *s) { end_bundle((ps_sink *)s); }

static beam_status ps_close(beam_sink *s, beam_error *err) {
  (void)err;
  ps_sink *p = (ps_sink *)s;
  beam_pubsub_publisher_free(p->pub);
  p->pub = NULL;
  return BEAM_OK;
}

static void ps_free(beam_sink *s) {
  ps_sink *p = (ps_sink *)s;
  beam_pubsub_publisher_free(p->pub);
  for (size_t i = 0; i < p->n_tables; i++) {
    free(p->tables[i].name);
    beam_json_row_writer_free(&p->tables[i].writer);
  }
  free(p->tables);
  beam_pubsub_batch_free(&p->batch);
  free(p->bundle_id);
  ids_free(&p->committed);
  request_free(&p->req);
  beam_pubsub_target_free(&p->target);
  free(p);
}

static const beam_sink_vtable pubsub_vtable = {
    .scheme = "pubsub",
    .ensure_table = ps_ensure_table,
    .begin = ps_begin,
    .write_rows = ps_write_rows,
    .commit = ps_commit,
    .abort = ps_abort,
    .close = ps_close,
    .free = ps_free,
};

beam_status beam_sink_pubsub_open(const char *location, const beam_sink_options *opts, beam_sink **out,
                                  beam_error *err) {
  if (!out) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub open: NULL out");
  *out = NULL;
  if (!location) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub open: NULL location");
  ps_sink *p = calloc(1, sizeof *p);
  if (!p) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_sink_init(&p->base, &pubsub_vtable, opts);
  /* batch_rows and spill_bytes are read from the caller's options: the front's defaults
   * (64 rows for SQLite, 8 MiB for JSONL) would make needlessly small requests and
   * publish big bundles early. */
  size_t rows = opts && opts->batch_rows ? opts->batch_rows : BEAM_PUBSUB_DEFAULT_MAX_MESSAGES;
  p->limits.max_messages = rows < BEAM_PUBSUB_DEFAULT_MAX_MESSAGES ? rows : BEAM_PUBSUB_DEFAULT_MAX_MESSAGES;
  p->limits.max_request_bytes = BEAM_PUBSUB_DEFAULT_MAX_REQUEST_BYTES;
  p->early_publish_bytes = opts && opts->spill_bytes ? opts->spill_bytes : BEAM_PUBSUB_EARLY_PUBLISH_BYTES;
  beam_status st = beam_pubsub_target_parse(location, &p->target, err);
  if (st == BEAM_OK && request_alloc(&p->req, p->limits.max_messages) != BEAM_OK)
    st = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (st == BEAM_OK) st = beam_pubsub_publisher_open(p->target.topic, p->target.endpoint, NULL, &p->pub, err);
  if (st != BEAM_OK) {
    p->base.state = BEAM_SINK_CLOSED;
    ps_free(&p->base);
    return st;
  }
  *out = &p->base;
  return BEAM_OK;
}
