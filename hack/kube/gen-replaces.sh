#!/usr/bin/env bash
# Rewrites the replace block of hack/kube/go.mod for a Kubernetes release:
#   hack/kube/gen-replaces.sh v1.37.2
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
# with ./staging/src/...; a module that depends on it must replace each one by
# the published module of the same release. The list is read from the
# release's own go.mod in the module cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ver="${1:?usage: $0 v1.MINOR.PATCH}"
stag="v0.${ver#v1.}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="-mod=mod -buildvcs=false"
gomod="$(go mod download -json "k8s.io/kubernetes@$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
go mod edit -require="k8s.io/kubernetes@$ver"
for m in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod"); do
  go mod edit -replace="$m=$m@$stag"
done
go mod tidy
