/* Pipeline construction: builds a real Beam Runner API Pipeline proto.
 *
 * Errors are sticky: a construction call that fails returns NULL (or an error status),
 * records the first error in the pipeline, and later calls become no-ops, so a program can
 * build the whole graph and check beam_pipeline_error() once. */
#ifndef BEAM_PIPELINE_H
#define BEAM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/buf.h"
#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct beam_pipeline beam_pipeline;
typedef struct beam_pcollection beam_pcollection;
/* A coder description (URN, payload, components) owned by the pipeline. */
typedef struct beam_coder_spec beam_coder_spec;

/* An empty pipeline (NULL when out of memory), and its release with everything built in it. */
beam_pipeline *beam_pipeline_new(void);
void beam_pipeline_free(beam_pipeline *p);
/* The first construction error, or NULL. */
const beam_error *beam_pipeline_error(const beam_pipeline *p);

/* --- coders ------------------------------------------------------------------------------ */
beam_coder_spec *beam_coder_spec_new(beam_pipeline *p, const char *urn, const void *payload,
                                     size_t payload_len, beam_coder_spec *const *components,
                                     size_t n_components);
beam_coder_spec *beam_coder_spec_bytes(beam_pipeline *p);
beam_coder_spec *beam_coder_spec_string(beam_pipeline *p);
beam_coder_spec *beam_coder_spec_varint(beam_pipeline *p);
beam_coder_spec *beam_coder_spec_double(beam_pipeline *p);
beam_coder_spec *beam_coder_spec_bool(beam_pipeline *p);
beam_coder_spec *beam_coder_spec_kv(beam_pipeline *p, beam_coder_spec *key, beam_coder_spec *value);
beam_coder_spec *beam_coder_spec_iterable(beam_pipeline *p, beam_coder_spec *elem);
/* beam-c's self-describing coder (beam:coder:c:value:v1): any plain beam_value. */
beam_coder_spec *beam_coder_spec_value(beam_pipeline *p);
/* payload: a serialized Beam Schema proto. */
beam_coder_spec *beam_coder_spec_row(beam_pipeline *p, const void *schema_proto, size_t len);

/* --- transforms ------------------------------------------------------------------------- */
beam_pcollection *beam_impulse(beam_pipeline *p, const char *name);

/* A Pub/Sub read (Beam's PubSubReadPayload), executed by the runner itself: Dataflow's
 * streaming Pub/Sub source. Exactly one of subscription and topic (the runner then makes a
 * subscription of its own). Strings are copied. */
typedef struct beam_pubsub_read_spec {
  const char *subscription;        /* projects/P/subscriptions/S */
  const char *topic;               /* projects/P/topics/T */
  const char *timestamp_attribute; /* element timestamps from this attribute; NULL: publish time */
  const char *id_attribute;        /* the runner dedupes on this attribute; NULL: message id */
  /* true: elements are serialized google.pubsub.v1.PubsubMessage protos (data, attributes,
   * message_id, publish_time); false: the message data only. */
  bool with_attributes;
} beam_pubsub_read_spec;

/* Reads a Pub/Sub subscription or topic: an unbounded PCollection of bytes. Everything
 * computed from an unbounded PCollection is unbounded (is_bounded UNBOUNDED in the proto,
 * and a Dataflow submission becomes a streaming job); a GroupByKey of such a PCollection in
 * the global window would never fire, so beam_pipeline_encode refuses it. The local runner
 * does not execute this transform. */
beam_pcollection *beam_pubsub_read(beam_pipeline *p, const char *name, const beam_pubsub_read_spec *spec);

/* Reads a beam:transform:pubsub_read:v1 payload (a serialized PubSubReadPayload, what
 * beam_pubsub_read encodes and a runner hands to the source that executes the read) into
 * *out; its strings live in arena, and absent ones are NULL. BEAM_ERR_MALFORMED when the
 * bytes are not a PubSubReadPayload; BEAM_ERR_INVALID_ARG when it names neither a
 * subscription nor a topic, or both. */
beam_status beam_pubsub_read_payload_decode(const uint8_t *payload, size_t len, beam_arena *arena,
                                            beam_pubsub_read_spec *out, beam_error *err);

/* How a DoFn reads a side input (Beam's access patterns). */
typedef enum beam_side_input_access {
  BEAM_SIDE_INPUT_ITERABLE = 0, /* read whole with beam_dofn_side_input (beam:side_input:iterable:v1) */
  BEAM_SIDE_INPUT_MULTIMAP,     /* a KV PCollection looked up by key with beam_dofn_side_input_lookup
                                 * (beam:side_input:multimap:v1) */
} beam_side_input_access;

