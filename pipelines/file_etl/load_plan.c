/* The load plan (see load_plan.h). The ledger is the destination's own record of committed
 * files, keyed by content identity, so a renamed copy of a loaded file is skipped too and an
 * edited file under the same name is loaded. A first load (empty ledger) reads no file here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beam/transforms/etl_stream.h"
#include "beam/transforms/file_identity.h"
#include "beam/transforms/sink.h"
#include "input_list.h"
#include "load_plan.h"

static beam_status keep_inputs(file_etl_load_plan *p, const char *const *inputs, size_t n, beam_error *err) {
  p->inputs = calloc(n + 1, sizeof *p->inputs);
  for (size_t i = 0; p->inputs && i < n; i++)
    if (!(p->inputs[p->n_inputs++] = strdup(inputs[i]))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return p->inputs ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

/* Looks file_id up in every sink: hit->found when each holds it (committed_at: the latest). */
static beam_status find_everywhere(beam_sink *const *sinks, size_t n_sinks, const char *file_id,
                                   beam_sink_ledger_hit *hit, beam_error *err) {
  memset(hit, 0, sizeof *hit);
  for (size_t k = 0; k < n_sinks; k++) {
    beam_sink_ledger_hit one = {0};
    beam_status s = beam_sink_ledger_find(sinks[k], file_id, &one, err);
    if (s != BEAM_OK || !one.found) return hit->found = false, s;
    if (k == 0 || strcmp(one.committed_at, hit->committed_at) > 0) *hit = one;
  }
  return BEAM_OK;
}

/* Sorts each listed file into load or skip by its ledger entries. */
static beam_status sort_files(beam_sink *const *sinks, size_t n_sinks, const file_etl_input_list *all, bool reload,
                              file_etl_load_plan *p, beam_error *err) {
  p->inputs = calloc(all->n + 1, sizeof *p->inputs);
  p->skipped = calloc(all->n + 1, sizeof *p->skipped);
  if (!p->inputs || !p->skipped) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < all->n; i++) {
    beam_file_identity id;
    beam_sink_ledger_hit hit = {0};
    /* A file that cannot be identified is left to the run, which reports it as failed. */
    if (beam_file_identity_of(all->paths[i], &id, NULL) == BEAM_OK) {
      beam_status s = find_everywhere(sinks, n_sinks, id.id, &hit, err);
      if (s != BEAM_OK) return s;
    }
    if (hit.found && reload) p->n_reloaded++;
    if (hit.found && !reload) {
      file_etl_skipped *sk = &p->skipped[p->n_skipped];
      if (!(sk->path = strdup(all->paths[i]))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      memcpy(sk->loaded_at, hit.committed_at, sizeof sk->loaded_at);
      p->n_skipped++;
    } else if (!(p->inputs[p->n_inputs++] = strdup(all->paths[i]))) {
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    }
  }
  return BEAM_OK;
}

/* ---- Unfinished loads of changed files ------------------------------------------------ */

typedef struct unfinished {
  char **ids, **files;
  size_t n, cap;
} unfinished;

static beam_status note_unfinished(void *ctx, const char *id, const char *file, beam_error *err) {
  unfinished *u = ctx;
  if (u->n == u->cap) {
    size_t cap = u->cap ? u->cap * 2 : 8;
    char **ids = realloc(u->ids, cap * sizeof *ids);
    if (ids) u->ids = ids;
    char **files = ids ? realloc(u->files, cap * sizeof *files) : NULL;
    if (files) u->files = files;
    if (!ids || !files) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    u->cap = cap;
  }
  u->ids[u->n] = strdup(id);
  u->files[u->n] = strdup(file);
  if (!u->ids[u->n] || !u->files[u->n]) {
    free(u->ids[u->n]), free(u->files[u->n]);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  u->n++;
  return BEAM_OK;
}

static void unfinished_free(unfinished *u) {
  for (size_t i = 0; i < u->n; i++) free(u->ids[i]), free(u->files[i]);
  free(u->ids);
  free(u->files);
}

static beam_status add_note(file_etl_load_plan *p, const char *file, int64_t rows, const char *uri, beam_error *err) {
  char **grown = realloc(p->retracted_notes, (p->n_retracted_notes + 1) * sizeof *grown);
  if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->retracted_notes = grown;
  if (asprintf(&grown[p->n_retracted_notes],
               "%s changed after a run stopped in the middle of it: the %" PRId64
               " rows its ranges had committed to %s were removed (the file loads whole now)",
               file, rows, uri) < 0)
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  p->n_retracted_notes++;
  p->retracted_rows += rows;
  return BEAM_OK;
}

/* Retracts file_id's ranges from sink in a bundle of its own (named by the instant: an id
 * retracted once may be left unfinished again later); the rows it removed in *rows. */
static beam_status retract_in_bundle(beam_sink *sink, const char *file_id, int64_t *rows, beam_error *err) {
  char bundle[600];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(bundle, sizeof bundle, "unfinished:%s@%lld.%09ld", file_id, (long long)now.tv_sec, now.tv_nsec);
  beam_status s = beam_sink_begin(sink, bundle, err);
  if (s == BEAM_OK) s = beam_sink_retract_units(sink, file_id, err);
  if (s == BEAM_OK) s = beam_sink_commit(sink, err);
  else beam_sink_abort(sink);
  const beam_sink_table_rows *t;
  size_t n = s == BEAM_OK ? beam_sink_retracted_rows(sink, &t) : 0;
  *rows = 0;
  for (size_t i = 0; i < n; i++) *rows += t[i].rows;
  return s;
}

/* For one sink: its unfinished loads (u) of listed files whose content is another now go. */
static beam_status retract_unfinished(beam_sink *sink, const char *uri, const unfinished *u,
                                      const file_etl_input_list *all, file_etl_load_plan *p, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < u->n; i++) {
    bool listed = false;
    for (size_t k = 0; !listed && k < all->n; k++) listed = strcmp(all->paths[k], u->files[i]) == 0;
    beam_file_identity now;
    /* A file gone, or unreadable now, is left as it is: the run reports what it can read. */
    if (!listed || beam_file_identity_of(u->files[i], &now, NULL) != BEAM_OK || strcmp(now.id, u->ids[i]) == 0) continue;
    int64_t rows = 0;
    s = retract_in_bundle(sink, u->ids[i], &rows, err);
    if (s == BEAM_OK) s = add_note(p, u->files[i], rows, uri, err);
  }
  return s == BEAM_OK ? BEAM_OK : beam_error_prefix(err, "sink %s: removing an unfinished load: ", uri);
}

