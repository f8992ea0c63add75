#!/usr/bin/env bash
# Makes sure Debian's `prometheus` package (prometheus + promtool) is installed for the
# observability test, which runs its own Prometheus on 127.0.0.1 with a temp config and storage.
# CI machines start fresh, so `make test` calls this before the tests.
# Idempotent: does nothing when both binaries are already there.
#
# The package's maintainer scripts would start the system service (scraping :9090 with the
# Debian config); we never want that instance, so while installing, a policy-rc.d refuses
# any start of a prometheus* service (invoke-rc.d and deb-systemd-invoke both honour it).
# An existing /usr/sbin/policy-rc.d (e.g. the container's deny-all one) is left as it is.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  # policy-rc.d exit codes (invoke-rc.d(8)): 101 = action forbidden, 0 = allowed.
  $SUDO tee "$POLICY" >/dev/null <<'EOF'
#!/bin/sh
# Temporary, written by etaops hack/ensure-prometheus.sh: never start Debian's prometheus service.
for arg in "$@"; do
  case "$arg" in prometheus*) exit 101 ;; esac
done
exit 0
EOF
  $SUDO chmod 755 "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
prometheus --version 2>&1 | head -n1
