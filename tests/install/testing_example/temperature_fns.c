/* The user's DoFn under test: parses "city,fahrenheit" lines into KV<city, celsius> (rounded to
 * a tenth of a degree); lines it cannot read go to the second output, "bad", unchanged.
 *
 * Built as an OBJECT library (CMakeLists.txt) so BEAM_REGISTER_DOFN's constructor is linked
 * into the pipeline program and into the tests alike. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beam/dofn.h>

typedef struct parse_state {
  int bad; /* output index of "bad" */
} parse_state;

static beam_status parse_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  parse_state *st = state;
  st->bad = beam_dofn_output_index(ctx, "bad");
  if (st->bad < 0) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "parse_reading needs an output tagged \"bad\"");
  return BEAM_OK;
}

static beam_status parse_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem, beam_error *err) {
  parse_state *st = state;
  const beam_bytes *line = &elem->value->u.bytes;
  char text[256];
  snprintf(text, sizeof text, "%.*s", (int)line->len, (const char *)line->data);
  char *comma = strchr(text, ',');
  char *end = NULL;
  double f = comma ? strtod(comma + 1, &end) : 0;
  if (!comma || comma == text || end == comma + 1 || *end) return beam_dofn_emit(ctx, st->bad, elem->value, err);
  beam_value city = beam_value_string(text, (size_t)(comma - text));
  beam_value celsius = beam_value_double(round((f - 32) * 5 / 9 * 10) / 10);
  beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&city, &celsius}};
  return beam_dofn_emit(ctx, 0, &kv, err);
}

static const beam_dofn_def parse_reading = {
    .name = "parse_reading", .state_size = sizeof(parse_state), .setup = parse_setup, .process = parse_process};
BEAM_REGISTER_DOFN(parse_reading)
