/**
 * Live accuracy from ground truth posted back to /feedback.
 *
 * The server remembers its recent predictions (bounded, oldest forgotten first) so feedback
 * for a request it answered is scored at once, with or without a database. With a registry
 * attached the feedback is also stored there, where other replicas' predictions are joined.
 */

export interface RememberedPrediction {
  prediction: number;
  model: string;
  version: string;
  at: number;
  /** The order's created_at (epoch seconds), to turn an actual delivery time into seconds. */
  createdAt: number;
}

/** Recent predictions by request id, at most `capacity` (a Map iterates in insertion order). */
export class RecentPredictions {
  private readonly map = new Map<string, RememberedPrediction>();
  constructor(private readonly capacity = 200_000) {}

  remember(requestId: string, p: RememberedPrediction): void {
    if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(requestId, p);
  }

  get(requestId: string): RememberedPrediction | undefined {
    return this.map.get(requestId);
  }

  get size(): number {
    return this.map.size;
  }
}

interface ErrorSample {
  at: number;
  error: number;
}

/** Errors (prediction - actual) of the last `windowSeconds`, at most `maxSamples` of them. */
export class LiveAccuracyWindow {
  private samples: ErrorSample[] = [];

  constructor(readonly windowSeconds = 3600, private readonly maxSamples = 100_000, private readonly now = () => Date.now()) {}

  add(prediction: number, actual: number): void {
    this.samples.push({ at: this.now(), error: prediction - actual });
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  current(): { mae: number; rmse: number; count: number } | null {
    const cutoff = this.now() - this.windowSeconds * 1000;
    let first = 0;
    while (first < this.samples.length && this.samples[first].at < cutoff) first++;
    if (first > 0) this.samples = this.samples.slice(first);
    if (this.samples.length === 0) return null;
    let abs = 0;
    let sq = 0;
    for (const s of this.samples) {
      abs += Math.abs(s.error);
      sq += s.error * s.error;
    }
    const n = this.samples.length;
    return { mae: abs / n, rmse: Math.sqrt(sq / n), count: n };
  }
}
