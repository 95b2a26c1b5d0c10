/* The PostgreSQL sink's replay log (private to transforms/src): what the open bundle did
 * that the server accepted - its rows, its unit savepoints, its ledger entries - so that a
 * bundle whose connection is lost (a server restart, a terminated backend, a network reset)
 * can be replayed on a new connection instead of failing. A unit rollback truncates the log
 * back to the savepoint, so a replay after it writes exactly the rows the bundle kept.
 * Bounded: past max_bytes the log gives up (overflow) and a lost connection fails the
 * bundle as before, for the caller to retry it from the start. */
#ifndef BEAM_TRANSFORMS_SINK_PG_REPLAY_H
#define BEAM_TRANSFORMS_SINK_PG_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/buf.h"
#include "sink_pg_copy.h"

typedef enum beam_sink_pg_replay_kind {
  BEAM_SINK_PG_REPLAY_ROWS,      /* consecutive encoded rows of one table: bytes[off, off + len) */
  BEAM_SINK_PG_REPLAY_SAVEPOINT, /* the unit savepoint was set (replacing any earlier one) */
  BEAM_SINK_PG_REPLAY_LEDGER     /* a ledger entry: bytes[off, off + len) is "key\0file\0" */
} beam_sink_pg_replay_kind;

typedef struct beam_sink_pg_replay_step {
  beam_sink_pg_replay_kind kind;
  size_t table; /* ROWS: the table's position in the sink */
  size_t off;
  size_t len;
  bool replace; /* LEDGER: replace an existing entry */
} beam_sink_pg_replay_step;

typedef struct beam_sink_pg_replay {
  beam_buf bytes;
  beam_sink_pg_replay_step *steps;
  size_t n_steps;
  size_t cap_steps;
  size_t max_bytes;
  bool overflow; /* the bundle outgrew max_bytes (or memory): it cannot be replayed */
  /* Just after the last savepoint step: where a unit rollback truncates to. */
  size_t mark_steps, mark_bytes;
  bool mark_overflow;
} beam_sink_pg_replay;

/* Empties the log for a new bundle (keeps its memory unless the last bundle overflowed). */
void beam_sink_pg_replay_reset(beam_sink_pg_replay *r);
void beam_sink_pg_replay_free(beam_sink_pg_replay *r);

/* Logs the rows of c that the server accepted: all but the positions refused[0..n_refused)
 * (ascending). Sets overflow instead of failing when the log would outgrow max_bytes. */
void beam_sink_pg_replay_add(beam_sink_pg_replay *r, size_t table, const beam_sink_pg_copy *c, const size_t *refused,
                             size_t n_refused);

/* Logs a unit savepoint and makes it the mark a rollback returns to. */
void beam_sink_pg_replay_savepoint(beam_sink_pg_replay *r);

/* Forgets everything logged since the last savepoint (which stays: the server keeps the
 * savepoint after ROLLBACK TO it). Only after beam_sink_pg_replay_savepoint. */
void beam_sink_pg_replay_rollback(beam_sink_pg_replay *r);

/* Logs a ledger entry. */
void beam_sink_pg_replay_ledger(beam_sink_pg_replay *r, const char *key, const char *file, bool replace);

/* The key and file of a LEDGER step (pointers into the log). */
void beam_sink_pg_replay_ledger_args(const beam_sink_pg_replay *r, const beam_sink_pg_replay_step *step,
                                     const char **key, const char **file);

#endif
