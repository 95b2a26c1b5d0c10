/* beam_csv_find_quoted_newline (csv_reader.h): does a '\n' lie inside a quoted field?
 *
 * It follows csv_reader.c's boundary scan exactly, not a plain quote parity: a quote opens
 * a quoted field only at a field start (the stream's start, or right after the delimiter
 * or a '\n' outside quotes); a quote inside an unquoted field is data to the scan (the
 * reader reports it as bad quoting), and a doubled quote inside quotes stays inside. Parity
 * would differ on 'a"b,"x<LF>y"': the reader sees a newline inside quotes, parity does not.
 *
 * Speed: outside quotes only quote characters matter, so the scan jumps between them with
 * memchr; inside quotes it jumps to the closing quote and checks the span for a '\n' with a
 * second memchr. Both run at memory speed on typical data. */
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/csv_reader.h"

enum { CHUNK = 1 << 20 };

enum { OUT, IN, CLOSING }; /* CLOSING: a quote seen inside quotes; the next byte decides */

beam_status beam_csv_find_quoted_newline(beam_byte_source *src, const beam_csv_options *opts,
                                         int64_t *offset, beam_error *err) {
  *offset = -1;
  beam_csv_options def;
  if (!opts) {
    beam_csv_options_init(&def);
    opts = &def;
  }
  if (opts->no_quoting) return BEAM_OK;
  const unsigned char quote = (unsigned char)(opts->quote ? opts->quote : '"');
  const unsigned char delim = (unsigned char)(opts->delimiter ? opts->delimiter : ',');
  unsigned char *buf = malloc(CHUNK);
  if (!buf) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
  int state = OUT;
  unsigned char prev = '\n'; /* the stream's start is a field start */
  uint64_t base = 0;         /* file offset of buf[0] */
  bool first = true;
  beam_status st;
  for (;;) {
    size_t n = 0;
    if ((st = beam_byte_source_read_full(src, buf, CHUNK, &n, err)) != BEAM_OK || n == 0) break;
    const unsigned char *d = buf;
    size_t i = 0;
    if (first && n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0) { /* the reader skips a BOM */
      d += 3;
      n -= 3;
      base = 3;
    }
    first = false;
    while (i < n) {
      if (state == OUT) {
        const unsigned char *q = memchr(d + i, quote, n - i);
        if (!q) break;
        size_t p = (size_t)(q - d);
        unsigned char before = p > 0 ? d[p - 1] : prev;
        if (before == delim || before == '\n') state = IN;
        i = p + 1;
      } else if (state == IN) {
        const unsigned char *q = memchr(d + i, quote, n - i);
        size_t stop = q ? (size_t)(q - d) : n;
        const unsigned char *nl = memchr(d + i, '\n', stop - i);
        if (nl) {
          *offset = (int64_t)(base + (size_t)(nl - d));
          free(buf);
          return BEAM_OK;
        }
        i = stop + (q ? 1 : 0);
        if (q) state = CLOSING;
      } else {
        /* A doubled quote stays inside; anything else ends the field (the byte is then
         * scanned as outside quotes, and it is not a quote, so it opens nothing). */
        state = d[i] == quote ? IN : OUT;
        if (state == IN) i++;
      }
    }
    if (n) prev = d[n - 1];
    base += n;
    if (d + n < buf + CHUNK) break; /* a short read: the end of the stream */
  }
  free(buf);
  return st;
}
