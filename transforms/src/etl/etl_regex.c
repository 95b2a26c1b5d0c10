/* PCRE2 regexes for validate rules: compiled once at spec load, searched per row. */
#include "etl_regex.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Match data (pcre2_match's scratch) cannot be shared between threads, the compiled code can.
 * Each regex keeps this many spare match data: a search takes one and gives it back, so up to
 * this many concurrent callers never allocate; beyond that a search makes and frees its own. */
#define SPARE_MATCH_DATA 8

/* Caps the interpreter's backtracking memory (KiB; PCRE2's default is 20 GB): a runaway
 * pattern gives up on that value instead of exhausting the worker. */
#define HEAP_LIMIT_KIB (64u * 1024u)

struct beam_etl_regex {
  pcre2_code *code;
  pcre2_match_context *limits; /* read-only once set: shared by every search */
  _Atomic(pcre2_match_data *) spare[SPARE_MATCH_DATA];
};

static const uint32_t compile_options =
    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C;

/* Characters (UTF-8 lead bytes) before byte offset off: what a user counts in the pattern. */
static size_t char_offset(const char *s, size_t off) {
  size_t n = 0;
  for (size_t i = 0; i < off && s[i]; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

static beam_status compile_error(const char *pattern, int code, PCRE2_SIZE offset, beam_error *err) {
  if (code == PCRE2_ERROR_HEAP_FAILED) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  PCRE2_UCHAR msg[160];
  /* Too small a buffer truncates the text (still terminated); only an unknown code leaves none. */
  if (pcre2_get_error_message(code, msg, sizeof msg) == PCRE2_ERROR_BADDATA)
    snprintf((char *)msg, sizeof msg, "error %d", code);
  return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s at offset %zu", (const char *)msg,
                        char_offset(pattern, offset));
}

beam_status beam_etl_regex_compile(const char *pattern, beam_etl_regex **out, beam_error *err) {
  *out = NULL;
  int code;
  PCRE2_SIZE offset;
  pcre2_code *compiled =
      pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, compile_options, &code, &offset, NULL);
  if (!compiled) return compile_error(pattern, code, offset, err);
  beam_etl_regex *re = calloc(1, sizeof *re);
  pcre2_match_context *limits = pcre2_match_context_create(NULL);
  if (!re || !limits) {
    free(re);
    pcre2_match_context_free(limits);
    pcre2_code_free(compiled);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  pcre2_set_heap_limit(limits, HEAP_LIMIT_KIB);
  /* JIT is several times faster; without it (an unsupported CPU, a build without JIT,
   * W^X memory) the interpreter gives the same answers, so a failure here is not one. */
  (void)pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  re->code = compiled;
  re->limits = limits;
  for (size_t i = 0; i < SPARE_MATCH_DATA; i++) atomic_init(&re->spare[i], NULL);
  *out = re;
  return BEAM_OK;
}

/* A spare match data, or a new one when every spare is in use (or none was made yet). */
static pcre2_match_data *take_match_data(beam_etl_regex *re) {
  for (size_t i = 0; i < SPARE_MATCH_DATA; i++) {
    pcre2_match_data *md = atomic_exchange_explicit(&re->spare[i], NULL, memory_order_acquire);
    if (md) return md;
  }
  /* One pair: the rule asks only whether the pattern occurs, never for captures. */
  return pcre2_match_data_create(1, NULL);
}

static void give_back_match_data(beam_etl_regex *re, pcre2_match_data *md) {
  for (size_t i = 0; i < SPARE_MATCH_DATA; i++) {
    pcre2_match_data *empty = NULL;
    if (atomic_compare_exchange_strong_explicit(&re->spare[i], &empty, md, memory_order_release,
                                                memory_order_relaxed))
      return;
  }
  pcre2_match_data_free(md);
}

static int run_match(const beam_etl_regex *re, const char *s, size_t len, pcre2_match_data *md) {
  /* PCRE2 before 10.43 refuses a NULL subject even when it is empty. */
  PCRE2_SPTR subject = (PCRE2_SPTR)(s ? s : "");
  int rc = pcre2_match(re->code, subject, len, 0, 0, md, re->limits);
  /* The JIT's stack is small and fixed; the interpreter's grows on the heap (up to the limit). */
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) rc = pcre2_match(re->code, subject, len, 0, PCRE2_NO_JIT, md, re->limits);
  return rc;
}

beam_etl_regex_result beam_etl_regex_search(beam_etl_regex *re, const char *s, size_t len, char *why, size_t cap) {
  pcre2_match_data *md = take_match_data(re);
  if (!md) return BEAM_ETL_REGEX_NOMEM;
  int rc = run_match(re, s, len, md);
  give_back_match_data(re, md);
  /* 0: matched, with more groups than the one ovector pair holds. */
  if (rc >= 0) return BEAM_ETL_REGEX_MATCH;
  if (rc == PCRE2_ERROR_NOMATCH) return BEAM_ETL_REGEX_NO_MATCH;
  if (rc == PCRE2_ERROR_NOMEMORY) return BEAM_ETL_REGEX_NOMEM;
  if (why && cap && pcre2_get_error_message(rc, (PCRE2_UCHAR *)why, cap) == PCRE2_ERROR_BADDATA)
    snprintf(why, cap, "error %d", rc);
  return BEAM_ETL_REGEX_GAVE_UP;
}

void beam_etl_regex_free(beam_etl_regex *re) {
  if (!re) return;
  for (size_t i = 0; i < SPARE_MATCH_DATA; i++) pcre2_match_data_free(atomic_load(&re->spare[i]));
  pcre2_match_context_free(re->limits);
  pcre2_code_free(re->code);
  free(re);
}
