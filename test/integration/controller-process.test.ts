/**
 * `etaops controller` as a process against a real kube-apiserver: it takes the leader Lease,
 * serves /healthz, /readyz (after its caches synced) and /metrics, and on SIGTERM exits 0
 * after releasing the Lease (so a standby takes over at once).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { GVRS, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import type { V1Pod } from '@kubernetes/client-node';
import type { TrainingRun } from '../../src/api/index.js';
import { MODELVERSIONS, TRAININGRUNS } from '../../src/controller/trainingrun.js';
import type { Lease } from '../../src/controller/runtime/leader.js';
import { deleteNamespace, ensureNamespace, installCRDs, KUBECONFIG, SKIP, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-proc-test');
const MAIN = new URL('../../src/cli/main.js', import.meta.url).pathname;

describe('etaops controller process', { skip: SKIP }, () => {
  let c: KubeClient;
  let proc: ChildProcess | undefined;
  let stderr = '';
  const procs: ChildProcess[] = [];
  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
  });
  after(async () => {
    for (const p of [proc, ...procs]) {
      if (p && p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await once(p, 'exit');
      }
    }
    await deleteNamespace(c, NS);
    c.close();
  });

  test('serves health, readiness and metrics, leads, and shuts down cleanly on SIGTERM', async () => {
    proc = spawn(process.execPath, [MAIN, 'controller', '--kubeconfig', KUBECONFIG!, '--namespace', NS, '--lease-namespace', NS, '--identity', 'proc-1', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const base = await waitFor('the health address in the log', async () => /health and metrics on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1], 30_000);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await waitFor('/readyz 200', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined));
    await waitFor('the Lease held', async () => ((await c.get<Lease>(GVRS.leases, NS, 'etaops-controller')).spec?.holderIdentity === 'proc-1' ? true : undefined));
    const metrics = await waitFor('leader metric', async () => {
      const m = await (await fetch(`${base}/metrics`)).text();
      return /etaops_controller_leader 1/.test(m) ? m : undefined;
    });
    assert.match(metrics, /etaops_controller_api_requests_total\{verb="LIST",resource="trainingruns",code="200"\}/);
    assert.match(metrics, /etaops_controller_workqueue_depth\{kind="TrainingRun"\} 0/);
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /released the lease/);
    assert.equal((await c.get<Lease>(GVRS.leases, NS, 'etaops-controller')).spec?.holderIdentity, '');
  });

  /** A controller replica as a real process; its log is kept in `log.text`. */
  function replica(id: string): { proc: ChildProcess; log: { text: string } } {
    const log = { text: '' };
    const p = spawn(process.execPath, [MAIN, 'controller', '--kubeconfig', KUBECONFIG!, '--namespace', NS, '--lease-namespace', NS, '--lease-name', 'ha', '--identity', id, '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ETAOPS_IMAGE: 'etaops:test', ETAOPS_ARTIFACT_ROOT: 'file:///nonexistent/etaops', ETAOPS_JOB_NODE_SELECTOR: 'etaops.io/test-hold=true' },
    });
    p.stderr!.on('data', (d: Buffer) => { log.text += d.toString(); });
    procs.push(p);
    return { proc: p, log };
  }
  const leaseHolder = async () => (await c.get<Lease>(GVRS.leases, NS, 'ha').catch(() => undefined))?.spec?.holderIdentity;

  test('two replicas: one leads; SIGKILL of the leader mid-run → the other takes over, no duplicate Job or ModelVersion', async () => {
    const a = replica('replica-a');
    const b = replica('replica-b');
    const first = await waitFor('a leader', async () => {
      const h = await leaseHolder();
      return h === 'replica-a' || h === 'replica-b' ? h : undefined;
    });
    const [leader, standby] = first === 'replica-a' ? [a, b] : [b, a];
    await c.create(TRAININGRUNS, NS, { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name: 'ha-run' }, spec: { model: 'eta', dataset: { uri: 's3://data/orders.csv' }, backoffLimit: 0, promotion: { policy: 'manual' } } });
    await waitFor('Job ha-run-train', async () => (await c.get(GVRS.jobs, NS, 'ha-run-train').catch(() => undefined)) ?? undefined);
    assert.doesNotMatch(standby.log.text, /created Job/, 'the standby did not act');
    const killedAt = Date.now();
    leader.proc.kill('SIGKILL'); // no graceful release: the Lease must expire
    await once(leader.proc, 'exit');
    const pod = await waitFor('the pod', async () => (await c.list<V1Pod & KubeObject>(GVRS.pods, NS, { labelSelector: 'batch.kubernetes.io/job-name=ha-run-train' })).items[0]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const result = { artifact: { uri: 'file:///nonexistent/etaops/eta/ha', sha256: 'd'.repeat(64) }, metrics: { mae: 640 } };
    await c.mergePatch(GVRS.pods, NS, pod.metadata.name!, { status: { phase: 'Succeeded', containerStatuses: [{ name: 'train', image: 'etaops:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', message: JSON.stringify(result), startedAt: now, finishedAt: now } } }] } }, 'status');
    const newLeader = first === 'replica-a' ? 'replica-b' : 'replica-a';
    await waitFor('the standby to take the Lease', async () => ((await leaseHolder()) === newLeader ? true : undefined), 60_000);
    const takeoverSeconds = (Date.now() - killedAt) / 1000;
    process.stderr.write(`# leader hand-over after SIGKILL took ${takeoverSeconds.toFixed(1)} s (Lease 15 s, retry 2 s)\n`);
    await waitFor('ha-run Succeeded', async () => ((await c.get<TrainingRun & KubeObject>(TRAININGRUNS, NS, 'ha-run')).status?.phase === 'Succeeded' ? true : undefined), 60_000);
    assert.equal((await c.list(GVRS.jobs, NS, { labelSelector: 'etaops.io/training-run=ha-run' })).items.length, 1, 'one Job');
    assert.equal((await c.list(MODELVERSIONS, NS, { labelSelector: 'etaops.io/training-run=ha-run' })).items.length, 1, 'one ModelVersion');
    standby.proc.kill('SIGTERM');
    const [code] = await once(standby.proc, 'exit');
    assert.equal(code, 0, standby.log.text);
  });
});
