/* A streaming pipeline submitted to Dataflow, for dataflow_streaming.sh: Pub/Sub read ->
 * ParDo, run with beam_run_dataflow and the Dataflow flags given as --name[=value].
 *   --dump_pipeline=FILE  also write the encoded Pipeline proto (before submission)
 *   --group               add a GroupByKey in the global window (must be refused)
 * Exit 0 on success, 1 with the error on stderr. */
#include <stdio.h>
#include <string.h>

#include "beam/dataflow.h"
#include "beam/pipeline.h"

static beam_pipeline *build(bool group) {
  beam_pipeline *p = beam_pipeline_new();
  beam_pubsub_read_spec read = {.subscription = "projects/test-project/subscriptions/events",
                                .id_attribute = "event_id",
                                .with_attributes = true};
  beam_pcollection *messages = beam_pubsub_read(p, "ReadEvents", &read);
  beam_coder_spec *bytes = beam_coder_spec_bytes(p);
  beam_pcollection *rows = beam_pardo1(p, "Parse", messages, "streaming_submit_parse", NULL, bytes);
  if (group) {
    beam_coder_spec *kv = beam_coder_spec_kv(p, bytes, bytes);
    beam_group_by_key(p, "Group", beam_pardo1(p, "Key", rows, "streaming_submit_key", NULL, kv));
  }
  return p;
}

int main(int argc, char **argv) {
  beam_dataflow_options o;
  beam_dataflow_options_init(&o);
  const char *dump = NULL;
  bool group = false;
  for (int i = 1; i < argc; i++) {
    char name[128], msg[256];
    const char *arg = argv[i], *eq = strchr(arg, '=');
    if (strncmp(arg, "--", 2) != 0) return fprintf(stderr, "unexpected argument %s\n", arg), 2;
    snprintf(name, sizeof name, "%.*s", (int)((eq ? (size_t)(eq - arg) : strlen(arg)) - 2), arg + 2);
    if (strcmp(name, "dump_pipeline") == 0 && eq) dump = eq + 1;
    else if (strcmp(name, "group") == 0) group = true;
    else if (beam_dataflow_flag(&o, name, eq ? eq + 1 : NULL, msg, sizeof msg) != 1)
      return fprintf(stderr, "%s\n", eq || beam_dataflow_flag_is_bool(name) ? msg : "flag needs a value"), 2;
  }
  beam_pipeline *p = build(group);
  beam_buf proto = BEAM_BUF_INIT;
  beam_error err = {0};
  beam_status s = beam_pipeline_encode(p, &proto, &err);
  if (s == BEAM_OK && dump) s = beam_pipeline_dump(p, dump, &err);
  if (s == BEAM_OK) s = beam_run_dataflow(proto.data, proto.len, &o, NULL, &err);
  if (s != BEAM_OK) fprintf(stderr, "streaming_submit: %s\n", err.message);
  beam_buf_free(&proto);
  beam_pipeline_free(p);
  return s == BEAM_OK ? 0 : 1;
}
