/* Hostile input: every coder must fail cleanly (TRUNCATED / MALFORMED), never crash, read out
 * of bounds (ASan checks) or allocate memory from a length it was handed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coder_samples.h"

static int setup(void **state) {
  coder_zoo *z = malloc(sizeof *z);
  if (!z || coder_zoo_init(z) != 0) return -1;
  *state = z;
  return 0;
}

static int teardown(void **state) {
  coder_zoo_free(*state);
  free(*state);
  return 0;
}

static void samples_decode(void **state) {
  coder_zoo *z = *state;
  size_t n;
  const coder_sample *s = coder_samples(&n);
  assert_int_equal(n, z->n);
  beam_arena a = BEAM_ARENA_INIT;
  for (size_t i = 0; i < n; i++) {
    beam_reader r = beam_reader_make(s[i].bytes, s[i].len);
    beam_value v;
    beam_error err;
    beam_status st = beam_coder_decode(z->c[i], &r, true, &a, &v, &err);
    if (st != BEAM_OK) fail_msg("sample %zu (%s): %s", i, beam_coder_urn(z->c[i]), err.message);
    assert_true(beam_reader_at_end(&r));
  }
  beam_arena_free(&a);
}

/* A copy on the heap, exactly len bytes, so ASan sees any overread. */
static uint8_t *exact_copy(const void *p, size_t len) {
  uint8_t *b = malloc(len ? len : 1);
  if (len) memcpy(b, p, len);
  return b;
}

static void truncated_at_every_offset(void **state) {
  coder_zoo *z = *state;
  size_t n;
  const coder_sample *s = coder_samples(&n);
  beam_arena a = BEAM_ARENA_INIT;
  for (size_t i = 0; i < n; i++) {
    for (size_t cut = 0; cut < s[i].len; cut++) {
      uint8_t *b = exact_copy(s[i].bytes, cut);
      beam_reader r = beam_reader_make(b, cut);
      beam_value v;
      beam_error err;
      beam_status st = beam_coder_decode(z->c[i], &r, true, &a, &v, &err);
      if (st != BEAM_ERR_TRUNCATED && st != BEAM_ERR_MALFORMED)
        fail_msg("coder %zu (%s) cut at %zu/%zu: status %s", i, beam_coder_urn(z->c[i]), cut,
                 s[i].len, beam_status_name(st));
      /* The outer context may legitimately accept a prefix (bytes eat the rest): no crash. */
      r = beam_reader_make(b, cut);
      (void)beam_coder_decode(z->c[i], &r, false, &a, &v, &err);
      free(b);
      beam_arena_reset(&a);
    }
  }
  beam_arena_free(&a);
}

static void every_byte_flipped(void **state) {
  coder_zoo *z = *state;
  size_t n;
  const coder_sample *s = coder_samples(&n);
  beam_arena a = BEAM_ARENA_INIT;
  for (size_t i = 0; i < n; i++) {
    for (size_t pos = 0; pos < s[i].len; pos++) {
      for (unsigned flip = 1; flip < 256; flip <<= 1) {
        uint8_t *b = exact_copy(s[i].bytes, s[i].len);
        b[pos] ^= (uint8_t)flip;
        beam_reader r = beam_reader_make(b, s[i].len);
        beam_value v;
        (void)beam_coder_decode(z->c[i], &r, true, &a, &v, NULL);
        free(b);
        beam_arena_reset(&a);
      }
    }
  }
  beam_arena_free(&a);
  assert_true(a.bytes_allocated == 0);
}

static beam_status decode_bytes(const beam_coder *c, const char *bytes, size_t len) {
  beam_arena a = BEAM_ARENA_INIT;
  uint8_t *b = exact_copy(bytes, len);
  beam_reader r = beam_reader_make(b, len);
  beam_value v;
  beam_error err;
  beam_status st = beam_coder_decode(c, &r, true, &a, &v, &err);
  /* Whatever happened, memory stays proportional to the input. */
  assert_true(a.bytes_allocated <= 64 * 1024 + 256 * len);
  free(b);
  beam_arena_free(&a);
  return st;
}

#define DECODE(c, lit) decode_bytes((c), (lit), sizeof(lit) - 1)

