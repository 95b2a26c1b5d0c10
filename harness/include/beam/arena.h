/* Bump allocator for per-element and per-bundle data.
 *
 * Decoded values, parsed rows and their strings are allocated here and released all at
 * once with beam_arena_reset, so the hot path does not call malloc per element. */
#ifndef BEAM_ARENA_H
#define BEAM_ARENA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_arena_block beam_arena_block;

typedef struct beam_arena {
  beam_arena_block *head;   /* block being filled; older blocks chain behind it */
  size_t block_size;        /* default size of new blocks */
  size_t bytes_allocated;   /* total capacity held, for memory accounting */
  unsigned char *cur;       /* the free part of head, for the inline allocation */
  size_t left;
} beam_arena;

#define BEAM_ARENA_INIT {NULL, 0, 0, NULL, 0}

/* beam_arena_alloc when head has no room: a new block. */
void *beam_arena_alloc_slow(beam_arena *a, size_t size);

/* Returns 16-byte aligned memory, or NULL when out of memory. Inline: the decoders and the
 * ETL chain allocate a few dozen times per element. */
static inline void *beam_arena_alloc(beam_arena *a, size_t size) {
  if (size - 1 < a->left) { /* 1 <= size <= left: size + 15 cannot overflow */
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded <= a->left) {
      void *p = a->cur;
      a->cur += rounded;
      a->left -= rounded;
      return p;
    }
  }
  return beam_arena_alloc_slow(a, size);
}
void *beam_arena_calloc(beam_arena *a, size_t n, size_t size);
/* Copies len bytes and appends a NUL. */
char *beam_arena_strndup(beam_arena *a, const char *s, size_t len);
char *beam_arena_strdup(beam_arena *a, const char *s);
/* Forgets every allocation but keeps the first block for reuse. */
void beam_arena_reset(beam_arena *a);
void beam_arena_free(beam_arena *a);

#ifdef __cplusplus
}
#endif
#endif
