/* The in-memory model -> org.apache.beam.model.pipeline.v1.Pipeline.
 *
 * Every proto struct is allocated in a scratch arena that lives for one encode call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/coder.h"
#include "beam/urns.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "pipeline_model.h"
#include "proto_names.h"

typedef struct encoder {
  beam_pipeline *p;
  beam_arena *a;
  PIPE(Components) *components;
  size_t cap_coders;
  beam_coder_spec **interned; /* specs already given ids, parallel to components->coders */
  unsigned next_coder;
  const bool *unbounded; /* per PCollection (beam_pipeline_unbounded_flags) */
} encoder;

#define NEW(enc, type, ...) new_msg_((enc)->a, sizeof(type), &(type)__VA_ARGS__)
static void *new_msg_(beam_arena *a, size_t size, const void *init) {
  void *m = beam_arena_alloc(a, size);
  if (m) memcpy(m, init, size);
  return m;
}

static char *dup(encoder *e, const char *s) { return beam_arena_strdup(e->a, s ? s : ""); }

static PIPE(FunctionSpec) *function_spec(encoder *e, const char *urn, const void *payload, size_t len) {
  PIPE(FunctionSpec) *f = NEW(e, PIPE(FunctionSpec), PIPE_INIT(FUNCTION_SPEC));
  if (!f) return NULL;
  f->urn = dup(e, urn);
  f->payload.data = (uint8_t *)payload;
  f->payload.len = len;
  return f;
}

static bool same_spec(const beam_coder_spec *a, const beam_coder_spec *b) {
  if (strcmp(a->urn, b->urn) != 0 || a->payload_len != b->payload_len ||
      a->n_components != b->n_components)
    return false;
  if (a->payload_len && memcmp(a->payload, b->payload, a->payload_len) != 0) return false;
  for (size_t i = 0; i < a->n_components; i++)
    if (!a->components[i]->id || a->components[i]->id != b->components[i]->id) return false;
  return true;
}

/* Interns spec (and its components) into Components.coders; returns its id. */
static const char *intern_coder(encoder *e, beam_coder_spec *spec) {
  for (size_t i = 0; i < spec->n_components; i++)
    if (!intern_coder(e, spec->components[i])) return NULL;
  PIPE(Components) *c = e->components;
  for (size_t i = 0; i < c->n_coders; i++)
    if (same_spec(e->interned[i], spec)) return spec->id = e->interned[i]->id;
  if (c->n_coders == e->cap_coders) {
    size_t cap = e->cap_coders ? e->cap_coders * 2 : 16;
    void *entries = beam_arena_alloc(e->a, cap * sizeof *c->coders);
    void *specs = beam_arena_alloc(e->a, cap * sizeof *e->interned);
    if (!entries || !specs) return NULL;
    if (c->n_coders) {
      memcpy(entries, c->coders, c->n_coders * sizeof *c->coders);
      memcpy(specs, e->interned, c->n_coders * sizeof *e->interned);
    }
    c->coders = entries;
    e->interned = specs;
    e->cap_coders = cap;
  }
  char id[32];
  snprintf(id, sizeof id, "c%u", e->next_coder++);
  PIPE(Coder) *coder = NEW(e, PIPE(Coder), PIPE_INIT(CODER));
  PIPE(Components__CodersEntry) *entry = NEW(e, PIPE(Components__CodersEntry), PIPE_INIT(COMPONENTS__CODERS_ENTRY));
  if (!coder || !entry) return NULL;
  coder->spec = function_spec(e, spec->urn, spec->payload, spec->payload_len);
  coder->n_component_coder_ids = spec->n_components;
  coder->component_coder_ids = beam_arena_calloc(e->a, spec->n_components + 1, sizeof(char *));
  if (!coder->spec || !coder->component_coder_ids) return NULL;
  for (size_t i = 0; i < spec->n_components; i++)
    coder->component_coder_ids[i] = (char *)spec->components[i]->id;
  spec->id = dup(e, id);
  entry->key = (char *)spec->id;
  entry->value = coder;
  e->interned[c->n_coders] = spec;
  c->coders[c->n_coders++] = entry;
  return spec->id;
}

