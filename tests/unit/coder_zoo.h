/* A fixed set of built coders covering every standard coder, nested composites and rows;
 * shared by the coder unit tests and the fuzz target (tests/fuzz/fuzz_coders.c). */
#ifndef BEAM_TEST_CODER_ZOO_H
#define BEAM_TEST_CODER_ZOO_H

#include <stddef.h>
#include <string.h>

#include "beam/coder.h"

/* Schema "all": i16 INT16, i32 INT32?, i64 INT64, f32 FLOAT, f64 DOUBLE?, str STRING,
 * flag BOOLEAN, raw BYTES?, arr ARRAY<STRING?>, it ITERABLE<INT64>, m MAP<STRING,DOUBLE?>?,
 * row ROW{a INT16, b BYTES?}?, ts millis_instant, dec decimal? (generated with the
 * apache-beam Python SDK's schema_pb2). */
#define ZOO_ROW_SCHEMA \
    "\x0a\x09\x0a\x03\x69\x31\x36\x1a\x02\x10\x02\x0a\x0b\x0a\x03\x69\x33\x32\x1a\x04\x08\x01\x10" \
    "\x03\x0a\x09\x0a\x03\x69\x36\x34\x1a\x02\x10\x04\x0a\x09\x0a\x03\x66\x33\x32\x1a\x02\x10\x05" \
    "\x0a\x0b\x0a\x03\x66\x36\x34\x1a\x04\x08\x01\x10\x06\x0a\x09\x0a\x03\x73\x74\x72\x1a\x02\x10" \
    "\x07\x0a\x0a\x0a\x04\x66\x6c\x61\x67\x1a\x02\x10\x08\x0a\x0b\x0a\x03\x72\x61\x77\x1a\x04\x08" \
    "\x01\x10\x09\x0a\x0f\x0a\x03\x61\x72\x72\x1a\x08\x1a\x06\x0a\x04\x08\x01\x10\x07\x0a\x0c\x0a" \
    "\x02\x69\x74\x1a\x06\x22\x04\x0a\x02\x10\x04\x0a\x13\x0a\x01\x6d\x1a\x0e\x08\x01\x2a\x0a\x0a" \
    "\x02\x10\x07\x12\x04\x08\x01\x10\x06\x0a\x28\x0a\x03\x72\x6f\x77\x1a\x21\x08\x01\x32\x1d\x0a" \
    "\x1b\x0a\x07\x0a\x01\x61\x1a\x02\x10\x02\x0a\x09\x0a\x01\x62\x1a\x04\x08\x01\x10\x09\x12\x05" \
    "\x69\x6e\x6e\x65\x72\x0a\x31\x0a\x02\x74\x73\x1a\x2b\x3a\x29\x0a\x23\x62\x65\x61\x6d\x3a\x6c" \
    "\x6f\x67\x69\x63\x61\x6c\x5f\x74\x79\x70\x65\x3a\x6d\x69\x6c\x6c\x69\x73\x5f\x69\x6e\x73\x74" \
    "\x61\x6e\x74\x3a\x76\x31\x1a\x02\x10\x04\x0a\x2d\x0a\x03\x64\x65\x63\x1a\x26\x08\x01\x3a\x22" \
    "\x0a\x1c\x62\x65\x61\x6d\x3a\x6c\x6f\x67\x69\x63\x61\x6c\x5f\x74\x79\x70\x65\x3a\x64\x65\x63" \
    "\x69\x6d\x61\x6c\x3a\x76\x31\x1a\x02\x10\x09\x12\x03\x61\x6c\x6c"

/* The value (i16=-2, i32=-5, i64=2^40, f32=1.5, f64=null, str="héllo", flag=true, raw=null,
 * arr=["a", null], it=[1, -1], m={"k": 2.5, "z": null}, row=(7, b"x"),
 * ts=1597328054123 ms, dec=-12.50) as the Python SDK's RowCoder encodes it. */
#define ZOO_ROW_PY_BYTES \
    "\x0e\x02\x90\x00\xff\xfe\xfb\xff\xff\xff\x0f\x80\x80\x80\x80\x80\x20\x3f\xc0\x00\x00\x06\x68" \
    "\xc3\xa9\x6c\x6c\x6f\x01\x00\x00\x00\x02\x01\x01\x61\x00\x00\x00\x00\x02\x01\xff\xff\xff\xff" \
    "\xff\xff\xff\xff\xff\x01\x00\x00\x00\x02\x01\x6b\x01\x40\x04\x00\x00\x00\x00\x00\x00\x01\x7a" \
    "\x00\x02\x00\x00\x07\x01\x78\x80\x00\x01\x73\xe8\x2b\xd7\x6b\x02\x02\xfb\x1e"

/* param_windowed_value payload: timestamp 1000, [IntervalWindow(10, 20)], pane
 * (first=false, last=true, ON_TIME, 30, 40), from standard_coders.yaml. */
#define ZOO_PARAM_WV_PAYLOAD \
    "\x80\x00\x00\x00\x00\x00\x03\xe8\x00\x00\x00\x01\x80\x00\x00\x00\x00\x00\x00\x14\x0a\x26\x1e" \
    "\x28\x00"

enum { ZOO_MAX = 32 };

typedef struct coder_zoo {
  beam_coder *c[ZOO_MAX];
  size_t n;
} coder_zoo;

