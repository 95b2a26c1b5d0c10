/* Runs Beam's standard coder vectors (standard_coders.yaml) through beam-c's coders.
 *
 * For every section: build the coder the `coder` spec describes, and for every example in
 * every context the section names (both when `nested` is absent) check that decoding the
 * bytes gives the expected value and (unless `non_deterministic`) that encoding the value
 * gives the bytes exactly. Expected values are read the way Beam's Python
 * standard_coders_test.py reads them. Prints one line per failure and a summary line. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "beam/coder.h"
#include "coder_row_schema.h"

typedef struct ctx {
  yaml_document_t *doc;
  beam_arena *arena;
  char why[1200];
} ctx;

/* --- YAML helpers ----------------------------------------------------------------------- */

static yaml_node_t *node(ctx *c, int i) { return yaml_document_get_node(c->doc, i); }

static yaml_node_t *map_get(ctx *c, yaml_node_t *m, const char *key) {
  if (!m || m->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node(c, p->key);
    if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
      return node(c, p->value);
  }
  return NULL;
}

static bool is_scalar(yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }
static const char *sval(yaml_node_t *n) { return is_scalar(n) ? (const char *)n->data.scalar.value : ""; }
static size_t slen(yaml_node_t *n) { return is_scalar(n) ? n->data.scalar.length : 0; }
static bool is_null(yaml_node_t *n) {
  return !n || (is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                (strcmp(sval(n), "null") == 0 || strcmp(sval(n), "~") == 0 || slen(n) == 0));
}
static bool is_true(yaml_node_t *n) { return is_scalar(n) && strcmp(sval(n), "true") == 0; }

/* The YAML keys hold bytes as code points U+0000..U+00FF (latin-1). */
static bool latin1_bytes(ctx *c, yaml_node_t *n, beam_bytes *out) {
  const uint8_t *s = (const uint8_t *)sval(n);
  size_t len = slen(n);
  uint8_t *b = beam_arena_alloc(c->arena, len + 1);
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    if (s[i] < 0x80) {
      b[o++] = s[i++];
    } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < len && s[i] <= 0xC3) {
      b[o++] = (uint8_t)((s[i] & 0x1F) << 6 | (s[i + 1] & 0x3F));
      i += 2;
    } else {
      snprintf(c->why, sizeof c->why, "byte string has a code point above U+00FF");
      return false;
    }
  }
  out->data = b;
  out->len = o;
  return true;
}

static bool parse_i64(ctx *c, yaml_node_t *n, int64_t *out) {
  if (!is_scalar(n)) return snprintf(c->why, sizeof c->why, "expected an integer"), false;
  errno = 0;
  char *end;
  long long v = strtoll(sval(n), &end, 10);
  if (errno || *end) {
    /* 9223372036854775807 fits; anything beyond does not in Beam either. */
    snprintf(c->why, sizeof c->why, "bad integer %s", sval(n));
    return false;
  }
  *out = v;
  return true;
}

/* --- coder specs ------------------------------------------------------------------------ */

static beam_coder *build_coder(ctx *c, yaml_node_t *spec, beam_error *err) {
  yaml_node_t *urn = map_get(c, spec, "urn");
  yaml_node_t *comps = map_get(c, spec, "components");
  yaml_node_t *payload = map_get(c, spec, "payload");
  beam_coder *components[8];
  size_t n = 0;
  bool ok = true;
  if (comps && comps->type == YAML_SEQUENCE_NODE) {
    for (yaml_node_item_t *it = comps->data.sequence.items.start;
         it < comps->data.sequence.items.top && n < 8; it++) {
      components[n] = build_coder(c, node(c, *it), err);
      if (!components[n]) {
        ok = false;
        break;
      }
      n++;
    }
  }
  beam_bytes pl = {NULL, 0};
  if (ok && payload && !latin1_bytes(c, payload, &pl)) ok = false;
  beam_coder *coder = NULL;
  if (ok) beam_coder_build(sval(urn), pl.data, pl.len, components, n, &coder, err);
  for (size_t i = 0; i < n; i++) beam_coder_free(components[i]);
  return coder;
}

