/* The header ReadMessages sends before a bundle's rows (etl_dofn_read_messages.c), so that
 * each destination's writer learns the bundle's messages before their rows and looks them up
 * in its ledger in one call (etl_write_stream.h).
 *
 * It is an ETL element of table _stream_bundles: its values are the bundle's row as the read
 * knows it (subscription, messages, dead_lettered, filtered, first and last publish time;
 * written and committed_at NULL), its raw the list of the bundle's messages, one line each:
 *   <outcome><publish time, microseconds> <message id>\n
 * outcome 'r' (a routed row follows), 'd' (a dead letter follows) or 'f' (filtered). */
#ifndef BEAM_ETL_STREAM_HEADER_H
#define BEAM_ETL_STREAM_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/buf.h"
#include "beam/status.h"
#include "beam/value.h"

#define BEAM_ETL_MESSAGE_ROW 'r'
#define BEAM_ETL_MESSAGE_DEAD 'd'
#define BEAM_ETL_MESSAGE_FILTERED 'f'

typedef struct beam_etl_stream_message {
  char outcome;
  int64_t publish_us;
  const char *id;
} beam_etl_stream_message;

/* Appends one message's line to list. */
beam_status beam_etl_stream_header_add(beam_buf *list, char outcome, int64_t publish_us, const char *id);

/* Parses a header's list (raw) into messages in arena. BEAM_ERR_MALFORMED on a bad line. */
beam_status beam_etl_stream_header_parse(beam_bytes raw, beam_arena *arena, beam_etl_stream_message **out, size_t *n,
                                         beam_error *err);

#endif
