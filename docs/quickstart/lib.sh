#!/usr/bin/env bash
# Shared by kind.sh and k3s.sh once the cluster runs and the image is in its container runtime:
# kube-prometheus-stack, demo MinIO + Postgres, the etaops chart, the samples, a prediction.
# Sourced, not run. Expects ROOT (the repository) and IMAGE (repository:tag) to be set.

# Prometheus, Alertmanager and Grafana from the prometheus-community chart repository, which the
# caller adds first (helm repo add prometheus-community <its URL, see the chart's README>).
KPS_CHART="${KPS_CHART:-prometheus-community/kube-prometheus-stack}"
KPS_VERSION="${KPS_VERSION:-}"
ETAOPS_NS=etaops-system
APP_NS="${APP_NS:-default}"

log() { printf '\n==> %s\n' "$*"; }

need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "missing tools: ${missing[*]}" >&2
    exit 1
  fi
}

install_monitoring() {
  log "kube-prometheus-stack in namespace monitoring"
  if ! helm search repo "$KPS_CHART" -o json | grep -q kube-prometheus-stack; then
    echo "helm does not know $KPS_CHART: add the prometheus-community chart repository first (helm repo add prometheus-community <URL>; helm repo update)" >&2
    exit 1
  fi
  local version=()
  [ -n "$KPS_VERSION" ] && version=(--version "$KPS_VERSION")
  # The *NilUsesHelmValues=false settings make Prometheus pick up monitors and rules of any
  # release (etaops's carry no "release: kps" label); the sidecar loads dashboards from every namespace.
  helm upgrade --install kps "$KPS_CHART" "${version[@]}" \
    --namespace monitoring --create-namespace --wait --timeout 10m \
    --set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false \
    --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
    --set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false \
    --set grafana.sidecar.dashboards.enabled=true \
    --set grafana.sidecar.dashboards.searchNamespace=ALL
}

# Random per cluster, kept in Secrets; never printed.
install_demo_services() {
  log "demo MinIO and Postgres in namespace etaops-demo"
  kubectl apply -f - <<YAML
apiVersion: v1
kind: Namespace
metadata: { name: etaops-demo }
YAML
  if ! kubectl -n etaops-demo get secret demo-credentials >/dev/null 2>&1; then
    kubectl -n etaops-demo create secret generic demo-credentials \
      --from-literal=s3-access-key="etaops$(openssl rand -hex 4)" \
      --from-literal=s3-secret-key="$(openssl rand -hex 20)" \
      --from-literal=pg-password="$(openssl rand -hex 16)"
  fi
  kubectl apply -f "$ROOT/docs/quickstart/demo-services.yaml"
  kubectl -n etaops-demo rollout status deploy/minio --timeout=5m
  kubectl -n etaops-demo rollout status deploy/postgres --timeout=5m

  local key secret pgpw
  key="$(kubectl -n etaops-demo get secret demo-credentials -o jsonpath='{.data.s3-access-key}' | base64 -d)"
  secret="$(kubectl -n etaops-demo get secret demo-credentials -o jsonpath='{.data.s3-secret-key}' | base64 -d)"
  pgpw="$(kubectl -n etaops-demo get secret demo-credentials -o jsonpath='{.data.pg-password}' | base64 -d)"
  kubectl apply -f - <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $ETAOPS_NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
YAML
  # The keys the controller, Jobs and predictors read (charts/etaops/values.yaml, manifests/samples).
  for ns in "$ETAOPS_NS" "$APP_NS"; do
    kubectl -n "$ns" create secret generic etaops-s3 --dry-run=client -o yaml \
      --from-literal=AWS_ACCESS_KEY_ID="$key" --from-literal=AWS_SECRET_ACCESS_KEY="$secret" \
      --from-literal=AWS_ENDPOINT_URL=http://minio.etaops-demo.svc:9000 --from-literal=AWS_REGION=us-east-1 \
      | kubectl apply -f - >/dev/null
    kubectl -n "$ns" create secret generic etaops-postgres --dry-run=client -o yaml \
      --from-literal=DATABASE_URL="postgres://etaops:$pgpw@postgres.etaops-demo.svc:5432/etaops" \
      | kubectl apply -f - >/dev/null
  done

  log "training data: etaops gen-data, uploaded to s3://etaops-data/doordash/historical_data.csv"
  kubectl -n etaops-demo delete job etaops-seed-data --ignore-not-found
  sed "s|ETAOPS_IMAGE|$IMAGE|" "$ROOT/docs/quickstart/seed-data.yaml" | kubectl apply -f -
  kubectl -n etaops-demo wait --for=condition=complete job/etaops-seed-data --timeout=10m
}

install_etaops() {
  log "etaops chart ($IMAGE) in namespace $ETAOPS_NS"
  helm upgrade --install etaops "$ROOT/charts/etaops" --namespace "$ETAOPS_NS" --wait --timeout 5m \
    --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=IfNotPresent \
    --set artifacts.root=s3://etaops-models \
    --set artifacts.s3.endpoint=http://minio.etaops-demo.svc:9000 \
    --set artifacts.s3.existingSecret=etaops-s3 \
    --set postgres.existingSecret=etaops-postgres \
    --set metrics.serviceMonitor.enabled=true --set metrics.podMonitor.enabled=true \
    --set metrics.prometheusRule.enabled=true --set grafana.dashboards.enabled=true
}

# Waits until a command prints something (objects created by the controller appear later).
wait_for_output() { # seconds description command...
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until [ -n "$("$@" 2>/dev/null)" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out waiting for $what" >&2
      return 1
    fi
    sleep 5
  done
}

train_and_predict() {
  log "samples: Job ServiceAccount, TrainingRun and DriftCheck in namespace $APP_NS"
  sed "s/namespace: default/namespace: $APP_NS/" "$ROOT/manifests/rbac/job.yaml" | kubectl apply -f -
  kubectl -n "$APP_NS" apply -f "$ROOT/manifests/samples/trainingrun.yaml"
  kubectl -n "$APP_NS" wait --for=jsonpath='{.status.phase}'=Succeeded trainingrun/delivery-eta-initial --timeout=20m
  kubectl -n "$APP_NS" get trainingruns,modelversions

  log "the first version is promoted (policy auto): waiting for delivery-eta-predictor"
  wait_for_output 600 "deployment delivery-eta-predictor" kubectl -n "$APP_NS" get deploy delivery-eta-predictor -o name
  kubectl -n "$APP_NS" rollout status deploy/delivery-eta-predictor --timeout=10m
  kubectl -n "$APP_NS" apply -f "$ROOT/manifests/samples/driftcheck.yaml"

  log "a prediction through the predictor Service"
  kubectl -n "$APP_NS" port-forward svc/delivery-eta-predictor 19696:80 >/dev/null &
  local pf=$!
  trap 'kill "$pf" 2>/dev/null || true' RETURN
  wait_for_output 60 "port-forward" curl -sf localhost:19696/v2/health/ready
  curl -sf -X POST -H 'content-type: application/json' --data @"$ROOT/docs/quickstart/order.json" localhost:19696/predict
  echo
}

next_steps() {
  cat <<TXT

etaops runs. Next:
  kubectl get trainingruns,modelversions,driftchecks -n $APP_NS
  kubectl -n monitoring port-forward svc/kps-grafana 3000:80   # dashboards: etaops serving, model health
  (Grafana's admin password: kubectl -n monitoring get secret kps-grafana -o jsonpath='{.data.admin-password}' | base64 -d)
TXT
}