static const char *intern_simple_coder(encoder *e, const char *urn) {
  beam_coder_spec *spec = beam_coder_spec_new(e->p, urn, NULL, 0, NULL, 0);
  return spec ? intern_coder(e, spec) : NULL;
}

/* Builds a map<string,string> from named ids. */
#define STRING_MAP(e, type, INIT, names, n, out_n, out)                  \
  do {                                                                     \
    *(out_n) = (n);                                                        \
    *(out) = beam_arena_calloc((e)->a, (n) + 1, sizeof **(out));           \
    if (!*(out)) return false;                                             \
    for (size_t i_ = 0; i_ < (n); i_++) {                                  \
      type *m_ = NEW(e, type, INIT);                                       \
      if (!m_) return false;                                               \
      m_->key = dup(e, (names)[i_].name);                                  \
      m_->value = dup(e, (names)[i_].id);                                  \
      (*(out))[i_] = m_;                                                   \
    }                                                                      \
  } while (0)

static PIPE(FunctionSpec) *window_fn(encoder *e, const beam_model_windowing *w) {
  if (!w->fixed) return function_spec(e, BEAM_URN_GLOBAL_WINDOWS, NULL, 0);
  Google__Protobuf__Duration size = GOOGLE__PROTOBUF__DURATION__INIT;
  Google__Protobuf__Timestamp offset = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  size.seconds = w->size_ms / 1000;
  size.nanos = (int32_t)(w->size_ms % 1000) * 1000000;
  offset.seconds = w->offset_ms / 1000;
  offset.nanos = (int32_t)(w->offset_ms % 1000) * 1000000;
  PIPE(FixedWindowsPayload) fixed = PIPE_INIT(FIXED_WINDOWS_PAYLOAD);
  fixed.size = &size;
  fixed.offset = &offset;
  size_t len = PIPE_FN(fixed_windows_payload__get_packed_size)(&fixed);
  uint8_t *buf = beam_arena_alloc(e->a, len + 1);
  if (!buf) return NULL;
  PIPE_FN(fixed_windows_payload__pack)(&fixed, buf);
  return function_spec(e, BEAM_URN_FIXED_WINDOWS, buf, len);
}

static bool add_windowing(encoder *e, const beam_model_windowing *w, size_t index) {
  PIPE(WindowingStrategy) *ws = NEW(e, PIPE(WindowingStrategy), PIPE_INIT(WINDOWING_STRATEGY));
  PIPE(Trigger) *trigger = NEW(e, PIPE(Trigger), PIPE_INIT(TRIGGER));
  PIPE(Trigger__Default) *dflt = NEW(e, PIPE(Trigger__Default), PIPE_INIT(TRIGGER__DEFAULT));
  if (!ws || !trigger || !dflt) return false;
  trigger->trigger_case = PIPE_ENUM(TRIGGER__TRIGGER_DEFAULT);
  trigger->default_ = dflt;
  ws->window_fn = window_fn(e, w);
  ws->merge_status = PIPE_ENUM(MERGE_STATUS__ENUM__NON_MERGING);
  ws->window_coder_id = (char *)intern_simple_coder(
      e, w->fixed ? BEAM_URN_CODER_INTERVAL_WINDOW : BEAM_URN_CODER_GLOBAL_WINDOW);
  ws->trigger = trigger;
  ws->accumulation_mode = PIPE_ENUM(ACCUMULATION_MODE__ENUM__DISCARDING);
  ws->output_time = PIPE_ENUM(OUTPUT_TIME__ENUM__END_OF_WINDOW);
  ws->closing_behavior = PIPE_ENUM(CLOSING_BEHAVIOR__ENUM__EMIT_IF_NONEMPTY);
  ws->allowed_lateness = 0;
  ws->on_time_behavior = PIPE_ENUM(ON_TIME_BEHAVIOR__ENUM__FIRE_IF_NONEMPTY);
  ws->assigns_to_one_window = true;
  ws->environment_id = dup(e, BEAM_ENVIRONMENT_ID);
  PIPE(Components__WindowingStrategiesEntry) *entry =
      NEW(e, PIPE(Components__WindowingStrategiesEntry), PIPE_INIT(COMPONENTS__WINDOWING_STRATEGIES_ENTRY));
  if (!entry || !ws->window_fn || !ws->window_coder_id) return false;
  entry->key = dup(e, w->id);
  entry->value = ws;
  e->components->windowing_strategies[index] = entry;
  return true;
}

