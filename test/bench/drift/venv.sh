#!/usr/bin/env bash
# Builds (once) the bench virtualenv test/bench/.venv-drift (gitignored; kept apart from the
# ML bench's .venv so their pins never collide) with the pinned SciPy stack
# and Evidently used to produce the drift fixtures and the Evidently comparison, and prints
# its python path. Evidently 0.4.40 has the classic Report/DataDriftPreset
# API and installs on Python 3.11 with wheels only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../.venv-drift"
stamp="$venv/.etaops-drift-1"
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "numpy<2.1" "scipy==1.13.1" "pandas<2.3" "evidently==0.4.40" >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
