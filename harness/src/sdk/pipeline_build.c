/* Pipeline construction: transforms, PCollections and windowing into the in-memory model. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "beam/urns.h"
#include "pipeline_model.h"

beam_pipeline *beam_pipeline_new(void) {
  beam_pipeline *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  beam_model_windowing *w = beam_arena_calloc(&p->arena, 1, sizeof *w);
  p->windowings = calloc(4, sizeof *p->windowings);
  if (!w || !p->windowings) {
    beam_pipeline_free(p);
    return NULL;
  }
  w->id = BEAM_GLOBAL_WINDOWING_ID;
  p->windowings[0] = w;
  p->n_windowings = 1;
  p->cap_windowings = 4;
  return p;
}

void beam_pipeline_free(beam_pipeline *p) {
  if (!p) return;
  free(p->transforms);
  free(p->pcolls);
  free(p->windowings);
  beam_arena_free(&p->arena);
  free(p);
}

const beam_error *beam_pipeline_error(const beam_pipeline *p) {
  return p->error.code == BEAM_OK ? NULL : &p->error;
}

beam_status beam_pipeline_fail(beam_pipeline *p, beam_status code, const char *fmt, ...) {
  if (p->error.code != BEAM_OK) return p->error.code;
  va_list ap;
  va_start(ap, fmt);
  beam_error_vset(&p->error, code, fmt, ap);
  va_end(ap);
  return code;
}

static bool push(void ***items, size_t *n, size_t *cap, void *item) {
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    void **grown = realloc(*items, ncap * sizeof *grown);
    if (!grown) return false;
    *items = grown;
    *cap = ncap;
  }
  (*items)[(*n)++] = item;
  return true;
}

static const char *fresh_id(beam_pipeline *p, const char *prefix) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s%u", prefix, p->next_id++);
  return beam_arena_strdup(&p->arena, buf);
}

/* The transform with that id (a transform's id is its unique name), or NULL. */
static beam_model_transform *find_transform(const beam_pipeline *p, const char *id) {
  for (size_t i = 0; i < p->n_transforms; i++)
    if (strcmp(p->transforms[i]->id, id) == 0) return p->transforms[i];
  return NULL;
}

/* A new transform named `name`, or NULL with the pipeline error set. */
static beam_model_transform *new_transform(beam_pipeline *p, const char *name, const char *urn) {
  if (p->error.code != BEAM_OK) return NULL;
  if (!name || !*name) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "transform with urn %s has no name", urn);
    return NULL;
  }
  if (find_transform(p, name)) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "duplicate transform name \"%s\"", name);
    return NULL;
  }
  beam_model_transform *t = beam_arena_calloc(&p->arena, 1, sizeof *t);
  if (!t || !(t->id = beam_arena_strdup(&p->arena, name)) ||
      !push((void ***)&p->transforms, &p->n_transforms, &p->cap_transforms, t)) {
    beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory adding transform \"%s\"", name);
    return NULL;
  }
  t->urn = urn;
  t->is_root = true;
  return t;
}

static bool set_payload(beam_pipeline *p, beam_model_transform *t, const void *data, size_t len) {
  uint8_t *copy = beam_arena_alloc(&p->arena, len ? len : 1);
  if (!copy) return false;
  if (len) memcpy(copy, data, len);
  t->payload = copy;
  t->payload_len = len;
  return true;
}

static beam_pcollection *new_pcollection(beam_pipeline *p, beam_model_transform *producer,
                                         const char *tag, beam_coder_spec *coder,
                                         const char *windowing_id) {
  beam_pcollection *pc = beam_arena_calloc(&p->arena, 1, sizeof *pc);
  char name[512];
  snprintf(name, sizeof name, "%s.%s", producer->id, tag);
  if (!pc || !(pc->unique_name = beam_arena_strdup(&p->arena, name)) ||
      !push((void ***)&p->pcolls, &p->n_pcolls, &p->cap_pcolls, pc)) {
    beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory adding PCollection %s", name);
    return NULL;
  }
  pc->id = fresh_id(p, "pc");
  pc->coder = coder;
  pc->windowing_strategy_id = windowing_id;
  return pc;
}

