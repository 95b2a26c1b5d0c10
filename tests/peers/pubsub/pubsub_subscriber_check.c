/* The Pub/Sub subscriber (beam/transforms/pubsub_subscriber.h) against a real peer: it
 * starts pubsub_peer (pstest) on loopback itself, since one case restarts it, and publishes
 * with the sink's publisher (pubsub_internal.h). Each case has its own topic and
 * subscription ("<topic>-sub", created by the peer):
 *   basic     20 messages pulled once each with their id, attributes and publish time;
 *             acked, then nothing comes to a new subscriber for two deadlines
 *   lease     3 messages held past the default 10 s deadline while the lease keeper extends
 *             it: a second subscriber gets nothing; close nacks them, and it gets them
 *   crash     a child process holding 3 messages is killed with -9: a new subscriber gets
 *             them back once the (2 s) deadline passes
 *   flow      max_outstanding_messages 4 (12 messages), max_outstanding_bytes 2500 (6 of
 *             1000 bytes): never more leased than the limits, all delivered once after acks
 *   missing   a subscription that does not exist, a bad name, a bad deadline: clear errors
 *   restart   the peer killed mid-stream: a subscriber (on "down") with a 1.5 s retry budget fails
 *             loudly, opening one fails while it is down; restarted on the same port, the
 *             first subscriber reconnects and delivers the messages published since
 * Usage: pubsub_subscriber_check PUBSUB_PEER
 *        pubsub_subscriber_check --hold SUBSCRIPTION N   (the crash case's child) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "google/pubsub/v1/pubsub.pb-c.h"
#include "pubsub_conn.h"
#include "pubsub_internal.h"
#include "beam/transforms/pubsub_subscriber.h"

extern char **environ;

#define PROJECT "projects/beam-c-test"
#define TOPICS "basic,lease,crash,flow,flowbytes,restart,down"

static int failures;

#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      fprintf(stderr, "pubsub_subscriber_check: FAIL: "); \
      fprintf(stderr, __VA_ARGS__);                       \
      fprintf(stderr, " (line %d)\n", __LINE__);          \
      failures++;                                         \
    }                                                     \
  } while (0)

static void die(const char *what, const beam_error *err) {
  fprintf(stderr, "pubsub_subscriber_check: FAIL: %s: %s\n", what, err ? err->message : strerror(errno));
  exit(1);
}

/* ---- The peer ---------------------------------------------------------------------- */

static const char *peer_path;
static pid_t peer_pid;
static int peer_stdin = -1; /* the peer serves until this closes */
static int peer_port;

static void peer_start(int port) {
  int out[2], in[2];
  if (pipe(out) != 0 || pipe(in) != 0) die("pipe", NULL);
  fcntl(in[1], F_SETFD, FD_CLOEXEC);
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%d", port);
  char *argv[] = {(char *)peer_path, "-topic", TOPICS, "-port", port_arg, "-timeout", "600s", NULL};
  if (posix_spawn(&peer_pid, peer_path, &fa, NULL, argv, environ) != 0) die("starting pubsub_peer", NULL);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  peer_stdin = in[1];
  FILE *f = fdopen(out[0], "r");
  char line[128];
  peer_port = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "PORT=%d", &peer_port) == 1) break;
  fclose(f);
  if (!peer_port) die("pubsub_peer printed no port", NULL);
  char host[64];
  snprintf(host, sizeof host, "127.0.0.1:%d", peer_port);
  setenv("PUBSUB_EMULATOR_HOST", host, 1);
}

static void peer_stop(int sig) {
  if (!peer_pid) return;
  kill(peer_pid, sig);
  waitpid(peer_pid, NULL, 0);
  close(peer_stdin);
  peer_pid = 0;
}

/* ---- Publishing and pulling -------------------------------------------------------- */

