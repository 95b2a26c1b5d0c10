/* Beam standard coders: encode beam_values to Beam's wire format and back.
 *
 * A beam_coder is built once (from a URN, a payload and component coders, or from a
 * Runner API Components map) and is then immutable: it can be shared by many threads.
 * Built coders are reference counted; beam_coder_build retains its components, so the
 * caller frees its own references with beam_coder_free whenever it likes.
 *
 * Context: Beam encodes a value either "nested" (inside something else, so it must be
 * self-delimiting) or "outer" (the value owns the rest of the stream). Only a few coders
 * care: bytes and string_utf8 are length-prefixed only when nested; kv passes the context
 * to its value (the key is always nested); windowed_value passes it to its value;
 * everything inside an iterable, row, timer or sharded key is nested; length_prefix always
 * prefixes and decodes its component in the outer context of the prefixed bytes.
 *
 * Values (see value.h) by URN:
 *   bytes -> BYTES, string_utf8 -> STRING (not validated, as in Beam), varint -> INT64,
 *   bool -> BOOL, double -> DOUBLE, kv -> KV, iterable -> LIST,
 *   state_backed_iterable -> LIST, or STATE_ITERABLE when the encoding ends in a state token
 *     (u.state_iterable: inline prefix + token; the rest must be fetched from the runner),
 *   length_prefix -> the component's value, nullable -> NULL or the component's value,
 *   global_window / interval_window / custom_window -> WINDOW,
 *   windowed_value / param_windowed_value -> WINDOWED, timer -> TIMER,
 *   sharded_key -> SHARDED_KEY, row -> ROW (see below).
 *
 * Windows: a window coder that yields no WINDOW value (for example length_prefix around an
 * unknown window coder) is kept as BEAM_WINDOW_CUSTOM whose `custom` bytes are the window's
 * complete nested encoding under that coder; encoding such a window copies them verbatim.
 * custom_window over a known window coder yields the inner window; over an unknown one it
 * yields CUSTOM with `custom` = the full custom_window encoding and end_ms = max timestamp + 1.
 *
 * Rows (beam:coder:row:v1, payload = serialized Schema proto): u.list holds one value per
 * schema field in schema order (NULL kind for null). BYTE/INT16/INT32/INT64 -> INT64,
 * FLOAT/DOUBLE -> DOUBLE, STRING, BOOLEAN -> BOOL, BYTES, ARRAY/ITERABLE -> LIST,
 * MAP -> MAP, nested row -> ROW. Logical types travel as their representation, except the
 * two with special encodings: millis_instant (Beam's DATETIME) -> TIMESTAMP (millis), and
 * decimal -> STRING holding the decimal text ("-100.123", or "123E-40" style for extreme
 * scales).
 *
 * Decoders never read out of bounds, bound every count by the remaining input, and return
 * BEAM_ERR_TRUNCATED or BEAM_ERR_MALFORMED on bad input. Decoded BYTES/STRING alias the
 * input buffer; everything else lives in the arena. */
#ifndef BEAM_CODER_H
#define BEAM_CODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/arena.h"
#include "beam/buf.h"
#include "beam/status.h"
#include "beam/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Standard coder URNs (the common ones also live in urns.h). */
#define BEAM_CODER_URN_BYTES "beam:coder:bytes:v1"
#define BEAM_CODER_URN_STRING_UTF8 "beam:coder:string_utf8:v1"
#define BEAM_CODER_URN_VARINT "beam:coder:varint:v1"
#define BEAM_CODER_URN_BOOL "beam:coder:bool:v1"
#define BEAM_CODER_URN_DOUBLE "beam:coder:double:v1"
#define BEAM_CODER_URN_KV "beam:coder:kv:v1"
#define BEAM_CODER_URN_ITERABLE "beam:coder:iterable:v1"
#define BEAM_CODER_URN_STATE_BACKED_ITERABLE "beam:coder:state_backed_iterable:v1"
#define BEAM_CODER_URN_LENGTH_PREFIX "beam:coder:length_prefix:v1"
#define BEAM_CODER_URN_GLOBAL_WINDOW "beam:coder:global_window:v1"
#define BEAM_CODER_URN_INTERVAL_WINDOW "beam:coder:interval_window:v1"
#define BEAM_CODER_URN_CUSTOM_WINDOW "beam:coder:custom_window:v1"
#define BEAM_CODER_URN_WINDOWED_VALUE "beam:coder:windowed_value:v1"
#define BEAM_CODER_URN_PARAM_WINDOWED_VALUE "beam:coder:param_windowed_value:v1"
#define BEAM_CODER_URN_TIMER "beam:coder:timer:v1"
#define BEAM_CODER_URN_ROW "beam:coder:row:v1"
#define BEAM_CODER_URN_NULLABLE "beam:coder:nullable:v1"
#define BEAM_CODER_URN_SHARDED_KEY "beam:coder:sharded_key:v1"
/* beam-c's own self-describing coder for plain values (see
 * harness/src/coders/coder_dynamic.c); runners treat it as opaque bytes. */
#define BEAM_CODER_URN_C_VALUE "beam:coder:c:value:v1"