/* --- expected values -------------------------------------------------------------------- */

static bool parse_value(ctx *c, yaml_node_t *spec, yaml_node_t *v, beam_value *out);

static beam_value *alloc_values(ctx *c, size_t n) {
  return beam_arena_calloc(c->arena, n ? n : 1, sizeof(beam_value));
}

static yaml_node_t *component_spec(ctx *c, yaml_node_t *spec, size_t i) {
  yaml_node_t *comps = map_get(c, spec, "components");
  if (!comps || comps->type != YAML_SEQUENCE_NODE) return NULL;
  if ((size_t)(comps->data.sequence.items.top - comps->data.sequence.items.start) <= i) return NULL;
  return node(c, comps->data.sequence.items.start[i]);
}

static bool parse_window(ctx *c, yaml_node_t *spec, yaml_node_t *v, beam_window *w) {
  beam_value val;
  if (!parse_value(c, spec, v, &val)) return false;
  if (val.kind != BEAM_VALUE_WINDOW) return snprintf(c->why, sizeof c->why, "not a window"), false;
  *w = val.u.window;
  return true;
}

static bool parse_windows(ctx *c, yaml_node_t *spec, yaml_node_t *seq, beam_window **out, size_t *n) {
  if (!seq || seq->type != YAML_SEQUENCE_NODE) return snprintf(c->why, sizeof c->why, "windows"), false;
  size_t len = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
  beam_window *w = beam_arena_calloc(c->arena, len ? len : 1, sizeof *w);
  for (size_t i = 0; i < len; i++)
    if (!parse_window(c, spec, node(c, seq->data.sequence.items.start[i]), &w[i])) return false;
  *out = w;
  *n = len;
  return true;
}

static bool parse_pane(ctx *c, yaml_node_t *p, beam_pane *pane) {
  *pane = BEAM_PANE_NO_FIRING;
  if (!p) return true;
  pane->is_first = is_true(map_get(c, p, "is_first"));
  pane->is_last = is_true(map_get(c, p, "is_last"));
  const char *t = sval(map_get(c, p, "timing"));
  pane->timing = strcmp(t, "EARLY") == 0     ? BEAM_PANE_EARLY
                 : strcmp(t, "ON_TIME") == 0 ? BEAM_PANE_ON_TIME
                 : strcmp(t, "LATE") == 0    ? BEAM_PANE_LATE
                                             : BEAM_PANE_UNKNOWN;
  return parse_i64(c, map_get(c, p, "index"), &pane->index) &&
         parse_i64(c, map_get(c, p, "on_time_index"), &pane->on_time_index);
}

static bool parse_typed(ctx *c, const beam_row_type *t, yaml_node_t *v, beam_value *out);

static bool parse_row(ctx *c, const beam_row_schema *sc, yaml_node_t *v, beam_value *out) {
  if (!v || v->type != YAML_MAPPING_NODE) return snprintf(c->why, sizeof c->why, "row must be a map"), false;
  beam_value *items = alloc_values(c, sc->n_fields);
  for (size_t i = 0; i < sc->n_fields; i++) {
    yaml_node_t *f = map_get(c, v, sc->names[i]);
    if (!f) return snprintf(c->why, sizeof c->why, "row value lacks field %s", sc->names[i]), false;
    if (is_null(f) && f->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
      items[i] = beam_value_null();
    } else if (!parse_typed(c, &sc->types[i], f, &items[i])) {
      return false;
    }
  }
  out->kind = BEAM_VALUE_ROW;
  out->u.list.items = items;
  out->u.list.len = sc->n_fields;
  return true;
}