static void publish(const char *topic_id, const char *prefix, int from, int to, size_t pad) {
  char topic[128];
  snprintf(topic, sizeof topic, PROJECT "/topics/%s", topic_id);
  beam_pubsub_publisher *p = NULL;
  beam_error err = {0};
  if (beam_pubsub_publisher_open(topic, NULL, NULL, &p, &err) != BEAM_OK) die("publisher", &err);
  int n = to - from;
  Google__Pubsub__V1__PubsubMessage *msgs = calloc((size_t)n, sizeof *msgs), **ptrs = calloc((size_t)n, sizeof *ptrs);
  Google__Pubsub__V1__PubsubMessage__AttributesEntry *attrs = calloc((size_t)n, sizeof *attrs), **attr_ptrs =
      calloc((size_t)n, sizeof *attr_ptrs);
  char(*data)[2048] = calloc((size_t)n, sizeof *data);
  char(*seq)[16] = calloc((size_t)n, sizeof *seq);
  for (int i = 0; i < n; i++) {
    google__pubsub__v1__pubsub_message__init(&msgs[i]);
    google__pubsub__v1__pubsub_message__attributes_entry__init(&attrs[i]);
    int len = snprintf(data[i], sizeof data[i], "%s-%d", prefix, from + i);
    while ((size_t)len < pad && len < (int)sizeof data[i] - 1) data[i][len++] = '.';
    data[i][len] = '\0';
    snprintf(seq[i], sizeof seq[i], "%d", from + i);
    attrs[i].key = "seq";
    attrs[i].value = seq[i];
    attr_ptrs[i] = &attrs[i];
    msgs[i].data.data = (uint8_t *)data[i];
    msgs[i].data.len = (size_t)len;
    msgs[i].attributes = &attr_ptrs[i];
    msgs[i].n_attributes = 1;
    ptrs[i] = &msgs[i];
  }
  Google__Pubsub__V1__PublishRequest req = GOOGLE__PUBSUB__V1__PUBLISH_REQUEST__INIT;
  req.topic = topic;
  req.messages = ptrs;
  req.n_messages = (size_t)n;
  size_t len = google__pubsub__v1__publish_request__get_packed_size(&req);
  uint8_t *bytes = malloc(len);
  google__pubsub__v1__publish_request__pack(&req, bytes);
  if (beam_pubsub_publisher_send(p, bytes, len, (size_t)n, &err) != BEAM_OK) die("publish", &err);
  free(bytes);
  free(msgs);
  free(ptrs);
  free(attrs);
  free(attr_ptrs);
  free(data);
  free(seq);
  beam_pubsub_publisher_free(p);
}

static beam_pubsub_subscriber *open_sub(const char *topic_id, beam_pubsub_subscriber_options o) {
  char name[128];
  snprintf(name, sizeof name, PROJECT "/subscriptions/%s-sub", topic_id);
  beam_pubsub_subscriber *s = NULL;
  beam_error err = {0};
  if (beam_pubsub_subscriber_open(name, &o, &s, &err) != BEAM_OK) die(name, &err);
  return s;
}

/* What a case has pulled: the data of each message (to check each came once) and the ack
 * ids it still holds. */
typedef struct pulled {
  char seen[64][2048];
  int n_seen, duplicates;
  char *held[64];
  int n_held;
} pulled;

static void take(pulled *p, const beam_pubsub_messages *b) {
  for (size_t i = 0; i < b->n; i++) {
    const beam_pubsub_message *m = &b->items[i];
    for (int j = 0; j < p->n_seen; j++)
      if (strcmp(p->seen[j], (const char *)m->data) == 0) p->duplicates++;
    if (p->n_seen < 64) snprintf(p->seen[p->n_seen++], sizeof p->seen[0], "%s", (const char *)m->data);
    if (p->n_held < 64) p->held[p->n_held++] = strdup(m->ack_id);
  }
}

/* Pulls until `want` messages are held in p or timeout_ms passed; returns how many came. */
static int pull_until(beam_pubsub_subscriber *s, pulled *p, int want, int timeout_ms) {
  int64_t until = beam_pubsub_now_ms() + timeout_ms;
  int got = 0;
  while (p->n_held < want) {
    int64_t left = until - beam_pubsub_now_ms();
    if (left <= 0) break;
    beam_pubsub_messages b;
    beam_error err = {0};
    if (beam_pubsub_subscriber_pull(s, 100, (int)left, &b, &err) != BEAM_OK) die("pull", &err);
    take(p, &b);
    got += (int)b.n;
    beam_pubsub_messages_free(&b);
  }
  return got;
}

static void ack_held(beam_pubsub_subscriber *s, pulled *p) {
  beam_error err = {0};
  if (beam_pubsub_subscriber_ack(s, (const char *const *)p->held, (size_t)p->n_held, &err) != BEAM_OK)
    die("ack", &err);
  for (int i = 0; i < p->n_held; i++) free(p->held[i]);
  p->n_held = 0;
}

static void forget_held(pulled *p) {
  for (int i = 0; i < p->n_held; i++) free(p->held[i]);
  p->n_held = 0;
}

static const beam_pubsub_subscriber_options short_deadline = {.stream_ack_deadline_seconds = 2};

