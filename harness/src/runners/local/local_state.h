/* The local runner's user state: bags in memory, keyed by (transform, state id, window,
 * key) encodings, living for the whole run, shared by the worker threads (one lock). The same get / append / clear semantics the
 * Fn API gives a worker, so a stateful DoFn behaves the same locally and on a runner. */
#ifndef BEAM_LOCAL_STATE_H
#define BEAM_LOCAL_STATE_H

#include "exec.h"

typedef struct beam_local_state beam_local_state;

/* Creates a store and fills *backend with its operations. */
beam_status beam_local_state_new(beam_local_state **out, beam_user_state_backend *backend, beam_error *err);
void beam_local_state_free(beam_local_state *st);

#endif
