/* The JSON-lines bundle log's snapshot: its state written as a few records, so that a
 * compaction (jsonl_log.h) can replace the log by them. The records are
 *   {"bundle": "", "state": "snapshot", "lengths": {table: length}}
 *   {"bundle": "", "state": "snapshot", "bundles": [id, ...], "stream_bundles": {id: seconds}}
 *   {"bundle": "", "state": "snapshot", "ledger": [entry, ...]}   (entries as commits log them)
 * with at most SNAPSHOT_CHUNK items each, so no line (nor its JSON tree here) grows with
 * the log. An empty bundle id makes a release that knows no snapshots take each for the
 * outcome of no commit: it ignores them. */
#include "jsonl_log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SNAPSHOT_CHUNK = 4096 };

static beam_status nomem(beam_error *err) { return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory"); }

int64_t beam_jsonl_iso_seconds(const char *iso) {
  struct tm tm = {0};
  if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (int64_t)timegm(&tm);
}

/* A snapshot record with its one field, empty (an array or an object). */
static json_t *snapshot_record(const char *field, json_t *items) {
  json_t *rec = items ? json_pack("{s:s, s:s, s:o}", "bundle", "", "state", "snapshot", field, items) : NULL;
  if (!rec) json_decref(items);
  return rec;
}

/* Writes rec as a line and frees it. */
static beam_status put_line(const jl_log *log, int fd, json_t *rec, beam_error *err) {
  size_t written;
  int e = rec ? beam_jsonl_log_write_line(fd, rec, &written) : ENOMEM;
  json_decref(rec);
  if (e == ENOMEM) return nomem(err);
  if (e)
    return beam_error_set(err, BEAM_ERR_IO, "jsonl %s: writing %s: %s", log->dir, BEAM_JSONL_LOG_COMPACTING,
                          strerror(e));
  return BEAM_OK;
}

static beam_status write_lengths(const jl_log *log, int fd, beam_error *err) {
  json_t *lengths = json_object();
  for (size_t i = 0; lengths && i < log->lengths.cap; i++) {
    const jl_map_slot *slot = &log->lengths.slots[i];
    json_int_t len = slot->key ? (json_int_t) * (const uint64_t *)slot->val : 0;
    if (slot->key && json_object_set_new(lengths, slot->key, json_integer(len)) != 0) {
      json_decref(lengths);
      return nomem(err);
    }
  }
  return put_line(log, fd, snapshot_record("lengths", lengths), err);
}

/* The committed bundles, less the stream bundles committed before forget_s (0: none). */
static beam_status write_bundles(const jl_log *log, int fd, int64_t forget_s, beam_error *err) {
  json_t *rec = NULL;
  beam_status st = BEAM_OK;
  size_t n = 0;
  for (size_t i = 0; st == BEAM_OK && i < log->committed.cap; i++) {
    const jl_map_slot *slot = &log->committed.slots[i];
    int64_t at = slot->key ? (int64_t)(uintptr_t)slot->val : 0;
    if (!slot->key || (at && at < forget_s)) continue;
    if (!rec && !(rec = json_pack("{s:s, s:s, s:[], s:{}}", "bundle", "", "state", "snapshot", "bundles",
                                  "stream_bundles")))
      return nomem(err);
    bool ok = at ? json_object_set_new(json_object_get(rec, "stream_bundles"), slot->key, json_integer(at)) == 0
                 : json_array_append_new(json_object_get(rec, "bundles"), json_string(slot->key)) == 0;
    if (!ok) st = nomem(err);
    if (st == BEAM_OK && ++n % SNAPSHOT_CHUNK == 0) st = put_line(log, fd, rec, err), rec = NULL;
  }
  if (st == BEAM_OK && rec) return put_line(log, fd, rec, err);
  json_decref(rec);
  return st;
}

static json_t *ledger_entry(const char *key, const jl_ledger_value *v) {
  json_t *o = json_pack("{s:s, s:s, s:s}", "key", key, "file", v->file, "committed_at", v->committed_at);
  if (o && v->spans && json_object_set(o, "spans", v->spans) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The ledger's entries, less the message units committed before forget_before ("": none). */
static beam_status write_ledger(const jl_log *log, int fd, const char *forget_before, beam_error *err) {
  json_t *entries = NULL;
  beam_status st = BEAM_OK;
  for (size_t i = 0; st == BEAM_OK && i < log->ledger.cap; i++) {
    const jl_map_slot *slot = &log->ledger.slots[i];
    const jl_ledger_value *v = slot->key ? slot->val : NULL;
    if (!v) continue;
    if (forget_before[0] && strncmp(slot->key, "pubsub:", 7) == 0 && strcmp(v->committed_at, forget_before) < 0)
      continue;
    if (!entries && !(entries = json_array())) return nomem(err);
    if (json_array_append_new(entries, ledger_entry(slot->key, v)) != 0) st = nomem(err);
    if (st == BEAM_OK && json_array_size(entries) == SNAPSHOT_CHUNK)
      st = put_line(log, fd, snapshot_record("ledger", entries), err), entries = NULL;
  }
  if (st == BEAM_OK && entries) return put_line(log, fd, snapshot_record("ledger", entries), err);
  json_decref(entries);
  return st;
}

beam_status beam_jsonl_log_write_snapshot(const jl_log *log, int fd, const char *forget_before, beam_error *err) {
  const char *forget = forget_before ? forget_before : "";
  beam_status st = write_lengths(log, fd, err);
  if (st == BEAM_OK) st = write_bundles(log, fd, forget[0] ? beam_jsonl_iso_seconds(forget) : 0, err);
  if (st == BEAM_OK) st = write_ledger(log, fd, forget, err);
  return st;
}
