#!/usr/bin/env bash
# etaops on k3s (a single-node k3s already installed on this machine, e.g. by its installer):
# builds the image and imports it into k3s's containerd, installs kube-prometheus-stack, demo
# MinIO + Postgres, the etaops chart, applies manifests/samples and curls a prediction.
# docs/k3s.md explains each step.
# Needs: k3s (running), docker, helm (with the prometheus-community repo added), curl, openssl, sudo.
# usage: docs/quickstart/k3s.sh          (IMAGE=etaops/etaops:dev by default)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGE="${IMAGE:-etaops/etaops:dev}"
# shellcheck source=docs/quickstart/lib.sh
. "$ROOT/docs/quickstart/lib.sh"

need k3s docker helm curl openssl sudo

log "k3s"
# k3s writes an admin kubeconfig readable by root; use a private copy.
KUBECONFIG="${KUBECONFIG:-$HOME/.kube/k3s.yaml}"
export KUBECONFIG
if [ ! -s "$KUBECONFIG" ]; then
  mkdir -p "$(dirname "$KUBECONFIG")"
  sudo cat /etc/rancher/k3s/k3s.yaml | install -m 600 /dev/stdin "$KUBECONFIG"
fi
command -v kubectl >/dev/null 2>&1 || kubectl() { sudo k3s kubectl "$@"; }
kubectl wait --for=condition=Ready node --all --timeout=120s

log "image $IMAGE"
docker build -t "$IMAGE" "$ROOT"
docker save "$IMAGE" | sudo k3s ctr images import -

install_monitoring
install_demo_services
install_etaops
train_and_predict
next_steps
echo "Remove everything with: helm -n $ETAOPS_NS uninstall etaops; helm -n monitoring uninstall kps; kubectl delete namespace etaops-demo"