static bool parse_typed(ctx *c, const beam_row_type *t, yaml_node_t *v, beam_value *out) {
  if (t->nullable && is_scalar(v) && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
      strcmp(sval(v), "null") == 0) {
    *out = beam_value_null();
    return true;
  }
  int64_t i;
  switch (t->kind) {
    case BEAM_ROW_BYTE: case BEAM_ROW_INT16: case BEAM_ROW_INT32: case BEAM_ROW_INT64:
      if (!parse_i64(c, v, &i)) return false;
      *out = beam_value_int64(i);
      return true;
    case BEAM_ROW_FLOAT:
      *out = beam_value_double((double)strtof(sval(v), NULL));
      return true;
    case BEAM_ROW_DOUBLE:
      *out = beam_value_double(strtod(sval(v), NULL));
      return true;
    case BEAM_ROW_STRING: case BEAM_ROW_DECIMAL:
      *out = beam_value_string(sval(v), slen(v));
      return true;
    case BEAM_ROW_BYTES:
      *out = beam_value_bytes(sval(v), slen(v));
      return true;
    case BEAM_ROW_BOOLEAN:
      *out = beam_value_bool(is_true(v));
      return true;
    case BEAM_ROW_MILLIS_INSTANT:
      /* The YAML gives the representation: the shifted int64 TimestampCoder writes. */
      if (!parse_i64(c, v, &i)) return false;
      out->kind = BEAM_VALUE_TIMESTAMP;
      out->u.i64 = (int64_t)((uint64_t)i ^ 0x8000000000000000ULL);
      return true;
    case BEAM_ROW_ARRAY: {
      if (!v || v->type != YAML_SEQUENCE_NODE) return snprintf(c->why, sizeof c->why, "array"), false;
      size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
      beam_value *items = alloc_values(c, n);
      for (size_t k = 0; k < n; k++)
        if (!parse_typed(c, t->elem, node(c, v->data.sequence.items.start[k]), &items[k])) return false;
      out->kind = BEAM_VALUE_LIST;
      out->u.list.items = items;
      out->u.list.len = n;
      return true;
    }
    case BEAM_ROW_MAP: {
      if (!v || v->type != YAML_MAPPING_NODE) return snprintf(c->why, sizeof c->why, "map"), false;
      size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
      beam_value *items = alloc_values(c, 2 * n);
      for (size_t k = 0; k < n; k++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[k];
        if (!parse_typed(c, t->elem, node(c, p->key), &items[2 * k]) ||
            !parse_typed(c, t->value, node(c, p->value), &items[2 * k + 1]))
          return false;
      }
      out->kind = BEAM_VALUE_MAP;
      out->u.list.items = items;
      out->u.list.len = 2 * n;
      return true;
    }
    case BEAM_ROW_ROW: return parse_row(c, t->row, v, out);
  }
  return false;
}

