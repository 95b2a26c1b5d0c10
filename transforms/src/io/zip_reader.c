/* ZIP central directory: find the end record, follow ZIP64 if needed, list the members. */
#include <stdlib.h>
#include <string.h>

#include "zip_internal.h"

enum {
  EOCD_LEN = 22,
  EOCD64_LEN = 56,
  EOCD64_LOC_LEN = 20,
  CDH_LEN = 46,
  MAX_COMMENT = 65535
};
/* A central directory bigger than this is not a data file we should be reading. */
#define ZIP_MAX_CD_BYTES ((uint64_t)256 << 20)

bool beam_zip_magic(const void *data, size_t len) {
  const uint8_t *p = data;
  if (len < 4) return false;
  uint32_t sig = beam_zip_u32(p);
  return sig == BEAM_ZIP_SIG_LOCAL || sig == BEAM_ZIP_SIG_EOCD;
}

size_t beam_zip_count(const beam_zip_reader *z) { return z->n_entries; }
const beam_zip_entry *beam_zip_entry_at(const beam_zip_reader *z, size_t i) {
  return i < z->n_entries ? &z->entries[i] : NULL;
}
const char *beam_zip_name(const beam_zip_reader *z) { return z->archive->name; }
beam_byte_source *beam_zip_archive(const beam_zip_reader *z) { return z->archive; }

void beam_zip_close(beam_zip_reader *z) {
  if (!z) return;
  beam_byte_source_close(z->archive);
  free(z->entries);
  free(z->names);
  free(z);
}

/* Locates the end-of-central-directory record: the last "PK\5\6" in the tail whose
 * comment length fits the file. */
static beam_status find_eocd(beam_byte_source *a, uint64_t size, uint64_t *eocd_pos,
                             uint8_t rec[EOCD_LEN], beam_error *err) {
  size_t tail_len = size < (uint64_t)(EOCD_LEN + MAX_COMMENT) ? (size_t)size : EOCD_LEN + MAX_COMMENT;
  uint64_t tail_off = size - tail_len;
  uint8_t *tail = malloc(tail_len);
  if (!tail) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", a->name);
  size_t got = 0;
  beam_status st = beam_byte_source_read_at(a, tail_off, tail, tail_len, &got, err);
  if (st == BEAM_OK && got != tail_len)
    st = beam_error_set(err, BEAM_ERR_IO, "%s: short read at the end of the archive", a->name);
  if (st != BEAM_OK) {
    free(tail);
    return st;
  }
  for (size_t i = tail_len - EOCD_LEN + 1; i-- > 0;) {
    if (beam_zip_u32(tail + i) != BEAM_ZIP_SIG_EOCD) continue;
    uint16_t clen = beam_zip_u16(tail + i + 20);
    if (i + EOCD_LEN + clen > tail_len) continue;
    memcpy(rec, tail + i, EOCD_LEN);
    *eocd_pos = tail_off + i;
    free(tail);
    return BEAM_OK;
  }
  free(tail);
  return beam_error_set(err, BEAM_ERR_MALFORMED,
                        "%s: not a ZIP archive, or truncated: end of central directory not found",
                        a->name);
}

static beam_status read_eocd64(beam_byte_source *a, uint64_t eocd_pos, uint64_t *n_entries,
                               uint64_t *cd_size, uint64_t *cd_off, beam_error *err) {
  uint8_t loc[EOCD64_LOC_LEN], rec[EOCD64_LEN];
  size_t got = 0;
  if (eocd_pos < EOCD64_LOC_LEN)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: ZIP64 locator missing", a->name);
  beam_status st = beam_byte_source_read_at(a, eocd_pos - EOCD64_LOC_LEN, loc, sizeof loc, &got, err);
  if (st != BEAM_OK) return st;
  if (got != sizeof loc || beam_zip_u32(loc) != BEAM_ZIP_SIG_EOCD64_LOC)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: ZIP64 end of central directory locator missing", a->name);
  uint64_t off = beam_zip_u64(loc + 8);
  st = beam_byte_source_read_at(a, off, rec, sizeof rec, &got, err);
  if (st != BEAM_OK) return st;
  if (got != sizeof rec || beam_zip_u32(rec) != BEAM_ZIP_SIG_EOCD64)
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: bad ZIP64 end of central directory signature", a->name);
  *n_entries = beam_zip_u64(rec + 32);
  *cd_size = beam_zip_u64(rec + 40);
  *cd_off = beam_zip_u64(rec + 48);
  return BEAM_OK;
}

