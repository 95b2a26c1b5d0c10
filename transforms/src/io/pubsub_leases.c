/* The leased ack ids (pubsub_leases.h). */
#include <stdlib.h>
#include <string.h>

#include "pubsub_leases.h"

static size_t hash_of(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return (size_t)h;
}

static beam_pubsub_lease **slot_of(beam_pubsub_leases *t, const char *ack_id) {
  beam_pubsub_lease **p = &t->buckets[hash_of(ack_id) & (t->n_buckets - 1)];
  while (*p && strcmp((*p)->ack_id, ack_id) != 0) p = &(*p)->hnext;
  return p;
}

/* Keeps chains short: twice the buckets when there are more leases than buckets. */
static beam_status grow(beam_pubsub_leases *t) {
  size_t n = t->n_buckets ? t->n_buckets * 2 : 256;
  beam_pubsub_lease **b = calloc(n, sizeof *b);
  if (!b) return BEAM_ERR_NOMEM;
  free(t->buckets);
  t->buckets = b;
  t->n_buckets = n;
  for (beam_pubsub_lease *l = t->head; l; l = l->next) {
    size_t i = hash_of(l->ack_id) & (n - 1);
    l->hnext = b[i];
    b[i] = l;
  }
  return BEAM_OK;
}

beam_status beam_pubsub_leases_add(beam_pubsub_leases *t, const char *ack_id, size_t bytes, int64_t publish_us,
                                   int64_t now_ms) {
  if ((size_t)t->count >= t->n_buckets && grow(t) != BEAM_OK) return BEAM_ERR_NOMEM;
  beam_pubsub_lease **slot = slot_of(t, ack_id);
  if (*slot) return BEAM_OK;
  beam_pubsub_lease *l = calloc(1, sizeof *l);
  if (!l || !(l->ack_id = strdup(ack_id))) {
    free(l);
    return BEAM_ERR_NOMEM;
  }
  l->bytes = bytes;
  l->received_ms = now_ms;
  l->publish_us = publish_us;
  *slot = l;
  l->prev = t->tail;
  if (t->tail) t->tail->next = l;
  else t->head = l;
  t->tail = l;
  t->count++;
  t->bytes += (int64_t)bytes;
  return BEAM_OK;
}

bool beam_pubsub_leases_remove(beam_pubsub_leases *t, const char *ack_id) {
  if (!t->n_buckets) return false;
  beam_pubsub_lease **slot = slot_of(t, ack_id), *l = *slot;
  if (!l) return false;
  *slot = l->hnext;
  if (l->prev) l->prev->next = l->next;
  else t->head = l->next;
  if (l->next) l->next->prev = l->prev;
  else t->tail = l->prev;
  t->count--;
  t->bytes -= (int64_t)l->bytes;
  free(l->ack_id);
  free(l);
  return true;
}

void beam_pubsub_leases_free(beam_pubsub_leases *t) {
  for (beam_pubsub_lease *l = t->head, *next; l; l = next) {
    next = l->next;
    free(l->ack_id);
    free(l);
  }
  free(t->buckets);
  memset(t, 0, sizeof *t);
}

int64_t beam_pubsub_leases_oldest_publish_us(const beam_pubsub_leases *t) {
  int64_t oldest = 0;
  for (const beam_pubsub_lease *l = t->head; l; l = l->next)
    if (!oldest || l->publish_us < oldest) oldest = l->publish_us;
  return oldest;
}
