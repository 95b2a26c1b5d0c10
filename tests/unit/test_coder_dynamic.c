/* beam:coder:c:value:v1, the self-describing coder the ETL stages use: every plain kind
 * round-trips, and hostile bytes fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/coder.h"

static void assert_roundtrip(const beam_value *v) {
  beam_coder *c = beam_coder_simple(BEAM_CODER_URN_C_VALUE);
  assert_non_null(c);
  beam_buf buf = BEAM_BUF_INIT, again = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_coder_encode(c, v, true, &buf, &err), BEAM_OK);
  beam_reader in = beam_reader_make(buf.data, buf.len);
  beam_arena a = BEAM_ARENA_INIT;
  beam_value out;
  assert_int_equal(beam_coder_decode(c, &in, true, &a, &out, &err), BEAM_OK);
  assert_true(beam_reader_at_end(&in));
  assert_int_equal(out.kind, v->kind);
  assert_int_equal(beam_coder_encode(c, &out, true, &again, &err), BEAM_OK);
  assert_int_equal(again.len, buf.len);
  assert_memory_equal(again.data, buf.data, buf.len);
  beam_buf_free(&buf);
  beam_buf_free(&again);
  beam_arena_free(&a);
  beam_coder_free(c);
}

static void every_plain_kind_roundtrips(void **state) {
  (void)state;
  beam_value items[8] = {beam_value_null(), beam_value_bool(true), beam_value_int64(-5),
                         beam_value_double(2.5), beam_value_bytes("\0\1", 2), beam_value_string("héllo", 6),
                         beam_value_int64(INT64_MIN), beam_value_int64(INT64_MAX)};
  for (size_t i = 0; i < 8; i++) assert_roundtrip(&items[i]);
  beam_value row = {.kind = BEAM_VALUE_ROW, .u.list = {items, 8}};
  beam_value list = {.kind = BEAM_VALUE_LIST, .u.list = {&row, 1}};
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&items[5], &list}};
  beam_value map = {.kind = BEAM_VALUE_MAP, .u.list = {items + 4, 2}};
  beam_value ts = {.kind = BEAM_VALUE_TIMESTAMP, .u.i64 = -1234};
  assert_roundtrip(&row);
  assert_roundtrip(&kv);
  assert_roundtrip(&map);
  assert_roundtrip(&ts);
}

static void bad_bytes_fail_cleanly(void **state) {
  (void)state;
  beam_coder *c = beam_coder_simple(BEAM_CODER_URN_C_VALUE);
  const uint8_t *cases[] = {(const uint8_t *)"\x63", (const uint8_t *)"\x01\x07",
                            (const uint8_t *)"\x06\xff\xff\xff\xff\x0f", (const uint8_t *)"\x05\x05" "ab"};
  size_t lens[] = {1, 2, 6, 4};
  for (size_t i = 0; i < 4; i++) {
    beam_reader in = beam_reader_make(cases[i], lens[i]);
    beam_arena a = BEAM_ARENA_INIT;
    beam_value out;
    beam_error err = {0};
    assert_int_not_equal(beam_coder_decode(c, &in, true, &a, &out, &err), BEAM_OK);
    beam_arena_free(&a);
  }
  /* Lists nested deeper than the bound are refused, not recursed into. */
  uint8_t deep[200];
  for (size_t i = 0; i < sizeof deep; i += 2) deep[i] = BEAM_VALUE_LIST, deep[i + 1] = 1;
  beam_reader in = beam_reader_make(deep, sizeof deep);
  beam_arena a = BEAM_ARENA_INIT;
  beam_value out;
  beam_error err = {0};
  assert_int_equal(beam_coder_decode(c, &in, true, &a, &out, &err), BEAM_ERR_MALFORMED);
  beam_arena_free(&a);
  beam_coder_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_plain_kind_roundtrips),
      cmocka_unit_test(bad_bytes_fail_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
