// Pins the Prometheus Operator whose CRDs (ServiceMonitor, PodMonitor, PrometheusRule) the chart
// tests install into the local kube-apiserver. Nothing is built from it: hack/prometheus-operator-crds.sh
// downloads the module (checksum verified against go.sum) and copies example/prometheus-operator-crd/.
module etaops.local/hack/prometheus-operator-crds

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.85.0
