/* libFuzzer target: what a runner sends the harness over the Fn API, decoded the way the
 * harness decodes it. The first byte picks the message (low bits) and the window coder
 * (high bit); the rest goes to the protoc-c unpacker:
 *   0 Elements (data channel)      1 InstructionRequest (control stream)
 *   2 ProcessBundleDescriptor      3 StateResponse (state stream)
 * Decoded payloads are then walked as the harness would: Elements.Data bytes as a stream of
 * nested windowed_value<bytes> elements, Timers bytes as timer<bytes> elements, state data
 * as nested bytes, and every coder of a descriptor is built from its Coder protos.
 * Anything may fail; nothing may crash, leak, or decode without consuming input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coder_proto.h"
#include "org/apache/beam/model/fn_execution/v1/beam_fn_api.pb-c.h"

#define FN(name) Org__Apache__Beam__Model__FnExecution__V1__##name
#define FN_FN(name) org__apache__beam__model__fn_execution__v1__##name
#define FN_ENUM(NAME) ORG__APACHE__BEAM__MODEL__FN_EXECUTION__V1__##NAME

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { WIN_GLOBAL, WIN_INTERVAL, N_WIN };

/* Built once: windowed_value<bytes, W> and timer<bytes, W> per window coder, plus bytes. */
static beam_coder *wv_coder[N_WIN], *timer_coder[N_WIN], *bytes_coder;

static beam_coder *build2(const char *urn, beam_coder *a, beam_coder *b) {
  beam_coder *parts[2] = {a, b}, *out = NULL;
  if (beam_coder_build(urn, NULL, 0, parts, 2, &out, NULL) != BEAM_OK) abort();
  return out;
}

static void init_coders(void) {
  bytes_coder = beam_coder_simple(BEAM_CODER_URN_BYTES);
  beam_coder *win[N_WIN] = {beam_coder_simple(BEAM_CODER_URN_GLOBAL_WINDOW),
                            beam_coder_simple(BEAM_CODER_URN_INTERVAL_WINDOW)};
  if (!bytes_coder || !win[WIN_GLOBAL] || !win[WIN_INTERVAL]) abort();
  for (int w = 0; w < N_WIN; w++) {
    wv_coder[w] = build2(BEAM_CODER_URN_WINDOWED_VALUE, bytes_coder, win[w]);
    timer_coder[w] = build2(BEAM_CODER_URN_TIMER, bytes_coder, win[w]);
    beam_coder_free(win[w]); /* the built coders hold their own references */
  }
}

/* Decodes nested elements until the bytes end or one fails to decode, like a data-channel
 * reader. A successful decode that consumes nothing would loop forever in the harness. */
static void walk(const beam_coder *c, ProtobufCBinaryData bytes, beam_arena *arena) {
  beam_reader r = beam_reader_make(bytes.data, bytes.len);
  while (!beam_reader_at_end(&r)) {
    size_t before = r.pos;
    beam_value v;
    beam_error err;
    if (beam_coder_decode(c, &r, true, arena, &v, &err) != BEAM_OK) break;
    if (r.pos == before) {
      fprintf(stderr, "fuzz_fn_api: %s decoded without consuming input\n", beam_coder_urn(c));
      abort();
    }
    beam_arena_reset(arena);
  }
}

static void walk_elements(const FN(Elements) *e, int win, beam_arena *arena) {
  if (!e) return;
  for (size_t i = 0; i < e->n_data; i++) walk(wv_coder[win], e->data[i]->data, arena);
  for (size_t i = 0; i < e->n_timers; i++) walk(timer_coder[win], e->timers[i]->timers, arena);
}

static void try_build(const PIPE(Components) *components, const FN(ProcessBundleDescriptor) *d,
                      const char *id) {
  beam_coder *c = NULL;
  beam_error err;
  if (beam_coder_from_components(components, id, &c, &err) == BEAM_OK) beam_coder_free(c);
}

/* The descriptor's coder map as a Components (what beam_coder_from_components takes): the
 * entry types differ only in name, so the entries are re-pointed, not copied deeply. */
static void build_descriptor_coders(const FN(ProcessBundleDescriptor) *d) {
  size_t n = d->n_coders;
  PIPE(Components__CodersEntry) *entries = calloc(n ? n : 1, sizeof *entries);
  PIPE(Components__CodersEntry) **ptrs = calloc(n ? n : 1, sizeof *ptrs);
  if (!entries || !ptrs) abort();
  for (size_t i = 0; i < n; i++) {
    PIPE(Components__CodersEntry) init = PIPE_INIT(COMPONENTS__CODERS_ENTRY);
    entries[i] = init;
    entries[i].key = d->coders[i]->key;
    entries[i].value = d->coders[i]->value;
    ptrs[i] = &entries[i];
  }
  PIPE(Components) components = PIPE_INIT(COMPONENTS);
  components.n_coders = n;
  components.coders = ptrs;
  for (size_t i = 0; i < n; i++) try_build(&components, d, d->coders[i]->key);
  /* Data-channel ends carry a RemoteGrpcPort naming their wire coder. */
  for (size_t i = 0; i < d->n_transforms; i++) {
    const PIPE(PTransform) *t = d->transforms[i]->value;
    if (!t || !t->spec) continue;
    FN(RemoteGrpcPort) *port = FN_FN(remote_grpc_port__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
    if (!port) continue;
    try_build(&components, d, port->coder_id);
    FN_FN(remote_grpc_port__free_unpacked)(port, NULL);
  }
  free(ptrs);
  free(entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!bytes_coder) init_coders();
  if (size < 1) return 0;
  int kind = (data[0] & 0x7f) % 4, win = (data[0] & 0x80) ? WIN_INTERVAL : WIN_GLOBAL;
  const uint8_t *msg = data + 1;
  size_t len = size - 1;
  beam_arena arena = BEAM_ARENA_INIT;
  if (kind == 0) {
    FN(Elements) *e = FN_FN(elements__unpack)(NULL, len, msg);
    walk_elements(e, win, &arena);
    if (e) FN_FN(elements__free_unpacked)(e, NULL);
  } else if (kind == 1) {
    FN(InstructionRequest) *req = FN_FN(instruction_request__unpack)(NULL, len, msg);
    if (req && req->request_case == FN_ENUM(INSTRUCTION_REQUEST__REQUEST_PROCESS_BUNDLE))
      walk_elements(req->process_bundle->elements, win, &arena);
    if (req && req->request_case == FN_ENUM(INSTRUCTION_REQUEST__REQUEST_REGISTER))
      for (size_t i = 0; i < req->register_->n_process_bundle_descriptor; i++)
        build_descriptor_coders(req->register_->process_bundle_descriptor[i]);
    if (req) FN_FN(instruction_request__free_unpacked)(req, NULL);
  } else if (kind == 2) {
    FN(ProcessBundleDescriptor) *d = FN_FN(process_bundle_descriptor__unpack)(NULL, len, msg);
    if (d) {
      build_descriptor_coders(d);
      FN_FN(process_bundle_descriptor__free_unpacked)(d, NULL);
    }
  } else {
    FN(StateResponse) *resp = FN_FN(state_response__unpack)(NULL, len, msg);
    if (resp && resp->response_case == FN_ENUM(STATE_RESPONSE__RESPONSE_GET))
      walk(bytes_coder, resp->get->data, &arena);
    if (resp) FN_FN(state_response__free_unpacked)(resp, NULL);
  }
  beam_arena_free(&arena);
  return 0;
}
