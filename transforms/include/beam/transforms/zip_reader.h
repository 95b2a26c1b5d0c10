/* ZIP archive reader (PKWARE APPNOTE subset): stored (method 0) and deflate (method 8)
 * members, ZIP64 sizes and offsets, data descriptors (general-purpose flag bit 3).
 *
 * The archive must be seekable (read_at): the central directory at the end is the
 * authoritative member list, as in every mainstream unzip. Each member is exposed as a
 * beam_byte_source named "archive.zip!member.csv" whose reads inflate on the fly and whose
 * end verifies the CRC-32 and the uncompressed size, so a corrupt or truncated member is an
 * error naming archive and member, never a silent partial read. Encrypted members and
 * other methods are reported as unsupported. */
#ifndef BEAM_TRANSFORMS_ZIP_READER_H
#define BEAM_TRANSFORMS_ZIP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/transforms/byte_ranges.h"
#include "beam/transforms/byte_source.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_zip_entry {
  const char *name;         /* path inside the archive, NUL-terminated */
  const char *display_name; /* "archive.zip!name" */
  uint64_t compressed_size;
  uint64_t uncompressed_size;
  uint64_t local_header_offset;
  uint32_t crc32;
  uint16_t method;          /* 0 stored, 8 deflate */
  uint16_t flags;           /* bit 0 encrypted, bit 3 data descriptor */
  bool is_dir;
} beam_zip_entry;

typedef struct beam_zip_reader beam_zip_reader;

/* Reads the central directory. Takes ownership of archive (closed by beam_zip_close, or
 * here on failure). Errors name the archive: not a ZIP / truncated (no end of central
 * directory), bad central directory signature, entries past the end of the file. */
beam_status beam_zip_open(beam_byte_source *archive, beam_zip_reader **out, beam_error *err);
size_t beam_zip_count(const beam_zip_reader *z);
const beam_zip_entry *beam_zip_entry_at(const beam_zip_reader *z, size_t i);
const char *beam_zip_name(const beam_zip_reader *z);
/* The archive source (owned by the reader), e.g. for progress counters. */
beam_byte_source *beam_zip_archive(const beam_zip_reader *z);
/* A stream of member i's uncompressed bytes. The member borrows the archive: close it
 * before beam_zip_close. Fails for directories, encrypted members, unknown methods and a
 * bad local header signature. */
beam_status beam_zip_open_member(beam_zip_reader *z, size_t i, beam_byte_source **out,
                                 beam_error *err);
void beam_zip_close(beam_zip_reader *z);

/* Byte ranges of an archive (split reading): a member belongs to the range its local header
 * starts in and is read whole, so every member is read by exactly one range of a partition
 * of the archive's bytes, whatever the cut points; a range holding no header reads nothing. */

/* The indices of the entries (directories too) whose local header lies in [start, end) (end
 * < 0: to the end), in header order, in a malloc'd array the caller frees (*n may be 0). */
beam_status beam_zip_members_in(const beam_zip_reader *z, int64_t start, int64_t end, size_t **out, size_t *n,
                                beam_error *err);
/* Plans [start, end) as consecutive ranges cut at local headers only, each holding members of
 * at most about split_size uncompressed bytes (a larger member is a range alone), so that
 * ranges weigh alike whatever the compression. The first starts at start, the last ends at
 * end (the central directory's bytes fall in it), none is empty; split_size <= 0 or no
 * member to cut before gives the one range [start, end). The array is malloc'd. */
beam_status beam_zip_plan_ranges(const beam_zip_reader *z, int64_t start, int64_t end, int64_t split_size,
                                 beam_byte_range **out, size_t *n, beam_error *err);

/* True if data starts with a ZIP local header or an empty archive's end record. */
bool beam_zip_magic(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
