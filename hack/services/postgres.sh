#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests.
#
# usage: hack/services/postgres.sh start|stop|status|env
#   start  use the server at $ETAOPS_TEST_PG_URL if one answers there; otherwise
#          install Debian's postgresql if needed, initdb a cluster under
#          $ETAOPS_CACHE/run/pg (trust auth, 127.0.0.1 only, port 55432 or the
#          next free one) and create database etaops_test. Idempotent.
#   stop   stop the throwaway cluster (data is kept; `wipe` removes it)
#   env    print export lines: ETAOPS_TEST_PG_URL, ETAOPS_TEST_PG_DATA and
#          ETAOPS_TEST_PG_CTL (a pg_ctl command prefix, run as the right user,
#          with -w and a log file, so `$ETAOPS_TEST_PG_CTL -D "$ETAOPS_TEST_PG_DATA"
#          stop -m fast` / `... start` work from a test; PG_DATA/PG_CTL are empty
#          when an external server is used)
#   wipe   stop and delete the cluster
set -euo pipefail

ETAOPS_CACHE="${ETAOPS_CACHE:-$HOME/.cache/etaops}"
RUN="$ETAOPS_CACHE/run/pg"
DEFAULT_PORT="${ETAOPS_TEST_PG_PORT:-55432}"
DB=etaops_test
SUPERUSER=postgres

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

ensure_installed() {
  if [ -z "$(pg_bin)" ]; then
    log "initdb not found under /usr/lib/postgresql/*/bin; installing Debian postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  fi
  PGBIN="$(pg_bin)" || { log "no initdb after installing postgresql"; exit 1; }
}

# Postgres refuses to run as root: as root, run it as the `postgres` user.
if [ "$(id -u)" = 0 ]; then
  RUNAS=(runuser -u postgres --)
else
  RUNAS=()
fi

# The cluster's real directory. As root, $HOME (/root) is mode 700 and the
# postgres user cannot reach $ETAOPS_CACHE/run/pg, so the cluster then lives
# in a directory postgres can reach and $ETAOPS_CACHE/run/pg is a symlink to it.
real_dir() {
  if [ -L "$RUN" ]; then readlink -f "$RUN"; return; fi
  if [ -d "$RUN" ]; then echo "$RUN"; return; fi
  mkdir -p "$(dirname "$RUN")"
  if [ "${#RUNAS[@]}" -eq 0 ] || "${RUNAS[@]}" test -x "$(dirname "$RUN")" 2>/dev/null; then
    mkdir -p "$RUN"; echo "$RUN"; return
  fi
  local tag alt
  tag="$(echo -n "$ETAOPS_CACHE" | sha256sum | cut -c1-10)"
  alt="/var/tmp/etaops-pg-$tag"
  mkdir -p "$alt"
  ln -sfn "$alt" "$RUN"
  echo "$alt"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

own_port() { cat "$DIR/port" 2>/dev/null || true; }
own_url() { echo "postgres://$SUPERUSER@127.0.0.1:$(own_port)/$DB"; }

running() {
  [ -f "$DATA/postmaster.pid" ] && "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

answers() { # url
  command -v psql >/dev/null || return 1
  PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

external() {
  # A URL given by the caller that is not our own throwaway cluster.
  [ -n "${ETAOPS_TEST_PG_URL:-}" ] && [ "${ETAOPS_TEST_PG_URL}" != "$(own_url)" ] && answers "$ETAOPS_TEST_PG_URL"
}

ctl_prefix() {
  echo "${RUNAS[*]}${RUNAS:+ }$PGBIN/pg_ctl -w -t 60 -l $DIR/postgres.log"
}

init_cluster() {
  local port="$DEFAULT_PORT"
  while port_busy "$port"; do port=$((port + 1)); done
  rm -rf "$DATA"
  mkdir -p "$DATA"
  if [ "${#RUNAS[@]}" -gt 0 ]; then chown postgres:postgres "$DIR" "$DATA"; fi
  chmod 700 "$DATA"
  "${RUNAS[@]}" "$PGBIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust \
    --encoding=UTF8 --locale=C >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  cat >>"$DATA/postgresql.conf" <<EOF

# etaops throwaway test cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DIR'
max_connections = 200
fsync = off
full_page_writes = off
EOF
  echo "$port" >"$DIR/port"
}

cmd_start() {
  if external; then log "using the server at \$ETAOPS_TEST_PG_URL"; return 0; fi
  ensure_installed
  if [ ! -f "$DATA/PG_VERSION" ] || [ ! -f "$DIR/port" ]; then
    init_cluster
  fi
  if ! running; then
    local port; port="$(own_port)"
    if port_busy "$port"; then
      log "port $port is taken by something else; re-creating the cluster on a free port"
      init_cluster
    fi
    rm -f "$DATA/postmaster.pid"
    # shellcheck disable=SC2046
    $(ctl_prefix) -D "$DATA" start >/dev/null || { tail -n 30 "$DIR/postgres.log" >&2; exit 1; }
  fi
  local i
  for i in $(seq 1 60); do
    if PGCONNECT_TIMEOUT=2 psql "postgres://$SUPERUSER@127.0.0.1:$(own_port)/postgres" -Atqc 'select 1' >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  if [ "$(psql "postgres://$SUPERUSER@127.0.0.1:$(own_port)/postgres" -Atqc "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
    psql "postgres://$SUPERUSER@127.0.0.1:$(own_port)/postgres" -qc "create database $DB" >/dev/null
  fi
}

cmd_stop() {
  if [ -n "${PGBIN:-}" ] && running; then
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -w -t 60 stop -m fast >/dev/null
  fi
}

cmd_env() {
  if external; then
    echo "export ETAOPS_TEST_PG_URL='$ETAOPS_TEST_PG_URL'"
    echo "export ETAOPS_TEST_PG_DATA=''"
    echo "export ETAOPS_TEST_PG_CTL=''"
    return 0
  fi
  [ -f "$DIR/port" ] || { log "not started: run '$0 start' first"; exit 1; }
  echo "export ETAOPS_TEST_PG_URL='$(own_url)'"
  echo "export ETAOPS_TEST_PG_DATA='$DATA'"
  echo "export ETAOPS_TEST_PG_CTL='$(ctl_prefix)'"
}

cd /  # postgres (via runuser) may not be able to read the caller's directory
PGBIN="$(pg_bin || true)"
DIR="$(real_dir)"
DATA="$DIR/data"

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) if running; then echo "running on port $(own_port)"; else echo "stopped"; exit 1; fi ;;
  env)    cmd_env ;;
  wipe)   cmd_stop; rm -rf "$DATA" "$DIR/port" ;;
  *) echo "usage: $0 start|stop|status|env|wipe" >&2; exit 2 ;;
esac
