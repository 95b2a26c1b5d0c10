/* publish_lines [-a] TOPIC FILE: publishes each line of FILE (without its newline) as one message
 * to TOPIC ("projects/P/topics/T") through PUBSUB_EMULATOR_HOST, up to 1000 a request, with
 * attribute "line" (its 1-based number). With -a a line is "ATTRIBUTES<TAB>DATA", ATTRIBUTES
 * "k=v;k2=v2" (up to 7, maybe none) given besides "line", DATA any bytes but a newline (empty
 * too). For the streaming ETL's tests. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/pubsub/v1/pubsub.pb-c.h"
#include "pubsub_internal.h"

enum { PER_REQUEST = 1000, MAX_ATTRS = 8 };

typedef struct pending {
  Google__Pubsub__V1__PubsubMessage msgs[PER_REQUEST], *ptrs[PER_REQUEST];
  Google__Pubsub__V1__PubsubMessage__AttributesEntry attrs[PER_REQUEST][MAX_ATTRS], *attr_ptrs[PER_REQUEST][MAX_ATTRS];
  char *lines[PER_REQUEST];
  char numbers[PER_REQUEST][24];
  size_t n;
} pending;

static int send(beam_pubsub_publisher *p, char *topic, pending *b) {
  if (!b->n) return 0;
  Google__Pubsub__V1__PublishRequest req = GOOGLE__PUBSUB__V1__PUBLISH_REQUEST__INIT;
  req.topic = topic;
  req.messages = b->ptrs;
  req.n_messages = b->n;
  size_t len = google__pubsub__v1__publish_request__get_packed_size(&req);
  uint8_t *bytes = malloc(len);
  beam_error err = {0};
  int rc = 0;
  if (!bytes) rc = 1;
  else google__pubsub__v1__publish_request__pack(&req, bytes);
  if (!rc && beam_pubsub_publisher_send(p, bytes, len, b->n, &err) != BEAM_OK) {
    fprintf(stderr, "publish_lines: %s\n", err.message);
    rc = 1;
  }
  free(bytes);
  for (size_t i = 0; i < b->n; i++) free(b->lines[i]);
  b->n = 0;
  return rc;
}

/* "k=v;k2=v2" (cut in place) as message i's attributes after "line". */
static void add_attributes(pending *b, size_t i, char *text) {
  for (char *kv = strtok(text, ";"); kv && b->msgs[i].n_attributes < MAX_ATTRS; kv = strtok(NULL, ";")) {
    char *eq = strchr(kv, '=');
    if (!eq) continue;
    *eq = '\0';
    Google__Pubsub__V1__PubsubMessage__AttributesEntry *a = &b->attrs[i][b->msgs[i].n_attributes];
    google__pubsub__v1__pubsub_message__attributes_entry__init(a);
    a->key = kv;
    a->value = eq + 1;
    b->attr_ptrs[i][b->msgs[i].n_attributes++] = a;
  }
}

int main(int argc, char **argv) {
  bool with_attributes = argc == 4 && strcmp(argv[1], "-a") == 0;
  if (with_attributes) argv++, argc--;
  if (argc != 3) {
    fprintf(stderr, "usage: publish_lines [-a] TOPIC FILE\n");
    return 2;
  }
  FILE *f = fopen(argv[2], "r");
  if (!f) {
    perror(argv[2]);
    return 2;
  }
  beam_pubsub_publisher *p = NULL;
  beam_error err = {0};
  if (beam_pubsub_publisher_open(argv[1], NULL, NULL, &p, &err) != BEAM_OK) {
    fprintf(stderr, "publish_lines: %s\n", err.message);
    return 1;
  }
  pending *b = calloc(1, sizeof *b);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = b ? 0 : 1;
  long number = 0;
  while (!rc && (len = getline(&line, &cap, f)) >= 0) {
    number++;
    if (len && line[len - 1] == '\n') line[--len] = '\0';
    size_t i = b->n++;
    google__pubsub__v1__pubsub_message__init(&b->msgs[i]);
    google__pubsub__v1__pubsub_message__attributes_entry__init(&b->attrs[i][0]);
    b->lines[i] = malloc((size_t)len + 1);
    if (!b->lines[i]) return 1;
    memcpy(b->lines[i], line, (size_t)len + 1);
    snprintf(b->numbers[i], sizeof b->numbers[i], "%ld", number);
    b->attrs[i][0].key = "line";
    b->attrs[i][0].value = b->numbers[i];
    b->attr_ptrs[i][0] = &b->attrs[i][0];
    b->msgs[i].attributes = b->attr_ptrs[i];
    b->msgs[i].n_attributes = 1;
    char *data = b->lines[i];
    char *tab = with_attributes ? memchr(data, '\t', (size_t)len) : NULL;
    if (tab) {
      *tab = '\0';
      add_attributes(b, i, data);
      len -= tab + 1 - data;
      data = tab + 1;
    }
    b->msgs[i].data.data = (uint8_t *)data;
    b->msgs[i].data.len = (size_t)len;
    b->ptrs[i] = &b->msgs[i];
    if (b->n == PER_REQUEST) rc = send(p, argv[1], b);
  }
  if (!rc) rc = send(p, argv[1], b);
  free(line);
  free(b);
  fclose(f);
  beam_pubsub_publisher_free(p);
  return rc;
}