/* ---- The cases --------------------------------------------------------------------- */

static void case_basic(void) {
  fprintf(stderr, "== basic: 20 messages pulled once each, acked, not redelivered\n");
  publish("basic", "b", 0, 20, 0);
  beam_pubsub_subscriber *s = open_sub("basic", short_deadline);
  pulled *p = calloc(1, sizeof *p);
  beam_pubsub_messages b;
  beam_error err = {0};
  int64_t now_us = (int64_t)time(NULL) * 1000000;
  if (beam_pubsub_subscriber_pull(s, 100, 10000, &b, &err) != BEAM_OK) die("pull", &err);
  CHECK(b.n > 0, "the first pull returned nothing in 10 s");
  for (size_t i = 0; i < b.n; i++) {
    const beam_pubsub_message *m = &b.items[i];
    CHECK(*m->message_id && *m->ack_id, "message %zu has no id or ack id", i);
    CHECK(m->publish_time_us > now_us - 60000000 && m->publish_time_us < now_us + 60000000,
          "publish time %lld is not about now", (long long)m->publish_time_us);
    CHECK(m->n_attributes == 1 && strcmp(m->attributes[0].key, "seq") == 0 &&
              atoi(m->attributes[0].value) == atoi((const char *)m->data + 2),
          "message %s: attributes lost", (const char *)m->data);
    CHECK(m->size > m->data_len, "message size %zu", m->size);
  }
  take(p, &b);
  beam_pubsub_messages_free(&b);
  pull_until(s, p, 20, 10000);
  CHECK(p->n_seen == 20 && p->duplicates == 0, "basic: %d messages, %d duplicates (want 20, 0)", p->n_seen,
        p->duplicates);
  ack_held(s, p);
  beam_pubsub_subscriber_stats st;
  beam_pubsub_subscriber_stats_get(s, &st);
  CHECK(st.acked == 20 && st.outstanding_messages == 0, "basic: acked %llu, outstanding %lld",
        (unsigned long long)st.acked, (long long)st.outstanding_messages);
  beam_pubsub_subscriber_close(s);
  s = open_sub("basic", short_deadline);
  pulled *again = calloc(1, sizeof *again);
  int late = pull_until(s, again, 1, 4500);
  CHECK(late == 0, "basic: %d acked messages were delivered again", late);
  forget_held(again);
  beam_pubsub_subscriber_close(s);
  free(again);
  free(p);
}

static void case_lease(void) {
  fprintf(stderr, "== lease: 3 messages held for 13 s (deadline 10 s) are not redelivered\n");
  publish("lease", "l", 0, 3, 0);
  beam_pubsub_subscriber *a = open_sub("lease", (beam_pubsub_subscriber_options){0});
  pulled *p = calloc(1, sizeof *p);
  pull_until(a, p, 3, 10000);
  CHECK(p->n_held == 3, "lease: the first subscriber got %d of 3", p->n_held);
  beam_pubsub_subscriber *b = open_sub("lease", (beam_pubsub_subscriber_options){0});
  pulled *q = calloc(1, sizeof *q);
  int stolen = pull_until(b, q, 1, 13000);
  CHECK(stolen == 0, "lease: %d held messages went to a second subscriber while leased", stolen);
  beam_pubsub_subscriber_stats st;
  beam_pubsub_subscriber_stats_get(a, &st);
  CHECK(st.lease_extensions >= 6, "lease: %llu extensions in 13 s (want 2 sweeps of 3)",
        (unsigned long long)st.lease_extensions);
  forget_held(p);
  int64_t t0 = beam_pubsub_now_ms();
  beam_pubsub_subscriber_close(a); /* nacks them */
  pull_until(b, q, 3, 5000);
  CHECK(q->n_held == 3, "lease: after close the second subscriber got %d of 3 within 5 s", q->n_held);
  fprintf(stderr, "   back %lld ms after close\n", (long long)(beam_pubsub_now_ms() - t0));
  ack_held(b, q);
  beam_pubsub_subscriber_close(b);
  free(p);
  free(q);
}

/* The crash case's child: hold n messages, say so, wait to be killed. */
static int hold_main(const char *subscription, int n) {
  beam_pubsub_subscriber *s = NULL;
  beam_error err = {0};
  beam_pubsub_subscriber_options o = {.stream_ack_deadline_seconds = 2};
  if (beam_pubsub_subscriber_open(subscription, &o, &s, &err) != BEAM_OK) die(subscription, &err);
  pulled *p = calloc(1, sizeof *p);
  pull_until(s, p, n, 10000);
  printf("HELD %d\n", p->n_held);
  fflush(stdout);
  sleep(120);
  return 1;
}