static const beam_model_windowing *find_windowing(const beam_pipeline *p, const char *id) {
  for (size_t i = 0; i < p->n_windowings; i++)
    if (strcmp(p->windowings[i]->id, id) == 0) return p->windowings[i];
  return NULL;
}

static uint8_t *pack_or_null(encoder *e, const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = beam_arena_alloc(e->a, *len + 1);
  if (buf) protobuf_c_message_pack(m, buf);
  return buf;
}

/* Bag user states: StateSpec{bag_spec{element_coder_id}, protocol beam:user_state:bag:v1}. */
static bool add_state_specs(encoder *e, const beam_model_transform *t, PIPE(ParDoPayload) *pardo) {
  if (!t->n_states) return true;
  pardo->state_specs = beam_arena_calloc(e->a, t->n_states + 1, sizeof *pardo->state_specs);
  if (!pardo->state_specs) return false;
  for (size_t i = 0; i < t->n_states; i++) {
    PIPE(StateSpec) *spec = NEW(e, PIPE(StateSpec), PIPE_INIT(STATE_SPEC));
    PIPE(BagStateSpec) *bag = NEW(e, PIPE(BagStateSpec), PIPE_INIT(BAG_STATE_SPEC));
    PIPE(ParDoPayload__StateSpecsEntry) *entry =
        NEW(e, PIPE(ParDoPayload__StateSpecsEntry), PIPE_INIT(PAR_DO_PAYLOAD__STATE_SPECS_ENTRY));
    if (!spec || !bag || !entry) return false;
    bag->element_coder_id = (char *)intern_coder(e, t->state_coders[i]);
    spec->spec_case = PIPE_ENUM(STATE_SPEC__SPEC_BAG_SPEC);
    spec->bag_spec = bag;
    spec->protocol = function_spec(e, BEAM_URN_USER_STATE_BAG, NULL, 0);
    if (!bag->element_coder_id || !spec->protocol) return false;
    entry->key = dup(e, t->state_names[i]);
    entry->value = spec;
    pardo->state_specs[pardo->n_state_specs++] = entry;
  }
  return true;
}

/* A splittable ParDo's restriction_coder_id: KV(restriction, watermark estimator state), as
 * Java and Go register it: KV<KV<varint start, varint end>, bool> (exec/exec_sdf.h). */
static const char *restriction_coder(encoder *e) {
  beam_pipeline *p = e->p;
  beam_coder_spec *varint = beam_coder_spec_varint(p);
  beam_coder_spec *range = beam_coder_spec_kv(p, varint, varint);
  beam_coder_spec *spec = beam_coder_spec_kv(p, range, beam_coder_spec_bool(p));
  return spec ? intern_coder(e, spec) : NULL;
}

