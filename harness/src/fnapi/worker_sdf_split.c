/* A split of a bundle whose data source feeds a splittable ParDo (exec/exec_sdf_split.c
 * decides it): the element being processed comes back as a primary root and a residual
 * root, BundleApplications of the process transform's main input holding the element
 * encoded as the data source reads it (as the Go harness answers, and as Prism re-queues
 * residuals); the elements after it come back by the channel split. */
#include <string.h>

#include "exec_sdf.h"
#include "worker_internal.h"

static FN(BundleApplication) *application(const beam_sdf_split_result *r, const beam_buf *element, beam_arena *a) {
  FN(BundleApplication) *app = beam_arena_alloc(a, sizeof *app);
  uint8_t *bytes = beam_arena_alloc(a, element->len + 1);
  if (!app || !bytes) return NULL;
  *app = (FN(BundleApplication))FN_INIT(BUNDLE_APPLICATION);
  memcpy(bytes, element->data, element->len);
  app->transform_id = beam_arena_strdup(a, r->transform_id);
  app->input_id = beam_arena_strdup(a, r->input_id);
  app->element = (ProtobufCBinaryData){element->len, bytes};
  app->is_bounded = PIPE_ENUM(IS_BOUNDED__ENUM__BOUNDED);
  return app->transform_id && app->input_id ? app : NULL;
}

/* Adds the roots of r to out (whose root arrays have room). */
static beam_status add_roots(const beam_sdf_split_result *r, FN(ProcessBundleSplitResponse) *out, beam_arena *a,
                             beam_error *err) {
  FN(BundleApplication) *primary = application(r, &r->primary, a);
  FN(BundleApplication) *residual_app = application(r, &r->residual, a);
  FN(DelayedBundleApplication) *residual = beam_arena_alloc(a, sizeof *residual);
  if (!primary || !residual_app || !residual) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  *residual = (FN(DelayedBundleApplication))FN_INIT(DELAYED_BUNDLE_APPLICATION);
  residual->application = residual_app; /* no delay: the runner may process it at once */
  out->primary_roots[out->n_primary_roots++] = primary;
  out->residual_roots[out->n_residual_roots++] = residual;
  return BEAM_OK;
}

beam_status beam_worker_sdf_split(beam_exec_node *src, const FN(ProcessBundleSplitRequest__DesiredSplit) *want,
                                  FN(ProcessBundleSplitResponse) *out, FN(ProcessBundleSplitResponse__ChannelSplit) *cs,
                                  bool *split, beam_arena *a, beam_error *err) {
  beam_sdf_split_result r = {0};
  beam_status s = beam_exec_sdf_split(src, want->fraction_of_remainder, want->estimated_input_elements, &r, split, err);
  if (s == BEAM_OK && *split) {
    cs->last_primary_element = r.last_primary;
    cs->first_residual_element = r.first_residual;
    if (r.transform_id) s = add_roots(&r, out, a, err);
  }
  beam_sdf_split_result_free(&r);
  return s;
}
