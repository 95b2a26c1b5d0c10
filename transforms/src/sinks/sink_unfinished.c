/* Loads that stopped in the middle of a split file (beam_sink_ledger_unfinished, sink.h): the
 * identities with committed range units and no whole-file unit. */
#include <stdlib.h>
#include <string.h>

#include "sink_int.h"

/* One range unit's identity and input name, each range of a file giving the same pair. */
typedef struct id_file {
  char *id, *file;
} id_file;

typedef struct pairs {
  id_file *items;
  size_t n, cap;
} pairs;

static beam_status collect_range(void *ctx, const char *unit, const char *file, beam_error *err) {
  if (!beam_sink_unit_is_range(unit)) return BEAM_OK;
  pairs *p = ctx;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 32;
    id_file *grown = realloc(p->items, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    p->items = grown;
    p->cap = cap;
  }
  id_file *it = &p->items[p->n];
  it->id = strndup(unit, (size_t)(strrchr(unit, '@') - unit));
  it->file = strdup(file ? file : "");
  if (!it->id || !it->file) {
    free(it->id), free(it->file);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  p->n++;
  return BEAM_OK;
}

static int by_id_file(const void *a, const void *b) {
  const id_file *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : strcmp(x->file, y->file);
}

beam_status beam_sink_ledger_unfinished(beam_sink *s, beam_sink_unit_fn each, void *ctx, beam_error *err) {
  if (!s || !each) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_unfinished: NULL argument");
  if (s->state != BEAM_SINK_IDLE) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "ledger_unfinished: inside a bundle");
  if (!beam_sink_can_retract(s) || !s->vt->ledger_range_units) return BEAM_OK;
  pairs p = {0};
  beam_status st = s->vt->ledger_range_units(s, collect_range, &p, err);
  if (st == BEAM_OK && p.n) qsort(p.items, p.n, sizeof *p.items, by_id_file);
  for (size_t i = 0; st == BEAM_OK && i < p.n; i++) {
    if (i && by_id_file(&p.items[i - 1], &p.items[i]) == 0) continue;
    beam_sink_ledger_hit hit;
    st = beam_sink_ledger_find(s, p.items[i].id, &hit, err);
    if (st == BEAM_OK && !hit.found) st = each(ctx, p.items[i].id, p.items[i].file, err);
  }
  for (size_t i = 0; i < p.n; i++) free(p.items[i].id), free(p.items[i].file);
  free(p.items);
  return st;
}
