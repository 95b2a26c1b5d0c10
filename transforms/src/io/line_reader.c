/* Streaming line splitter (see line_reader.h). */
#include "beam/transforms/line_reader.h"

#include <stdlib.h>
#include <string.h>

#include "scan_buffer.h"

struct beam_line_reader {
  beam_scan_buffer buf;
  int64_t lineno;
  bool lines_unknown; /* a byte range past the file's start: which line it is, is not known */
  uint64_t offset; /* of the line last returned */
};

beam_status beam_line_reader_open(beam_byte_source *src, size_t buffer_size, size_t max_line,
                                  beam_line_reader **out, beam_error *err) {
  *out = NULL;
  beam_line_reader *lr = calloc(1, sizeof *lr);
  if (!lr) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
  beam_status st = beam_scan_buffer_init(&lr->buf, src, buffer_size, max_line, err);
  if (st != BEAM_OK) {
    free(lr);
    return st;
  }
  *out = lr;
  return BEAM_OK;
}

void beam_line_reader_start_at(beam_line_reader *lr, uint64_t offset) {
  beam_scan_buffer_rebase(&lr->buf, lr->buf.src, offset);
  lr->lines_unknown = offset > 0;
}

uint64_t beam_line_reader_offset(const beam_line_reader *lr) { return lr->offset; }

void beam_line_reader_close(beam_line_reader *lr) {
  if (!lr) return;
  beam_scan_buffer_free(&lr->buf);
  free(lr);
}

beam_status beam_line_reader_next(beam_line_reader *lr, char **line, size_t *len,
                                  int64_t *lineno, bool *eof, beam_error *err) {
  beam_scan_buffer *b = &lr->buf;
  *eof = false;
  size_t scanned = 0; /* bytes after pos already known to hold no newline */
  for (;;) {
    char *start = b->data + b->pos;
    char *nl = memchr(start + scanned, '\n', b->end - b->pos - scanned);
    if (nl) {
      size_t n = (size_t)(nl - start);
      lr->offset = beam_scan_buffer_offset(b, b->pos);
      b->pos += n + 1;
      if (n && start[n - 1] == '\r') n--;
      start[n] = '\0';
      *line = start;
      *len = n;
      ++lr->lineno;
      *lineno = lr->lines_unknown ? 0 : lr->lineno;
      return BEAM_OK;
    }
    scanned = b->end - b->pos;
    size_t got = 0;
    beam_status st = beam_scan_buffer_more(b, &got, err);
    if (st != BEAM_OK) {
      if (st == BEAM_ERR_UNSUPPORTED && lr->lines_unknown)
        beam_error_prefix(err, "%s: byte %llu: ", b->src->name,
                          (unsigned long long)beam_scan_buffer_offset(b, b->pos));
      else if (st == BEAM_ERR_UNSUPPORTED)
        beam_error_prefix(err, "%s: line %lld: ", b->src->name, (long long)lr->lineno + 1);
      return st;
    }
    if (got == 0) {
      if (b->pos == b->end) {
        *eof = true;
        return BEAM_OK;
      }
      /* Last line without a newline. */
      start = b->data + b->pos;
      size_t n = b->end - b->pos;
      lr->offset = beam_scan_buffer_offset(b, b->pos);
      b->pos = b->end;
      if (n && start[n - 1] == '\r') n--;
      start[n] = '\0'; /* data has cap + 1 bytes, so end is always writable */
      *line = start;
      *len = n;
      ++lr->lineno;
      *lineno = lr->lines_unknown ? 0 : lr->lineno;
      return BEAM_OK;
    }
  }
}
