/**
 * A deduplicating, rate-limited work queue with client-go's semantics:
 * - an item waiting in the queue is queued once however often it is added;
 * - an item being processed and added again is NOT handed to a second worker; it is queued
 *   again when the first worker calls done(), so it is processed once more afterwards;
 * - addRateLimited() delays by a per-item exponential backoff (base · 2^failures, capped);
 *   forget() resets it after a success;
 * - addAfter() (requeue-after) keeps the earliest pending time per item;
 * - shutdown() stops handing out items; drain() waits for the ones in flight.
 */

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** The per-item exponential backoff: base · 2^(failures-1), capped at max. */
export function backoffDelay(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  if (failures <= 0) return 0;
  const exp = Math.min(failures - 1, 52);
  return Math.min(maxDelayMs, baseDelayMs * 2 ** exp);
}

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly timers = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(k: K | undefined) => void> = [];
  private drainWaiters: Array<() => void> = [];
  private shuttingDown = false;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
  }

  /** Items waiting (not counting in-flight or delayed ones). */
  get length(): number {
    return this.queue.length;
  }
  get inFlight(): number {
    return this.processing.size;
  }
  get delayed(): number {
    return this.timers.size;
  }
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(item: K): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return; // re-queued by done()
    this.push(item);
  }

  private push(item: K): void {
    const w = this.waiters.shift();
    if (w) {
      this.dirty.delete(item);
      this.processing.add(item);
      w(item);
    } else {
      this.queue.push(item);
    }
  }

  /** Adds the item after `delayMs`; an earlier pending add of the same item wins. */
  addAfter(item: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(item);
    const at = Date.now() + delayMs;
    const prev = this.timers.get(item);
    if (prev && prev.at <= at) return;
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      this.timers.delete(item);
      this.add(item);
    }, delayMs);
    this.timers.set(item, { at, timer });
  }

  /** Delay for the item's next retry; counts a failure. */
  nextBackoff(item: K): number {
    const n = (this.failures.get(item) ?? 0) + 1;
    this.failures.set(item, n);
    return backoffDelay(n, this.baseDelayMs, this.maxDelayMs);
  }

  /** Re-adds after the item's exponential backoff (use after a failed reconcile). */
  addRateLimited(item: K): number {
    const d = this.nextBackoff(item);
    this.addAfter(item, d);
    return d;
  }

  /** Clears the item's failure count (use after a successful reconcile). */
  forget(item: K): void {
    this.failures.delete(item);
  }

  numRequeues(item: K): number {
    return this.failures.get(item) ?? 0;
  }

  /** The next item, waiting for one; undefined once shut down. Call done(item) afterwards. */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const item = this.queue.shift();
    if (item !== undefined) {
      this.dirty.delete(item);
      this.processing.add(item);
      return Promise.resolve(item);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(item: K): void {
    this.processing.delete(item);
    if (this.dirty.has(item) && !this.shuttingDown) {
      this.dirty.delete(item);
      this.add(item);
    }
    if (this.processing.size === 0) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    }
  }

  /** Stops handing out items and drops pending and delayed ones; waiting get()s return undefined. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Resolves when no item is in flight (after shutdown(): the graceful-stop wait). */
  drain(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
