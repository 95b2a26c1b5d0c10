/* URN -> factory registry. The standard coders are built in; beam_coder_registry_register
 * adds more (or overrides one) at startup. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coder_internal.h"

typedef struct registry_entry {
  const char *urn;
  beam_coder_factory factory;
} registry_entry;

static const registry_entry builtin[] = {
    {BEAM_CODER_URN_BYTES, beam_coder_factory_bytes},
    {BEAM_CODER_URN_STRING_UTF8, beam_coder_factory_bytes},
    {BEAM_CODER_URN_VARINT, beam_coder_factory_scalar},
    {BEAM_CODER_URN_BOOL, beam_coder_factory_scalar},
    {BEAM_CODER_URN_DOUBLE, beam_coder_factory_scalar},
    {BEAM_CODER_URN_KV, beam_coder_factory_kv},
    {BEAM_CODER_URN_ITERABLE, beam_coder_factory_iterable},
    {BEAM_CODER_URN_STATE_BACKED_ITERABLE, beam_coder_factory_iterable},
    {BEAM_CODER_URN_LENGTH_PREFIX, beam_coder_factory_length_prefix},
    {BEAM_CODER_URN_GLOBAL_WINDOW, beam_coder_factory_window},
    {BEAM_CODER_URN_INTERVAL_WINDOW, beam_coder_factory_window},
    {BEAM_CODER_URN_CUSTOM_WINDOW, beam_coder_factory_window},
    {BEAM_CODER_URN_WINDOWED_VALUE, beam_coder_factory_windowed_value},
    {BEAM_CODER_URN_PARAM_WINDOWED_VALUE, beam_coder_factory_windowed_value},
    {BEAM_CODER_URN_TIMER, beam_coder_factory_timer},
    {BEAM_CODER_URN_ROW, beam_coder_factory_row},
    {BEAM_CODER_URN_NULLABLE, beam_coder_factory_nullable},
    {BEAM_CODER_URN_SHARDED_KEY, beam_coder_factory_sharded_key},
    {BEAM_CODER_URN_C_VALUE, beam_coder_factory_dynamic},
};
enum { N_BUILTIN = sizeof builtin / sizeof builtin[0] };

/* Registered extras; looked up before the builtins so a program can override one. */
static pthread_mutex_t extra_lock = PTHREAD_MUTEX_INITIALIZER;
static registry_entry *extra;
static size_t n_extra, cap_extra;

static beam_coder_factory lookup(const char *urn) {
  beam_coder_factory f = NULL;
  pthread_mutex_lock(&extra_lock);
  for (size_t i = 0; i < n_extra && !f; i++)
    if (strcmp(extra[i].urn, urn) == 0) f = extra[i].factory;
  pthread_mutex_unlock(&extra_lock);
  for (size_t i = 0; i < N_BUILTIN && !f; i++)
    if (strcmp(builtin[i].urn, urn) == 0) f = builtin[i].factory;
  return f;
}

beam_status beam_coder_registry_register(const char *urn, beam_coder_factory factory) {
  if (!urn || !factory) return BEAM_ERR_INVALID_ARG;
  beam_status s = BEAM_OK;
  pthread_mutex_lock(&extra_lock);
  for (size_t i = 0; i < n_extra; i++) {
    if (strcmp(extra[i].urn, urn) == 0) {
      extra[i].factory = factory;
      goto done;
    }
  }
  if (n_extra == cap_extra) {
    size_t cap = cap_extra ? cap_extra * 2 : 8;
    registry_entry *p = realloc(extra, cap * sizeof *p);
    if (!p) {
      s = BEAM_ERR_NOMEM;
      goto done;
    }
    extra = p;
    cap_extra = cap;
  }
  /* Registered URNs live for the program; the copy is never freed on purpose. */
  extra[n_extra].urn = strdup(urn);
  if (!extra[n_extra].urn) {
    s = BEAM_ERR_NOMEM;
    goto done;
  }
  extra[n_extra++].factory = factory;
done:
  pthread_mutex_unlock(&extra_lock);
  return s;
}

size_t beam_coder_urns(const char **urns, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < N_BUILTIN; i++, n++)
    if (n < cap) urns[n] = builtin[i].urn;
  pthread_mutex_lock(&extra_lock);
  for (size_t i = 0; i < n_extra; i++) {
    bool dup = false;
    for (size_t j = 0; j < N_BUILTIN; j++) dup = dup || strcmp(builtin[j].urn, extra[i].urn) == 0;
    if (dup) continue;
    if (n < cap) urns[n] = extra[i].urn;
    n++;
  }
  pthread_mutex_unlock(&extra_lock);
  return n;
}

beam_status beam_coder_build(const char *urn, const uint8_t *payload, size_t payload_len,
                             beam_coder *const *components, size_t n_components, beam_coder **out,
                             beam_error *err) {
  *out = NULL;
  if (!urn) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "coder urn is NULL");
  beam_coder_factory f = lookup(urn);
  if (!f) return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "unsupported coder urn %s", urn);
  return f(urn, payload, payload_len, components, n_components, out, err);
}

beam_coder *beam_coder_simple(const char *urn) {
  beam_coder *c = NULL;
  beam_coder_build(urn, NULL, 0, NULL, 0, &c, NULL);
  return c;
}
