/* Clean: trim, null tokens, ASCII case folding on the text cells of one record. */
#include "beam/transforms/etl_clean.h"

#include <stdint.h>
#include <string.h>

#include "etl_text.h"

const beam_etl_null_token beam_etl_default_null_tokens[] = {
    {"", 0}, {"NULL", 4}, {"null", 4}, {"N/A", 3}};
const size_t beam_etl_default_null_tokens_len =
    sizeof beam_etl_default_null_tokens / sizeof beam_etl_default_null_tokens[0];

static bool needs_fold(const char *s, size_t n, int mode) {
  char lo = mode == BEAM_ETL_CASE_LOWER ? 'A' : 'a';
  char hi = mode == BEAM_ETL_CASE_LOWER ? 'Z' : 'z';
  for (size_t i = 0; i < n; i++)
    if (s[i] >= lo && s[i] <= hi) return true;
  return false;
}

beam_status beam_etl_clean_record(const beam_etl_clean *clean, beam_etl_record *rec, beam_arena *arena) {
  uint64_t ignored = 0;
  return beam_etl_clean_record_counted(clean, rec, arena, &ignored);
}

beam_status beam_etl_clean_record_counted(const beam_etl_clean *clean, beam_etl_record *rec, beam_arena *arena,
                                          uint64_t *empty_to_null) {
  size_t n_fields = rec->schema->n_fields;
  /* The null tokens' lengths (bit 63: 63 or more), so most cells skip the token loop. */
  uint64_t token_lens = 0;
  for (size_t t = 0; t < clean->n_null_tokens; t++)
    token_lens |= (uint64_t)1 << (clean->null_tokens[t].len < 63 ? clean->null_tokens[t].len : 63);
  for (size_t f = 0; f < n_fields; f++) {
    beam_etl_cell *cell = &rec->cells[f];
    if (cell->state != BEAM_ETL_CELL_TEXT) continue;
    const char *d = cell->data;
    size_t n = cell->len;
    bool cut_tail = false;
    if (clean->trim) {
      while (n && beam_etl_is_space(d[0])) d++, n--;
      while (n && beam_etl_is_space(d[n - 1])) n--, cut_tail = true;
    }
    bool is_null = false;
    bool maybe_null = (token_lens >> (n < 63 ? n : 63)) & 1;
    for (size_t t = 0; maybe_null && t < clean->n_null_tokens; t++) {
      const beam_etl_null_token *tok = &clean->null_tokens[t];
      if (tok->len == n && memcmp(tok->text, d, n) == 0) {
        is_null = true;
        break;
      }
    }
    if (is_null) {
      if (n == 0) (*empty_to_null)++;
      cell->state = BEAM_ETL_CELL_NULL;
      cell->data = "";
      cell->len = 0;
      continue;
    }
    int mode = clean->case_fold && f < clean->n_fields ? clean->case_fold[f] : BEAM_ETL_CASE_KEEP;
    if (mode != BEAM_ETL_CASE_KEEP && needs_fold(d, n, mode)) {
      char *copy = beam_arena_alloc(arena, n + 1);
      if (!copy) return BEAM_ERR_NOMEM;
      for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (mode == BEAM_ETL_CASE_LOWER && c >= 'A' && c <= 'Z') c = (char)(c + ('a' - 'A'));
        else if (mode == BEAM_ETL_CASE_UPPER && c >= 'a' && c <= 'z') c = (char)(c - ('a' - 'A'));
        copy[i] = c;
      }
      copy[n] = '\0';
      d = copy;
    } else if (cut_tail) {
      char *copy = beam_arena_strndup(arena, d, n);
      if (!copy) return BEAM_ERR_NOMEM;
      d = copy;
    }
    cell->data = d;
    cell->len = n;
  }
  return BEAM_OK;
}
