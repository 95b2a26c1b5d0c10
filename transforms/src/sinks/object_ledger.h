/* The message ledger of an object-file sink (file:, gcs:) written by a stream: which message
 * units (etl_stream.h's "pubsub:<sub>@<publish us>#<id>") this destination holds, so that a
 * redelivered message is written once. Internal to the sinks layer.
 *
 * It lives in the bundle markers of sink_objects.c: a stream bundle's .bundles/{H}.pending
 * marker lists its parts and its units before any part is put, and its .committed marker
 * (the commit point) lists the units again. A stream bundle's H starts with "s" and its
 * commit's instant, so the ledger is read - once per process and destination, when the first
 * sink instance on it acquires it - by listing the stream markers and segments of the last
 * message_ledger_days only (a name range: GCS sends no other name, file bundles' markers and
 * older ones are never listed) and reading the committed ones. It is shared by every instance of the process on that destination (the local
 * runner's stream threads) and kept current by their commits.
 *
 * The first read GETs the ledger's segments (object_ledger_segment.h: the units of many
 * committed markers in one object, put by the writers as they commit and by a first read for
 * what it read one by one) and only the committed markers no segment names.
 *
 * A stream bundle that died between its pending and its committed marker (a kill -9 in the
 * middle of a commit) within message_ledger_days is rolled back at that first read: the parts its pending marker lists
 * and the marker are removed. Its messages were not acked, so they come again and their new
 * bundle writes them. (Readers take a bundle's parts once its committed marker is there.) A
 * commit another live process is making (another worker on the destination) is never rolled
 * back: see beam_object_ledger_owner.
 *
 * Units are held as the first 16 bytes of their SHA-256 with their commit instant (about 70
 * bytes per message; expired ones leave when the set grows). Another process writing the
 * destination at the same time is not seen: one stream consumer per object destination
 * (README, Known limits). Thread-safe. */
#ifndef BEAM_SINKS_OBJECT_LEDGER_H
#define BEAM_SINKS_OBJECT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"
#include "object_store.h"

typedef struct beam_object_ledger beam_object_ledger;

/* The ledger of store's destination (by its root), read (and settled) through store when no
 * instance of this process holds it yet; units of committed markers stamped before
 * forget_before_us (0: none) are left out (sink.h: message_ledger_days). Release it with
 * beam_object_ledger_release. */
beam_status beam_object_ledger_acquire(beam_object_store *store, int64_t forget_before_us, beam_object_ledger **out,
                                       beam_error *err);
/* Drops this holder's reference; the last one frees the process's copy. NULL ok. */
void beam_object_ledger_release(beam_object_ledger *l);

/* found[i] = whether keys[i] is committed. BEAM_ERR_NOMEM only. */
beam_status beam_object_ledger_find_many(beam_object_ledger *l, const char *const *keys, size_t n, bool *found,
                                         beam_error *err);
/* Whether any unit is committed. */
bool beam_object_ledger_any(beam_object_ledger *l);

/* Before a bundle's commit puts anything: claims its units. *all_committed when every one is
 * committed already (the bundle is a duplicate; nothing claimed). BEAM_ERR_IO when some, not
 * all, are committed or claimed by a commit in progress (the bundle fails; its retry finds
 * them). */
beam_status beam_object_ledger_claim(beam_object_ledger *l, const char *const *keys, size_t n, bool *all_committed,
                                     beam_error *err);
/* After the claimed commit: committed, the units are committed; else the claims go. */
void beam_object_ledger_settle(beam_object_ledger *l, const char *const *keys, size_t n, bool committed);

/* After a stream bundle's commit (marker: its .committed marker's name, committed_us: the
 * instant in it): remembers its units for the next segment of this process's commits
 * (object_ledger_segment.h), and puts that segment through store when it is due. Best
 * effort: a segment not put costs a later first read a GET per marker. */
void beam_object_ledger_note_commit(beam_object_ledger *l, beam_object_store *store, const char *marker,
                                    int64_t committed_us, const char *const *keys, size_t n);

/* This process as the owner a stream bundle's pending marker names ("owner"), beside the
 * instant it was written ("pending_us"): "<boot id>:<pid>:<start time>" from /proc, "" when
 * /proc cannot say. A process reading the ledger rolls back a pending marker only when its
 * commit cannot complete: its process is gone from this machine, or (another machine) it is
 * over 10 minutes old. */
const char *beam_object_ledger_owner(void);

/* The bundle markers' JSON (sink_objects.c writes them; this file reads them). */
#define BEAM_OBJECT_LEDGER_FOLDER ".bundles/"

#endif