static bool parse_value(ctx *c, yaml_node_t *spec, yaml_node_t *v, beam_value *out) {
  const char *urn = sval(map_get(c, spec, "urn"));
  memset(out, 0, sizeof *out);
  if (!strcmp(urn, BEAM_CODER_URN_BYTES)) {
    *out = beam_value_bytes(sval(v), slen(v));
  } else if (!strcmp(urn, BEAM_CODER_URN_STRING_UTF8)) {
    *out = beam_value_string(sval(v), slen(v));
  } else if (!strcmp(urn, BEAM_CODER_URN_BOOL)) {
    *out = beam_value_bool(is_true(v));
  } else if (!strcmp(urn, BEAM_CODER_URN_VARINT)) {
    int64_t i;
    if (!parse_i64(c, v, &i)) return false;
    *out = beam_value_int64(i);
  } else if (!strcmp(urn, BEAM_CODER_URN_DOUBLE)) {
    *out = beam_value_double(strtod(sval(v), NULL));
  } else if (!strcmp(urn, BEAM_CODER_URN_KV)) {
    beam_value *kv = alloc_values(c, 2);
    if (!parse_value(c, component_spec(c, spec, 0), map_get(c, v, "key"), &kv[0]) ||
        !parse_value(c, component_spec(c, spec, 1), map_get(c, v, "value"), &kv[1]))
      return false;
    out->kind = BEAM_VALUE_KV;
    out->u.kv.key = &kv[0];
    out->u.kv.value = &kv[1];
  } else if (!strcmp(urn, BEAM_CODER_URN_SHARDED_KEY)) {
    beam_value *kv = alloc_values(c, 2);
    yaml_node_t *shard = map_get(c, v, "shardId");
    kv[0] = beam_value_bytes(sval(shard), slen(shard));
    if (!parse_value(c, component_spec(c, spec, 0), map_get(c, v, "key"), &kv[1])) return false;
    out->kind = BEAM_VALUE_SHARDED_KEY;
    out->u.kv.key = &kv[0];
    out->u.kv.value = &kv[1];
  } else if (!strcmp(urn, BEAM_CODER_URN_ITERABLE) ||
             !strcmp(urn, BEAM_CODER_URN_STATE_BACKED_ITERABLE)) {
    if (!v || v->type != YAML_SEQUENCE_NODE) return snprintf(c->why, sizeof c->why, "iterable"), false;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    beam_value *items = alloc_values(c, n);
    for (size_t k = 0; k < n; k++)
      if (!parse_value(c, component_spec(c, spec, 0), node(c, v->data.sequence.items.start[k]), &items[k]))
        return false;
    out->kind = BEAM_VALUE_LIST;
    out->u.list.items = items;
    out->u.list.len = n;
  } else if (!strcmp(urn, BEAM_CODER_URN_GLOBAL_WINDOW)) {
    out->kind = BEAM_VALUE_WINDOW;
    out->u.window.kind = BEAM_WINDOW_GLOBAL;
  } else if (!strcmp(urn, BEAM_CODER_URN_INTERVAL_WINDOW)) {
    int64_t end, span;
    if (!parse_i64(c, map_get(c, v, "end"), &end) || !parse_i64(c, map_get(c, v, "span"), &span))
      return false;
    out->kind = BEAM_VALUE_WINDOW;
    out->u.window.kind = BEAM_WINDOW_INTERVAL;
    out->u.window.end_ms = end;
    out->u.window.start_ms = end - span;
  } else if (!strcmp(urn, BEAM_CODER_URN_CUSTOM_WINDOW)) {
    return parse_value(c, component_spec(c, spec, 0), map_get(c, v, "window"), out);
  } else if (!strcmp(urn, BEAM_CODER_URN_WINDOWED_VALUE) ||
             !strcmp(urn, BEAM_CODER_URN_PARAM_WINDOWED_VALUE)) {
    beam_windowed_value *wv = &out->u.windowed;
    out->kind = BEAM_VALUE_WINDOWED;
    wv->value = alloc_values(c, 1);
    if (!parse_value(c, component_spec(c, spec, 0), map_get(c, v, "value"), wv->value) ||
        !parse_i64(c, map_get(c, v, "timestamp"), &wv->timestamp_ms) ||
        !parse_windows(c, component_spec(c, spec, 1), map_get(c, v, "windows"), &wv->windows, &wv->n_windows) ||
        !parse_pane(c, map_get(c, v, "pane"), &wv->pane))
      return false;
  } else if (!strcmp(urn, BEAM_CODER_URN_TIMER)) {
    beam_timer *t = &out->u.timer;
    out->kind = BEAM_VALUE_TIMER;
    t->user_key = alloc_values(c, 1);
    yaml_node_t *tag = map_get(c, v, "dynamicTimerTag");
    t->dynamic_tag.data = (const uint8_t *)sval(tag);
    t->dynamic_tag.len = slen(tag);
    t->clear_bit = is_true(map_get(c, v, "clearBit"));
    if (!parse_value(c, component_spec(c, spec, 0), map_get(c, v, "userKey"), t->user_key) ||
        !parse_windows(c, component_spec(c, spec, 1), map_get(c, v, "windows"), &t->windows, &t->n_windows))
      return false;
    if (!t->clear_bit &&
        (!parse_i64(c, map_get(c, v, "fireTimestamp"), &t->fire_timestamp_ms) ||
         !parse_i64(c, map_get(c, v, "holdTimestamp"), &t->hold_timestamp_ms) ||
         !parse_pane(c, map_get(c, v, "pane"), &t->pane)))
      return false;
  } else if (!strcmp(urn, BEAM_CODER_URN_NULLABLE)) {
    if (is_null(v) && v && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
      *out = beam_value_null();
      return true;
    }
    return parse_value(c, component_spec(c, spec, 0), v, out);
  } else if (!strcmp(urn, BEAM_CODER_URN_LENGTH_PREFIX)) {
    return parse_value(c, component_spec(c, spec, 0), v, out);
  } else if (!strcmp(urn, BEAM_CODER_URN_ROW)) {
    beam_bytes pl;
    beam_row_schema *sc;
    beam_error err;
    if (!latin1_bytes(c, map_get(c, spec, "payload"), &pl)) return false;
    if (beam_row_schema_parse(pl.data, pl.len, c->arena, &sc, &err) != BEAM_OK)
      return snprintf(c->why, sizeof c->why, "schema: %s", err.message), false;
    return parse_row(c, sc, v, out);
  } else {
    snprintf(c->why, sizeof c->why, "no value parser for %s", urn);
    return false;
  }
  return true;
}

