/* DoFn "beam_test_check": receives KV<"", iterable<record>> (every record of the asserted
 * PCollection plus the sentinel, see testing_reify.c), compares the elements with the
 * expected ones as encoded bytes (multisets: sorted, then walked together) and fails the
 * bundle with a report listing the first missing and unexpected elements, decoded.
 *
 * Config: {"name": ..., "kind": "equal" | "contains" | "empty" | "count" | "all" | "per_key" |
 * "window", "coder": {...}, "expected": [["b64", count], ...], "count": N, "predicate": name,
 * "key": "b64" (per_key: the key's encoding, a prefix of the KV's), "window": [start, end]}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing_internal.h"

typedef struct span {
  const uint8_t *data;
  size_t len;
  int64_t count;
} span;

typedef struct check_state {
  const char *name, *kind, *of;
  beam_coder *coder;             /* the PCollection's */
  const beam_coder *print_coder; /* what the compared bytes are: the coder, or its value part */
  span *expected;
  size_t n_expected;
  uint8_t **owned; /* decoded base64 buffers */
  size_t n_owned;
  uint8_t *key;
  size_t key_len;
  int64_t count, window_start, window_end;
  beam_test_predicate predicate;
  const char *predicate_name;
  int checked; /* counter id */
} check_state;

static int span_cmp(const void *a, const void *b) {
  const span *x = a, *y = b;
  int c = memcmp(x->data, y->data, x->len < y->len ? x->len : y->len);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sorts and merges equal spans (adding their counts); returns the new length. */
static size_t normalize(span *s, size_t n) {
  if (!n) return 0;
  qsort(s, n, sizeof *s, span_cmp);
  size_t out = 0;
  for (size_t i = 1; i < n; i++) {
    if (span_cmp(&s[out], &s[i]) == 0) s[out].count += s[i].count;
    else s[++out] = s[i];
  }
  return out + 1;
}

static uint8_t *keep_b64(check_state *st, const char *b64, size_t *len) {
  uint8_t *bytes = b64 ? beam_test_base64_decode(b64, len) : NULL;
  uint8_t **grown = bytes ? realloc(st->owned, (st->n_owned + 1) * sizeof *grown) : NULL;
  if (!grown) return free(bytes), NULL;
  st->owned = grown;
  return st->owned[st->n_owned++] = bytes;
}

static beam_status read_expected(check_state *st, const json_t *expected, beam_error *err) {
  st->expected = calloc(json_array_size(expected) + 1, sizeof *st->expected);
  if (!st->expected) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < json_array_size(expected); i++) {
    const json_t *pair = json_array_get(expected, i);
    span *sp = &st->expected[st->n_expected++];
    sp->data = keep_b64(st, json_string_value(json_array_get(pair, 0)), &sp->len);
    sp->count = json_integer_value(json_array_get(pair, 1));
    if (!sp->data) return beam_error_set(err, BEAM_ERR_MALFORMED, "assert \"%s\": bad expected element %zu", st->name, i);
  }
  st->n_expected = normalize(st->expected, st->n_expected);
  return BEAM_OK;
}

static beam_status check_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  check_state *st = state;
  const json_t *c = beam_dofn_config(ctx);
  st->name = json_string_value(json_object_get(c, "name"));
  st->kind = json_string_value(json_object_get(c, "kind"));
  st->of = json_string_value(json_object_get(c, "of"));
  if (!st->of) st->of = "?";
  if (!st->name || !st->kind) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: bad check config", beam_dofn_transform_id(ctx));
  beam_status s = beam_test_coder_from_json(json_object_get(c, "coder"), &st->coder, err);
  if (s == BEAM_OK) s = read_expected(st, json_object_get(c, "expected"), err);
  if (s != BEAM_OK) return s;
  st->print_coder = st->coder;
  st->count = json_integer_value(json_object_get(c, "count"));
  st->window_start = json_integer_value(json_array_get(json_object_get(c, "window"), 0));
  st->window_end = json_integer_value(json_array_get(json_object_get(c, "window"), 1));
  if (strcmp(st->kind, "per_key") == 0) {
    st->key = keep_b64(st, json_string_value(json_object_get(c, "key")), &st->key_len);
    st->print_coder = beam_coder_n_components(st->coder) == 2 ? beam_coder_component(st->coder, 1) : NULL;
    if (!st->key || !st->print_coder) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "assert \"%s\": bad key", st->name);
  }
  if (strcmp(st->kind, "all") == 0) {
    st->predicate_name = json_string_value(json_object_get(c, "predicate"));
    st->predicate = st->predicate_name ? beam_test_predicate_lookup(st->predicate_name) : NULL;
    if (!st->predicate)
      return beam_error_set(err, BEAM_ERR_NOT_FOUND, "assert \"%s\": no predicate registered as \"%s\" in this worker",
                            st->name, st->predicate_name ? st->predicate_name : "(null)");
  }
  st->checked = beam_dofn_declare_counter(ctx, BEAM_TEST_CHECKED_COUNTER);
  return BEAM_OK;
}

