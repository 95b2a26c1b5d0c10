/* Ctrl-C while a portable job runs cancels the job (JobService/Cancel) instead of leaving it
 * running on the runner with nobody watching. */
#ifndef BEAM_PORTABLE_CANCEL_H
#define BEAM_PORTABLE_CANCEL_H

#include <stdbool.h>

#include "beam/grpc_client.h"

typedef struct beam_cancel_watch beam_cancel_watch;

/* Installs a SIGINT/SIGTERM handler and a thread that asks the job service to cancel job_id
 * when one arrives. NULL if it cannot (the job then simply runs without the watch). */
beam_cancel_watch *beam_cancel_watch_start(beam_grpc_channel *ch, const char *job_id, bool quiet);
/* Stops the thread and restores the previous handlers. NULL is fine. */
void beam_cancel_watch_stop(beam_cancel_watch *w);

#endif
