/* Decimal <-> Beam's BigDecimal encoding, via a small base-1e9 / base-256 conversion.
 * Text form: "-12.345"; scales that would need many padding zeros, and negative scales,
 * use "<unscaled>E<exponent>" ("12E+3" = 12000 with scale -3). Both forms parse back. */
#include <stdio.h>
#include <string.h>

#include "beam/coder.h"
#include "coder_decimal.h"

#define MAX_DIGITS (BEAM_DECIMAL_MAX_BYTES * 3 + 8)

beam_status beam_coder_decimal_decode(beam_reader *in, beam_arena *arena, beam_bytes *text,
                                      beam_error *err) {
  int64_t scale64;
  beam_bytes raw;
  beam_status s = beam_coder_decode_varint_i64(in, &scale64);
  if (s == BEAM_OK) s = beam_coder_decode_lp_bytes(in, &raw);
  if (s != BEAM_OK) return s;
  /* Java reads the scale as an int. */
  int32_t scale = (int32_t)(uint32_t)scale64;
  if (raw.len == 0) return beam_error_set(err, BEAM_ERR_MALFORMED, "decimal with no digits");
  if (raw.len > BEAM_DECIMAL_MAX_BYTES)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "decimal of %zu bytes is too long", raw.len);
  uint8_t mag[BEAM_DECIMAL_MAX_BYTES];
  bool neg = raw.data[0] & 0x80;
  memcpy(mag, raw.data, raw.len);
  if (neg) { /* magnitude = two's complement negation */
    for (size_t i = 0; i < raw.len; i++) mag[i] = (uint8_t)~mag[i];
    for (size_t i = raw.len; i-- > 0;)
      if (++mag[i] != 0) break;
  }
  /* Repeated division by 1e9 collects base-1e9 limbs, least significant first. */
  uint32_t limbs[BEAM_DECIMAL_MAX_BYTES / 3 + 2];
  size_t n_limbs = 0, start = 0, n = raw.len;
  while (start < n && mag[start] == 0) start++;
  while (start < n) {
    uint64_t rem = 0;
    for (size_t i = start; i < n; i++) {
      uint64_t cur = rem << 8 | mag[i];
      mag[i] = (uint8_t)(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    limbs[n_limbs++] = (uint32_t)rem;
    while (start < n && mag[start] == 0) start++;
  }
  char digits[MAX_DIGITS];
  size_t nd = 0;
  if (n_limbs == 0) {
    digits[nd++] = '0';
  } else {
    nd = (size_t)snprintf(digits, sizeof digits, "%u", limbs[n_limbs - 1]);
    for (size_t i = n_limbs - 1; i-- > 0;) nd += (size_t)snprintf(digits + nd, sizeof digits - nd, "%09u", limbs[i]);
  }
  /* sign + digits + "0." + padding (bounded below) + exponent */
  size_t cap = nd + 64 + 1100;
  char *t = beam_arena_alloc(arena, cap);
  if (!t) return BEAM_ERR_NOMEM;
  size_t o = 0;
  if (neg) t[o++] = '-';
  if (scale == 0) {
    memcpy(t + o, digits, nd), o += nd;
  } else if (scale > 0 && (size_t)scale < nd) {
    size_t ip = nd - (size_t)scale;
    memcpy(t + o, digits, ip), o += ip;
    t[o++] = '.';
    memcpy(t + o, digits + ip, (size_t)scale), o += (size_t)scale;
  } else if (scale > 0 && (size_t)scale - nd <= 1000) {
    t[o++] = '0';
    t[o++] = '.';
    for (size_t i = 0; i < (size_t)scale - nd; i++) t[o++] = '0';
    memcpy(t + o, digits, nd), o += nd;
  } else {
    memcpy(t + o, digits, nd), o += nd;
    o += (size_t)snprintf(t + o, cap - o, "E%+lld", -(long long)scale);
  }
  text->data = (const uint8_t *)t;
  text->len = o;
  return BEAM_OK;
}

beam_status beam_coder_decimal_encode(const char *s, size_t len, beam_buf *out, beam_error *err) {
  size_t i = 0;
  bool neg = false;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  char digits[MAX_DIGITS];
  size_t nd = 0, frac = 0;
  bool any = false, dot = false;
  for (; i < len; i++) {
    char ch = s[i];
    if (ch >= '0' && ch <= '9') {
      any = true;
      if (dot) frac++;
      if (nd == 0 && ch == '0') continue; /* leading zeros carry no value */
      if (nd >= sizeof digits) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "decimal too long");
      digits[nd++] = ch;
    } else if (ch == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  long long exp = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    bool edig = false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      edig = true;
      exp = exp * 10 + (s[i] - '0');
      if (exp > 4000000000LL) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "decimal exponent too large");
    }
    if (!edig) any = false;
    if (eneg) exp = -exp;
  }
  if (!any || i != len)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "not a decimal: \"%.*s\"", (int)(len > 64 ? 64 : len), s);
  long long scale = (long long)frac - exp;
  if (scale < INT32_MIN || scale > INT32_MAX)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "decimal scale out of range");
  /* Magnitude in base 256, big-endian, one extra byte for the sign. */
  uint8_t mag[BEAM_DECIMAL_MAX_BYTES + 1];
  size_t n = sizeof mag;
  memset(mag, 0, n);
  for (size_t d = 0; d < nd; d++) {
    unsigned carry = (unsigned)(digits[d] - '0');
    for (size_t k = n; k-- > 0;) {
      unsigned cur = mag[k] * 10u + carry;
      mag[k] = (uint8_t)cur;
      carry = cur >> 8;
    }
    if (carry || mag[0]) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "decimal too long");
  }
  if (neg && nd) {
    for (size_t k = 0; k < n; k++) mag[k] = (uint8_t)~mag[k];
    for (size_t k = n; k-- > 0;)
      if (++mag[k] != 0) break;
  }
  /* Minimal two's complement: drop sign-extension bytes. */
  size_t start = 0;
  uint8_t ext = (neg && nd) ? 0xFF : 0x00;
  while (start + 1 < n && mag[start] == ext && ((mag[start + 1] & 0x80) == (ext & 0x80))) start++;
  /* Java writes the scale as an int varint: negative scales become 5-byte unsigned int32. */
  beam_status st = beam_coder_encode_varint(out, (uint32_t)(int32_t)scale);
  if (st != BEAM_OK) return st;
  return beam_coder_encode_lp_bytes(out, mag + start, n - start);
}