/* Replaces 0xFFFFFFFF sizes/offset with the ZIP64 extra field's values (APPNOTE 4.5.3). */
static bool apply_zip64_extra(const uint8_t *extra, size_t len, beam_zip_entry *e, bool u_big,
                              bool c_big, bool o_big) {
  size_t i = 0;
  while (i + 4 <= len) {
    uint16_t id = beam_zip_u16(extra + i), sz = beam_zip_u16(extra + i + 2);
    if (i + 4 + sz > len) return false;
    if (id == 0x0001) {
      const uint8_t *p = extra + i + 4;
      size_t left = sz;
      if (u_big) {
        if (left < 8) return false;
        e->uncompressed_size = beam_zip_u64(p), p += 8, left -= 8;
      }
      if (c_big) {
        if (left < 8) return false;
        e->compressed_size = beam_zip_u64(p), p += 8, left -= 8;
      }
      if (o_big) {
        if (left < 8) return false;
        e->local_header_offset = beam_zip_u64(p);
      }
      return true;
    }
    i += 4 + (size_t)sz;
  }
  return !(u_big || c_big || o_big);
}

static beam_status parse_cd(beam_zip_reader *z, const uint8_t *cd, size_t cd_len,
                            uint64_t n_expected, beam_error *err) {
  const char *an = z->archive->name;
  size_t alen = strlen(an);
  /* Pass 1: count entries and name bytes so one allocation holds every name. */
  size_t n = 0, name_bytes = 0;
  for (size_t pos = 0; pos < cd_len; n++) {
    if (cd_len - pos < CDH_LEN || beam_zip_u32(cd + pos) != BEAM_ZIP_SIG_CENTRAL)
      return beam_error_set(err, BEAM_ERR_MALFORMED,
                            "%s: bad central directory entry %zu (corrupt archive)", an, n + 1);
    size_t nl = beam_zip_u16(cd + pos + 28), xl = beam_zip_u16(cd + pos + 30),
           cl = beam_zip_u16(cd + pos + 32);
    if (cd_len - pos - CDH_LEN < nl + xl + cl)
      return beam_error_set(err, BEAM_ERR_MALFORMED,
                            "%s: central directory entry %zu overruns the directory", an, n + 1);
    name_bytes += 2 * nl + alen + 3;
    pos += CDH_LEN + nl + xl + cl;
  }
  if (n != n_expected)
    return beam_error_set(err, BEAM_ERR_MALFORMED,
                          "%s: central directory lists %zu entries, end record says %llu", an, n,
                          (unsigned long long)n_expected);
  z->entries = calloc(n ? n : 1, sizeof *z->entries);
  z->names = malloc(name_bytes ? name_bytes : 1);
  if (!z->entries || !z->names) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", an);
  char *np = z->names;
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *h = cd + pos;
    beam_zip_entry *e = &z->entries[i];
    size_t nl = beam_zip_u16(h + 28), xl = beam_zip_u16(h + 30), cl = beam_zip_u16(h + 32);
    e->flags = beam_zip_u16(h + 8);
    e->method = beam_zip_u16(h + 10);
    e->crc32 = beam_zip_u32(h + 16);
    uint32_t c32 = beam_zip_u32(h + 20), u32 = beam_zip_u32(h + 24), o32 = beam_zip_u32(h + 42);
    e->compressed_size = c32;
    e->uncompressed_size = u32;
    e->local_header_offset = o32;
    memcpy(np, h + CDH_LEN, nl);
    np[nl] = '\0';
    e->name = np;
    e->is_dir = nl > 0 && (np[nl - 1] == '/' || np[nl - 1] == '\\');
    np += nl + 1;
    e->display_name = np;
    memcpy(np, an, alen);
    np[alen] = '!';
    memcpy(np + alen + 1, h + CDH_LEN, nl);
    np[alen + 1 + nl] = '\0';
    np += alen + nl + 2;
    if (!apply_zip64_extra(h + CDH_LEN + nl, xl, e, u32 == 0xFFFFFFFFu, c32 == 0xFFFFFFFFu,
                           o32 == 0xFFFFFFFFu))
      return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: bad ZIP64 extra field", e->display_name);
    if (e->local_header_offset >= z->cd_offset ||
        e->compressed_size > z->cd_offset - e->local_header_offset)
      return beam_error_set(err, BEAM_ERR_MALFORMED,
                            "%s: member data lies outside the archive (corrupt archive)",
                            e->display_name);
    pos += CDH_LEN + nl + xl + cl;
  }
  z->n_entries = n;
  return BEAM_OK;
}

