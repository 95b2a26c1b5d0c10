/* A runner's split of a splittable DoFn's element while process() runs, at the level the Fn
 * API worker answers it (exec/exec_sdf_split.c): a graph data source -> process step, as a
 * runner's stage has it, fed one sized element of [0, 100); the DoFn stops at offset 10
 * until the test has split the bundle from this thread. The primary and residual come back
 * encoded as the source reads them; the DoFn then stops where the primary ends, and the
 * residual, fed as a bundle of its own, claims the rest: together every offset once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "beam/pipeline.h"
#include "beam/urns.h"
#include "exec_data.h"
#include "exec_nodes.h"
#include "exec_sdf.h"
#include "fn_names.h"
#include "local_sdf_expand.h"
#include "proto_edit.h"

enum { RANGE_END = 100, GATE_AT = 10 };

static struct {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  bool reached, released;
  int claimed[RANGE_END]; /* how often each offset was claimed */
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, {0}};

static beam_status gated_initial(void *state, const beam_windowed_value *elem, beam_offset_range *out, beam_error *err) {
  (void)state, (void)err;
  *out = (beam_offset_range){0, elem->value->u.i64};
  return BEAM_OK;
}

/* Claims every offset; at GATE_AT waits (once) until the test released it. */
static beam_status gated_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  (void)state, (void)elem, (void)err;
  beam_offset_range r;
  if (!beam_dofn_restriction(ctx, &r)) return BEAM_ERR_INTERNAL;
  for (int64_t at = r.start; beam_dofn_try_claim(ctx, at); at++) {
    pthread_mutex_lock(&gate.lock);
    gate.claimed[at]++;
    if (at == GATE_AT && !gate.reached) {
      gate.reached = true;
      pthread_cond_broadcast(&gate.changed);
      while (!gate.released) pthread_cond_wait(&gate.changed, &gate.lock);
    }
    pthread_mutex_unlock(&gate.lock);
  }
  return BEAM_OK;
}

static const beam_splittable_dofn_def gated = {
    .dofn = {.name = "sdf_gated", .process = gated_process},
    .initial_restriction = gated_initial,
};
BEAM_REGISTER_SPLITTABLE_DOFN(gated)

/* A runner's stage: source (windowed sized elements) -> the process step "Positions". */
static PIPE(Pipeline) *stage_pipeline(void) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pcollection *seeds = beam_pardo1(p, "Seed", beam_impulse(p, "Impulse"), "unused", NULL, beam_coder_spec_varint(p));
  beam_coder_spec *varint = beam_coder_spec_varint(p);
  beam_pardo_spec spec = {.dofn = "sdf_gated", .n_outputs = 1, .output_coders = &varint};
  beam_pcollection *out = NULL;
  assert_int_equal(beam_splittable_pardo(p, "Positions", seeds, &spec, &out), BEAM_OK);
  beam_buf buf = BEAM_BUF_INIT;
  beam_error err = {0};
  assert_int_equal(beam_pipeline_encode(p, &buf, &err), BEAM_OK);
  PIPE(Pipeline) *pl = PIPE_FN(pipeline__unpack)(NULL, buf.len, buf.data);
  beam_buf_free(&buf);
  beam_pipeline_free(p);
  assert_non_null(pl);
  assert_int_equal(beam_local_sdf_expand(pl, &err), BEAM_OK);
  PIPE(Components) *c = pl->components;
  const char *wv_parts[] = {"cPositionskv_ele_rest_size", "gw"};
  assert_int_equal(beam_proto_add_coder(c, "gw", BEAM_URN_CODER_GLOBAL_WINDOW, NULL, 0, &err), BEAM_OK);
  assert_int_equal(beam_proto_add_coder(c, "wv", BEAM_URN_CODER_WINDOWED_VALUE, wv_parts, 2, &err), BEAM_OK);
  FN(RemoteGrpcPort) port = FN_INIT(REMOTE_GRPC_PORT);
  port.coder_id = "wv";
  uint8_t payload[64];
  size_t len = FN_FN(remote_grpc_port__pack)(&port, payload);
  PIPE(PTransform) *source = NULL;
  assert_int_equal(beam_proto_add_transform(c, "source", BEAM_URN_DATA_SOURCE, payload, len, NULL, &source, &err), BEAM_OK);
  assert_int_equal(beam_proto_add_output(source, "o", "nPositions_splitnsized", &err), BEAM_OK);
  return pl;
}

/* The sized element of n over [start, end), windowed as the source reads it. */
static void encode_sized(const beam_coder *coder, int64_t n, int64_t start, int64_t end, beam_buf *out) {
  beam_value elem = beam_value_int64(n), s = beam_value_int64(start), e = beam_value_int64(end);
  beam_value state = beam_value_bool(false), size = beam_value_double((double)(end - start));
  beam_value rest = {.kind = BEAM_VALUE_KV, .u.kv = {&s, &e}};
  beam_value rest_state = {.kind = BEAM_VALUE_KV, .u.kv = {&rest, &state}};
  beam_value pair = {.kind = BEAM_VALUE_KV, .u.kv = {&elem, &rest_state}};
  beam_value sized = {.kind = BEAM_VALUE_KV, .u.kv = {&pair, &size}};
  beam_window global = {.kind = BEAM_WINDOW_GLOBAL};
  beam_value wv = {.kind = BEAM_VALUE_WINDOWED,
                   .u.windowed = {&sized, BEAM_TIMESTAMP_MIN_MS, &global, 1, BEAM_PANE_NO_FIRING}};
  beam_error err = {0};
  assert_int_equal(beam_coder_encode(coder, &wv, true, out, &err), BEAM_OK);
}

