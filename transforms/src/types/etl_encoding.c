/* Byte-level text encodings the coercion step checks or decodes: base64 and UTF-8. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "beam/transforms/etl_coerce.h"

/* 0..63 for both the standard and the URL-safe alphabet, 0xFF otherwise. */
static int8_t b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return (int8_t)(c - 'A');
  if (c >= 'a' && c <= 'z') return (int8_t)(c - 'a' + 26);
  if (c >= '0' && c <= '9') return (int8_t)(c - '0' + 52);
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

beam_status beam_etl_base64_decode(const char *s, size_t len, uint8_t *out, size_t *out_len) {
  /* Padding is optional, but when present it must complete the last quantum. */
  size_t data_len = len;
  size_t pad = 0;
  while (data_len > 0 && s[data_len - 1] == '=' && pad < 2) {
    data_len--;
    pad++;
  }
  if (pad && len % 4 != 0) return BEAM_ERR_MALFORMED;
  if (data_len % 4 == 1) return BEAM_ERR_MALFORMED;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; i++) {
    int8_t v = b64_value((unsigned char)s[i]);
    if (v < 0) return BEAM_ERR_MALFORMED;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  /* Leftover bits must be zero, or two encodings would decode to the same bytes. */
  if (bits && (acc & ((1u << bits) - 1))) return BEAM_ERR_MALFORMED;
  *out_len = o;
  return BEAM_OK;
}

/* beam_etl_utf8_valid's byte-by-byte check. */
static bool utf8_valid_bytes(const unsigned char *s, size_t len, size_t *bad_offset) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      goto bad;
    }
    if (len - i - 1 < n) goto bad;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      goto bad;
    i += n + 1;
  }
  return true;
bad:
  if (bad_offset) *bad_offset = i;
  return false;
}

bool beam_etl_utf8_valid(const char *str, size_t len, size_t *bad_offset) {
  /* Plain ASCII, most text, in one pass of ORs eight bytes at a time: every string of every
   * row comes here. */
  const unsigned char *s = (const unsigned char *)str;
  uint64_t high = 0, w;
  size_t i = 0;
  for (; len - i >= 8; i += 8) {
    memcpy(&w, s + i, 8);
    high |= w;
  }
  for (; i < len; i++) high |= s[i];
  if ((high & 0x8080808080808080ULL) == 0) return true;
  return utf8_valid_bytes(s, len, bad_offset);
}
