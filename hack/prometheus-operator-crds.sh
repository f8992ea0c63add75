#!/usr/bin/env bash
# Prints a directory holding the Prometheus Operator's real CRDs for ServiceMonitor, PodMonitor
# and PrometheusRule, so chart tests can install them into the local kube-apiserver. The
# operator's Go module (version pinned, checksum in go.sum, see prometheus-operator-crds/go.mod)
# is downloaded through the Go module proxy into the module cache; its
# example/prometheus-operator-crd/ files are copied into ${ETAOPS_CACHE}/prometheus-operator-crds/<version>.
# Cached: a second call only prints the directory.
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETAOPS_CACHE="${ETAOPS_CACHE:-$HOME/.cache/etaops}"
MOD=github.com/prometheus-operator/prometheus-operator
KINDS=(servicemonitors podmonitors prometheusrules)

version="$(sed -n "s|^require $MOD \(v[^ ]*\)\$|\1|p" "$HACK/prometheus-operator-crds/go.mod")"
[ -n "$version" ] || { echo "prometheus-operator-crds: no '$MOD' version in go.mod" >&2; exit 1; }
out="$ETAOPS_CACHE/prometheus-operator-crds/$version"

cached=1
for k in "${KINDS[@]}"; do [ -s "$out/monitoring.coreos.com_$k.yaml" ] || cached=0; done
if [ "$cached" = 0 ]; then
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:-} -mod=mod"
  dir="$(cd "$HACK/prometheus-operator-crds" && go mod download -json "$MOD" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -d "$dir/example/prometheus-operator-crd" ] || { echo "prometheus-operator-crds: $MOD $version has no example/prometheus-operator-crd in $dir" >&2; exit 1; }
  mkdir -p "$out"
  for k in "${KINDS[@]}"; do
    install -m 0644 "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$k.yaml" "$out/"
  done
fi
echo "$out"
