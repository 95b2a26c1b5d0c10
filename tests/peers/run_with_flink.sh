#!/usr/bin/env bash
# Starts Flink's Beam job server (FlinkJobServerDriver, jobs on an embedded Flink mini-cluster)
# on a free loopback port, runs the given command with FLINK_ENDPOINT set, and stops the JVM
# whatever happens. The job server's log is printed when it dies or the command fails.
# Usage: run_with_flink.sh RUNNER_JAR command [args...]
# RUNNER_JAR is the Flink runner jar with its dependencies in the same directory (what
# scripts/install-deps.sh --with-java-peers puts in .peers/flink/lib), or a shaded
# beam-runners-flink-*-job-server jar alone in its directory: everything there is the classpath.
# FLINK_RUN_TIMEOUT (seconds, default 300) bounds the command.
set -euo pipefail
jar=$1
shift
[[ -f "$jar" ]] || { echo "run_with_flink: no job server jar at $jar (scripts/install-deps.sh --with-java-peers)" >&2; exit 1; }
command -v java >/dev/null || { echo "run_with_flink: java not found" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
log="$work/job-server.log"
mkdir -p "$work/tmp" "$work/artifacts"
pid=
show_log() { echo "--- Flink job server log (last 300 lines of $log) ---"; tail -n 300 "$log"; echo "---"; }
stop() {
  local rc=$?
  if [[ -n "$pid" ]]; then
    ((rc == 0)) || show_log
    kill "$pid" 2>/dev/null || true
    # The JVM stops the mini-cluster in its shutdown hooks; give it a few seconds.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap stop EXIT
trap 'exit 143' TERM INT

# Flink 1.19 on Java 17 needs these opened for its reflection (Flink's own launcher passes the
# same); java.io.tmpdir keeps the mini-cluster's blob, io and RocksDB directories in $work.
java -Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.io.tmpdir="$work/tmp" \
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
  --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED \
  --add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED \
  -cp "$(dirname "$jar")/*" org.apache.beam.runners.flink.FlinkJobServerDriver \
  --job-host=127.0.0.1 --job-port="$port" --artifact-port=0 --expansion-port=-1 \
  --flink-master='[local]' --artifacts-dir="$work/artifacts" >"$log" 2>&1 &
pid=$!
started=$SECONDS
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "run_with_flink: the job server exited"; exit 1; }
  ((SECONDS - started < 90)) || { echo "run_with_flink: the job server did not listen on :$port within 90 s"; exit 1; }
  sleep 0.2
done
echo "run_with_flink: job server on 127.0.0.1:$port after $((SECONDS - started)) s"
export FLINK_ENDPOINT="127.0.0.1:$port"
timeout "${FLINK_RUN_TIMEOUT:-300}" "$@"
