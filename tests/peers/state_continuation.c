/* The harness's state channel against Beam's own state service (the Python FnApiRunner's
 * StateServicer, with continuation tokens on: tests/peers/state_servicer.py): bag user state
 * appended in several requests and multimap side input values read back whole across pages,
 * and clear. What the worker's bag state and multimap lookups send, byte for byte.
 *
 * Usage: state_continuation HOST:PORT */
#include <stdio.h>
#include <string.h>

#include "worker_state.h"

static int failures;

static void expect(const char *what, const beam_buf *got, const char *want, size_t want_len) {
  if (got->len == want_len && (want_len == 0 || memcmp(got->data, want, want_len) == 0)) {
    printf("state_continuation: %s: %zu bytes, as appended\n", what, got->len);
    return;
  }
  fprintf(stderr, "state_continuation: %s: got %zu bytes, want %zu\n", what, got->len, want_len);
  failures++;
}

static beam_status append_all(beam_state_channel *ch, const FN(StateKey) *key, const char *const *parts, size_t n,
                              beam_error *err) {
  beam_status s = BEAM_OK;
  for (size_t i = 0; s == BEAM_OK && i < n; i++)
    s = beam_state_append(ch, "inst-1", key, (const uint8_t *)parts[i], strlen(parts[i]), err);
  return s;
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]), 2;
  beam_error err = {0};
  beam_state_channel *ch = NULL;
  if (beam_state_channel_open(argv[1], "worker-1", &ch, &err) != BEAM_OK)
    return fprintf(stderr, "state_continuation: %s\n", err.message), 1;

  /* Bag user state: three appends come back as one value over four pages. */
  static char big[4096];
  memset(big, 'x', sizeof big - 1);
  const char *parts[] = {"\x01" "a", "\x02" "bc", big};
  FN(StateKey__BagUserState) bag = FN_INIT(STATE_KEY__BAG_USER_STATE);
  bag.transform_id = "RunningCount";
  bag.user_state_id = "count";
  bag.key = (ProtobufCBinaryData){4, (uint8_t *)"\x03k42"};
  FN(StateKey) key = FN_INIT(STATE_KEY);
  key.type_case = FN_ENUM(STATE_KEY__TYPE_BAG_USER_STATE);
  key.bag_user_state = &bag;
  beam_buf got = BEAM_BUF_INIT, want = BEAM_BUF_INIT;
  for (size_t i = 0; i < 3; i++) beam_buf_append(&want, parts[i], strlen(parts[i]));
  beam_status s = append_all(ch, &key, parts, 3, &err);
  if (s == BEAM_OK) s = beam_state_get(ch, "inst-1", &key, &got, &err);
  if (s == BEAM_OK) expect("bag user state read in pages", &got, (const char *)want.data, want.len);
  if (s == BEAM_OK) s = beam_state_clear(ch, "inst-1", &key, &err);
  beam_buf_reset(&got);
  if (s == BEAM_OK) s = beam_state_get(ch, "inst-1", &key, &got, &err);
  if (s == BEAM_OK) expect("bag user state after clear", &got, "", 0);

  /* Multimap side input: the values under one key, read in pages. */
  FN(StateKey__MultimapSideInput) mm = FN_INIT(STATE_KEY__MULTIMAP_SIDE_INPUT);
  mm.transform_id = "Lookup";
  mm.side_input_id = "table";
  mm.key = (ProtobufCBinaryData){6, (uint8_t *)"\x05key-1"};
  FN(StateKey) mkey = FN_INIT(STATE_KEY);
  mkey.type_case = FN_ENUM(STATE_KEY__TYPE_MULTIMAP_SIDE_INPUT);
  mkey.multimap_side_input = &mm;
  const char *values[] = {"\x01", "\xe9\x07"}; /* varints 1 and 1001 */
  beam_buf_reset(&got);
  if (s == BEAM_OK) s = append_all(ch, &mkey, values, 2, &err);
  if (s == BEAM_OK) s = beam_state_get(ch, "inst-1", &mkey, &got, &err);
  if (s == BEAM_OK) expect("multimap side input read in pages", &got, "\x01\xe9\x07", 3);

  if (s != BEAM_OK) {
    fprintf(stderr, "state_continuation: %s\n", err.message);
    failures++;
  }
  beam_buf_free(&got);
  beam_buf_free(&want);
  beam_state_channel_free(ch);
  return failures ? 1 : 0;
}
