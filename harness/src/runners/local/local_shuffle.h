/* The local runner's shuffle: what crosses a stage boundary (a GroupByKey's input, or a
 * PCollection materialized for a later stage), held as encoded records under a memory budget.
 *
 * Writers (one per thread, so the hot path takes no lock) append records (key bytes, value
 * bytes) to a buffer; past their budget they sort it by key (sorted shuffles; by the key's
 * hash, then its bytes: local_shuffle_sort.h) and spill it as a run to an unlinked temporary
 * file. When the producing stage ends each writer hands its rest over, in memory or spilled.
 * A reader then merges the runs (k-way, in that order) and hands out chunks of whole groups
 * (sorted) or records (unsorted) to the consumer stage's threads.
 *
 * Bound: one key's values must fit in memory (a group is handed out whole, as the value list
 * a DoFn iterates). File runs are read through buffers of at least 4 KiB each. */
#ifndef BEAM_LOCAL_SHUFFLE_H
#define BEAM_LOCAL_SHUFFLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/buf.h"
#include "beam/status.h"

typedef struct beam_shuffle beam_shuffle;
typedef struct beam_shuffle_writer beam_shuffle_writer;
typedef struct beam_shuffle_reader beam_shuffle_reader;

/* A shuffle named what ("GroupByKey X", for messages) spilling into temp_dir. sorted: group
 * by key when read; otherwise records come back in the order each writer wrote them. */
beam_status beam_shuffle_new(const char *what, bool sorted, const char *temp_dir, beam_shuffle **out, beam_error *err);
void beam_shuffle_free(beam_shuffle *sh);

/* Record bytes (and records) of the writers closed so far, and those held in memory (not
 * spilled). */
int64_t beam_shuffle_bytes(const beam_shuffle *sh);
int64_t beam_shuffle_memory_bytes(const beam_shuffle *sh);
int64_t beam_shuffle_records(const beam_shuffle *sh);
/* Runs spilled to disk so far. */
size_t beam_shuffle_spilled_runs(const beam_shuffle *sh);

/* A writer for one thread; it spills when its buffer passes budget bytes. */
beam_status beam_shuffle_writer_new(beam_shuffle *sh, size_t budget, beam_shuffle_writer **out, beam_error *err);
/* Appends one record. */
beam_status beam_shuffle_write(beam_shuffle_writer *w, const uint8_t *key, size_t key_len, const uint8_t *value,
                               size_t value_len, beam_error *err);
/* Bytes the writer holds in memory now. */
size_t beam_shuffle_writer_pending(const beam_shuffle_writer *w);
/* Hands the writer's rest to the shuffle (kept in memory when keep_in_memory, else spilled)
 * and frees the writer. */
beam_status beam_shuffle_writer_close(beam_shuffle_writer *w, bool keep_in_memory, beam_error *err);
/* Frees a writer without handing anything over (after a failure). */
void beam_shuffle_writer_discard(beam_shuffle_writer *w);

/* Opens a merge over every run handed over so far (all writers closed). A shuffle may be read
 * more than once. buffer_budget bounds the read buffers of the file runs together. */
beam_status beam_shuffle_reader_open(beam_shuffle *sh, size_t buffer_budget, beam_shuffle_reader **out,
                                     beam_error *err);
/* Thread-safe: appends to chunk whole groups or records until chunk holds target_bytes or
 * max_items items; *n_items is how many (0: the shuffle is exhausted).
 * Sorted: each group is varint key_len, key, then per value 0x01 varint len, value, then 0x00.
 * Unsorted: each record is varint len, value. */
beam_status beam_shuffle_reader_next(beam_shuffle_reader *r, beam_buf *chunk, size_t target_bytes, size_t max_items,
                                     size_t *n_items, beam_error *err);
void beam_shuffle_reader_free(beam_shuffle_reader *r);

/* Reads a varint at *p (before end); false when it is cut short. */
bool beam_shuffle_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

#endif