/* The element bytes of a record, or false when the assertion does not look at it. */
static bool record_element(const check_state *st, beam_bytes rec, span *out) {
  beam_reader r = beam_reader_make(rec.data, rec.len);
  uint8_t tag;
  if (beam_reader_byte(&r, &tag) != BEAM_OK) return false;
  uint64_t start = 0, end = 0;
  beam_bytes custom;
  if (tag == BEAM_TEST_WINDOW_INTERVAL &&
      (beam_coder_decode_be64(&r, &start) != BEAM_OK || beam_coder_decode_be64(&r, &end) != BEAM_OK))
    return false;
  if (tag == BEAM_TEST_WINDOW_OTHER && beam_coder_decode_lp_bytes(&r, &custom) != BEAM_OK) return false;
  if (strcmp(st->kind, "window") == 0 &&
      (tag != BEAM_TEST_WINDOW_INTERVAL || (int64_t)start != st->window_start || (int64_t)end != st->window_end))
    return false;
  out->data = rec.data + r.pos;
  out->len = rec.len - r.pos;
  out->count = 1;
  if (st->key) {
    if (out->len < st->key_len || memcmp(out->data, st->key, st->key_len) != 0) return false;
    out->data += st->key_len;
    out->len -= st->key_len;
  }
  return true;
}

/* The compared elements of the group, sorted and merged. */
static beam_status collect(const check_state *st, const beam_value *group, span **out, size_t *n, beam_error *err) {
  const beam_value *records = group->kind == BEAM_VALUE_KV ? group->u.kv.value : NULL;
  if (!records || (records->kind != BEAM_VALUE_LIST && records->kind != BEAM_VALUE_STATE_ITERABLE))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "assert \"%s\": the check expects KV<key, iterable>", st->name);
  if (records->kind == BEAM_VALUE_STATE_ITERABLE && records->u.state_iterable.token.len)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "assert \"%s\": too many elements to check (the runner paged them)", st->name);
  *out = calloc(records->u.list.len + 1, sizeof **out);
  if (!*out) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *n = 0;
  for (size_t i = 0; i < records->u.list.len; i++) {
    const beam_value *rec = &records->u.list.items[i];
    if (rec->kind != BEAM_VALUE_BYTES || !rec->u.bytes.len) continue; /* the sentinel */
    if (record_element(st, rec->u.bytes, &(*out)[*n])) (*n)++;
  }
  *n = normalize(*out, *n);
  return BEAM_OK;
}

/* --- the report ---------------------------------------------------------------------------- */

typedef struct report {
  beam_buf text;
  int64_t listed, more;
  size_t width; /* characters per element; 0 while only counting what would be listed */
} report;

#define REPORT_INIT {BEAM_BUF_INIT, 0, 0, 0}

/* Splits the budget between the n elements a report will list. */
static size_t width_for(int64_t n) {
  size_t w = n > 0 ? BEAM_TEST_REPORT_BUDGET / (size_t)n : BEAM_TEST_REPORT_WIDTH_MAX;
  return w < BEAM_TEST_REPORT_WIDTH_MIN ? BEAM_TEST_REPORT_WIDTH_MIN : w > BEAM_TEST_REPORT_WIDTH_MAX ? BEAM_TEST_REPORT_WIDTH_MAX : w;
}

