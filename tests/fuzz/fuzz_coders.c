/* libFuzzer target: the first byte picks a coder from the zoo (tests/unit/coder_zoo.h) and
 * the context; the rest is decoded. Whatever decodes and re-encodes must decode completely
 * again, and re-encoding must reach a fixed point by the second round. (One round is not
 * enough: like the Java and Python SDKs, a non-first pane whose indices are both 0 encodes
 * in the short form, which decodes with index -1.) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coder_zoo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static coder_zoo zoo;
static int zoo_ready;

static void check(int cond, const char *what, size_t idx) {
  if (cond) return;
  fprintf(stderr, "fuzz_coders: %s (coder %zu: %s)\n", what, idx, beam_coder_urn(zoo.c[idx]));
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!zoo_ready) {
    if (coder_zoo_init(&zoo) != 0) abort();
    zoo_ready = 1;
  }
  if (size < 1) return 0;
  size_t idx = (data[0] & 0x7f) % zoo.n;
  bool nested = (data[0] & 0x80) == 0;
  const beam_coder *c = zoo.c[idx];
  beam_arena arena = BEAM_ARENA_INIT;
  beam_buf b1 = BEAM_BUF_INIT, b2 = BEAM_BUF_INIT;
  /* Exact-size heap copy so ASan catches any overread. */
  uint8_t *in = malloc(size - 1 ? size - 1 : 1);
  if (size > 1) memcpy(in, data + 1, size - 1);
  beam_reader r = beam_reader_make(in, size - 1);
  beam_value v, v2;
  beam_error err;
  if (beam_coder_decode(c, &r, nested, &arena, &v, &err) != BEAM_OK) goto done;
  beam_value *copy = beam_value_clone(&arena, &v);
  check(copy && beam_value_equal(copy, &v), "clone differs", idx);
  /* Some decodable values are not encodable (null in a non-nullable row field after schema
   * evolution, say); that is fine. */
  if (beam_coder_encode(c, &v, nested, &b1, &err) != BEAM_OK) goto done;
  beam_buf b3 = BEAM_BUF_INIT;
  for (int round = 0; round < 2; round++) {
    beam_buf *src = round == 0 ? &b1 : &b2, *dst = round == 0 ? &b2 : &b3;
    beam_reader r2 = beam_reader_make(src->data, src->len);
    check(beam_coder_decode(c, &r2, nested, &arena, &v2, &err) == BEAM_OK, "re-encoding does not decode", idx);
    check(beam_reader_at_end(&r2), "re-encoding not fully consumed", idx);
    check(beam_coder_encode(c, &v2, nested, dst, &err) == BEAM_OK, "decoded re-encoding does not encode", idx);
  }
  check(b2.len == b3.len && (b2.len == 0 || memcmp(b2.data, b3.data, b2.len) == 0),
        "encoding does not reach a fixed point", idx);
  beam_buf_free(&b3);
done:
  free(in);
  beam_buf_free(&b1);
  beam_buf_free(&b2);
  beam_arena_free(&arena);
  return 0;
}
