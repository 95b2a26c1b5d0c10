/* Destination URI options (see sink_uri_options.h). */
#include "sink_uri_options.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const char *beam_sink_uri_options_start(const char *uri) {
  /* A keyword conninfo ("postgres:host=h password='a?b'") may quote a '?'; a URL form
   * (postgres:postgresql://...) may not, as in any other URI. */
  bool keywords = strncmp(uri, "postgres:", 9) == 0 && !strstr(uri, "://");
  bool quoted = false;
  for (const char *c = uri; *c; c++) {
    if (keywords && quoted && *c == '\\' && c[1]) c++;
    else if (keywords && *c == '\'') quoted = !quoted;
    else if (*c == '?' && !quoted) return c + 1;
  }
  return NULL;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes len bytes of text (percent escapes) into a new string. */
static beam_status decode(const char *text, size_t len, const char *what, char **out, beam_error *err) {
  char *d = malloc(len + 1), *o = d;
  if (!d) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < len; i++) {
    if (text[i] != '%') {
      *o++ = text[i];
      continue;
    }
    bool two_left = i + 2 < len;
    int hi = two_left ? hex_digit(text[i + 1]) : -1, lo = two_left ? hex_digit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      free(d);
      return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: bad percent escape \"%.*s\" in \"%.*s\" (%%XX, not %%00)",
                            what, (int)(len - i < 3 ? len - i : 3), text + i, (int)len, text);
    }
    *o++ = (char)(hi * 16 + lo);
    i += 2;
  }
  *o = '\0';
  *out = d;
  return BEAM_OK;
}

/* Splits one item into decoded name and value. */
static beam_status split_item(const char *item, size_t len, const char *what, char **name, char **value,
                              beam_error *err) {
  const char *eq = memchr(item, '=', len);
  if (!eq || eq == item)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: option \"%.*s\": expected name=value", what, (int)len,
                          item);
  beam_status s = decode(item, (size_t)(eq - item), what, name, err);
  if (s != BEAM_OK) return s;
  s = decode(eq + 1, len - (size_t)(eq - item) - 1, what, value, err);
  if (s != BEAM_OK) {
    free(*name);
    *name = NULL;
  }
  return s;
}

beam_status beam_sink_options_each(const char *options, const char *what, beam_sink_option_fn fn, void *ctx,
                                   beam_error *err) {
  for (const char *item = options; item && *item;) {
    const char *amp = strchr(item, '&');
    size_t len = amp ? (size_t)(amp - item) : strlen(item);
    if (len) {
      char *name, *value;
      beam_status s = split_item(item, len, what, &name, &value, err);
      if (s == BEAM_OK) {
        s = fn(ctx, name, value, err);
        free(name);
        free(value);
      }
      if (s != BEAM_OK) return s;
    }
    item = amp ? amp + 1 : NULL;
  }
  return BEAM_OK;
}

static beam_status append(char **buf, size_t *len, const char *text, size_t n, beam_error *err) {
  char *grown = realloc(*buf, *len + n + 1);
  if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  memcpy(grown + *len, text, n);
  *len += n;
  grown[*len] = '\0';
  *buf = grown;
  return BEAM_OK;
}

/* The index in take of the item's (decoded) name, or -1. */
static beam_status taken_index(const char *item, size_t len, const char *const *take, int *index, char **name,
                               char **value, beam_error *err) {
  *index = -1;
  beam_status s = split_item(item, len, "sink URI", name, value, err);
  if (s != BEAM_OK) return s;
  for (int i = 0; take[i]; i++)
    if (strcmp(take[i], *name) == 0) *index = i;
  return BEAM_OK;
}

beam_status beam_sink_uri_take_options(const char *uri, const char *const *take, char **values, char **rest,
                                       beam_error *err) {
  size_t n_take = 0;
  while (take[n_take]) values[n_take++] = NULL;
  *rest = NULL;
  const char *options = beam_sink_uri_options_start(uri);
  size_t len = 0;
  beam_status s = append(rest, &len, uri, options ? (size_t)(options - 1 - uri) : strlen(uri), err);
  bool first = true;
  for (const char *item = options; s == BEAM_OK && item && *item;) {
    const char *amp = strchr(item, '&');
    size_t n = amp ? (size_t)(amp - item) : strlen(item);
    char *name = NULL, *value = NULL;
    int at = -1;
    if (n) s = taken_index(item, n, take, &at, &name, &value, err);
    if (s == BEAM_OK && at >= 0 && values[at])
      s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "sink URI: option \"%s\" given twice", name);
    else if (s == BEAM_OK && at >= 0) values[at] = value, value = NULL;
    else if (s == BEAM_OK && n) {
      s = append(rest, &len, first ? "?" : "&", 1, err);
      if (s == BEAM_OK) s = append(rest, &len, item, n, err);
      first = false;
    }
    free(name);
    free(value);
    item = amp ? amp + 1 : NULL;
  }
  if (s == BEAM_OK) return BEAM_OK;
  for (size_t i = 0; i < n_take; i++) free(values[i]), values[i] = NULL;
  free(*rest);
  *rest = NULL;
  return s;
}
