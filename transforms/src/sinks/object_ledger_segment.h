/* Segments of an object-file sink's message ledger (object_ledger.h): one object holding the
 * units of many committed stream markers, so that reading the ledger costs a GET per segment
 * instead of one per bundle (a stream commits a bundle a second; a week of them is 600k
 * markers). Internal to the sinks layer.
 *
 * A segment is ".bundles/k<16 hex digits: the newest commit instant it holds, in us><15 hex
 * digits of a hash of the first marker's name>.segment", JSON
 * {"markers": [{"name": ".bundles/s...committed", "committed_us": T, "units": [...]}, ...]}.
 * It only repeats what committed markers say (they are never removed), so a reader that
 * lists a marker no segment names reads the marker itself: a segment lost, never written or
 * written late costs GETs, never a unit. */
#ifndef BEAM_SINKS_OBJECT_LEDGER_SEGMENT_H
#define BEAM_SINKS_OBJECT_LEDGER_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "beam/status.h"
#include "object_store.h"

/* One committed stream marker: its name, its commit instant and its units (a JSON array,
 * one reference owned). */
typedef struct beam_ledger_marker {
  char *name;
  int64_t committed_us;
  json_t *units;
} beam_ledger_marker;

/* Frees the markers' names and units (not the array). */
void beam_ledger_markers_clear(beam_ledger_marker *m, size_t n);

/* Whether name (relative to the store's root) is a segment. */
bool beam_ledger_segment_name(const char *name);
/* The instant a ledger object's name carries (".bundles/" and one letter, then 16 hex
 * digits): a stream marker's commit instant, a segment's newest. */
int64_t beam_ledger_name_stamp(const char *name);

/* A segment's size, about (a marker bigger than that is a segment alone). */
#define BEAM_LEDGER_SEGMENT_BYTES ((size_t)4 << 20)

/* Puts the n markers as segments of about BEAM_LEDGER_SEGMENT_BYTES at most. */
beam_status beam_ledger_segment_put(beam_object_store *store, const beam_ledger_marker *m, size_t n, beam_error *err);

/* Reads segment name: each(ctx, marker) for every marker in it (marker's fields are the
 * segment's: copy what is kept). A segment gone since the listing holds nothing. */
beam_status beam_ledger_segment_read(beam_object_store *store, const char *name,
                                     beam_status (*each)(void *ctx, const beam_ledger_marker *m, beam_error *err),
                                     void *ctx, beam_error *err);

#endif
