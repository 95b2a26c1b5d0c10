/* Logging from DoFns and the library. Locally, warnings and errors go to stderr; inside a
 * runner, every entry goes to the runner's logging service (BeamFnLogging) with the bundle's
 * instruction id, and warnings and errors also to stderr. */
#ifndef BEAM_LOG_H
#define BEAM_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

/* Values are the Fn API LogEntry severities. */
typedef enum beam_log_level {
  BEAM_LOG_DEBUG = 2,
  BEAM_LOG_INFO = 3,
  BEAM_LOG_WARN = 5,
  BEAM_LOG_ERROR = 6,
} beam_log_level;

void beam_log(beam_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where entries go; NULL restores stderr. The sink is called from any thread. */
typedef void (*beam_log_sink)(void *self, beam_log_level level, const char *message);
void beam_log_set_sink(beam_log_sink sink, void *self);

#ifdef __cplusplus
}
#endif
#endif