/* The inputs are listed (and a file identified) only when some ledger holds an unfinished load. */
static beam_status retract_all_unfinished(beam_sink *const *sinks, const char *const *uris, size_t n_sinks,
                                          const char *const *inputs, size_t n_inputs, file_etl_load_plan *p,
                                          beam_error *err) {
  unfinished *u = calloc(n_sinks ? n_sinks : 1, sizeof *u);
  if (!u) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = BEAM_OK;
  size_t total = 0;
  for (size_t k = 0; s == BEAM_OK && k < n_sinks; k++) {
    s = beam_sink_ledger_unfinished(sinks[k], note_unfinished, &u[k], err);
    if (s != BEAM_OK) beam_error_prefix(err, "sink %s: ", uris[k]);
    total += u[k].n;
  }
  file_etl_input_list all = {0};
  if (s == BEAM_OK && total) s = file_etl_list_inputs(inputs, n_inputs, &all, err);
  for (size_t k = 0; s == BEAM_OK && total && k < n_sinks; k++) s = retract_unfinished(sinks[k], uris[k], &u[k], &all, p, err);
  file_etl_input_list_free(&all);
  for (size_t k = 0; k < n_sinks; k++) unfinished_free(&u[k]);
  free(u);
  return s;
}

/* Opens each sink; *every_ledger_used when each ledger holds something (else nothing can be
 * skipped, and no file needs identifying). */
static beam_status open_sinks(const char *const *uris, size_t n, beam_sink **sinks, bool *every_ledger_used,
                              beam_error *err) {
  *every_ledger_used = n > 0;
  for (size_t k = 0; k < n; k++) {
    bool any = false;
    beam_status s = beam_sink_open(uris[k], NULL, &sinks[k], err);
    if (s == BEAM_OK) s = beam_sink_ledger_any(sinks[k], &any, err);
    if (s != BEAM_OK) return beam_error_prefix(err, "sink %s: ", uris[k]);
    *every_ledger_used = *every_ledger_used && any;
  }
  return BEAM_OK;
}

beam_status file_etl_plan_load(const char *const *sink_uris, size_t n_sinks, const char *const *inputs,
                               size_t n_inputs, bool reload, file_etl_load_plan *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  beam_sink **sinks = calloc(n_sinks ? n_sinks : 1, sizeof *sinks);
  bool any = false;
  beam_status s = sinks ? open_sinks(sink_uris, n_sinks, sinks, &any, err)
                        : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  file_etl_input_list all = {0};
  /* A stream's messages are looked up by its writers, bundle by bundle: nothing to plan. */
  bool stream = n_inputs && beam_etl_input_is_pubsub(inputs[0]);
  if (stream) any = false;
  /* --reload loads again whatever was loaded: it leaves unfinished loads too. */
  if (s == BEAM_OK && !stream && !reload)
    s = retract_all_unfinished(sinks, sink_uris, n_sinks, inputs, n_inputs, out, err);
  if (s == BEAM_OK && any) s = file_etl_list_inputs(inputs, n_inputs, &all, err);
  if (s == BEAM_OK && any) s = sort_files(sinks, n_sinks, &all, reload, out, err);
  /* Nothing skipped: the inputs go to the run as given (directories stay directories). */
  if (s == BEAM_OK && !out->n_skipped) {
    for (size_t i = 0; out->inputs && i < out->n_inputs; i++) free(out->inputs[i]);
    free(out->inputs);
    out->inputs = NULL;
    out->n_inputs = 0;
    s = keep_inputs(out, inputs, n_inputs, err);
  }
  file_etl_input_list_free(&all);
  for (size_t k = 0; sinks && k < n_sinks; k++) {
    beam_status cs = sinks[k] ? beam_sink_close(sinks[k], s == BEAM_OK ? err : NULL) : BEAM_OK;
    if (s == BEAM_OK && cs != BEAM_OK) s = beam_error_prefix(err, "sink %s: ", sink_uris[k]);
    beam_sink_free(sinks[k]);
  }
  free(sinks);
  return s;
}

void file_etl_load_plan_free(file_etl_load_plan *p) {
  for (size_t i = 0; p->inputs && i < p->n_inputs; i++) free(p->inputs[i]);
  for (size_t i = 0; p->skipped && i < p->n_skipped; i++) free(p->skipped[i].path);
  for (size_t i = 0; i < p->n_retracted_notes; i++) free(p->retracted_notes[i]);
  free(p->retracted_notes);
  free(p->inputs);
  free(p->skipped);
  memset(p, 0, sizeof *p);
}
