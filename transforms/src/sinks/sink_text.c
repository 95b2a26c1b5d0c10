/* Civil-calendar formatting of TIMESTAMP and DATE values for the sinks. Hand-written
 * rather than gmtime_r + strftime: this runs once per timestamp cell on the hot path. */
#include "sink_text.h"

#include <stdio.h>

/* Days since 1970-01-01 -> proleptic Gregorian y/m/d (the well-known era/day-of-era method;
 * exact for any day count within +-2^40). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

static inline char *put2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

static char *put_date(char *p, int64_t days) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  if (y >= 0 && y <= 9999) {
    unsigned uy = (unsigned)y;
    p = put2(p, uy / 100);
    p = put2(p, uy % 100);
  } else {
    p += sprintf(p, "%+05lld", (long long)y);
  }
  *p++ = '-';
  p = put2(p, m);
  *p++ = '-';
  return put2(p, d);
}

/* Beyond +-2^40 days (3e9 years) nothing real lives; clamping keeps the arithmetic in
 * civil_from_days clear of overflow for any int64 a caller passes. */
#define MAX_DAYS ((int64_t)1 << 40)

size_t beam_sink_text_date(int64_t days, char *buf) {
  if (days > MAX_DAYS) days = MAX_DAYS;
  if (days < -MAX_DAYS) days = -MAX_DAYS;
  char *p = put_date(buf, days);
  *p = '\0';
  return (size_t)(p - buf);
}

size_t beam_sink_text_timestamp(int64_t micros, char *buf) {
  /* Floor division so instants before the epoch land on the previous day. */
  int64_t days = micros / 86400000000LL;
  int64_t rem = micros % 86400000000LL;
  if (rem < 0) {
    rem += 86400000000LL;
    days--;
  }
  char *p = put_date(buf, days);
  uint64_t secs = (uint64_t)rem / 1000000u;
  unsigned frac = (unsigned)((uint64_t)rem % 1000000u);
  *p++ = 'T';
  p = put2(p, (unsigned)(secs / 3600));
  *p++ = ':';
  p = put2(p, (unsigned)(secs / 60 % 60));
  *p++ = ':';
  p = put2(p, (unsigned)(secs % 60));
  if (frac) {
    *p++ = '.';
    for (int i = 5; i >= 0; i--) {
      p[i] = (char)('0' + frac % 10);
      frac /= 10;
    }
    p += 6;
  }
  *p++ = 'Z';
  *p = '\0';
  return (size_t)(p - buf);
}
