/* The local runner's expansion of splittable ParDos, the one a Beam runner does. */
#ifndef BEAM_LOCAL_SDF_EXPAND_H
#define BEAM_LOCAL_SDF_EXPAND_H

#include "beam/status.h"
#include "proto_names.h"

/* Rewrites every leaf ParDo whose payload names restriction_coder_id into Beam's
 * pair_with_restriction -> split_and_size_restrictions -> process_sized_element_and_
 * restrictions, with the coders and PCollections Prism gives them (its handlepardo.go):
 *   coders       c<T>size = double, c<T>kv_ele_rest = KV(element coder, restriction coder),
 *                c<T>kv_ele_rest_size = KV(c<T>kv_ele_rest, c<T>size)
 *   PCollections n<T>_pwr (c<T>kv_ele_rest), n<T>_splitnsized (c<T>kv_ele_rest_size), bounded
 *                and windowed as the ParDo's main input
 *   transforms   e<T>_pwr, e<T>_splitnsize (input: the main input's local name, output "i0",
 *                the ParDo's payload); the process step keeps the ParDo's id T, outputs and
 *                side inputs (Prism names it e<T>_processandsplit): counters and the user's
 *                names stay on T.
 * The two new transforms join pl's root transform ids. pl was unpacked with protobuf-c's
 * default allocator; what is added is freed with it. */
beam_status beam_local_sdf_expand(PIPE(Pipeline) *pl, beam_error *err);

#endif
