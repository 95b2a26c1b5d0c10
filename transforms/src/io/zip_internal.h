/* Shared between the ZIP central-directory reader and the member stream. */
#ifndef BEAM_TRANSFORMS_ZIP_INTERNAL_H
#define BEAM_TRANSFORMS_ZIP_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "beam/transforms/zip_reader.h"

struct beam_zip_reader {
  beam_byte_source *archive;
  beam_zip_entry *entries;
  size_t n_entries;
  uint64_t cd_offset; /* member data must end before the central directory */
  char *names;        /* one block holding every name and display name */
};

static inline uint16_t beam_zip_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t beam_zip_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t beam_zip_u64(const uint8_t *p) {
  return (uint64_t)beam_zip_u32(p) | ((uint64_t)beam_zip_u32(p + 4) << 32);
}

#define BEAM_ZIP_SIG_LOCAL 0x04034b50u
#define BEAM_ZIP_SIG_CENTRAL 0x02014b50u
#define BEAM_ZIP_SIG_EOCD 0x06054b50u
#define BEAM_ZIP_SIG_EOCD64 0x06064b50u
#define BEAM_ZIP_SIG_EOCD64_LOC 0x07064b50u
#define BEAM_ZIP_SIG_DESCRIPTOR 0x08074b50u

#endif
