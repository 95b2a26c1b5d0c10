/* Helpers shared by the ETL DoFns (see etl_dofn_common.h). */
#include <stdlib.h>
#include <string.h>

#include "etl_dofn_common.h"

beam_status beam_etl_spec_from_config(const json_t *config, beam_etl_spec **out, beam_error *err) {
  const json_t *spec = json_object_get(config, "spec");
  if (!json_is_object(spec))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "DoFn config has no \"spec\" object");
  char *text = json_dumps(spec, JSON_COMPACT);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status s = beam_etl_spec_parse(text, strlen(text), beam_etl_config_string(config, "spec_name", "spec"),
                                      out, err);
  free(text);
  return s;
}

beam_status beam_etl_output(beam_dofn_setup_ctx *ctx, const char *tag, int *out, beam_error *err) {
  *out = beam_dofn_output_index(ctx, tag);
  if (*out < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "transform %s has no output \"%s\"",
                          beam_dofn_transform_id(ctx), tag);
  return BEAM_OK;
}

const char *beam_etl_config_string(const json_t *config, const char *key, const char *def) {
  const char *s = json_string_value(json_object_get(config, key));
  return s ? s : def;
}
