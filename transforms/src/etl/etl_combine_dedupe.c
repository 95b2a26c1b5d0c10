/* CombineFn "etl_dedupe_first": the rows sharing a dedupe key, folded into what DedupePick
 * needs of them: per input file, the first row in record order and how many rows there were.
 * It is a CombineFn (not DedupePick over a plain GroupByKey) so that runners lift it: the
 * values of a key are folded before the shuffle, and a key that millions of rows share costs
 * an accumulator per file and bundle, not the rows.
 *
 * Accumulator and output (coder beam:coder:c:value:v1): a LIST of KV<INT64 count, element>, one
 * entry per file (the element's file field, etl_element.h); or, for a key that met one row,
 * that element itself (a ROW): most keys of a dedupe hold one row, and a shuffle would encode
 * and decode the list around it for nothing. Which file failed is known only after every read
 * ended, so the choice among files is DedupePick's (etl_dofn_dedupe.c). */
#include <stdbool.h>
#include <string.h>

#include "beam/combinefn.h"
#include "beam/transforms/etl_element.h"

static bool is_element(const beam_value *v) {
  return v->kind == BEAM_VALUE_ROW && v->u.list.len >= BEAM_ETL_ELEMENT_HEADER &&
         v->u.list.items[1].kind == BEAM_VALUE_STRING;
}

static bool same_bytes(const beam_value *a, const beam_value *b) {
  return a->u.bytes.len == b->u.bytes.len && memcmp(a->u.bytes.data, b->u.bytes.data, a->u.bytes.len) == 0;
}

static int64_t header_int(const beam_value *h, size_t i) { return h[i].kind == BEAM_VALUE_INT64 ? h[i].u.i64 : 0; }

/* The element's source: its file when NULL (etl_element.h). */
static const beam_bytes *element_source(const beam_value *h) {
  return h[2].kind == BEAM_VALUE_STRING ? &h[2].u.bytes : &h[1].u.bytes;
}

/* Record order on the element header, as beam_etl_origin_compare orders origins: input
 * order of files, then source, then byte offset. */
static int element_order_compare(const beam_value *a, const beam_value *b) {
  const beam_value *ha = a->u.list.items, *hb = b->u.list.items;
  int64_t fa = header_int(ha, 7), fb = header_int(hb, 7);
  if (fa != fb) return fa < fb ? -1 : 1;
  const beam_bytes *sa = element_source(ha), *sb = element_source(hb);
  size_t la = sa->len, lb = sb->len;
  int c = memcmp(la ? (const void *)sa->data : "", lb ? (const void *)sb->data : "", la < lb ? la : lb);
  if (c || la != lb) return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : 1);
  int64_t oa = header_int(ha, 5), ob = header_int(hb, 5);
  return oa < ob ? -1 : (oa > ob ? 1 : 0);
}

static beam_status bad_value(beam_error *err) {
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "etl_dedupe_first: expected ETL elements and accumulators of "
                                                   "KV<count, element>");
}

static beam_status create(void *state, beam_arena *a, beam_value *acc, beam_error *err) {
  (void)state, (void)a, (void)err;
  *acc = (beam_value){.kind = BEAM_VALUE_LIST, .u.list = {NULL, 0}};
  return BEAM_OK;
}

/* The entry of acc for element's file, or NULL. */
static beam_value *entry_for(beam_value *acc, const beam_value *element) {
  for (size_t i = 0; i < acc->u.list.len; i++) {
    beam_value *e = &acc->u.list.items[i];
    if (same_bytes(&e->u.kv.value->u.list.items[1], &element->u.list.items[1])) return e;
  }
  return NULL;
}

