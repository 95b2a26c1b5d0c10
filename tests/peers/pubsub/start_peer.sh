# Sourced by the stream ETL's tests. enter_workdir: a fresh temporary directory becomes the
# current one, and whatever happens the processes in peer_pid, etl_pid and lock_pid are
# killed and the directory removed at exit (the exit status kept).
enter_workdir() {
  work=$(mktemp -d)
  peer_pid= etl_pid= lock_pid=
  trap 'rc=$?; for p in $etl_pid $lock_pid $peer_pid; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; exit $rc' EXIT
  cd "$work"
}

# hold_sqlite_lock DB: another process takes DB's write lock and holds it until killed (the
# caller kills lock_pid); returns once the lock is held.
hold_sqlite_lock() {
  python3 - "$1" <<'PY' &
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")  # holds the write lock until killed
open("locked", "w").close()
time.sleep(600)
PY
  lock_pid=$!
  for _ in $(seq 100); do [[ -f locked ]] && break; sleep 0.1; done
}

# start_peer PEER TOPICS [PORT] starts pubsub_peer (pstest
# on loopback) in the current directory with topics TOPICS ("a,b", each with "<topic>-sub"),
# on PORT (default: any free one; a restart passes the port it had), waits for the port it
# prints, sets peer_pid and peer_port and exports PUBSUB_EMULATOR_HOST. The caller kills
# peer_pid when done. PUBSUB_PEER_ARGS: more flags for the peer (e.g. -deny-subscription X).
start_peer() {
  : >peer.out
  # shellcheck disable=SC2086 # the extra flags are words
  "$1" -topic "$2" -port "${3:-0}" -timeout 600s ${PUBSUB_PEER_ARGS:-} </dev/zero >peer.out 2>>peer.err &
  peer_pid=$!
  for _ in $(seq 100); do
    grep -q '^PORT=' peer.out 2>/dev/null && break
    kill -0 "$peer_pid" 2>/dev/null || { echo "pubsub_peer exited:"; cat peer.err; exit 1; }
    sleep 0.1
  done
  peer_port=$(sed -n 's/^PORT=//p' peer.out)
  [[ -n $peer_port ]] || { echo "pubsub_peer printed no port"; cat peer.err; exit 1; }
  export PUBSUB_EMULATOR_HOST="127.0.0.1:$peer_port"
}
