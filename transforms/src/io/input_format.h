/* Choosing a reader from a file or member name. */
#ifndef BEAM_TRANSFORMS_INPUT_FORMAT_H
#define BEAM_TRANSFORMS_INPUT_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

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

/* What the first bytes of a file say, read with read_at (no stream position moves). */
typedef struct beam_input_sniff {
  bool gzip;  /* gzip magic 1f 8b */
  bool zip;   /* ZIP magic */
  int first;  /* the first byte that is not a BOM or ASCII blank in the first 64 KiB, -1 if none */
  bool cr_only; /* lines end in CR alone (peek_source.h): read whole, not by ranges */
} beam_input_sniff;

/* Reads the first 64 KiB of a seekable src; does not count as progress. */
beam_status beam_input_sniff_start(beam_byte_source *src, beam_input_sniff *out, beam_error *err);
/* The reader AUTO picks for a plain (decoded) stream named kind whose first non-blank byte
 * is first: the extension, else '{' -> JSONL, anything else -> CSV. */
beam_input_format beam_input_resolve_format(beam_input_format f, beam_name_kind kind, int first);
/* The ZIP entries the input reads (or reports as unsupported): not directories, not
 * "__MACOSX/"; zip_member counts these. */
bool beam_input_zip_entry_is_file(const char *name, bool is_dir);

#endif
