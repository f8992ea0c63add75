/**
 * One controller = one kind's reconciler + its work queue + the informers whose events enqueue
 * it. Workers take keys from the queue; a key is never reconciled by two workers at once.
 */
import { isConflict, keyOf, type KubeObject } from './kube.js';
import type { Informer } from './informer.js';
import type { ControllerMetrics } from './metrics.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

export interface ReconcileResult {
  /** Reconcile this key again after this long (e.g. a schedule or a poll). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  /** Kind reconciled (metrics label). */
  kind: string;
  /** Observe → decide → act → report status for one `namespace/name`. Throw to retry with backoff. */
  reconcile(key: string): Promise<ReconcileResult | void>;
}

export interface ControllerOptions extends WorkQueueOptions {
  workers?: number;
  log?: (msg: string) => void;
}

export class Controller {
  readonly queue: WorkQueue<string>;
  private readonly workers: number;

  constructor(
    readonly reconciler: Reconciler,
    private readonly o: ControllerOptions = {},
  ) {
    this.queue = new WorkQueue<string>({ baseDelayMs: o.baseDelayMs ?? 200, maxDelayMs: o.maxDelayMs ?? 120_000 });
    this.workers = o.workers ?? 4;
  }

  get kind(): string {
    return this.reconciler.kind;
  }

  /** Every event of the reconciled kind enqueues its key. */
  watches<T extends KubeObject>(inf: Informer<T>): this {
    inf.on((_t, obj) => this.queue.add(keyOf(obj)));
    return this;
  }

  /** Events of objects controlled by our kind (ownerReference controller=true) enqueue the owner. */
  owns<T extends KubeObject>(inf: Informer<T>, ownerKind = this.kind): this {
    inf.on((_t, obj) => {
      for (const ref of obj.metadata.ownerReferences ?? []) {
        if (ref.kind === ownerKind && ref.controller) this.queue.add(`${obj.metadata.namespace}/${ref.name}`);
      }
    });
    return this;
  }

  /** Events of other objects enqueue the keys `map` returns. */
  maps<T extends KubeObject>(inf: Informer<T>, map: (obj: T) => string[]): this {
    inf.on((_t, obj) => {
      for (const k of map(obj)) this.queue.add(k);
    });
    return this;
  }

  /** Runs the workers until the queue shuts down. */
  async run(metrics?: ControllerMetrics): Promise<void> {
    // The error series exists at 0 from the start: rate()/increase() cannot see the first error
    // of a series that appears at 1, and the dashboard panel would be empty until then.
    metrics?.reconcileErrors.inc({ kind: this.kind }, 0);
    const worker = async () => {
      while (true) {
        const key = await this.queue.get();
        if (key === undefined) return;
        metrics?.queueDepth.set({ kind: this.kind }, this.queue.length);
        const end = metrics?.reconcileDuration.startTimer({ kind: this.kind });
        try {
          const r = await this.reconciler.reconcile(key);
          this.queue.forget(key);
          if (r?.requeueAfterMs !== undefined) this.queue.addAfter(key, r.requeueAfterMs);
          metrics?.reconcileTotal.inc({ kind: this.kind, result: r?.requeueAfterMs !== undefined ? 'requeue' : 'success' });
        } catch (e) {
          // A conflict means our cache was behind: retry soon, it is not a failure worth noise.
          const conflict = isConflict(e);
          metrics?.reconcileTotal.inc({ kind: this.kind, result: conflict ? 'conflict' : 'error' });
          if (!conflict) {
            metrics?.reconcileErrors.inc({ kind: this.kind });
            this.o.log?.(`${this.kind} ${key}: reconcile failed: ${(e as Error).message}`);
          }
          this.queue.addRateLimited(key);
        } finally {
          end?.();
          this.queue.done(key);
          metrics?.queueDepth.set({ kind: this.kind }, this.queue.length);
        }
      }
    };
    await Promise.all(Array.from({ length: this.workers }, worker));
  }

  /** Stops taking work and waits for the passes in flight (graceful shutdown). */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await this.queue.drain();
  }
}
