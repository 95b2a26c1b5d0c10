/* The registry of unbounded sources (beam/stream_source.h): a few URNs, looked up once per run. */
#include <pthread.h>
#include <string.h>

#include "beam/stream_source.h"

enum { MAX_STREAM_SOURCES = 8 };

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static const beam_stream_source_ops *registry[MAX_STREAM_SOURCES];
static size_t n_registered;

beam_status beam_stream_source_register(const beam_stream_source_ops *ops, beam_error *err) {
  if (!ops || !ops->urn || !ops->open || !ops->pull || !ops->ack || !ops->nack || !ops->close)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "a stream source needs a urn and every operation");
  beam_status s = BEAM_OK;
  pthread_mutex_lock(&registry_mu);
  size_t i = 0;
  while (i < n_registered && strcmp(registry[i]->urn, ops->urn) != 0) i++;
  if (i < n_registered) registry[i] = ops;
  else if (n_registered < MAX_STREAM_SOURCES) registry[n_registered++] = ops;
  else s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "too many stream sources (at most %d)", MAX_STREAM_SOURCES);
  pthread_mutex_unlock(&registry_mu);
  return s;
}

const beam_stream_source_ops *beam_stream_source_find(const char *urn) {
  const beam_stream_source_ops *found = NULL;
  pthread_mutex_lock(&registry_mu);
  for (size_t i = 0; urn && i < n_registered && !found; i++)
    if (strcmp(registry[i]->urn, urn) == 0) found = registry[i];
  pthread_mutex_unlock(&registry_mu);
  return found;
}
