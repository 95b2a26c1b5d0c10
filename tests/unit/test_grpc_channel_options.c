/* beam_grpc_channel_open_with (beam/grpc_client.h): a channel with keepalive pings opens and
 * calls as any other (its settings reach gRPC as channel arguments, which gRPC checks): a call
 * to a port nobody listens on fails as UNAVAILABLE, not as a bad channel. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "beam/grpc_client.h"

/* A loopback port free a moment ago. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void keepalive_channel_calls_like_any(void **state) {
  (void)state;
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", free_port());
  beam_grpc_channel_options o = {.keepalive_time_ms = 30000, .keepalive_timeout_ms = 5000};
  beam_grpc_channel *ch = NULL;
  beam_error err = {0};
  assert_int_equal(beam_grpc_channel_open_with(target, &o, &ch, &err), BEAM_OK);
  assert_string_equal(beam_grpc_channel_target(ch), target);
  beam_buf resp = BEAM_BUF_INIT;
  int code = -2;
  assert_int_equal(beam_grpc_unary_ex(ch, "/x.Y/Z", "", 0, NULL, 0, 2000, &resp, &code, &err), BEAM_ERR_IO);
  assert_int_equal(code, 14); /* UNAVAILABLE: nobody listens */
  beam_buf_free(&resp);
  beam_grpc_channel_close(ch);
  /* NULL settings: an insecure channel without pings */
  assert_int_equal(beam_grpc_channel_open_with(target, NULL, &ch, &err), BEAM_OK);
  beam_grpc_channel_close(ch);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(keepalive_channel_calls_like_any)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
