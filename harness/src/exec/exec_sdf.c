/* The steps of a splittable ParDo before its process step (exec_sdf.h has the shapes):
 * pair_with_restriction, split_and_size_restrictions and truncate_sized_restrictions. Each
 * is a ParDo node whose DoFn is set up as usual, but only its restriction callbacks run:
 * these steps call no start_bundle/finish_bundle (they may be fused with the process step,
 * whose bundle the DoFn sees once). */
#include <string.h>

#include "beam/urns.h"
#include "exec_pardo.h"
#include "exec_sdf.h"

/* Windows stay undivided through the steps: every step emits with its input's windows,
 * timestamp and pane, as the Go harness does. */
static beam_status emit_like(beam_exec_node *n, const beam_windowed_value *in, beam_value *v, beam_error *err) {
  beam_windowed_value out = *in;
  out.value = v;
  return beam_exec_emit(&n->outputs[0], &out, err);
}

static bool is_kv(const beam_value *v) { return v && v->kind == BEAM_VALUE_KV && v->u.kv.key && v->u.kv.value; }

bool beam_sdf_read_restriction(const beam_value *v, beam_offset_range *out) {
  if (!is_kv(v)) return false;
  if (is_kv(v->u.kv.key)) v = v->u.kv.key; /* KV(restriction, state) */
  const beam_value *start = v->u.kv.key, *end = v->u.kv.value;
  if (start->kind != BEAM_VALUE_INT64 || end->kind != BEAM_VALUE_INT64) return false;
  *out = (beam_offset_range){start->u.i64, end->u.i64};
  return true;
}

static beam_status bad_shape(beam_exec_node *n, const char *what, beam_error *err) {
  return beam_error_set(err, BEAM_ERR_MALFORMED, "%s: input is not %s", n->transform_id, what);
}

static double size_of(pardo_node *pn, const beam_windowed_value *elem, beam_offset_range r) {
  if (pn->splittable->restriction_size) return pn->splittable->restriction_size(pn->state, elem, r);
  return r.end > r.start ? (double)(r.end - r.start) : 0.0;
}

/* --- pair_with_restriction ---------------------------------------------------------------- */

static beam_status pair_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  pardo_node *pn = n->impl;
  beam_offset_range r = {0, 0};
  beam_status s = pn->splittable->initial_restriction(pn->state, wv, &r, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "%s: initial restriction: ", n->transform_id);
  beam_value start = beam_value_int64(r.start), end = beam_value_int64(r.end), state = beam_value_bool(false);
  beam_value rest = {.kind = BEAM_VALUE_KV, .u.kv = {&start, &end}};
  beam_value rest_state = {.kind = BEAM_VALUE_KV, .u.kv = {&rest, &state}};
  beam_value pair = {.kind = BEAM_VALUE_KV, .u.kv = {wv->value, &rest_state}};
  return emit_like(n, wv, &pair, err);
}

/* --- split_and_size_restrictions ---------------------------------------------------------- */

struct beam_restriction_out {
  beam_exec_node *node;
  const beam_windowed_value *in; /* KV(element, KV(restriction, state)) */
  beam_windowed_value elem;      /* the element alone */
  beam_value *state;             /* the watermark estimator state, passed on */
  beam_offset_range whole;
};

beam_status beam_restriction_output(beam_restriction_out *out, beam_offset_range part, beam_error *err) {
  if (part.start < out->whole.start || part.end > out->whole.end || part.start > part.end)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: split part [%lld, %lld) is not inside [%lld, %lld)",
                          out->node->transform_id, (long long)part.start, (long long)part.end,
                          (long long)out->whole.start, (long long)out->whole.end);
  pardo_node *pn = out->node->impl;
  double sz = size_of(pn, &out->elem, part);
  if (!(sz >= 0)) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: restriction size %g is negative", out->node->transform_id, sz);
  beam_value start = beam_value_int64(part.start), end = beam_value_int64(part.end), size = beam_value_double(sz);
  beam_value rest = {.kind = BEAM_VALUE_KV, .u.kv = {&start, &end}};
  beam_value rest_state = {.kind = BEAM_VALUE_KV, .u.kv = {&rest, out->state}};
  beam_value pair = {.kind = BEAM_VALUE_KV, .u.kv = {out->elem.value, &rest_state}};
  beam_value sized = {.kind = BEAM_VALUE_KV, .u.kv = {&pair, &size}};
  return emit_like(out->node, out->in, &sized, err);
}

static beam_status split_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  pardo_node *pn = n->impl;
  const beam_value *v = wv->value;
  beam_restriction_out out = {.node = n, .in = wv, .elem = *wv};
  if (!is_kv(v) || !is_kv(v->u.kv.value) || !beam_sdf_read_restriction(v->u.kv.value, &out.whole))
    return bad_shape(n, "KV(element, KV(KV(start, end), state))", err);
  out.elem.value = v->u.kv.key;
  out.state = v->u.kv.value->u.kv.value;
  if (!pn->splittable->split_restriction) return beam_restriction_output(&out, out.whole, err);
  beam_status s = pn->splittable->split_restriction(pn->state, &out.elem, out.whole, &out, err);
  return s == BEAM_OK ? s : beam_error_prefix(err, "%s: split restriction: ", n->transform_id);
}

/* --- truncate_sized_restrictions: a bounded offset range is kept whole (Beam's default) -- */

static beam_status truncate_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  return beam_exec_emit(&n->outputs[0], wv, err);
}

/* --- factories ---------------------------------------------------------------------------- */

static const beam_exec_ops pair_ops = {.kind = "sdf_pair", .process = pair_process, .teardown = beam_pardo_node_teardown};
static const beam_exec_ops split_ops = {.kind = "sdf_split", .process = split_process, .teardown = beam_pardo_node_teardown};
static const beam_exec_ops truncate_ops = {.kind = "sdf_truncate", .process = truncate_process,
                                           .teardown = beam_pardo_node_teardown};

static beam_status helper_create(beam_exec_node *node, const PIPE(PTransform) *t, const beam_exec_ops *ops,
                                 beam_error *err) {
  if (node->n_outputs != 1) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s has %zu outputs, not 1", t->spec->urn, node->n_outputs);
  beam_status s = beam_pardo_node_new(node, t, true, err);
  if (s != BEAM_OK) return s;
  pardo_node *pn = node->impl;
  node->ops = ops;
  if (!pn->splittable)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "DoFn %s is not registered as splittable (beam_dofn_register_splittable)", pn->def->name);
  return BEAM_OK;
}

static beam_status pair_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t, beam_error *err) {
  (void)g;
  return helper_create(node, t, &pair_ops, err);
}
static beam_status split_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t, beam_error *err) {
  (void)g;
  return helper_create(node, t, &split_ops, err);
}
static beam_status truncate_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                   beam_error *err) {
  (void)g;
  return helper_create(node, t, &truncate_ops, err);
}

const beam_exec_node_factory beam_exec_sdf_pair_factory = {.urn = BEAM_URN_SDF_PAIR_WITH_RESTRICTION, .create = pair_create};
const beam_exec_node_factory beam_exec_sdf_split_factory = {.urn = BEAM_URN_SDF_SPLIT_AND_SIZE, .create = split_create};
const beam_exec_node_factory beam_exec_sdf_truncate_factory = {.urn = BEAM_URN_SDF_TRUNCATE, .create = truncate_create};