static void case_crash(void) {
  fprintf(stderr, "== crash: a holder killed with -9; its messages come back after the deadline\n");
  publish("crash", "c", 0, 3, 0);
  int out[2];
  if (pipe(out) != 0) die("pipe", NULL);
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  char *argv[] = {"pubsub_subscriber_check", "--hold", PROJECT "/subscriptions/crash-sub", "3", NULL};
  pid_t child;
  if (posix_spawn(&child, "/proc/self/exe", &fa, NULL, argv, environ) != 0) die("spawning the holder", NULL);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  FILE *f = fdopen(out[0], "r");
  char line[64] = "";
  int held = 0;
  if (fgets(line, sizeof line, f)) sscanf(line, "HELD %d", &held);
  fclose(f);
  CHECK(held == 3, "crash: the holder held %d of 3", held);
  sleep(3); /* past one deadline: the holder's leases were extended at least once */
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  int64_t t0 = beam_pubsub_now_ms();
  beam_pubsub_subscriber *s = open_sub("crash", short_deadline);
  pulled *p = calloc(1, sizeof *p);
  pull_until(s, p, 3, 10000);
  int64_t back = beam_pubsub_now_ms() - t0;
  CHECK(p->n_held == 3 && p->duplicates == 0, "crash: %d of 3 came back within 10 s", p->n_held);
  fprintf(stderr, "   back %lld ms after the kill\n", (long long)back);
  ack_held(s, p);
  beam_pubsub_subscriber_close(s);
  free(p);
}

/* Pulls `total` messages holding at most `limit` at a time, acking a full hand. */
static void flow_check(const char *topic, beam_pubsub_subscriber_options o, int total, int limit) {
  beam_pubsub_subscriber *s = open_sub(topic, o);
  pulled *p = calloc(1, sizeof *p);
  int64_t until = beam_pubsub_now_ms() + 30000;
  while (p->n_seen < total && beam_pubsub_now_ms() < until) {
    int before = p->n_seen;
    pull_until(s, p, limit, 5000);
    beam_pubsub_subscriber_stats st;
    beam_pubsub_subscriber_stats_get(s, &st);
    CHECK(p->n_held <= limit && st.outstanding_messages <= limit, "%s: %d held, %lld leased, limit %d", topic,
          p->n_held, (long long)st.outstanding_messages, limit);
    if (p->n_held == limit && p->n_seen < total) {
      int extra = pull_until(s, p, limit + 1, 700);
      CHECK(extra == 0, "%s: %d messages beyond the limit of %d", topic, extra, limit);
    }
    if (p->n_seen == before) break;
    ack_held(s, p);
  }
  beam_pubsub_subscriber_stats st;
  beam_pubsub_subscriber_stats_get(s, &st);
  CHECK(p->n_seen == total && p->duplicates == 0, "%s: %d of %d delivered, %d duplicates", topic, p->n_seen, total,
        p->duplicates);
  fprintf(stderr, "   %s: %d delivered, %llu received, %llu nacked beyond the limits\n", topic, p->n_seen,
          (unsigned long long)st.received, (unsigned long long)st.overflow_nacked);
  beam_pubsub_subscriber_close(s);
  free(p);
}

static void case_flow(void) {
  fprintf(stderr, "== flow: never more leased than max_outstanding_messages / bytes\n");
  publish("flow", "f", 0, 12, 0);
  flow_check("flow", (beam_pubsub_subscriber_options){.stream_ack_deadline_seconds = 2, .max_outstanding_messages = 4},
             12, 4);
  publish("flowbytes", "g", 0, 6, 1000);
  flow_check("flowbytes",
             (beam_pubsub_subscriber_options){.stream_ack_deadline_seconds = 2, .max_outstanding_bytes = 2500}, 6, 2);
}

static void expect_open_error(const char *name, beam_pubsub_subscriber_options o, beam_status code,
                              const char *needle) {
  beam_pubsub_subscriber *s = NULL;
  beam_error err = {0};
  beam_status st = beam_pubsub_subscriber_open(name, &o, &s, &err);
  CHECK(st == code && s == NULL, "open %s: status %d, want %d", name, (int)st, (int)code);
  CHECK(strstr(err.message, needle) != NULL, "open %s: error \"%s\" does not say \"%s\"", name, err.message, needle);
  fprintf(stderr, "   %s\n", err.message);
  beam_pubsub_subscriber_close(s);
}

