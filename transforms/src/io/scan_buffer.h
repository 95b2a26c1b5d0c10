/* The one reusable read buffer under every record reader.
 *
 * Unread bytes are data[pos, end). A reader scans forward from pos; when a record runs
 * past end it calls beam_scan_buffer_more, which slides the unread bytes to the front,
 * grows the buffer only when a single record fills it (doubling, up to max_cap) and reads
 * more. Memory therefore stays at the initial size whatever the file size, unless one
 * record is longer. Callers keep offsets relative to pos, never pointers, across calls.
 * A UTF-8 byte-order mark at the very start of the stream is skipped. base tracks where
 * data[0] sits in the stream, so a reader knows the byte offset of every record it returns
 * (a record's identity: the offset survives a relaunch, unlike a run's counters). */
#ifndef BEAM_TRANSFORMS_SCAN_BUFFER_H
#define BEAM_TRANSFORMS_SCAN_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/transforms/byte_source.h"

typedef struct beam_scan_buffer {
  beam_byte_source *src; /* borrowed */
  char *data;
  size_t cap, pos, end;
  size_t max_cap;
  uint64_t base; /* stream offset of data[0] (a skipped BOM counts: offsets are the file's) */
  bool eof;
  bool started;
} beam_scan_buffer;

#define BEAM_SCAN_DEFAULT_CAP ((size_t)64 * 1024)
#define BEAM_SCAN_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

/* cap/max_cap 0 pick the defaults. */
beam_status beam_scan_buffer_init(beam_scan_buffer *b, beam_byte_source *src, size_t cap,
                                  size_t max_cap, beam_error *err);
void beam_scan_buffer_free(beam_scan_buffer *b);
/* Makes more bytes available past end. *got = 0 at end of stream. Returns
 * BEAM_ERR_UNSUPPORTED (message says so) when data[pos, end) already spans max_cap: the
 * caller prefixes the line. */
beam_status beam_scan_buffer_more(beam_scan_buffer *b, size_t *got, beam_error *err);

/* Makes b read src (borrowed) from here on, src's first byte being the file's byte base:
 * unread bytes are dropped. base > 0 (a byte range past the file's start) looks for no BOM.
 * With base 0 call it only before the first read. */
void beam_scan_buffer_rebase(beam_scan_buffer *b, beam_byte_source *src, uint64_t base);

/* The stream offset of data[i]. */
static inline uint64_t beam_scan_buffer_offset(const beam_scan_buffer *b, size_t i) { return b->base + i; }

#endif