/* A state-backed iterable that ended in a token: append what the section's `state` map
 * holds for that token, decoded with the element coder, as the Python test's state reader does. */
static bool resolve_state(ctx *c, yaml_node_t *spec, const beam_coder *coder, beam_value *v) {
  if (v->kind != BEAM_VALUE_STATE_ITERABLE) return true;
  yaml_node_t *state = map_get(c, spec, "state");
  const beam_value_state_iterable *si = &v->u.state_iterable;
  beam_bytes suffix = {(const uint8_t *)"", 0};
  if (state && state->type == YAML_MAPPING_NODE) {
    for (yaml_node_pair_t *p = state->data.mapping.pairs.start; p < state->data.mapping.pairs.top; p++) {
      beam_bytes key;
      if (!latin1_bytes(c, node(c, p->key), &key)) return false;
      if (key.len == si->token.len && memcmp(key.data, si->token.data, key.len) == 0 &&
          !latin1_bytes(c, node(c, p->value), &suffix))
        return false;
    }
  }
  const beam_coder *elem = beam_coder_component(coder, 0);
  size_t cap = si->len + suffix.len + 1;
  beam_value *items = alloc_values(c, cap);
  size_t n = si->len;
  memcpy(items, si->items, n * sizeof *items);
  beam_reader r = beam_reader_make(suffix.data, suffix.len);
  while (!beam_reader_at_end(&r) && n < cap) {
    beam_error err;
    if (beam_coder_decode(elem, &r, true, c->arena, &items[n++], &err) != BEAM_OK)
      return snprintf(c->why, sizeof c->why, "state: %s", err.message), false;
  }
  v->kind = BEAM_VALUE_LIST;
  v->u.list.items = items;
  v->u.list.len = n;
  return true;
}

static void hex(const uint8_t *p, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 3 < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
  out[o] = '\0';
}

