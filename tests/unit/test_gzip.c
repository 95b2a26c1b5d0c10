/* Gunzip wrapper: detection by magic, multi-member streams, truncation and corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "beam/transforms/gzip_source.h"

/* Appends one gzip member of data to out; returns the new length. */
static size_t gzip_member(const char *data, size_t len, uint8_t *out, size_t used, size_t cap) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)data;
  zs.avail_in = (uInt)len;
  zs.next_out = out + used;
  zs.avail_out = (uInt)(cap - used);
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t n = used + zs.total_out;
  deflateEnd(&zs);
  return n;
}

/* Reads src to the end in small chunks; returns status, output in out/n. */
static beam_status drain(beam_byte_source *src, char *out, size_t cap, size_t *n, beam_error *err) {
  *n = 0;
  for (;;) {
    size_t got = 0;
    size_t want = cap - *n < 7 ? cap - *n : 7;
    beam_status st = beam_byte_source_read(src, out + *n, want, &got, err);
    if (st != BEAM_OK) return st;
    if (got == 0) return BEAM_OK;
    *n += got;
  }
}

static beam_status gunzip_all(const uint8_t *gz, size_t gzlen, bool detect, char *out, size_t cap,
                              size_t *n, bool *was_gzip, beam_error *err) {
  beam_byte_source *mem, *g;
  assert_int_equal(beam_memory_source_open("data.csv.gz", gz, gzlen, &mem, err), BEAM_OK);
  beam_status st = detect ? beam_gzip_detect_open(mem, &g, was_gzip, err)
                          : beam_gzip_source_open(mem, &g, err);
  if (st != BEAM_OK) return st;
  st = drain(g, out, cap, n, err);
  beam_byte_source_close(g);
  return st;
}

static void single_and_multi_member(void **state) {
  (void)state;
  uint8_t gz[4096];
  size_t len = gzip_member("a,b\n1,2\n", 8, gz, 0, sizeof gz);
  char out[256];
  size_t n;
  bool was = false;
  beam_error err;
  assert_int_equal(gunzip_all(gz, len, true, out, sizeof out, &n, &was, &err), BEAM_OK);
  assert_true(was);
  assert_int_equal(n, 8);
  assert_memory_equal(out, "a,b\n1,2\n", 8);
  len = gzip_member("3,4\n", 4, gz, len, sizeof gz);
  len = gzip_member("", 0, gz, len, sizeof gz);
  len = gzip_member("5,6\n", 4, gz, len, sizeof gz);
  assert_int_equal(gunzip_all(gz, len, false, out, sizeof out, &n, NULL, &err), BEAM_OK);
  assert_int_equal(n, 16);
  assert_memory_equal(out, "a,b\n1,2\n3,4\n5,6\n", 16);
}

static void detect_passes_plain_bytes_through(void **state) {
  (void)state;
  const char *plain = "x";
  char out[16];
  size_t n;
  bool was = true;
  beam_error err;
  assert_int_equal(gunzip_all((const uint8_t *)plain, 1, true, out, sizeof out, &n, &was, &err), BEAM_OK);
  assert_false(was);
  assert_int_equal(n, 1);
  assert_int_equal(out[0], 'x');
  assert_int_equal(gunzip_all((const uint8_t *)"", 0, true, out, sizeof out, &n, &was, &err), BEAM_OK);
  assert_int_equal(n, 0);
  assert_true(beam_gzip_magic("\x1f\x8b", 2));
  assert_false(beam_gzip_magic("\x1f", 1));
}

static void truncated_and_corrupt(void **state) {
  (void)state;
  char big[20000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + (i * 7) % 26);
  uint8_t gz[30000];
  size_t len = gzip_member(big, sizeof big, gz, 0, sizeof gz);
  char out[30000];
  size_t n;
  beam_error err;
  /* Cut in the middle and just before the trailer. */
  assert_int_equal(gunzip_all(gz, len / 2, true, out, sizeof out, &n, NULL, &err), BEAM_ERR_TRUNCATED);
  assert_non_null(strstr(err.message, "data.csv.gz: truncated gzip stream"));
  assert_int_equal(gunzip_all(gz, len - 3, true, out, sizeof out, &n, NULL, &err), BEAM_ERR_TRUNCATED);
  /* A flipped CRC byte in the trailer. */
  uint8_t bad[30000];
  memcpy(bad, gz, len);
  bad[len - 6] ^= 0xFF;
  assert_int_equal(gunzip_all(bad, len, true, out, sizeof out, &n, NULL, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "data.csv.gz: corrupt gzip data"));
  /* Garbage after the last member. */
  memcpy(bad, gz, len);
  memcpy(bad + len, "junk", 4);
  assert_int_equal(gunzip_all(bad, len + 4, true, out, sizeof out, &n, NULL, &err), BEAM_ERR_MALFORMED);
  assert_non_null(strstr(err.message, "after the end of the gzip stream"));
  /* Forced gunzip of an empty stream. */
  assert_int_equal(gunzip_all(gz, 0, false, out, sizeof out, &n, NULL, &err), BEAM_OK);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(single_and_multi_member),
      cmocka_unit_test(detect_passes_plain_bytes_through),
      cmocka_unit_test(truncated_and_corrupt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
