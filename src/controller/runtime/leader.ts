/**
 * Lease-based leader election (coordination.k8s.io/v1 Lease), like client-go's:
 * - a candidate takes the Lease when it is free (no holder: released on shutdown), or when the
 *   holder has not renewed it for leaseDurationSeconds as measured on OUR clock since we last saw
 *   the record change (no trust in other machines' clocks);
 * - the leader renews every retryPeriod; if it cannot renew within renewDeadline it stops
 *   leading (the manager then exits, so two replicas never act at once);
 * - on shutdown the leader releases (empty holder), so a standby takes over at its next try
 *   instead of waiting for expiry: fast hand-over.
 * Writes use the Lease's resourceVersion, so two candidates racing get one 409 Conflict.
 * decideLease() is the pure decision; LeaderElector does the I/O.
 */
import { GVRS, isAlreadyExists, isConflict, KubeClient } from './kube.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaseObservation {
  /** The Lease as read now; undefined when it does not exist. */
  lease?: LeaseSpec;
  /** Our clock (ms) when we first saw the current holder/renewTime of `lease`. */
  observedAtMs: number;
  nowMs: number;
  identity: string;
  leaseDurationSeconds: number;
}

export type LeaseDecision =
  | { action: 'create'; spec: LeaseSpec }
  | { action: 'acquire'; spec: LeaseSpec }
  | { action: 'renew'; spec: LeaseSpec }
  | { action: 'wait'; holder: string; expiresInMs: number };

/** Pure: what a candidate should do given the Lease it observed. */
export function decideLease(o: LeaseObservation): LeaseDecision {
  const now = new Date(o.nowMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const fresh = (transitions: number, acquireTime = now): LeaseSpec => ({
    holderIdentity: o.identity,
    leaseDurationSeconds: o.leaseDurationSeconds,
    acquireTime,
    renewTime: now,
    leaseTransitions: transitions,
  });
  if (!o.lease) return { action: 'create', spec: fresh(0) };
  const holder = o.lease.holderIdentity ?? '';
  const transitions = o.lease.leaseTransitions ?? 0;
  if (holder === o.identity) return { action: 'renew', spec: fresh(transitions, o.lease.acquireTime ?? now) };
  if (holder === '') return { action: 'acquire', spec: fresh(transitions + 1) };
  const duration = (o.lease.leaseDurationSeconds ?? o.leaseDurationSeconds) * 1000;
  const expiresInMs = o.observedAtMs + duration - o.nowMs;
  if (expiresInMs <= 0) return { action: 'acquire', spec: fresh(transitions + 1) };
  return { action: 'wait', holder, expiresInMs };
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Give the Lease up on shutdown (client-go's ReleaseOnCancel); default true. */
  releaseOnCancel?: boolean;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: (msg: string) => void;
}

export class LeaderElector {
  private leading = false;
  private observed: { key: string; atMs: number } | undefined;
  private lastRenewMs = 0;
  private current: Lease | undefined;
  private readonly leaseDuration: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly o: LeaderElectorOptions) {
    this.leaseDuration = o.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Runs until the signal aborts (then releases the Lease if held) or leadership is lost. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const ok = await this.tryOnce().catch((e: unknown) => {
        this.o.log?.(`leader election: ${(e as Error).message}`);
        return false;
      });
      const now = Date.now();
      if (ok) {
        this.lastRenewMs = now;
        if (!this.leading) {
          this.leading = true;
          this.o.log?.(`leader election: ${this.o.identity} is now the leader`);
          this.o.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenewMs > this.renewDeadlineMs) {
        this.leading = false;
        this.o.log?.(`leader election: ${this.o.identity} lost the lease (no renewal for ${this.renewDeadlineMs} ms)`);
        this.o.onStoppedLeading();
        return;
      }
      await sleep(jitter(this.retryPeriodMs, this.leading ? 0 : 0.2), signal);
    }
    if (this.o.releaseOnCancel ?? true) await this.release();
    this.leading = false;
  }

  /** One observe → decide → act round; true when we hold the Lease afterwards. */
  private async tryOnce(): Promise<boolean> {
    const { client, namespace, name } = this.o;
    const lease = await client.getOrUndefined<Lease>(GVRS.leases, namespace, name);
    const now = Date.now();
    const key = `${lease?.spec?.holderIdentity ?? ''}|${lease?.spec?.renewTime ?? ''}`;
    if (!this.observed || this.observed.key !== key) this.observed = { key, atMs: now };
    const d = decideLease({ lease: lease?.spec, observedAtMs: this.observed.atMs, nowMs: now, identity: this.o.identity, leaseDurationSeconds: this.leaseDuration });
    try {
      if (d.action === 'wait') return false;
      if (d.action === 'create') {
        this.current = await client.create<Lease>(GVRS.leases, namespace, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: d.spec });
      } else {
        this.current = await client.replace<Lease>(GVRS.leases, namespace, name, { ...lease, spec: d.spec });
      }
      return true;
    } catch (e) {
      if (isConflict(e) || isAlreadyExists(e)) return false; // someone else wrote first
      throw e;
    }
  }

  /** Gives the Lease up so a standby takes over at once. */
  async release(): Promise<void> {
    if (!this.leading || !this.current) return;
    this.leading = false;
    try {
      await this.o.client.replace<Lease>(GVRS.leases, this.o.namespace, this.o.name, {
        ...this.current,
        spec: { ...this.current.spec, holderIdentity: '', leaseDurationSeconds: 1 },
      });
      this.o.log?.(`leader election: ${this.o.identity} released the lease`);
    } catch (e) {
      this.o.log?.(`leader election: release failed: ${(e as Error).message}`);
    }
  }
}

export function jitter(ms: number, factor: number): number {
  return ms * (1 + Math.random() * factor);
}

/** Resolves after ms, or early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