typedef struct beam_side_input_spec {
  const char *local_name;   /* what the DoFn asks for with beam_dofn_side_input(_lookup) */
  beam_pcollection *pcoll;
  beam_side_input_access access; /* zero: iterable */
} beam_side_input_spec;

/* A named bag of user state (beam:user_state:bag:v1): per key and window of a stateful
 * ParDo, whose main input must then have a KV coder. */
typedef struct beam_state_spec {
  const char *name;               /* what the DoFn asks for with beam_dofn_state_bag_* */
  beam_coder_spec *element_coder; /* the coder of the bag's elements */
} beam_state_spec;

typedef struct beam_pardo_spec {
  const char *dofn;          /* registered DoFn name */
  const char *config_json;   /* JSON object text, or NULL for {} */
  size_t n_outputs;          /* >= 1; output 0 is the main output */
  const char *const *output_tags;            /* n_outputs tags; NULL means {"main", "out1", ...} */
  beam_coder_spec *const *output_coders;     /* n_outputs coders */
  const beam_side_input_spec *side_inputs;
  size_t n_side_inputs;
  const beam_state_spec *states; /* user state: makes the ParDo stateful (keyed) */
  size_t n_states;
} beam_pardo_spec;

/* Adds a ParDo; fills outputs[0..n_outputs-1]. Returns BEAM_OK or the (sticky) error. */
beam_status beam_pardo(beam_pipeline *p, const char *name, beam_pcollection *input,
                       const beam_pardo_spec *spec, beam_pcollection **outputs);
/* Adds a splittable ParDo: spec->dofn names a DoFn registered with
 * beam_dofn_register_splittable. Its payload names restriction_coder_id, the coder of
 * KV(restriction, watermark estimator state) = KV<KV<varint start, varint end>, bool>, and the
 * pipeline declares beam:requirement:pardo:splittable_dofn:v1, so runners expand it into
 * pair-with-restriction, split-and-size and process steps and may split its work. */
beam_status beam_splittable_pardo(beam_pipeline *p, const char *name, beam_pcollection *input,
                                  const beam_pardo_spec *spec, beam_pcollection **outputs);
/* Single-output convenience. */
beam_pcollection *beam_pardo1(beam_pipeline *p, const char *name, beam_pcollection *input,
                              const char *dofn, const char *config_json, beam_coder_spec *out_coder);
/* Input must have a KV coder; output is KV<K, iterable<V>>. */
beam_pcollection *beam_group_by_key(beam_pipeline *p, const char *name, beam_pcollection *input);
/* Input KV<K, V>; output KV<K, OUT>. */
beam_pcollection *beam_combine_per_key(beam_pipeline *p, const char *name, beam_pcollection *input,
                                       const char *combinefn, const char *config_json,
                                       beam_coder_spec *accumulator_coder,
                                       beam_coder_spec *output_coder);
beam_pcollection *beam_flatten(beam_pipeline *p, const char *name, beam_pcollection *const *inputs,
                               size_t n_inputs);
beam_pcollection *beam_window_into_global(beam_pipeline *p, const char *name, beam_pcollection *input);
beam_pcollection *beam_window_into_fixed(beam_pipeline *p, const char *name, beam_pcollection *input,
                                         int64_t size_ms, int64_t offset_ms);

/* The element coder of pc. */
beam_coder_spec *beam_pcollection_coder(const beam_pcollection *pc);
/* pc's id in the pipeline proto. */
const char *beam_pcollection_id(const beam_pcollection *pc);
/* The unique name it was given at construction (its id when it has none). */
const char *beam_pcollection_name(const beam_pcollection *pc);
/* True when pc is computed from an unbounded source (beam_pubsub_read). */
bool beam_pcollection_is_unbounded(const beam_pipeline *p, const beam_pcollection *pc);

/* --- output ---------------------------------------------------------------------------- */
/* Serialized org.apache.beam.model.pipeline.v1.Pipeline. */
beam_status beam_pipeline_encode(beam_pipeline *p, beam_buf *out, beam_error *err);
/* Writes the encoded Pipeline proto to path (what --dump_pipeline=FILE does). */
beam_status beam_pipeline_dump(beam_pipeline *p, const char *path, beam_error *err);

#ifdef __cplusplus
}
#endif
#endif
