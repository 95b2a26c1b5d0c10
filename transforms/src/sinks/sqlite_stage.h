/* The SQLite sink's staged bundle: the rows of an open bundle, encoded in memory (spilling to
 * an unnamed temporary file beside the database past a cap) until the commit inserts them
 * under the write lock. Staging is what lets many writers of one database parse and encode
 * their bundles at once: only the inserts at commit are serialised. Internal to the sinks
 * layer (sink_sqlite.c).
 *
 * Memory: at most `cap` bytes of encoded rows plus one row are held; the rest is in the
 * spill file, read back one chunk (at most cap + one row) at a time at commit. Rows are kept
 * in the order they were staged, whatever their table, so the commit inserts them in the
 * same order a direct insert would have. */
#ifndef BEAM_SINKS_SQLITE_STAGE_H
#define BEAM_SINKS_SQLITE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beam/buf.h"
#include "beam/status.h"
#include "beam/transforms/etl_types.h"

typedef struct sq_stage {
  beam_buf buf;        /* encoded rows not spilled */
  size_t cap;          /* spill when buf reaches this */
  const char *dir;     /* where the spill file goes (the database's directory) */
  int spill_fd;        /* -1 until the first spill */
  uint64_t spilled;    /* bytes in the spill file */
  uint32_t *chunks;    /* length of each spilled chunk (whole rows each) */
  size_t n_chunks, cap_chunks;
  uint64_t rows;       /* rows staged */
  uint8_t *read_buf;   /* one chunk read back at commit */
  size_t read_cap;
} sq_stage;

/* Called for each staged row by beam_sqlite_stage_replay: the row's table (the index given
 * to stage_row) and its values, which point into the stage's memory and stay valid until
 * the chunk ends (end_chunk is called then). Non-zero stops the replay with that result. */
typedef struct sq_stage_visitor {
  int (*row)(void *ctx, uint32_t table, const beam_value *values, size_t n_values);
  int (*end_chunk)(void *ctx); /* the values of every row visited so far become invalid */
  void *ctx;
} sq_stage_visitor;

/* An empty stage spilling past cap bytes into an unnamed file in dir (kept, not copied). */
void beam_sqlite_stage_init(sq_stage *st, size_t cap, const char *dir);

/* Appends one row of n values (NULL, INT64, DOUBLE, BOOL, STRING or BYTES: what a row that
 * conforms to its schema holds) for table. Fails with the errno of a failed spill (*e set,
 * BEAM_ERR_IO) or BEAM_ERR_NOMEM. */
beam_status beam_sqlite_stage_row(sq_stage *st, uint32_t table, const beam_value *values, size_t n, int *e);

/* Visits every staged row in order; returns the first non-zero result of the visitor, or a
 * negative errno when reading the spill file back failed, or 0. values is scratch the
 * caller provides, n_values long (the widest table's column count). */
int beam_sqlite_stage_replay(sq_stage *st, const sq_stage_visitor *v, beam_value *values, size_t n_values);

/* Forgets every staged row (keeps the memory and truncates the spill file for the next
 * bundle). */
void beam_sqlite_stage_reset(sq_stage *st);

/* Releases everything. */
void beam_sqlite_stage_free(sq_stage *st);

/* ---- The bundle's ledger entries, written at commit ------------------------------------ */

typedef struct sq_ledger_entry {
  char *key;
  char *file;
  bool replace;
  char recorded_at[32]; /* what a lookup inside the bundle reports */
} sq_ledger_entry;

typedef struct sq_ledger_list {
  sq_ledger_entry *items;
  size_t len, cap;
} sq_ledger_list;

/* Records key: an entry for it already listed is kept (!replace) or replaced. NOMEM only. */
beam_status beam_sqlite_ledger_list_add(sq_ledger_list *l, const char *key, const char *file, bool replace);
/* The entry for key, or NULL. */
const sq_ledger_entry *beam_sqlite_ledger_list_find(const sq_ledger_list *l, const char *key);
/* Empties the list (keeping its array), or frees it. */
void beam_sqlite_ledger_list_clear(sq_ledger_list *l);
void beam_sqlite_ledger_list_free(sq_ledger_list *l);

#endif
