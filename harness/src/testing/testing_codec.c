/* The testing kit's encodings: coders described as JSON (so a DoFn on any worker can build
 * the PCollection's coder from its config), base64, and expected elements as encoded bytes. */
#include <stdlib.h>
#include <string.h>

#include "pipeline_model.h"
#include "testing_internal.h"

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *beam_test_base64_encode(const uint8_t *data, size_t len) {
  char *out = malloc((len + 2) / 3 * 4 + 1);
  if (!out) return NULL;
  char *o = out;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
    if (i + 2 < len) v |= data[i + 2];
    *o++ = b64_alphabet[v >> 18 & 63];
    *o++ = b64_alphabet[v >> 12 & 63];
    *o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
    *o++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
  }
  *o = '\0';
  return out;
}

static int b64_digit(char c) {
  const char *p = c ? strchr(b64_alphabet, c) : NULL;
  return p ? (int)(p - b64_alphabet) : -1;
}

uint8_t *beam_test_base64_decode(const char *text, size_t *len) {
  size_t n = strlen(text);
  if (n % 4) return NULL;
  uint8_t *out = malloc(n / 4 * 3 + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    int d[4];
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      d[k] = text[i + k] == '=' && i + 4 == n && k >= 2 ? (pad++, 0) : b64_digit(text[i + k]);
      if (d[k] < 0 || (pad && text[i + k] != '=')) {
        free(out);
        return NULL;
      }
    }
    uint32_t v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6 | (uint32_t)d[3];
    out[o++] = (uint8_t)(v >> 16);
    if (pad < 2) out[o++] = (uint8_t)(v >> 8);
    if (pad < 1) out[o++] = (uint8_t)v;
  }
  *len = o;
  return out;
}

json_t *beam_test_coder_json(const beam_coder_spec *spec) {
  json_t *j = json_object(), *parts = json_array();
  json_object_set_new(j, "urn", json_string(spec->urn));
  if (spec->payload_len) {
    char *b64 = beam_test_base64_encode(spec->payload, spec->payload_len);
    json_object_set_new(j, "payload", json_string(b64 ? b64 : ""));
    free(b64);
  }
  for (size_t i = 0; i < spec->n_components; i++) json_array_append_new(parts, beam_test_coder_json(spec->components[i]));
  json_object_set_new(j, "components", parts);
  return j;
}

static beam_status coder_from_json(const json_t *j, int depth, beam_coder **out, beam_error *err) {
  const char *urn = json_string_value(json_object_get(j, "urn"));
  const json_t *parts = json_object_get(j, "components");
  if (!urn || depth > BEAM_CODER_MAX_DEPTH || (parts && !json_is_array(parts)))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "testing kit: bad coder description in the DoFn config");
  const char *payload_b64 = json_string_value(json_object_get(j, "payload"));
  size_t payload_len = 0, n = json_array_size(parts);
  uint8_t *payload = payload_b64 ? beam_test_base64_decode(payload_b64, &payload_len) : NULL;
  beam_coder **components = calloc(n ? n : 1, sizeof *components);
  beam_status s = components && (!payload_b64 || payload) ? BEAM_OK
                                                          : beam_error_set(err, BEAM_ERR_INVALID_ARG, "testing kit: bad coder payload");
  for (size_t i = 0; s == BEAM_OK && i < n; i++) s = coder_from_json(json_array_get(parts, i), depth + 1, &components[i], err);
  if (s == BEAM_OK) s = beam_coder_build(urn, payload, payload_len, components, n, out, err);
  for (size_t i = 0; components && i < n; i++) beam_coder_free(components[i]);
  free(components);
  free(payload);
  return s;
}

beam_status beam_test_coder_from_json(const json_t *j, beam_coder **out, beam_error *err) {
  return coder_from_json(j, 0, out, err);
}

beam_status beam_test_coder_build(const beam_coder_spec *spec, beam_coder **out, beam_error *err) {
  json_t *j = beam_test_coder_json(spec);
  beam_status s = beam_test_coder_from_json(j, out, err);
  json_decref(j);
  return s;
}

const beam_coder_spec *beam_test_coder_spec_component(const beam_coder_spec *spec, size_t i) {
  return spec && i < spec->n_components ? spec->components[i] : NULL;
}

const char *beam_test_coder_spec_urn(const beam_coder_spec *spec) { return spec ? spec->urn : ""; }

beam_status beam_test_encode_expected(const beam_coder_spec *coder, const beam_value *values,
                                      const int64_t *counts, size_t n, json_t *out, beam_error *err) {
  beam_coder *c = NULL;
  beam_status s = beam_test_coder_build(coder, &c, err);
  beam_buf buf = BEAM_BUF_INIT;
  for (size_t i = 0; s == BEAM_OK && i < n; i++) {
    beam_buf_reset(&buf);
    s = beam_coder_encode(c, &values[i], true, &buf, err);
    if (s != BEAM_OK) {
      beam_error_prefix(err, "expected element %zu: ", i);
      break;
    }
    char *b64 = beam_test_base64_encode(buf.data, buf.len);
    if (!b64) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    else json_array_append_new(out, json_pack("[s, I]", b64, (json_int_t)(counts ? counts[i] : 1)));
    free(b64);
  }
  beam_buf_free(&buf);
  beam_coder_free(c);
  return s;
}