static void add_element(const check_state *st, beam_dofn_ctx *ctx, report *r, const span *sp, int64_t times,
                        const char *why) {
  if (r->listed >= BEAM_TEST_REPORT_FIRST) {
    r->more += times;
    return;
  }
  if (!r->width) {
    r->listed++;
    return;
  }
  char shown[BEAM_TEST_REPORT_WIDTH_MAX + 1];
  size_t cap = r->width + 1;
  beam_reader rd = beam_reader_make(sp->data, sp->len);
  beam_value v;
  if (st->print_coder && beam_coder_decode(st->print_coder, &rd, true, beam_dofn_scratch(ctx), &v, NULL) == BEAM_OK) {
    beam_test_format_value(&v, shown, cap);
  } else { /* bytes a coder cannot decode: show them in hex */
    size_t k = 0;
    for (size_t i = 0; i < sp->len && k + 3 < cap; i++) k += (size_t)snprintf(shown + k, 3, "%02x", sp->data[i]);
    shown[k] = '\0';
  }
  if (r->text.len) beam_buf_append_str(&r->text, ", ");
  beam_buf_append_str(&r->text, shown);
  char extra[160];
  if (times > 1) snprintf(extra, sizeof extra, " (x%lld)", (long long)times), beam_buf_append_str(&r->text, extra);
  if (why && *why) snprintf(extra, sizeof extra, " (%s)", why), beam_buf_append_str(&r->text, extra);
  r->listed++;
}

static const char *report_text(report *r) {
  if (r->more) {
    char more[64];
    snprintf(more, sizeof more, " and %lld more", (long long)r->more);
    beam_buf_append_str(&r->text, more);
  }
  beam_buf_terminate(&r->text);
  return r->text.len ? (const char *)r->text.data : "";
}

static int64_t total(const span *s, size_t n) {
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += s[i].count;
  return sum;
}

static const char *label(const check_state *st, char *buf, size_t cap) {
  if (strcmp(st->kind, "window") == 0)
    snprintf(buf, cap, "window [%lld, %lld)", (long long)st->window_start, (long long)st->window_end);
  else if (strcmp(st->kind, "per_key") == 0 || strcmp(st->kind, "all") == 0) {
    char key[BEAM_TEST_REPORT_WIDTH_MIN + 1] = "?";
    beam_reader rd = beam_reader_make(st->key, st->key_len);
    beam_arena a = BEAM_ARENA_INIT;
    beam_value v;
    if (st->key && beam_coder_decode(beam_coder_component(st->coder, 0), &rd, true, &a, &v, NULL) == BEAM_OK)
      beam_test_format_value(&v, key, sizeof key);
    snprintf(buf, cap, st->key ? "per key %s" : "all \"%s\"", st->key ? key : st->predicate_name);
    beam_arena_free(&a);
  } else
    snprintf(buf, cap, "%s", st->kind);
  return buf;
}

/* Walks expected and actual together: elements short in actual are missing, extra ones unexpected. */
static void diff(const check_state *st, beam_dofn_ctx *ctx, const span *actual, size_t n_actual, report *missing,
                 report *unexpected, int64_t *n_missing, int64_t *n_unexpected) {
  size_t i = 0, j = 0;
  while (i < st->n_expected || j < n_actual) {
    int c = i == st->n_expected ? 1 : j == n_actual ? -1 : span_cmp(&st->expected[i], &actual[j]);
    int64_t want = c <= 0 ? st->expected[i].count : 0, got = c >= 0 ? actual[j].count : 0;
    const span *sp = c <= 0 ? &st->expected[i] : &actual[j];
    if (want > got) *n_missing += want - got, add_element(st, ctx, missing, sp, want - got, NULL);
    if (got > want) *n_unexpected += got - want, add_element(st, ctx, unexpected, sp, got - want, NULL);
    i += c <= 0;
    j += c >= 0;
  }
}

