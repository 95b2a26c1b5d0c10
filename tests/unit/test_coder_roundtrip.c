/* Round trips and context rules of the standard coders, and agreement with bytes the
 * Python SDK produced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coder_samples.h"

static beam_buf enc(const beam_coder *c, const beam_value *v, bool nested) {
  beam_buf b = BEAM_BUF_INIT;
  beam_error err;
  if (beam_coder_encode(c, v, nested, &b, &err) != BEAM_OK) fail_msg("encode: %s", err.message);
  return b;
}

static void bytes_prefixed_only_when_nested(void **state) {
  (void)state;
  beam_coder *c = beam_coder_simple(BEAM_CODER_URN_STRING_UTF8);
  beam_value v = beam_value_string("héllo", 6);
  beam_buf outer = enc(c, &v, false), nested = enc(c, &v, true);
  assert_int_equal(outer.len, 6);
  assert_int_equal(nested.len, 7);
  assert_int_equal(nested.data[0], 6);
  beam_arena a = BEAM_ARENA_INIT;
  beam_reader r = beam_reader_make(outer.data, outer.len);
  beam_value back;
  assert_int_equal(beam_coder_decode(c, &r, false, &a, &back, NULL), BEAM_OK);
  assert_int_equal(back.kind, BEAM_VALUE_STRING);
  assert_true(beam_value_equal(&back, &v));
  /* Decoded strings alias the input. */
  assert_ptr_equal(back.u.bytes.data, outer.data);
  beam_buf_free(&outer);
  beam_buf_free(&nested);
  beam_arena_free(&a);
  beam_coder_free(c);
}

static void kv_passes_context_to_value(void **state) {
  (void)state;
  beam_coder *comps[2] = {beam_coder_simple(BEAM_CODER_URN_BYTES), beam_coder_simple(BEAM_CODER_URN_BYTES)};
  beam_coder *kv = NULL;
  assert_int_equal(beam_coder_build(BEAM_CODER_URN_KV, NULL, 0, comps, 2, &kv, NULL), BEAM_OK);
  beam_coder_free(comps[0]);
  beam_coder_free(comps[1]);
  beam_value k = beam_value_bytes("ab", 2), val = beam_value_bytes("cde", 3);
  beam_value v = {.kind = BEAM_VALUE_KV, .u.kv = {&k, &val}};
  beam_buf outer = enc(kv, &v, false), nested = enc(kv, &v, true);
  assert_int_equal(outer.len, 6);
  assert_memory_equal(outer.data, "\x02" "abcde", 6);
  assert_int_equal(nested.len, 7);
  assert_memory_equal(nested.data, "\x02" "ab\x03" "cde", 7);
  beam_buf_free(&outer);
  beam_buf_free(&nested);
  beam_coder_free(kv);
}

static void length_prefix_wraps_outer_encoding(void **state) {
  (void)state;
  beam_coder *b = beam_coder_simple(BEAM_CODER_URN_BYTES);
  beam_coder *lp = NULL;
  assert_int_equal(beam_coder_build(BEAM_CODER_URN_LENGTH_PREFIX, NULL, 0, &b, 1, &lp, NULL), BEAM_OK);
  beam_coder_free(b);
  char big[300];
  memset(big, 'x', sizeof big);
  beam_value v = beam_value_bytes(big, sizeof big);
  for (int nested = 0; nested < 2; nested++) {
    beam_buf out = enc(lp, &v, nested);
    assert_int_equal(out.len, 302);
    assert_memory_equal(out.data, "\xac\x02", 2);
    beam_arena a = BEAM_ARENA_INIT;
    beam_reader r = beam_reader_make(out.data, out.len);
    beam_value back;
    assert_int_equal(beam_coder_decode(lp, &r, nested, &a, &back, NULL), BEAM_OK);
    assert_true(beam_value_equal(&back, &v));
    beam_arena_free(&a);
    beam_buf_free(&out);
  }
  beam_coder_free(lp);
}

/* Every zoo sample decodes, re-encodes to the same bytes, and clones equal. */
static void samples_round_trip_exactly(void **state) {
  (void)state;
  coder_zoo z;
  assert_int_equal(coder_zoo_init(&z), 0);
  size_t n;
  const coder_sample *s = coder_samples(&n);
  beam_arena a = BEAM_ARENA_INIT;
  for (size_t i = 0; i < n; i++) {
    beam_reader r = beam_reader_make(s[i].bytes, s[i].len);
    beam_value v;
    beam_error err;
    assert_int_equal(beam_coder_decode(z.c[i], &r, true, &a, &v, &err), BEAM_OK);
    beam_buf out = enc(z.c[i], &v, true);
    if (out.len != s[i].len || memcmp(out.data, s[i].bytes, out.len) != 0)
      fail_msg("coder %zu (%s) re-encoded differently", i, beam_coder_urn(z.c[i]));
    beam_value *copy = beam_value_clone(&a, &v);
    assert_non_null(copy);
    assert_true(beam_value_equal(copy, &v));
    beam_buf_free(&out);
  }
  beam_arena_free(&a);
  coder_zoo_free(&z);
}