/* The FunctionSpec of a transform: payloads that are protos are built here. */
static PIPE(FunctionSpec) *transform_spec(encoder *e, const beam_model_transform *t) {
  size_t len = 0;
  uint8_t *buf = NULL;
  if (strcmp(t->urn, BEAM_URN_PARDO) == 0) {
    PIPE(ParDoPayload) pardo = PIPE_INIT(PAR_DO_PAYLOAD);
    pardo.do_fn = function_spec(e, BEAM_URN_C_DOFN, t->payload, t->payload_len);
    pardo.n_side_inputs = t->n_side_inputs;
    pardo.side_inputs = beam_arena_calloc(e->a, t->n_side_inputs + 1, sizeof *pardo.side_inputs);
    if (!pardo.do_fn || !pardo.side_inputs) return NULL;
    for (size_t i = 0; i < t->n_side_inputs; i++) {
      PIPE(SideInput) *si = NEW(e, PIPE(SideInput), PIPE_INIT(SIDE_INPUT));
      PIPE(ParDoPayload__SideInputsEntry) *entry =
          NEW(e, PIPE(ParDoPayload__SideInputsEntry), PIPE_INIT(PAR_DO_PAYLOAD__SIDE_INPUTS_ENTRY));
      if (!si || !entry) return NULL;
      bool multimap = t->side_input_multimap && t->side_input_multimap[i];
      si->access_pattern =
          function_spec(e, multimap ? BEAM_URN_SIDE_INPUT_MULTIMAP : BEAM_URN_SIDE_INPUT_ITERABLE, NULL, 0);
      si->view_fn = function_spec(e, multimap ? "beam:view_fn:c:multimap:v1" : "beam:view_fn:c:iterable:v1", NULL, 0);
      si->window_mapping_fn = function_spec(e, "beam:window_mapping_fn:global:v1", NULL, 0);
      entry->key = dup(e, t->side_input_names[i]);
      entry->value = si;
      pardo.side_inputs[i] = entry;
    }
    if (!add_state_specs(e, t, &pardo)) return NULL;
    if (t->splittable && !(pardo.restriction_coder_id = (char *)restriction_coder(e))) return NULL;
    buf = pack_or_null(e, &pardo.base, &len);
  } else if (strcmp(t->urn, BEAM_URN_COMBINE_PER_KEY) == 0) {
    PIPE(CombinePayload) combine = PIPE_INIT(COMBINE_PAYLOAD);
    combine.combine_fn = function_spec(e, BEAM_URN_C_COMBINEFN, t->payload, t->payload_len);
    combine.accumulator_coder_id = (char *)intern_coder(e, t->accumulator_coder);
    if (!combine.combine_fn || !combine.accumulator_coder_id) return NULL;
    buf = pack_or_null(e, &combine.base, &len);
  } else if (strcmp(t->urn, BEAM_URN_WINDOW_INTO) == 0) {
    PIPE(WindowIntoPayload) into = PIPE_INIT(WINDOW_INTO_PAYLOAD);
    into.window_fn = window_fn(e, find_windowing(e->p, t->windowing_id));
    if (!into.window_fn) return NULL;
    buf = pack_or_null(e, &into.base, &len);
  } else if (t->pubsub) {
    PIPE(PubSubReadPayload) read = PIPE_INIT(PUB_SUB_READ_PAYLOAD);
    read.topic = dup(e, t->pubsub->topic);
    read.subscription = dup(e, t->pubsub->subscription);
    read.timestamp_attribute = dup(e, t->pubsub->timestamp_attribute);
    read.id_attribute = dup(e, t->pubsub->id_attribute);
    read.with_attributes = t->pubsub->with_attributes;
    buf = pack_or_null(e, &read.base, &len);
  } else {
    return function_spec(e, t->urn, NULL, 0);
  }
  return buf ? function_spec(e, t->urn, buf, len) : NULL;
}

static bool add_transform(encoder *e, const beam_model_transform *t, size_t index) {
  PIPE(PTransform) *pt = NEW(e, PIPE(PTransform), PIPE_INIT(PTRANSFORM));
  PIPE(Components__TransformsEntry) *entry =
      NEW(e, PIPE(Components__TransformsEntry), PIPE_INIT(COMPONENTS__TRANSFORMS_ENTRY));
  if (!pt || !entry) return false;
  pt->unique_name = dup(e, t->id);
  pt->spec = transform_spec(e, t);
  if (!pt->spec) return false;
  STRING_MAP(e, PIPE(PTransform__InputsEntry), PIPE_INIT(PTRANSFORM__INPUTS_ENTRY), t->inputs,
             t->n_inputs, &pt->n_inputs, &pt->inputs);
  STRING_MAP(e, PIPE(PTransform__OutputsEntry), PIPE_INIT(PTRANSFORM__OUTPUTS_ENTRY), t->outputs,
             t->n_outputs, &pt->n_outputs, &pt->outputs);
  pt->n_subtransforms = t->n_subtransforms;
  pt->subtransforms = (char **)t->subtransforms;
  if (t->has_environment) pt->environment_id = dup(e, BEAM_ENVIRONMENT_ID);
  entry->key = dup(e, t->id);
  entry->value = pt;
  e->components->transforms[index] = entry;
  return true;
}

