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

interface RememberedBatch {
  predictions: Float64Array;
  createdAt: Float64Array;
  model: string;
  version: string;
  at: number;
}

/**
 * Recent predictions by request id, about `capacity` rows at most (oldest forgotten first; a
 * Map iterates in insertion order). A batch whose rows have the generated ids `<batch>:<i>` is
 * one entry, not one per row: remembering a 1,000-row batch costs one Map insert.
 */
export class RecentPredictions {
  private readonly single = new Map<string, RememberedPrediction>();
  private readonly batches = new Map<string, RememberedBatch>();
  private batchRows = 0;

  constructor(private readonly capacity = 200_000) {}

  remember(requestId: string, p: RememberedPrediction): void {
    if (this.single.size >= this.capacity) {
      const oldest = this.single.keys().next();
      if (!oldest.done) this.single.delete(oldest.value);
    }
    this.single.set(requestId, p);
  }

  /** Remembers rows `${batchId}:${i}` (the views are kept as given: pass copies or owned arrays). */
  rememberBatch(batchId: string, b: RememberedBatch): void {
    this.batches.set(batchId, b);
    this.batchRows += b.predictions.length;
    while (this.batchRows > this.capacity && this.batches.size > 1) {
      const oldest = this.batches.entries().next();
      if (oldest.done) break;
      this.batches.delete(oldest.value[0]);
      this.batchRows -= oldest.value[1].predictions.length;
    }
  }

  get(requestId: string): RememberedPrediction | undefined {
    const hit = this.single.get(requestId);
    if (hit) return hit;
    const colon = requestId.lastIndexOf(':');
    if (colon <= 0) return undefined;
    const b = this.batches.get(requestId.slice(0, colon));
    const i = Number(requestId.slice(colon + 1));
    if (!b || !Number.isInteger(i) || i < 0 || i >= b.predictions.length) return undefined;
    return { prediction: b.predictions[i], createdAt: b.createdAt[i], model: b.model, version: b.version, at: b.at };
  }

  get size(): number {
    return this.single.size + this.batchRows;
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
