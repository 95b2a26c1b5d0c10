/* The JSON-lines sink's bundle log, <dir>/.bundles.jsonl, and the ledger kept in it: reading
 * and applying the log, the commit record, recovery after a crash, and the open bundle's
 * pending ledger entries. Internal to the sinks layer (sink_jsonl.c describes the protocol).
 *
 * A jl_log mirrors the log in memory: the committed bundle ids, the ledger (unit key ->
 * committed_at, file) and the tables' committed lengths, all built by applying the log's lines in order, once each. Every call
 * that reads the log holds its flock: shared to catch up, exclusive to write. */
#ifndef BEAM_TRANSFORMS_JSONL_LOG_H
#define BEAM_TRANSFORMS_JSONL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "beam/status.h"
#include "beam/transforms/sink.h"

#define BEAM_JSONL_LOG_NAME ".bundles.jsonl"

/* String keys to pointers: open addressing, linear probing, power-of-two capacity. The map
 * owns copies of its keys; the values are the owner's business. */
typedef struct jl_map_slot {
  char *key;
  void *val;
} jl_map_slot;

typedef struct jl_map {
  jl_map_slot *slots;
  size_t cap;
  size_t len;
} jl_map;

/* A committed ledger entry (the ledger map's value; the key is the map's). */
typedef struct jl_ledger_value {
  char *file;
  char committed_at[32];
  json_t *spans; /* a range unit's rows, offsets kept current through rewrites (or NULL) */
} jl_ledger_value;

/* A ledger entry recorded in the open bundle, not committed yet. */
typedef struct jl_pending_entry {
  char *key;
  char *file;
  bool replace;
  size_t shadowed;      /* 1 + index of the entry for the same key this one replaces, or 0 */
  char recorded_at[32]; /* reported by a lookup until the commit stamps its own time */
  json_t *spans;        /* a range unit's rows per table, {"t": [start, end]} (jsonl_retract.h) */
} jl_pending_entry;

/* The open bundle's ledger entries, in recording order, and the latest one per key. */
typedef struct jl_pending {
  jl_pending_entry *items;
  size_t len;
  size_t cap;
  jl_map index; /* key -> 1 + index into items */
} jl_pending;

typedef struct jl_log {
  const char *dir;        /* the sink's, for messages */
  int dir_fd;             /* the sink's */
  int fd;                 /* the log, O_APPEND */
  bool no_sync;
  uint64_t read;          /* bytes of the log applied so far */
  jl_map committed;       /* bundle id -> NULL, or for a stream's bundle (its ledger entries
                           * all message units) its commit time in seconds since the epoch */
  jl_map ledger;          /* unit key -> jl_ledger_value (jsonl_log.c) */
  json_t *open_pending;   /* the previous release's "pending" record with no outcome yet */
  json_t *open_committing; /* a "committing" record with no outcome yet (its writer died) */
  jl_map lengths;         /* table -> uint64_t *: committed length of <table>.jsonl, for the
                           * tables the log's "appends" records know (others: the file's size) */
  char forget_messages_before[32]; /* "": keep every message unit; else an ISO time */
  int forget_days;        /* what forget_messages_before is computed from (0: keep them) */
  uint64_t snapshot_bytes; /* bytes of "snapshot" records read: the last compaction's output */
  bool dir_unsynced;      /* a compaction's rename is not known durable: sync before a commit */
  uint64_t compact_min;   /* the log is compacted at a commit once it is past this and twice
                           * snapshot_bytes (BEAM_JSONL_LOG_COMPACT_BYTES, default 64 MiB) */
} jl_log;

/* ---- Side files -------------------------------------------------------------------- */

/* ".<table>.jsonl.<16 hex digits>.tmp": a commit's side file holding the bundle's rows for
 * <table>.jsonl, appended to it once the log names it (the previous release wrote the table's
 * whole next version under this name and renamed it into place). Recovery takes no other
 * name for one (so a damaged log cannot read, rename or delete anything else), and deletes
 * one no open commit names only when it can flock it (a live writer holds its side files
 * locked). */
