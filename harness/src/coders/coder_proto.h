/* Coders from Runner API protos (private: public headers never include generated code). */
#ifndef BEAM_CODER_PROTO_H
#define BEAM_CODER_PROTO_H

#include "beam/coder.h"
#include "proto_names.h"

/* Builds the coder `coder_id` of components->coders, recursively building its component
 * coders. Fails with BEAM_ERR_MALFORMED on a missing id or a cycle (deeper than
 * BEAM_CODER_MAX_DEPTH), and BEAM_ERR_UNSUPPORTED on an unknown URN. */
beam_status beam_coder_from_components(const PIPE(Components) *components, const char *coder_id,
                                       beam_coder **out, beam_error *err);

#endif
