/**
 * Wires the operator: shared informers, one controller per kind, the manager.
 * The controller talks to the API server only (and later to src/registry + src/storage);
 * it never imports the GBDT or the prediction server.
 */
import type { V1Deployment, V1Job, V1Pod, V1Service } from '@kubernetes/client-node';
import type { DriftCheck, ModelVersion, TrainingRun } from '../api/index.js';
import type { ControllerConfig } from './config.js';
import { Controller } from './runtime/controller.js';
import { GVRS, type KubeClient, type KubeObject } from './runtime/kube.js';
import { Manager, type ManagerOptions } from './runtime/manager.js';
import { DRIFTCHECKS, DriftCheckReconciler, LABEL_CHECK } from './driftcheck.js';
import { ModelVersionReconciler, type ArtifactChecker } from './modelversion.js';
import { registerObjectMetrics } from './object-metrics.js';
import type { RegistryLink } from './registry-sync.js';
import { LABEL_MANAGED_BY, LABEL_MODEL, LABEL_RUN, MODELVERSIONS, TRAININGRUNS, TrainingRunReconciler } from './trainingrun.js';

export interface OperatorOptions extends Omit<ManagerOptions, 'client'> {
  client: KubeClient;
  config: ControllerConfig;
  workers?: number;
  /** The model registry to number versions and record stage changes in (optional). */
  registry?: RegistryLink;
  /** How ModelVersion artifacts are verified (default: through src/storage). */
  artifactChecker?: ArtifactChecker;
}

export function buildOperator(o: OperatorOptions): Manager {
  const log = o.log ?? (() => {});
  const mgr = new Manager(o);
  const runs = mgr.informer<TrainingRun & KubeObject>(TRAININGRUNS);
  const versions = mgr.informer<ModelVersion & KubeObject>(MODELVERSIONS);
  const managed = { labelSelector: `${LABEL_MANAGED_BY}=etaops` };
  const jobs = mgr.informer<V1Job & KubeObject>(GVRS.jobs, managed);
  const pods = mgr.informer<V1Pod & KubeObject>(GVRS.pods, managed);

  const tr = new Controller(new TrainingRunReconciler(o.client, runs, jobs, pods, versions, o.config, log, o.registry), { workers: o.workers, log });
  tr.watches(runs)
    .owns(jobs)
    .maps(pods, (p) => (p.metadata.labels?.[LABEL_RUN] ? [`${p.metadata.namespace}/${p.metadata.labels[LABEL_RUN]}`] : []))
    .maps(versions, (v) => (v.metadata.labels?.[LABEL_RUN] ? [`${v.metadata.namespace}/${v.metadata.labels[LABEL_RUN]}`] : []));
  mgr.add(tr);

  const deployments = mgr.informer<V1Deployment & KubeObject>(GVRS.deployments, managed);
  const services = mgr.informer<V1Service & KubeObject>(GVRS.services, managed);
  const sameModel = (ns: string | undefined, model: string | undefined) =>
    versions.list(ns).filter((v) => v.spec.model === model).map((v) => `${v.metadata.namespace}/${v.metadata.name}`);
  const mv = new Controller(new ModelVersionReconciler(o.client, versions, deployments, services, o.config, o.artifactChecker, log, o.registry), { workers: o.workers, log });
  mv.watches(versions)
    // A version finishing its rollout or being archived changes what its siblings must do.
    .maps(versions, (v) => sameModel(v.metadata.namespace, v.spec.model))
    .maps(deployments, (d) => sameModel(d.metadata.namespace, d.metadata.labels?.[LABEL_MODEL]));
  mgr.add(mv);

  const checks = mgr.informer<DriftCheck & KubeObject>(DRIFTCHECKS);
  const byCheck = (o: KubeObject) => (o.metadata.labels?.[LABEL_CHECK] ? [`${o.metadata.namespace}/${o.metadata.labels[LABEL_CHECK]}`] : []);
  const dc = new Controller(new DriftCheckReconciler(o.client, checks, jobs, pods, versions, o.config, mgr.metrics, log), { workers: o.workers, log });
  dc.watches(checks)
    .owns(jobs)
    .maps(pods, byCheck)
    // A new Production version gives waiting checks their reference.
    .maps(versions, (v) => checks.list(v.metadata.namespace).filter((c) => c.spec.model === v.spec.model).map((c) => `${c.metadata.namespace}/${c.metadata.name}`));
  mgr.add(dc);
  registerObjectMetrics(mgr.metrics.registry, { runs, versions, checks });
  return mgr;
}
