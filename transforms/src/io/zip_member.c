/* One ZIP member as a beam_byte_source: stored or raw-inflated bytes, CRC-32 and size
 * verified when the stream ends. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "zip_internal.h"

enum { LFH_LEN = 30, MEMBER_IN_CAP = 64 * 1024 };

typedef struct zip_member {
  beam_byte_source base;
  beam_zip_reader *zip;
  const beam_zip_entry *e;
  uint64_t data_off;  /* absolute offset of the compressed bytes */
  uint64_t consumed;  /* compressed bytes read so far */
  uint64_t produced;  /* uncompressed bytes delivered */
  uint32_t crc;
  bool zinit, stream_end, verified;
  z_stream zs;
  uint8_t inbuf[MEMBER_IN_CAP];
} zip_member;

static beam_status member_verify(zip_member *m, beam_error *err) {
  const beam_zip_entry *e = m->e;
  if (m->produced != e->uncompressed_size)
    return beam_error_set(err, BEAM_ERR_MALFORMED,
                          "%s: size mismatch: expected %llu bytes, got %llu (corrupt or truncated member)",
                          e->display_name, (unsigned long long)e->uncompressed_size,
                          (unsigned long long)m->produced);
  if (m->crc != e->crc32)
    return beam_error_set(err, BEAM_ERR_MALFORMED,
                          "%s: CRC-32 mismatch: expected %08x, computed %08x (corrupt member)",
                          e->display_name, e->crc32, m->crc);
  if (e->flags & 0x8) {
    /* Data descriptor after the data: crc, csize, usize, optionally behind a signature. */
    uint8_t d[8];
    size_t got = 0;
    beam_status st = beam_byte_source_read_at(m->zip->archive, m->data_off + e->compressed_size,
                                              d, sizeof d, &got, err);
    if (st != BEAM_OK) return st;
    if (got < 4)
      return beam_error_set(err, BEAM_ERR_TRUNCATED, "%s: data descriptor missing (truncated)",
                            e->display_name);
    uint32_t crc = beam_zip_u32(d);
    /* The signature is optional; a CRC that happens to equal it is the entry's own. */
    if (crc == BEAM_ZIP_SIG_DESCRIPTOR && e->crc32 != BEAM_ZIP_SIG_DESCRIPTOR) {
      if (got < 8)
        return beam_error_set(err, BEAM_ERR_TRUNCATED, "%s: data descriptor truncated",
                              e->display_name);
      crc = beam_zip_u32(d + 4);
    }
    if (crc != e->crc32)
      return beam_error_set(err, BEAM_ERR_MALFORMED,
                            "%s: data descriptor CRC %08x disagrees with the central directory (%08x)",
                            e->display_name, crc, e->crc32);
  }
  m->verified = true;
  return BEAM_OK;
}

static beam_status member_fill(zip_member *m, beam_error *err) {
  uint64_t left = m->e->compressed_size - m->consumed;
  size_t want = left < sizeof m->inbuf ? (size_t)left : sizeof m->inbuf;
  size_t got = 0;
  beam_status st =
      beam_byte_source_read_at(m->zip->archive, m->data_off + m->consumed, m->inbuf, want, &got, err);
  if (st != BEAM_OK) return st;
  if (got != want)
    return beam_error_set(err, BEAM_ERR_TRUNCATED, "%s: member data truncated at byte %llu of %llu",
                          m->e->display_name, (unsigned long long)(m->consumed + got),
                          (unsigned long long)m->e->compressed_size);
  m->consumed += got;
  m->zs.next_in = m->inbuf;
  m->zs.avail_in = (uInt)got;
  return BEAM_OK;
}