static void row_matches_python_sdk(void **state) {
  (void)state;
  beam_coder *c = NULL;
  beam_error err;
  assert_int_equal(beam_coder_build(BEAM_CODER_URN_ROW, (const uint8_t *)ZOO_ROW_SCHEMA,
                                    sizeof ZOO_ROW_SCHEMA - 1, NULL, 0, &c, &err), BEAM_OK);
  beam_arena a = BEAM_ARENA_INIT;
  beam_reader r = beam_reader_make(ZOO_ROW_PY_BYTES, sizeof ZOO_ROW_PY_BYTES - 1);
  beam_value v;
  assert_int_equal(beam_coder_decode(c, &r, true, &a, &v, &err), BEAM_OK);
  assert_int_equal(v.kind, BEAM_VALUE_ROW);
  assert_int_equal(v.u.list.len, 14);
  const beam_value *f = v.u.list.items;
  assert_int_equal(f[0].u.i64, -2);
  assert_int_equal(f[1].u.i64, -5);
  assert_true(f[2].u.i64 == (int64_t)1 << 40);
  assert_true(f[3].u.f64 == 1.5);
  assert_int_equal(f[4].kind, BEAM_VALUE_NULL);
  assert_int_equal(f[5].u.bytes.len, 6);
  assert_true(f[6].u.b);
  assert_int_equal(f[7].kind, BEAM_VALUE_NULL);
  assert_int_equal(f[8].u.list.len, 2);
  assert_int_equal(f[8].u.list.items[1].kind, BEAM_VALUE_NULL);
  assert_int_equal(f[10].kind, BEAM_VALUE_MAP);
  assert_int_equal(f[10].u.list.len, 4);
  assert_int_equal(f[11].kind, BEAM_VALUE_ROW);
  assert_int_equal(f[12].kind, BEAM_VALUE_TIMESTAMP);
  assert_true(f[12].u.i64 == 1597328054123LL);
  assert_int_equal(f[13].kind, BEAM_VALUE_STRING);
  assert_int_equal(f[13].u.bytes.len, 6);
  assert_memory_equal(f[13].u.bytes.data, "-12.50", 6);
  beam_buf out = enc(c, &v, true);
  assert_int_equal(out.len, sizeof ZOO_ROW_PY_BYTES - 1);
  assert_memory_equal(out.data, ZOO_ROW_PY_BYTES, out.len);
  beam_buf_free(&out);

  /* Schema evolution: an encoding with only the first 3 fields leaves the rest null... */
  r = beam_reader_make("\x03\x00\x90\x00\x05\x07", 6);
  assert_int_equal(beam_coder_decode(c, &r, true, &a, &v, &err), BEAM_OK);
  assert_int_equal(v.u.list.len, 14);
  assert_int_equal(v.u.list.items[2].u.i64, 7);
  assert_int_equal(v.u.list.items[3].kind, BEAM_VALUE_NULL);
  beam_arena_free(&a);
  beam_coder_free(c);

  /* ...and a reader with a smaller schema ignores trailing fields. */
  const char small[] = "\x0a\x09\x0a\x03\x69\x31\x36\x1a\x02\x10\x02";
  assert_int_equal(beam_coder_build(BEAM_CODER_URN_ROW, (const uint8_t *)small, sizeof small - 1,
                                    NULL, 0, &c, &err), BEAM_OK);
  r = beam_reader_make(ZOO_ROW_PY_BYTES, sizeof ZOO_ROW_PY_BYTES - 1);
  assert_int_equal(beam_coder_decode(c, &r, false, &a, &v, &err), BEAM_OK);
  assert_int_equal(v.u.list.len, 1);
  assert_int_equal(v.u.list.items[0].u.i64, -2);
  beam_arena_free(&a);
  beam_coder_free(c);
}

