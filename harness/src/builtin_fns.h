/* Functions libbeam ships: found by name without registration, because a static library's
 * constructor-registered members are dropped when nothing references them. */
#ifndef BEAM_BUILTIN_FNS_H
#define BEAM_BUILTIN_FNS_H

#include "beam/combinefn.h"
#include "beam/dofn.h"

const beam_dofn_def *beam_builtin_dofn(const char *name);
const beam_combinefn_def *beam_builtin_combinefn(const char *name);
/* The testing kit's DoFns (testing_fns.c). */
const beam_dofn_def *beam_test_builtin_dofn(const char *name);

#endif