/* Decodes an encoded sized element back to its restriction and size. */
static void decode_sized(const beam_coder *coder, const beam_buf *in, beam_offset_range *r, double *size) {
  beam_arena a = BEAM_ARENA_INIT;
  beam_reader rd = beam_reader_make(in->data, in->len);
  beam_value v;
  beam_error err = {0};
  assert_int_equal(beam_coder_decode(coder, &rd, true, &a, &v, &err), BEAM_OK);
  const beam_value *sized = v.u.windowed.value;
  assert_int_equal(sized->u.kv.key->u.kv.key->u.i64, 5); /* the element rides along */
  assert_true(beam_sdf_read_restriction(sized->u.kv.key->u.kv.value, r));
  *size = sized->u.kv.value->u.f64;
  beam_arena_free(&a);
}

typedef struct bundle {
  beam_exec_graph *g;
  beam_exec_node *source;
  beam_buf input;
  beam_status status;
} bundle;

static void *run_bundle(void *arg) {
  bundle *b = arg;
  beam_error err = {0};
  beam_exec_data_source_rearm(b->source);
  b->status = beam_exec_graph_start(b->g, "bundle", &err);
  if (b->status == BEAM_OK) b->status = beam_exec_data_source_feed(b->source, b->input.data, b->input.len, true, &err);
  if (b->status == BEAM_OK) b->status = beam_exec_graph_finish(b->g, &err);
  if (b->status != BEAM_OK) print_error("bundle failed: %s\n", err.message);
  return NULL;
}

static void split_while_processing_covers_the_range_once(void **state) {
  (void)state;
  PIPE(Pipeline) *pl = stage_pipeline();
  const char *ids[] = {"source", "Positions"};
  beam_exec_graph *g = NULL;
  beam_error err = {0};
  assert_int_equal(beam_exec_graph_build(pl->components, ids, 2, NULL, &g, &err), BEAM_OK);
  bundle b = {.g = g, .input = BEAM_BUF_INIT};
  for (size_t i = 0; i < g->n_roots; i++)
    if (beam_exec_is_data_source(g->roots[i])) b.source = g->roots[i];
  assert_non_null(b.source);
  assert_non_null(beam_exec_sdf_process_fed_by(b.source));
  const beam_coder *coder = beam_exec_data_source_coder(b.source);
  encode_sized(coder, 5, 0, RANGE_END, &b.input);

  pthread_t worker;
  assert_int_equal(pthread_create(&worker, NULL, run_bundle, &b), 0);
  pthread_mutex_lock(&gate.lock);
  while (!gate.reached) pthread_cond_wait(&gate.changed, &gate.lock);
  pthread_mutex_unlock(&gate.lock);
  /* The runner knows of one element and wants half of what remains. */
  beam_sdf_split_result r = {0};
  bool split = false;
  assert_int_equal(beam_exec_sdf_split(b.source, 0.5, 1, &r, &split, &err), BEAM_OK);
  pthread_mutex_lock(&gate.lock);
  gate.released = true;
  pthread_cond_broadcast(&gate.changed);
  pthread_mutex_unlock(&gate.lock);
  pthread_join(worker, NULL);
  assert_int_equal(b.status, BEAM_OK);

  assert_true(split);
  assert_int_equal(r.last_primary, -1);
  assert_int_equal(r.first_residual, 1);
  assert_string_equal(r.transform_id, "Positions");
  assert_string_equal(r.input_id, "main");
  beam_offset_range primary, residual;
  double primary_size, residual_size;
  decode_sized(coder, &r.primary, &primary, &primary_size);
  decode_sized(coder, &r.residual, &residual, &residual_size);
  /* 10 claimed: split at 10 + round(0.5 * 90) = 55. */
  assert_int_equal(primary.start, 0);
  assert_int_equal(primary.end, 55);
  assert_int_equal(residual.start, 55);
  assert_int_equal(residual.end, RANGE_END);
  assert_true(primary_size == 55.0 && residual_size == 45.0);

  /* The residual, as the runner sends it back: a bundle of its own. */
  beam_buf_reset(&b.input);
  assert_int_equal(beam_buf_append(&b.input, r.residual.data, r.residual.len), BEAM_OK);
  run_bundle(&b);
  assert_int_equal(b.status, BEAM_OK);
  for (int i = 0; i < RANGE_END; i++) assert_int_equal(gate.claimed[i], 1);

  /* Nothing is being processed now: no split of the element, and no element left. */
  b.input.len = 0;
  beam_exec_data_source_rearm(b.source);
  split = true;
  assert_int_equal(beam_exec_sdf_split(b.source, 0.5, 1, &r, &split, &err), BEAM_OK);
  assert_false(split);

  beam_sdf_split_result_free(&r);
  beam_buf_free(&b.input);
  beam_exec_graph_free(g);
  PIPE_FN(pipeline__free_unpacked)(pl, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(split_while_processing_covers_the_range_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
