#!/usr/bin/env bash
# Starts a private PostgreSQL server (Debian's initdb + pg_ctl) on a free loopback port in a
# temporary directory, runs the given command with it, and stops it whatever happens.
#
# The command sees BEAM_PG_CONNINFO ("host=127.0.0.1 port=P user=beam dbname=beam_test"),
# the libpq variables PGHOST PGPORT PGUSER PGDATABASE, BEAM_PG_BINDIR (psql is there),
# BEAM_PG_DATA (the data directory; postmaster.pid names the server process), and
# BEAM_PG_RESTART / BEAM_PG_STOP / BEAM_PG_START: shell commands for tests of reconnection.
#
# initdb refuses to run as root: as root, the server runs as the user `nobody`.
# No PostgreSQL binaries: exit 77 (ctest SKIP_RETURN_CODE) with a loud message, or fail when
# BEAM_REQUIRE_PEERS is on. BEAM_PG_FSYNC=on keeps fsync (the benchmark); tests turn it off.
# Usage: with_postgres.sh command [args...]
set -euo pipefail

bindir=${BEAM_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)}
if [[ -z "$bindir" || ! -x "$bindir/initdb" || ! -x "$bindir/pg_ctl" ]]; then
  case "${BEAM_REQUIRE_PEERS:-OFF}" in
    1 | ON | on | TRUE | true | YES | yes)
      echo "with_postgres: FAILED: BEAM_REQUIRE_PEERS is on but no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin (scripts/install-deps.sh installs the postgresql package)" >&2
      exit 1 ;;
  esac
  echo "with_postgres: SKIPPED: no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin; apt-get install postgresql (scripts/install-deps.sh) to run this test" >&2
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/beam-pg-XXXXXX")
as_server=()
if [[ $(id -u) == 0 ]]; then
  chown nobody "$work"
  as_server=(runuser -u nobody --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_ctl=("${as_server[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log")

stop() {
  local rc=$?
  "${pg_ctl[@]}" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  if [[ $rc != 0 && -f "$work/server.log" ]]; then
    echo "with_postgres: server log (last lines):" >&2
    tail -n 20 "$work/server.log" >&2 || true
  fi
  rm -rf "$work"
  exit $rc
}
trap stop EXIT

# Inside a temporary directory the server user can write: nobody's home is /nonexistent.
(cd "$work" && "${as_server[@]}" "$bindir/initdb" -D "$work/data" -U beam --auth=trust -E UTF8 --no-locale -N) \
  >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
fsync=off
[[ "${BEAM_PG_FSYNC:-off}" == on ]] && fsync=on
server_options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=$fsync -c max_connections=50"
"${pg_ctl[@]}" -w -t 60 -o "$server_options" start >/dev/null || { cat "$work/server.log" >&2; exit 1; }

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=beam PGDATABASE=beam_test PGCONNECT_TIMEOUT=10
export BEAM_PG_BINDIR=$bindir BEAM_PG_DATA=$work/data
export BEAM_PG_CONNINFO="host=127.0.0.1 port=$port user=beam dbname=beam_test"
printf -v BEAM_PG_RESTART '%q ' "${pg_ctl[@]}" -m fast -w -t 60 restart
printf -v BEAM_PG_STOP '%q ' "${pg_ctl[@]}" -m fast -w -t 60 stop
printf -v BEAM_PG_START '%q ' "${pg_ctl[@]}" -w -t 60 -o "$server_options" start
export BEAM_PG_RESTART="$BEAM_PG_RESTART >/dev/null" BEAM_PG_STOP="$BEAM_PG_STOP >/dev/null" \
  BEAM_PG_START="$BEAM_PG_START >/dev/null"
"$bindir/psql" -X -q -d postgres -c "CREATE DATABASE beam_test" >/dev/null
echo "with_postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $work)"
timeout "${BEAM_PG_TIMEOUT:-600}" "$@"
