#!/usr/bin/env bash
# Runs a command with the test services up: real Postgres, the S3-compatible server and the
# local Kubernetes control plane. Exports their addresses (ETAOPS_TEST_*), stops them on exit.
# ETAOPS_TEST_SERVICES (default "postgres s3 cluster") picks which to start.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export ETAOPS_CACHE="${ETAOPS_CACHE:-$HOME/.cache/etaops}"
stops=()
cleanup() {
  for ((i=${#stops[@]}-1; i>=0; i--)); do ${stops[$i]} >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
for svc in ${ETAOPS_TEST_SERVICES:-postgres s3 cluster}; do
  case "$svc" in
    postgres) script="$here/services/postgres.sh"; up=start; down=stop ;;
    s3)       script="$here/services/s3.sh";       up=start; down=stop ;;
    cluster)  script="$here/cluster.sh";           up=up;    down=down ;;
    *) echo "with-test-env: unknown service '$svc'" >&2; exit 2 ;;
  esac
  [ -x "$script" ] || { echo "with-test-env: $script missing, not starting $svc" >&2; continue; }
  "$script" "$up"
  stops+=("$script $down")
  eval "$("$script" env)"
done
"$@"
