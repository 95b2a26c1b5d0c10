/* The ends of a bundle's data channel: beam:runner:source:v1 and beam:runner:sink:v1.
 *
 * A source decodes the runner's bytes (elements may span chunks) and emits each element;
 * it counts elements so progress can report the read index and a split can stop it at an
 * element boundary. A sink encodes what reaches it and sends it in ~1 MB batches, closing
 * its stream with is_last when the bundle finishes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "exec_data.h"
#include "exec_nodes.h"
#include "fn_names.h"

enum { SINK_FLUSH_BYTES = 1 << 20 };

typedef struct data_source {
  beam_coder *coder;
  beam_buf pending;        /* the start of an element whose end has not arrived yet */
  beam_arena arena;        /* one element at a time */
  pthread_mutex_t lock;    /* next_index and stop_at: the split request races the bundle */
  int64_t next_index;      /* elements claimed for processing */
  int64_t stop_at;         /* INT64_MAX unless split */
  bool done;
} data_source;

typedef struct data_sink {
  beam_coder *coder;
  beam_buf out;
} data_sink;

static beam_status port_coder(beam_exec_node *n, const PIPE(PTransform) *t, beam_coder **out, beam_error *err) {
  FN(RemoteGrpcPort) *port =
      t->spec ? FN_FN(remote_grpc_port__unpack)(NULL, t->spec->payload.len, t->spec->payload.data) : NULL;
  if (!port) return beam_error_set(err, BEAM_ERR_MALFORMED, "data port payload is not a RemoteGrpcPort");
  beam_status s = port->coder_id[0]
                      ? beam_exec_graph_coder(n->graph, port->coder_id, out, err)
                      : beam_error_set(err, BEAM_ERR_INVALID_ARG, "data port has no coder id");
  FN_FN(remote_grpc_port__free_unpacked)(port, NULL);
  return s;
}

/* --- source ------------------------------------------------------------------------------- */

void beam_exec_data_source_rearm(beam_exec_node *n) {
  data_source *src = n->impl;
  pthread_mutex_lock(&src->lock);
  src->next_index = 0;
  src->stop_at = INT64_MAX;
  src->done = false;
  pthread_mutex_unlock(&src->lock);
  beam_buf_reset(&src->pending);
}

/* Done (is_last seen, or split): a split request reads this flag from the control thread. */
static void mark_done(data_source *src) {
  pthread_mutex_lock(&src->lock);
  src->done = true;
  pthread_mutex_unlock(&src->lock);
}

static bool is_done(data_source *src) {
  pthread_mutex_lock(&src->lock);
  bool done = src->done;
  pthread_mutex_unlock(&src->lock);
  return done;
}

/* Claims the next element index unless a split made it residual. */
static bool claim_next(data_source *src) {
  pthread_mutex_lock(&src->lock);
  bool ok = src->next_index < src->stop_at;
  if (ok) src->next_index++;
  pthread_mutex_unlock(&src->lock);
  return ok;
}

