/* A byte stream the ETL readers pull from: a local file, a GCS object, a gunzip wrapper, a
 * ZIP member. Readers only ever talk to this interface.
 *
 * An implementation embeds beam_byte_source as its first member and points ops at a
 * static vtable. A wrapper (gzip) owns the source it wraps and closes it; a ZIP member
 * borrows its archive, so members must be closed before the archive. */
#ifndef BEAM_TRANSFORMS_BYTE_SOURCE_H
#define BEAM_TRANSFORMS_BYTE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_byte_source beam_byte_source;

typedef struct beam_byte_source_ops {
  /* Reads up to cap bytes into buf; *n = 0 (with BEAM_OK) means end of stream.
   * Errors name the source. */
  beam_status (*read)(beam_byte_source *src, void *buf, size_t cap, size_t *n, beam_error *err);
  /* Positional read that does not move the stream position; NULL when the source is not
   * seekable. ZIP archives need it (the central directory sits at the end). A short
   * count (*n < cap) means the end of the source was reached. */
  beam_status (*read_at)(beam_byte_source *src, uint64_t offset, void *buf, size_t cap,
                         size_t *n, beam_error *err);
  /* Moves the stream position to offset, so the next read starts there; NULL when the
   * source cannot seek. A byte range of a file is read from a seek (range_source.h). */
  beam_status (*seek)(beam_byte_source *src, uint64_t offset, beam_error *err);
  /* Releases everything the source owns, including src itself. */
  void (*close)(beam_byte_source *src);
} beam_byte_source_ops;

struct beam_byte_source {
  const beam_byte_source_ops *ops;
  const char *name;    /* for messages: path, "archive.zip!member.csv", gs:// URI; owned by the source */
  int64_t size;        /* total bytes the stream will yield, or -1 when unknown */
  uint64_t bytes_read; /* bytes delivered so far by beam_byte_source_read/_read_at (progress) */
  /* The content's identity when the backend names it without a read (a GCS object's size,
   * generation and CRC32C, file_identity.h), owned by the source; NULL: hash the bytes. */
  const char *identity;
};

/* Reads through the vtable and keeps bytes_read up to date. */
beam_status beam_byte_source_read(beam_byte_source *src, void *buf, size_t cap, size_t *n,
                                  beam_error *err);
/* Fills buf completely unless the stream ends first; *n says how much was read. */
beam_status beam_byte_source_read_full(beam_byte_source *src, void *buf, size_t cap, size_t *n,
                                       beam_error *err);
/* Positional read that loops until cap bytes or the end of the source. */
beam_status beam_byte_source_read_at(beam_byte_source *src, uint64_t offset, void *buf,
                                     size_t cap, size_t *n, beam_error *err);
static inline bool beam_byte_source_seekable(const beam_byte_source *src) {
  return src->ops->read_at != NULL;
}
/* Moves the stream position to offset (see ops.seek); BEAM_ERR_UNSUPPORTED when the source
 * cannot seek. Does not count as progress. */
beam_status beam_byte_source_seek(beam_byte_source *src, uint64_t offset, beam_error *err);
/* NULL-safe. */
void beam_byte_source_close(beam_byte_source *src);

/* A local file, read with read(2) and pread(2), seekable with lseek(2); size from fstat. */
beam_status beam_file_source_open(const char *path, beam_byte_source **out, beam_error *err);

/* A GCS object, "gs://bucket/object" (STORAGE_EMULATOR_HOST honoured): streamed by ranged
 * reads of a bounded window and seekable (ranged GETs), so ZIPs in GCS need no temporary
 * copy. BEAM_ERR_NOT_FOUND when the object does not exist. */
beam_status beam_gcs_source_open(const char *uri, beam_byte_source **out, beam_error *err);

/* An in-memory source over bytes the caller keeps alive (tests, small payloads); seekable. */
beam_status beam_memory_source_open(const char *name, const void *data, size_t len,
                                    beam_byte_source **out, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
