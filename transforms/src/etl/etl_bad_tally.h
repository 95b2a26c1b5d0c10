/* Counts a file's bad records by kind of error, to name the most frequent one when the file
 * fails its guard rails (validate.max_bad_records / max_bad_ratio) or is mostly bad. A kind
 * is the stage and the message with its values blanked (digits, quoted values after the
 * first quoted name), so "amount": "-5" and "amount": "-7" count as one. Internal. */
#ifndef BEAM_ETL_BAD_TALLY_H
#define BEAM_ETL_BAD_TALLY_H

#include <stddef.h>
#include <stdint.h>

#define BEAM_ETL_BAD_KINDS 16

typedef struct beam_etl_bad_kind {
  char key[96];
  char example[320]; /* "stage: message" of the first record of this kind */
  int64_t n;
} beam_etl_bad_kind;

typedef struct beam_etl_bad_tally {
  beam_etl_bad_kind kinds[BEAM_ETL_BAD_KINDS];
  size_t n_kinds;
  int64_t total, untallied; /* untallied: kinds beyond the table's size */
} beam_etl_bad_tally;

/* Counts one bad record of stage with message error. */
void beam_etl_bad_tally_add(beam_etl_bad_tally *t, const char *stage, const char *error);

/* The most frequent kind, or NULL when nothing was counted. */
const beam_etl_bad_kind *beam_etl_bad_tally_top(const beam_etl_bad_tally *t);

#endif
