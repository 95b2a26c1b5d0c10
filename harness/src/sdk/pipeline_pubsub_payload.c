/* Decoding a beam:transform:pubsub_read:v1 payload (beam_pubsub_read_payload_decode), for
 * whatever executes the read: the local runner's stream source lives in another library,
 * which sees only public headers, so the proto stays here. */
#include <string.h>

#include "beam/pipeline.h"
#include "proto_names.h"

/* An absent proto3 string is "": NULL in the spec, as beam_pubsub_read takes it. */
static const char *copy_or_null(beam_arena *arena, const char *s, bool *nomem) {
  if (!s || !*s) return NULL;
  char *copy = beam_arena_strdup(arena, s);
  if (!copy) *nomem = true;
  return copy;
}

beam_status beam_pubsub_read_payload_decode(const uint8_t *payload, size_t len, beam_arena *arena,
                                            beam_pubsub_read_spec *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  PIPE(PubSubReadPayload) *p = PIPE_FN(pub_sub_read_payload__unpack)(NULL, len, payload);
  if (!p) return beam_error_set(err, BEAM_ERR_MALFORMED, "the Pub/Sub read's payload is not a PubSubReadPayload");
  bool nomem = false;
  out->subscription = copy_or_null(arena, p->subscription, &nomem);
  out->topic = copy_or_null(arena, p->topic, &nomem);
  out->timestamp_attribute = copy_or_null(arena, p->timestamp_attribute, &nomem);
  out->id_attribute = copy_or_null(arena, p->id_attribute, &nomem);
  out->with_attributes = p->with_attributes;
  PIPE_FN(pub_sub_read_payload__free_unpacked)(p, NULL);
  if (nomem) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (!out->subscription == !out->topic)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the Pub/Sub read's payload names %s",
                          out->subscription ? "both a subscription and a topic" : "neither a subscription nor a topic");
  return BEAM_OK;
}
