/* Implementing a sink: the base struct every sink embeds, its vtable and the front's state
 * machine. Internal to the sinks layer; users open sinks by URI (beam/transforms/sink.h). */
#ifndef BEAM_TRANSFORMS_SINK_INT_H
#define BEAM_TRANSFORMS_SINK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "beam/transforms/sink.h"

/* The front functions above check arguments and the bundle state machine, then call the
 * vtable: an implementation sees ensure_table only with valid names, begin only outside a
 * bundle, write_rows/commit only inside a healthy bundle and only for ensured tables it
 * reported, abort only inside a bundle, close once. */
typedef struct beam_sink_vtable {
  const char *scheme;
  /* topts: the table's own partitioning and clustering (checked against schema by the
   * front), or NULL for the sink-wide ones given at open. */
  beam_status (*ensure_table)(beam_sink *s, const char *table, const beam_etl_schema *schema,
                              const beam_sink_table_options *topts, beam_error *err);
  beam_status (*begin)(beam_sink *s, const char *bundle_id, beam_error *err);
  /* A table not ensured on this sink is BEAM_ERR_NOT_FOUND. Appends refused rows to
   * rejected (never NULL here: the front resets it, or supplies a scratch list). */
  beam_status (*write_rows)(beam_sink *s, const char *table, const beam_etl_row *rows, size_t n,
                            beam_sink_row_errors *rejected, beam_error *err);
  /* Sets s->duplicate when the bundle was already committed. On failure the implementation
   * has already discarded the bundle (the front does not call abort after it). */
  beam_status (*commit)(beam_sink *s, beam_error *err);
  void (*abort)(beam_sink *s);
  beam_status (*close)(beam_sink *s, beam_error *err);
  void (*free)(beam_sink *s); /* frees the whole object, base included */
  /* Optional (NULL: not supported). savepoint/rollback_to_savepoint are called only inside a
   * healthy bundle, rollback only after a savepoint; a failure of either fails the bundle. */
  beam_status (*savepoint)(beam_sink *s, beam_error *err);
  beam_status (*rollback_to_savepoint)(beam_sink *s, beam_error *err);
  /* The ledger (all three or none). ledger_record is called inside a healthy bundle;
   * ledger_find and ledger_any inside or outside one (not in a failed one). */
  beam_status (*ledger_record)(beam_sink *s, const char *key, const char *file, bool replace, beam_error *err);
  beam_status (*ledger_find)(beam_sink *s, const char *key, beam_sink_ledger_hit *hit, beam_error *err);
  beam_status (*ledger_any)(beam_sink *s, bool *any, beam_error *err);
  /* Optional with a ledger (NULL: no ranges found). Appends to out (emptied by the front,
   * which sorts and merges afterwards) every entry beam_sink_ranges_add_unit takes for
   * file_id; inside or outside a bundle (not in a failed one). */
  beam_status (*ledger_ranges)(beam_sink *s, const char *file_id, beam_sink_ranges *out, beam_error *err);
  /* Optional with a ledger (NULL: ledger_find per key). found[] is zeroed by the front. */
  beam_status (*ledger_find_many)(beam_sink *s, const char *const *keys, size_t n, bool *found, beam_error *err);
  /* Optional with a ledger (NULL: cannot retract). Called inside a healthy bundle; the
   * retraction takes effect with the bundle's commit (see beam_sink_retract_units). */
  beam_status (*retract_units)(beam_sink *s, const char *file_id, beam_error *err);
  /* Optional with retract_units (NULL: none found). Calls each(ctx, unit, file) for the
   * committed byte-range units whose file has no whole-file unit, at least (the front checks
   * both again), with the input name each was recorded under; outside a bundle. */
  beam_status (*ledger_range_units)(beam_sink *s, beam_sink_unit_fn each, void *ctx, beam_error *err);
} beam_sink_vtable;

/* For ledger_ranges: appends the byte range of unit when it is one of file_id's units -
 * "<file_id>@<start>-<end>" with 0 <= start <= end in decimal ([start, end)), or "<file_id>"
 * itself ([0, INT64_MAX)); any other unit (another file's, one whose tail is not a range) is
 * skipped. BEAM_ERR_NOMEM only. */
beam_status beam_sink_ranges_add_unit(beam_sink_ranges *out, const char *file_id, const char *unit);
/* True when unit is a byte range "<file_id>@<start>-<end>" of file_id (strictly: a ZIP member
 * "<id>!a@b.csv" is not a range of "<id>!a"); beam_sink_unit_is_range: of any file. */
bool beam_sink_unit_is_range_of(const char *unit, const char *file_id);
bool beam_sink_unit_is_range(const char *unit);

/* Sorts out by start and merges overlapping and adjacent ranges (the front does it). */
void beam_sink_ranges_normalize(beam_sink_ranges *out);

/* The optional late-rejection hook (see beam_sink_send), set in the base by the sinks that
 * have it; it appends to rejected. Separate from the vtable because it is optional: only a
 * sink that learns which rows the backend refused after write_rows (BigQuery) sets it. */
typedef beam_status (*beam_sink_send_fn)(beam_sink *s, const char *table,
                                         beam_sink_row_errors *rejected, beam_error *err);

