#!/usr/bin/env bash
# A real local Kubernetes control plane for tests, built by hack/build-binaries.sh:
# etcd + kube-apiserver (RBAC, TLS, loopback only) + kube-controller-manager +
# kube-scheduler + kwok, and two Nodes:
#   fake-node     managed by kwok (annotation kwok.x-k8s.io/node=fake): kwok marks
#                 it Ready, heartbeats it and plays pod lifecycles on it (pods go
#                 Running; Job pods complete).
#   local-runner  a plain Node that kwok does NOT manage, labelled and tainted
#                 etaops.io/local-runner=true (NoSchedule): reserved for the e2e
#                 pod runner, which must heartbeat it (Ready condition + Lease in
#                 kube-node-lease) and run its pods' commands locally.
#
# usage: hack/cluster.sh up|down|status|env
#   up      build what is missing, start everything, wait for /readyz, the
#           default ServiceAccount and a Ready fake-node. Idempotent.
#   down    stop everything and wipe etcd's data (the PKI is kept).
#   env     print `export KUBECONFIG=...` and `export ETAOPS_TEST_KUBECONFIG=...`
#           plus ETAOPS_TEST_KUBE_TOKEN (a static admin bearer token) and
#           ETAOPS_TEST_KUBECTL (the kubectl binary).
# Files: $ETAOPS_CACHE/run/kube/ (admin.kubeconfig, pki/, *.log, *.pid).
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETAOPS_CACHE="${ETAOPS_CACHE:-$HOME/.cache/etaops}"
export ETAOPS_CACHE
BIN="$ETAOPS_CACHE/bin"
RUN="$ETAOPS_CACHE/run/kube"
PKI="$RUN/pki"
KUBECONFIG_ADMIN="$RUN/admin.kubeconfig"
KUBECTL="$BIN/kubectl"
SERVICE_CIDR=10.0.0.0/24
SERVICE_IP=10.0.0.1
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { echo "cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # base
  local p="$1"
  while port_busy "$p"; do p=$((p + 1)); done
  echo "$p"
}

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
alive() { local p; p="$(pid_of "$1")"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }

# ---------------------------------------------------------------- PKI (kept)
gen_cert() { # name subject [extfile-content]
  local name="$1" subj="$2" ext="${3:-}"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr"
}

ensure_pki() {
  [ -f "$PKI/done" ] && return 0
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=etaops-test-ca" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/ca.crt" 2>/dev/null
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  gen_cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  gen_cert admin "/O=system:masters/CN=etaops-admin" "$client"
  gen_cert kube-controller-manager "/CN=system:kube-controller-manager" "$client"
  gen_cert kube-scheduler "/CN=system:kube-scheduler" "$client"
  gen_cert kwok "/O=system:masters/CN=kwok" "$client"
  # Service-account token signing key pair.
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  # A static admin bearer token, for clients that prefer a token to a cert.
  echo "etaops-admin-$(openssl rand -hex 16)" >"$PKI/admin.token"
  echo "$(cat "$PKI/admin.token"),etaops-token-admin,etaops-token-admin,system:masters" >"$PKI/tokens.csv"
  touch "$PKI/done"
}

write_kubeconfig() { # file user
  local file="$1" user="$2"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: etaops-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/$user.crt")
    client-key-data: $(base64 -w0 <"$PKI/$user.key")
contexts:
- name: etaops-test
  context:
    cluster: etaops-test
    user: $user
current-context: etaops-test
EOF
  chmod 600 "$file"
}

# ---------------------------------------------------------------- processes
start_bg() { # name args...
  local name="$1"; shift
  # setsid + redirected stdio: nothing keeps the caller's terminal or pipes.
  ( exec setsid "$BIN/$name" "$@" </dev/null >>"$RUN/$name.log" 2>&1 ) &
  echo $! >"$RUN/$name.pid"
}

stop_one() {
  local name="$1" p i
  p="$(pid_of "$name")"
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

wait_for() { # what seconds component cmd...
  local what="$1" secs="$2" comp="$3"; shift 3
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$comp" ] && ! alive "$comp"; then
      log "$comp exited while waiting for $what; last lines of $RUN/$comp.log:"
      tail -n 40 "$RUN/$comp.log" >&2
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "timed out after ${secs}s waiting for $what (logs: $RUN/*.log)"
      [ -n "$comp" ] && tail -n 20 "$RUN/$comp.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

etcd_healthy() ( # a subshell, so fd 3 stays local
  exec 3<>"/dev/tcp/127.0.0.1/$ETCD_PORT" && printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && grep -q '"health":"true"' <&3
)

load_ports() { # shellcheck disable=SC1091
  . "$RUN/ports"
}

cmd_status() {
  local ok=0 c
  for c in "${COMPONENTS[@]}"; do
    if alive "$c"; then echo "$c: running (pid $(pid_of "$c"))"; else echo "$c: stopped"; ok=1; fi
  done
  return $ok
}

all_up() {
  local c
  for c in "${COMPONENTS[@]}"; do alive "$c" || return 1; done
  [ -f "$RUN/ports" ] && [ -f "$KUBECONFIG_ADMIN" ] && kc get --raw /readyz >/dev/null 2>&1
}

apply_nodes() {
  kc apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: fake-node
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: fake-node
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    etaops.io/fake-node: "true"
---
apiVersion: v1
kind: Node
metadata:
  name: local-runner
  labels:
    kubernetes.io/hostname: local-runner
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    etaops.io/local-runner: "true"
spec:
  taints:
  - key: etaops.io/local-runner
    value: "true"
    effect: NoSchedule
EOF
  # Capacity for local-runner, so the scheduler can place pods there once the
  # pod runner reports it Ready (until then it is NotReady and tainted).
  kc patch node local-runner --subresource=status --type=merge -p '{"status":{
    "capacity":{"cpu":"2","memory":"8Gi","pods":"50"},
    "allocatable":{"cpu":"2","memory":"8Gi","pods":"50"},
    "addresses":[{"type":"InternalIP","address":"127.0.0.1"},{"type":"Hostname","address":"local-runner"}]}}' >/dev/null
}