static void case_missing(void) {
  fprintf(stderr, "== missing: clear errors\n");
  beam_pubsub_subscriber_options none = {0};
  expect_open_error(PROJECT "/subscriptions/nope", none, BEAM_ERR_NOT_FOUND, "subscriptions/nope does not exist");
  expect_open_error(PROJECT "/topics/basic", none, BEAM_ERR_INVALID_ARG, "expected projects/PROJECT/subscriptions/");
  expect_open_error(PROJECT "/subscriptions/9x", none, BEAM_ERR_INVALID_ARG, "start with a letter");
  expect_open_error(PROJECT "/subscriptions/basic-sub", (beam_pubsub_subscriber_options){.stream_ack_deadline_seconds = 601},
                    BEAM_ERR_INVALID_ARG, "stream_ack_deadline_seconds 601");
}

static void case_restart(void) {
  fprintf(stderr, "== restart: the peer killed and restarted mid-stream\n");
  publish("restart", "r", 0, 5, 0);
  beam_pubsub_subscriber_options o = {.stream_ack_deadline_seconds = 2, .retry_budget_ms = 30000};
  beam_pubsub_subscriber *s = open_sub("restart", o);
  /* On a subscription of its own: two streams on one share its messages. */
  beam_pubsub_subscriber *brief = open_sub("down", (beam_pubsub_subscriber_options){.stream_ack_deadline_seconds = 2,
                                                                                     .retry_budget_ms = 1500});
  pulled *p = calloc(1, sizeof *p);
  pull_until(s, p, 5, 10000);
  CHECK(p->n_held == 5, "restart: %d of 5 before the restart", p->n_held);
  ack_held(s, p);
  int port = peer_port;
  peer_stop(SIGKILL);

  int64_t t0 = beam_pubsub_now_ms();
  beam_pubsub_messages b;
  beam_error err = {0};
  beam_status st = beam_pubsub_subscriber_pull(brief, 10, 15000, &b, &err);
  CHECK(st == BEAM_ERR_IO && strstr(err.message, "no working stream"),
        "restart: a subscriber with a 1.5 s budget did not fail (status %d: %s)", (int)st, err.message);
  fprintf(stderr, "   failed after %lld ms: %s\n", (long long)(beam_pubsub_now_ms() - t0), err.message);
  if (st == BEAM_OK) beam_pubsub_messages_free(&b);
  beam_pubsub_subscriber_close(brief);
  expect_open_error(PROJECT "/subscriptions/restart-sub",
                    (beam_pubsub_subscriber_options){.stream_ack_deadline_seconds = 2, .retry_budget_ms = 1000},
                    BEAM_ERR_IO, "unreachable");

  peer_start(port);
  publish("restart", "r", 5, 10, 0);
  pull_until(s, p, 5, 20000);
  beam_pubsub_subscriber_stats stats;
  beam_pubsub_subscriber_stats_get(s, &stats);
  CHECK(p->n_seen == 10 && p->duplicates == 0, "restart: %d of 10 delivered (%d duplicates), %llu reconnects",
        p->n_seen, p->duplicates, (unsigned long long)stats.reconnects);
  CHECK(stats.reconnects >= 1, "restart: no reconnect counted");
  fprintf(stderr, "   %d delivered after %llu reconnects (%llu stuck starts cancelled)\n", p->n_seen,
          (unsigned long long)stats.reconnects, (unsigned long long)stats.stuck_starts);
  ack_held(s, p);
  beam_pubsub_subscriber_close(s);
  free(p);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--hold") == 0) return hold_main(argv[2], atoi(argv[3]));
  if (argc != 2) {
    fprintf(stderr, "usage: pubsub_subscriber_check PUBSUB_PEER\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  peer_path = argv[1];
  peer_start(0);
  const char *only = getenv("PUBSUB_SUBSCRIBER_CASES"); /* e.g. "basic,flow" while debugging */
#define RUN(name)                                  \
  if (!only || strstr(only, #name)) case_##name();
  RUN(missing)
  RUN(basic)
  RUN(flow)
  RUN(crash)
  RUN(lease)
  RUN(restart)
  peer_stop(SIGTERM);
  if (failures) fprintf(stderr, "pubsub_subscriber_check: %d failures\n", failures);
  else fprintf(stderr, "pubsub_subscriber_check: all cases passed\n");
  return failures ? 1 : 0;
}