static void decimal_text_forms(void **state) {
  (void)state;
  /* A one-field schema: dec decimal (nullable=false). */
  const char schema[] = "\x0a\x2b\x0a\x03\x64\x65\x63\x1a\x24\x3a\x22\x0a\x1c" "beam:logical_type:decimal:v1"
                        "\x1a\x02\x10\x09";
  beam_coder *c = NULL;
  beam_error err;
  assert_int_equal(beam_coder_build(BEAM_CODER_URN_ROW, (const uint8_t *)schema, sizeof schema - 1,
                                    NULL, 0, &c, &err), BEAM_OK);
  const char *texts[] = {"0", "-1", "127", "128", "-128", "-129", "0.001", "123456789012345678901234567890.5",
                         "-0.000000000000000000000000000001", "12E+3", "1E-2000"};
  beam_arena a = BEAM_ARENA_INIT;
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    beam_value field = beam_value_string(texts[i], strlen(texts[i]));
    beam_value row = {.kind = BEAM_VALUE_ROW, .u.list = {&field, 1}};
    beam_buf out = enc(c, &row, true);
    beam_reader r = beam_reader_make(out.data, out.len);
    beam_value back;
    assert_int_equal(beam_coder_decode(c, &r, true, &a, &back, &err), BEAM_OK);
    const beam_value *d = &back.u.list.items[0];
    if (d->u.bytes.len != strlen(texts[i]) || memcmp(d->u.bytes.data, texts[i], d->u.bytes.len))
      fail_msg("decimal %s came back as %.*s", texts[i], (int)d->u.bytes.len, (const char *)d->u.bytes.data);
    beam_buf_free(&out);
  }
  beam_value bad = beam_value_string("1.2.3", 5);
  beam_value row = {.kind = BEAM_VALUE_ROW, .u.list = {&bad, 1}};
  beam_buf out = BEAM_BUF_INIT;
  assert_int_equal(beam_coder_encode(c, &row, true, &out, &err), BEAM_ERR_INVALID_ARG);
  beam_buf_free(&out);
  beam_arena_free(&a);
  beam_coder_free(c);
}

static void state_token_round_trips(void **state) {
  (void)state;
  beam_coder *v = beam_coder_simple(BEAM_CODER_URN_VARINT);
  beam_coder *c = NULL;
  assert_int_equal(beam_coder_build(BEAM_CODER_URN_STATE_BACKED_ITERABLE, NULL, 0, &v, 1, &c, NULL), BEAM_OK);
  beam_coder_free(v);
  beam_value items[2] = {beam_value_int64(200), beam_value_int64(1000)};
  beam_value si = {.kind = BEAM_VALUE_STATE_ITERABLE};
  si.u.state_iterable.items = items;
  si.u.state_iterable.len = 2;
  si.u.state_iterable.token.data = (const uint8_t *)"emptySuffix";
  si.u.state_iterable.token.len = 11;
  beam_buf out = enc(c, &si, true);
  const char want[] = "\xff\xff\xff\xff\x02\xc8\x01\xe8\x07\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x0b" "emptySuffix";
  assert_int_equal(out.len, sizeof want - 1);
  assert_memory_equal(out.data, want, out.len);
  beam_arena a = BEAM_ARENA_INIT;
  beam_reader r = beam_reader_make(out.data, out.len);
  beam_value back;
  assert_int_equal(beam_coder_decode(c, &r, true, &a, &back, NULL), BEAM_OK);
  assert_int_equal(back.kind, BEAM_VALUE_STATE_ITERABLE);
  assert_true(beam_value_equal(&back, &si));
  /* The inline prefix reads like a list. */
  assert_int_equal(back.u.list.len, 2);
  beam_arena_free(&a);
  beam_buf_free(&out);
  beam_coder_free(c);
}

static beam_status custom_factory(const char *urn, const uint8_t *payload, size_t payload_len,
                                  beam_coder *const *components, size_t n, beam_coder **out,
                                  beam_error *err) {
  /* An alias for bytes: proves registered URNs are built and listed. */
  return beam_coder_build(BEAM_CODER_URN_BYTES, payload, payload_len, components, n, out, err);
}

static void registry_accepts_new_urns(void **state) {
  (void)state;
  assert_int_equal(beam_coder_registry_register("beam:coder:test_alias:v1", custom_factory), BEAM_OK);
  beam_coder *c = beam_coder_simple("beam:coder:test_alias:v1");
  assert_non_null(c);
  beam_coder_free(c);
  const char *urns[64];
  size_t n = beam_coder_urns(urns, 64);
  bool found = false;
  for (size_t i = 0; i < n; i++) found = found || strcmp(urns[i], "beam:coder:test_alias:v1") == 0;
  assert_true(found);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bytes_prefixed_only_when_nested),
      cmocka_unit_test(kv_passes_context_to_value),
      cmocka_unit_test(length_prefix_wraps_outer_encoding),
      cmocka_unit_test(samples_round_trip_exactly),
      cmocka_unit_test(row_matches_python_sdk),
      cmocka_unit_test(decimal_text_forms),
      cmocka_unit_test(state_token_round_trips),
      cmocka_unit_test(registry_accepts_new_urns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
