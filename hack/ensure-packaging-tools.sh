#!/usr/bin/env bash
# Debian's shellcheck (lints the quick-start scripts under docs/) and tini (the image's PID 1, so
# the Dockerfile test starts each role through the exact ENTRYPOINT). CI machines start fresh, so
# `make test` calls this before the tests. Idempotent: does nothing when both are installed.
set -euo pipefail
missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ -x /usr/bin/tini ] || missing+=(tini)
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
