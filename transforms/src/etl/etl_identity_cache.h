/* The identity of a file read in byte ranges, computed once per process: every range of a
 * split file carries the whole file's identity (it keys the range's ledger unit and its
 * records), and hashing a large local file once per range would read it once per range.
 * Internal to the etl layer. */
#ifndef BEAM_ETL_IDENTITY_CACHE_H
#define BEAM_ETL_IDENTITY_CACHE_H

#include "beam/transforms/file_identity.h"

/* The identity of the local file or gs:// object at path (beam_file_identity_of), from this
 * process's cache when the file has not changed since (same size, modification time and
 * inode; gs:// objects are asked each time, which reads metadata only). Thread-safe: a
 * second caller for a file being hashed waits for the first. */
beam_status beam_etl_identity_cached(const char *path, beam_file_identity *out, beam_error *err);

#endif
