/* One valid nested encoding for each coder of coder_zoo.h, in the same order. */
#ifndef BEAM_TEST_CODER_SAMPLES_H
#define BEAM_TEST_CODER_SAMPLES_H

#include "coder_zoo.h"

typedef struct coder_sample {
  const char *bytes;
  size_t len;
} coder_sample;

#define SAMPLE(s) {s, sizeof(s) - 1}
#define TS1000 "\x80\x00\x00\x00\x00\x00\x03\xe8"
#define IW_10_20 "\x80\x00\x00\x00\x00\x00\x00\x14\x0a"

static inline const coder_sample *coder_samples(size_t *n) {
  static const coder_sample samples[] = {
    SAMPLE("\x03" "abc"),
    SAMPLE("\x03" "abc"),
    SAMPLE("\xc8\x01"),
    SAMPLE("\x01"),
    SAMPLE("\x3f\xb9\x99\x99\x99\x99\x99\x9a"),
    SAMPLE("\x03" "abc" "\xc8\x01"),
    SAMPLE("\x00\x00\x00\x02\x01" "a" "\x02" "bc"),
    SAMPLE("\xff\xff\xff\xff\x02\x01\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x03" "tok"),
    SAMPLE("\x07\x01" "k" "\x00\x00\x00\x01\x05"),
    SAMPLE(TS1000 "\x00\x00\x00\x01" IW_10_20 "\x0f\x01" "k" "\x01" "v"),
    SAMPLE(TS1000 "\x00\x00\x00\x01\x0f\x02" "hi"),
    SAMPLE("\x05"),
    SAMPLE("\x03" "key" "\x03" "tag" "\x00\x00\x00\x01\x00" TS1000 TS1000 "\x26\x1e\x28"),
    SAMPLE("\x01" "k" "\x00\x00\x00\x00\x01" "\x80\x00\x00\x00\x00\x00\x00\x13" IW_10_20 "\x01"),
    SAMPLE("\x01\x3f\xb9\x99\x99\x99\x99\x99\x9a"),
    SAMPLE("\x02" "id" "\x03" "key"),
    SAMPLE(ZOO_ROW_PY_BYTES),
    SAMPLE("\x00\x00\x00\x03"),
    SAMPLE(TS1000 "\x02" "ab"),
    SAMPLE(TS1000 "\x00\x00\x00\x01\x03" "xyz" "\x0f\x05"),
    SAMPLE("\x00\x00\x00\x01" ZOO_ROW_PY_BYTES),
  };
  *n = sizeof samples / sizeof samples[0];
  return samples;
}

#endif
