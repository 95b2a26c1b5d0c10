/* Side inputs of the local runner: each side-input PCollection is materialized once, by the
 * stage that produces it (from any number of threads), and read by later stages' threads. */
#ifndef BEAM_LOCAL_SIDE_H
#define BEAM_LOCAL_SIDE_H

#include <stddef.h>

#include "exec.h"

typedef struct beam_local_side beam_local_side;

/* A store for the side-input PCollections named in ids (components outlive the store). */
beam_status beam_local_side_new(const PIPE(Components) *components, const char *const *ids, size_t n,
                                beam_local_side **out, beam_error *err);
void beam_local_side_free(beam_local_side *s);
/* The index of PCollection id in the store; -1 when it is not a side input. */
ptrdiff_t beam_local_side_find(const beam_local_side *s, const char *pcollection_id);
/* Thread-safe: adds a copy of v to item. */
beam_status beam_local_side_add(beam_local_side *s, size_t item, const beam_value *v, beam_error *err);
/* The source graphs read side inputs from: get and multimap lookup, thread-safe (a KV side
 * input's key index is built once, on the first lookup). */
beam_side_input_source beam_local_side_source(beam_local_side *s);

#endif
