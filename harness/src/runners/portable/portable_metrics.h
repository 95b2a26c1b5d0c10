/* User counters of a portable job, from the job service's metrics. */
#ifndef BEAM_PORTABLE_METRICS_H
#define BEAM_PORTABLE_METRICS_H

#include "beam/runner.h"
#include "beam/grpc_client.h"

/* Adds v to the counter (transform, name) of r, creating it at 0 first: for runners whose
 * counters come back from a service (portable job services, Dataflow). BEAM_ERR_NOMEM only. */
beam_status beam_run_result_add_counter(beam_run_result *r, const char *transform, const char *name, int64_t v);

/* Adds the job's user sum_int64 counters to result (summed per transform and name). */
beam_status beam_portable_job_counters(beam_grpc_channel *ch, const char *job_id, beam_run_result *result,
                                       beam_error *err);

#endif
