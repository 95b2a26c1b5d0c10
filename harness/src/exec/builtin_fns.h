/* Functions libbeam ships: found by name without registration, because a static library's
 * constructor-registered members are dropped when nothing references them. */
#ifndef BEAM_BUILTIN_FNS_H
#define BEAM_BUILTIN_FNS_H

#include "beam/combinefn.h"
#include "beam/dofn.h"

const beam_dofn_def *beam_builtin_dofn(const char *name);
const beam_combinefn_def *beam_builtin_combinefn(const char *name);

/* A lookup the registry tries after the registered and built-in DoFns: how a layer above exec
 * (the testing kit) makes its DoFns found by name without exec knowing it. Idempotent;
 * installed before any bundle runs, like every registration. */
typedef const beam_dofn_def *(*beam_dofn_lookup_fn)(const char *name);
void beam_dofn_set_extra_lookup(beam_dofn_lookup_fn lookup);

#endif