#define BEAM_JSONL_TEMP_NAME_MAX 192

/* Writes a fresh random temp name for table into out (BEAM_JSONL_TEMP_NAME_MAX bytes). */
void beam_jsonl_temp_name(const char *table, char out[BEAM_JSONL_TEMP_NAME_MAX]);

/* True when name is a temp name; its table goes to table (129 bytes) when not NULL. */
bool beam_jsonl_temp_name_parse(const char *name, char *table);

/* ---- Compaction (jsonl_log_compact.c) ---------------------------------------------------
 * A log only grows: every commit appends its records, and a stream's commits carry a ledger
 * entry per message. Once it is past log->compact_min and twice its last snapshot, a commit
 * (under the exclusive lock, no commit open) writes the log's state as "snapshot" records
 * into BEAM_JSONL_LOG_COMPACTING, fsyncs it, locks it and renames it over the log: the
 * rename is the switch, and a crash before it leaves the old log whole (the next open deletes
 * the leftover). Every lock taken on the log checks the file it locked is still the one the
 * name points to; a writer that finds it replaced opens the new one and reads it afresh. */
#define BEAM_JSONL_LOG_COMPACTING ".bundles.jsonl.compacting"

/* Writes log's committed state to fd as "snapshot" lines: the tables' committed lengths, the
 * committed bundle ids and the ledger, leaving out the message units and the stream bundles
 * committed before forget_before (an ISO time; "": none). log has no commit open. */
beam_status beam_jsonl_log_write_snapshot(const jl_log *log, int fd, const char *forget_before, beam_error *err);

/* Writes rec as one compact JSON line (keys sorted) to fd: 0, ENOMEM or the errno of the
 * write; *written is the line's bytes once it is all written. */
int beam_jsonl_log_write_line(int fd, const json_t *rec, size_t *written);

/* The seconds since the epoch of an ISO time as this log writes them ("2026-12-07T01:40:00.123Z");
 * 0 for anything else. */
int64_t beam_jsonl_iso_seconds(const char *iso);

/* ---- The log ------------------------------------------------------------------------ */

/* Opens (creating) <dir>/.bundles.jsonl and, under the exclusive lock, reads it and recovers
 * what a writer killed mid-commit left: a commit past its commit point is completed, an older
 * one undone, and side files no commit names and no live writer holds are deleted. On failure the log is
 * closed again (beam_jsonl_log_free still required). */
beam_status beam_jsonl_log_open(jl_log *log, const char *dir, int dir_fd, bool no_sync, beam_error *err);
/* The same, leaving out of the ledger the message units ("pubsub:...") committed more than
 * forget_days ago (0: none), then and at every compaction: a stream's message_ledger_days. */
beam_status beam_jsonl_log_open_forgetting(jl_log *log, const char *dir, int dir_fd, bool no_sync, int forget_days,
                                           beam_error *err);

/* Closes the log's file: 0 or the errno of close. */
int beam_jsonl_log_close(jl_log *log);

/* Closes (if still open) and frees the in-memory state. */
void beam_jsonl_log_free(jl_log *log);

/* Applies what other writers logged since the last call, under the shared lock. */
beam_status beam_jsonl_log_refresh(jl_log *log, beam_error *err);

/* Takes the exclusive lock, applies the log's new lines and recovers a dead writer's commit,
 * as open does (so nothing builds on a half-done commit). On failure the lock is released. */
beam_status beam_jsonl_log_lock(jl_log *log, beam_error *err);
void beam_jsonl_log_unlock(jl_log *log);

/* True when bundle is committed (a commit past its commit point counts). */
bool beam_jsonl_log_has_bundle(const jl_log *log, const char *bundle);

/* Under the exclusive lock: the committed length of <table>.jsonl, where a commit appends
 * its rows, into *end. The file is checked against the length the log knows: bytes past it
 * (nothing committed them) are cut off; a file shorter than it (rows removed by hand) is
 * taken as it is. A table the log knows no length for (new, or last written by the previous
 * release, which replaced files whole) is committed as long as its file. */
