/* Gunzip as a beam_byte_source wrapper (zlib). Detection is by the magic bytes 1f 8b, not
 * the file name, so "data.csv" that is really gzip still reads. Concatenated gzip members
 * (what `cat a.gz b.gz` or pigz produce) are decoded one after another; a stream that
 * ends inside a member, a bad CRC/length trailer, or bytes after the last member that are
 * not another member are errors naming the source. */
#ifndef BEAM_TRANSFORMS_GZIP_SOURCE_H
#define BEAM_TRANSFORMS_GZIP_SOURCE_H

#include <stdbool.h>

#include "beam/transforms/byte_source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Always gunzips inner. Takes ownership of inner, even on failure. The wrapper has the
 * inner source's name, size -1, and is not seekable. */
beam_status beam_gzip_source_open(beam_byte_source *inner, beam_byte_source **out,
                                  beam_error *err);

/* Peeks at the first two bytes of inner: gzip -> a gunzip wrapper, anything else -> a
 * pass-through that replays the peeked bytes (and keeps inner's size). *is_gzip (may be
 * NULL) says which. Takes ownership of inner, even on failure. The result is never
 * seekable: callers that need read_at (ZIP) must check the magic themselves first. */
beam_status beam_gzip_detect_open(beam_byte_source *inner, beam_byte_source **out,
                                  bool *is_gzip, beam_error *err);

/* True if the bytes start with the gzip magic 1f 8b. */
bool beam_gzip_magic(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
