/* Location checks ahead of a run for the sinks whose rules live outside one sink file (see
 * beam_sink_check_uri): local directories (jsonl:, file:), gcs: and pubsub: names. */
#include <stdlib.h>
#include <string.h>

#include "beam/gcs.h"
#include "local_dir.h"
#include "pubsub_internal.h"
#include "sink_int.h"

beam_status beam_sink_dir_check(const char *dir, beam_error *err) {
  char bad[4096];
  int e = beam_local_dir_probe(dir, bad, sizeof bad);
  if (!e) return BEAM_OK;
  if (strcmp(bad, dir) == 0) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: %s", dir, strerror(e));
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "cannot create directory %s: %s: %s", dir, bad, strerror(e));
}

beam_status beam_sink_gcs_check(const char *location, beam_error *err) {
  char *bucket = NULL, *object = NULL;
  beam_status st = beam_gcs_parse_uri(location, &bucket, &object, err);
  free(bucket);
  free(object);
  return st;
}

beam_status beam_sink_pubsub_check(const char *location, beam_error *err) {
  beam_pubsub_target t;
  beam_status st = beam_pubsub_target_parse(location, &t, err);
  if (st == BEAM_OK) beam_pubsub_target_free(&t);
  return st;
}
