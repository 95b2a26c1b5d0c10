/* Splittable DoFns in the execution graph: the nodes of Beam's expansion of a splittable
 * ParDo (SplittableParDoComponents) and the split of the element being processed.
 *
 * Element shapes (Beam's, as the Go and Java SDK harnesses and Prism use them):
 *   pair_with_restriction:  element -> KV(element, KV(restriction, watermark_estimator_state))
 *   split_and_size:         that -> KV(KV(element, KV(restriction', state)), size) per part
 *   truncate (drain):       sized -> sized (an offset range is bounded: kept whole)
 *   process:                sized -> the DoFn's outputs
 * restriction = KV(varint start, varint end); the watermark estimator state is a bool
 * (beam:coder:bool:v1), always false: beam-c's splittable DoFns are bounded and estimate no
 * watermark, and false is the state the Go SDK gives a DoFn without an estimator. So the
 * ParDo's restriction_coder_id names KV<KV<varint, varint>, bool> (Java and Go register the
 * restriction coder together with the estimator state's), and size is a double. */
#ifndef BEAM_EXEC_SDF_H
#define BEAM_EXEC_SDF_H

#include "beam/buf.h"
#include "beam/dofn.h"
#include "exec.h"

/* Reads the restriction out of KV(restriction, state) (or a bare restriction KV). */
bool beam_sdf_read_restriction(const beam_value *restriction_and_state, beam_offset_range *out);

/* The answer to a split of a bundle whose data source feeds a splittable ParDo's process
 * step (fnapi turns it into a ProcessBundleSplitResponse). */
typedef struct beam_sdf_split_result {
  /* Channel split of the data source: elements after last_primary are the runner's again,
   * from first_residual on (first_residual = last_primary + 2 when the element between was
   * split into the roots below). */
  int64_t last_primary;
  int64_t first_residual;
  /* The element being processed, split: both encoded with the data source's coder (a
   * windowed KV(KV(element, KV(restriction, state)), size)), as BundleApplications of
   * transform_id's input input_id. Empty when no element was split. */
  const char *transform_id;
  const char *input_id;
  beam_buf primary;
  beam_buf residual;
} beam_sdf_split_result;

/* The process step source feeds directly (a runner makes it the root of its stage), or
 * NULL when source does not feed a splittable ParDo. */
beam_exec_node *beam_exec_sdf_process_fed_by(beam_exec_node *source);
/* Splits the bundle read by source at fraction_of_remainder of its remaining work: inside
 * the element being processed when the split point falls there (its restriction is split),
 * else between elements. estimated_total: the runner's count of the bundle's elements.
 * *split false: nothing to split (an error only when encoding failed). */
beam_status beam_exec_sdf_split(beam_exec_node *source, double fraction_of_remainder, int64_t estimated_total,
                                beam_sdf_split_result *out, bool *split, beam_error *err);
void beam_sdf_split_result_free(beam_sdf_split_result *r);

#endif