static bool add_pcollection(encoder *e, beam_pcollection *pc, size_t index) {
  PIPE(PCollection) *m = NEW(e, PIPE(PCollection), PIPE_INIT(PCOLLECTION));
  PIPE(Components__PcollectionsEntry) *entry =
      NEW(e, PIPE(Components__PcollectionsEntry), PIPE_INIT(COMPONENTS__PCOLLECTIONS_ENTRY));
  if (!m || !entry) return false;
  m->unique_name = dup(e, pc->unique_name);
  m->coder_id = (char *)intern_coder(e, pc->coder);
  m->is_bounded = e->unbounded[index] ? PIPE_ENUM(IS_BOUNDED__ENUM__UNBOUNDED) : PIPE_ENUM(IS_BOUNDED__ENUM__BOUNDED);
  m->windowing_strategy_id = dup(e, pc->windowing_strategy_id);
  if (!m->coder_id) return false;
  entry->key = dup(e, pc->id);
  entry->value = m;
  e->components->pcollections[index] = entry;
  return true;
}

static bool add_environment(encoder *e) {
  PIPE(Environment) *env = NEW(e, PIPE(Environment), PIPE_INIT(ENVIRONMENT));
  PIPE(Components__EnvironmentsEntry) *entry =
      NEW(e, PIPE(Components__EnvironmentsEntry), PIPE_INIT(COMPONENTS__ENVIRONMENTS_ENTRY));
  if (!env || !entry) return false;
  /* The local runner ignores this; portable submission replaces urn/payload. */
  env->urn = dup(e, BEAM_URN_ENV_PROCESS);
  const char *urns[64];
  size_t n_urns = beam_coder_urns(urns, 64);
  if (n_urns > 64) n_urns = 64;
  static const char *const protocols[] = {"beam:protocol:progress_reporting:v1",
                                          "beam:protocol:multi_core_bundle_processing:v1",
                                          "beam:protocol:harness_monitoring_infos:v1"};
  size_t n_protocols = sizeof protocols / sizeof *protocols;
  env->capabilities = beam_arena_calloc(e->a, n_urns + n_protocols + 1, sizeof(char *));
  if (!env->capabilities) return false;
  for (size_t i = 0; i < n_urns; i++) env->capabilities[env->n_capabilities++] = (char *)urns[i];
  for (size_t i = 0; i < n_protocols; i++)
    env->capabilities[env->n_capabilities++] = (char *)protocols[i];
  entry->key = dup(e, BEAM_ENVIRONMENT_ID);
  entry->value = env;
  e->components->environments = beam_arena_calloc(e->a, 1, sizeof *e->components->environments);
  if (!e->components->environments) return false;
  e->components->environments[0] = entry;
  e->components->n_environments = 1;
  return true;
}

/* What a runner must implement to run the pipeline: partition a stateful ParDo's input by
 * key; expand and split a splittable ParDo. */
static bool add_requirements(encoder *e, PIPE(Pipeline) *pl) {
  bool stateful = false, splittable = false;
  for (size_t i = 0; i < e->p->n_transforms; i++) {
    stateful |= e->p->transforms[i]->n_states > 0;
    splittable |= e->p->transforms[i]->splittable;
  }
  pl->requirements = beam_arena_calloc(e->a, 3, sizeof(char *));
  if (!pl->requirements) return false;
  if (stateful) pl->requirements[pl->n_requirements++] = BEAM_URN_REQUIREMENT_STATEFUL;
  if (splittable) pl->requirements[pl->n_requirements++] = BEAM_URN_REQUIREMENT_SPLITTABLE;
  return true;
}

