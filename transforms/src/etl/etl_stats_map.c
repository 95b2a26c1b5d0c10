/* File name -> statistics map (see etl_stats_map.h). */
#include <stdlib.h>
#include <string.h>

#include "etl_stats_map.h"

static size_t hash_name(const char *s) {
  size_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static beam_etl_stats_entry *find_slot(beam_etl_stats_entry *slots, size_t cap, const char *file) {
  size_t i = hash_name(file) & (cap - 1);
  while (slots[i].file && strcmp(slots[i].file, file) != 0) i = (i + 1) & (cap - 1);
  return &slots[i];
}

static bool grow(beam_etl_stats_map *m) {
  size_t cap = m->cap ? m->cap * 2 : 16;
  beam_etl_stats_entry *slots = calloc(cap, sizeof *slots);
  if (!slots) return false;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].file) *find_slot(slots, cap, m->slots[i].file) = m->slots[i];
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  m->last = NULL;
  return true;
}

beam_etl_file_stats *beam_etl_stats_map_get(beam_etl_stats_map *m, const char *file) {
  if (m->last && strcmp(m->last->file, file) == 0) return &m->last->stats;
  if ((m->len + 1) * 2 > m->cap && !grow(m)) return NULL;
  beam_etl_stats_entry *e = find_slot(m->slots, m->cap, file);
  if (!e->file) {
    e->file = strdup(file);
    if (!e->file) return NULL;
    memset(&e->stats, 0, sizeof e->stats);
    m->len++;
  }
  m->last = e;
  return &e->stats;
}

beam_status beam_etl_stats_map_drain(beam_etl_stats_map *m, beam_dofn_ctx *ctx, int output, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 0; i < m->cap && s == BEAM_OK; i++) {
    beam_etl_stats_entry *e = &m->slots[i];
    if (!e->file) continue;
    beam_value kv;
    s = beam_etl_stats_make(beam_dofn_bundle_arena(ctx), e->file, &e->stats, &kv);
    if (s == BEAM_OK) s = beam_dofn_emit(ctx, output, &kv, err);
    else beam_error_set(err, s, "out of memory");
  }
  beam_etl_stats_map_free(m);
  return s;
}

void beam_etl_stats_map_free(beam_etl_stats_map *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->slots[i].file);
  free(m->slots);
  memset(m, 0, sizeof *m);
}
