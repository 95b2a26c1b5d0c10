/* The local runner's worker threads: N threads pull work until none is left or one fails. */
#ifndef BEAM_LOCAL_POOL_H
#define BEAM_LOCAL_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/status.h"

/* Runs one unit of work (a bundle) on worker `worker` (0 .. n-1); sets *more = false when
 * there is none left. Must not block on the other workers. */
typedef beam_status (*beam_pool_work)(void *ctx, size_t worker, bool *more, beam_error *err);

/* Calls work on n_workers threads (inline when 1) until every worker has no more. The first
 * failure is the result (its message in err); the other workers stop after their current
 * unit. */
beam_status beam_pool_run(size_t n_workers, beam_pool_work work, void *ctx, beam_error *err);

#endif