/* Returns true when the example passes; otherwise fills c->why. */
static bool run_example(ctx *c, yaml_node_t *spec, const beam_coder *coder, bool nested,
                        bool non_deterministic, yaml_node_t *key, yaml_node_t *val) {
  beam_bytes bytes;
  beam_value expected, decoded;
  beam_error err;
  if (!latin1_bytes(c, key, &bytes)) return false;
  if (!parse_value(c, spec, val, &expected)) return false;
  if (!non_deterministic) {
    beam_buf out = BEAM_BUF_INIT;
    beam_status s = beam_coder_encode(coder, &expected, nested, &out, &err);
    bool same = s == BEAM_OK && out.len == bytes.len && (out.len == 0 || memcmp(out.data, bytes.data, out.len) == 0);
    if (!same) {
      char got[256], want[256];
      hex(out.data, out.len, got, sizeof got);
      hex(bytes.data, bytes.len, want, sizeof want);
      if (s != BEAM_OK) snprintf(c->why, sizeof c->why, "encode failed: %s", err.message);
      else snprintf(c->why, sizeof c->why, "encode gave %s, want %s", got, want);
    }
    beam_buf_free(&out);
    if (!same) return false;
  }
  beam_reader r = beam_reader_make(bytes.data, bytes.len);
  if (beam_coder_decode(coder, &r, nested, c->arena, &decoded, &err) != BEAM_OK)
    return snprintf(c->why, sizeof c->why, "decode failed: %s", err.message), false;
  if (!beam_reader_at_end(&r))
    return snprintf(c->why, sizeof c->why, "decode left %zu bytes unread", beam_reader_remaining(&r)), false;
  if (!resolve_state(c, spec, coder, &decoded)) return false;
  if (!beam_value_equal(&decoded, &expected))
    return snprintf(c->why, sizeof c->why, "decoded value differs from the expected value"), false;
  return true;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s standard_coders.yaml\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    fprintf(stderr, "conformance: cannot open %s: %s (the vectors must be present)\n", argv[1], strerror(errno));
    return 1;
  }
  yaml_parser_t parser;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  int passed = 0, failed = 0, section = 0, total_examples = 0, examples_passed = 0;
  beam_arena arena = BEAM_ARENA_INIT;
  for (;;) {
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
      fprintf(stderr, "conformance: YAML error: %s (line %zu)\n", parser.problem ? parser.problem : "?",
              parser.problem_mark.line + 1);
      failed++;
      break;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
      yaml_document_delete(&doc);
      break;
    }
    section++;
    ctx c = {&doc, &arena, ""};
    yaml_node_t *spec = map_get(&c, root, "coder");
    yaml_node_t *examples = map_get(&c, root, "examples");
    yaml_node_t *nested_node = map_get(&c, root, "nested");
    const char *urn = sval(map_get(&c, spec, "urn"));
    bool non_det = is_true(map_get(&c, spec, "non_deterministic"));
    beam_error err;
    beam_coder *coder = build_coder(&c, spec, &err);
    size_t n_examples = examples && examples->type == YAML_MAPPING_NODE
                            ? (size_t)(examples->data.mapping.pairs.top - examples->data.mapping.pairs.start)
                            : 0;
    if (!coder) {
      printf("FAIL section %d (%s): cannot build coder: %s\n", section, urn, err.message);
      failed += (int)(n_examples ? n_examples : 1);
    } else {
      bool contexts[2];
      int n_ctx = 0;
      if (nested_node) contexts[n_ctx++] = is_true(nested_node);
      else contexts[n_ctx++] = true, contexts[n_ctx++] = false;
      total_examples += (int)n_examples;
      for (size_t e = 0; e < n_examples; e++) {
        bool example_ok = true;
        for (int k = 0; k < n_ctx; k++) {
          yaml_node_pair_t *p = &examples->data.mapping.pairs.start[e];
          c.why[0] = '\0';
          if (run_example(&c, spec, coder, contexts[k], non_det, node(&c, p->key), node(&c, p->value))) {
            passed++;
          } else {
            failed++;
            example_ok = false;
            printf("FAIL section %d (%s) example %zu (%s): %s\n", section, urn, e + 1,
                   contexts[k] ? "nested" : "outer", c.why);
          }
        }
        examples_passed += example_ok;
      }
    }
    beam_coder_free(coder);
    beam_arena_reset(&arena);
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  fclose(f);
  beam_arena_free(&arena);
  /* An example without a fixed context is checked both nested and outer: two checks. */
  printf("conformance: %d of %d examples passed (%d checks passed, %d failed) from %s\n", examples_passed,
         total_examples, passed, failed, argv[1]);
  return (failed == 0 && passed > 0) ? 0 : 1;
}
