/**
 * Lease leader election against a real kube-apiserver: of two candidates exactly one leads;
 * a leader that shuts down releases the Lease and the other takes over at its next retry; a
 * leader that dies (stops renewing, no release) is replaced once the Lease expires.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GVRS, type KubeClient } from '../../src/controller/runtime/kube.js';
import { LeaderElector, type Lease } from '../../src/controller/runtime/leader.js';
import { deleteNamespace, ensureNamespace, SKIP, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-leader-test');

interface Candidate { id: string; elector: LeaderElector; abort: AbortController; done: Promise<void>; started: number; stopped: number }

describe('leader election on a real API server', { skip: SKIP }, () => {
  let c: KubeClient;
  const all: Candidate[] = [];
  before(async () => {
    c = testClient();
    await ensureNamespace(c, NS);
  });
  after(async () => {
    for (const x of all) x.abort.abort();
    await Promise.all(all.map((x) => x.done));
    await deleteNamespace(c, NS);
    c.close();
  });

  function candidate(id: string, lease: string, releaseOnCancel = true): Candidate {
    const abort = new AbortController();
    const x = { id, abort, started: 0, stopped: 0 } as Candidate;
    x.elector = new LeaderElector({
      client: testClient(), namespace: NS, name: lease, identity: id, leaseDurationSeconds: 4, renewDeadlineMs: 3000, retryPeriodMs: 500, releaseOnCancel,
      onStartedLeading: () => { x.started++; },
      onStoppedLeading: () => { x.stopped++; },
    });
    x.done = x.elector.run(abort.signal);
    all.push(x);
    return x;
  }
  const holder = async (lease: string) => (await c.get<Lease>(GVRS.leases, NS, lease)).spec?.holderIdentity;

  test('one of two candidates leads; a graceful shutdown hands over at once', async () => {
    const a = candidate('a', 'graceful');
    const b = candidate('b', 'graceful');
    const first = await waitFor('a leader', async () => (a.elector.isLeader ? a : b.elector.isLeader ? b : undefined));
    const second = first === a ? b : a;
    // Give the standby several retry periods: it must stay standby while the leader renews.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(second.elector.isLeader, false, 'never two leaders');
    assert.equal(await holder('graceful'), first.id);
    first.abort.abort();
    await first.done;
    assert.equal(first.elector.isLeader, false);
    await waitFor('the standby to lead', async () => (second.elector.isLeader ? true : undefined), 10_000);
    assert.equal(await holder('graceful'), second.id);
    const lease = await c.get<Lease>(GVRS.leases, NS, 'graceful');
    assert.ok((lease.spec?.leaseTransitions ?? 0) >= 1, 'transition counted');
  });

  test('a leader that dies without releasing is replaced after the Lease expires', async () => {
    const a = candidate('dying', 'crash', false);
    await waitFor('dying leads', async () => (a.elector.isLeader ? true : undefined));
    const b = candidate('heir', 'crash');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(b.elector.isLeader, false, 'no takeover while the leader renews');
    a.abort.abort(); // dies: stops renewing, keeps the Lease
    await a.done;
    assert.equal(await holder('crash'), 'dying', 'not released');
    await waitFor('heir to take over after expiry', async () => (b.elector.isLeader ? true : undefined), 20_000);
    assert.equal(await holder('crash'), 'heir');
  });
});
