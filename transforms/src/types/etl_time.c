/* TIMESTAMP / DATE parsing and formatting, by hand: this runs once per cell, so no
 * strptime, no locale, no allocation. */
#include "beam/transforms/etl_time.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define US_PER_SEC 1000000LL
#define US_PER_DAY 86400000000LL

/* Days from 1970-01-01 to year-month-day, proleptic Gregorian. Counting from March makes
 * the leap day the last day of the (shifted) year, so each 400-year era is uniform. */
int64_t beam_etl_days_from_civil(int64_t year, int month, int day) {
  int64_t y = year - (month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* [0, 399] */
  int64_t mp = month > 2 ? month - 3 : month + 9;                /* March = 0 */
  int64_t doy = (153 * mp + 2) / 5 + day - 1;                    /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

void beam_etl_civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int d = (int)(doy - (153 * mp + 2) / 5 + 1);
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (m <= 2);
  *month = m;
  *day = d;
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n digits at *p; false when any is missing. */
static bool digits(const char *s, size_t len, size_t *p, int n, int *out) {
  if (len - *p < (size_t)n) return false;
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = s[*p + (size_t)i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *p += (size_t)n;
  *out = v;
  return true;
}

/* YYYY-MM-DD at *p, checked against the calendar. */
static bool parse_ymd(const char *s, size_t len, size_t *p, int64_t *days) {
  int y = 0, m = 0, d = 0;
  if (!digits(s, len, p, 4, &y)) return false;
  if (*p >= len || s[*p] != '-') return false;
  (*p)++;
  if (!digits(s, len, p, 2, &m)) return false;
  if (*p >= len || s[*p] != '-') return false;
  (*p)++;
  if (!digits(s, len, p, 2, &d)) return false;
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return false;
  *days = beam_etl_days_from_civil(y, m, d);
  return true;
}

beam_status beam_etl_parse_date(const char *s, size_t len, int64_t *days) {
  size_t p = 0;
  if (!parse_ymd(s, len, &p, days) || p != len) return BEAM_ERR_MALFORMED;
  return BEAM_OK;
}

/* The zone suffix: sets the offset in seconds east of UTC. */
static bool parse_zone(const char *s, size_t len, size_t *p, int64_t *offset_s) {
  *offset_s = 0;
  if (*p == len) return true;
  if (s[*p] == ' ') (*p)++;
  if (*p == len) return false;
  char c = s[*p];
  if (c == 'Z' || c == 'z') {
    (*p)++;
    return true;
  }
  if (len - *p >= 3 && s[*p] == 'U' && s[*p + 1] == 'T' && s[*p + 2] == 'C') {
    *p += 3;
    return true;
  }
  if (c != '+' && c != '-') return false;
  (*p)++;
  int hh = 0, mm = 0;
  if (!digits(s, len, p, 2, &hh)) return false;
  if (*p < len) {
    if (s[*p] == ':') (*p)++;
    if (!digits(s, len, p, 2, &mm)) return false;
  }
  if (hh > 23 || mm > 59) return false;
  *offset_s = (c == '-' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
  return true;
}

beam_status beam_etl_parse_timestamp(const char *s, size_t len, int64_t *micros) {
  size_t p = 0;
  int64_t days;
  if (!parse_ymd(s, len, &p, &days)) return BEAM_ERR_MALFORMED;
  int64_t us = days * US_PER_DAY;
  if (p < len) {
    char sep = s[p];
    if (sep != 'T' && sep != 't' && sep != ' ') return BEAM_ERR_MALFORMED;
    p++;
    int hh = 0, mi = 0, ss = 0;
    int64_t frac = 0;
    if (!digits(s, len, &p, 2, &hh)) return BEAM_ERR_MALFORMED;
    if (p >= len || s[p] != ':') return BEAM_ERR_MALFORMED;
    p++;
    if (!digits(s, len, &p, 2, &mi)) return BEAM_ERR_MALFORMED;
    if (p < len && s[p] == ':') {
      p++;
      if (!digits(s, len, &p, 2, &ss)) return BEAM_ERR_MALFORMED;
      if (p < len && s[p] == '.') {
        p++;
        int n = 0;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
          if (++n > 6) return BEAM_ERR_MALFORMED;
          frac = frac * 10 + (s[p] - '0');
          p++;
        }
        if (n == 0) return BEAM_ERR_MALFORMED;
        for (; n < 6; n++) frac *= 10;
      }
    }
    if (hh > 23 || mi > 59 || ss > 59) return BEAM_ERR_MALFORMED;
    int64_t offset_s;
    if (!parse_zone(s, len, &p, &offset_s) || p != len) return BEAM_ERR_MALFORMED;
    us += ((int64_t)hh * 3600 + mi * 60 + ss - offset_s) * US_PER_SEC + frac;
  }
  if (us < BEAM_ETL_TIMESTAMP_MIN_US || us > BEAM_ETL_TIMESTAMP_MAX_US) return BEAM_ERR_INVALID_ARG;
  *micros = us;
  return BEAM_OK;
}

beam_status beam_etl_parse_epoch_seconds(const char *s, size_t len, int64_t *micros) {
  size_t p = 0;
  bool neg = false;
  if (p < len && (s[p] == '-' || s[p] == '+')) neg = s[p++] == '-';
  int64_t secs = 0;
  size_t start = p;
  while (p < len && s[p] >= '0' && s[p] <= '9') {
    /* Anything past 12 digits is far outside 0001..9999 anyway; stop before overflow. */
    if (p - start >= 12) return BEAM_ERR_INVALID_ARG;
    secs = secs * 10 + (s[p++] - '0');
  }
  if (p == start) return BEAM_ERR_MALFORMED;
  int64_t frac = 0;
  if (p < len && s[p] == '.') {
    p++;
    int n = 0;
    while (p < len && s[p] >= '0' && s[p] <= '9') {
      if (++n > 6) return BEAM_ERR_MALFORMED;
      frac = frac * 10 + (s[p++] - '0');
    }
    if (n == 0) return BEAM_ERR_MALFORMED;
    for (; n < 6; n++) frac *= 10;
  }
  if (p != len) return BEAM_ERR_MALFORMED;
  int64_t us = secs * US_PER_SEC + frac;
  if (neg) us = -us;
  if (us < BEAM_ETL_TIMESTAMP_MIN_US || us > BEAM_ETL_TIMESTAMP_MAX_US) return BEAM_ERR_INVALID_ARG;
  *micros = us;
  return BEAM_OK;
}

static void put2(char *b, int v) {
  b[0] = (char)('0' + v / 10);
  b[1] = (char)('0' + v % 10);
}

/* Writes YYYY-MM-DD; years outside 0..9999 fall back to printf (never in valid data). */
static size_t put_date(char *buf, size_t cap, int64_t days) {
  int64_t y;
  int m, d;
  beam_etl_civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > 9999) {
    int n = snprintf(buf, cap, "%04" PRId64 "-%02d-%02d", y, m, d);
    return n < 0 ? 0 : (size_t)n;
  }
  put2(buf, (int)(y / 100));
  put2(buf + 2, (int)(y % 100));
  buf[4] = '-';
  put2(buf + 5, m);
  buf[7] = '-';
  put2(buf + 8, d);
  buf[10] = '\0';
  return 10;
}

size_t beam_etl_format_date(int64_t days, char buf[24]) { return put_date(buf, 24, days); }

size_t beam_etl_format_timestamp(int64_t micros, char buf[32]) {
  /* Floor division so pre-epoch instants land on the right day and a positive remainder. */
  int64_t days = micros / US_PER_DAY;
  int64_t rem = micros % US_PER_DAY;
  if (rem < 0) {
    rem += US_PER_DAY;
    days--;
  }
  /* Dates of int64 micros have at most 7 characters of year: 13 + 18 more < 32. */
  size_t n = put_date(buf, 14, days);
  int64_t secs = rem / US_PER_SEC;
  int64_t frac = rem % US_PER_SEC;
  char *b = buf + n;
  b[0] = 'T';
  put2(b + 1, (int)(secs / 3600));
  b[3] = ':';
  put2(b + 4, (int)(secs / 60 % 60));
  b[6] = ':';
  put2(b + 7, (int)(secs % 60));
  n += 9;
  if (frac) {
    buf[n++] = '.';
    for (int i = 5; i >= 0; i--) {
      buf[n + (size_t)i] = (char)('0' + frac % 10);
      frac /= 10;
    }
    n += 6;
  }
  buf[n++] = 'Z';
  buf[n] = '\0';
  return n;
}

int64_t beam_etl_now_micros(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
