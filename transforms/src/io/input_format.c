/* Input format names and extension-based detection. */
#include "input_format.h"

#include <string.h>
#include <strings.h>

beam_status beam_input_format_parse(const char *name, beam_input_format *out,
                                    bool *tab_delimiter, beam_error *err) {
  if (tab_delimiter) *tab_delimiter = false;
  if (!name || !*name || strcasecmp(name, "auto") == 0) *out = BEAM_INPUT_FORMAT_AUTO;
  else if (strcasecmp(name, "csv") == 0) *out = BEAM_INPUT_FORMAT_CSV;
  else if (strcasecmp(name, "tsv") == 0) {
    *out = BEAM_INPUT_FORMAT_CSV;
    if (tab_delimiter) *tab_delimiter = true;
  } else if (strcasecmp(name, "jsonl") == 0 || strcasecmp(name, "json") == 0 ||
             strcasecmp(name, "ndjson") == 0)
    *out = BEAM_INPUT_FORMAT_JSONL;
  else if (strcasecmp(name, "lines") == 0 || strcasecmp(name, "text") == 0)
    *out = BEAM_INPUT_FORMAT_LINES;
  else
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "unknown input format '%s' (expected auto, csv, tsv, jsonl, json, "
                          "ndjson, lines)",
                          name);
  return BEAM_OK;
}

const char *beam_input_format_name(beam_input_format f) {
  switch (f) {
    case BEAM_INPUT_FORMAT_AUTO: return "auto";
    case BEAM_INPUT_FORMAT_CSV: return "csv";
    case BEAM_INPUT_FORMAT_JSONL: return "jsonl";
    case BEAM_INPUT_FORMAT_LINES: return "lines";
  }
  return "unknown";
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

beam_name_kind beam_input_name_kind(const char *name) {
  size_t n = strlen(name);
  if (ends_with(name, n, ".gz")) n -= 3;
  if (ends_with(name, n, ".csv")) return BEAM_NAME_CSV;
  if (ends_with(name, n, ".tsv")) return BEAM_NAME_TSV;
  if (ends_with(name, n, ".jsonl") || ends_with(name, n, ".json") || ends_with(name, n, ".ndjson"))
    return BEAM_NAME_JSONL;
  if (ends_with(name, n, ".txt")) return BEAM_NAME_TEXT;
  if (ends_with(name, n, ".zip")) return BEAM_NAME_ZIP;
  return BEAM_NAME_UNKNOWN;
}

bool beam_input_zip_entry_is_file(const char *name, bool is_dir) {
  return !is_dir && strncmp(name, "__MACOSX/", 9) != 0;
}

beam_input_format beam_input_resolve_format(beam_input_format f, beam_name_kind kind, int first) {
  if (f != BEAM_INPUT_FORMAT_AUTO) return f;
  if (kind == BEAM_NAME_CSV || kind == BEAM_NAME_TSV) return BEAM_INPUT_FORMAT_CSV;
  if (kind == BEAM_NAME_JSONL) return BEAM_INPUT_FORMAT_JSONL;
  return first == '{' ? BEAM_INPUT_FORMAT_JSONL : BEAM_INPUT_FORMAT_CSV;
}
