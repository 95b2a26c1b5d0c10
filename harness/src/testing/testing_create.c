/* Create: Impulse + DoFn "beam_test_create", which emits the elements carried in its config
 * (base64 of each element's nested encoding under the PCollection's coder, so any runner's
 * worker can decode them), each at its timestamp when one is given.
 *
 * Config: {"coder": {...}, "elements": ["b64", ...], "timestamps": [ms | null, ...]}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing_internal.h"

typedef struct create_state {
  beam_coder *coder;
  const json_t *elements, *timestamps;
} create_state;

static beam_status create_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  create_state *st = state;
  const json_t *config = beam_dofn_config(ctx);
  st->elements = json_object_get(config, "elements");
  st->timestamps = json_object_get(config, "timestamps");
  if (!json_is_array(st->elements))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: config.elements is missing", beam_dofn_transform_id(ctx));
  return beam_test_coder_from_json(json_object_get(config, "coder"), &st->coder, err);
}

static beam_status emit_one(create_state *st, beam_dofn_ctx *ctx, size_t i, beam_error *err) {
  size_t len = 0;
  const char *b64 = json_string_value(json_array_get(st->elements, i));
  uint8_t *bytes = b64 ? beam_test_base64_decode(b64, &len) : NULL;
  if (!bytes) return beam_error_set(err, BEAM_ERR_MALFORMED, "testing kit: element %zu is not base64", i);
  beam_reader r = beam_reader_make(bytes, len);
  beam_value v;
  beam_status s = beam_coder_decode(st->coder, &r, true, beam_dofn_scratch(ctx), &v, err);
  const json_t *ts = json_array_get(st->timestamps, i);
  /* Emitting copies or consumes the value before returning, so bytes may go afterwards. */
  if (s == BEAM_OK)
    s = json_is_integer(ts) ? beam_dofn_emit_at(ctx, 0, &v, (int64_t)json_integer_value(ts), err)
                            : beam_dofn_emit(ctx, 0, &v, err);
  free(bytes);
  return s;
}

static beam_status create_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)elem;
  create_state *st = state;
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < json_array_size(st->elements); i++) s = emit_one(st, ctx, i, err);
  return s;
}

static void create_teardown(void *state) { beam_coder_free(((create_state *)state)->coder); }

const beam_dofn_def beam_test_create_dofn = {.name = BEAM_TEST_CREATE_DOFN,
                                             .state_size = sizeof(create_state),
                                             .setup = create_setup,
                                             .process = create_process,
                                             .teardown = create_teardown};

/* --- construction ------------------------------------------------------------------------- */

beam_pcollection *beam_test_create_timestamped(beam_test *t, const char *name, beam_coder_spec *coder,
                                               const beam_value *values, const int64_t *timestamps_ms, size_t n) {
  if (beam_test_failed(t)) return NULL;
  if (!name || !coder || (n && !values)) {
    beam_test_fail(t, BEAM_ERR_INVALID_ARG, "Create \"%s\": needs a name, a coder and the values", name ? name : "?");
    return NULL;
  }
  beam_pipeline *p = beam_test_pipeline(t);
  json_t *encoded = json_array(), *stamps = json_array(), *elements = json_array();
  beam_error err = {0};
  beam_status s = beam_test_encode_expected(coder, values, NULL, n, encoded, &err);
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    json_array_append(elements, json_array_get(json_array_get(encoded, i), 0));
    json_array_append_new(stamps, timestamps_ms ? json_integer(timestamps_ms[i]) : json_null());
  }
  json_t *config = json_pack("{s:o, s:o, s:o}", "coder", beam_test_coder_json(coder), "elements", elements,
                             "timestamps", stamps);
  char *text = json_dumps(config, JSON_COMPACT);
  json_decref(config);
  json_decref(encoded);
  beam_pcollection *out = NULL;
  if (s != BEAM_OK) {
    beam_test_fail(t, s, "Create \"%s\": %s", name, err.message);
  } else if (!text) {
    beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory");
  } else {
    char impulse[256];
    snprintf(impulse, sizeof impulse, "%s/Impulse", name);
    out = beam_pardo1(p, name, beam_impulse(p, impulse), BEAM_TEST_CREATE_DOFN, text, coder);
  }
  free(text);
  return out;
}

