/* Additions to unpacked Components (see proto_edit.h). */
#include <stdlib.h>
#include <string.h>

#include "proto_edit.h"
#include "proto_lookup.h"

static beam_status nomem(beam_error *err) { return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory editing a pipeline"); }

/* A malloc'd message initialized from init. */
static void *new_message(const void *init, size_t size) {
  void *m = malloc(size);
  if (m) memcpy(m, init, size);
  return m;
}

/* Appends item to a malloc'd array of pointers. */
static beam_status append(void ***items, size_t *n, void *item, beam_error *err) {
  void **grown = realloc(*items, (*n + 1) * sizeof *grown);
  if (!grown) return nomem(err);
  grown[(*n)++] = item;
  *items = grown;
  return BEAM_OK;
}

beam_status beam_proto_set_string(char **field, const char *value, beam_error *err) {
  char *copy = strdup(value ? value : "");
  if (!copy) return nomem(err);
  if (*field && *field != protobuf_c_empty_string) free(*field); /* the empty default is static */
  *field = copy;
  return BEAM_OK;
}

beam_status beam_proto_add_string(char ***items, size_t *n, const char *s, beam_error *err) {
  char *copy = strdup(s);
  if (!copy) return nomem(err);
  beam_status st = append((void ***)items, n, copy, err);
  if (st != BEAM_OK) free(copy);
  return st;
}

beam_status beam_proto_add_coder(PIPE(Components) *c, const char *id, const char *urn, const char *const *components,
                                 size_t n_components, beam_error *err) {
  if (beam_proto_find_coder(c, id)) return BEAM_OK;
  PIPE(Components__CodersEntry) *entry = new_message(&(PIPE(Components__CodersEntry))PIPE_INIT(COMPONENTS__CODERS_ENTRY), sizeof *entry);
  PIPE(Coder) *coder = new_message(&(PIPE(Coder))PIPE_INIT(CODER), sizeof *coder);
  PIPE(FunctionSpec) *spec = new_message(&(PIPE(FunctionSpec))PIPE_INIT(FUNCTION_SPEC), sizeof *spec);
  if (entry) entry->value = coder;
  if (coder) coder->spec = spec;
  beam_status s = entry && coder && spec ? BEAM_OK : nomem(err);
  if (s == BEAM_OK) s = beam_proto_set_string(&entry->key, id, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&spec->urn, urn, err);
  for (size_t i = 0; s == BEAM_OK && i < n_components; i++)
    s = beam_proto_add_string(&coder->component_coder_ids, &coder->n_component_coder_ids, components[i], err);
  if (s == BEAM_OK) s = append((void ***)&c->coders, &c->n_coders, entry, err);
  if (s != BEAM_OK) {
    if (entry) protobuf_c_message_free_unpacked(&entry->base, NULL);
    else {
      free(coder);
      free(spec);
    }
  }
  return s;
}

beam_status beam_proto_add_pcollection(PIPE(Components) *c, const char *id, const char *coder_id,
                                       const PIPE(PCollection) *like, beam_error *err) {
  PIPE(Components__PcollectionsEntry) *entry =
      new_message(&(PIPE(Components__PcollectionsEntry))PIPE_INIT(COMPONENTS__PCOLLECTIONS_ENTRY), sizeof *entry);
  PIPE(PCollection) *pc = new_message(&(PIPE(PCollection))PIPE_INIT(PCOLLECTION), sizeof *pc);
  if (entry) entry->value = pc;
  beam_status s = entry && pc ? BEAM_OK : nomem(err);
  if (s == BEAM_OK) s = beam_proto_set_string(&entry->key, id, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&pc->unique_name, id, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&pc->coder_id, coder_id, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&pc->windowing_strategy_id, like->windowing_strategy_id, err);
  if (s == BEAM_OK) {
    pc->is_bounded = like->is_bounded;
    s = append((void ***)&c->pcollections, &c->n_pcollections, entry, err);
  }
  if (s != BEAM_OK) {
    if (entry) protobuf_c_message_free_unpacked(&entry->base, NULL);
    else free(pc);
  }
  return s;
}

beam_status beam_proto_add_transform(PIPE(Components) *c, const char *id, const char *urn, const uint8_t *payload,
                                     size_t payload_len, const char *environment_id, PIPE(PTransform) **out,
                                     beam_error *err) {
  PIPE(Components__TransformsEntry) *entry =
      new_message(&(PIPE(Components__TransformsEntry))PIPE_INIT(COMPONENTS__TRANSFORMS_ENTRY), sizeof *entry);
  PIPE(PTransform) *t = new_message(&(PIPE(PTransform))PIPE_INIT(PTRANSFORM), sizeof *t);
  PIPE(FunctionSpec) *spec = new_message(&(PIPE(FunctionSpec))PIPE_INIT(FUNCTION_SPEC), sizeof *spec);
  if (entry) entry->value = t;
  if (t) t->spec = spec;
  beam_status s = entry && t && spec ? BEAM_OK : nomem(err);
  if (s == BEAM_OK && payload_len) {
    spec->payload.data = malloc(payload_len);
    if (spec->payload.data) {
      memcpy(spec->payload.data, payload, payload_len);
      spec->payload.len = payload_len;
    } else {
      s = nomem(err);
    }
  }
  if (s == BEAM_OK) s = beam_proto_set_string(&entry->key, id, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&t->unique_name, id, err);
  if (s == BEAM_OK) s = beam_proto_set_string(&spec->urn, urn, err);
  if (s == BEAM_OK && environment_id) s = beam_proto_set_string(&t->environment_id, environment_id, err);
  if (s == BEAM_OK) s = append((void ***)&c->transforms, &c->n_transforms, entry, err);
  if (s != BEAM_OK) {
    if (entry) protobuf_c_message_free_unpacked(&entry->base, NULL);
    else {
      free(t);
      free(spec);
    }
    return s;
  }
  *out = t;
  return BEAM_OK;
}

#define ADD_STRING_ENTRY(type, INIT, items, n, k, v, err)                    \
  do {                                                                                \
    type *e_ = new_message(&(type)INIT, sizeof(type));                                \
    beam_status s_ = e_ ? BEAM_OK : nomem(err);                                       \
    if (s_ == BEAM_OK) s_ = beam_proto_set_string(&e_->key, k, err);                  \
    if (s_ == BEAM_OK) s_ = beam_proto_set_string(&e_->value, v, err);                \
    if (s_ == BEAM_OK) s_ = append((void ***)&(items), &(n), e_, err);                \
    if (s_ != BEAM_OK && e_) protobuf_c_message_free_unpacked(&e_->base, NULL);                                       \
    return s_;                                                                        \
  } while (0)

beam_status beam_proto_add_input(PIPE(PTransform) *t, const char *key, const char *value, beam_error *err) {
  ADD_STRING_ENTRY(PIPE(PTransform__InputsEntry), PIPE_INIT(PTRANSFORM__INPUTS_ENTRY), t->inputs, t->n_inputs, key, value, err);
}

beam_status beam_proto_add_output(PIPE(PTransform) *t, const char *key, const char *value, beam_error *err) {
  ADD_STRING_ENTRY(PIPE(PTransform__OutputsEntry), PIPE_INIT(PTRANSFORM__OUTPUTS_ENTRY), t->outputs, t->n_outputs, key, value, err);
}
