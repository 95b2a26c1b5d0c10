/* A program outside the tree, built against the installed library: a user's own DoFn and a
 * built-in CombineFn on the local runner. It is also the README's "write a DoFn" example.
 *
 *   Impulse -> Words (emit KV<word, 1> per word of the config's text) -> SumPerWord */
#include <stdio.h>
#include <string.h>

#include <beam/dofn.h>
#include <beam/pipeline.h>
#include <beam/runner.h>

typedef struct words_state {
  const char *text; /* from the DoFn's JSON config */
  int words;        /* counter id */
} words_state;

static beam_status words_setup(void *state, beam_dofn_setup_ctx *ctx, beam_error *err) {
  words_state *st = state;
  st->text = json_string_value(json_object_get(beam_dofn_config(ctx), "text"));
  if (!st->text) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "config.text is missing");
  st->words = beam_dofn_declare_counter(ctx, "words");
  return BEAM_OK;
}

static beam_status words_process(void *state, beam_dofn_ctx *ctx, const beam_windowed_value *elem,
                                 beam_error *err) {
  words_state *st = state;
  for (const char *p = st->text; *p;) {
    size_t len = strcspn(p, " ");
    if (len) {
      beam_value word = beam_value_string(p, len), one = beam_value_int64(1);
      beam_value kv = {.kind = BEAM_VALUE_KV, .u.kv = {&word, &one}};
      beam_status s = beam_dofn_emit(ctx, 0, &kv, err);
      if (s != BEAM_OK) return s;
      beam_dofn_counter_add(ctx, st->words, 1);
    }
    p += len + (p[len] == ' ');
  }
  return BEAM_OK;
}

static const beam_dofn_def words = {
    .name = "words", .state_size = sizeof(words_state), .setup = words_setup, .process = words_process};
BEAM_REGISTER_DOFN(words)

int main(void) {
  beam_pipeline *p = beam_pipeline_new();
  beam_coder_spec *kv = beam_coder_spec_kv(p, beam_coder_spec_string(p), beam_coder_spec_varint(p));
  beam_pcollection *start = beam_impulse(p, "Impulse");
  beam_pcollection *pairs = beam_pardo1(p, "Words", start, "words", "{\"text\": \"to be or not to be\"}", kv);
  beam_combine_per_key(p, "SumPerWord", pairs, "sum_int64", NULL, beam_coder_spec_varint(p), beam_coder_spec_varint(p));
  beam_run_result result = {0};
  beam_error err = {0};
  if (beam_pipeline_error(p) || beam_pipeline_run_local(p, NULL, &result, &err) != BEAM_OK) {
    fprintf(stderr, "consumer: %s\n", beam_pipeline_error(p) ? beam_pipeline_error(p)->message : err.message);
    beam_pipeline_free(p);
    return 1;
  }
  int64_t n = beam_run_result_counter(&result, "Words", "words");
  printf("consumer: ran a C DoFn on the installed beam-c: %lld words\n", (long long)n);
  beam_run_result_free(&result);
  beam_pipeline_free(p);
  return n == 6 ? 0 : 1;
}
