/* The local runner's combiner lifting, the one a Beam runner does: a combine_per_key folds
 * its values into accumulators before the shuffle, so a key's group after it holds one
 * accumulator per producing bundle instead of every value (a hot key stays small). */
#ifndef BEAM_LOCAL_COMBINE_LIFT_H
#define BEAM_LOCAL_COMBINE_LIFT_H

#include "beam/status.h"
#include "proto_names.h"

/* Rewrites every combine_per_key composite T whose expansion is the SDK's (a GroupByKey, then
 * a combine_grouped_values ParDo) into Beam's lifted phases:
 *   T/Precombine   combine_per_key_precombine   KV<K, V> -> KV<K, Acc>   (fused with its producer)
 *   the GroupByKey, now over the accumulators    -> KV<K, Iterable<Acc>>
 *   the ParDo, now combine_per_key_merge_accumulators -> KV<K, Acc>   (keeps its id: counters)
 *   T/Extract      combine_per_key_extract_outputs    -> the composite's output
 * each with the composite's CombinePayload; new coders T/kv_acc, T/iter_acc, T/kv_iter_acc and
 * PCollections T/precombined, T/merged. A composite that does not look like that is left as it
 * is (its expansion runs unlifted). pl was unpacked with protobuf-c's default allocator. */
beam_status beam_local_combine_lift(PIPE(Pipeline) *pl, beam_error *err);

#endif
