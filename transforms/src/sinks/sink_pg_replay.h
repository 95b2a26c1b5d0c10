/* The PostgreSQL sink's replay log (private to transforms/src): the encoded rows the server
 * accepted in the open bundle, so that a bundle whose connection is lost (a server restart,
 * a terminated backend, a network reset) can be replayed on a new connection instead of
 * failing. Bounded: past max_bytes the log gives up (overflow) and a lost connection fails
 * the bundle as before, for the caller to retry it from the start. */
#ifndef BEAM_TRANSFORMS_SINK_PG_REPLAY_H
#define BEAM_TRANSFORMS_SINK_PG_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/buf.h"
#include "sink_pg_copy.h"

/* Consecutive encoded rows of one table: bytes[off, off + len). */
typedef struct beam_sink_pg_replay_run {
  size_t table;
  size_t off;
  size_t len;
} beam_sink_pg_replay_run;

typedef struct beam_sink_pg_replay {
  beam_buf bytes;
  beam_sink_pg_replay_run *runs;
  size_t n_runs;
  size_t cap_runs;
  size_t max_bytes;
  bool overflow; /* the bundle outgrew max_bytes (or memory): it cannot be replayed */
} beam_sink_pg_replay;

/* Empties the log for a new bundle (keeps its memory unless the last bundle overflowed). */
void beam_sink_pg_replay_reset(beam_sink_pg_replay *r);
void beam_sink_pg_replay_free(beam_sink_pg_replay *r);

/* Logs the rows of c that the server accepted: all but the positions refused[0..n_refused)
 * (ascending). Sets overflow instead of failing when the log would outgrow max_bytes. */
void beam_sink_pg_replay_add(beam_sink_pg_replay *r, size_t table, const beam_sink_pg_copy *c, const size_t *refused,
                             size_t n_refused);

#endif
