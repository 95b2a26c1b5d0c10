/* The SDK side of Beam EXTERNAL environments: a BeamFnExternalWorkerPool gRPC service.
 *
 * A runner given an environment `beam:env:external:v1` with ExternalPayload.endpoint.url =
 * this pool's address calls StartWorker for every worker it wants; the pool starts one child
 * process per call, worker_argv followed by the boot flags of the request:
 *
 *   worker_argv... --id=<worker_id> --provision_endpoint=<url> [--control_endpoint=<url>]
 *                  [--logging_endpoint=<url>] [--artifact_endpoint=<url>]
 *
 * (only the endpoints the request carries). StopWorker sends the worker SIGTERM and, when it
 * has not exited after a grace period, SIGKILL. Exited workers are reaped as they end.
 * A worker that cannot be started is answered in StartWorkerResponse.error, not as a gRPC
 * error, so the runner reports the reason. */
#ifndef BEAM_WORKER_POOL_H
#define BEAM_WORKER_POOL_H

#include <stdbool.h>

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_worker_pool beam_worker_pool;

typedef struct beam_worker_pool_options {
  bool quiet;        /* no line on stderr per worker started / ended */
  int stop_grace_ms; /* SIGTERM to SIGKILL on StopWorker and at the end; <= 0 means 5000 */
} beam_worker_pool_options;

/* Starts serving on address ("127.0.0.1:0" picks a free port; "[::]:50000" for runners on
 * other hosts). worker_argv is a NULL-terminated command, e.g. {"/path/to/pipeline",
 * "--worker", NULL}; argv[0] without a '/' is looked up in PATH. It is copied. */
beam_status beam_worker_pool_start(const char *address, const char *const *worker_argv, beam_worker_pool **out,
                                   beam_error *err);
/* Same, with options (NULL means the defaults above). */
beam_status beam_worker_pool_start_opts(const char *address, const char *const *worker_argv,
                                        const beam_worker_pool_options *opts, beam_worker_pool **out,
                                        beam_error *err);

/* The port the pool listens on. */
int beam_worker_pool_port(const beam_worker_pool *pool);

/* Number of workers started and not yet reaped. */
int beam_worker_pool_running(beam_worker_pool *pool);

/* Blocks while the pool serves, until beam_worker_pool_request_stop() is called or the
 * process receives SIGTERM or SIGINT (handled only during the wait; the previous handlers
 * are back when it returns). Returns the signal that ended the wait, or 0. */
int beam_worker_pool_wait(beam_worker_pool *pool);

/* Makes beam_worker_pool_wait() return. Thread-safe (not async-signal-safe). */
void beam_worker_pool_request_stop(beam_worker_pool *pool);

/* Stops serving, then ends every worker still running (SIGTERM, SIGKILL after the grace
 * period) and reaps it, and frees the pool. NULL is a no-op. Not while another thread is in
 * beam_worker_pool_wait(): request the stop, let the wait return, then free. */
void beam_worker_pool_stop_and_free(beam_worker_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
