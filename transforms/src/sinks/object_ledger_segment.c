/* Segments of an object-file sink's message ledger (object_ledger_segment.h). */
#include "object_ledger_segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object_ledger.h"
#include "sink_int.h"

static const char SEGMENT_SUFFIX[] = ".segment";

void beam_ledger_markers_clear(beam_ledger_marker *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(m[i].name);
    json_decref(m[i].units);
    m[i] = (beam_ledger_marker){0};
  }
}

bool beam_ledger_segment_name(const char *name) {
  size_t folder = strlen(BEAM_OBJECT_LEDGER_FOLDER), len = strlen(name), tail = sizeof SEGMENT_SUFFIX - 1;
  return len == folder + 1 + 16 + 15 + tail && strncmp(name, BEAM_OBJECT_LEDGER_FOLDER, folder) == 0 &&
         name[folder] == 'k' && strcmp(name + len - tail, SEGMENT_SUFFIX) == 0;
}

int64_t beam_ledger_name_stamp(const char *name) {
  char stamp[17];
  memcpy(stamp, name + strlen(BEAM_OBJECT_LEDGER_FOLDER) + 1, 16);
  stamp[16] = '\0';
  return (int64_t)strtoull(stamp, NULL, 16);
}

/* ".bundles/k<newest instant><hash of the first marker's name>.segment". */
static void segment_name(const beam_ledger_marker *m, size_t n, char *out, size_t cap) {
  int64_t newest = 0;
  for (size_t i = 0; i < n; i++)
    if (m[i].committed_us > newest) newest = m[i].committed_us;
  char hex[33];
  beam_sink_name_hash(m[0].name, hex);
  snprintf(out, cap, "%sk%016llx%.15s%s", BEAM_OBJECT_LEDGER_FOLDER, (unsigned long long)newest, hex, SEGMENT_SUFFIX);
}

/* Puts markers m[0..n) as one segment. */
static beam_status put_one(beam_object_store *store, const beam_ledger_marker *m, size_t n, beam_error *err) {
  json_t *markers = json_array(), *root = json_pack("{s:o}", "markers", markers);
  bool ok = markers && root;
  for (size_t i = 0; ok && i < n; i++)
    ok = json_array_append_new(markers, json_pack("{s:s,s:I,s:O}", "name", m[i].name, "committed_us",
                                                  (json_int_t)m[i].committed_us, "units", m[i].units)) == 0;
  char *text = ok ? json_dumps(root, JSON_COMPACT) : NULL;
  json_decref(root);
  if (!text) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  char name[128];
  segment_name(m, n, name, sizeof name);
  bool created;
  beam_status s = beam_object_store_put_text(store, name, text, &created, err);
  free(text);
  return s;
}

/* The bytes a marker takes in a segment, about. */
static size_t marker_bytes(const beam_ledger_marker *m) {
  size_t bytes = strlen(m->name) + 64, i;
  json_t *unit;
  json_array_foreach(m->units, i, unit) bytes += json_string_length(unit) + 3;
  return bytes;
}

beam_status beam_ledger_segment_put(beam_object_store *store, const beam_ledger_marker *m, size_t n, beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t start = 0, i = 0; s == BEAM_OK && start < n; start = i) {
    size_t bytes = 0;
    for (i = start; i < n && (i == start || bytes + marker_bytes(&m[i]) <= BEAM_LEDGER_SEGMENT_BYTES); i++)
      bytes += marker_bytes(&m[i]);
    s = put_one(store, m + start, i - start, err);
  }
  return s;
}

beam_status beam_ledger_segment_read(beam_object_store *store, const char *name,
                                     beam_status (*each)(void *ctx, const beam_ledger_marker *m, beam_error *err),
                                     void *ctx, beam_error *err) {
  beam_buf text = BEAM_BUF_INIT;
  beam_status s = store->ops->get(store, name, &text, err);
  if (s == BEAM_ERR_NOT_FOUND) {
    beam_buf_free(&text);
    return BEAM_OK;
  }
  json_t *root = s == BEAM_OK ? json_loadb((const char *)text.data, text.len, 0, NULL) : NULL;
  beam_buf_free(&text);
  if (s != BEAM_OK) return s;
  const json_t *markers = json_object_get(root, "markers");
  if (!json_is_array(markers)) {
    json_decref(root);
    return beam_error_set(err, BEAM_ERR_MALFORMED, "%s/%s: not a ledger segment", store->root, name);
  }
  size_t i;
  json_t *e;
  json_array_foreach(markers, i, e) {
    const char *marker = json_string_value(json_object_get(e, "name"));
    json_t *units = json_object_get(e, "units"), *at = json_object_get(e, "committed_us");
    if (!marker || !json_is_array(units) || !json_is_integer(at)) {
      s = beam_error_set(err, BEAM_ERR_MALFORMED, "%s/%s: marker %zu is not {name, committed_us, units}",
                         store->root, name, i);
      break;
    }
    beam_ledger_marker m = {(char *)marker, (int64_t)json_integer_value(at), units};
    if ((s = each(ctx, &m, err)) != BEAM_OK) break;
  }
  json_decref(root);
  return s;
}
