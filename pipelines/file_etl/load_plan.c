/* The load plan (see load_plan.h). The ledger is the destination's own record of committed
 * files, keyed by content identity, so a renamed copy of a loaded file is skipped too and an
 * edited file under the same name is loaded. A first load (empty ledger) reads no file here. */
#include <stdlib.h>
#include <string.h>

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

/* Sorts each listed file into load or skip by its ledger entry. */
static beam_status sort_files(beam_sink *sink, const file_etl_input_list *all, bool reload, file_etl_load_plan *p,
                              beam_error *err) {
  p->inputs = calloc(all->n + 1, sizeof *p->inputs);
  p->skipped = calloc(all->n + 1, sizeof *p->skipped);
  if (!p->inputs || !p->skipped) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < all->n; i++) {
    beam_file_identity id;
    beam_sink_ledger_hit hit = {0};
    /* A file that cannot be identified is left to the run, which reports it as failed. */
    if (beam_file_identity_of(all->paths[i], &id, NULL) == BEAM_OK) {
      beam_status s = beam_sink_ledger_find(sink, id.id, &hit, err);
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

beam_status file_etl_plan_load(const char *sink_uri, const char *const *inputs, size_t n_inputs, bool reload,
                               file_etl_load_plan *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  beam_sink *sink = NULL;
  bool any = false;
  beam_status s = beam_sink_open(sink_uri, NULL, &sink, err);
  if (s == BEAM_OK) s = beam_sink_ledger_any(sink, &any, err);
  file_etl_input_list all = {0};
  if (s == BEAM_OK && any) s = file_etl_list_inputs(inputs, n_inputs, &all, err);
  if (s == BEAM_OK && any) s = sort_files(sink, &all, reload, out, err);
  /* Nothing skipped: the inputs go to the run as given (directories stay directories). */
  if (s == BEAM_OK && !out->n_skipped) {
    for (size_t i = 0; out->inputs && i < out->n_inputs; i++) free(out->inputs[i]);
    free(out->inputs);
    out->inputs = NULL;
    out->n_inputs = 0;
    s = keep_inputs(out, inputs, n_inputs, err);
  }
  file_etl_input_list_free(&all);
  beam_status cs = sink ? beam_sink_close(sink, s == BEAM_OK ? err : NULL) : BEAM_OK;
  beam_sink_free(sink);
  return s != BEAM_OK ? s : cs;
}

void file_etl_load_plan_free(file_etl_load_plan *p) {
  for (size_t i = 0; p->inputs && i < p->n_inputs; i++) free(p->inputs[i]);
  for (size_t i = 0; p->skipped && i < p->n_skipped; i++) free(p->skipped[i].path);
  free(p->inputs);
  free(p->skipped);
  memset(p, 0, sizeof *p);
}