static bool set_ids(beam_pipeline *p, beam_named_id **out, size_t *n_out, size_t n) {
  *out = beam_arena_calloc(&p->arena, n ? n : 1, sizeof **out);
  *n_out = n;
  return *out != NULL;
}

/* Adds output `tag` to t; returns the PCollection. */
static beam_pcollection *add_output(beam_pipeline *p, beam_model_transform *t, size_t index,
                                    const char *tag, beam_coder_spec *coder, const char *windowing_id) {
  beam_pcollection *pc = new_pcollection(p, t, tag, coder, windowing_id);
  if (!pc) return NULL;
  t->outputs[index].name = beam_arena_strdup(&p->arena, tag);
  t->outputs[index].id = pc->id;
  return pc;
}

static bool check_input(beam_pipeline *p, const char *transform, const beam_pcollection *in) {
  if (p->error.code != BEAM_OK) return false;
  if (!in) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "transform \"%s\": input PCollection is NULL", transform);
    return false;
  }
  return true;
}

beam_pcollection *beam_impulse(beam_pipeline *p, const char *name) {
  beam_model_transform *t = new_transform(p, name, BEAM_URN_IMPULSE);
  if (!t || !set_ids(p, &t->outputs, &t->n_outputs, 1)) return NULL;
  return add_output(p, t, 0, "out", beam_coder_spec_bytes(p), BEAM_GLOBAL_WINDOWING_ID);
}

static const char *arena_strdup_or_null(beam_pipeline *p, const char *s) {
  return s && *s ? beam_arena_strdup(&p->arena, s) : NULL;
}

beam_pcollection *beam_pubsub_read(beam_pipeline *p, const char *name, const beam_pubsub_read_spec *spec) {
  if (p->error.code != BEAM_OK) return NULL;
  bool sub = spec && spec->subscription && *spec->subscription, topic = spec && spec->topic && *spec->topic;
  if (sub == topic) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "Pub/Sub read \"%s\" needs a subscription or a topic, not %s",
                       name ? name : "", sub ? "both" : "neither");
    return NULL;
  }
  beam_model_transform *t = new_transform(p, name, BEAM_URN_PUBSUB_READ);
  beam_pubsub_read_spec *copy = t ? beam_arena_calloc(&p->arena, 1, sizeof *copy) : NULL;
  if (!copy || !set_ids(p, &t->outputs, &t->n_outputs, 1)) return NULL;
  copy->subscription = arena_strdup_or_null(p, spec->subscription);
  copy->topic = arena_strdup_or_null(p, spec->topic);
  copy->timestamp_attribute = arena_strdup_or_null(p, spec->timestamp_attribute);
  copy->id_attribute = arena_strdup_or_null(p, spec->id_attribute);
  copy->with_attributes = spec->with_attributes;
  t->pubsub = copy;
  return add_output(p, t, 0, "out", beam_coder_spec_bytes(p), BEAM_GLOBAL_WINDOWING_ID);
}

static const char *default_tag(beam_pipeline *p, size_t i) {
  if (i == 0) return "main";
  char buf[32];
  snprintf(buf, sizeof buf, "out%zu", i);
  return beam_arena_strdup(&p->arena, buf);
}

/* Payload of our functions: JSON {"fn": name, "config": <object>, "outputs": [tags]}. The
 * output order is what the DoFn's output indexes mean, whatever order a runner keeps the
 * transform's output map in. */
static char *c_fn_payload(beam_pipeline *p, const char *fn, const char *config_json,
                          const char *const *tags, size_t n_tags, size_t *len) {
  json_error_t jerr;
  json_t *config = config_json ? json_loads(config_json, 0, &jerr) : json_object();
  if (!config || !json_is_object(config)) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "config of %s is not a JSON object: %s", fn,
                       config ? "not an object" : jerr.text);
    json_decref(config);
    return NULL;
  }
  json_t *outputs = json_array();
  for (size_t i = 0; i < n_tags; i++) json_array_append_new(outputs, json_string(tags[i]));
  json_t *obj = json_pack("{s:s, s:o, s:o}", "fn", fn, "config", config, "outputs", outputs);
  char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(obj);
  if (!text) {
    beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory encoding payload of %s", fn);
    return NULL;
  }
  char *copy = beam_arena_strdup(&p->arena, text);
  free(text);
  *len = strlen(copy);
  return copy;
}

