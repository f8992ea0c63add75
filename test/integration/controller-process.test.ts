/**
 * `etaops controller` as a process against a real kube-apiserver: it takes the leader Lease,
 * serves /healthz, /readyz (after its caches synced) and /metrics, and on SIGTERM exits 0
 * after releasing the Lease (so a standby takes over at once).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { GVRS, type KubeClient } from '../../src/controller/runtime/kube.js';
import type { Lease } from '../../src/controller/runtime/leader.js';
import { deleteNamespace, ensureNamespace, installCRDs, KUBECONFIG, SKIP, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-proc-test');
const MAIN = new URL('../../src/cli/main.js', import.meta.url).pathname;

describe('etaops controller process', { skip: SKIP }, () => {
  let c: KubeClient;
  let proc: ChildProcess | undefined;
  let stderr = '';
  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
  });
  after(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGKILL');
      await once(proc, 'exit');
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
    assert.match(metrics, /etaops_controller_api_requests_total\{verb="GET",code="200"\}/);
    assert.match(metrics, /etaops_controller_workqueue_depth\{kind="TrainingRun"\} 0/);
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /released the lease/);
    assert.equal((await c.get<Lease>(GVRS.leases, NS, 'etaops-controller')).spec?.holderIdentity, '');
  });
});