static beam_status source_emit_all(beam_exec_node *n, beam_reader *r, bool is_last, beam_error *err) {
  data_source *src = n->impl;
  while (!beam_reader_at_end(r) && !is_done(src)) {
    size_t start = r->pos;
    beam_value v;
    beam_status s = beam_coder_decode(src->coder, r, true, &src->arena, &v, err);
    if (s == BEAM_ERR_TRUNCATED && !is_last) {
      r->pos = start; /* the rest comes in the next chunk */
      beam_arena_reset(&src->arena);
      return BEAM_OK;
    }
    if (s != BEAM_OK) return beam_error_prefix(err, "decoding input element %lld: ", (long long)src->next_index);
    if (!claim_next(src)) {
      mark_done(src); /* split: the rest belongs to the residual */
      break;
    }
    s = beam_exec_emit(&n->outputs[0], &v.u.windowed, err);
    beam_arena_reset(&src->arena);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

beam_status beam_exec_data_source_feed(beam_exec_node *n, const uint8_t *data, size_t len, bool is_last,
                                       beam_error *err) {
  data_source *src = n->impl;
  beam_status s = BEAM_OK;
  if (src->pending.len) {
    /* Finish the element split across chunks, then go on in place. */
    if (beam_buf_append(&src->pending, data, len) != BEAM_OK)
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory buffering input");
    beam_reader r = beam_reader_make(src->pending.data, src->pending.len);
    s = source_emit_all(n, &r, is_last, err);
    size_t rest = r.len - r.pos;
    memmove(src->pending.data, src->pending.data + r.pos, rest);
    src->pending.len = is_done(src) ? 0 : rest;
  } else {
    beam_reader r = beam_reader_make(data, len);
    s = source_emit_all(n, &r, is_last, err);
    if (s == BEAM_OK && !is_done(src) && r.pos < r.len &&
        beam_buf_append(&src->pending, data + r.pos, r.len - r.pos) != BEAM_OK)
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory buffering input");
  }
  if (is_last) mark_done(src);
  return s;
}

bool beam_exec_is_data_source(const beam_exec_node *n) { return strcmp(n->ops->kind, "data_source") == 0; }

int64_t beam_exec_data_source_index(beam_exec_node *n) {
  data_source *src = n->impl;
  pthread_mutex_lock(&src->lock);
  int64_t i = src->next_index;
  pthread_mutex_unlock(&src->lock);
  return i;
}

bool beam_exec_data_source_split(beam_exec_node *n, double fraction, int64_t estimated_total,
                                 const int64_t *allowed, size_t n_allowed, int64_t *split_at) {
  data_source *src = n->impl;
  bool ok = false;
  pthread_mutex_lock(&src->lock);
  /* The element being processed (next_index - 1) stays primary; split the unread rest. */
  int64_t first_unread = src->next_index;
  if (!src->done && src->stop_at == INT64_MAX && estimated_total > first_unread) {
    int64_t keep = (int64_t)(fraction * (double)(estimated_total - first_unread));
    int64_t at = first_unread + keep;
    if (n_allowed) {
      int64_t best = -1;
      for (size_t i = 0; i < n_allowed; i++)
        if (allowed[i] >= at && allowed[i] < estimated_total && (best < 0 || allowed[i] < best)) best = allowed[i];
      at = best;
    }
    if (at >= first_unread && at < estimated_total) {
      src->stop_at = at;
      *split_at = at;
      ok = true;
    }
  }
  pthread_mutex_unlock(&src->lock);
  return ok;
}

const beam_coder *beam_exec_data_source_coder(const beam_exec_node *n) { return ((const data_source *)n->impl)->coder; }

bool beam_exec_data_source_split_with(beam_exec_node *n, int64_t estimated_total, beam_exec_split_decider decide,
                                      void *self, int64_t *split_at) {
  data_source *src = n->impl;
  bool ok = false;
  pthread_mutex_lock(&src->lock);
  int64_t end = estimated_total < src->stop_at ? estimated_total : src->stop_at;
  if (!src->done && end > 0) {
    /* Splitting again is fine: the end is the earlier split's. */
    int64_t at = decide(self, src->next_index - 1, end);
    if (at >= src->next_index && at <= end) {
      src->stop_at = at;
      *split_at = at;
      ok = true;
    }
  }
  pthread_mutex_unlock(&src->lock);
  return ok;
}

static void source_teardown(beam_exec_node *n) {
  data_source *src = n->impl;
  if (!src) return;
  beam_buf_free(&src->pending);
  beam_arena_free(&src->arena);
  pthread_mutex_destroy(&src->lock);
  free(src);
  n->impl = NULL;
}

static beam_status source_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  (void)wv;
  return beam_error_set(err, BEAM_ERR_INTERNAL, "data source %s has an upstream", n->transform_id);
}

static const beam_exec_ops source_ops = {
    .kind = "data_source",
    .process = source_process,
    .teardown = source_teardown,
};

static beam_status source_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                                 beam_error *err) {
  (void)g;
  if (node->n_outputs != 1) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "a data source has one output");
  data_source *src = calloc(1, sizeof *src);
  if (!src) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&src->lock, NULL);
  src->stop_at = INT64_MAX;
  node->impl = src;
  node->ops = &source_ops;
  return port_coder(node, t, &src->coder, err);
}

const beam_exec_node_factory beam_exec_data_source_factory = {
    .urn = BEAM_URN_DATA_SOURCE,
    .create = source_create,
};

/* --- sink --------------------------------------------------------------------------------- */

static beam_status sink_flush(beam_exec_node *n, bool is_last, beam_error *err) {
  data_sink *sk = n->impl;
  beam_data_port *port = &n->graph->data_out;
  if (!port->send) return beam_error_set(err, BEAM_ERR_INTERNAL, "data sink %s has no data channel", n->transform_id);
  beam_status s = port->send(port->self, n->transform_id, sk->out.data, sk->out.len, is_last, err);
  beam_buf_reset(&sk->out);
  return s;
}

static beam_status sink_start(beam_exec_node *n, beam_error *err) {
  (void)err;
  data_sink *sk = n->impl;
  beam_buf_reset(&sk->out);
  return BEAM_OK;
}

static beam_status sink_process(beam_exec_node *n, const beam_windowed_value *wv, beam_error *err) {
  data_sink *sk = n->impl;
  beam_value v = {.kind = BEAM_VALUE_WINDOWED, .u.windowed = *wv};
  beam_status s = beam_coder_encode(sk->coder, &v, true, &sk->out, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "encoding output for %s: ", n->transform_id);
  return sk->out.len >= SINK_FLUSH_BYTES ? sink_flush(n, false, err) : BEAM_OK;
}

static beam_status sink_finish(beam_exec_node *n, beam_error *err) { return sink_flush(n, true, err); }

static void sink_teardown(beam_exec_node *n) {
  data_sink *sk = n->impl;
  if (!sk) return;
  beam_buf_free(&sk->out);
  free(sk);
  n->impl = NULL;
}

static const beam_exec_ops sink_ops = {
    .kind = "data_sink",
    .start_bundle = sink_start,
    .process = sink_process,
    .finish_bundle = sink_finish,
    .teardown = sink_teardown,
};

static beam_status sink_create(beam_exec_graph *g, beam_exec_node *node, const PIPE(PTransform) *t,
                               beam_error *err) {
  (void)g;
  data_sink *sk = calloc(1, sizeof *sk);
  if (!sk) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  node->impl = sk;
  node->ops = &sink_ops;
  return port_coder(node, t, &sk->coder, err);
}

const beam_exec_node_factory beam_exec_data_sink_factory = {.urn = BEAM_URN_DATA_SINK, .create = sink_create};