static bool is_kv_coder(const beam_coder_spec *c) {
  return c && strcmp(c->urn, BEAM_URN_CODER_KV) == 0 && c->n_components == 2;
}

/* Bag user states make the ParDo stateful: state is per key, so the main input must be KV
 * (the runner then partitions it by key before the ParDo). */
static bool add_states(beam_pipeline *p, const char *name, beam_model_transform *t, const beam_pcollection *input,
                       const beam_pardo_spec *spec) {
  if (!is_kv_coder(input->coder)) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "ParDo \"%s\" has user state, so its input %s must have a KV coder",
                       name, input->unique_name);
    return false;
  }
  t->state_names = beam_arena_calloc(&p->arena, spec->n_states + 1, sizeof *t->state_names);
  t->state_coders = beam_arena_calloc(&p->arena, spec->n_states + 1, sizeof *t->state_coders);
  if (!t->state_names || !t->state_coders) {
    beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory");
    return false;
  }
  for (size_t i = 0; i < spec->n_states; i++) {
    const beam_state_spec *st = &spec->states[i];
    if (!st->name || !st->name[0] || !st->element_coder) {
      beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "ParDo \"%s\": state %zu needs a name and an element coder", name, i);
      return false;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(t->state_names[j], st->name) == 0) {
        beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "ParDo \"%s\": state \"%s\" declared twice", name, st->name);
        return false;
      }
    t->state_names[i] = beam_arena_strdup(&p->arena, st->name);
    t->state_coders[i] = st->element_coder;
    if (!t->state_names[i]) {
      beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory");
      return false;
    }
  }
  t->n_states = spec->n_states;
  return true;
}

beam_status beam_pardo(beam_pipeline *p, const char *name, beam_pcollection *input,
                       const beam_pardo_spec *spec, beam_pcollection **outputs) {
  if (!check_input(p, name, input)) return p->error.code;
  if (spec->n_outputs == 0 || !spec->output_coders)
    return beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "ParDo \"%s\" needs at least one output coder", name);
  beam_model_transform *t = new_transform(p, name, BEAM_URN_PARDO);
  if (!t) return p->error.code;
  const char **tags = beam_arena_calloc(&p->arena, spec->n_outputs, sizeof *tags);
  if (!tags) return beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < spec->n_outputs; i++)
    tags[i] = spec->output_tags ? spec->output_tags[i] : default_tag(p, i);
  size_t fn_len = 0;
  char *fn = c_fn_payload(p, spec->dofn, spec->config_json, tags, spec->n_outputs, &fn_len);
  if (!fn || !set_payload(p, t, fn, fn_len)) return beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory");
  t->has_environment = true;
  if (!set_ids(p, &t->inputs, &t->n_inputs, 1 + spec->n_side_inputs) ||
      !set_ids(p, &t->outputs, &t->n_outputs, spec->n_outputs))
    return beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory");
  t->inputs[0].name = "main";
  t->inputs[0].id = input->id;
  t->side_input_names = beam_arena_calloc(&p->arena, spec->n_side_inputs + 1, sizeof(char *));
  t->side_input_multimap = beam_arena_calloc(&p->arena, spec->n_side_inputs + 1, sizeof(bool));
  if (!t->side_input_names || !t->side_input_multimap) return beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < spec->n_side_inputs; i++) {
    const beam_side_input_spec *si = &spec->side_inputs[i];
    if (!check_input(p, name, si->pcoll)) return p->error.code;
    t->side_input_multimap[i] = si->access == BEAM_SIDE_INPUT_MULTIMAP;
    if (t->side_input_multimap[i] && !is_kv_coder(si->pcoll->coder))
      return beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG,
                                "ParDo \"%s\": multimap side input \"%s\" (%s) must have a KV coder", name,
                                si->local_name, si->pcoll->unique_name);
    t->inputs[1 + i].name = beam_arena_strdup(&p->arena, si->local_name);
    t->inputs[1 + i].id = si->pcoll->id;
    t->side_input_names[i] = t->inputs[1 + i].name;
  }
  t->n_side_inputs = spec->n_side_inputs;
  if (spec->n_states && !add_states(p, name, t, input, spec)) return p->error.code;
  for (size_t i = 0; i < spec->n_outputs; i++) {
    outputs[i] = add_output(p, t, i, tags[i], spec->output_coders[i], input->windowing_strategy_id);
    if (!outputs[i]) return p->error.code;
  }
  return BEAM_OK;
}

