/**
 * A token bucket per client IP: `ratePerSecond` sustained, `burst` at once. Cheap enough for
 * the hot path (one Map lookup and a little arithmetic); idle buckets are swept so the map
 * stays bounded by the clients seen in the last minute.
 */

export interface RateLimitOptions {
  /** Requests per second per client IP; 0 turns the limit off. */
  ratePerSecond: number;
  /** Bucket size (the burst a client may send at once). */
  burst: number;
}

/** Generous default: protects the process from one runaway client, not a quota. */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = { ratePerSecond: 20_000, burst: 40_000 };

interface Bucket {
  tokens: number;
  last: number;
}

const SWEEP_EVERY_MS = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(readonly options: RateLimitOptions, private readonly now: () => number = () => performance.now()) {
    if (!(options.ratePerSecond >= 0) || !(options.burst >= 1)) {
      throw new RangeError(`rate limit needs ratePerSecond >= 0 and burst >= 1, got ${options.ratePerSecond}/${options.burst}`);
    }
    this.lastSweep = now();
  }

  get enabled(): boolean {
    return this.options.ratePerSecond > 0;
  }

  /** Takes one token for `client`; false when the client is over its rate. */
  allow(client: string): boolean {
    if (!this.enabled) return true;
    const t = this.now();
    if (t - this.lastSweep > SWEEP_EVERY_MS) this.sweep(t);
    let b = this.buckets.get(client);
    if (!b) {
      b = { tokens: this.options.burst, last: t };
      this.buckets.set(client, b);
    } else {
      b.tokens = Math.min(this.options.burst, b.tokens + ((t - b.last) / 1000) * this.options.ratePerSecond);
      b.last = t;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Seconds until `client` has a token again (for Retry-After). */
  retryAfterSeconds(client: string): number {
    const b = this.buckets.get(client);
    if (!b || !this.enabled) return 0;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.options.ratePerSecond));
  }

  private sweep(t: number): void {
    this.lastSweep = t;
    for (const [client, b] of this.buckets) {
      // A bucket that has refilled completely carries no state worth keeping.
      if (b.tokens + ((t - b.last) / 1000) * this.options.ratePerSecond >= this.options.burst) this.buckets.delete(client);
    }
  }

  get trackedClients(): number {
    return this.buckets.size;
  }
}
