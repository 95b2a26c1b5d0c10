/* Dataflow's flags, under the names every Beam SDK uses, and the checks a submission needs
 * before anything is staged. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam/dataflow.h"

void beam_dataflow_options_init(beam_dataflow_options *o) {
  memset(o, 0, sizeof *o);
  o->poll_interval_ms = 5000;
  o->watch_interrupt = true;
}

static const char *const BOOL_FLAGS[] = {"no_use_public_ips", "update",    "dry_run",
                                         "detach",            "streaming", "cancel_on_interrupt",
                                         "stage_worker",      NULL};

bool beam_dataflow_flag_is_bool(const char *name) {
  for (size_t i = 0; BOOL_FLAGS[i]; i++)
    if (strcmp(name, BOOL_FLAGS[i]) == 0) return true;
  return false;
}

static bool parse_int(const char *v, int *out) {
  char *end;
  errno = 0;
  long x = v ? strtol(v, &end, 10) : -1;
  if (!v || errno || end == v || *end || x < 0 || x > 100000) return false;
  *out = (int)x;
  return true;
}

static int apply_bool(beam_dataflow_options *o, const char *name, const char *value, char *msg, size_t cap) {
  bool v = !value || strcmp(value, "true") == 0;
  if (value && !v && strcmp(value, "false") != 0) {
    snprintf(msg, cap, "--%s takes no value (or true/false), not \"%s\"", name, value);
    return -1;
  }
  if (strcmp(name, "no_use_public_ips") == 0) o->no_use_public_ips = v;
  else if (strcmp(name, "update") == 0) o->update = v;
  else if (strcmp(name, "dry_run") == 0) o->dry_run = v;
  else if (strcmp(name, "detach") == 0) o->detach = v;
  else if (strcmp(name, "streaming") == 0) o->streaming = v;
  else if (strcmp(name, "cancel_on_interrupt") == 0) o->cancel_on_interrupt = v;
  else o->stage_worker_binary = v;
  return 1;
}

int beam_dataflow_flag(beam_dataflow_options *o, const char *name, const char *value, char *msg, size_t cap) {
  if (beam_dataflow_flag_is_bool(name)) return apply_bool(o, name, value, msg, cap);
  const char **slot = NULL;
  int *number = NULL;
  if (strcmp(name, "project") == 0) slot = &o->project;
  else if (strcmp(name, "region") == 0) slot = &o->region;
  else if (strcmp(name, "temp_location") == 0) slot = &o->temp_location;
  else if (strcmp(name, "staging_location") == 0) slot = &o->staging_location;
  else if (strcmp(name, "sdk_container_image") == 0) slot = &o->sdk_container_image;
  else if (strcmp(name, "job_name") == 0) slot = &o->job_name;
  else if (strcmp(name, "machine_type") == 0 || strcmp(name, "worker_machine_type") == 0) slot = &o->machine_type;
  else if (strcmp(name, "service_account_email") == 0) slot = &o->service_account_email;
  else if (strcmp(name, "network") == 0) slot = &o->network;
  else if (strcmp(name, "subnetwork") == 0) slot = &o->subnetwork;
  else if (strcmp(name, "labels") == 0) slot = &o->labels;
  else if (strcmp(name, "experiments") == 0 || strcmp(name, "experiment") == 0) slot = &o->experiments;
  else if (strcmp(name, "dataflow_endpoint") == 0) slot = &o->dataflow_endpoint;
  else if (strcmp(name, "transform_name_mapping") == 0) slot = &o->transform_name_mapping;
  else if (strcmp(name, "worker_binary") == 0) slot = &o->worker_binary;
  else if (strcmp(name, "template_location") == 0) slot = &o->template_location;
  else if (strcmp(name, "num_workers") == 0) number = &o->num_workers;
  else if (strcmp(name, "max_num_workers") == 0) number = &o->max_num_workers;
  else if (strcmp(name, "dataflow_poll_ms") == 0) number = &o->poll_interval_ms;
  else return 0;
  if (number && parse_int(value, number)) return 1;
  if (slot && value && *value) {
    *slot = value;
    return 1;
  }
  snprintf(msg, cap, "bad value for --%s: \"%s\"", name, value ? value : "");
  return -1;
}

const char *beam_dataflow_flags_help(void) {
  return "  Dataflow (--runner=dataflow, or --big_runner=dataflow with --runner=auto):\n"
         "    --project=P --region=R --temp_location=gs://B/tmp --sdk_container_image=IMAGE\n"
         "    [--staging_location=gs://B/staging] [--job_name=NAME] [--num_workers=N]\n"
         "    [--max_num_workers=N] [--machine_type=T] [--service_account_email=E]\n"
         "    [--network=N] [--subnetwork=S] [--no_use_public_ips] [--labels=k=v,k=v]\n"
         "    [--experiments=a,b] [--dataflow_endpoint=URL] [--update\n"
         "    [--transform_name_mapping=JSON]] [--stage_worker [--worker_binary=PATH]] [--detach]\n"
         "    [--dry_run] [--template_location=gs://B/job.json] [--streaming]\n"
         "    [--cancel_on_interrupt] (a streaming job: Ctrl-C cancels instead of draining)\n";
}

/* Dataflow's rule for job names: [a-z]([-a-z0-9]*[a-z0-9])?, at most 1024 characters. */
static bool job_name_valid(const char *n) {
  size_t len = strlen(n);
  if (len == 0 || len > 1024 || !islower((unsigned char)n[0]) || n[len - 1] == '-') return false;
  for (size_t i = 0; i < len; i++)
    if (!islower((unsigned char)n[i]) && !isdigit((unsigned char)n[i]) && n[i] != '-') return false;
  return true;
}

beam_status beam_dataflow_options_check(const beam_dataflow_options *o, beam_error *err) {
  const char *missing = !o->project ? "--project"
                        : !o->region ? "--region"
                        : !o->temp_location ? "--temp_location=gs://BUCKET/PATH"
                        : !o->sdk_container_image ? "--sdk_container_image (the beam-c SDK image, containers/sdk)"
                                                  : NULL;
  if (missing) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "the Dataflow runner needs %s", missing);
  if (strncmp(o->temp_location, "gs://", 5) != 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--temp_location must be a gs:// path, not \"%s\"", o->temp_location);
  if (o->staging_location && strncmp(o->staging_location, "gs://", 5) != 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--staging_location must be a gs:// path, not \"%s\"",
                          o->staging_location);
  if (o->job_name && !job_name_valid(o->job_name))
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "--job_name=%s: Dataflow job names are lowercase letters, digits and '-', starting with "
                          "a letter and not ending with '-'",
                          o->job_name);
  if (o->max_num_workers && o->num_workers > o->max_num_workers)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--num_workers=%d is above --max_num_workers=%d", o->num_workers,
                          o->max_num_workers);
  if (o->transform_name_mapping && !o->update)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "--transform_name_mapping applies only with --update");
  return BEAM_OK;
}
