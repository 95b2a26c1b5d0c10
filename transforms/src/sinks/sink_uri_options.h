/* The options of a destination URI: "scheme:location?name=value&name=value", values
 * percent-encoded (%20 a space, %26 an '&', %3D an '='). One parser for every sink that takes
 * options (BigQuery's, the ETL's per-destination selection) and for taking some out before
 * the URI reaches its sink. */
#ifndef BEAM_TRANSFORMS_SINK_URI_OPTIONS_H
#define BEAM_TRANSFORMS_SINK_URI_OPTIONS_H

#include "beam/status.h"

/* Where uri's options start (the character after the '?'), or NULL without any. The first
 * '?' starts them, except in a postgres: keyword connection string, where a '?' inside a
 * single-quoted value belongs to the value. */
const char *beam_sink_uri_options_start(const char *uri);

/* Called with each option, name and value decoded (NUL-terminated, valid during the call). */
typedef beam_status (*beam_sink_option_fn)(void *ctx, const char *name, const char *value, beam_error *err);

/* Calls fn for each '&'-separated name=value of options (empty items are skipped). An item
 * without '=', an empty name, a bad or %00 escape is an error starting with what. */
beam_status beam_sink_options_each(const char *options, const char *what, beam_sink_option_fn fn, void *ctx,
                                   beam_error *err);

/* Takes the options named in take (NULL-terminated) out of uri: values[i] is the decoded
 * value of take[i] (malloc'd; NULL when absent; named twice is an error), *rest the URI
 * without them (malloc'd), the other options kept as written (without the '?' when none is
 * left). On failure nothing is allocated. */
beam_status beam_sink_uri_take_options(const char *uri, const char *const *take, char **values, char **rest,
                                       beam_error *err);

#endif
