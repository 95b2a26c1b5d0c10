/* Assertions as pipeline transforms (see testing.h):
 *
 *   pc -> NAME/Reify (records: window + element bytes) -> NAME/Rewindow (global) --\
 *   NAME/Impulse -> NAME/Sentinel (one empty record) ------------------------------ NAME/Flatten
 *     -> NAME/Group (GroupByKey: every record under one key) -> NAME/Check
 *
 * The check's config carries the kind, the expected elements (encoded now with pc's coder)
 * and the coder, so it compares bytes and prints failures decoded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_model.h"
#include "testing_internal.h"

static beam_pcollection *named_pardo(beam_pipeline *p, const char *name, const char *step, beam_pcollection *in,
                                     const char *dofn, const char *config, beam_coder_spec *coder) {
  char full[512];
  snprintf(full, sizeof full, "%s/%s", name, step);
  return beam_pardo1(p, full, in, dofn, config, coder);
}

beam_status beam_test_add_assertion(beam_test *t, beam_pcollection *pc, const char *name, json_t *config) {
  if (beam_test_failed(t)) return json_decref(config), BEAM_ERR_INVALID_ARG;
  if (!pc || !name) {
    json_decref(config);
    return beam_test_fail(t, BEAM_ERR_INVALID_ARG, "assert \"%s\": needs a PCollection and a name", name ? name : "?");
  }
  beam_pipeline *p = beam_test_pipeline(t);
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_bytes(p), beam_coder_spec_bytes(p));
  json_object_set_new(config, "name", json_string(name));
  char *subject = (char *)beam_test_take_subject(t);
  json_object_set_new(config, "of", json_string(subject ? subject : pc->unique_name ? pc->unique_name : pc->id));
  free(subject);
  json_object_set_new(config, "coder", beam_test_coder_json(beam_pcollection_coder(pc)));
  json_t *reify_config = json_pack("{s:O}", "coder", json_object_get(config, "coder"));
  char *reify_text = json_dumps(reify_config, JSON_COMPACT), *check_text = json_dumps(config, JSON_COMPACT);
  json_decref(reify_config);
  json_decref(config);
  char full[512];
  beam_pcollection *reified = named_pardo(p, name, "Reify", pc, BEAM_TEST_REIFY_DOFN, reify_text, kv);
  snprintf(full, sizeof full, "%s/Rewindow", name);
  beam_pcollection *global = beam_window_into_global(p, full, reified);
  snprintf(full, sizeof full, "%s/Impulse", name);
  beam_pcollection *sentinel = named_pardo(p, name, "Sentinel", beam_impulse(p, full), BEAM_TEST_SENTINEL_DOFN, NULL, kv);
  beam_pcollection *both[] = {sentinel, global};
  snprintf(full, sizeof full, "%s/Flatten", name);
  beam_pcollection *all = beam_flatten(p, full, both, 2);
  snprintf(full, sizeof full, "%s/Group", name);
  beam_pcollection *grouped = beam_group_by_key(p, full, all);
  named_pardo(p, name, "Check", grouped, BEAM_TEST_CHECK_DOFN, check_text, beam_coder_spec_bytes(p));
  free(reify_text);
  free(check_text);
  if (beam_pipeline_error(p)) return beam_pipeline_error(p)->code;
  snprintf(full, sizeof full, "%s/Check", name);
  return beam_test_add_check(t, full);
}

/* An assertion whose expected elements are encoded with coder (pc's, or a component of it). */
static beam_status expect(beam_test *t, beam_pcollection *pc, const char *name, json_t *config,
                          const beam_coder_spec *coder, const beam_value *values, const int64_t *counts, size_t n) {
  if (beam_test_failed(t)) return json_decref(config), BEAM_ERR_INVALID_ARG;
  if (!pc || !coder) {
    json_decref(config);
    return beam_test_fail(t, BEAM_ERR_INVALID_ARG, "assert \"%s\": needs a PCollection", name ? name : "?");
  }
  json_t *expected = json_array();
  beam_error err = {0};
  beam_status s = n && !values ? beam_error_set(&err, BEAM_ERR_INVALID_ARG, "no expected values given")
                               : beam_test_encode_expected(coder, values, counts, n, expected, &err);
  json_object_set_new(config, "expected", expected);
  if (s != BEAM_OK) {
    json_decref(config);
    return beam_test_fail(t, s, "assert \"%s\": %s", name ? name : "?", err.message);
  }
  return beam_test_add_assertion(t, pc, name, config);
}