cmd_up() {
  mkdir -p "$RUN"
  if all_up; then return 0; fi
  # Something is half up (or a stale run): start clean.
  cmd_down quiet
  local c
  for c in "${COMPONENTS[@]}"; do  # keep one previous run's logs
    if [ -f "$RUN/$c.log" ]; then mv -f "$RUN/$c.log" "$RUN/$c.log.prev"; fi
  done
  "$HACK/build-binaries.sh" etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok
  command -v openssl >/dev/null || die "openssl is needed (apt-get install -y openssl)"
  ensure_pki

  ETCD_PORT="$(free_port "${ETAOPS_TEST_ETCD_PORT:-52379}")"
  ETCD_PEER_PORT="$(free_port $((ETCD_PORT + 1)))"
  API_PORT="$(free_port "${ETAOPS_TEST_KUBE_API_PORT:-56443}")"
  KCM_PORT="$(free_port 60257)"
  SCHED_PORT="$(free_port $((KCM_PORT + 2)))"
  KWOK_PORT="$(free_port $((SCHED_PORT + 2)))"
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPI_PORT=%s\nKCM_PORT=%s\nSCHED_PORT=%s\nKWOK_PORT=%s\n' \
    "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHED_PORT" "$KWOK_PORT" >"$RUN/ports"

  write_kubeconfig "$KUBECONFIG_ADMIN" admin
  write_kubeconfig "$RUN/kube-controller-manager.kubeconfig" kube-controller-manager
  write_kubeconfig "$RUN/kube-scheduler.kubeconfig" kube-scheduler
  write_kubeconfig "$RUN/kwok.kubeconfig" kwok

  rm -rf "$RUN/etcd-data"
  start_bg etcd --name etaops --data-dir "$RUN/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "etaops=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd /health" 60 etcd etcd_healthy

  start_bg kube-apiserver \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --endpoint-reconciler-type none \
    --cert-dir "$PKI" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" --token-auth-file "$PKI/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true \
    --profiling=false --v=1
  wait_for "kube-apiserver /readyz" 120 kube-apiserver kc get --raw /readyz

  # '*' = every default controller; 1.37's kube-controller-manager has no cloud
  # controllers left to exclude (they live in cloud-controller-manager).
  start_bg kube-controller-manager \
    --kubeconfig "$RUN/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$RUN/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$RUN/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --controllers '*' \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false \
    --leader-elect=false --profiling=false --v=1

  start_bg kube-scheduler \
    --kubeconfig "$RUN/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$RUN/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$RUN/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" \
    --leader-elect=false --profiling=false --v=1

  start_bg kwok --kubeconfig "$RUN/kwok.kubeconfig" --config "$HACK/kwok/stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 \
    --cidr 10.244.0.0/16 --node-ip 10.240.0.2 \
    --server-address "127.0.0.1:$KWOK_PORT"

  apply_nodes
  wait_for "fake-node Ready" 60 kwok kc wait --for=condition=Ready node/fake-node --timeout=5s
  wait_for "the default ServiceAccount" 90 kube-controller-manager kc get serviceaccount default -n default
  for c in "${COMPONENTS[@]}"; do
    alive "$c" || { log "$c exited; last lines of $RUN/$c.log:"; tail -n 40 "$RUN/$c.log" >&2; exit 1; }
  done
}

cmd_down() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_one "${COMPONENTS[$i]}"; done
  rm -rf "$RUN/etcd-data" "$RUN/ports"
  [ "${1:-}" = quiet ] || true
}

cmd_env() {
  [ -f "$KUBECONFIG_ADMIN" ] || die "not up: run '$0 up' first"
  echo "export KUBECONFIG='$KUBECONFIG_ADMIN'"
  echo "export ETAOPS_TEST_KUBECONFIG='$KUBECONFIG_ADMIN'"
  echo "export ETAOPS_TEST_KUBE_TOKEN='$(cat "$PKI/admin.token")'"
  echo "export ETAOPS_TEST_KUBECTL='$KUBECTL'"
}

case "${1:-}" in
  up)     cmd_up ;;
  down)   cmd_down ;;
  status) cmd_status ;;
  env)    cmd_env ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
