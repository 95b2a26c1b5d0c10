/* The pubsub sink's location: "projects/P/topics/T[?ordering_key=F][&endpoint=H:P]". */
#include <stdlib.h>
#include <string.h>

#include "pubsub_conn.h"
#include "pubsub_internal.h"
#include "sink_uri_options.h"

static char *dup_span(const char *s, size_t len) {
  char *d = malloc(len + 1);
  if (d) {
    memcpy(d, s, len);
    d[len] = '\0';
  }
  return d;
}

/* One option (sink_uri_options.h: '&'-separated, percent-decoded). */
static beam_status parse_option(void *ctx, const char *name, const char *value, beam_error *err) {
  beam_pubsub_target *t = ctx;
  char **slot = NULL;
  if (strcmp(name, "ordering_key") == 0) slot = &t->ordering_field;
  else if (strcmp(name, "endpoint") == 0) slot = &t->endpoint;
  if (!slot)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "pubsub sink option \"%s\" is unknown (known: ordering_key=FIELD, endpoint=HOST:PORT)", name);
  if (!*value) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub sink option \"%s\": expected name=value", name);
  free(*slot);
  *slot = strdup(value);
  return *slot ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

beam_status beam_pubsub_target_parse(const char *location, beam_pubsub_target *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  const char *q = strchr(location, '?');
  size_t name_len = q ? (size_t)(q - location) : strlen(location);
  static const char usage[] = "expected pubsub:projects/PROJECT/topics/TOPIC[?ordering_key=FIELD]";
  if (name_len < 9 || strncmp(location, "projects/", 9) != 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub sink \"%.200s\": %s", location, usage);
  const char *project = location + 9;
  const char *slash = memchr(project, '/', name_len - 9);
  if (!slash || !beam_pubsub_project_valid(project, (size_t)(slash - project)))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub sink \"%.200s\": bad project id; %s", location, usage);
  const char *rest = slash + 1;
  size_t rest_len = name_len - (size_t)(rest - location);
  if (rest_len < 7 || strncmp(rest, "topics/", 7) != 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "pubsub sink \"%.200s\": %s", location, usage);
  if (!beam_pubsub_resource_id_valid(rest + 7, rest_len - 7))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "pubsub sink \"%.200s\": topic id \"%.*s\" must be 3-255 of [A-Za-z0-9-_.~+%%], start with "
                          "a letter and not with \"goog\"",
                          location, (int)(rest_len - 7 > 255 ? 255 : rest_len - 7), rest + 7);
  out->topic = dup_span(location, name_len);
  if (!out->topic) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_status st = beam_sink_options_each(q ? q + 1 : NULL, "pubsub sink", parse_option, out, err);
  if (st != BEAM_OK) beam_pubsub_target_free(out);
  return st;
}

void beam_pubsub_target_free(beam_pubsub_target *t) {
  if (!t) return;
  free(t->topic);
  free(t->ordering_field);
  free(t->endpoint);
  memset(t, 0, sizeof *t);
}
