/* CombineFn: associative, commutative aggregation (sum, count, min, ...) registered by name.
 *
 * Accumulators are beam_values so they can be encoded with the accumulator coder and cross
 * a shuffle when a runner lifts the combine (precombine -> GBK -> merge -> extract). */
#ifndef BEAM_COMBINEFN_H
#define BEAM_COMBINEFN_H

#include <jansson.h>

#include "beam/arena.h"
#include "beam/status.h"
#include "beam/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_combinefn_def {
  const char *name;
  size_t state_size; /* per-instance state (config parsed in setup) */
  beam_status (*setup)(void *state, const json_t *config, beam_error *err);
  /* Writes a fresh accumulator to *acc (memory from a). */
  beam_status (*create)(void *state, beam_arena *a, beam_value *acc, beam_error *err);
  /* Folds one input into *acc. */
  beam_status (*add)(void *state, beam_arena *a, beam_value *acc, const beam_value *input, beam_error *err);
  /* Folds `other` into *acc. */
  beam_status (*merge)(void *state, beam_arena *a, beam_value *acc, const beam_value *other,
                       beam_error *err);
  /* Produces the output from an accumulator. */
  beam_status (*extract)(void *state, beam_arena *a, const beam_value *acc, beam_value *out,
                         beam_error *err);
  void (*teardown)(void *state);
  /* Optional: add, where *acc may point into input instead of copying it; the caller keeps
   * input alive as long as *acc. A precombine that sends an input straight on as its own
   * accumulator uses it, so that no element is copied only to be encoded and dropped. */
  beam_status (*add_borrowed)(void *state, beam_arena *a, beam_value *acc, const beam_value *input,
                              beam_error *err);
} beam_combinefn_def;

/* Registers (or replaces) a CombineFn under def->name, at program start; def must outlive
 * the program. BEAM_ERR_INVALID_ARG when a callback is missing. */
beam_status beam_combinefn_register(const beam_combinefn_def *def);
/* The registered or built-in CombineFn called name, or NULL. */
const beam_combinefn_def *beam_combinefn_lookup(const char *name);

#define BEAM_REGISTER_COMBINEFN(def)                                            \
  __attribute__((constructor)) static void beam_register_combinefn_##def(void) { \
    beam_combinefn_register(&(def));                                           \
  }

/* Built-in: "sum_int64" (varint accumulator), "count" (counts inputs). */

#ifdef __cplusplus
}
#endif
#endif
