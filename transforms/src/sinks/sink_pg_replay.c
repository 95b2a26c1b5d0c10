/* The PostgreSQL sink's replay log: see sink_pg_replay.h. */
#include "sink_pg_replay.h"

#include <stdlib.h>
#include <string.h>

void beam_sink_pg_replay_reset(beam_sink_pg_replay *r) {
  if (r->overflow) { /* do not keep a huge buffer alive between bundles */
    beam_buf_free(&r->bytes);
    free(r->runs);
    r->runs = NULL;
    r->cap_runs = 0;
  }
  beam_buf_reset(&r->bytes);
  r->n_runs = 0;
  r->overflow = false;
}

void beam_sink_pg_replay_free(beam_sink_pg_replay *r) {
  beam_buf_free(&r->bytes);
  free(r->runs);
  r->runs = NULL;
  r->n_runs = r->cap_runs = 0;
}

static bool append_run(beam_sink_pg_replay *r, size_t table, const unsigned char *data, size_t len) {
  if (r->bytes.len + len > r->max_bytes) return false;
  if (r->n_runs == r->cap_runs) {
    size_t cap = r->cap_runs ? r->cap_runs * 2 : 64;
    beam_sink_pg_replay_run *runs = realloc(r->runs, cap * sizeof *runs);
    if (!runs) return false;
    r->runs = runs;
    r->cap_runs = cap;
  }
  size_t off = r->bytes.len;
  if (beam_buf_append(&r->bytes, data, len) != BEAM_OK) return false;
  r->runs[r->n_runs++] = (beam_sink_pg_replay_run){table, off, len};
  return true;
}

void beam_sink_pg_replay_add(beam_sink_pg_replay *r, size_t table, const beam_sink_pg_copy *c, const size_t *refused,
                             size_t n_refused) {
  size_t k = 0, next = 0;
  while (!r->overflow && k < c->n) {
    /* The accepted rows from k up to the next refused one go in as one run. */
    size_t end = next < n_refused ? refused[next] : c->n;
    if (end > k && !append_run(r, table, c->rows.data + c->start[k], c->start[end] - c->start[k])) r->overflow = true;
    k = end + 1;
    next++;
  }
}
