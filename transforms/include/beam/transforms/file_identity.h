/* A file's identity: what it holds, not where it is or when it was read, so that a relaunch of
 * the same command recognises the same input (and a record of it by (file identity, byte
 * offset), see beam_etl_origin). The name is recorded beside it, never part of it: a file
 * renamed or copied is the same input; a file rewritten in place is a new one.
 *
 *   local file   "<size>-xxh3-<32 hex digits>": XXH3-128 of the whole content (one read
 *                ahead of parsing, at memory speed from the page cache)
 *   gs:// object "<size>-gcs-<generation>-<crc32c>": from the object's metadata, nothing
 *                downloaded (a generation names one immutable content) */
#ifndef BEAM_TRANSFORMS_FILE_IDENTITY_H
#define BEAM_TRANSFORMS_FILE_IDENTITY_H

#include <stdint.h>

#include "beam/status.h"
#include "beam/transforms/byte_source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BEAM_FILE_IDENTITY_MAX 80

typedef struct beam_file_identity {
  int64_t size;
  char id[BEAM_FILE_IDENTITY_MAX]; /* as above; NUL-terminated */
} beam_file_identity;

/* The identity of the file or gs:// object at path. An unreadable file is BEAM_ERR_IO (or
 * BEAM_ERR_NOT_FOUND) naming it and the system error. */
beam_status beam_file_identity_of(const char *path, beam_file_identity *out, beam_error *err);

/* The identity an open source names without a read (src->identity: a gs:// object's, from the
 * metadata it read at open); BEAM_ERR_UNSUPPORTED when it names none (a local file: hash it
 * with beam_file_identity_of). */
beam_status beam_file_identity_from_source(const beam_byte_source *src, beam_file_identity *out, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
