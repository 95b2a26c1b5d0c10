/* Wire primitives: varints, big-endian integers, timestamps, panes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/coder.h"

static void varint_known_bytes(void **state) {
  (void)state;
  struct { int64_t v; const char *bytes; size_t len; } cases[] = {
      {0, "\x00", 1}, {1, "\x01", 1}, {200, "\xc8\x01", 2}, {9001, "\xa9\x46", 2},
      {-1, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10},
      {INT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9},
      {INT64_MIN, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    beam_buf b = BEAM_BUF_INIT;
    assert_int_equal(beam_coder_encode_varint_i64(&b, cases[i].v), BEAM_OK);
    assert_int_equal(b.len, cases[i].len);
    assert_memory_equal(b.data, cases[i].bytes, cases[i].len);
    assert_int_equal(beam_coder_varint_size((uint64_t)cases[i].v), cases[i].len);
    beam_reader r = beam_reader_make(b.data, b.len);
    int64_t back;
    assert_int_equal(beam_coder_decode_varint_i64(&r, &back), BEAM_OK);
    assert_true(back == cases[i].v);
    assert_true(beam_reader_at_end(&r));
    beam_buf_free(&b);
  }
}

static void varint_rejects_overlong_and_truncated(void **state) {
  (void)state;
  const uint8_t overlong[11] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  beam_reader r = beam_reader_make(overlong, sizeof overlong);
  uint64_t v;
  assert_int_equal(beam_coder_decode_varint(&r, &v), BEAM_ERR_MALFORMED);
  const uint8_t tenth_too_big[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  r = beam_reader_make(tenth_too_big, sizeof tenth_too_big);
  assert_int_equal(beam_coder_decode_varint(&r, &v), BEAM_ERR_MALFORMED);
  const uint8_t cut[2] = {0x80, 0x80};
  r = beam_reader_make(cut, sizeof cut);
  assert_int_equal(beam_coder_decode_varint(&r, &v), BEAM_ERR_TRUNCATED);
}

static void timestamp_flips_sign_bit(void **state) {
  (void)state;
  beam_buf b = BEAM_BUF_INIT;
  assert_int_equal(beam_coder_encode_timestamp(&b, 1000), BEAM_OK);
  assert_memory_equal(b.data, "\x80\x00\x00\x00\x00\x00\x03\xe8", 8);
  assert_int_equal(beam_coder_encode_timestamp(&b, -1), BEAM_OK);
  assert_memory_equal(b.data + 8, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
  beam_reader r = beam_reader_make(b.data, b.len);
  int64_t t;
  assert_int_equal(beam_coder_decode_timestamp(&r, &t), BEAM_OK);
  assert_int_equal(t, 1000);
  assert_int_equal(beam_coder_decode_timestamp(&r, &t), BEAM_OK);
  assert_int_equal(t, -1);
  assert_int_equal(beam_coder_decode_timestamp(&r, &t), BEAM_ERR_TRUNCATED);
  beam_buf_free(&b);
}

static void pane_three_forms(void **state) {
  (void)state;
  beam_pane panes[] = {BEAM_PANE_NO_FIRING,
                       {false, true, BEAM_PANE_ON_TIME, 30, 40},
                       {false, false, BEAM_PANE_LATE, 5, 5},
                       {true, false, BEAM_PANE_EARLY, 0, -1}};
  const char *want[] = {"\x0f", "\x26\x1e\x28", "\x18\x05", "\x11\x00"};
  size_t want_len[] = {1, 3, 2, 2};
  for (size_t i = 0; i < 4; i++) {
    beam_buf b = BEAM_BUF_INIT;
    assert_int_equal(beam_coder_encode_pane(&b, &panes[i]), BEAM_OK);
    assert_int_equal(b.len, want_len[i]);
    assert_memory_equal(b.data, want[i], want_len[i]);
    beam_reader r = beam_reader_make(b.data, b.len);
    beam_pane back;
    assert_int_equal(beam_coder_decode_pane(&r, &back), BEAM_OK);
    assert_int_equal(back.is_first, panes[i].is_first);
    assert_int_equal(back.is_last, panes[i].is_last);
    assert_int_equal(back.timing, panes[i].timing);
    assert_int_equal(back.index, panes[i].index);
    assert_int_equal(back.on_time_index, panes[i].on_time_index);
    beam_buf_free(&b);
  }
  const uint8_t bad = 0x3f;
  beam_reader r = beam_reader_make(&bad, 1);
  beam_pane p;
  assert_int_equal(beam_coder_decode_pane(&r, &p), BEAM_ERR_MALFORMED);
}

static void registry_lists_and_builds(void **state) {
  (void)state;
  const char *urns[64];
  size_t n = beam_coder_urns(urns, 64);
  assert_true(n >= 18);
  for (size_t i = 0; i < n && i < 64; i++) {
    beam_coder *c = NULL;
    beam_error err;
    beam_status s = beam_coder_build(urns[i], NULL, 0, NULL, 0, &c, &err);
    /* Composite coders need components; all must fail cleanly or succeed. */
    if (s == BEAM_OK) beam_coder_free(c);
    else assert_non_null(strstr(err.message, urns[i]) ? err.message : "row schema");
  }
  beam_coder *c = NULL;
  beam_error err;
  assert_int_equal(beam_coder_build("beam:coder:nope:v1", NULL, 0, NULL, 0, &c, &err),
                   BEAM_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "beam:coder:nope:v1"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(varint_known_bytes),
      cmocka_unit_test(varint_rejects_overlong_and_truncated),
      cmocka_unit_test(timestamp_flips_sign_bit),
      cmocka_unit_test(pane_three_forms),
      cmocka_unit_test(registry_lists_and_builds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