/* Appends {count, element} to a list this fn built (its capacity: the next power of two). */
static beam_status append(beam_arena *a, beam_value *acc, int64_t count, beam_value *element, beam_error *err) {
  size_t n = acc->u.list.len;
  if ((n & (n - 1)) == 0) { /* full: 0, 1, 2, 4, ... */
    beam_value *grown = beam_arena_alloc(a, (n ? 2 * n : 1) * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (n) memcpy(grown, acc->u.list.items, n * sizeof *grown);
    acc->u.list.items = grown;
  }
  beam_value *pair = beam_arena_alloc(a, 2 * sizeof *pair);
  if (!pair) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pair[0] = beam_value_int64(count);
  pair[1] = *element;
  acc->u.list.items[n] = (beam_value){.kind = BEAM_VALUE_KV, .u.kv = {&pair[0], &pair[1]}};
  acc->u.list.len = n + 1;
  return BEAM_OK;
}

/* A lone row's accumulator (the element) as the list of one entry it stands for. */
static beam_status as_list(beam_arena *a, beam_value *acc, beam_error *err) {
  if (acc->kind == BEAM_VALUE_LIST) return BEAM_OK;
  beam_value element = *acc;
  *acc = (beam_value){.kind = BEAM_VALUE_LIST, .u.list = {NULL, 0}};
  return append(a, acc, 1, &element, err);
}

/* Folds count rows whose first is element into acc; keep_copy: element's memory is the
 * caller's, copy it if kept. */
static beam_status fold(beam_arena *a, beam_value *acc, int64_t count, const beam_value *element, bool keep_copy,
                        beam_error *err) {
  if (!is_element(element)) return bad_value(err);
  bool empty = acc->kind == BEAM_VALUE_LIST && acc->u.list.len == 0;
  if (empty && count == 1) { /* the key's first row: the accumulator is the element */
    beam_value *kept = keep_copy ? beam_value_clone(a, element) : (beam_value *)element;
    if (!kept) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    *acc = *kept;
    return BEAM_OK;
  }
  beam_status s = as_list(a, acc, err);
  if (s != BEAM_OK) return s;
  beam_value *entry = entry_for(acc, element);
  if (entry && element_order_compare(element, entry->u.kv.value) >= 0) {
    entry->u.kv.key->u.i64 += count;
    return BEAM_OK;
  }
  beam_value *kept = keep_copy ? beam_value_clone(a, element) : (beam_value *)element;
  if (!kept) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (!entry) return append(a, acc, count, kept, err);
  entry->u.kv.key->u.i64 += count;
  *entry->u.kv.value = *kept;
  return BEAM_OK;
}

static beam_status add(void *state, beam_arena *a, beam_value *acc, const beam_value *input, beam_error *err) {
  (void)state;
  return fold(a, acc, 1, input, true, err);
}

static beam_status add_borrowed(void *state, beam_arena *a, beam_value *acc, const beam_value *input,
                                beam_error *err) {
  (void)state;
  return fold(a, acc, 1, input, false, err);
}

/* other's entries alias its memory, which outlives the merge (the merged accumulator is
 * emitted before its input goes). */
static beam_status merge(void *state, beam_arena *a, beam_value *acc, const beam_value *other, beam_error *err) {
  (void)state;
  if (other->kind == BEAM_VALUE_ROW) return fold(a, acc, 1, other, false, err);
  if (other->kind != BEAM_VALUE_LIST) return bad_value(err);
  for (size_t i = 0; i < other->u.list.len; i++) {
    const beam_value *e = &other->u.list.items[i];
    if (e->kind != BEAM_VALUE_KV || e->u.kv.key->kind != BEAM_VALUE_INT64) return bad_value(err);
    beam_status s = fold(a, acc, e->u.kv.key->u.i64, e->u.kv.value, false, err);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static beam_status extract(void *state, beam_arena *a, const beam_value *acc, beam_value *out, beam_error *err) {
  (void)state, (void)a, (void)err;
  *out = *acc;
  return BEAM_OK;
}

const beam_combinefn_def beam_etl_dedupe_first_combinefn = {
    .name = "etl_dedupe_first",
    .create = create,
    .add = add,
    .add_borrowed = add_borrowed,
    .merge = merge,
    .extract = extract,
};
