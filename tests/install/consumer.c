/* A program outside the tree that uses the installed library: proves headers and link line. */
#include <stdio.h>
#include <string.h>

#include <beam/buf.h>
#include <beam/status.h>

int main(void) {
  beam_buf b = BEAM_BUF_INIT;
  if (beam_buf_append_str(&b, "beam-c") != BEAM_OK || b.len != 6) return 1;
  beam_buf_free(&b);
  printf("consumer: linked against beam-c (%s)\n", beam_status_name(BEAM_OK));
  return 0;
}
