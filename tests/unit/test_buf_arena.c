/* Buffer, reader and arena: the memory primitives under every coder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/arena.h"
#include "beam/buf.h"

static void buf_grows_and_keeps_bytes(void **state) {
  (void)state;
  beam_buf b = BEAM_BUF_INIT;
  for (int i = 0; i < 1000; i++) assert_int_equal(beam_buf_append_byte(&b, (uint8_t)i), BEAM_OK);
  assert_int_equal(b.len, 1000);
  for (int i = 0; i < 1000; i++) assert_int_equal(b.data[i], (uint8_t)i);
  beam_buf_reset(&b);
  assert_int_equal(b.len, 0);
  beam_buf_free(&b);
}

static void reader_refuses_to_overrun(void **state) {
  (void)state;
  const uint8_t data[3] = {1, 2, 3};
  beam_reader r = beam_reader_make(data, sizeof data);
  const uint8_t *view;
  assert_int_equal(beam_reader_view(&r, 2, &view), BEAM_OK);
  assert_int_equal(view[1], 2);
  assert_int_equal(beam_reader_view(&r, 2, &view), BEAM_ERR_TRUNCATED);
  uint8_t b;
  assert_int_equal(beam_reader_byte(&r, &b), BEAM_OK);
  assert_int_equal(b, 3);
  assert_int_equal(beam_reader_byte(&r, &b), BEAM_ERR_TRUNCATED);
  assert_true(beam_reader_at_end(&r));
}

static void arena_reuses_memory_after_reset(void **state) {
  (void)state;
  beam_arena a = BEAM_ARENA_INIT;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 10000; i++) {
      char *s = beam_arena_strdup(&a, "hello");
      assert_non_null(s);
      assert_string_equal(s, "hello");
      assert_int_equal(((uintptr_t)s) % 16, 0);
    }
    beam_arena_reset(&a);
  }
  /* After reset only the largest block survives. */
  assert_true(a.bytes_allocated <= 64 * 1024);
  beam_arena_free(&a);
}

/* The inline allocation's edges: size 0 still gives distinct memory, a size past SIZE_MAX - 15
 * is refused, an allocation bigger than a block gets a block of its own and the next small
 * one still fits, allocations never overlap, and a zeroed arena works like BEAM_ARENA_INIT. */
static void arena_allocation_edges(void **state) {
  (void)state;
  beam_arena a = {0};
  unsigned char *p0 = beam_arena_alloc(&a, 0), *p1 = beam_arena_alloc(&a, 0);
  assert_non_null(p0);
  assert_non_null(p1);
  assert_true(p0 != p1);
  assert_null(beam_arena_alloc(&a, SIZE_MAX));
  assert_null(beam_arena_alloc(&a, SIZE_MAX - 14));
  unsigned char *big = beam_arena_alloc(&a, 200 * 1024);
  assert_non_null(big);
  memset(big, 0xab, 200 * 1024);
  unsigned char *small = beam_arena_alloc(&a, 24);
  assert_non_null(small);
  memset(small, 0xcd, 24);
  assert_int_equal(big[200 * 1024 - 1], 0xab); /* no overlap */
  assert_int_equal(((uintptr_t)small) % 16, 0);
  unsigned char *prev = NULL;
  for (int i = 0; i < 5000; i++) { /* consecutive allocations are 16-byte steps apart, or a new block */
    unsigned char *q = beam_arena_alloc(&a, 17);
    assert_non_null(q);
    assert_true(!prev || q == prev + 32 || q < prev || q > prev + 32);
    prev = q;
  }
  beam_arena_free(&a);
  assert_null(a.cur);
  assert_int_equal(a.left, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buf_grows_and_keeps_bytes),
      cmocka_unit_test(reader_refuses_to_overrun),
      cmocka_unit_test(arena_reuses_memory_after_reset),
      cmocka_unit_test(arena_allocation_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
