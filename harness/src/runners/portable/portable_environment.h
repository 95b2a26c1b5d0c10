/* The environment a submitted pipeline asks the runner for (Beam's --environment_type and
 * --environment_config): PROCESS, EXTERNAL or DOCKER. */
#ifndef BEAM_PORTABLE_ENVIRONMENT_H
#define BEAM_PORTABLE_ENVIRONMENT_H

#include <stdbool.h>

#include "beam/arena.h"
#include "beam/status.h"
#include "proto_names.h"

/* Sets urn and payload of every environment of pl and adds deps to its dependencies (memory
 * from a). The caller restores the originals with beam_environment_restore before freeing an
 * unpacked pl. */
typedef struct beam_environment_saved {
  PIPE(Environment) *env;
  char *urn;
  ProtobufCBinaryData payload;
  PIPE(ArtifactInformation) **dependencies;
  size_t n_dependencies;
} beam_environment_saved;

beam_status beam_environment_apply(PIPE(Pipeline) *pl, const char *type, const char *config,
                                   PIPE(ArtifactInformation) *const *deps, size_t n_deps, beam_arena *a,
                                   beam_environment_saved **saved, size_t *n_saved, beam_error *err);

/* Whether the environments get the worker binary as an artifact: DOCKER always (the image's
 * boot fetches it), PROCESS when its command is a boot program (named "boot"), any type when
 * stage_worker asks. */
bool beam_environment_stages_worker(const char *type, const char *config, bool stage_worker);
void beam_environment_restore(beam_environment_saved *saved, size_t n_saved);

#endif
