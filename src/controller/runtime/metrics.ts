/** The controller's Prometheus metrics, on a registry of its own (no global state). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({ name: 'etaops_controller_reconcile_total', help: 'Reconcile passes by kind and result (success, requeue, error, conflict).', labelNames: ['kind', 'result'], registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: 'etaops_controller_reconcile_errors_total', help: 'Reconcile passes that failed (retried with backoff).', labelNames: ['kind'], registers: [this.registry] });
  readonly reconcileDuration = new Histogram({ name: 'etaops_controller_reconcile_duration_seconds', help: 'Time of one reconcile pass.', labelNames: ['kind'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'etaops_controller_workqueue_depth', help: 'Items waiting in the work queue.', labelNames: ['kind'], registers: [this.registry] });
  readonly queueInFlight = new Gauge({ name: 'etaops_controller_workqueue_in_flight', help: 'Items being reconciled.', labelNames: ['kind'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'etaops_controller_leader', help: '1 when this replica holds the leader Lease.', registers: [this.registry] });
  readonly apiRequests = new Counter({ name: 'etaops_controller_api_requests_total', help: 'Kubernetes API requests by verb (GET, LIST, WATCH, POST, PUT, PATCH, DELETE), resource (plural[/subresource]) and HTTP code (0 = no response).', labelNames: ['verb', 'resource', 'code'], registers: [this.registry] });

  readonly driftShare = new Gauge({ name: 'etaops_driftcheck_share', help: 'Share of drifted columns in the last DriftCheck result.', labelNames: ['namespace', 'check', 'model'], registers: [this.registry] });
  readonly driftDetected = new Gauge({ name: 'etaops_driftcheck_detected', help: '1 when the last DriftCheck result found dataset drift.', labelNames: ['namespace', 'check', 'model'], registers: [this.registry] });
  readonly driftColumnScore = new Gauge({ name: 'etaops_driftcheck_column_score', help: 'Per-column drift test score of the last DriftCheck result.', labelNames: ['namespace', 'check', 'model', 'column', 'test'], registers: [this.registry] });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'etaops_controller_' });
  }
}