typedef enum beam_sink_state {
  BEAM_SINK_IDLE = 0,   /* outside a bundle */
  BEAM_SINK_IN_BUNDLE,  /* between begin and commit/abort */
  BEAM_SINK_FAILED,     /* a call in the bundle failed: only abort is accepted */
  BEAM_SINK_CLOSED
} beam_sink_state;

/* What the open bundle holds so far: its counts and the running sum behind its content key.
 * A unit's savepoint copies it, a unit rollback restores the copy. */
typedef struct beam_sink_tally {
  uint64_t rows;      /* rows accepted */
  uint64_t rejected;
  bool content_unkeyable;
  uint64_t content_sum[2];
  uint64_t content_rows;
} beam_sink_tally;

/* The base every implementation embeds as its first member. */
struct beam_sink {
  const beam_sink_vtable *vt;
  beam_sink_options opts;  /* with defaults filled in by beam_sink_init */
  beam_sink_state state;
  bool duplicate;          /* set by begin/commit when the bundle_id was already committed */
  beam_sink_tally bundle;  /* the open bundle's counts and content sum */
  beam_sink_stats stats;
  beam_sink_row_errors scratch_rejected; /* used when the caller passes rejected == NULL */
  beam_sink_send_fn send;  /* NULL: the sink judges rows in write_rows only */
  /* Content keys (see the comment below the struct): an implementation that recognises
   * bundles by their content sets keys_content at open; the front then sums every row's
   * record identity over the bundle (bundle.content_*), and content_key holds the result
   * when commit is called ("" when a row of the bundle was not read from a file). */
  bool keys_content;
  char content_key[49];
  /* At the last unit_begin: what a unit rollback restores. */
  bool has_mark;
  beam_sink_tally mark;
  /* What the last commit's retractions removed, per table (beam_sink_retracted_rows). */
  beam_sink_table_rows *retracted;
  size_t n_retracted, cap_retracted;
};

/* For a sink that deletes a stream's old message units (sink.h: message_ledger_days): true
 * when it should now - a stream's sink with expiry on, at the first call and then once an
 * hour of the monotonic clock - and then *last is stamped (0: never yet). */
/* The first 16 bytes of text's SHA-256 as 32 hex digits and a NUL: how the sinks name a
 * bundle's objects and markers (object files, ledger segments, BigQuery insertId prefixes). */
void beam_sink_name_hash(const char *text, char out[33]);

bool beam_sink_message_expiry_due(const beam_sink *s, int64_t *last);

/* For a sink's commit: adds rows removed from table by a retraction. NOMEM only. */
beam_status beam_sink_note_retracted(beam_sink *s, const char *table, int64_t rows);

/* Content keys (beam_sink_content_key: keys_content, content_key and bundle.content_* above). The Fn API gives a bundle a runner retries a new instruction id, so a bundle
 * id alone cannot tell a retry from new data. A content key can: it names the set of records
 * a bundle wrote (order-independent: a sum of each row's hash of table, file identity and
 * byte offset, plus the count), so a retry holding the same records has the same key whatever
 * its bundle id, in this run or a relaunch. Sinks with keys_content record the key with the bundle at commit and treat a key
 * committed before as a duplicate bundle (nothing written, beam_sink_last_bundle_was_duplicate
 * true). Retries that split the input differently get other keys and are written as before. */

/* Fills the base (vtable, options with defaults). */
void beam_sink_init(beam_sink *s, const beam_sink_vtable *vt, const beam_sink_options *opts);

/* The front's check of beam_sink_ensure_table_with's options against the table's schema
 * (sink_table_options.c). */
beam_status beam_sink_table_options_check(const char *table, const beam_etl_schema *schema,
                                          const beam_sink_table_options *topts, beam_error *err);

/* Checks a row against the schema: one value per field of the kind the type maps to (see
 * etl_types.h), NULL only in NULLABLE fields. Returns false and writes a reason. */
bool beam_sink_row_conforms(const beam_etl_schema *schema, const beam_etl_row *row, char *reason,
                            size_t reason_cap);

/* ---- Checking a location ahead of a run (beam_sink_check_uri) -------------------------
 * Each checks the part of a URI after "scheme:" and creates, opens for writing and connects
 * to nothing; on a bad location BEAM_ERR_INVALID_ARG with a message naming the path (and
 * strerror) or the syntax error, without the scheme (the front prefixes the URI). */
typedef beam_status (*beam_sink_check_fn)(const char *location, beam_error *err);

/* sqlite:PATH: an existing PATH is a readable, writable SQLite file (or empty), and its
 * directory exists and is writable (the -wal and -shm files go there too). */
beam_status beam_sink_sqlite_check(const char *path, beam_error *err);
/* jsonl:DIR and file:DIR: DIR is a writable directory or can be created with its parents. */
beam_status beam_sink_dir_check(const char *dir, beam_error *err);
/* gcs:gs://BUCKET[/PREFIX]: the URI's syntax. */
beam_status beam_sink_gcs_check(const char *location, beam_error *err);
/* bigquery:PROJECT.DATASET[?options]: the location's syntax and options. */
beam_status beam_sink_bigquery_check(const char *location, beam_error *err);
/* pubsub:projects/P/topics/T[?options]: the resource name's syntax and options. */
beam_status beam_sink_pubsub_check(const char *location, beam_error *err);
/* postgres:CONNINFO: the connection string's syntax (libpq's parser, no connection). */
beam_status beam_sink_postgres_check(const char *conninfo, beam_error *err);

#endif
