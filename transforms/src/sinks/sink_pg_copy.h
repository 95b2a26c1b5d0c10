/* PostgreSQL binary COPY encoding for typed ETL rows (private to transforms/src).
 *
 * The PostgreSQL sink loads with `COPY t (cols) FROM STDIN (FORMAT binary)`: no text
 * escaping, no float formatting, and the server skips parsing. One encoder holds the rows
 * of one write_rows call back to back, with each row's byte range recorded, so any subset
 * of consecutive rows can be re-sent (the sink bisects a range the server refused).
 *
 * Wire facts (PostgreSQL docs, "COPY ... Binary Format", and the types' send/recv
 * functions): an 11-byte signature "PGCOPY\n\377\r\n\0", int32 flags, int32 header
 * extension length; per tuple an int16 field count then per field an int32 length (-1 is
 * NULL) and the bytes; an int16 -1 trailer. All integers big-endian. int8 and float8 are 8
 * bytes; bool 1 byte; text and bytea their raw bytes; timestamptz int64 microseconds and
 * date int32 days, both since 2000-01-01; numeric is int16 ndigits, int16 weight, uint16
 * sign, int16 dscale, then ndigits base-10000 int16 digits (value = sum d[i]*10000^(weight-i)). */
#ifndef BEAM_TRANSFORMS_SINK_PG_COPY_H
#define BEAM_TRANSFORMS_SINK_PG_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include "beam/buf.h"
#include "beam/transforms/etl_types.h"

typedef struct beam_sink_pg_copy {
  beam_buf rows;     /* encoded tuples, back to back (no header, no trailer) */
  size_t *start;     /* start[k] .. start[k+1]: encoded row k; start[n] == rows.len */
  size_t *index;     /* index[k]: the row's index in the write_rows call */
  size_t n;
  size_t cap;
} beam_sink_pg_copy;

#define BEAM_SINK_PG_COPY_INIT {BEAM_BUF_INIT, NULL, NULL, 0, 0}

/* The 19-byte header and the 2-byte trailer every COPY stream starts and ends with. */
extern const unsigned char beam_sink_pg_copy_header[19];
extern const unsigned char beam_sink_pg_copy_trailer[2];

void beam_sink_pg_copy_reset(beam_sink_pg_copy *c);
void beam_sink_pg_copy_free(beam_sink_pg_copy *c);

/* Appends row (already checked with beam_sink_row_conforms) as encoded row number c->n,
 * remembering index. A value the binary format cannot carry (a NUMERIC that is not a plain
 * decimal, a date beyond int32 days) leaves the encoder unchanged, returns false and
 * writes a reason naming the field; NOMEM is reported through *nomem. */
bool beam_sink_pg_copy_add(beam_sink_pg_copy *c, const beam_etl_schema *schema, const beam_value *values,
                           size_t index, char *reason, size_t reason_cap, bool *nomem);

/* Longest binary numeric the encoder writes (1000 digits on each side of the point). */
#define BEAM_SINK_PG_NUMERIC_MAX 1024

/* Encodes decimal text ("-12.50", "+7", ".5") as a binary numeric into out; returns the
 * length, or 0 when text is not a plain decimal (exponents, NaN and more than 1000 digits
 * on either side of the point are refused). */
size_t beam_sink_pg_numeric_encode(const char *text, size_t len, unsigned char out[BEAM_SINK_PG_NUMERIC_MAX]);

#endif
