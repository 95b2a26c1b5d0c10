/* Bad-record kinds (see etl_bad_tally.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "etl_bad_tally.h"

/* The message with its values blanked: digit runs become '#', quoted text after the first
 * quoted name becomes "". */
static void kind_key(const char *stage, const char *error, char *out, size_t cap) {
  size_t n = (size_t)snprintf(out, cap, "%s:", stage);
  int quotes = 0;
  for (const char *p = error; *p && n + 1 < cap; p++) {
    if (*p == '"') quotes++;
    bool in_value = quotes >= 3 && (quotes % 2) == 1 && *p != '"';
    if (in_value) continue;
    if (*p >= '0' && *p <= '9') {
      if (n == 0 || out[n - 1] != '#') out[n++] = '#';
      continue;
    }
    out[n++] = *p;
  }
  out[n < cap ? n : cap - 1] = '\0';
}

void beam_etl_bad_tally_add(beam_etl_bad_tally *t, const char *stage, const char *error) {
  char key[sizeof t->kinds[0].key];
  kind_key(stage ? stage : "", error ? error : "", key, sizeof key);
  t->total++;
  for (size_t i = 0; i < t->n_kinds; i++)
    if (strcmp(t->kinds[i].key, key) == 0) return (void)t->kinds[i].n++;
  if (t->n_kinds == BEAM_ETL_BAD_KINDS) return (void)t->untallied++;
  beam_etl_bad_kind *k = &t->kinds[t->n_kinds++];
  memcpy(k->key, key, sizeof key);
  snprintf(k->example, sizeof k->example, "%s: %s", stage ? stage : "", error ? error : "");
  k->n = 1;
}

const beam_etl_bad_kind *beam_etl_bad_tally_top(const beam_etl_bad_tally *t) {
  const beam_etl_bad_kind *top = NULL;
  for (size_t i = 0; i < t->n_kinds; i++)
    if (!top || t->kinds[i].n > top->n) top = &t->kinds[i];
  return top;
}