beam_status beam_jsonl_log_table_end(jl_log *log, const char *table, uint64_t *end, beam_error *err);

/* Under the exclusive lock: commits bundle. appends maps each table with rows to
 * {"from": side file (fsynced, its name durable), "at": the table's committed length from
 * beam_jsonl_log_table_end, "len": its bytes}; it may be empty. pending holds the bundle's
 * ledger entries. The log record naming both is the commit point; then the side files are
 * appended to their tables at "at", the tables fsynced, the commit recorded as complete and
 * the side files deleted. The side files are this call's from now on: a failure before the
 * commit point deletes them (nothing of the bundle visible); a failure after it leaves the
 * commit for recovery to complete and says so in err. */
beam_status beam_jsonl_log_commit(jl_log *log, const char *bundle, json_t *appends, const jl_pending *pending,
                                  beam_error *err);

/* The same with a retraction (jsonl_retract.h; either may be NULL): rewrites maps each table
 * rewritten without the retracted rows to {"from": its next version (a side file, fsynced),
 * "len": its length, "cuts": [[start, end], ...] removed}, retracts lists the range units whose
 * entries go. The commit record names them with the appends (the commit point); rolling
 * forward renames each next version over its table before appending. Appends to a rewritten
 * table go at its new length. */
beam_status beam_jsonl_log_commit_retracting(jl_log *log, const char *bundle, json_t *appends, json_t *rewrites,
                                             json_t *retracts, const jl_pending *pending, beam_error *err);

/* The committed length of table the log knows (false: none, its file's size counts). */
bool beam_jsonl_log_table_length(const jl_log *log, const char *table, uint64_t *len);

/* The spans a committed range unit's entry records ({"t": [start, end]}, offsets as of now),
 * or NULL (no such entry, or written by a release that recorded none). */
const json_t *beam_jsonl_log_ledger_spans(const jl_log *log, const char *key);

/* The ledger's entry for key into hit (found false when none). The open bundle's pending
 * entries count: one that replaces wins over the committed entry, one that does not only
 * shows when nothing is committed for the key. pending may be NULL. */
void beam_jsonl_log_ledger_find(const jl_log *log, const jl_pending *pending, const char *key,
                                beam_sink_ledger_hit *hit);

/* Calls each(ctx, unit, file) for every committed range unit (beam_sink_unit_is_range). */
beam_status beam_jsonl_log_ledger_range_units(const jl_log *log, beam_sink_unit_fn each, void *ctx, beam_error *err);

/* Appends to out the ranges of file_id's units (beam_sink_ranges_add_unit) among the ledger's
 * entries, the open commit a dead writer left and pending (when not NULL). NOMEM only. */
beam_status beam_jsonl_log_ledger_ranges(const jl_log *log, const jl_pending *pending, const char *file_id,
                                         beam_sink_ranges *out, beam_error *err);

/* True when the ledger (or pending, when not NULL) holds any entry. */
bool beam_jsonl_log_ledger_any(const jl_log *log, const jl_pending *pending);

/* ---- The open bundle's ledger entries ------------------------------------------------ */

/* Records key (read from file). An entry for key already pending is kept when !replace, else
 * shadowed by this one. Fails only for memory (BEAM_ERR_NOMEM) or a key that is not UTF-8
 * (BEAM_ERR_INVALID_ARG: the log is JSON). */
beam_status beam_jsonl_pending_add(jl_pending *p, const char *key, const char *file, bool replace,
                                   beam_error *err);

/* Gives the latest pending entry for key the spans of its rows (takes the reference). */
void beam_jsonl_pending_set_spans(jl_pending *p, const char *key, json_t *spans);

/* Forgets the entries recorded after the first len (a unit rolled back), restoring those
 * they shadowed; len 0 empties it. */
void beam_jsonl_pending_truncate(jl_pending *p, size_t len);

void beam_jsonl_pending_free(jl_pending *p);

#endif
