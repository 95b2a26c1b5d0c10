/* The boot program's flags: Beam's boot flags (Go's flag package forms: -name=value,
 * --name=value, -name value) and --worker_binary. Runners add flags over time, so an unknown
 * one is noted and skipped rather than refused. */
#include <string.h>

#include "boot_internal.h"
#include "flag_take.h"

/* A flag we do not know takes the next argument too when it has no '=' and the next one is
 * not a flag: Go's flag syntax cannot tell, and a value is the likelier reading. */
static void skip_unknown(int argc, char **argv, int *i, FILE *note) {
  const char *arg = argv[*i];
  if (note) fprintf(note, "beam-c boot: ignoring unknown flag %s\n", arg);
  if (arg[0] == '-' && !strchr(arg, '=') && *i + 1 < argc && argv[*i + 1][0] != '-') ++*i;
}

beam_status beam_boot_parse_flags(int argc, char **argv, beam_boot_flags *f, FILE *note, beam_error *err) {
  memset(f, 0, sizeof *f);
  f->semi_persist_dir = "/tmp";
  for (int i = 1; i < argc; i++) {
    if (beam_flag_take(argc, argv, &i, "id", true, &f->id) ||
        beam_flag_take(argc, argv, &i, "worker_id", true, &f->id) ||
        beam_flag_take(argc, argv, &i, "provision_endpoint", true, &f->provision_endpoint) ||
        beam_flag_take(argc, argv, &i, "logging_endpoint", true, &f->logging_endpoint) ||
        beam_flag_take(argc, argv, &i, "artifact_endpoint", true, &f->artifact_endpoint) ||
        beam_flag_take(argc, argv, &i, "control_endpoint", true, &f->control_endpoint) ||
        beam_flag_take(argc, argv, &i, "semi_persist_dir", true, &f->semi_persist_dir) ||
        beam_flag_take(argc, argv, &i, "worker_binary", true, &f->worker_binary))
      continue;
    skip_unknown(argc, argv, &i, note);
  }
  if (!f->provision_endpoint || !*f->provision_endpoint)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG,
                          "--provision_endpoint is required (usage: boot --id=ID --provision_endpoint=HOST:PORT "
                          "[--artifact_endpoint=...] [--control_endpoint=...] [--logging_endpoint=...] "
                          "[--semi_persist_dir=DIR] [--worker_binary=PATH])");
  if (!*f->semi_persist_dir) f->semi_persist_dir = "/tmp";
  return BEAM_OK;
}