beam_status beam_splittable_pardo(beam_pipeline *p, const char *name, beam_pcollection *input,
                                  const beam_pardo_spec *spec, beam_pcollection **outputs) {
  if (spec->n_states)
    return beam_pipeline_fail(p, BEAM_ERR_UNSUPPORTED, "ParDo \"%s\": a splittable DoFn cannot have user state", name);
  beam_status s = beam_pardo(p, name, input, spec, outputs);
  if (s == BEAM_OK) p->transforms[p->n_transforms - 1]->splittable = true;
  return s;
}

beam_pcollection *beam_pardo1(beam_pipeline *p, const char *name, beam_pcollection *input,
                              const char *dofn, const char *config_json, beam_coder_spec *out_coder) {
  beam_pardo_spec spec = {.dofn = dofn, .config_json = config_json, .n_outputs = 1,
                          .output_coders = &out_coder};
  beam_pcollection *out = NULL;
  return beam_pardo(p, name, input, &spec, &out) == BEAM_OK ? out : NULL;
}

static beam_coder_spec *grouped_coder(beam_pipeline *p, const char *name, beam_pcollection *input) {
  beam_coder_spec *kv = input->coder;
  if (!kv || strcmp(kv->urn, BEAM_URN_CODER_KV) != 0 || kv->n_components != 2) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "\"%s\": input %s must have a KV coder", name,
                       input->unique_name);
    return NULL;
  }
  return beam_coder_spec_kv(p, kv->components[0], beam_coder_spec_iterable(p, kv->components[1]));
}

beam_pcollection *beam_group_by_key(beam_pipeline *p, const char *name, beam_pcollection *input) {
  if (!check_input(p, name, input)) return NULL;
  beam_coder_spec *out_coder = grouped_coder(p, name, input);
  beam_model_transform *t = out_coder ? new_transform(p, name, BEAM_URN_GBK) : NULL;
  if (!t || !set_ids(p, &t->inputs, &t->n_inputs, 1) || !set_ids(p, &t->outputs, &t->n_outputs, 1))
    return NULL;
  t->inputs[0].name = "in";
  t->inputs[0].id = input->id;
  return add_output(p, t, 0, "out", out_coder, input->windowing_strategy_id);
}

beam_pcollection *beam_flatten(beam_pipeline *p, const char *name, beam_pcollection *const *inputs,
                               size_t n_inputs) {
  if (p->error.code != BEAM_OK) return NULL;
  if (n_inputs == 0) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "Flatten \"%s\" has no inputs", name);
    return NULL;
  }
  for (size_t i = 0; i < n_inputs; i++)
    if (!check_input(p, name, inputs[i])) return NULL;
  beam_model_transform *t = new_transform(p, name, BEAM_URN_FLATTEN);
  if (!t || !set_ids(p, &t->inputs, &t->n_inputs, n_inputs) || !set_ids(p, &t->outputs, &t->n_outputs, 1))
    return NULL;
  for (size_t i = 0; i < n_inputs; i++) {
    char tag[32];
    snprintf(tag, sizeof tag, "in%zu", i);
    t->inputs[i].name = beam_arena_strdup(&p->arena, tag);
    t->inputs[i].id = inputs[i]->id;
  }
  return add_output(p, t, 0, "out", inputs[0]->coder, inputs[0]->windowing_strategy_id);
}

