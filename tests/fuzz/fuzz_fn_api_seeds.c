/* Writes the seed corpus for fuzz_fn_api: well-formed messages a runner sends a harness,
 * each behind fuzz_fn_api's selector byte (kind | 0x80 for interval windows). Starting
 * from valid messages lets the fuzzer reach the element decoding behind the protobuf
 * layer instead of spending its time on random protobuf framing. Usage: fuzz_fn_api_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "coder_zoo.h"
#include "org/apache/beam/model/fn_execution/v1/beam_fn_api.pb-c.h"
#include "proto_names.h"

#define FN(name) Org__Apache__Beam__Model__FnExecution__V1__##name
#define FN_INIT(NAME) ORG__APACHE__BEAM__MODEL__FN_EXECUTION__V1__##NAME##__INIT
#define FN_ENUM(NAME) ORG__APACHE__BEAM__MODEL__FN_EXECUTION__V1__##NAME

enum { ELEMENTS, INSTRUCTION, DESCRIPTOR, STATE, INTERVAL = 0x80 };

static const char *dir;
static int failed;

static void seed(const char *name, unsigned sel, const ProtobufCMessage *m) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n + 1);
  FILE *f = fopen(path, "wb");
  if (!buf || !f) {
    perror(path);
    failed = 1;
  } else {
    buf[0] = (uint8_t)sel;
    protobuf_c_message_pack(m, buf + 1);
    fwrite(buf, 1, n + 1, f);
  }
  if (f) fclose(f);
  free(buf);
}

static ProtobufCBinaryData bin(const beam_buf *b) {
  ProtobufCBinaryData d = {b->len, b->data};
  return d;
}

/* Three windowed_value<bytes> elements and one timer<bytes>, in the given window. */
static void encode_elements(beam_window w, beam_buf *data, beam_buf *timers) {
  beam_coder *bytes = beam_coder_simple(BEAM_CODER_URN_BYTES);
  beam_coder *win = beam_coder_simple(w.kind == BEAM_WINDOW_GLOBAL ? BEAM_CODER_URN_GLOBAL_WINDOW
                                                                   : BEAM_CODER_URN_INTERVAL_WINDOW);
  beam_coder *wv = zoo_b(BEAM_CODER_URN_WINDOWED_VALUE, NULL, 0, beam_coder_retain(bytes), beam_coder_retain(win));
  beam_coder *tc = zoo_b(BEAM_CODER_URN_TIMER, NULL, 0, bytes, win);
  const char *words[] = {"alpha", "", "a longer line,with,commas"};
  for (int i = 0; i < 3; i++) {
    beam_value v = beam_value_bytes(words[i], strlen(words[i]));
    beam_value e = {.kind = BEAM_VALUE_WINDOWED};
    e.u.windowed = (beam_windowed_value){&v, 1000 * i, &w, 1, BEAM_PANE_NO_FIRING};
    if (beam_coder_encode(wv, &e, true, data, NULL) != BEAM_OK) failed = 1;
  }
  beam_value key = beam_value_bytes("k", 1);
  beam_value t = {.kind = BEAM_VALUE_TIMER};
  t.u.timer = (beam_timer){&key, {NULL, 0}, &w, 1, false, 5000, 5000, BEAM_PANE_NO_FIRING};
  if (beam_coder_encode(tc, &t, true, timers, NULL) != BEAM_OK) failed = 1;
  beam_coder_free(wv);
  beam_coder_free(tc);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  dir = argv[1];
  mkdir(dir, 0755);

  /* Elements: a data chunk, the stream's closing is_last, and a timer. */
  beam_window windows[2] = {{BEAM_WINDOW_GLOBAL, 0, 0, {NULL, 0}}, {BEAM_WINDOW_INTERVAL, 0, 60000, {NULL, 0}}};
  for (int iw = 0; iw < 2; iw++) {
    beam_buf data = BEAM_BUF_INIT, tbuf = BEAM_BUF_INIT;
    encode_elements(windows[iw], &data, &tbuf);
    FN(Elements__Data) d0 = FN_INIT(ELEMENTS__DATA), d1 = FN_INIT(ELEMENTS__DATA);
    d0.instruction_id = d1.instruction_id = "1";
    d0.transform_id = d1.transform_id = "source";
    d0.data = bin(&data);
    d1.is_last = true;
    FN(Elements__Timers) t = FN_INIT(ELEMENTS__TIMERS);
    t.instruction_id = "1";
    t.transform_id = "pardo";
    t.timer_family_id = "tf";
    t.timers = bin(&tbuf);
    FN(Elements__Data) *dv[] = {&d0, &d1};
    FN(Elements__Timers) *tv[] = {&t};
    FN(Elements) e = FN_INIT(ELEMENTS);
    e.n_data = 2, e.data = dv, e.n_timers = 1, e.timers = tv;
    unsigned win = iw ? INTERVAL : 0;
    seed(iw ? "elements_interval" : "elements_global", ELEMENTS | win, &e.base);

    /* The same elements embedded in a ProcessBundleRequest. */
    FN(ProcessBundleRequest) pb = FN_INIT(PROCESS_BUNDLE_REQUEST);
    pb.process_bundle_descriptor_id = "pbd1";
    pb.elements = &e;
    FN(InstructionRequest) req = FN_INIT(INSTRUCTION_REQUEST);
    req.instruction_id = "1";
    req.request_case = FN_ENUM(INSTRUCTION_REQUEST__REQUEST_PROCESS_BUNDLE);
    req.process_bundle = &pb;
    seed(iw ? "process_bundle_interval" : "process_bundle_global", INSTRUCTION | win, &req.base);
    beam_buf_free(&data);
    beam_buf_free(&tbuf);
  }

  /* A descriptor: coders (with a row schema), a data source whose RemoteGrpcPort names
   * the wire coder, its PCollection and windowing strategy. */
  struct { const char *id, *urn, *payload; size_t plen; const char *comps[2]; } cs[] = {
      {"bytes", BEAM_CODER_URN_BYTES, NULL, 0, {NULL}},
      {"gw", BEAM_CODER_URN_GLOBAL_WINDOW, NULL, 0, {NULL}},
      {"str", BEAM_CODER_URN_STRING_UTF8, NULL, 0, {NULL}},
      {"kv", BEAM_CODER_URN_KV, NULL, 0, {"str", "bytes"}},
      {"lp", BEAM_CODER_URN_LENGTH_PREFIX, NULL, 0, {"kv"}},
      {"row", BEAM_CODER_URN_ROW, ZOO_ROW_SCHEMA, sizeof ZOO_ROW_SCHEMA - 1, {NULL}},
      {"wv", BEAM_CODER_URN_WINDOWED_VALUE, NULL, 0, {"lp", "gw"}},
  };
  enum { NC = sizeof cs / sizeof cs[0] };
  PIPE(FunctionSpec) specs[NC];
  PIPE(Coder) coders[NC];
  FN(ProcessBundleDescriptor__CodersEntry) entries[NC], *ev[NC];
  char *comps[NC][2];
  for (size_t i = 0; i < NC; i++) {
    specs[i] = (PIPE(FunctionSpec))PIPE_INIT(FUNCTION_SPEC);
    specs[i].urn = (char *)cs[i].urn;
    specs[i].payload = (ProtobufCBinaryData){cs[i].plen, (uint8_t *)cs[i].payload};
    coders[i] = (PIPE(Coder))PIPE_INIT(CODER);
    coders[i].spec = &specs[i];
    comps[i][0] = (char *)cs[i].comps[0];
    comps[i][1] = (char *)cs[i].comps[1];
    coders[i].n_component_coder_ids = cs[i].comps[1] ? 2 : cs[i].comps[0] ? 1 : 0;
    coders[i].component_coder_ids = comps[i];
    entries[i] = (FN(ProcessBundleDescriptor__CodersEntry))FN_INIT(PROCESS_BUNDLE_DESCRIPTOR__CODERS_ENTRY);
    entries[i].key = (char *)cs[i].id;
    entries[i].value = &coders[i];
    ev[i] = &entries[i];
  }
  PIPE(ApiServiceDescriptor) api = PIPE_INIT(API_SERVICE_DESCRIPTOR);
  api.url = "localhost:50000";
  FN(RemoteGrpcPort) port = FN_INIT(REMOTE_GRPC_PORT);
  port.api_service_descriptor = &api;
  port.coder_id = "wv";
  uint8_t port_bytes[128];
  size_t port_len = protobuf_c_message_pack(&port.base, port_bytes);
  PIPE(FunctionSpec) source_spec = PIPE_INIT(FUNCTION_SPEC);
  source_spec.urn = "beam:runner:source:v1";
  source_spec.payload = (ProtobufCBinaryData){port_len, port_bytes};
  PIPE(PTransform__OutputsEntry) out = PIPE_INIT(PTRANSFORM__OUTPUTS_ENTRY), *outv[] = {&out};
  out.key = "out";
  out.value = "pc";
  PIPE(PTransform) source = PIPE_INIT(PTRANSFORM);
  source.unique_name = "source";
  source.spec = &source_spec;
  source.n_outputs = 1, source.outputs = outv;
  FN(ProcessBundleDescriptor__TransformsEntry) te = FN_INIT(PROCESS_BUNDLE_DESCRIPTOR__TRANSFORMS_ENTRY), *tev[] = {&te};
  te.key = "source";
  te.value = &source;
  PIPE(PCollection) pc = PIPE_INIT(PCOLLECTION);
  pc.unique_name = "pc";
  pc.coder_id = "lp";
  pc.windowing_strategy_id = "ws";
  FN(ProcessBundleDescriptor__PcollectionsEntry) pe = FN_INIT(PROCESS_BUNDLE_DESCRIPTOR__PCOLLECTIONS_ENTRY), *pev[] = {&pe};
  pe.key = "pc";
  pe.value = &pc;
  PIPE(FunctionSpec) wfn = PIPE_INIT(FUNCTION_SPEC);
  wfn.urn = "beam:window_fn:global_windows:v1";
  PIPE(WindowingStrategy) ws = PIPE_INIT(WINDOWING_STRATEGY);
  ws.window_fn = &wfn;
  ws.window_coder_id = "gw";
  FN(ProcessBundleDescriptor__WindowingStrategiesEntry) we = FN_INIT(PROCESS_BUNDLE_DESCRIPTOR__WINDOWING_STRATEGIES_ENTRY), *wev[] = {&we};
  we.key = "ws";
  we.value = &ws;
  FN(ProcessBundleDescriptor) pbd = FN_INIT(PROCESS_BUNDLE_DESCRIPTOR), *pbdv[] = {&pbd};
  pbd.id = "pbd1";
  pbd.n_coders = NC, pbd.coders = ev;
  pbd.n_transforms = 1, pbd.transforms = tev;
  pbd.n_pcollections = 1, pbd.pcollections = pev;
  pbd.n_windowing_strategies = 1, pbd.windowing_strategies = wev;
  seed("descriptor", DESCRIPTOR, &pbd.base);
  FN(RegisterRequest) reg = FN_INIT(REGISTER_REQUEST);
  reg.n_process_bundle_descriptor = 1, reg.process_bundle_descriptor = pbdv;
  FN(InstructionRequest) rreq = FN_INIT(INSTRUCTION_REQUEST);
  rreq.instruction_id = "0";
  rreq.request_case = FN_ENUM(INSTRUCTION_REQUEST__REQUEST_REGISTER);
  rreq.register_ = &reg;
  seed("register", INSTRUCTION, &rreq.base);

  /* A split request, as runners send mid-bundle. */
  FN(ProcessBundleSplitRequest__DesiredSplit) ds = FN_INIT(PROCESS_BUNDLE_SPLIT_REQUEST__DESIRED_SPLIT);
  ds.fraction_of_remainder = 0.5;
  ds.estimated_input_elements = 3;
  FN(ProcessBundleSplitRequest__DesiredSplitsEntry) dse = FN_INIT(PROCESS_BUNDLE_SPLIT_REQUEST__DESIRED_SPLITS_ENTRY), *dsev[] = {&dse};
  dse.key = "source";
  dse.value = &ds;
  FN(ProcessBundleSplitRequest) split = FN_INIT(PROCESS_BUNDLE_SPLIT_REQUEST);
  split.instruction_id = "1";
  split.n_desired_splits = 1, split.desired_splits = dsev;
  FN(InstructionRequest) sreq = FN_INIT(INSTRUCTION_REQUEST);
  sreq.instruction_id = "3";
  sreq.request_case = FN_ENUM(INSTRUCTION_REQUEST__REQUEST_PROCESS_BUNDLE_SPLIT);
  sreq.process_bundle_split = &split;
  seed("split", INSTRUCTION, &sreq.base);

  /* A state read answer: nested bytes "ab", "" and a continuation token. */
  FN(StateGetResponse) get = FN_INIT(STATE_GET_RESPONSE);
  get.data = (ProtobufCBinaryData){4, (uint8_t *)"\x02" "ab" "\x00"};
  get.continuation_token = (ProtobufCBinaryData){3, (uint8_t *)"tok"};
  FN(StateResponse) sresp = FN_INIT(STATE_RESPONSE);
  sresp.id = "s1";
  sresp.response_case = FN_ENUM(STATE_RESPONSE__RESPONSE_GET);
  sresp.get = &get;
  seed("state_get", STATE, &sresp.base);
  return failed;
}