beam_status beam_zip_open(beam_byte_source *archive, beam_zip_reader **out, beam_error *err) {
  *out = NULL;
  const char *an = archive->name;
  beam_status st = BEAM_OK;
  uint8_t *cd = NULL;
  beam_zip_reader *z = calloc(1, sizeof *z);
  if (!z) {
    st = beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", an);
    beam_byte_source_close(archive);
    return st;
  }
  z->archive = archive;
  if (!beam_byte_source_seekable(archive) || archive->size < 0) {
    st = beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                        "%s: ZIP archives need a seekable source with a known size", an);
    goto fail;
  }
  uint64_t size = (uint64_t)archive->size;
  if (size < EOCD_LEN) {
    st = beam_error_set(err, BEAM_ERR_MALFORMED, "%s: not a ZIP archive, or truncated (%llu bytes)",
                        an, (unsigned long long)size);
    goto fail;
  }
  uint8_t rec[EOCD_LEN] = {0};
  uint64_t eocd_pos = 0;
  if ((st = find_eocd(archive, size, &eocd_pos, rec, err)) != BEAM_OK) goto fail;
  uint16_t disk = beam_zip_u16(rec + 4), cd_disk = beam_zip_u16(rec + 6);
  uint64_t n_entries = beam_zip_u16(rec + 10), cd_size = beam_zip_u32(rec + 12),
           cd_off = beam_zip_u32(rec + 16);
  if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
    if ((st = read_eocd64(archive, eocd_pos, &n_entries, &cd_size, &cd_off, err)) != BEAM_OK)
      goto fail;
  } else if (disk != 0 || cd_disk != 0) {
    st = beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: multi-disk ZIP archives are not supported", an);
    goto fail;
  }
  if (cd_off > eocd_pos || cd_size > eocd_pos - cd_off) {
    st = beam_error_set(err, BEAM_ERR_MALFORMED,
                        "%s: central directory lies outside the archive (truncated or corrupt)", an);
    goto fail;
  }
  if (cd_size > ZIP_MAX_CD_BYTES) {
    st = beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: central directory too large", an);
    goto fail;
  }
  z->cd_offset = cd_off;
  cd = malloc(cd_size ? (size_t)cd_size : 1);
  if (!cd) {
    st = beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", an);
    goto fail;
  }
  size_t got = 0;
  if ((st = beam_byte_source_read_at(archive, cd_off, cd, (size_t)cd_size, &got, err)) != BEAM_OK)
    goto fail;
  if (got != cd_size) {
    st = beam_error_set(err, BEAM_ERR_TRUNCATED, "%s: central directory truncated", an);
    goto fail;
  }
  if ((st = parse_cd(z, cd, (size_t)cd_size, n_entries, err)) != BEAM_OK) goto fail;
  free(cd);
  *out = z;
  return BEAM_OK;
fail:
  free(cd);
  beam_zip_close(z);
  return st;
}
