/* Exact decimal normalization and ordering for NUMERIC cells. */
#include "beam/transforms/etl_numeric.h"

#include <stdbool.h>
#include <string.h>

/* Bounds the exponent so shifting never overflows; anything this large is out of range
 * for NUMERIC unless the mantissa is zero. */
#define NUMERIC_MAX_EXP 1000

beam_status beam_etl_numeric_normalize(const char *s, size_t len, char out[BEAM_ETL_NUMERIC_MAX_LEN + 1],
                                       size_t *out_len) {
  size_t p = 0;
  bool neg = false;
  if (p < len && (s[p] == '+' || s[p] == '-')) neg = s[p++] == '-';
  size_t int_start = p;
  while (p < len && s[p] >= '0' && s[p] <= '9') p++;
  size_t int_end = p;
  size_t frac_start = p, frac_end = p;
  if (p < len && s[p] == '.') {
    p++;
    frac_start = p;
    while (p < len && s[p] >= '0' && s[p] <= '9') p++;
    frac_end = p;
  }
  if (int_end == int_start && frac_end == frac_start) return BEAM_ERR_MALFORMED;
  long exp = 0;
  if (p < len && (s[p] == 'e' || s[p] == 'E')) {
    p++;
    bool eneg = false;
    if (p < len && (s[p] == '+' || s[p] == '-')) eneg = s[p++] == '-';
    size_t es = p;
    while (p < len && s[p] >= '0' && s[p] <= '9') {
      if (exp < NUMERIC_MAX_EXP) exp = exp * 10 + (s[p] - '0');
      p++;
    }
    if (p == es) return BEAM_ERR_MALFORMED;
    if (exp > NUMERIC_MAX_EXP) exp = NUMERIC_MAX_EXP;
    if (eneg) exp = -exp;
  }
  if (p != len) return BEAM_ERR_MALFORMED;

  /* The significant digits: mantissa digits with the point at position `point`
   * (count of digits before it), after applying the exponent. */
  size_t n_int = int_end - int_start, n_frac = frac_end - frac_start;
  /* Skip leading zeros of the whole digit string, tracking the point. */
  size_t total = n_int + n_frac;
  long point = (long)n_int + exp;
  size_t first = 0;
#define DIGIT(i) ((i) < n_int ? s[int_start + (i)] : s[frac_start + (i) - n_int])
  while (first < total && DIGIT(first) == '0') first++;
  size_t last = total;
  while (last > first && DIGIT(last - 1) == '0') last--;
  if (first == last) {
    out[0] = '0';
    out[1] = '\0';
    *out_len = 1;
    return BEAM_OK;
  }
  /* Digits first..last-1 are significant; digit i has weight 10^(point-1-i). */
  long int_digits = point - (long)first; /* digits left of the point, may be <= 0 */
  long frac_digits = (long)last - point; /* digits right of the point, may be <= 0 */
  if (int_digits > BEAM_ETL_NUMERIC_INT_DIGITS || frac_digits > BEAM_ETL_NUMERIC_SCALE)
    return BEAM_ERR_INVALID_ARG;
  size_t o = 0;
  if (neg) out[o++] = '-';
  if (int_digits <= 0) {
    out[o++] = '0';
  } else {
    for (long i = (long)first; i < point; i++) out[o++] = i < (long)last ? DIGIT((size_t)i) : '0';
  }
  if (frac_digits > 0) {
    out[o++] = '.';
    for (long i = point; i < (long)last; i++) out[o++] = i < (long)first ? '0' : DIGIT((size_t)i);
  }
#undef DIGIT
  out[o] = '\0';
  *out_len = o;
  return BEAM_OK;
}

int beam_etl_numeric_compare(const char *a, size_t alen, const char *b, size_t blen) {
  bool aneg = alen && a[0] == '-', bneg = blen && b[0] == '-';
  if (aneg != bneg) return aneg ? -1 : 1;
  if (aneg) {
    a++, alen--;
    b++, blen--;
  }
  /* Normalized: no leading zeros, so the longer integer part is the larger magnitude. */
  const char *ad = memchr(a, '.', alen), *bd = memchr(b, '.', blen);
  size_t ai = ad ? (size_t)(ad - a) : alen, bi = bd ? (size_t)(bd - b) : blen;
  int mag;
  if (ai != bi) {
    mag = ai < bi ? -1 : 1;
  } else {
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c) mag = c < 0 ? -1 : 1;
    else mag = alen == blen ? 0 : (alen < blen ? -1 : 1);
  }
  return aneg ? -mag : mag;
}