/* The report for kinds compared as multisets (equal, empty, contains, per key, window). */
static beam_status judge_multiset(const check_state *st, beam_dofn_ctx *ctx, const span *actual, size_t n_actual,
                                  const char *what, beam_error *err) {
  report missing = REPORT_INIT, unexpected = REPORT_INIT;
  int64_t n_missing = 0, n_unexpected = 0, got = total(actual, n_actual), want = total(st->expected, st->n_expected);
  diff(st, ctx, actual, n_actual, &missing, &unexpected, &n_missing, &n_unexpected); /* count what is listed */
  bool contains = strcmp(st->kind, "contains") == 0;
  missing.width = unexpected.width = width_for(missing.listed + (contains ? 0 : unexpected.listed));
  missing.listed = missing.more = unexpected.listed = unexpected.more = n_missing = n_unexpected = 0;
  diff(st, ctx, actual, n_actual, &missing, &unexpected, &n_missing, &n_unexpected);
  beam_status s = BEAM_OK;
  if (strcmp(st->kind, "empty") == 0 && got)
    s = beam_error_set(err, BEAM_ERR_USER, "assert \"%s\" on %s (empty) failed: expected no elements, got %lld: %s",
                       st->name, st->of, (long long)got, report_text(&unexpected));
  else if (contains && n_missing)
    s = beam_error_set(err, BEAM_ERR_USER, "assert \"%s\" on %s (contains) failed: %lld of %lld missing (got %lld elements); missing: %s",
                       st->name, st->of, (long long)n_missing, (long long)want, (long long)got, report_text(&missing));
  else if (!contains && (n_missing || n_unexpected))
    s = beam_error_set(err, BEAM_ERR_USER, "assert \"%s\" on %s (%s) failed: %lld missing, %lld unexpected (expected %lld, got %lld)%s%s%s%s",
                       st->name, st->of, what, (long long)n_missing, (long long)n_unexpected, (long long)want, (long long)got,
                       n_missing ? "; missing: " : "", n_missing ? report_text(&missing) : "",
                       n_unexpected ? "; unexpected: " : "", n_unexpected ? report_text(&unexpected) : "");
  beam_buf_free(&missing.text);
  beam_buf_free(&unexpected.text);
  return s;
}

static beam_status judge(const check_state *st, beam_dofn_ctx *ctx, const span *actual, size_t n_actual, beam_error *err) {
  report listed = REPORT_INIT;
  int64_t failing = 0, got = total(actual, n_actual);
  listed.width = width_for(n_actual < BEAM_TEST_REPORT_FIRST ? (int64_t)n_actual : BEAM_TEST_REPORT_FIRST);
  char what[128];
  label(st, what, sizeof what);
  beam_status s = BEAM_OK;
  if (strcmp(st->kind, "count") == 0) {
    for (size_t i = 0; i < n_actual; i++) add_element(st, ctx, &listed, &actual[i], actual[i].count, NULL);
    if (got != st->count)
      s = beam_error_set(err, BEAM_ERR_USER, "assert \"%s\" on %s (count) failed: expected %lld elements, got %lld: %s",
                         st->name, st->of, (long long)st->count, (long long)got, got ? report_text(&listed) : "none");
  } else if (strcmp(st->kind, "all") == 0) {
    for (size_t i = 0; s == BEAM_OK && i < n_actual; i++) {
      beam_reader rd = beam_reader_make(actual[i].data, actual[i].len);
      beam_value v;
      char why[64] = "";
      s = beam_coder_decode(st->coder, &rd, true, beam_dofn_scratch(ctx), &v, err);
      if (s == BEAM_OK && !st->predicate(&v, why, sizeof why))
        failing += actual[i].count, add_element(st, ctx, &listed, &actual[i], actual[i].count, why);
    }
    if (s == BEAM_OK && failing)
      s = beam_error_set(err, BEAM_ERR_USER, "assert \"%s\" on %s (%s) failed: %lld of %lld elements do not satisfy it: %s",
                         st->name, st->of, what, (long long)failing, (long long)got, report_text(&listed));
  } else {
    s = judge_multiset(st, ctx, actual, n_actual, what, err);
  }
  beam_buf_free(&listed.text);
  return s;
}

static beam_status check_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  check_state *st = state;
  span *actual = NULL;
  size_t n = 0;
  beam_status s = collect(st, elem->value, &actual, &n, err);
  if (s == BEAM_OK) s = judge(st, ctx, actual, n, err);
  if (s == BEAM_OK) beam_dofn_counter_add(ctx, st->checked, 1);
  free(actual);
  return s;
}

static void check_teardown(void *state) {
  check_state *st = state;
  beam_coder_free(st->coder);
  for (size_t i = 0; i < st->n_owned; i++) free(st->owned[i]);
  free(st->owned);
  free(st->expected);
}

const beam_dofn_def beam_test_check_dofn = {.name = BEAM_TEST_CHECK_DOFN,
                                            .state_size = sizeof(check_state),
                                            .setup = check_setup,
                                            .process = check_process,
                                            .teardown = check_teardown};
