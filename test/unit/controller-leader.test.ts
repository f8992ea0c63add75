import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideLease, type LeaseObservation } from '../../src/controller/runtime/leader.js';

const base: LeaseObservation = { observedAtMs: 1_000_000, nowMs: 1_000_000, identity: 'me', leaseDurationSeconds: 15 };

const cases: Array<[string, Partial<LeaseObservation>, string, Record<string, unknown>?]> = [
  ['no lease: create it holding it', { lease: undefined }, 'create', { holderIdentity: 'me', leaseTransitions: 0 }],
  ['we hold it: renew, keep acquireTime and transitions', { lease: { holderIdentity: 'me', acquireTime: 'T0', leaseTransitions: 3 } }, 'renew', { holderIdentity: 'me', acquireTime: 'T0', leaseTransitions: 3 }],
  ['released (empty holder): acquire at once', { lease: { holderIdentity: '', leaseTransitions: 2, leaseDurationSeconds: 1 } }, 'acquire', { holderIdentity: 'me', leaseTransitions: 3 }],
  ['held by another, fresh: wait', { lease: { holderIdentity: 'other', leaseDurationSeconds: 15 }, observedAtMs: 1_000_000 - 5_000 }, 'wait'],
  ['held by another, not renewed for its duration on OUR clock: take over', { lease: { holderIdentity: 'other', leaseDurationSeconds: 15 }, observedAtMs: 1_000_000 - 15_001 }, 'acquire', { holderIdentity: 'me', leaseTransitions: 1 }],
  ["the holder's own lease duration counts, not ours", { lease: { holderIdentity: 'other', leaseDurationSeconds: 60 }, observedAtMs: 1_000_000 - 30_000 }, 'wait'],
  ["a renewTime far in the past is ignored (clock skew): only what we observed counts", { lease: { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2000-01-01T00:00:00.000000Z' }, observedAtMs: 1_000_000 - 1_000 }, 'wait'],
];

for (const [name, obs, action, spec] of cases) {
  test(`decideLease: ${name}`, () => {
    const d = decideLease({ ...base, ...obs });
    assert.equal(d.action, action);
    if (spec && d.action !== 'wait') for (const [k, v] of Object.entries(spec)) assert.deepEqual((d.spec as Record<string, unknown>)[k], v, k);
    if (d.action !== 'wait') {
      assert.match(d.spec.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime format');
      assert.equal(d.spec.leaseDurationSeconds, 15);
    } else {
      assert.ok(d.expiresInMs > 0);
      assert.equal(d.holder, 'other');
    }
  });
}
