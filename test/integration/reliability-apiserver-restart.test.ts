/**
 * A kube-apiserver restarted under the operator's watches.
 *
 * The shared cluster's API server must stay up for the other tests, so this test starts a
 * second kube-apiserver of its own: the same binary and flags as hack/cluster.sh's (read from
 * the running one's /proc/<pid>/cmdline), on another loopback port, against the same etcd —
 * an HA pair, as on a real control plane. The operator talks only to the second one; the test
 * SIGKILLs it mid-watch, changes things through the first one while it is gone, starts it
 * again, and expects the operator to see every change and act on it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, openSync, closeSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ControllerConfig } from '../../src/controller/config.js';
import { GVRS, KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import { loadKubeConfigFile } from '../../src/controller/runtime/kubeconfig.js';
import type { Manager } from '../../src/controller/runtime/manager.js';
import { buildOperator } from '../../src/controller/setup.js';
import { TRAININGRUNS } from '../../src/controller/trainingrun.js';
import type { TrainingRun } from '../../src/api/index.js';
import { deleteNamespace, ensureNamespace, getOrUndefined, installCRDs, KUBECONFIG, SKIP, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';
import { freePort } from '../support/free-port.js';

const CACHE = process.env.ETAOPS_CACHE ?? path.join(homedir(), '.cache', 'etaops');
const RUN = path.join(CACHE, 'run', 'kube');
const PID_FILE = path.join(RUN, 'kube-apiserver.pid');
const NS = uniqueNamespace('etaops-apirestart');
const config: ControllerConfig = {
  image: 'etaops:test', command: ['etaops'], artifactRoot: 's3://models/etaops', jobServiceAccount: 'etaops-job', jobNodeSelector: { 'etaops.io/test-hold': 'true' },
};

/** The running API server's argv, or why it cannot be had. */
function sharedApiServerArgv(): string[] | string {
  if (!existsSync(PID_FILE)) return `${PID_FILE} not found (the cluster of hack/cluster.sh is not up)`;
  const pid = readFileSync(PID_FILE, 'utf8').trim();
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return `kube-apiserver pid ${pid} is not running`;
  }
}


const argv = KUBECONFIG ? sharedApiServerArgv() : [];
const skip = SKIP || (typeof argv === 'string' ? argv : false);

describe('operator across a kube-apiserver restart', { skip, timeout: 300_000 }, () => {
  let c: KubeClient;
  let port: number;
  let apiserver: ChildProcess | undefined;
  let mgr: Manager | undefined;
  let viaSecond: KubeClient;
  const logFile = path.join(RUN, 'kube-apiserver-restart-test.log');

  async function startSecond(): Promise<void> {
    const args = (argv as string[]).slice(1).map((a, i, all) => (all[i - 1] === '--secure-port' ? String(port) : a));
    const out = openSync(logFile, 'a');
    apiserver = spawn((argv as string[])[0], args, { stdio: ['ignore', out, out] });
    closeSync(out);
    const probe = new KubeClient({ ...loadKubeConfigFile(KUBECONFIG!), server: `https://127.0.0.1:${port}` });
    try {
      // Serving our custom resources (not just /healthz): what the operator needs of it.
      await waitFor(`the second kube-apiserver on :${port} serving TrainingRuns`, async () => ((await probe.list(TRAININGRUNS, NS).catch(() => undefined)) ? true : undefined), 120_000);
    } finally {
      probe.close();
    }
  }

  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
    port = await freePort();
    assert.ok((argv as string[]).includes('--secure-port'), 'the shared API server was started with --secure-port');
    await startSecond();
    viaSecond = new KubeClient({ ...loadKubeConfigFile(KUBECONFIG!), server: `https://127.0.0.1:${port}` });
    // No leader election: this test is about the watches, not about the Lease.
    mgr = buildOperator({ client: viaSecond, config, namespace: NS, workers: 2, artifactChecker: async () => ({ ok: true }) });
    await mgr.start();
  });

  after(async () => {
    await mgr?.stop();
    viaSecond?.close();
    apiserver?.kill('SIGKILL');
    await deleteNamespace(c, NS);
    c.close();
  });

  const run = (name: string) => ({ apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name }, spec: { model: 'eta', dataset: { uri: 's3://data/orders.csv' }, backoffLimit: 0 } });
  const jobOf = (name: string, timeoutMs = 60_000) => waitFor(`Job ${name}-train`, () => getOrUndefined<KubeObject>(c, GVRS.jobs, NS, `${name}-train`), timeoutMs);

  test('SIGKILLed mid-watch and started again: changes made meanwhile are seen and acted on', async () => {
    await c.create(TRAININGRUNS, NS, run('before'));
    await jobOf('before');

    const killed = new Promise((r) => apiserver!.once('exit', r));
    apiserver!.kill('SIGKILL');
    await killed;
    // While it is down: a new run, made through the other API server.
    await c.create(TRAININGRUNS, NS, run('while-down'));
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await getOrUndefined(c, GVRS.jobs, NS, 'while-down-train'), undefined, 'nothing acted while our API server was down');

    await startSecond();
    await jobOf('while-down', 90_000);
    const r = await waitFor('while-down has its Job in status', async () => {
      const x = await c.get<TrainingRun & KubeObject>(TRAININGRUNS, NS, 'while-down');
      return x.status?.jobName ? x : undefined;
    });
    assert.equal(r.status?.jobName, 'while-down-train');
    // And the watch is live again, not just relisted once.
    await c.create(TRAININGRUNS, NS, run('after'));
    await jobOf('after');
    const text = await mgr!.metrics.registry.metrics();
    assert.match(text, /etaops_controller_api_requests_total\{verb="LIST",resource="trainingruns",code="200"\} [1-9]/);
  });
});
