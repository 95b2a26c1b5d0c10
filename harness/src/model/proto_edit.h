/* Adding to a Components that protobuf-c unpacked with its default allocator (malloc): every
 * string, message and array added here is malloc'd too, so the *__free_unpacked call that
 * frees the unpacked message frees the additions with it. For rewriting a pipeline before
 * it runs (the local runner's expansion of splittable ParDos). */
#ifndef BEAM_PROTO_EDIT_H
#define BEAM_PROTO_EDIT_H

#include <stddef.h>

#include "beam/status.h"
#include "proto_names.h"

/* Adds coder id = urn(components...) unless c already has a coder with that id. */
beam_status beam_proto_add_coder(PIPE(Components) *c, const char *id, const char *urn, const char *const *components,
                                 size_t n_components, beam_error *err);
/* Adds PCollection id with coder_id, its boundedness and windowing strategy those of like. */
beam_status beam_proto_add_pcollection(PIPE(Components) *c, const char *id, const char *coder_id,
                                       const PIPE(PCollection) *like, beam_error *err);
/* Adds an empty PTransform id (unique name id, spec urn and a copy of payload, environment
 * environment_id) and returns it in *out for its inputs and outputs. */
beam_status beam_proto_add_transform(PIPE(Components) *c, const char *id, const char *urn, const uint8_t *payload,
                                     size_t payload_len, const char *environment_id, PIPE(PTransform) **out,
                                     beam_error *err);
/* Adds key -> value to the transform's inputs (or outputs). */
beam_status beam_proto_add_input(PIPE(PTransform) *t, const char *key, const char *value, beam_error *err);
beam_status beam_proto_add_output(PIPE(PTransform) *t, const char *key, const char *value, beam_error *err);
/* Replaces the string *field (an unpacked message's) with a copy of value. */
beam_status beam_proto_set_string(char **field, const char *value, beam_error *err);
/* Appends a copy of s to a repeated string field. */
beam_status beam_proto_add_string(char ***items, size_t *n, const char *s, beam_error *err);

#endif
