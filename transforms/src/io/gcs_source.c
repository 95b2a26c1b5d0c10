/* beam_byte_source over a GCS object: ranged GETs of a 4 MiB window, so an object of any
 * size streams through bounded memory, and read_at (ZIP's central directory, then its
 * members) is a ranged GET too - no download to a temporary file. The generation is pinned
 * at open: an object replaced mid-read fails loudly (404 for the old generation) instead of
 * mixing two versions. Transient failures are retried by the HTTP layer and resumed by
 * beam_gcs_download. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/gcs.h"
#include "beam/transforms/byte_source.h"
#include "beam/transforms/file_identity.h"

#define WINDOW ((size_t)4 << 20)

typedef struct gcs_source {
  beam_byte_source base;
  beam_gcs *gcs;
  char *bucket;
  char *object;
  int64_t generation;
  uint64_t pos;      /* stream position of the next read */
  uint8_t *window;   /* bytes [win_start, win_start + win_len) of the object */
  uint64_t win_start;
  size_t win_len;
  char *uri;
  char identity[BEAM_FILE_IDENTITY_MAX]; /* base.identity: from the metadata read at open */
} gcs_source;

typedef struct fill_ctx {
  uint8_t *dst;
  size_t cap;
  size_t len;
} fill_ctx;

static beam_status fill_data(void *ctx, const void *data, size_t len, beam_error *err) {
  fill_ctx *f = ctx;
  if (len > f->cap - f->len)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "the server sent more bytes than the range asked for");
  memcpy(f->dst + f->len, data, len);
  f->len += len;
  return BEAM_OK;
}

/* Reads [off, off+cap) clipped to the object's size into dst. */
static beam_status fetch(gcs_source *g, uint64_t off, void *dst, size_t cap, size_t *n, beam_error *err) {
  *n = 0;
  uint64_t size = (uint64_t)g->base.size;
  if (off >= size || cap == 0) return BEAM_OK;
  if (cap > size - off) cap = (size_t)(size - off);
  fill_ctx f = {dst, cap, 0};
  beam_status s = beam_gcs_download(g->gcs, g->bucket, g->object, g->generation, off, (int64_t)cap,
                                    fill_data, &f, err);
  if (s == BEAM_OK && f.len != cap)
    s = beam_error_set(err, BEAM_ERR_IO, "%s: short read at offset %llu (%zu of %zu bytes)", g->uri,
                       (unsigned long long)off, f.len, cap);
  if (s == BEAM_OK) *n = f.len;
  return s;
}

static beam_status gcs_read(beam_byte_source *s, void *buf, size_t cap, size_t *n, beam_error *err) {
  gcs_source *g = (gcs_source *)s;
  *n = 0;
  if (g->pos < g->win_start || g->pos >= g->win_start + g->win_len) {
    g->win_start = g->pos;
    beam_status st = fetch(g, g->pos, g->window, WINDOW, &g->win_len, err);
    if (st != BEAM_OK) return st;
    if (g->win_len == 0) return BEAM_OK; /* end of the object */
  }
  size_t at = (size_t)(g->pos - g->win_start);
  size_t take = g->win_len - at < cap ? g->win_len - at : cap;
  memcpy(buf, g->window + at, take);
  g->pos += take;
  *n = take;
  return BEAM_OK;
}

static beam_status gcs_read_at(beam_byte_source *s, uint64_t off, void *buf, size_t cap, size_t *n,
                               beam_error *err) {
  return fetch((gcs_source *)s, off, buf, cap, n, err);
}

/* The window stays: a seek inside it costs no request, one outside refetches on the next read. */
static beam_status gcs_seek(beam_byte_source *s, uint64_t off, beam_error *err) {
  (void)err;
  ((gcs_source *)s)->pos = off;
  return BEAM_OK;
}

static void gcs_close(beam_byte_source *s) {
  gcs_source *g = (gcs_source *)s;
  if (!g) return;
  beam_gcs_free(g->gcs);
  free(g->bucket);
  free(g->object);
  free(g->window);
  free(g->uri);
  free(g);
}

static const beam_byte_source_ops gcs_source_ops = {
    .read = gcs_read,
    .read_at = gcs_read_at,
    .seek = gcs_seek,
    .close = gcs_close,
};

beam_status beam_gcs_source_open(const char *uri, beam_byte_source **out, beam_error *err) {
  *out = NULL;
  gcs_source *g = calloc(1, sizeof *g);
  if (!g) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  g->base.ops = &gcs_source_ops;
  g->uri = strdup(uri);
  g->window = malloc(WINDOW);
  g->base.name = g->uri;
  beam_status s = g->uri && g->window ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) s = beam_gcs_parse_uri(uri, &g->bucket, &g->object, err);
  if (s == BEAM_OK && !*g->object) s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: names a bucket, not an object", uri);
  if (s == BEAM_OK) s = beam_gcs_new(NULL, &g->gcs, err);
  beam_gcs_object_info info = {0};
  if (s == BEAM_OK && (s = beam_gcs_stat(g->gcs, g->bucket, g->object, &info, err)) != BEAM_OK)
    beam_error_prefix(err, "input %s: ", uri);
  if (s != BEAM_OK) {
    gcs_close(&g->base);
    return s;
  }
  g->base.size = info.size;
  g->generation = info.generation;
  snprintf(g->identity, sizeof g->identity, "%" PRId64 "-gcs-%" PRId64 "-%s", info.size, info.generation, info.crc32c);
  g->base.identity = g->identity;
  *out = &g->base;
  return BEAM_OK;
}
