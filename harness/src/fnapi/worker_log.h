/* The worker's log: entries batched to the runner's BeamFnLogging stream by a sender thread
 * (never blocking a bundle on the network), warnings and errors echoed to stderr. */
#ifndef BEAM_WORKER_LOG_H
#define BEAM_WORKER_LOG_H

#include "beam/log.h"
#include "beam/status.h"

typedef struct beam_worker_log beam_worker_log;

/* endpoint NULL or empty: stderr only. */
beam_status beam_worker_log_open(const char *endpoint, const char *worker_id, beam_worker_log **out,
                                 beam_error *err);
/* Sends what is queued and closes the stream. */
void beam_worker_log_close(beam_worker_log *l);
void beam_worker_log_write(beam_worker_log *l, beam_log_level level, const char *instruction_id,
                           const char *transform_id, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The instruction id the calling thread works for, attached to beam_log() entries. */
void beam_worker_log_set_instruction(const char *instruction_id);
/* A beam_log_sink (self: the worker log): beam_log() inside the worker, named by the calling
 * thread's instruction. */
void beam_worker_log_sink(void *self, beam_log_level level, const char *message);

#endif
