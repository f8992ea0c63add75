#!/usr/bin/env bash
# etaops on kind, from nothing to a prediction: creates the cluster, builds the image and loads
# it into kind, installs kube-prometheus-stack, demo MinIO + Postgres, the etaops chart, applies
# manifests/samples and curls a prediction. docs/kind.md explains each step.
# Needs: docker, kind, kubectl, helm (with the prometheus-community repo added), curl, openssl.
# usage: docs/quickstart/kind.sh         (CLUSTER=etaops IMAGE=etaops/etaops:dev by default)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${CLUSTER:-etaops}"
IMAGE="${IMAGE:-etaops/etaops:dev}"
# shellcheck source=docs/quickstart/lib.sh
. "$ROOT/docs/quickstart/lib.sh"

need docker kind kubectl helm curl openssl

log "kind cluster $CLUSTER"
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --wait 180s
fi
kubectl config use-context "kind-$CLUSTER"

log "image $IMAGE"
docker build -t "$IMAGE" "$ROOT"
kind load docker-image "$IMAGE" --name "$CLUSTER"

install_monitoring
install_demo_services
install_etaops
train_and_predict
next_steps
echo "Delete everything with: kind delete cluster --name $CLUSTER"
