/* Byte ranges of a file found in a ledger (beam_sink_ledger_ranges in sink.h): parsing a unit
 * key into its range, and the sorted, merged list the writer checks offsets against. */
#include <stdlib.h>
#include <string.h>

#include "sink_int.h"

/* Parses a non-negative decimal at *p (at least one digit, no sign, no overflow), advancing *p. */
static bool parse_offset(const char **p, int64_t *out) {
  const char *c = *p;
  int64_t v = 0;
  if (*c < '0' || *c > '9') return false;
  for (; *c >= '0' && *c <= '9'; c++) {
    int d = *c - '0';
    if (v > (INT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *p = c;
  *out = v;
  return true;
}

static beam_status append(beam_sink_ranges *out, int64_t start, int64_t end) {
  if (out->len == out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 8;
    beam_sink_byte_range *items = realloc(out->items, cap * sizeof *items);
    if (!items) return BEAM_ERR_NOMEM;
    out->items = items;
    out->cap = cap;
  }
  out->items[out->len++] = (beam_sink_byte_range){start, end};
  return BEAM_OK;
}

/* Strict: exactly "<start>-<end>" at p, so that another file whose identity starts with this
 * one and an '@' (a ZIP member "a@b.csv") is never taken for a range of this one. */
static bool parse_range(const char *p, int64_t *start, int64_t *end) {
  return parse_offset(&p, start) && *p++ == '-' && parse_offset(&p, end) && *p == '\0' && *end >= *start;
}

beam_status beam_sink_ranges_add_unit(beam_sink_ranges *out, const char *file_id, const char *unit) {
  size_t n = strlen(file_id);
  if (strncmp(unit, file_id, n) != 0) return BEAM_OK;
  if (unit[n] == '\0') return append(out, 0, INT64_MAX); /* the whole file */
  int64_t start, end;
  if (unit[n] != '@' || !parse_range(unit + n + 1, &start, &end)) return BEAM_OK;
  return start == end ? BEAM_OK : append(out, start, end);
}

bool beam_sink_unit_is_range_of(const char *unit, const char *file_id) {
  size_t n = strlen(file_id);
  int64_t start, end;
  return strncmp(unit, file_id, n) == 0 && unit[n] == '@' && parse_range(unit + n + 1, &start, &end);
}

bool beam_sink_unit_is_range(const char *unit) {
  const char *at = unit ? strrchr(unit, '@') : NULL;
  int64_t start, end;
  return at && parse_range(at + 1, &start, &end);
}

static int by_start(const void *a, const void *b) {
  int64_t x = ((const beam_sink_byte_range *)a)->start, y = ((const beam_sink_byte_range *)b)->start;
  return x < y ? -1 : x > y;
}

void beam_sink_ranges_normalize(beam_sink_ranges *out) {
  if (out->len < 2) return;
  qsort(out->items, out->len, sizeof *out->items, by_start);
  size_t kept = 0;
  for (size_t i = 1; i < out->len; i++) {
    beam_sink_byte_range *last = &out->items[kept];
    if (out->items[i].start <= last->end) {
      if (out->items[i].end > last->end) last->end = out->items[i].end;
    } else {
      out->items[++kept] = out->items[i];
    }
  }
  out->len = kept + 1;
}

/* The index of the last range starting at or before offset, or -1. */
static ptrdiff_t last_at_or_before(const beam_sink_ranges *r, int64_t offset) {
  size_t lo = 0, hi = r->len; /* answer in [lo, hi) is the first range starting after offset */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->items[mid].start <= offset) lo = mid + 1;
    else hi = mid;
  }
  return (ptrdiff_t)lo - 1;
}

bool beam_sink_ranges_contain(const beam_sink_ranges *r, int64_t offset) {
  if (!r || !r->len) return false;
  ptrdiff_t i = last_at_or_before(r, offset);
  return i >= 0 && offset < r->items[i].end;
}

bool beam_sink_ranges_cover(const beam_sink_ranges *r, int64_t start, int64_t end) {
  if (start >= end) return true;
  if (!r || !r->len) return false;
  /* Merged ranges: one range must hold all of [start, end). */
  ptrdiff_t i = last_at_or_before(r, start);
  return i >= 0 && end <= r->items[i].end;
}

void beam_sink_ranges_free(beam_sink_ranges *r) {
  if (!r) return;
  free(r->items);
  memset(r, 0, sizeof *r);
}
