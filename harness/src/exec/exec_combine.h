/* Lifted combiners: the CombineFn a runner's combine_per_key phases name. */
#ifndef BEAM_EXEC_COMBINE_H
#define BEAM_EXEC_COMBINE_H

#include "beam/combinefn.h"
#include "exec.h"

typedef struct beam_exec_combinefn {
  const beam_combinefn_def *def;
  void *state;
} beam_exec_combinefn;

/* Looks up and sets up the CombineFn of a transform whose payload is a CombinePayload naming
 * a beam:combinefn:c:v1 function. */
beam_status beam_exec_combinefn_load(const PIPE(PTransform) *t, beam_exec_combinefn *fn, beam_error *err);
void beam_exec_combinefn_unload(beam_exec_combinefn *fn);

#endif
