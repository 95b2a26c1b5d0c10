/* The boot program: the entrypoint a Beam runner starts for an environment (a container's
 * /opt/apache/beam/boot, or a PROCESS environment's command). It asks the runner's provision
 * service for the endpoints and the environment's artifacts, downloads them into
 * <semi_persist_dir>/staged/ (sha256 checked), picks the worker binary and execs it with
 * --worker and the endpoints. */
#ifndef BEAM_BOOT_H
#define BEAM_BOOT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Where boot finds the worker binary when no artifact is staged as "beam-c-worker": the
 * --worker_binary flag, this environment variable, then the binary baked into the image. */
#define BEAM_BOOT_WORKER_BINARY_ENV "BEAM_C_WORKER_BINARY"
#define BEAM_BOOT_DEFAULT_WORKER "/opt/apache/beam/worker"

/* Beam's boot flags: --id, --provision_endpoint (required), --logging_endpoint,
 * --artifact_endpoint, --control_endpoint, --semi_persist_dir (default /tmp); plus
 * --worker_binary=PATH. Unknown flags are noted and ignored. Returns only on failure: 1 when
 * provisioning, a download or the exec failed (the reason on stderr), 2 on bad flags. */
int beam_boot_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
