/* The Fn API worker: what a Beam runner starts to run this program's DoFns.
 *
 * A pipeline program is both the launcher and the worker. Its main() asks
 * beam_worker_requested() first; when true it registers its DoFns as usual and hands over to
 * beam_worker_main(), which speaks the Fn API to the runner until the runner is done. */
#ifndef BEAM_WORKER_H
#define BEAM_WORKER_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Environment variable a PROCESS environment sets so the program starts as a worker (Prism
 * and Flink start the command with only --id and --provision_endpoint). */
#define BEAM_WORKER_ENV "BEAM_C_WORKER"

/* True when argv has --worker or the environment has BEAM_C_WORKER=1. */
bool beam_worker_requested(int argc, char **argv);

/* Runs the worker with the boot flags (--id, --provision_endpoint, --control_endpoint,
 * --logging_endpoint, --artifact_endpoint, --semi_persist_dir; --worker is accepted and
 * ignored). Returns the process exit status: 0 when the runner ended the session, 1 on a
 * failure (logged), 2 on bad flags. */
int beam_worker_main(int argc, char **argv);

/* True when argv has --worker_pool[=ADDRESS]. */
bool beam_worker_pool_requested(int argc, char **argv);
/* Serves BeamFnExternalWorkerPool on ADDRESS (default 127.0.0.1:0, a free port) until SIGTERM
 * or SIGINT; prints "beam-c worker pool: listening on port N" on stdout. Each StartWorker
 * runs this same program with --worker and the request's endpoints. Returns the exit status. */
int beam_worker_pool_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
