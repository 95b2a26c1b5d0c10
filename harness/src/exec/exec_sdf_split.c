/* Splitting a bundle whose data source feeds a splittable ParDo's process step, as the Go
 * harness does (exec/datasource.go Split): the split point is fraction_of_remainder of the
 * bundle's remaining work, counting the element being processed as its unfinished fraction.
 * When the point falls inside that element its restriction is split (primary and residual
 * roots) and the elements after it go back to the runner by a channel split after it;
 * otherwise the split is a channel split between elements. */
#include <math.h>
#include <string.h>

#include "exec_data.h"
#include "exec_sdf.h"
#include "exec_sdf_int.h"

beam_exec_node *beam_exec_sdf_process_fed_by(beam_exec_node *source) {
  if (!beam_exec_is_data_source(source) || source->n_outputs != 1 || source->outputs[0].n_consumers != 1) return NULL;
  beam_exec_node *c = source->outputs[0].consumers[0];
  if (strcmp(c->ops->kind, "pardo") != 0) return NULL;
  pardo_node *pn = c->impl;
  return pn->sdf ? c : NULL;
}

typedef struct split_job {
  beam_exec_node *source;
  pardo_node *pn;
  double fraction;
  beam_sdf_split_result *out;
  bool roots;         /* the current element was split */
  beam_status status; /* of encoding the roots */
  beam_error *err;
} split_job;

/* Encodes the current element with restriction r (its size recomputed) as the source does. */
static beam_status encode_part(split_job *job, beam_offset_range r, beam_buf *out) {
  beam_sdf_process *sdf = job->pn->sdf;
  const beam_value *sized = sdf->current->value;
  const beam_value *pair = sized->u.kv.key; /* KV(element, KV(restriction, state)) */
  double sz = job->pn->splittable->restriction_size
                  ? job->pn->splittable->restriction_size(job->pn->state, &sdf->current_elem, r)
                  : (double)(r.end - r.start);
  beam_value start = beam_value_int64(r.start), end = beam_value_int64(r.end), size = beam_value_double(sz);
  beam_value rest = {.kind = BEAM_VALUE_KV, .u.kv = {&start, &end}};
  beam_value rest_state = {.kind = BEAM_VALUE_KV, .u.kv = {&rest, pair->u.kv.value->u.kv.value}};
  beam_value new_pair = {.kind = BEAM_VALUE_KV, .u.kv = {pair->u.kv.key, &rest_state}};
  beam_value new_sized = {.kind = BEAM_VALUE_KV, .u.kv = {&new_pair, &size}};
  beam_value wv = {.kind = BEAM_VALUE_WINDOWED, .u.windowed = *sdf->current};
  wv.u.windowed.value = &new_sized;
  return beam_coder_encode(beam_exec_data_source_coder(job->source), &wv, true, out, job->err);
}

/* Splits the current element's restriction at fraction of its remainder; true when split. */
static bool split_current(split_job *job, double fraction) {
  beam_sdf_process *sdf = job->pn->sdf;
  beam_offset_range primary, residual;
  if (!beam_offset_tracker_try_split(&sdf->tracker, fraction, &primary, &residual)) return false;
  job->status = encode_part(job, primary, &job->out->primary);
  if (job->status == BEAM_OK) job->status = encode_part(job, residual, &job->out->residual);
  job->roots = true;
  if (job->status != BEAM_OK) sdf->split_lost = true;
  return true;
}

/* Runs under the source's lock (exec_data.c), then this step's lock. */
static int64_t decide(void *self, int64_t last_claimed, int64_t end) {
  split_job *job = self;
  beam_sdf_process *sdf = job->pn->sdf;
  pthread_mutex_lock(&sdf->lock);
  bool active = last_claimed >= 0 && sdf->current != NULL;
  double progress = 1.0; /* of the current element: done, unless it is being processed */
  if (active) {
    double done, remaining;
    beam_offset_tracker_progress(&sdf->tracker, &done, &remaining);
    progress = done + remaining > 0 ? done / (done + remaining) : 1.0;
  }
  double from = (double)(last_claimed < 0 ? 0 : last_claimed) + (last_claimed < 0 ? 0.0 : progress);
  double point = from + job->fraction * ((double)end - from);
  int64_t at = -1;
  /* The element is split only where the source will accept the cut (at <= end), else the
   * tracker would give away a residual the runner never hears of. */
  if (active && last_claimed + 1 <= end && point < (double)last_claimed + 1.0 && progress < 1.0) {
    double within = (point - (double)last_claimed - progress) / (1.0 - progress);
    if (split_current(job, within < 0 ? 0 : within)) at = last_claimed + 1;
  }
  if (at < 0) {
    /* Between elements: never before the next unread one nor at 0 (the primary would be
     * empty; Go's safeStart), and only if one is left. */
    at = (int64_t)llround(point);
    if (at < last_claimed + 1) at = last_claimed + 1;
    if (at < 1) at = 1;
    if (at >= end) at = -1;
  }
  pthread_mutex_unlock(&sdf->lock);
  return at;
}

beam_status beam_exec_sdf_split(beam_exec_node *source, double fraction_of_remainder, int64_t estimated_total,
                                beam_sdf_split_result *out, bool *split, beam_error *err) {
  *split = false;
  beam_exec_node *process = beam_exec_sdf_process_fed_by(source);
  if (!process) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s does not feed a splittable ParDo", source->transform_id);
  if (!(fraction_of_remainder >= 0)) fraction_of_remainder = 0;
  if (fraction_of_remainder > 1) fraction_of_remainder = 1;
  split_job job = {.source = source, .pn = process->impl, .fraction = fraction_of_remainder, .out = out,
                   .status = BEAM_OK, .err = err};
  int64_t at = 0;
  if (!beam_exec_data_source_split_with(source, estimated_total, decide, &job, &at)) return BEAM_OK;
  if (job.status != BEAM_OK) return job.status; /* the split happened: the bundle must fail */
  out->first_residual = at;
  out->last_primary = job.roots ? at - 2 : at - 1;
  out->transform_id = job.roots ? process->transform_id : NULL;
  out->input_id = job.roots ? job.pn->sdf->input_id : NULL;
  *split = true;
  return BEAM_OK;
}

void beam_sdf_split_result_free(beam_sdf_split_result *r) {
  beam_buf_free(&r->primary);
  beam_buf_free(&r->residual);
}
