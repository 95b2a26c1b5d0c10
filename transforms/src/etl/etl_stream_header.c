/* The bundle header's message list (etl_stream_header.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_stream_header.h"

beam_status beam_etl_stream_header_add(beam_buf *list, char outcome, int64_t publish_us, const char *id) {
  char head[32];
  int n = snprintf(head, sizeof head, "%c%" PRId64 " ", outcome, publish_us);
  beam_status s = beam_buf_append(list, head, (size_t)n);
  if (s == BEAM_OK) s = beam_buf_append_str(list, id);
  return s == BEAM_OK ? beam_buf_append_byte(list, '\n') : s;
}

beam_status beam_etl_stream_header_parse(beam_bytes raw, beam_arena *arena, beam_etl_stream_message **out, size_t *n,
                                         beam_error *err) {
  size_t lines = 0;
  for (size_t i = 0; i < raw.len; i++) lines += raw.data[i] == '\n';
  beam_etl_stream_message *m = beam_arena_calloc(arena, lines ? lines : 1, sizeof *m);
  if (!m) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  const char *at = (const char *)raw.data, *end = at + raw.len;
  size_t k = 0;
  while (at < end) {
    const char *nl = memchr(at, '\n', (size_t)(end - at));
    const char *space = nl ? memchr(at, ' ', (size_t)(nl - at)) : NULL;
    char *num_end = NULL;
    if (space) m[k].publish_us = strtoll(at + 1, &num_end, 10);
    if (!space || num_end != space || space + 1 >= nl ||
        (at[0] != BEAM_ETL_MESSAGE_ROW && at[0] != BEAM_ETL_MESSAGE_DEAD && at[0] != BEAM_ETL_MESSAGE_FILTERED))
      return beam_error_set(err, BEAM_ERR_MALFORMED, "a stream bundle header's line %zu is malformed", k + 1);
    m[k].outcome = at[0];
    if (!(m[k].id = beam_arena_strndup(arena, space + 1, (size_t)(nl - space - 1))))
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    k++;
    at = nl + 1;
  }
  *out = m;
  *n = k;
  return BEAM_OK;
}