static beam_status member_read(beam_byte_source *s, void *buf, size_t cap, size_t *n,
                               beam_error *err) {
  zip_member *m = (zip_member *)s;
  const beam_zip_entry *e = m->e;
  *n = 0;
  if (m->verified) return BEAM_OK;
  if (cap > MEMBER_IN_CAP) cap = MEMBER_IN_CAP; /* keeps counts within uInt */
  if (e->method == 0) {
    uint64_t left = e->compressed_size - m->consumed;
    if (left == 0) return member_verify(m, err);
    size_t want = left < cap ? (size_t)left : cap;
    size_t got = 0;
    beam_status st =
        beam_byte_source_read_at(m->zip->archive, m->data_off + m->consumed, buf, want, &got, err);
    if (st != BEAM_OK) return st;
    if (got != want)
      return beam_error_set(err, BEAM_ERR_TRUNCATED, "%s: member data truncated", e->display_name);
    m->consumed += got;
    m->produced += got;
    m->crc = (uint32_t)crc32(m->crc, buf, (uInt)got);
    *n = got;
    return BEAM_OK;
  }
  for (;;) {
    if (m->stream_end) return member_verify(m, err);
    if (m->zs.avail_in == 0) {
      if (m->consumed == e->compressed_size)
        return beam_error_set(err, BEAM_ERR_TRUNCATED,
                              "%s: compressed data ends before the deflate stream does (corrupt or truncated member)",
                              e->display_name);
      beam_status st = member_fill(m, err);
      if (st != BEAM_OK) return st;
    }
    m->zs.next_out = buf;
    m->zs.avail_out = (uInt)cap;
    int r = inflate(&m->zs, Z_NO_FLUSH);
    size_t got = cap - m->zs.avail_out;
    if (r == Z_STREAM_END) m->stream_end = true;
    else if (r != Z_OK && r != Z_BUF_ERROR)
      return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: corrupt deflate data: %s", e->display_name,
                            m->zs.msg ? m->zs.msg : "inflate failed");
    if (got) {
      if (m->produced + got > e->uncompressed_size)
        return beam_error_set(err, BEAM_ERR_MALFORMED,
                              "%s: inflates to more than the %llu bytes recorded (corrupt member)",
                              e->display_name, (unsigned long long)e->uncompressed_size);
      m->produced += got;
      m->crc = (uint32_t)crc32(m->crc, buf, (uInt)got);
      *n = got;
      return BEAM_OK;
    }
  }
}

static void member_close(beam_byte_source *s) {
  zip_member *m = (zip_member *)s;
  if (m->zinit) inflateEnd(&m->zs);
  free(m);
}

static const beam_byte_source_ops member_ops = {.read = member_read, .close = member_close};

beam_status beam_zip_open_member(beam_zip_reader *z, size_t i, beam_byte_source **out,
                                 beam_error *err) {
  *out = NULL;
  if (i >= z->n_entries)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: no member %zu", z->archive->name, i);
  const beam_zip_entry *e = &z->entries[i];
  if (e->is_dir)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: is a directory", e->display_name);
  if (e->flags & 0x1)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: encrypted members are not supported",
                          e->display_name);
  if (e->method != 0 && e->method != 8)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                          "%s: compression method %u is not supported (only stored and deflate)",
                          e->display_name, e->method);
  if (e->method == 0 && e->compressed_size != e->uncompressed_size)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: stored member with differing sizes",
                          e->display_name);
  uint8_t h[LFH_LEN];
  size_t got = 0;
  beam_status st = beam_byte_source_read_at(z->archive, e->local_header_offset, h, sizeof h, &got, err);
  if (st != BEAM_OK) return st;
  if (got != sizeof h || beam_zip_u32(h) != BEAM_ZIP_SIG_LOCAL)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: bad local header signature (corrupt archive)",
                          e->display_name);
  uint64_t data_off = e->local_header_offset + LFH_LEN + beam_zip_u16(h + 26) + beam_zip_u16(h + 28);
  if (data_off > z->cd_offset || e->compressed_size > z->cd_offset - data_off)
    return beam_error_set(err, BEAM_ERR_MALFORMED,
                          "%s: member data overlaps the central directory (truncated or corrupt)",
                          e->display_name);
  zip_member *m = calloc(1, sizeof *m);
  if (!m) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", e->display_name);
  m->base.ops = &member_ops;
  m->base.name = e->display_name;
  m->base.size = (int64_t)e->uncompressed_size;
  m->zip = z;
  m->e = e;
  m->data_off = data_off;
  if (e->method == 8) {
    if (inflateInit2(&m->zs, -15) != Z_OK) {
      free(m);
      return beam_error_set(err, BEAM_ERR_NOMEM, "%s: cannot initialise inflate", e->display_name);
    }
    m->zinit = true;
  }
  *out = &m->base;
  return BEAM_OK;
}
