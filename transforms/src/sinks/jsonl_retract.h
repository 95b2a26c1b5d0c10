/* Retracting what the ranges of a split file committed to a JSON-lines directory
 * (sink_jsonl.c, jsonl_log.c).
 *
 * A split file's ranges commit one by one, each a unit of some bundle with its ledger entry
 * "<file identity>@<start>-<end>". When the file fails afterwards, none of its rows may stay,
 * and users read the table files directly: the rows must leave the files themselves (no
 * tombstone a reader would have to honour). So the ledger entry of a range unit records, per
 * table, the byte span its rows took in the table file ("spans": {"t": [start, end]}: the
 * bundle's rows are appended at the table's committed length, a unit's rows are one stretch
 * of them, between its savepoint and its entry). Retracting a file, in the commit of the
 * bundle that writes its failed `_files` row and under the log's exclusive lock: each table
 * holding spans of the file's ranges is written again without them to a side file (a copy
 * of the kept stretches, fsynced), and the commit record names these next versions
 * ("rewrites": {"t": {"from", "len", "cuts"}}) and the retracted units ("retracts"); that
 * record is the commit point, after which each next version is renamed over its table, as
 * the appends are applied: a crash at any instant either leaves the old tables and ledger
 * (before the record is durable: the side files are swept) or is rolled forward by the next
 * open or commit (rename again when the side file is still there). Applying the record drops
 * the retracted units' entries and moves the spans of every other entry in a rewritten table
 * down by the bytes cut before them, so spans stay true through any number of retractions.
 *
 * A retraction fails (the commit fails, nothing changes) rather than cut a wrong row when a
 * table's file is not what the log committed: shorter than its committed length (cut by
 * hand), a span not on line boundaries, or a table the log knows no length for. A range entry
 * without spans (an earlier release wrote it) is left with its rows, as before. Readers with a
 * table file open keep reading the old version (it is replaced, not changed in place). A
 * retraction copies the whole table: it costs the table's size in I/O, once per failed file. */
#ifndef BEAM_SINKS_JSONL_RETRACT_H
#define BEAM_SINKS_JSONL_RETRACT_H

#include <stddef.h>

#include <jansson.h>

#include "beam/status.h"
#include "jsonl_log.h"
#include "sink_int.h"

/* Under the log's exclusive lock, caught up: for the files file_ids[n], adds to retracts the
 * keys of their committed range units, writes each table they have rows in again without
 * those rows (a side file, fsynced; the directory is not) and adds it to rewrites, and notes
 * the rows per table on s (beam_sink_note_retracted). On failure the side files written are
 * deleted. */
beam_status beam_jsonl_retract_prepare(jl_log *log, beam_sink *s, const char *const *file_ids, size_t n,
                                       json_t *rewrites, json_t *retracts, beam_error *err);

#endif
