#!/usr/bin/env bash
# Builds the real servers the tests start (etcd, Kubernetes control plane,
# kwok, kubectl, helm, MinIO) from the Go modules under hack/ into
# ${ETAOPS_CACHE:-$HOME/.cache/etaops}/bin. The cache lives outside the repo so
# that CI's fresh clone on the same machine reuses it.
#
# A binary is rebuilt only when it is missing or when its module's inputs
# (go.mod, go.sum, *.go, the Go version) hash differently from the stamp
# written at its last build. Quiet when everything is cached.
#
# usage: hack/build-binaries.sh [name...]   (default: all)
#   names: etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#          kwok helm minio s3-mkbucket
#          (aliases: kube = the four kube binaries, s3 = minio + s3-mkbucket)
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETAOPS_CACHE="${ETAOPS_CACHE:-$HOME/.cache/etaops}"
BIN="$ETAOPS_CACHE/bin"
STAMPS="$ETAOPS_CACHE/stamps"
LOGS="$ETAOPS_CACHE/build-logs"
mkdir -p "$BIN" "$STAMPS" "$LOGS"

# All modules here declare go 1.26.0, which the machine's Go satisfies; never
# let the go command fetch another toolchain behind our back.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
# -mod=mod: go.sum is committed, but a missing checksum line must not fail a
# cold CI build; -buildvcs=false: the wrapper modules are not VCS roots of
# their own. Keep whatever else the caller put in GOFLAGS.
export GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"
export CGO_ENABLED="${CGO_ENABLED:-0}"

# name -> "module-dir package"
target() {
  case "$1" in
    etcd)                    echo "etcd ." ;;
    kube-apiserver)          echo "kube ./cmd/kube-apiserver" ;;
    kube-controller-manager) echo "kube ./cmd/kube-controller-manager" ;;
    kube-scheduler)          echo "kube ./cmd/kube-scheduler" ;;
    kubectl)                 echo "kube ./cmd/kubectl" ;;
    kwok)                    echo "kwok ." ;;
    helm)                    echo "helm ." ;;
    minio)                   echo "s3 ." ;;
    s3-mkbucket)             echo "s3 ./cmd/s3-mkbucket" ;;
    *) return 1 ;;
  esac
}

ALL=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm minio s3-mkbucket)
names=()
if [ "$#" -eq 0 ]; then names=("${ALL[@]}"); fi
for n in "$@"; do
  case "$n" in
    all)  names+=("${ALL[@]}") ;;
    kube) names+=(kube-apiserver kube-controller-manager kube-scheduler kubectl) ;;
    s3)   names+=(minio s3-mkbucket) ;;
    *)    target "$n" >/dev/null || { echo "build-binaries: unknown binary '$n'" >&2; exit 2; }
          names+=("$n") ;;
  esac
done

# Inputs of one module directory, hashed: go.mod, go.sum, every .go file, and
# the compiler that builds them.
module_hash() {
  local dir="$HACK/$1"
  {
    go version
    echo "flags: -trimpath -s -w CGO_ENABLED=$CGO_ENABLED; version-stamps: 1"
    (cd "$dir" && find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -d' ' -f1
}

# Version stamps that upstream's own build sets with -X: without them
# kube-apiserver reports v0.0.0-master, which breaks clients that check the
# server version (helm's kubeVersion constraints, kubectl's skew warning).
version_ldflags() { # name mod
  local v
  case "$1" in
    kube-*|kubectl)
      v="$(cd "$HACK/$2" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
      local major="${v#v}"; major="${major%%.*}"
      local minor="${v#v*.}"; minor="${minor%%.*}"
      local pkg f=""
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        f+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        f+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=$v -X $pkg.buildDate=1970-01-01T00:00:00Z"
      done
      echo "$f" ;;
    helm)
      v="$(cd "$HACK/$2" && go list -m -f '{{.Version}}' helm.sh/helm/v4)"
      echo " -X helm.sh/helm/v4/internal/version.version=$v" ;;
  esac
}

up_to_date() { # name mod
  local stamp="$STAMPS/$1"
  [ -x "$BIN/$1" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(module_hash "$2")" ]
}

# Nothing to do: return without waiting on a build another process is running.
stale=()
for name in "${names[@]}"; do
  read -r mod pkg < <(target "$name")
  up_to_date "$name" "$mod" || stale+=("$name")
done
[ "${#stale[@]}" -eq 0 ] && exit 0

# One build at a time on this machine (the service scripts may call us at
# once); whoever waited re-checks, since the other may have built it.
exec 9>"$ETAOPS_CACHE/build.lock"
flock 9

for name in "${stale[@]}"; do
  read -r mod pkg < <(target "$name")
  up_to_date "$name" "$mod" && continue
  want="$(module_hash "$mod")"
  echo "build-binaries: building $name (hack/$mod $pkg) ..." >&2
  log="$LOGS/$name.log"
  start=$(date +%s)
  if ! (cd "$HACK/$mod" && nice -n 10 go build -trimpath -ldflags="-s -w$(version_ldflags "$name" "$mod")" -o "$BIN/.$name.tmp" "$pkg") >"$log" 2>&1; then
    echo "build-binaries: FAILED to build $name; log: $log" >&2
    tail -n 40 "$log" >&2
    rm -f "$BIN/.$name.tmp"
    exit 1
  fi
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  echo "$want" >"$STAMPS/$name"
  echo "build-binaries: built $name in $(( $(date +%s) - start ))s" >&2
done
