/* Stream inputs, message units and what a spec may ask of a stream (etl_stream.h). */
#include <stdio.h>
#include <string.h>

#include "beam/transforms/etl_stream.h"

#define PREFIX_LEN (sizeof BEAM_ETL_PUBSUB_INPUT_PREFIX - 1)

bool beam_etl_input_is_pubsub(const char *input) {
  return input && strncmp(input, BEAM_ETL_PUBSUB_INPUT_PREFIX, PREFIX_LEN) == 0;
}

const char *beam_etl_input_subscription(const char *input) { return input + PREFIX_LEN; }

/* projects/P/subscriptions/S with non-empty P and S and nothing after. */
static bool subscription_name(const char *s) {
  const char *p = strncmp(s, "projects/", 9) == 0 ? s + 9 : NULL;
  const char *slash = p ? strchr(p, '/') : NULL;
  if (!slash || slash == p || strncmp(slash, "/subscriptions/", 15) != 0) return false;
  const char *name = slash + 15;
  return *name && !strchr(name, '/') && !strchr(s, '#');
}

beam_status beam_etl_inputs_check_stream(const char *const *inputs, size_t n, bool *stream, beam_error *err) {
  *stream = false;
  size_t streams = 0;
  for (size_t i = 0; i < n; i++) {
    if (!beam_etl_input_is_pubsub(inputs[i])) continue;
    streams++;
    if (!subscription_name(beam_etl_input_subscription(inputs[i])))
      return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                            "--input %s: a Pub/Sub input is pubsub:projects/PROJECT/subscriptions/SUBSCRIPTION",
                            inputs[i]);
  }
  if (streams && n > 1)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "a pubsub: input must be the only --input (a stream does not mix with files or other "
                          "subscriptions): got %zu inputs",
                          n);
  *stream = streams == 1;
  return BEAM_OK;
}

beam_status beam_etl_spec_check_stream(const beam_etl_spec *spec, beam_error *err) {
  const char *name = spec->name ? spec->name : "spec";
  if (spec->dedupe_field >= 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "%s: clean.dedupe_on is not supported with a pubsub: input (business-key dedupe on a "
                          "stream needs state and timers); redelivered messages are written once by message id",
                          name);
  if (spec->validate.hard)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "%s: validate.mode \"hard\" is not supported with a pubsub: input (a bad message would "
                          "stop the stream): use \"soft\", bad messages are dead-lettered",
                          name);
  if (spec->validate.max_bad_records >= 0 || spec->validate.max_bad_ratio >= 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "%s: validate.%s judges a whole file and is not supported with a pubsub: input",
                          name, spec->validate.max_bad_records >= 0 ? "max_bad_records" : "max_bad_ratio");
  return BEAM_OK;
}

beam_status beam_etl_spec_check_files(const beam_etl_spec *spec, beam_error *err) {
  if (!spec->message_key) return BEAM_OK;
  return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                        "%s: %s: _attributes.NAME and _publish_time are a Pub/Sub message's; a file input has neither "
                        "(they need --input=pubsub:...)",
                        spec->name ? spec->name : "spec", spec->message_key);
}

bool beam_etl_message_unit_key(const char *subscription, int64_t publish_us, const char *message_id, char *buf,
                               size_t cap) {
  int n = snprintf(buf, cap, "%s%s@%lld#%s", BEAM_ETL_PUBSUB_INPUT_PREFIX, subscription, (long long)publish_us,
                   message_id);
  return n > 0 && (size_t)n < cap;
}

const char *beam_etl_unit_message_id(const char *unit) {
  if (!beam_etl_input_is_pubsub(unit)) return NULL;
  const char *hash = strrchr(unit, '#');
  return hash ? hash + 1 : NULL;
}