beam_pcollection *beam_combine_per_key(beam_pipeline *p, const char *name, beam_pcollection *input,
                                       const char *combinefn, const char *config_json,
                                       beam_coder_spec *accumulator_coder,
                                       beam_coder_spec *output_coder) {
  if (!check_input(p, name, input)) return NULL;
  beam_coder_spec *grouped = grouped_coder(p, name, input);
  if (!grouped) return NULL;
  beam_model_transform *t = new_transform(p, name, BEAM_URN_COMBINE_PER_KEY);
  if (!t) return NULL;
  size_t fn_len = 0;
  char *fn = c_fn_payload(p, combinefn, config_json, NULL, 0, &fn_len);
  if (!fn || !set_payload(p, t, fn, fn_len)) return NULL;
  t->has_environment = true;
  t->subtransforms = beam_arena_calloc(&p->arena, 2, sizeof(char *));
  if (!t->subtransforms || !set_ids(p, &t->inputs, &t->n_inputs, 1) ||
      !set_ids(p, &t->outputs, &t->n_outputs, 1))
    return NULL;
  t->inputs[0].name = "in";
  t->inputs[0].id = input->id;

  /* Expansion for runners that do not lift: GroupByKey then a ParDo over grouped values. */
  char sub[512];
  snprintf(sub, sizeof sub, "%s/GroupByKey", name);
  beam_pcollection *g = beam_group_by_key(p, sub, input);
  if (!g) return NULL;
  beam_model_transform *gbk = find_transform(p, sub);
  gbk->is_root = false;
  t->subtransforms[t->n_subtransforms++] = gbk->id;

  json_t *cfg = json_pack("{s:s, s:s}", "combinefn", combinefn, "config", config_json ? config_json : "{}");
  char *cfg_text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
  json_decref(cfg);
  snprintf(sub, sizeof sub, "%s/Combine", name);
  beam_coder_spec *kv_out = beam_coder_spec_kv(p, input->coder->components[0], output_coder);
  beam_pcollection *out = beam_pardo1(p, sub, g, "beam_combine_grouped_values", cfg_text, kv_out);
  free(cfg_text);
  if (!out) return NULL;
  beam_model_transform *combine = find_transform(p, sub);
  combine->is_root = false;
  t->subtransforms[t->n_subtransforms++] = combine->id;
  /* The composite's output is the inner ParDo's PCollection. */
  t->outputs[0].name = "out";
  t->outputs[0].id = out->id;
  t->accumulator_coder = accumulator_coder;
  return out;
}

static beam_pcollection *window_into(beam_pipeline *p, const char *name, beam_pcollection *input,
                                     bool fixed, int64_t size_ms, int64_t offset_ms) {
  if (!check_input(p, name, input)) return NULL;
  if (fixed && size_ms <= 0) {
    beam_pipeline_fail(p, BEAM_ERR_INVALID_ARG, "WindowInto \"%s\": window size must be positive", name);
    return NULL;
  }
  const char *ws_id = BEAM_GLOBAL_WINDOWING_ID;
  if (fixed) {
    beam_model_windowing *w = beam_arena_calloc(&p->arena, 1, sizeof *w);
    if (!w || !push((void ***)&p->windowings, &p->n_windowings, &p->cap_windowings, w)) {
      beam_pipeline_fail(p, BEAM_ERR_NOMEM, "out of memory");
      return NULL;
    }
    w->id = fresh_id(p, "fixed_windowing");
    w->fixed = true;
    w->size_ms = size_ms;
    w->offset_ms = offset_ms;
    ws_id = w->id;
  }
  beam_model_transform *t = new_transform(p, name, BEAM_URN_WINDOW_INTO);
  if (!t || !set_ids(p, &t->inputs, &t->n_inputs, 1) || !set_ids(p, &t->outputs, &t->n_outputs, 1))
    return NULL;
  t->has_environment = true;
  t->inputs[0].name = "in";
  t->inputs[0].id = input->id;
  t->windowing_id = ws_id;
  return add_output(p, t, 0, "out", input->coder, ws_id);
}

beam_pcollection *beam_window_into_global(beam_pipeline *p, const char *name, beam_pcollection *input) {
  return window_into(p, name, input, false, 0, 0);
}

beam_pcollection *beam_window_into_fixed(beam_pipeline *p, const char *name, beam_pcollection *input,
                                         int64_t size_ms, int64_t offset_ms) {
  return window_into(p, name, input, true, size_ms, offset_ms);
}

beam_coder_spec *beam_pcollection_coder(const beam_pcollection *pc) { return pc->coder; }
const char *beam_pcollection_id(const beam_pcollection *pc) { return pc->id; }
const char *beam_pcollection_name(const beam_pcollection *pc) { return pc->unique_name ? pc->unique_name : pc->id; }
