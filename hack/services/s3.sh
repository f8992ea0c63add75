#!/usr/bin/env bash
# A real S3-compatible server (MinIO, built by hack/build-binaries.sh) for tests.
#
# usage: hack/services/s3.sh start|stop|status|env|wipe
#   start  start MinIO on 127.0.0.1:${ETAOPS_TEST_S3_PORT:-59000} with its data in
#          $ETAOPS_CACHE/run/s3/data, wait until it answers signed requests and
#          make sure bucket etaops-test exists. Idempotent.
#   stop   stop it (data is kept; `wipe` also deletes the data)
#   env    print export lines: ETAOPS_TEST_S3_ENDPOINT, ETAOPS_TEST_S3_BUCKET,
#          AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
# Credentials: ETAOPS_TEST_S3_ACCESS_KEY / ETAOPS_TEST_S3_SECRET_KEY, else fixed
# test ones. (Deliberately not read from AWS_* so real credentials in a
# developer's shell never end up as a test server's root password.)
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ETAOPS_CACHE="${ETAOPS_CACHE:-$HOME/.cache/etaops}"
export ETAOPS_CACHE
RUN="$ETAOPS_CACHE/run/s3"
BIN="$ETAOPS_CACHE/bin"
PORT="${ETAOPS_TEST_S3_PORT:-59000}"
BUCKET=etaops-test
REGION=us-east-1
mkdir -p "$RUN"

log() { echo "s3.sh: $*" >&2; }

pid() { cat "$RUN/minio.pid" 2>/dev/null || true; }
alive() { local p; p="$(pid)"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The credentials the running server was started with win over the defaults.
load_creds() {
  if [ -f "$RUN/creds" ]; then
    # shellcheck disable=SC1091
    . "$RUN/creds"
  else
    ACCESS_KEY="${ETAOPS_TEST_S3_ACCESS_KEY:-etaopstest}"
    SECRET_KEY="${ETAOPS_TEST_S3_SECRET_KEY:-etaopstest-secret-key}"
  fi
}

mkbucket() {
  AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" \
    "$BIN/s3-mkbucket" -endpoint "http://127.0.0.1:$PORT" -region "$REGION" -wait "${1:-60s}" "$BUCKET"
}

cmd_start() {
  "$HACK/build-binaries.sh" minio s3-mkbucket
  if alive; then
    load_creds
    mkbucket 30s
    return 0
  fi
  if port_busy "$PORT"; then
    log "127.0.0.1:$PORT is taken by another process (set ETAOPS_TEST_S3_PORT)"; exit 1
  fi
  rm -f "$RUN/creds"
  load_creds
  printf 'ACCESS_KEY=%q\nSECRET_KEY=%q\n' "$ACCESS_KEY" "$SECRET_KEY" >"$RUN/creds"
  mkdir -p "$RUN/data"
  # setsid + redirected stdio: the server must not hold the caller's pipes open.
  (
    cd "$RUN"
    export MINIO_ROOT_USER="$ACCESS_KEY" MINIO_ROOT_PASSWORD="$SECRET_KEY"
    export MINIO_REGION="$REGION" MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CI_CD=on TZ=UTC
    exec setsid "$BIN/minio" server --quiet --anonymous \
      --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$((PORT + 1))" \
      "$RUN/data" </dev/null >>"$RUN/minio.log" 2>&1
  ) &
  echo $! >"$RUN/minio.pid"
  if ! mkbucket 60s; then
    log "MinIO did not come up; last lines of $RUN/minio.log:"
    tail -n 30 "$RUN/minio.log" >&2
    cmd_stop
    exit 1
  fi
}

cmd_stop() {
  local p i
  p="$(pid)"
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$RUN/minio.pid"
}

cmd_env() {
  load_creds
  echo "export ETAOPS_TEST_S3_ENDPOINT='http://127.0.0.1:$PORT'"
  echo "export ETAOPS_TEST_S3_BUCKET='$BUCKET'"
  echo "export AWS_ACCESS_KEY_ID='$ACCESS_KEY'"
  echo "export AWS_SECRET_ACCESS_KEY='$SECRET_KEY'"
  echo "export AWS_REGION='$REGION'"
}

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) if alive; then echo "running on 127.0.0.1:$PORT (pid $(pid))"; else echo "stopped"; exit 1; fi ;;
  env)    cmd_env ;;
  wipe)   cmd_stop; rm -rf "$RUN/data" "$RUN/creds" ;;
  *) echo "usage: $0 start|stop|status|env|wipe" >&2; exit 2 ;;
esac
