/** Helpers for integration tests against the real kube-apiserver of hack/cluster.sh. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { GVRS, isAlreadyExists, isConflict, isNotFound, KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import { loadKubeConfigFile } from '../../src/controller/runtime/kubeconfig.js';
import { DEFAULT_PARAMS } from '../../src/ml/gbdt/params.js';
import type { TrainedForest } from '../../src/ml/gbdt/forest.js';
import { exportOnnx } from '../../src/ml/onnx/export.js';

export const KUBECONFIG = process.env.ETAOPS_TEST_KUBECONFIG;
export const SKIP = KUBECONFIG ? false : 'ETAOPS_TEST_KUBECONFIG is unset: run through `make test` or hack/with-test-env.sh (ETAOPS_TEST_SERVICES=cluster)';

export function testClient(): KubeClient {
  return new KubeClient(loadKubeConfigFile(KUBECONFIG!));
}

const CRD_FILES = ['etaops.io_trainingruns.yaml', 'etaops.io_modelversions.yaml', 'etaops.io_driftchecks.yaml'];

/** Creates or updates the CRDs from crds/*.yaml and waits until they are Established. */
export async function installCRDs(c: KubeClient): Promise<void> {
  for (const f of CRD_FILES) {
    const crd = parse(readFileSync(new URL(`../../../crds/${f}`, import.meta.url), 'utf8')) as KubeObject;
    // Test files run in parallel and all install the CRDs: tolerate each other's writes.
    for (let attempt = 0; ; attempt++) {
      try {
        try {
          await c.create(GVRS.crds, undefined, crd);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          const cur = await c.get<KubeObject>(GVRS.crds, undefined, crd.metadata.name!);
          await c.replace(GVRS.crds, undefined, crd.metadata.name!, { ...crd, metadata: { ...crd.metadata, resourceVersion: cur.metadata.resourceVersion } });
        }
        break;
      } catch (e) {
        if (!isConflict(e) || attempt >= 10) throw e;
      }
    }
  }
  for (const f of CRD_FILES) {
    const name = f.replace(/^etaops\.io_(.*)\.yaml$/, '$1.etaops.io');
    await waitFor(`CRD ${name} Established`, async () => {
      const crd = await c.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(GVRS.crds, undefined, name);
      return crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
    });
  }
  // Discovery of new CRDs takes a moment after Established.
  await waitFor('etaops.io served', async () => {
    try {
      await c.list({ group: 'etaops.io', version: 'v1alpha1', plural: 'trainingruns' }, 'default', { limit: 1 });
      return true;
    } catch {
      return undefined;
    }
  });
}

/** A fresh namespace name per run: a namespace deleted by the last run may still be terminating. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
}

export async function ensureNamespace(c: KubeClient, name: string): Promise<void> {
  try {
    await c.create(GVRS.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  // Job pods run as etaops-job.
  try {
    await c.create({ group: '', version: 'v1', plural: 'serviceaccounts' }, name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'etaops-job' }, automountServiceAccountToken: false });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

export async function deleteNamespace(c: KubeClient, name: string): Promise<void> {
  await c.delete(GVRS.namespaces, undefined, name).catch(() => {});
}

/** Polls until fn returns a value (not undefined); generous timeout, fails with `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function getOrUndefined<T>(c: KubeClient, gvr: Parameters<KubeClient['get']>[0], ns: string, name: string): Promise<T | undefined> {
  try {
    return await c.get<T>(gvr, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** A real ONNX model from the project's exporter: one tree with one leaf over n features. */
export function tinyOnnx(n: number): Uint8Array {
  const forest: TrainedForest = {
    format: 'etaops-gbdt', version: 1, numFeatures: n, baseScore: 1800, params: { ...DEFAULT_PARAMS }, bestIteration: 1,
    trees: [{ feature: [-1], threshold: [0], defaultLeft: [0], left: [-1], right: [-1], value: [1.5] }],
    gainImportance: new Array(n).fill(0),
  };
  return exportOnnx(forest, { featureNames: Array.from({ length: n }, (_, i) => `f${i}`) });
}