beam_pcollection *beam_test_create(beam_test *t, const char *name, beam_coder_spec *coder, const beam_value *values,
                                   size_t n) {
  return beam_test_create_timestamped(t, name, coder, values, NULL, n);
}

beam_pcollection *beam_test_create_strings(beam_test *t, const char *name, const char *const *strings, size_t n) {
  beam_value *v = calloc(n ? n : 1, sizeof *v);
  if (!v) return beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory"), NULL;
  for (size_t i = 0; i < n; i++) v[i] = beam_value_string(strings[i], strlen(strings[i]));
  beam_pcollection *pc = beam_test_create(t, name, beam_coder_spec_string(beam_test_pipeline(t)), v, n);
  free(v);
  return pc;
}

beam_pcollection *beam_test_create_int64s(beam_test *t, const char *name, const int64_t *values, size_t n) {
  beam_value *v = calloc(n ? n : 1, sizeof *v);
  if (!v) return beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory"), NULL;
  for (size_t i = 0; i < n; i++) v[i] = beam_value_int64(values[i]);
  beam_pcollection *pc = beam_test_create(t, name, beam_coder_spec_varint(beam_test_pipeline(t)), v, n);
  free(v);
  return pc;
}

beam_pcollection *beam_test_create_kvs(beam_test *t, const char *name, const char *const *keys, const int64_t *values,
                                       size_t n) {
  beam_value *v = calloc(n ? 3 * n : 1, sizeof *v);
  if (!v) return beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory"), NULL;
  for (size_t i = 0; i < n; i++) {
    beam_value *k = &v[n + 2 * i], *x = &v[n + 2 * i + 1];
    *k = beam_value_string(keys[i], strlen(keys[i]));
    *x = beam_value_int64(values[i]);
    v[i] = (beam_value){.kind = BEAM_VALUE_KV, .u.kv = {k, x}};
  }
  beam_pipeline *p = beam_test_pipeline(t);
  beam_pcollection *pc =
      beam_test_create(t, name, beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p)), v, n);
  free(v);
  return pc;
}

/* Reads path whole, splits it into lines (without \n or \r\n). */
static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  beam_buf b = BEAM_BUF_INIT;
  char chunk[8192];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) beam_buf_append(&b, chunk, got);
  bool ok = !ferror(f) && beam_buf_terminate(&b) == BEAM_OK;
  fclose(f);
  if (!ok) return beam_buf_free(&b), NULL;
  *len = b.len;
  return (char *)b.data;
}

beam_pcollection *beam_test_create_lines(beam_test *t, const char *name, const char *path) {
  if (beam_test_failed(t)) return NULL;
  size_t len = 0;
  char *text = path ? read_text(path, &len) : NULL;
  if (!text) return beam_test_fail(t, BEAM_ERR_IO, "Create \"%s\": cannot read %s", name, path ? path : "(null)"), NULL;
  size_t n = 0, cap = 16;
  const char **lines = malloc(cap * sizeof *lines);
  for (char *p = text; lines && p < text + len;) {
    char *nl = memchr(p, '\n', (size_t)(text + len - p));
    char *end = nl ? nl : text + len;
    if (end > p && end[-1] == '\r') end[-1] = '\0';
    *end = '\0';
    if (n == cap) {
      const char **grown = realloc(lines, (cap *= 2) * sizeof *lines);
      if (!grown) free(lines);
      lines = grown;
      if (!lines) break;
    }
    lines[n++] = p;
    p = end + 1;
  }
  beam_pcollection *pc = lines ? beam_test_create_strings(t, name, lines, n)
                               : (beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory"), NULL);
  free(lines);
  free(text);
  return pc;
}