static bool build(encoder *e, PIPE(Pipeline) *pl) {
  beam_pipeline *p = e->p;
  PIPE(Components) *c = e->components;
  c->transforms = beam_arena_calloc(e->a, p->n_transforms + 1, sizeof *c->transforms);
  c->pcollections = beam_arena_calloc(e->a, p->n_pcolls + 1, sizeof *c->pcollections);
  c->windowing_strategies = beam_arena_calloc(e->a, p->n_windowings + 1, sizeof *c->windowing_strategies);
  pl->root_transform_ids = beam_arena_calloc(e->a, p->n_transforms + 1, sizeof(char *));
  if (!c->transforms || !c->pcollections || !c->windowing_strategies || !pl->root_transform_ids)
    return false;
  for (size_t i = 0; i < p->n_transforms; i++) {
    if (!add_transform(e, p->transforms[i], i)) return false;
    if (p->transforms[i]->is_root)
      pl->root_transform_ids[pl->n_root_transform_ids++] = (char *)p->transforms[i]->id;
  }
  c->n_transforms = p->n_transforms;
  for (size_t i = 0; i < p->n_pcolls; i++)
    if (!add_pcollection(e, p->pcolls[i], i)) return false;
  c->n_pcollections = p->n_pcolls;
  for (size_t i = 0; i < p->n_windowings; i++)
    if (!add_windowing(e, p->windowings[i], i)) return false;
  c->n_windowing_strategies = p->n_windowings;
  return add_requirements(e, pl) && add_environment(e);
}

beam_status beam_pipeline_encode(beam_pipeline *p, beam_buf *out, beam_error *err) {
  if (p->error.code != BEAM_OK)
    return beam_error_set(err, p->error.code, "pipeline construction failed: %s", p->error.message);
  beam_arena a = BEAM_ARENA_INIT;
  PIPE(Pipeline) pl = PIPE_INIT(PIPELINE);
  PIPE(Components) components = PIPE_INIT(COMPONENTS);
  pl.components = &components;
  encoder e = {.p = p, .a = &a, .components = &components};
  /* Coder ids are per encode: clear ids left by an earlier call. */
  for (size_t i = 0; i < p->n_pcolls; i++) p->pcolls[i]->coder->id = NULL;
  beam_status s = beam_pipeline_check_unbounded_grouping(p, err);
  if (s != BEAM_OK) {
    beam_arena_free(&a);
    return s;
  }
  bool *unbounded = beam_pipeline_unbounded_flags(p);
  e.unbounded = unbounded;
  if (!unbounded || !build(&e, &pl)) {
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory encoding the pipeline");
  } else {
    size_t len = PIPE_FN(pipeline__get_packed_size)(&pl);
    beam_buf_reset(out);
    s = beam_buf_reserve(out, len);
    if (s == BEAM_OK) out->len = PIPE_FN(pipeline__pack)(&pl, out->data);
    else beam_error_set(err, s, "out of memory encoding the pipeline");
  }
  free(unbounded);
  beam_arena_free(&a);
  return s;
}

beam_status beam_pipeline_dump(beam_pipeline *p, const char *path, beam_error *err) {
  beam_buf buf = BEAM_BUF_INIT;
  beam_status s = beam_pipeline_encode(p, &buf, err);
  if (s == BEAM_OK) {
    FILE *f = fopen(path, "wb");
    if (!f) {
      s = beam_error_set(err, BEAM_ERR_IO, "cannot write pipeline to %s: %m", path);
    } else {
      bool ok = fwrite(buf.data, 1, buf.len, f) == buf.len;
      ok = (fclose(f) == 0) && ok;
      if (!ok) s = beam_error_set(err, BEAM_ERR_IO, "error writing pipeline to %s: %m", path);
    }
  }
  beam_buf_free(&buf);
  return s;
}
