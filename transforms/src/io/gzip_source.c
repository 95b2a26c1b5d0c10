/* Gunzip wrapper and gzip detection over any beam_byte_source. */
#include "beam/transforms/gzip_source.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { GZ_IN_CAP = 64 * 1024 };

typedef struct gzip_source {
  beam_byte_source base;
  beam_byte_source *inner;
  bool passthrough; /* detect found no gzip: replay inbuf, then read inner directly */
  bool inner_eof;
  bool in_member;   /* inside a gzip member: EOF here means truncation */
  bool finished;
  bool zinit;
  z_stream zs;
  size_t pt_pos, pt_len; /* pass-through replay window in inbuf */
  uint8_t inbuf[GZ_IN_CAP];
} gzip_source;

bool beam_gzip_magic(const void *data, size_t len) {
  const uint8_t *p = data;
  return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static beam_status gz_fill(gzip_source *g, beam_error *err) {
  size_t got = 0;
  beam_status st = beam_byte_source_read(g->inner, g->inbuf, sizeof g->inbuf, &got, err);
  if (st != BEAM_OK) return st;
  if (got == 0) g->inner_eof = true;
  g->zs.next_in = g->inbuf;
  g->zs.avail_in = (uInt)got;
  return BEAM_OK;
}

static beam_status gz_read(beam_byte_source *s, void *buf, size_t cap, size_t *n,
                           beam_error *err) {
  gzip_source *g = (gzip_source *)s;
  *n = 0;
  if (g->finished) return BEAM_OK;
  if (cap > UINT_MAX) cap = UINT_MAX;
  for (;;) {
    if (g->zs.avail_in == 0 && !g->inner_eof) {
      beam_status st = gz_fill(g, err);
      if (st != BEAM_OK) return st;
    }
    if (!g->in_member) {
      /* Between members: the end of input is a clean end of stream. */
      if (g->zs.avail_in == 0 && g->inner_eof) {
        g->finished = true;
        return BEAM_OK;
      }
      if (g->zs.avail_in >= 1 && g->zs.next_in[0] != 0x1f)
        return beam_error_set(err, BEAM_ERR_MALFORMED,
                              "%s: unexpected data after the end of the gzip stream", s->name);
      if (inflateReset(&g->zs) != Z_OK)
        return beam_error_set(err, BEAM_ERR_INTERNAL, "%s: inflateReset failed", s->name);
      g->in_member = true;
    }
    if (g->zs.avail_in == 0 && g->inner_eof)
      return beam_error_set(err, BEAM_ERR_TRUNCATED,
                            "%s: truncated gzip stream (ended inside a member)", s->name);
    g->zs.next_out = buf;
    g->zs.avail_out = (uInt)cap;
    int r = inflate(&g->zs, Z_NO_FLUSH);
    size_t produced = cap - g->zs.avail_out;
    if (r == Z_STREAM_END) {
      g->in_member = false;
    } else if (r == Z_BUF_ERROR) {
      /* No progress possible without more input: loop to read (or report truncation). */
    } else if (r != Z_OK) {
      return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: corrupt gzip data: %s", s->name,
                            g->zs.msg ? g->zs.msg : "inflate failed");
    }
    if (produced > 0) {
      *n = produced;
      return BEAM_OK;
    }
  }
}

static beam_status passthrough_read(beam_byte_source *s, void *buf, size_t cap, size_t *n,
                                    beam_error *err) {
  gzip_source *g = (gzip_source *)s;
  if (g->pt_pos < g->pt_len) {
    size_t k = g->pt_len - g->pt_pos;
    if (k > cap) k = cap;
    memcpy(buf, g->inbuf + g->pt_pos, k);
    g->pt_pos += k;
    *n = k;
    return BEAM_OK;
  }
  return beam_byte_source_read(g->inner, buf, cap, n, err);
}

static void gz_close(beam_byte_source *s) {
  gzip_source *g = (gzip_source *)s;
  if (g->zinit) inflateEnd(&g->zs);
  beam_byte_source_close(g->inner);
  free(g);
}

static const beam_byte_source_ops gzip_ops = {.read = gz_read, .close = gz_close};
static const beam_byte_source_ops passthrough_ops = {.read = passthrough_read, .close = gz_close};

static beam_status gz_new(beam_byte_source *inner, gzip_source **out, beam_error *err) {
  gzip_source *g = calloc(1, sizeof *g);
  if (!g) {
    beam_status st = beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", inner->name);
    beam_byte_source_close(inner);
    return st;
  }
  g->inner = inner;
  g->base.name = inner->name;
  g->base.size = -1;
  *out = g;
  return BEAM_OK;
}

static beam_status gz_init_inflate(gzip_source *g, beam_error *err) {
  /* 15 + 16: gzip wrapper only (zlib checks the CRC-32 and length trailer). */
  if (inflateInit2(&g->zs, 15 + 16) != Z_OK) {
    beam_status st =
        beam_error_set(err, BEAM_ERR_NOMEM, "%s: cannot initialise inflate", g->base.name);
    gz_close(&g->base);
    return st;
  }
  g->zinit = true;
  g->base.ops = &gzip_ops;
  return BEAM_OK;
}

beam_status beam_gzip_source_open(beam_byte_source *inner, beam_byte_source **out,
                                  beam_error *err) {
  *out = NULL;
  gzip_source *g = NULL;
  beam_status st = gz_new(inner, &g, err);
  if (st != BEAM_OK) return st;
  st = gz_init_inflate(g, err);
  if (st != BEAM_OK) return st;
  *out = &g->base;
  return BEAM_OK;
}

beam_status beam_gzip_detect_open(beam_byte_source *inner, beam_byte_source **out,
                                  bool *is_gzip, beam_error *err) {
  *out = NULL;
  if (is_gzip) *is_gzip = false;
  gzip_source *g = NULL;
  beam_status st = gz_new(inner, &g, err);
  if (st != BEAM_OK) return st;
  size_t got = 0;
  st = beam_byte_source_read_full(inner, g->inbuf, 2, &got, err);
  if (st != BEAM_OK) {
    gz_close(&g->base);
    return st;
  }
  if (beam_gzip_magic(g->inbuf, got)) {
    st = gz_init_inflate(g, err);
    if (st != BEAM_OK) return st;
    g->zs.next_in = g->inbuf;
    g->zs.avail_in = (uInt)got;
    if (is_gzip) *is_gzip = true;
  } else {
    g->passthrough = true;
    g->pt_len = got;
    g->base.size = inner->size;
    g->base.ops = &passthrough_ops;
  }
  *out = &g->base;
  return BEAM_OK;
}
