/* A ZIP archive as byte ranges (see zip_reader.h): a member belongs to the range its local
 * header starts in and is read whole, so ranges are cut only at local headers. */
#include <stdlib.h>

#include "zip_internal.h"

/* What a member weighs when ranges are balanced: its bytes to read, and a little for its
 * headers so that many empty members still spread. */
enum { MEMBER_OVERHEAD = 64 };

/* A member and its archive, since qsort passes no context. */
typedef struct by_header {
  const beam_zip_reader *z;
  size_t i;
} by_header;

static int compare_headers(const void *a, const void *b) {
  const by_header *x = a, *y = b;
  uint64_t p = x->z->entries[x->i].local_header_offset, q = y->z->entries[y->i].local_header_offset;
  return p < q ? -1 : p > q;
}

beam_status beam_zip_members_in(const beam_zip_reader *z, int64_t start, int64_t end, size_t **out, size_t *n,
                                beam_error *err) {
  *out = NULL;
  *n = 0;
  by_header *found = malloc((z->n_entries ? z->n_entries : 1) * sizeof *found);
  if (!found) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", z->archive->name);
  size_t k = 0;
  for (size_t i = 0; i < z->n_entries; i++) {
    uint64_t at = z->entries[i].local_header_offset;
    if (start >= 0 && at >= (uint64_t)start && (end < 0 || at < (uint64_t)end)) found[k++] = (by_header){z, i};
  }
  qsort(found, k, sizeof *found, compare_headers);
  size_t *idx = malloc((k ? k : 1) * sizeof *idx);
  if (!idx) {
    free(found);
    return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", z->archive->name);
  }
  for (size_t i = 0; i < k; i++) idx[i] = found[i].i;
  free(found);
  *out = idx;
  *n = k;
  return BEAM_OK;
}

static beam_status push(beam_byte_range **r, size_t *n, size_t *cap, int64_t start, int64_t end, beam_error *err) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 8;
    beam_byte_range *grown = realloc(*r, c * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory planning ZIP ranges");
    *r = grown;
    *cap = c;
  }
  (*r)[(*n)++] = (beam_byte_range){start, end};
  return BEAM_OK;
}

beam_status beam_zip_plan_ranges(const beam_zip_reader *z, int64_t start, int64_t end, int64_t split_size,
                                 beam_byte_range **out, size_t *n, beam_error *err) {
  *out = NULL;
  *n = 0;
  size_t *members = NULL, count = 0, cap = 0;
  beam_status st = beam_zip_members_in(z, start, end, &members, &count, err);
  if (st != BEAM_OK) return st;
  int64_t from = start;
  uint64_t weight = 0; /* of the members in [from, the member looked at) */
  for (size_t k = 0; st == BEAM_OK && k < count; k++) {
    const beam_zip_entry *e = &z->entries[members[k]];
    uint64_t w = e->uncompressed_size + MEMBER_OVERHEAD;
    int64_t at = (int64_t)e->local_header_offset;
    /* Cut before this member when it would overfill a range that holds something already. */
    if (split_size > 0 && weight > 0 && at > from && weight + w > (uint64_t)split_size) {
      st = push(out, n, &cap, from, at, err);
      from = at;
      weight = 0;
    }
    weight += w;
  }
  if (st == BEAM_OK) st = push(out, n, &cap, from, end, err);
  free(members);
  if (st != BEAM_OK) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return st;
}