static inline beam_coder *zoo_b(const char *urn, const char *payload, size_t plen,
                                beam_coder *c0, beam_coder *c1) {
  beam_coder *comps[2] = {c0, c1};
  size_t n = c1 ? 2 : c0 ? 1 : 0;
  beam_coder *out = NULL;
  beam_coder_build(urn, (const uint8_t *)payload, plen, comps, n, &out, NULL);
  beam_coder_free(c0);
  beam_coder_free(c1);
  return out;
}

#define ZOO_S(urn) zoo_b(urn, NULL, 0, NULL, NULL)

/* Returns 0 when every coder was built. */
static inline int coder_zoo_init(coder_zoo *z) {
  memset(z, 0, sizeof *z);
  beam_coder **c = z->c;
  size_t n = 0;
  c[n++] = ZOO_S(BEAM_CODER_URN_BYTES);
  c[n++] = ZOO_S(BEAM_CODER_URN_STRING_UTF8);
  c[n++] = ZOO_S(BEAM_CODER_URN_VARINT);
  c[n++] = ZOO_S(BEAM_CODER_URN_BOOL);
  c[n++] = ZOO_S(BEAM_CODER_URN_DOUBLE);
  c[n++] = zoo_b(BEAM_CODER_URN_KV, NULL, 0, ZOO_S(BEAM_CODER_URN_STRING_UTF8), ZOO_S(BEAM_CODER_URN_VARINT));
  c[n++] = zoo_b(BEAM_CODER_URN_ITERABLE, NULL, 0, ZOO_S(BEAM_CODER_URN_BYTES), NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_STATE_BACKED_ITERABLE, NULL, 0, ZOO_S(BEAM_CODER_URN_VARINT), NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_LENGTH_PREFIX, NULL, 0,
                 zoo_b(BEAM_CODER_URN_KV, NULL, 0, ZOO_S(BEAM_CODER_URN_BYTES),
                       zoo_b(BEAM_CODER_URN_ITERABLE, NULL, 0, ZOO_S(BEAM_CODER_URN_VARINT), NULL)),
                 NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_WINDOWED_VALUE, NULL, 0,
                 zoo_b(BEAM_CODER_URN_KV, NULL, 0, ZOO_S(BEAM_CODER_URN_STRING_UTF8), ZOO_S(BEAM_CODER_URN_BYTES)),
                 ZOO_S(BEAM_CODER_URN_INTERVAL_WINDOW));
  c[n++] = zoo_b(BEAM_CODER_URN_WINDOWED_VALUE, NULL, 0, ZOO_S(BEAM_CODER_URN_BYTES),
                 ZOO_S(BEAM_CODER_URN_GLOBAL_WINDOW));
  c[n++] = zoo_b(BEAM_CODER_URN_PARAM_WINDOWED_VALUE, ZOO_PARAM_WV_PAYLOAD,
                 sizeof ZOO_PARAM_WV_PAYLOAD - 1, ZOO_S(BEAM_CODER_URN_VARINT),
                 ZOO_S(BEAM_CODER_URN_INTERVAL_WINDOW));
  c[n++] = zoo_b(BEAM_CODER_URN_TIMER, NULL, 0, ZOO_S(BEAM_CODER_URN_STRING_UTF8),
                 ZOO_S(BEAM_CODER_URN_GLOBAL_WINDOW));
  c[n++] = zoo_b(BEAM_CODER_URN_TIMER, NULL, 0, ZOO_S(BEAM_CODER_URN_BYTES),
                 zoo_b(BEAM_CODER_URN_CUSTOM_WINDOW, NULL, 0, ZOO_S(BEAM_CODER_URN_INTERVAL_WINDOW), NULL));
  c[n++] = zoo_b(BEAM_CODER_URN_NULLABLE, NULL, 0, ZOO_S(BEAM_CODER_URN_DOUBLE), NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_SHARDED_KEY, NULL, 0, ZOO_S(BEAM_CODER_URN_STRING_UTF8), NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_ROW, ZOO_ROW_SCHEMA, sizeof ZOO_ROW_SCHEMA - 1, NULL, NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_ITERABLE, NULL, 0, ZOO_S(BEAM_CODER_URN_GLOBAL_WINDOW), NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_CUSTOM_WINDOW, NULL, 0,
                 zoo_b(BEAM_CODER_URN_LENGTH_PREFIX, NULL, 0, ZOO_S(BEAM_CODER_URN_BYTES), NULL), NULL);
  c[n++] = zoo_b(BEAM_CODER_URN_WINDOWED_VALUE, NULL, 0, ZOO_S(BEAM_CODER_URN_VARINT),
                 zoo_b(BEAM_CODER_URN_LENGTH_PREFIX, NULL, 0, ZOO_S(BEAM_CODER_URN_BYTES), NULL));
  c[n++] = zoo_b(BEAM_CODER_URN_ITERABLE, NULL, 0,
                 zoo_b(BEAM_CODER_URN_ROW, ZOO_ROW_SCHEMA, sizeof ZOO_ROW_SCHEMA - 1, NULL, NULL), NULL);
  z->n = n;
  for (size_t i = 0; i < n; i++)
    if (!c[i]) return 1;
  return 0;
}

static inline void coder_zoo_free(coder_zoo *z) {
  for (size_t i = 0; i < z->n; i++) beam_coder_free(z->c[i]);
  z->n = 0;
}

#endif
