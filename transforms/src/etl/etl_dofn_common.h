/* Shared by the ETL DoFns: the spec travels in each DoFn's JSON config as {"spec": {...},
 * "spec_name": "..."} so workers need no file of their own. */
#ifndef BEAM_ETL_DOFN_COMMON_H
#define BEAM_ETL_DOFN_COMMON_H

#include <jansson.h>

#include "beam/dofn.h"
#include "beam/transforms/etl_element.h"
#include "beam/transforms/etl_spec.h"

/* Parses config.spec; errors name config.spec_name. */
beam_status beam_etl_spec_from_config(const json_t *config, beam_etl_spec **out, beam_error *err);

/* The output index of tag, failing setup with a clear message when the ParDo lacks it. */
beam_status beam_etl_output(beam_dofn_setup_ctx *ctx, const char *tag, int *out, beam_error *err);

/* A string config member, or def. */
const char *beam_etl_config_string(const json_t *config, const char *key, const char *def);

#endif
