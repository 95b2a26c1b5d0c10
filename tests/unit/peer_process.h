/* Test helper: start a loopback peer (a Python fake, fake-gcs-server) as a child process,
 * wait for the port it reports, and stop it. Never hangs: waits are bounded. */
#ifndef BEAM_TEST_PEER_PROCESS_H
#define BEAM_TEST_PEER_PROCESS_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct peer_process {
  pid_t pid;
  int port;
} peer_process;

static inline void peer_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs argv (argv[0] searched in PATH) with stdout to /dev/null. */
static inline pid_t peer_spawn(char *const argv[]) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE *devnull = freopen("/dev/null", "w", stdout);
    (void)devnull;
    execvp(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* Waits (up to timeout_ms) for the file to hold a port number; 0 on timeout or exit. */
static inline int peer_wait_port_file(pid_t pid, const char *path, long timeout_ms) {
  for (long waited = 0; waited < timeout_ms; waited += 20) {
    FILE *f = fopen(path, "r");
    if (f) {
      int port = 0;
      int ok = fscanf(f, "%d", &port);
      fclose(f);
      if (ok == 1 && port > 0) return port;
    }
    if (waitpid(pid, NULL, WNOHANG) == pid) return 0;
    peer_sleep_ms(20);
  }
  return 0;
}

static inline void peer_stop(peer_process *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
      p->pid = 0;
      return;
    }
    peer_sleep_ms(20);
  }
  kill(p->pid, SIGKILL);
  waitpid(p->pid, NULL, 0);
  p->pid = 0;
}

#endif
