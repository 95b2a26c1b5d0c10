/* Text helpers for ETL error messages and names. */
#include "etl_text.h"


const char *beam_etl_quote(const char *s, size_t len, char out[BEAM_ETL_QUOTE_MAX]) {
  static const char hex[] = "0123456789abcdef";
  size_t limit = len, o = 0;
  bool cut = false;
  if (limit > 64) {
    limit = 64;
    /* Back off to the start of a UTF-8 sequence so the message stays valid UTF-8. */
    while (limit > 0 && ((unsigned char)s[limit] & 0xC0) == 0x80) limit--;
    cut = true;
  }
  for (size_t i = 0; i < limit; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    } else {
      out[o++] = (char)c;
    }
  }
  if (cut) {
    out[o++] = '.';
    out[o++] = '.';
    out[o++] = '.';
  }
  out[o] = '\0';
  return out;
}

const char *beam_etl_article(const char *word) {
  switch (word[0]) {
    case 'A': case 'E': case 'I': case 'O': case 'U':
    case 'a': case 'e': case 'i': case 'o': case 'u':
      return "an";
    default:
      return "a";
  }
}

bool beam_etl_is_identifier(const char *s, size_t len) {
  if (len == 0) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && i > 0))) return false;
  }
  return true;
}
