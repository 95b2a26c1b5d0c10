/* Choosing a reader from a file or member name. */
#ifndef BEAM_TRANSFORMS_INPUT_FORMAT_H
#define BEAM_TRANSFORMS_INPUT_FORMAT_H

#include <stdbool.h>

#include "beam/transforms/input.h"

typedef enum beam_name_kind {
  BEAM_NAME_UNKNOWN = 0, /* no telling extension: sniff the content */
  BEAM_NAME_CSV,
  BEAM_NAME_TSV,
  BEAM_NAME_JSONL,
  BEAM_NAME_TEXT,        /* .txt: a data extension, content decides */
  BEAM_NAME_ZIP
} beam_name_kind;

/* Classifies by extension, case-insensitively, after stripping one ".gz". */
beam_name_kind beam_input_name_kind(const char *name);

#endif
