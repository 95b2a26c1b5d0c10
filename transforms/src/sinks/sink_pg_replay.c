/* The PostgreSQL sink's replay log: see sink_pg_replay.h. */
#include "sink_pg_replay.h"

#include <stdlib.h>
#include <string.h>

void beam_sink_pg_replay_reset(beam_sink_pg_replay *r) {
  if (r->overflow) { /* do not keep a huge buffer alive between bundles */
    beam_buf_free(&r->bytes);
    free(r->steps);
    r->steps = NULL;
    r->cap_steps = 0;
  }
  beam_buf_reset(&r->bytes);
  r->n_steps = 0;
  r->overflow = false;
  r->mark_steps = r->mark_bytes = 0;
  r->mark_overflow = false;
}

void beam_sink_pg_replay_free(beam_sink_pg_replay *r) {
  beam_buf_free(&r->bytes);
  free(r->steps);
  r->steps = NULL;
  r->n_steps = r->cap_steps = 0;
}

/* Appends a step holding the bytes a[0, a_len) then b[0, b_len) (either may be empty);
 * false when the log is full or out of memory, with the log unchanged. */
static bool append_step(beam_sink_pg_replay *r, beam_sink_pg_replay_step step, const void *a, size_t a_len,
                        const void *b, size_t b_len) {
  if (r->bytes.len + a_len + b_len > r->max_bytes) return false;
  if (r->n_steps == r->cap_steps) {
    size_t cap = r->cap_steps ? r->cap_steps * 2 : 64;
    beam_sink_pg_replay_step *steps = realloc(r->steps, cap * sizeof *steps);
    if (!steps) return false;
    r->steps = steps;
    r->cap_steps = cap;
  }
  step.off = r->bytes.len;
  step.len = a_len + b_len;
  if (beam_buf_reserve(&r->bytes, a_len + b_len) != BEAM_OK) return false;
  if (a_len) beam_buf_append(&r->bytes, a, a_len); /* cannot fail: reserved */
  if (b_len) beam_buf_append(&r->bytes, b, b_len);
  r->steps[r->n_steps++] = step;
  return true;
}

void beam_sink_pg_replay_add(beam_sink_pg_replay *r, size_t table, const beam_sink_pg_copy *c, const size_t *refused,
                             size_t n_refused) {
  beam_sink_pg_replay_step rows = {.kind = BEAM_SINK_PG_REPLAY_ROWS, .table = table};
  size_t k = 0, next = 0;
  while (!r->overflow && k < c->n) {
    /* The accepted rows from k up to the next refused one go in as one run. */
    size_t end = next < n_refused ? refused[next] : c->n;
    const unsigned char *from = c->rows.data + c->start[k];
    if (end > k && !append_step(r, rows, from, c->start[end] - c->start[k], NULL, 0)) r->overflow = true;
    k = end + 1;
    next++;
  }
}

void beam_sink_pg_replay_savepoint(beam_sink_pg_replay *r) {
  beam_sink_pg_replay_step sp = {.kind = BEAM_SINK_PG_REPLAY_SAVEPOINT};
  if (!r->overflow && !append_step(r, sp, NULL, 0, NULL, 0)) r->overflow = true;
  /* A log that overflowed before the mark stays unreplayable whatever is rolled back. */
  r->mark_steps = r->n_steps;
  r->mark_bytes = r->bytes.len;
  r->mark_overflow = r->overflow;
}

void beam_sink_pg_replay_rollback(beam_sink_pg_replay *r) {
  /* Steps past the mark may have been partly written before an overflow: cut them all. */
  r->n_steps = r->mark_steps;
  r->bytes.len = r->mark_bytes;
  r->overflow = r->mark_overflow;
}

void beam_sink_pg_replay_ledger(beam_sink_pg_replay *r, const char *key, const char *file, bool replace) {
  beam_sink_pg_replay_step entry = {.kind = BEAM_SINK_PG_REPLAY_LEDGER, .replace = replace};
  if (!r->overflow && !append_step(r, entry, key, strlen(key) + 1, file, strlen(file) + 1)) r->overflow = true;
}

void beam_sink_pg_replay_ledger_args(const beam_sink_pg_replay *r, const beam_sink_pg_replay_step *step,
                                     const char **key, const char **file) {
  *key = (const char *)r->bytes.data + step->off;
  *file = *key + strlen(*key) + 1;
}
