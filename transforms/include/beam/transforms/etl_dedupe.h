/* Dedupe: the key rows are grouped on, and the order that picks the survivor.
 *
 * With "clean": {"dedupe_on": "event_id"} the pipeline keys each typed row with
 * beam_etl_dedupe_key, groups by key, and keeps exactly one row per key: the first in record
 * order (beam_etl_origin_compare: input order, source name, then byte offset), so reruns and runners agree on
 * which row survives. The others are counted as deduplicated.
 *
 * Key bytes (deterministic, independent of the input's spelling since they come from typed
 * values): 0x01 then STRING/NUMERIC/BYTES the bytes; INT64/TIMESTAMP/DATE 8 bytes
 * big-endian; FLOAT64 the IEEE bits big-endian with -0 folded to 0 and one NaN; BOOL one
 * byte. A null key is 0x00 + source + 0x00 + byte offset (8 bytes): unique per record, so rows
 * without a key are never merged with each other. */
#ifndef BEAM_TRANSFORMS_ETL_DEDUPE_H
#define BEAM_TRANSFORMS_ETL_DEDUPE_H

#include "beam/buf.h"
#include "beam/transforms/etl_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Replaces out's contents with the row's key. BEAM_ERR_INVALID_ARG when the spec has no
 * dedupe_on; BEAM_ERR_NOMEM. */
beam_status beam_etl_dedupe_key(const beam_etl_spec *spec, const beam_etl_row *row, beam_buf *out);

/* Record order: the file's place in input order, strcmp of source (NULL first; a ZIP's
 * members), then byte offset, so every parallelism and split picks the same row. <0, 0, >0. */
int beam_etl_origin_compare(const beam_etl_origin *a, const beam_etl_origin *b);
/* beam_etl_origin_compare on the rows' origins (qsort-style usable through a wrapper). */
int beam_etl_row_order_compare(const beam_etl_row *a, const beam_etl_row *b);

#ifdef __cplusplus
}
#endif
#endif