static void huge_declared_lengths(void **state) {
  coder_zoo *z = *state;
  /* bytes: 2^63-ish length. */
  assert_int_equal(DECODE(z->c[0], "\xff\xff\xff\xff\xff\xff\xff\xff\x7f" "abc"), BEAM_ERR_TRUNCATED);
  /* iterable<bytes>: 2^31-1 elements, three bytes of input. */
  assert_int_equal(DECODE(z->c[6], "\x7f\xff\xff\xff\x01" "a"), BEAM_ERR_TRUNCATED);
  /* iterable<bytes>: count below -1. */
  assert_int_equal(DECODE(z->c[6], "\xff\xff\xff\xfe"), BEAM_ERR_MALFORMED);
  /* unknown-length iterable with a huge block. */
  assert_int_equal(DECODE(z->c[7], "\xff\xff\xff\xff\xff\xff\xff\x7f\x01"), BEAM_ERR_TRUNCATED);
  /* iterable<global_window>: zero-byte elements are capped, not allocated. */
  assert_int_equal(DECODE(z->c[17], "\x7f\xff\xff\xff"), BEAM_ERR_MALFORMED);
  /* windowed value with 2^31-1 windows. */
  assert_int_equal(DECODE(z->c[9], TS1000 "\x7f\xff\xff\xff\x0f"), BEAM_ERR_TRUNCATED);
  /* windowed value over global windows: window count capped. */
  assert_int_equal(DECODE(z->c[10], TS1000 "\x7f\xff\xff\xff\x0f\x00"), BEAM_ERR_MALFORMED);
  /* row: huge null-bitmap length, then huge field count with nothing behind it. */
  assert_int_equal(DECODE(z->c[16], "\x0e\xff\xff\xff\xff\x0f"), BEAM_ERR_TRUNCATED);
  assert_int_equal(DECODE(z->c[16], "\xff\xff\xff\xff\x0f\x00"), BEAM_ERR_TRUNCATED);
  /* length_prefix claiming more than there is. */
  assert_int_equal(DECODE(z->c[8], "\xff\x7f\x01"), BEAM_ERR_TRUNCATED);
  /* bool, nullable and pane bytes out of range. */
  assert_int_equal(DECODE(z->c[3], "\x02"), BEAM_ERR_MALFORMED);
  assert_int_equal(DECODE(z->c[14], "\x07"), BEAM_ERR_MALFORMED);
  assert_int_equal(DECODE(z->c[10], TS1000 "\x00\x00\x00\x01\x3f\x00"), BEAM_ERR_MALFORMED);
}

static void bad_row_schemas_rejected(void **state) {
  (void)state;
  const char *bad[] = {
      "\x0a\x05\x0a\x01" "a" "\x1a\x00",          /* field type with nothing in it */
      "\x0a\x06\x0a\x01" "a" "\x1a\x02\x10\x63",  /* atomic type 99 */
      "\x0a\xff\x01",                             /* truncated field */
      "\x0a\x09\x0a\x01" "a" "\x1a\x02\x10\x03" "\x28\x05\x20\x01", /* position out of range */
  };
  size_t len[] = {7, 8, 3, 13};
  for (size_t i = 0; i < 4; i++) {
    beam_coder *c = NULL;
    beam_error err;
    beam_status st = beam_coder_build(BEAM_CODER_URN_ROW, (const uint8_t *)bad[i], len[i], NULL, 0, &c, &err);
    if (st == BEAM_OK) fail_msg("schema %zu accepted", i);
    assert_null(c);
  }
  /* Deeply nested arrays hit the depth cap instead of the stack. */
  uint8_t deep[4096];
  size_t n = 0;
  /* Build ARRAY(ARRAY(...(STRING))) inside-out: FieldType{array_type{element_type{...}}}. */
  uint8_t inner[4096];
  size_t in = 2;
  inner[0] = 0x10, inner[1] = 0x07;
  for (int d = 0; d < 100 && in + 4 < sizeof inner; d++) {
    /* element_type (field 1) of ArrayType, then array_type (field 3) of FieldType */
    memmove(inner + 4, inner, in);
    inner[0] = 0x1a, inner[1] = (uint8_t)(in + 2), inner[2] = 0x0a, inner[3] = (uint8_t)in;
    in += 4;
    if (in >= 110) break;
  }
  deep[n++] = 0x0a, deep[n++] = (uint8_t)(in + 5);
  deep[n++] = 0x0a, deep[n++] = 1, deep[n++] = 'a';
  deep[n++] = 0x1a, deep[n++] = (uint8_t)in;
  memcpy(deep + n, inner, in);
  n += in;
  beam_coder *c = NULL;
  beam_error err;
  beam_status st = beam_coder_build(BEAM_CODER_URN_ROW, deep, n, NULL, 0, &c, &err);
  assert_int_equal(st, BEAM_OK); /* ~30 levels: within the cap */
  beam_coder_free(c);
}

static void coder_nesting_depth_capped(void **state) {
  (void)state;
  beam_coder *c = beam_coder_simple(BEAM_CODER_URN_BYTES);
  beam_status st = BEAM_OK;
  for (int i = 0; i < BEAM_CODER_MAX_DEPTH + 5 && st == BEAM_OK; i++) {
    beam_coder *next = NULL;
    st = beam_coder_build(BEAM_CODER_URN_LENGTH_PREFIX, NULL, 0, &c, 1, &next, NULL);
    beam_coder_free(c);
    c = next;
  }
  assert_int_equal(st, BEAM_ERR_INVALID_ARG);
  assert_null(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(samples_decode),
      cmocka_unit_test(truncated_at_every_offset),
      cmocka_unit_test(every_byte_flipped),
      cmocka_unit_test(huge_declared_lengths),
      cmocka_unit_test(bad_row_schemas_rejected),
      cmocka_unit_test(coder_nesting_depth_capped),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
