#include "beam/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct beam_arena_block {
  beam_arena_block *next;
  size_t cap;
  /* Keeps data 16-byte aligned on every ABI we build for. */
  _Alignas(16) unsigned char data[];
};

enum { BEAM_ARENA_DEFAULT_BLOCK = 64 * 1024 };

static beam_arena_block *arena_new_block(beam_arena *a, size_t need) {
  size_t cap = a->block_size ? a->block_size : BEAM_ARENA_DEFAULT_BLOCK;
  if (need > cap) cap = need;
  if (cap > SIZE_MAX - sizeof(beam_arena_block)) return NULL;
  beam_arena_block *b = malloc(sizeof *b + cap);
  if (!b) return NULL;
  b->cap = cap;
  b->next = a->head;
  a->head = b;
  a->bytes_allocated += cap;
  return b;
}

void *beam_arena_alloc_slow(beam_arena *a, size_t size) {
  if (size == 0) size = 1;
  if (size > SIZE_MAX - 15) return NULL;
  size = (size + 15) & ~(size_t)15;
  if (size > a->left) { /* what head has left is given up, as a bump allocator does */
    beam_arena_block *b = arena_new_block(a, size);
    if (!b) return NULL;
    a->cur = b->data;
    a->left = b->cap;
  }
  void *p = a->cur;
  a->cur += size;
  a->left -= size;
  return p;
}

void *beam_arena_calloc(beam_arena *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = beam_arena_alloc(a, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

char *beam_arena_strndup(beam_arena *a, const char *s, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char *p = beam_arena_alloc(a, len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *beam_arena_strdup(beam_arena *a, const char *s) {
  return beam_arena_strndup(a, s, strlen(s));
}

void beam_arena_reset(beam_arena *a) {
  /* Keep the largest-so-far oldest block: after a few elements the arena stops allocating. */
  beam_arena_block *b = a->head;
  if (!b) return;
  beam_arena_block *keep = b;
  for (beam_arena_block *it = b->next; it; it = it->next)
    if (it->cap > keep->cap) keep = it;
  while (b) {
    beam_arena_block *next = b->next;
    if (b != keep) {
      a->bytes_allocated -= b->cap;
      free(b);
    }
    b = next;
  }
  keep->next = NULL;
  a->head = keep;
  a->cur = keep->data;
  a->left = keep->cap;
}

void beam_arena_free(beam_arena *a) {
  beam_arena_block *b = a->head;
  while (b) {
    beam_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->bytes_allocated = 0;
  a->cur = NULL;
  a->left = 0;
}