/* Deepest coder tree beam_coder_build / beam_coder_from_components accept. */
#define BEAM_CODER_MAX_DEPTH 64

typedef struct beam_coder beam_coder;

/* --- encode / decode ------------------------------------------------------------------- */
beam_status beam_coder_encode(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                              beam_error *err);
beam_status beam_coder_decode(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                              beam_value *out, beam_error *err);

/* --- building -------------------------------------------------------------------------- */
/* Builds the coder for urn. payload may be NULL when payload_len is 0. Components are
 * retained (not consumed). Unknown URNs fail with BEAM_ERR_UNSUPPORTED. */
beam_status beam_coder_build(const char *urn, const uint8_t *payload, size_t payload_len,
                             beam_coder *const *components, size_t n_components, beam_coder **out,
                             beam_error *err);
/* Convenience for component-less coders (bytes, varint, ...). */
beam_coder *beam_coder_simple(const char *urn);
/* Adds a reference; returns c. */
beam_coder *beam_coder_retain(beam_coder *c);
/* Drops a reference (NULL is fine). */
void beam_coder_free(beam_coder *c);

/* What a coder is: its URN, its component coders (i < n_components) and its payload bytes
 * (*len set; NULL when it has none). All owned by the coder. */
const char *beam_coder_urn(const beam_coder *c);
size_t beam_coder_n_components(const beam_coder *c);
const beam_coder *beam_coder_component(const beam_coder *c, size_t i);
const uint8_t *beam_coder_payload(const beam_coder *c, size_t *len);

/* --- extending ------------------------------------------------------------------------- */
typedef struct beam_coder_ops {
  beam_status (*encode)(const beam_coder *c, const beam_value *v, bool nested, beam_buf *out,
                        beam_error *err);
  beam_status (*decode)(const beam_coder *c, beam_reader *in, bool nested, beam_arena *arena,
                        beam_value *out, beam_error *err);
  /* Releases impl (may be NULL). */
  void (*free_impl)(void *impl);
  /* Smallest nested encoding in bytes; bounds element counts read from input so a hostile
   * count cannot make the decoder allocate memory. NULL means 1. */
  size_t (*min_size)(const beam_coder *c);
} beam_coder_ops;

/* For factories: wraps ops + impl (ownership of impl passes to the coder, also on error)
 * and copies the payload. */
beam_status beam_coder_new(const char *urn, const beam_coder_ops *ops, void *impl,
                           const uint8_t *payload, size_t payload_len,
                           beam_coder *const *components, size_t n_components, beam_coder **out,
                           beam_error *err);
void *beam_coder_impl(const beam_coder *c);
/* Smallest nested encoding of c in bytes (0 for global_window). */
size_t beam_coder_min_size(const beam_coder *c);

typedef beam_status (*beam_coder_factory)(const char *urn, const uint8_t *payload,
                                          size_t payload_len, beam_coder *const *components,
                                          size_t n_components, beam_coder **out,
                                          beam_error *err);
/* Adds (or replaces) the factory for urn. Thread-safe; call before building coders. */
beam_status beam_coder_registry_register(const char *urn, beam_coder_factory factory);
/* Fills up to cap URNs (static strings) into urns and returns how many are registered. */
size_t beam_coder_urns(const char **urns, size_t cap);

/* --- primitives for hot paths ---------------------------------------------------------- */
/* Unsigned base-128 varint (at most 10 bytes); signed int64 travels as its two's complement. */
beam_status beam_coder_encode_varint(beam_buf *out, uint64_t v);
beam_status beam_coder_decode_varint(beam_reader *in, uint64_t *out);
beam_status beam_coder_encode_varint_i64(beam_buf *out, int64_t v);
beam_status beam_coder_decode_varint_i64(beam_reader *in, int64_t *out);
size_t beam_coder_varint_size(uint64_t v);
beam_status beam_coder_encode_be64(beam_buf *out, uint64_t v);
beam_status beam_coder_decode_be64(beam_reader *in, uint64_t *out);
beam_status beam_coder_encode_be32(beam_buf *out, uint32_t v);
beam_status beam_coder_decode_be32(beam_reader *in, uint32_t *out);
beam_status beam_coder_encode_double(beam_buf *out, double v);
beam_status beam_coder_decode_double(beam_reader *in, double *out);
/* Event time: big-endian (millis - INT64_MIN), i.e. millis with the sign bit flipped. */
beam_status beam_coder_encode_timestamp(beam_buf *out, int64_t millis);
beam_status beam_coder_decode_timestamp(beam_reader *in, int64_t *millis);
/* varint length + bytes (the nested form of bytes/string_utf8). */
beam_status beam_coder_encode_lp_bytes(beam_buf *out, const void *data, size_t len);
beam_status beam_coder_decode_lp_bytes(beam_reader *in, beam_bytes *out);
/* PaneInfo, in its 1-, 2- or 3-part form. */
beam_status beam_coder_encode_pane(beam_buf *out, const beam_pane *pane);
beam_status beam_coder_decode_pane(beam_reader *in, beam_pane *pane);

#ifdef __cplusplus
}
#endif
#endif
