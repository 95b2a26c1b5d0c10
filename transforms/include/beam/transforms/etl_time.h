/* TIMESTAMP and DATE text forms for the ETL transforms: hand-written parsers (no strptime,
 * no locale, no time zone database) and the canonical output formatting.
 *
 * Accepted TIMESTAMP text (BigQuery-compatible subset of RFC 3339 / ISO 8601):
 *   YYYY-MM-DD                                  date only: midnight UTC
 *   YYYY-MM-DD{T|t| }HH:MM[:SS[.f{1,6}]][zone]   zone omitted means UTC
 *   zone := [ ] ( Z | z | UTC | (+|-)HH[:MM] | (+|-)HHMM )
 * Years are exactly four digits (0001..9999, BigQuery's range); the instant after applying
 * the offset must also fall in that range. Seconds are 00..59: leap second 60 is rejected
 * (neither BigQuery nor POSIX time can represent it). More than six fractional digits is
 * rejected rather than silently truncated. Offsets are at most 23:59.
 * Epoch seconds (from JSON numbers only, see etl_coerce.h): [-]digits[.f{1,6}]. */
#ifndef BEAM_TRANSFORMS_ETL_TIME_H
#define BEAM_TRANSFORMS_ETL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds. */
#define BEAM_ETL_TIMESTAMP_MIN_US (-62135596800000000LL)
#define BEAM_ETL_TIMESTAMP_MAX_US (253402300799999999LL)
/* 0001-01-01 and 9999-12-31 in days since 1970-01-01. */
#define BEAM_ETL_DATE_MIN_DAYS (-719162LL)
#define BEAM_ETL_DATE_MAX_DAYS (2932896LL)

/* Each parser returns BEAM_OK, BEAM_ERR_MALFORMED (syntax, impossible calendar date) or
 * BEAM_ERR_INVALID_ARG (well-formed but outside 0001..9999). */
beam_status beam_etl_parse_timestamp(const char *s, size_t len, int64_t *micros);
beam_status beam_etl_parse_epoch_seconds(const char *s, size_t len, int64_t *micros);
beam_status beam_etl_parse_date(const char *s, size_t len, int64_t *days);

/* "2024-01-02T03:04:05.123456Z"; the fraction is omitted when it is zero and otherwise
 * always six digits (BigQuery's canonical form). Returns the length written (excluding the
 * NUL). Any int64 is formatted (years outside 0..9999 get more digits or a sign). */
size_t beam_etl_format_timestamp(int64_t micros, char buf[32]);
/* "2024-01-02". Returns the length written. */
size_t beam_etl_format_date(int64_t days, char buf[24]);

/* Proleptic Gregorian calendar conversions (days since 1970-01-01). */
int64_t beam_etl_days_from_civil(int64_t year, int month, int day);

/* Microseconds since the epoch, from the wall clock. */
int64_t beam_etl_now_micros(void);
void beam_etl_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

#ifdef __cplusplus
}
#endif
#endif
