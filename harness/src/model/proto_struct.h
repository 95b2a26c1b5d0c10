/* google.protobuf.Struct <-> JSON, for pipeline options: the job service receives them as a
 * Struct and hands the same Struct to workers in ProvisionInfo. Beam names each option
 * "beam:option:NAME:v1"; these helpers add and strip that wrapping. */
#ifndef BEAM_PROTO_STRUCT_H
#define BEAM_PROTO_STRUCT_H

#include <jansson.h>

#include "beam/arena.h"
#include "google/protobuf/struct.pb-c.h"

/* Builds a Struct (memory from a) from a JSON object; keys become beam:option:KEY:v1. */
Google__Protobuf__Struct *beam_options_to_struct(const json_t *options, beam_arena *a);
/* Converts a Struct of pipeline options back to a JSON object with plain option names. */
json_t *beam_options_from_struct(const Google__Protobuf__Struct *s);

#endif