static const beam_coder_spec *coder_of(const beam_pcollection *pc) { return pc ? beam_pcollection_coder(pc) : NULL; }

beam_status beam_assert_equal(beam_test *t, beam_pcollection *pc, const char *name, const beam_value *expected, size_t n) {
  return expect(t, pc, name, json_pack("{s:s}", "kind", "equal"), coder_of(pc), expected, NULL, n);
}

beam_status beam_assert_counts(beam_test *t, beam_pcollection *pc, const char *name, const beam_value *values,
                               const int64_t *counts, size_t n) {
  return expect(t, pc, name, json_pack("{s:s}", "kind", "equal"), coder_of(pc), values, counts, n);
}

beam_status beam_assert_contains(beam_test *t, beam_pcollection *pc, const char *name, const beam_value *expected,
                                 size_t n) {
  return expect(t, pc, name, json_pack("{s:s}", "kind", "contains"), coder_of(pc), expected, NULL, n);
}

beam_status beam_assert_empty(beam_test *t, beam_pcollection *pc, const char *name) {
  return expect(t, pc, name, json_pack("{s:s}", "kind", "empty"), coder_of(pc), NULL, NULL, 0);
}

beam_status beam_assert_count(beam_test *t, beam_pcollection *pc, const char *name, size_t n) {
  return beam_test_add_assertion(t, pc, name, json_pack("{s:s, s:I}", "kind", "count", "count", (json_int_t)n));
}

beam_status beam_assert_all(beam_test *t, beam_pcollection *pc, const char *name, const char *predicate_name) {
  if (beam_test_failed(t)) return BEAM_ERR_INVALID_ARG;
  if (!predicate_name || !beam_test_predicate_lookup(predicate_name))
    return beam_test_fail(t, BEAM_ERR_NOT_FOUND, "assert \"%s\": no predicate registered as \"%s\"", name ? name : "?",
                          predicate_name ? predicate_name : "(null)");
  return beam_test_add_assertion(t, pc, name, json_pack("{s:s, s:s}", "kind", "all", "predicate", predicate_name));
}

beam_status beam_assert_per_key(beam_test *t, beam_pcollection *pc, const char *name, const beam_value *key,
                                const beam_value *expected_values, size_t n) {
  const beam_coder_spec *coder = coder_of(pc);
  if (beam_test_failed(t)) return BEAM_ERR_INVALID_ARG;
  if (!coder || strcmp(beam_test_coder_spec_urn(coder), BEAM_CODER_URN_KV) != 0 || !key)
    return beam_test_fail(t, BEAM_ERR_INVALID_ARG, "assert \"%s\": per-key contents need a KV PCollection and a key",
                          name ? name : "?");
  json_t *key_json = json_array();
  beam_error err = {0};
  beam_status s = beam_test_encode_expected(beam_test_coder_spec_component(coder, 0), key, NULL, 1, key_json, &err);
  json_t *config = json_pack("{s:s, s:O}", "kind", "per_key", "key", json_array_get(json_array_get(key_json, 0), 0));
  json_decref(key_json);
  if (s != BEAM_OK) {
    json_decref(config);
    return beam_test_fail(t, s, "assert \"%s\": key: %s", name ? name : "?", err.message);
  }
  return expect(t, pc, name, config, beam_test_coder_spec_component(coder, 1), expected_values, NULL, n);
}

beam_status beam_assert_in_window(beam_test *t, beam_pcollection *pc, const char *name, int64_t start_ms,
                                  int64_t end_ms, const beam_value *expected, size_t n) {
  json_t *config = json_pack("{s:s, s:[I, I]}", "kind", "window", "window", (json_int_t)start_ms, (json_int_t)end_ms);
  return expect(t, pc, name, config, coder_of(pc), expected, NULL, n);
}

beam_status beam_assert_equal_strings(beam_test *t, beam_pcollection *pc, const char *name,
                                      const char *const *expected, size_t n) {
  beam_value *v = calloc(n ? n : 1, sizeof *v);
  if (!v) return beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) v[i] = beam_value_string(expected[i], strlen(expected[i]));
  beam_status s = beam_assert_equal(t, pc, name, v, n);
  free(v);
  return s;
}

beam_status beam_assert_equal_int64s(beam_test *t, beam_pcollection *pc, const char *name, const int64_t *expected,
                                     size_t n) {
  beam_value *v = calloc(n ? n : 1, sizeof *v);
  if (!v) return beam_test_fail(t, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) v[i] = beam_value_int64(expected[i]);
  beam_status s = beam_assert_equal(t, pc, name, v, n);
  free(v);
  return s;
}
