/* Planning the byte ranges of a file (see byte_ranges.h). */
#include "beam/transforms/byte_ranges.h"

#include <stdbool.h>
#include <stdlib.h>

static bool unsplit(int64_t size, int64_t split_size) {
  return size <= 0 || split_size <= 0 || size <= split_size;
}

/* split_size raised so that size makes at most BEAM_BYTE_RANGES_MAX ranges. */
static int64_t capped(int64_t size, int64_t split_size) {
  int64_t least = size / BEAM_BYTE_RANGES_MAX + (size % BEAM_BYTE_RANGES_MAX != 0);
  return split_size > 0 && split_size < least ? least : split_size;
}

size_t beam_byte_ranges_count(int64_t size, int64_t split_size) {
  if (unsplit(size, split_size)) return 1;
  split_size = capped(size, split_size);
  return (size_t)(size / split_size + (size % split_size != 0));
}

beam_byte_range beam_byte_ranges_at(int64_t size, int64_t split_size, size_t i) {
  if (unsplit(size, split_size)) return (beam_byte_range){0, size < 0 ? -1 : size};
  split_size = capped(size, split_size);
  int64_t start = (int64_t)i * split_size;
  int64_t end = size - start > split_size ? start + split_size : size;
  return (beam_byte_range){start, end};
}

beam_status beam_byte_ranges_plan(int64_t size, int64_t split_size, beam_byte_range **out,
                                  size_t *n, beam_error *err) {
  *out = NULL;
  *n = 0;
  size_t count = beam_byte_ranges_count(size, split_size);
  beam_byte_range *r = malloc(count * sizeof *r);
  if (!r) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory planning %zu byte ranges", count);
  for (size_t i = 0; i < count; i++) r[i] = beam_byte_ranges_at(size, split_size, i);
  *out = r;
  *n = count;
  return BEAM_OK;
}
